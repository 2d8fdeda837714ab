"""The deploy guide (docs/deploy.md) run as written: each command of its blocks, in one shell.

A fresh copy of the project (its git-tracked files, the venv linked in) gets the blocks of
"Deploy to a work pool" as a bash script (`set -euo pipefail`), with a new HOME so
`prefect config set` writes a throwaway profile, and nothing of ours in the environment. The only
edits are the ports (4200, 5000, 5001 become free ones, so a server already running here is not
hit) and, for the scale-out variant, the PostgreSQL database names (fresh ones, dropped after).

Then, from outside: every ledger entry and model is in the MLflow server the README started
(nothing in the embedded `.retrain/mlflow.db`), churn has a champion and at least two checks (the
`--watch` run and the arrival run), the served model answered with predictions, and the server's
scheduler created house-prices' interval run, which a worker picked up.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from processes import free_port, stop_session

from retrain_core.runtime.engine import stop_all

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SCRIPT_SECONDS = 900.0
SETTLE_SECONDS = 300.0
PORTS = ("4200", "5000", "5001")


def readme_block(heading: str) -> str:
    """The first ```sh block after `## heading` in the deploy guide (docs/deploy.md, linked
    from the README)."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text[text.index(f"## {heading}") :]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, f"no sh block under {heading}"
    return found.group(1)


def steps(block: str) -> dict[str, str]:
    """The block cut at its `# N.` comments: step number -> its lines."""
    parts = re.split(r"(?m)^(?=# \d+\.)", block)
    return {re.match(r"# (\d+)\.", p).group(1): p for p in parts if re.match(r"# \d+\.", p)}  # type: ignore[union-attr]


def project_copy(root: Path) -> None:
    """The git-tracked files of the project, and its venv (linked, already set up)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if not (ROOT / name).is_file():  # deleted in the work tree, not yet committed
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    (root / ".venv").symlink_to(BIN.parent)
    stamp = BIN.parent / ".installed"
    if stamp.is_file():  # `make setup` finds the venv up to date
        old = stamp.stat().st_mtime - 60
        for name in ("requirements.lock", "pyproject.toml"):
            os.utime(root / name, (old, old))


def environment(home: Path) -> dict[str, str]:
    """A new user's shell: their own HOME, none of our Prefect or MLflow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("RETRAIN_NOTIFY_URLS", None)
    home.mkdir(parents=True)
    env.update(HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", COLUMNS="160")
    env["RETRAIN_ENGINE_DIR"] = str(home / "engine")  # the workers' warm engine: ours to stop
    env["RETRAIN_ENGINE_IDLE_SECONDS"] = "120"  # and gone soon even when a test fails early
    return env


def run_script(root: Path, script: str, env: dict[str, str]) -> tuple[subprocess.Popen[Any], str]:
    """Run the script to its end in its own session; the session (servers) is left running."""
    path = root / "readme.sh"
    path.write_text("set -euo pipefail\nPS4='+ $(date +%T) '\nset -x\n" + script)
    proc = subprocess.Popen(
        ["bash", str(path)], cwd=root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        stop_session(proc, grace=5)
        raise AssertionError(
            f"the README's commands did not finish in {SCRIPT_SECONDS:.0f} s"
        ) from None
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        logs = "".join(
            f"\n--- {log.name} ---\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for log in root.glob("*.log")
        )
        stop_session(proc, grace=5)
        raise AssertionError(f"the README's commands exited {proc.returncode}:\n{text}{logs}")
    return proc, text


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def with_ports(script: str) -> tuple[str, dict[str, int]]:
    """The script with the README's ports replaced by free ones."""
    ports = {port: free_port() for port in PORTS}
    for old, new in ports.items():
        script = re.sub(rf"\b{old}\b", str(new), script)
    return script, ports


def _state(run: Any) -> str:
    return run.state_type.value if run.state_type is not None else ""


def wait_until_settled(api: str, deadline: float) -> list[Any]:
    """Every flow run on the server, once none is still scheduled-and-due, pending or running."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api) as client:
        while True:
            runs = client.read_flow_runs()
            busy = [
                r for r in runs if r.state_type and r.state_type.value in ("PENDING", "RUNNING")
            ]
            due = [
                r for r in runs
                if r.state_type and r.state_type.value == "SCHEDULED"
                and r.expected_start_time is not None
                and r.expected_start_time.timestamp() < time.time()
            ]  # fmt: skip
            if not busy and not due:
                return runs
            assert time.monotonic() < deadline, f"still busy: {[r.name for r in busy + due]}"
            time.sleep(2.0)


def check_outcome(root: Path, output: str, ports: dict[str, int], served: bool = True) -> None:
    """What the guide promises: one store, a champion, two checks, a prediction, a schedule."""
    from mlflow import MlflowClient
    from prefect.client.orchestration import SyncPrefectClient

    from retrain_core.store import Store
    from retrain_core.store.views import ClientView, RestView

    assert not served or '"predictions"' in output, output[-3000:]
    assert not (root / ".retrain" / "mlflow.db").exists(), "a run wrote to the embedded store"
    api = f"http://127.0.0.1:{ports['4200']}/api"
    runs = wait_until_settled(api, time.monotonic() + SETTLE_SECONDS)
    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{ports['5000']}")
    assert client.get_model_version_by_alias("churn", "champion") is not None
    checks = Store(f"http://127.0.0.1:{ports['5000']}").ledger.checks("churn")
    assert len(checks) >= 2, f"{len(checks)} churn checks in the ledger"
    server = f"http://127.0.0.1:{ports['5000']}"  # status reads it over REST, without MLflow
    assert RestView(server).state("churn", "champion") == ClientView(server).state(
        "churn", "champion"
    )
    with SyncPrefectClient(api) as prefect:
        deployments = {d.id: d.name for d in prefect.read_deployments()}
    # The scheduler works (with SQLAlchemy 2.1 it created nothing): house-prices' weekly runs
    # from the deploy on exist. tests/e2e/test_deploy.py sees a worker complete such a run.
    scheduled = [
        r for r in runs if deployments.get(r.deployment_id) == "house-prices" and r.auto_scheduled
    ]
    assert scheduled, f"no scheduled house-prices run among {[r.name for r in runs]}"
    churn = [r for r in runs if deployments.get(r.deployment_id) == "churn"]
    started = {_state(r) for r in churn if not r.auto_scheduled}  # the scheduler's are later
    assert started == {"COMPLETED"}, [(r.name, r.state_name) for r in churn]


def test_deploy_guide_as_written(tmp_path: Path) -> None:
    """Steps 0-5 of the deploy guide (SQLite stores), verbatim but for the ports."""
    root = tmp_path / "project"
    project_copy(root)
    script, ports = with_ports(readme_block("Deploy to a work pool"))
    proc, output = run_script(root, script, environment(tmp_path / "home"))
    print(output)  # each command with its time (shown with -s, or when the test fails)
    try:
        check_outcome(root, output, ports)
    finally:
        stop_session(proc)
        stop_all(tmp_path / "home" / "engine")


@pytest.mark.postgres
def test_scale_out_guide_on_postgresql(tmp_path: Path) -> None:
    """Step 0, the scale-out block (both servers on PostgreSQL), then steps 3-4.

    Step 5 (serving) reads the same registry through the same server as the SQLite variant, which
    runs it; leaving it out here keeps the suite inside CI's time.
    """
    guide = steps(readme_block("Deploy to a work pool"))
    scale_out = readme_block("Scale out")
    names = {}
    for name in re.findall(r"(?m)^createdb .* (\w+)$", scale_out):
        names[name] = f"readme_{name}_{uuid.uuid4().hex[:8]}"
        scale_out = re.sub(rf"(?m)^(createdb .* ){name}$", rf"\g<1>{names[name]}", scale_out)
        scale_out = scale_out.replace(f"5432/{name} ", f"5432/{names[name]} ")
        scale_out = scale_out.replace(f"5432/{name}\n", f"5432/{names[name]}\n")
    assert set(names) == {"prefect", "mlflow"}, scale_out
    root = tmp_path / "project"
    project_copy(root)
    script, ports = with_ports(guide["0"] + scale_out + guide["3"] + guide["4"])
    try:
        proc, output = run_script(root, script, environment(tmp_path / "home"))
        try:
            check_outcome(root, output, ports, served=False)
        finally:
            stop_session(proc)
            stop_all(tmp_path / "home" / "engine")
    finally:
        for name in names.values():
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name],
                check=False, capture_output=True,
            )  # fmt: skip
