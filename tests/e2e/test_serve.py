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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
SWITCH_SECONDS = 120.0  # a generous bound for a running router to follow a moved alias


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
def serving(
    model: str, uri: str, folder: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """`mlflow models serve -m MODEL` from the store at `uri` (with `env` added to the
    environment); its base URL once /ping answers, stopped (its whole process group) on exit.
    Logs to `folder/serve.log`."""
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri, **(env or {})}
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


def ask(server: str, rows: pd.DataFrame) -> list[Any]:
    """POST `rows` to the server's /invocations; its predictions, one per row."""
    payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    request = urllib.request.Request(
        f"{server}/invocations", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return list(json.loads(response.read())["predictions"])
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"/invocations answered {exc.code}: {exc.read()!r}") from exc


def check_split(
    answers: list[Any], rows: pd.DataFrame, uri: str, name: str, share: float
) -> list[str]:
    """The router's answers to `rows` (with their key column `customer_id`): each row answered
    by the version the monitor's hash routes its key to, about `share` by the canary, each
    prediction that version's own. The expected versions, row by row."""
    from retrain_core.decide.stages import to_canary

    assert len(answers) == len(rows)
    expected = ["canary" if c else "champion" for c in to_canary(rows["customer_id"], share)]
    assert [a["alias"] for a in answers] == expected  # the monitor's split, row by row
    assert abs(expected.count("canary") / len(expected) - share) < 0.1
    registry = Store(uri).registry
    features = rows.drop(columns=["customer_id"])
    versions = {}
    for alias in ("champion", "canary"):
        mine = [e == alias for e in expected]
        (version,) = {a["version"] for a, m in zip(answers, mine, strict=True) if m}
        assert version == registry.aliases(name)[alias]
        local = registry.load_model(name, version).predict(features[mine])
        assert [a["prediction"] for a, m in zip(answers, mine, strict=True) if m] == local.tolist()
        versions[alias] = version
    return [versions[e] for e in expected]


def served_until(
    server: str, rows: pd.DataFrame, done: Callable[[list[Any]], bool], what: str
) -> list[Any]:
    """Ask with `rows` until the answers are `done` (a running router follows a moved alias
    within its refresh interval); the answers, or a failure naming `what` after SWITCH_SECONDS."""
    deadline = time.monotonic() + SWITCH_SECONDS
    while True:
        answers = ask(server, rows)
        if done(answers):
            return answers
        if time.monotonic() > deadline:
            seen = sorted({(a["version"], a["alias"]) for a in answers})
            raise AssertionError(f"still not {what} after {SWITCH_SECONDS:.0f} s: {seen}")
        time.sleep(0.5)


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
    predictions = ask(server, features)
    assert len(predictions) == len(batch)
    assert set(predictions) <= {0, 1}
    local = Store(uri).registry.load_model(NAME, "champion").predict(features)
    assert predictions == local.tolist()  # the served model is the registered champion
