"""Faults during a monitor check, on a real MLflow tracking server (`mlflow server`, SQLite).

The server is stopped in the middle of a check, at the worst moment: after the ledger run was
created and before it was FINISHED. The check fails cleanly (after its retries) and counts for
nothing; once the server is back, the next check judges the same batch exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from processes import TrackingServer
from test_monitor_support import at, check, check_state, fast, ledger, versions

import flows.monitor
from retrain_core.cli.run import run_monitor
from retrain_core.store.tracking import StoreUnreachable


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
    real_publish = flows.monitor.publish_decision
    stop: dict[str, Any] = {}

    def publish_then_die(*args: Any, **kwargs: Any) -> Any:  # the ledger run is not FINISHED
        if "server" in stop:
            stop.pop("server").stop()
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(flows.monitor, "publish_decision", publish_then_die)
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


def test_a_refused_check_fails_in_one_line_without_a_traceback_or_an_exception_name(
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fast(project)
    project.write_day(1)
    text = project.policy_path.read_text()
    project.policy_path.write_text(text.replace("promotion:", "promotoin:", 1))
    capfd.readouterr()
    state = check_state(project, at(1))
    assert state.is_failed(), state
    assert f"{project.policy_path}:" in str(state.message) and "promotoin" in str(state.message)
    assert "PolicyLoadError" not in str(state.message)

    project.policy_path.write_text(text)
    server = TrackingServer(tmp_path / "server")
    server.folder.mkdir()
    server.start()
    server.stop()  # a stopped server, with MLflow's default settings
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    state = check_state(project, at(1))
    assert state.is_failed(), state
    assert str(state.message).startswith(f"the MLflow tracking server {server.url} does not answer")
    logged = capfd.readouterr()
    assert "Traceback" not in logged.out + logged.err, logged.err[-3000:]
    assert "StoreUnreachable" not in logged.out + logged.err
    with pytest.raises(StoreUnreachable):  # `retrain run` prints the refusal itself
        run_monitor(str(project.policy_path), now=at(1), data_root=str(project.root))
