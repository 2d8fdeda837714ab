"""Processes the end-to-end tests start: free ports, and stopping a command with all it spawned."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

STOP_SECONDS = 20.0

# The MLflow UI is opened by a host name, as a team opens its tracking server (chromium resolves
# it to 127.0.0.1): on localhost the UI opens its assistant panel over a third of the page.
MLFLOW_HOST = "mlflow.test"


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


BIN = Path(sys.executable).parent
START_SECONDS = 180.0


class TrackingServer:
    """`mlflow server` on 127.0.0.1 with a SQLite backend, started and stopped by the test."""

    def __init__(self, folder: Path, host_name: str | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # a name a browser reaches the UI by (mapped to 127.0.0.1): on localhost the MLflow 3 UI
        # opens its Assistant panel over a third of the page
        self.host_name = host_name
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server in its own session and wait until /health answers."""
        args = [
            str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination", str(self.folder / "artifacts"), "--workers", "1",
        ]  # fmt: skip
        if self.host_name:
            named = f"http://{self.host_name}:{self.port}"
            hosts = [f"{h}:{self.port}" for h in ("127.0.0.1", "localhost", self.host_name)]
            args += ["--allowed-hosts", ",".join(hosts), "--cors-allowed-origins", named]
        log = (self.folder / "server.log").open("ab")
        # no job runner and its 7 consumers: retrain runs no MLflow server jobs (docs/deploy.md)
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            env=env,
        )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.folder / "server.log").read_text()[-2000:]
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.5)
        raise AssertionError(f"mlflow server did not start in {START_SECONDS:.0f} s")

    def stop(self) -> None:
        """SIGKILL the server's whole session (it spawned the workers) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
