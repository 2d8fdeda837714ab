"""`retrain run POLICY`: one monitor cycle in this process, on the embedded defaults if unset."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from retrain_core.base.errors import Refusal
from retrain_core.base.settings import Settings, load_settings
from retrain_core.cli.stopping import apart_from_ctrl_c, stop_on_signals
from retrain_core.decide.approval import PENDING_APPROVAL
from retrain_core.runtime.preload import fast_exit, imports_without_gc

# Prefect's ephemeral API takes 20-30 s to start on a small machine, and its default startup
# timeout has been seen to expire: give it room unless the user chose a value.
STARTUP_TIMEOUT = "180"
# Leases kept in files under PREFECT_HOME instead of the API process's memory: each `retrain run`
# starts its own embedded API, and a run killed while holding the policy's lock leaves a lease
# the next run's API must find to release it (retrain_core/runtime/leases.py).
LEASE_STORAGE = "prefect.server.concurrency.lease_storage.filesystem"


def embedded_defaults(settings: Settings) -> None:
    """Prepare the no-server defaults: ephemeral Prefect API, MLflow on SQLite under .retrain/."""
    from retrain_core.store.tracking import tracking_uri

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT)
    # The embedded server's telemetry heartbeat competes for its SQLite file ("database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", LEASE_STORAGE)
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        settings.data_path.mkdir(parents=True, exist_ok=True)
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri(settings)


def api_command(port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment of Prefect's ephemeral API process, as Prefect builds them.

    The same as `SubprocessASGIServer._run_uvicorn_command` (prefect.server.api.server), built
    here because importing that module takes ~2 s that the API process can spend starting
    instead. tests/unit/test_run_command.py compares the two, so a Prefect upgrade that changes
    Prefect's command fails that test instead of starting a different server.
    """
    import prefect
    from prefect.settings import get_current_settings

    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
        "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }
    return command, env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api_early() -> Any:
    """Launch Prefect's ephemeral API process now, without waiting for it; None with a server.

    Prefect starts it at the first flow call and waits there (10-40 s on a small machine). Begun
    here, before the run imports Prefect's server module, it starts on the other core while this
    process imports what the run needs and opens the MLflow store; `wait_for_api` then waits for
    what is left. The process is handed to Prefect's own `SubprocessASGIServer`, which the first
    flow call finds running and reuses, and stops at exit.
    """
    import subprocess

    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    try:
        port = free_port()
        command, env = api_command(port)
        process = subprocess.Popen(command, env=env, **apart_from_ctrl_c())
    except Exception:  # the first flow call starts the API, as without this
        return None
    try:
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        if server.running:  # this process already has one (a flow ran before, in-process)
            raise RuntimeError("an ephemeral API is running")
        server.port = port
        server.server_process = process
        server.running = True
        atexit.register(server.stop)
    except Exception:  # a Prefect without these internals: its first flow call starts the API
        process.terminate()
        process.wait()
        return None
    return server


def warm_up(tracking_uri: str | None) -> None:
    """Import the run's heavy libraries (the warm engine's list) and create the MLflow store,
    while an API started by `start_api_early` (if any) starts."""
    from retrain_core.runtime.preload import preload

    with imports_without_gc():
        preload()
    if tracking_uri and tracking_uri.startswith("sqlite:"):
        from retrain_core.store import Store

        # creating a new SQLite store (its migrations) is the slow part of its first use; the
        # run reports any problem with the store itself
        with contextlib.suppress(Exception):
            Store(tracking_uri).existing_experiment("retrain")


def wait_for_api(server: Any) -> None:
    """Wait until the API started by `start_api_early` answers; on trouble let Prefect retry."""
    import httpx
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    with httpx.Client() as client:
        while time.monotonic() < deadline and server.server_process.poll() is None:
            try:
                if client.get(f"{server.api_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.stop()  # exited (e.g. its port was taken) or slow: Prefect's own start takes over


def run_monitor(policy: str, now: Any = None, data_root: str | None = None) -> dict[str, Any]:
    """Run the monitor flow once and return its summary; raise when the flow run fails (its
    refusal itself, or why the run ended)."""
    from flows.monitor import monitor

    state = monitor(policy, now=now, data_root=data_root, return_state=True)
    if not state.is_completed():
        try:
            refusal = state.result(raise_on_failure=False)
        except Exception:  # an unreadable result: the state's message says why
            refusal = None
        if isinstance(refusal, Refusal):
            raise refusal
        raise RuntimeError(f"the monitor run {(state.name or 'failed').lower()}: {state.message}")
    from retrain_core.runtime.publish import summary_of

    return summary_of(state)


DEMO_FOLDERS = ("data/churn/", "data/house-prices/")  # what `retrain sample-data` writes


def missing_data(policy_file: str, root: Path) -> str | None:
    """One line naming the policy's first missing data path at its line, or None.

    The reference and current sources are needed for a check; labels may come later, so their
    path is named only when it has a typo (a close existing folder). A path with a typo gets
    the path it may mean; only the demo's own paths suggest `retrain sample-data`. SQL sources
    are left to the run (its retries cover a database that is starting).
    """
    from retrain_core.data import DataError, NoFiles, SourceUnavailable
    from retrain_core.data.sources.files import list_files
    from retrain_core.policy.loader import PolicyLoadError, load_policy

    try:
        loaded = load_policy(Path(policy_file))
    except PolicyLoadError as exc:
        return str(exc)
    except OSError as exc:
        return f"{policy_file}: cannot read the policy: {exc.strerror or exc}"
    data = loaded.policy.data
    for role, source in (("reference", data.reference), ("current", data.current),
                         ("labels", data.labels)):  # fmt: skip
        if source is None or source.kind != "files":
            continue
        try:
            list_files(source, root)
        except (NoFiles, SourceUnavailable):
            problem = _no_data(loaded, role, source.path, root)
            if problem is not None:
                return problem
        except DataError as exc:
            return f"{policy_file}: {exc}"
    return None


def _no_data(loaded: Any, role: str, path: str, root: Path) -> str | None:
    """`file:line data.<role>.path: no folder ... (did you mean ...?)` and what to do."""
    from retrain_core.data.paths import missing_path
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.loader import locate_text

    missing = missing_path(path, root)
    if role == "labels" and (missing is None or missing.suggestion is None):
        return None  # no label yet, or a folder still to come
    if missing is not None and missing.suggestion is not None:
        message = missing.message(root)
    elif path.startswith(DEMO_FOLDERS) and not (root / "data").exists():
        message = (
            f"no data at {path} under {root}: `retrain sample-data` writes the demo's stream "
            "there, or edit the data paths in the policy"
        )
    else:
        found = missing.message(root) if missing is not None else f"no data at {path} under {root}"
        message = f"{found}: land the data there or edit the path"
    (line,) = locate_text(loaded, [Finding(("data", role, "path"), message)])
    return line


def run(args: argparse.Namespace) -> int:
    """Handler of `retrain run`: print the decision table, exit 1 when the run failed."""
    settings = load_settings(args.project)
    found = [p for p in (Path(args.policy), settings.root / args.policy) if p.exists()]
    if not found:
        print(f"retrain run: no policy file {args.policy}", file=sys.stderr)
        return 1
    policy = str(found[0].resolve())
    root = args.data_root or str(settings.root)
    problem = missing_data(policy, Path(root))
    if problem is not None:
        print(f"retrain run: {problem}", file=sys.stderr)
        return 1
    embedded_defaults(settings)
    stop_on_signals()
    from retrain_core.runtime.services import check_services

    check_services(os.environ["MLFLOW_TRACKING_URI"])  # a service that is down: one line
    server = None
    if os.environ.get("RETRAIN_EARLY_API") != "0":  # "0": all left to Prefect (the baseline)
        fast_exit()
        with imports_without_gc():
            server = start_api_early()
        warm_up(os.environ.get("MLFLOW_TRACKING_URI"))
    if server is not None:
        wait_for_api(server)
    from retrain_core.cli.output import progress_line

    try:
        with progress_line(f"checking {Path(policy).stem}", args):
            summary = run_monitor(policy, now=args.now, data_root=root)
    except Exception as exc:  # the flow already logged the traceback
        print(f"retrain run: {exc}", file=sys.stderr)
        return 1
    print_decision(summary, quiet=getattr(args, "quiet", False))
    training = summary.get("training")
    if training:
        reasons = "; ".join(training.get("reasons", []))
        version = f" v{training['version']}" if training.get("version") else ""
        print(f"\ntraining: {training.get('status')}{version}: {reasons}")
        waits = training.get("status") == PENDING_APPROVAL
        if waits and not training.get("approval_run_id"):
            wait_for_approval(policy, training, args.now)
    return 0


def print_decision(summary: dict[str, Any], quiet: bool = False) -> None:
    """The decision on stdout: its verdict and reasons, then its checks (only the verdict line
    with `--quiet`)."""
    from retrain_core.cli.output import show
    from retrain_core.decide.report import decision_table

    if quiet:
        print(f"{summary['policy']}: {summary['verdict']}: {'; '.join(summary['reasons'])}")
        return
    table = decision_table(
        summary["policy"], summary["verdict"], summary["window"], summary["rows"],
        summary["reasons"], summary["checks"],
    )  # fmt: skip
    show(table)


def wait_for_approval(policy: str, training: dict[str, Any], now: Any) -> Any:
    """Without a deployment, the challenger's approve run pauses here, after the check completed.

    The check holds nothing meanwhile (its run is Completed, the policy's lock free); Ctrl-C
    leaves the version pending until its deadline, when the next check rejects it. Returns the
    approve run's final state.
    """
    from flows.approve import approve

    version = str(training["version"])
    print(f"v{version} waits for approval: answer the paused `approve` run in the Prefect UI")
    state = approve(
        policy, version, policy_hash=str(training.get("policy_hash", "")),
        now=now, return_state=True,
    )  # fmt: skip
    if state.is_completed():
        result = state.result()
        print(f"approval: {result['status']} v{version}: {'; '.join(result['reasons'])}")
    else:
        print(f"approval: v{version}: {state.message}")
    return state
