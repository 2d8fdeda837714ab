"""End-to-end fixtures: the deploy guide for real, on free ports under a temp dir.

`deployed` (session scope: one stack for every e2e module that uses it) copies the project's
deployable files into a temp project, writes the seeded churn stream's reference data there,
starts `prefect server start` (SQLite, UI served) and `mlflow server` (SQLite, artifacts proxied:
the tracking server every run and test talks to), creates the `retrain` work pool (type
`retrain-process`: the warm engine), checks `retrain compile`, runs `prefect deploy --all` and
starts `prefect worker start --pool retrain` by absolute path with a bare PATH (`/usr/bin:/bin`),
as a service manager would. Every process runs in its own session and is stopped (SIGTERM, then
SIGKILL) when the session ends, with everything that session spawned (flow runs).

The server's scheduler runs (as in production). The temp project pauses house-prices' schedule
(its first interval run would start at once and compete for the worker) and adds
`churn-scheduled`, a copy of churn on a every-minute cron, whose runs the scheduler creates (its
test pauses that deployment once one of them completed).
The temp project also holds the staged policies of `rollout.ROLLOUTS` (promotion.stages, schedule
paused, no arrival trigger, a lenient gate), whose runs test_deploy_stages.py starts.
The worker starts without MLFLOW_TRACKING_URI: every ledger entry must still reach the store the
deploy ran with, through the deployments' job variables.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

import pytest
import yaml
from processes import MLFLOW_HOST, TrackingServer, free_port, stop_session
from rollout import LENIENT_GATE, QUIET, ROLLOUTS, STAGES

from retrain_core.data.demo import Story, write_day, write_reference

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYABLE = ("flows", "policies", "prefect.yaml", "pyproject.toml")
SERVER_START_SECONDS = 120.0
COMMAND_SECONDS = 120.0
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
SCHEDULED = "churn-scheduled"  # a policy whose first run the server's scheduler creates


def bounded(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float, merge: bool = False
) -> tuple[int, str]:
    """Run a command in its own session for at most `timeout` seconds: exit code and stdout.

    With `merge`, stderr is part of the text; otherwise it is discarded (browser noise).
    """
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_session(proc, grace=5)
        raise AssertionError(f"{' '.join(args)} did not finish in {timeout:.0f} s") from None
    finally:
        stop_session(proc, grace=5)  # whatever it left running in its session
    return proc.returncode, output.decode(errors="replace")


def _clean_env(state: Path, port: int, tracking_uri: str) -> dict[str, str]:
    """The environment of every subprocess: our server, our stores, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    api = f"http://127.0.0.1:{port}/api"
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(state / "prefect-home"),
        PREFECT_API_URL=api,
        PREFECT_UI_API_URL=api,
        PREFECT_UI_ENABLED="true",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{state / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
        MLFLOW_TRACKING_URI=tracking_uri,
        RETRAIN_ENGINE_DIR=str(state / "engine"),  # this stack's warm engine, stopped with it
        RETRAIN_ENGINE_IDLE_SECONDS="120",
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    env.pop("RETRAIN_NOTIFY_URLS", None)
    return env


@dataclass
class Deployed:
    """The running stack: temp project, env, server and worker, and helpers to drive them."""

    root: Path
    state: Path
    port: int
    env: dict[str, str]
    story: Story
    tracking: TrackingServer
    scheduled: str = SCHEDULED
    processes: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)
    log_files: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def tracking_uri(self) -> str:
        return self.env["MLFLOW_TRACKING_URI"]

    def log(self, name: str) -> Path:
        return self.state / "logs" / f"{name}.log"

    def tail(self, name: str, lines: int = 60) -> str:
        """The end of a background process's log, for failure messages."""
        path = self.log(name)
        text = path.read_text(errors="replace") if path.is_file() else ""
        return f"--- last {lines} lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[Any]:
        """Start a long-running command in its own session, logging to logs/<name>.log."""
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        out = self.log(name).open("wb")
        self.log_files.append(out)
        proc = subprocess.Popen(
            list(args), cwd=self.root, env=env or self.env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.processes[name] = proc
        return proc

    def run(self, *args: str, timeout: float = COMMAND_SECONDS, check: bool = True) -> str:
        """Run a command to completion (bounded) from the temp project; its combined output."""
        code, text = bounded(list(args), self.root, self.env, timeout, merge=True)
        if check and code != 0:
            raise AssertionError(f"{' '.join(args)} exited {code}:\n{text}")
        return text

    def capture(self, *args: str, timeout: float = COMMAND_SECONDS) -> tuple[int, str]:
        """Run a command (bounded) from the state folder: exit code and stdout (no stderr)."""
        return bounded(list(args), self.state, self.env, timeout)

    def prefect(self, *args: str, timeout: float = COMMAND_SECONDS) -> str:
        return self.run(str(BIN / "prefect"), "--no-prompt", *args, timeout=timeout)

    def retrain(self, *args: str, check: bool = True) -> str:
        return self.run(str(BIN / "retrain"), *args, check=check)

    def client(self) -> SyncPrefectClient:
        """A synchronous Prefect client on this server (use it as a context manager)."""
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.api_url)

    def write_day(self, day: int) -> None:
        """Land day `day`'s churn batch and the previous day's labels in the temp project."""
        write_day(self.root, self.story, day)

    def run_deployment(self, name: str, **params: Any) -> UUID:
        """`prefect deployment run NAME --param k=v ...`; the new flow run's id."""
        args = [f"--param={key}={value}" for key, value in params.items()]
        output = self.prefect("deployment", "run", name, *args)
        found = re.search(r"UUID:\s*([0-9a-f-]{36})", output)
        assert found, f"no flow run id in the output of prefect deployment run:\n{output}"
        return UUID(found.group(1))

    def start_run(self, name: str, **params: Any) -> UUID:
        """A flow run of deployment NAME through the API, as `prefect deployment run` creates
        it (without a process per run); its id."""
        with self.client() as client:
            deployment = client.read_deployment_by_name(name)
            return client.create_flow_run_from_deployment(deployment.id, parameters=params).id

    def wait_for_run(self, run_id: UUID, timeout: float = 300.0) -> FlowRun:
        """Poll the API until the flow run reaches a terminal state (bounded)."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                run = client.read_flow_run(run_id)
                if run.state_type is not None and run.state_type.value in TERMINAL:
                    return run
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"flow run {run.name} ({run_id}) still {run.state_name} after "
                        f"{timeout:.0f} s\n{self.tail('worker')}"
                    )
                self.assert_alive()
                time.sleep(1.0)

    def assert_alive(self) -> None:
        """Fail fast, with its log, when the server or the worker has died."""
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}\n{self.tail(name)}")

    def wait_for_health(self, timeout: float = SERVER_START_SECONDS) -> float:
        """Seconds until /api/health answers; fail with the server log after `timeout`."""
        import urllib.request

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.assert_alive()
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no /api/health after {timeout:.0f} s\n{self.tail('server')}")

    def stop(self) -> None:
        """Stop the worker first (it may be running a flow), then the servers; close logs."""
        from retrain_core.runtime.engine import stop_all

        for name in ("worker", *[n for n in self.processes if n != "worker"]):
            proc = self.processes.get(name)
            if proc is not None:
                stop_session(proc)
            if name == "worker":
                stop_all(self.state / "engine")
        self.tracking.stop()
        for out in self.log_files:
            out.close()


def make_project(root: Path, story: Story) -> None:
    """The deployable files of the repo plus the churn stream's reference data.

    The scheduler runs, so the project is changed for it: house-prices' schedule is paused, and
    SCHEDULED, a copy of churn that runs every minute with no arrival trigger, gets runs from the
    scheduler right after the deploy.
    """
    root.mkdir(parents=True)
    for name in DEPLOYABLE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    write_reference(root, story)
    write_day(root, story, 1)  # the scheduled runs start before the tests land their days
    houses = root / "policies" / "house-prices.yaml"
    text = houses.read_text()
    assert "timezone: Europe/London}" in text
    houses.write_text(
        text.replace("timezone: Europe/London}", "timezone: Europe/London, active: false}")
    )
    churn = (root / "policies" / "churn.yaml").read_text()
    scheduled = re.sub(r"(?m)^name: churn$", f"name: {SCHEDULED}", churn)
    scheduled = re.sub(r"(?m)^schedule: .*$", 'schedule: {cron: "* * * * *"}', scheduled)
    scheduled = re.sub(r"(?m)^arrival: .*\n", "", scheduled)
    assert scheduled.count(SCHEDULED) == 1 and "* * * * *" in scheduled
    (root / "policies" / f"{SCHEDULED}.yaml").write_text(scheduled)
    for name, (champion, _) in ROLLOUTS.items():
        staged = staged_policy(yaml.safe_load(churn), name, champion)
        (root / "policies" / f"{name}.yaml").write_text(yaml.safe_dump(staged, sort_keys=False))


def staged_policy(churn: dict[Any, Any], name: str, estimator: dict[str, Any]) -> dict[str, Any]:
    """The churn policy as `name`, training `estimator`, with the rollout stages: its schedule
    paused and no arrival trigger (the test starts its runs), no retrain of its own, a gate any
    challenger passes (the stages judge it), no notifications."""
    policy = {key: value for key, value in churn.items() if key not in ("arrival", "notify")}
    policy.update(name=name, description=f"Staged rollout of churn models ({name}).")
    policy["model"] = {**churn["model"], "estimator": estimator}
    policy["schedule"] = {**churn["schedule"], "active": False}
    policy["triggers"] = QUIET
    policy["gate"] = {**churn["gate"], **LENIENT_GATE}
    policy["promotion"] = {**churn["promotion"], "stages": STAGES}
    return policy


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """Servers, work pool, compiled and deployed project, worker: docs/deploy.md's guide."""
    state = tmp_path_factory.mktemp("e2e")
    port = free_port()
    story = Story()
    (state / "mlflow").mkdir()
    tracking = TrackingServer(state / "mlflow", host_name=MLFLOW_HOST)
    env = _clean_env(state, port, tracking.url)
    stack = Deployed(state / "project", state, port, env, story, tracking)
    make_project(stack.root, story)
    timings: dict[str, float] = {}
    try:
        stack.start(
            "server", str(BIN / "prefect"), "server", "start",
            "--host", "127.0.0.1", "--port", str(port), "--ui",
        )  # fmt: skip
        began = time.monotonic()
        tracking.start()  # meanwhile the Prefect server starts
        timings["mlflow"] = time.monotonic() - began
        timings["server"] = stack.wait_for_health()
        stack.prefect("work-pool", "create", "retrain", "--type", "retrain-process")
        compiled = stack.retrain("compile")
        assert "wrote prefect.yaml" in compiled, compiled
        began = time.monotonic()
        stack.prefect("deploy", "--all", timeout=240)
        timings["deploy"] = time.monotonic() - began
        # The worker starts as a service manager starts it: by absolute path, with a bare PATH
        # (`env -i PATH=/usr/bin:/bin`) and only Prefect's settings; it does not know the
        # store either: the deployments carry the deployer's.
        # The store's tables exist before the worker takes runs: the scheduler's first run and a
        # test's first check may start together, and two processes creating a new SQLite
        # store's tables at once collide ("table _alembic_tmp_latest_metrics already exists").
        from mlflow import MlflowClient

        MlflowClient(stack.tracking_uri).search_experiments(max_results=1)
        worker_env = {k: v for k, v in stack.env.items() if k.startswith(("PREFECT_", "RETRAIN_"))}
        worker_env.update(PATH="/usr/bin:/bin", PYTHONUNBUFFERED="1")
        stack.start(
            "worker", str(BIN / "prefect"), "worker", "start", "--pool", "retrain", env=worker_env
        )
        print(f"\ne2e: mlflow server healthy after {timings['mlflow']:.0f} s, prefect server "
              f"after {timings['server']:.0f} s, deploy took {timings['deploy']:.0f} s; state in "
              f"{state}")  # fmt: skip
        yield stack
    finally:
        stack.stop()
