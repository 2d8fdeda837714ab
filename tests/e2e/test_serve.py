"""The promoted champion serves: `mlflow models serve -m models:/<name>@champion` answers a batch.

The champion is made the way the flow makes it, with retrain_core directly (no Prefect): the
shipped churn policy trains on the seeded demo reference data, the run is logged, registered
with its lineage and promoted. Then the real `mlflow models serve` (local environment) starts on
a free port of 127.0.0.1, in its own process group, which is always killed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from retrain_core.data.demo import Story, write_reference
from retrain_core.decide.promotion import decide_promotion
from retrain_core.monitor.training_data import load_training_data
from retrain_core.policy.loader import load_policy
from retrain_core.store import Store
from retrain_core.store.lineage import gate_tags
from retrain_core.training.challenger import train_challenger

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = Path(sys.executable).parent / "mlflow"
NAME = "serve-churn"
NOW = datetime(2026, 1, 18, tzinfo=UTC)
START_SECONDS = 120.0
STOP_SECONDS = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def champion(tmp_path: Path) -> tuple[str, pd.DataFrame]:
    """A store whose churn model has a promoted champion; and rows it has never seen."""
    story = Story(reference_rows=3000)
    write_reference(tmp_path, story)
    shipped = (ROOT / "policies" / "churn.yaml").read_text()
    assert "\nname: churn\n" in shipped
    path = tmp_path / "policy.yaml"  # the shipped policy as written (YAML 1.1 reads `on:` as True)
    path.write_text(shipped.replace("\nname: churn\n", f"\nname: {NAME}\n", 1))
    loaded = load_policy(path)
    policy = loaded.policy

    result = train_challenger(policy, load_training_data(policy, tmp_path))
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    (tmp_path / "mlflow").mkdir()
    registry = Store(uri).registry
    run_id = registry.log_training_run(
        policy,
        result,
        monitor_run_id=None,
        policy_hash=loaded.policy_hash,
        trigger=["e2e"],
        now=NOW,
    )
    gate = decide_promotion(policy.gate, result.metrics[policy.gate.metric], None)
    assert gate.promote, gate.reasons
    version = registry.register(run_id, NAME, gate_tags(gate), now=NOW)
    p = policy.promotion
    registry.promote(NAME, version, p.alias, p.previous_alias, now=NOW)
    assert registry.aliases(NAME) == {"champion": version}
    return uri, result.holdout


@pytest.fixture()
def server(champion: tuple[str, pd.DataFrame], tmp_path: Path) -> Iterator[str]:
    """`mlflow models serve` on the champion; its base URL once /ping answers."""
    uri, _ = champion
    with serving(f"models:/{NAME}@champion", uri, tmp_path) as base:
        yield base


@contextmanager
def serving(model: str, uri: str, folder: Path) -> Iterator[str]:
    """`mlflow models serve -m MODEL` from the store at `uri`; its base URL once /ping answers,
    stopped (its whole process group) on exit. Logs to `folder/serve.log`."""
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
    env["PATH"] = f"{MLFLOW.parent}{os.pathsep}{env.get('PATH', '')}"  # it execs `uvicorn`
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(MLFLOW), "models", "serve", "-m", model,
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_ping(base, proc, log_path)
        yield base
    finally:
        stop_group(proc)


def wait_for_ping(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll /ping until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow models serve exited {proc.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no /ping after {START_SECONDS:.0f} s:\n{tail(log_path)}")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it is still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone: make sure its workers are too
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def test_champion_serves_predictions(server: str, champion: tuple[str, pd.DataFrame]) -> None:
    uri, holdout = champion
    batch = holdout.head(25)
    features = batch.drop(columns=["churned", "event_time", "customer_id"], errors="ignore")
    payload = {"dataframe_split": json.loads(features.to_json(orient="split", index=False))}
    request = urllib.request.Request(
        f"{server}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"/invocations answered {exc.code}: {exc.read()!r}") from exc

    predictions = answer["predictions"]
    assert len(predictions) == len(batch)
    assert set(predictions) <= {0, 1}
    local = Store(uri).registry.load_model(NAME, "champion").predict(features)
    assert predictions == local.tolist()  # the served model is the registered champion
