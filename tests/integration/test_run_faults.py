"""`retrain run` and the store commands as a user meets faults, in real processes, with MLflow's
and Prefect's default settings: a tracking server that was stopped, and a run killed (SIGKILL)
or stopped (SIGTERM) while it holds the policy's lock, on Prefect's embedded API and on a real
`prefect server`. Every process runs in its own session and is stopped with all it spawned.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import timedelta
from pathlib import Path

import pytest
from processes import TrackingServer, free_port, stop_session

from retrain_core.data.demo import Story, day_start, write_day, write_reference

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RETRAIN = str(Path(sys.executable).parent / "retrain")
PREFECT = str(Path(sys.executable).parent / "prefect")
RUN_SECONDS = 300.0  # a whole check on the embedded API (its start is 10-40 s on 2 cores)
FAIL_FAST_SECONDS = 60.0  # a generous bound: the probe answers in about a second


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The shipped churn policy over the demo stream's reference and first two days."""
    root = tmp_path / "project"
    (root / "policies").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "churn.yaml", root / "policies" / "churn.yaml")
    (root / "pyproject.toml").write_text("[tool.retrain]\n")
    story = Story(rows_per_day=800, reference_rows=3000)
    write_reference(root, story)
    for day in (1, 2):
        write_day(root, story, day)
    return root


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This test's own Prefect home and store; nothing of the caller's Prefect or MLflow."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    env.pop("RETRAIN_NOTIFY_URLS", None)
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def retrain(project: Path, env: dict[str, str], *args: str) -> tuple[int, str, str, float]:
    """Run `retrain -C project ARGS` to its end (bounded): exit code, stdout, stderr, seconds."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [RETRAIN, "-C", str(project), *args], cwd=project, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        stop_session(proc, grace=5)
        raise AssertionError(
            f"retrain {' '.join(args)} did not end in {RUN_SECONDS:.0f} s"
        ) from None
    finally:
        stop_session(proc, grace=5)
    return proc.returncode, out, err, time.monotonic() - began


def check_args(day: int) -> list[str]:
    now = day_start(day) + timedelta(hours=23)
    return ["run", "policies/churn.yaml", "--now", now.isoformat()]


def test_a_stopped_tracking_server_is_named_in_one_line_within_seconds(
    project: Path, tmp_path: Path
) -> None:
    server = TrackingServer(tmp_path / "mlflow-server")
    server.folder.mkdir()
    server.start()
    server.stop()
    env = environment(tmp_path, MLFLOW_TRACKING_URI=server.url)
    for args in (
        check_args(1),
        ["status"],
        ["explain", "churn", "1"],
        ["quarantine", "list", "churn"],
    ):
        code, out, err, seconds = retrain(project, env, *args)
        lines = err.strip().splitlines()
        assert code == 1, (args, out, err)
        assert len(lines) == 1, (args, err)
        assert f"the MLflow tracking server {server.url} does not answer" in lines[0], err
        assert "MLFLOW_TRACKING_URI" in lines[0]  # what to do
        assert seconds < FAIL_FAST_SECONDS, (args, seconds)


def test_a_stopped_prefect_api_is_named_in_one_line_within_seconds(
    project: Path, tmp_path: Path
) -> None:
    api = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there: a server that is down
    code, out, err, seconds = retrain(project, environment(tmp_path, PREFECT_API_URL=api),
                                      *check_args(1))  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, (out, err)
    assert f"the Prefect API {api} does not answer" in lines[0], err
    assert "PREFECT_API_URL" in lines[0]  # what to do
    assert seconds < FAIL_FAST_SECONDS, seconds


@contextmanager
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` on 127.0.0.1 (SQLite), stopped at the end: the runs' env."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = environment(
        tmp_path,
        PREFECT_API_URL=api,
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
    )
    log = (tmp_path / "prefect-server.log").open("wb")
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "prefect-server.log").read_text()[-3000:]
            with suppress(OSError), urllib.request.urlopen(f"{api}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
            assert time.monotonic() < deadline, "prefect server did not start in 180 s"
            time.sleep(0.5)
        yield env
    finally:
        stop_session(proc)
        log.close()


@contextmanager
def run_holding_the_lock(
    project: Path, env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A `retrain run` started in its own session, yielded once it holds the policy's lock (its
    lease holder file exists); stopped with everything it spawned at the end."""
    holders = Path(env["PREFECT_HOME"]) / "retrain-leases"
    log = (tmp_path / "first-run.log").open("wb")
    proc = subprocess.Popen(
        [RETRAIN, "-C", str(project), *check_args(1)], cwd=project, env=env,
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + RUN_SECONDS
        while not list(holders.glob("*.lease")):
            assert proc.poll() is None, (tmp_path / "first-run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run never took the policy's lock"
            time.sleep(0.05)
        yield proc
    finally:
        stop_session(proc, grace=5)
        log.close()


@pytest.mark.parametrize("api", ["embedded", "server"])
def test_a_killed_run_gives_the_policys_lock_back_to_the_next_run_at_once(
    api: str, project: Path, tmp_path: Path
) -> None:
    stack = prefect_server(tmp_path) if api == "server" else nullcontext(environment(tmp_path))
    with stack as env:
        with run_holding_the_lock(project, env, tmp_path) as first:
            os.killpg(first.pid, signal.SIGKILL)  # the run and its embedded API, at once
            first.wait(timeout=30)
        code, out, err, _ = retrain(project, env, *check_args(2))
    assert code == 0, out + err
    assert "churn:" in out, out  # its decision table
    assert "ERROR" not in out + err, out + err
    assert (out + err).count("is busy") <= 1, out + err  # one line, if any, for what it waits
    assert not list((Path(env["PREFECT_HOME"]) / "retrain-leases").glob("*.lease"))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_sigterm_stops_a_run_in_seconds_releasing_its_lock_and_leaving_no_run_unfinished(
    project: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    env = environment(tmp_path)
    with run_holding_the_lock(project, env, tmp_path) as first:
        began = time.monotonic()
        if stop == signal.SIGINT:  # Ctrl-C: the terminal signals the whole process group
            os.killpg(first.pid, stop)
        else:  # once, to the process only, as a service manager does
            first.send_signal(stop)
        code = first.wait(timeout=FAIL_FAST_SECONDS)
        stopped = time.monotonic() - began
    assert code != 0, (tmp_path / "first-run.log").read_text()[-3000:]
    assert stopped < 30, stopped
    assert not list((Path(env["PREFECT_HOME"]) / "retrain-leases").glob("*.lease"))
    from mlflow import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiments = [e.experiment_id for e in client.search_experiments()]
    statuses = (
        {run.info.status for run in client.search_runs(experiments)} if experiments else set()
    )
    assert "RUNNING" not in statuses, statuses
    code, out, err, _ = retrain(project, env, *check_args(1))  # nothing holds the lock
    assert code == 0, out + err
    assert "is busy" not in out + err
