"""Faults during a monitor check, on a real MLflow tracking server (`mlflow server`, SQLite).

The server is stopped in the middle of a check, at the worst moment: after the ledger run was
created and before it was FINISHED. The check fails cleanly (after its retries) and counts for
nothing; once the server is back, the next check judges the same batch exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from test_monitor_support import at, check, check_state, fast, ledger, versions

import flows.monitor

BIN = Path(sys.executable).parent
START_SECONDS = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TrackingServer:
    """`mlflow server` on 127.0.0.1 with a SQLite backend, started and stopped by the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server in its own session and wait until /health answers."""
        args = [
            str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination", str(self.folder / "artifacts"), "--workers", "1",
        ]  # fmt: skip
        log = (self.folder / "server.log").open("ab")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.folder / "server.log").read_text()[-2000:]
            with (
                suppress(OSError),
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
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@contextmanager
def tracking_server(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TrackingServer]:
    """A running server that the flows use; always stopped at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    server = TrackingServer(folder)
    server.start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)  # MLflow's HTTP settings: retrain's
    try:
        yield server
    finally:
        server.stop()


def test_tracking_server_stopped_mid_check_fails_cleanly_and_the_next_check_recovers(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(project)
    project.edit(triggers={"any": [{"max_age": "90d"}]}, training={"retries": 1})
    project.write_day(1)
    real_publish = flows.monitor.create_markdown_artifact
    stop: dict[str, Any] = {}

    def publish_then_die(**kwargs: Any) -> Any:  # the ledger run exists, not yet FINISHED
        if "server" in stop:
            stop.pop("server").stop()
        return real_publish(**kwargs)

    monkeypatch.setattr(flows.monitor, "create_markdown_artifact", publish_then_die)
    with tracking_server(tmp_path / "server", monkeypatch) as server:
        stop["server"] = server
        state = check_state(project, at(1))
        assert state.is_failed(), state
        assert f"127.0.0.1:{server.port}" in str(state.message), state.message

        server.start()  # same store: the interrupted run is there, unfinished
        assert ledger(server.url, project.name) == []
        leftovers = ledger(server.url, project.name, finished_only=False)
        assert [run.info.status for run in leftovers] == ["RUNNING"]

        summary = check(project, at(1, hours=2))
        assert summary["verdict"] == "retrain" and summary["rows"] == 800
        again = check(project, at(1, hours=3))
        assert again["rows"] == 0  # the batch was judged once, by the check that finished
        finished = ledger(server.url, project.name)
        assert [run.data.metrics["rows"] for run in finished] == [800, 0]
        assert versions(server.url, project.name) == ["1"]
