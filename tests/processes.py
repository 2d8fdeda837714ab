"""Processes the end-to-end tests start: free ports, and stopping a command with all it spawned."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

STOP_SECONDS = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _session_pids(sid: int) -> list[int]:
    """Every live process in session `sid` (a started command and all it spawned)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session
        if int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def stop_session(proc: subprocess.Popen[Any], grace: float = STOP_SECONDS) -> None:
    """SIGTERM the process's session, wait up to `grace` seconds, then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_pids(proc.pid) or ([proc.pid] if proc.poll() is None else []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not _session_pids(proc.pid):
                return
            time.sleep(0.2)
    proc.wait(timeout=5)
