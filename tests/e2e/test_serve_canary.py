"""The canary router serves: `mlflow models serve -m models:/<name>-serving@serving` answers each
request row with the champion or the canary, split by the key's stable hash in about the share.

Two versions of the shipped churn policy are trained on the seeded demo reference (the second
with another estimator), registered and promoted / put in a canary stage the way the monitor does
it (`monitor.stages.enter`, which registers the router). Then the real `mlflow models serve`
(local environment) serves the router in its own process group, always killed at the end. The
canary's alias then goes, as a rejection drops it: the running server stops sending it traffic
(it reads the aliases again every RETRAIN_ROUTER_REFRESH_SECONDS, 1 s here), without a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_serve import NOW, ROOT, ask, check_split, served_until, serving

from retrain_core.data.demo import Story, write_reference
from retrain_core.monitor import stages
from retrain_core.monitor.training_data import load_training_data
from retrain_core.policy.loader import load_policy
from retrain_core.store import Store
from retrain_core.store.serving_model import REFRESH_ENV
from retrain_core.training.challenger import train_challenger

pytestmark = pytest.mark.e2e

NAME = "serve-canary"
SHARE = 0.3
OTHER = {"class": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 500}}


@pytest.fixture()
def canary(tmp_path: Path) -> tuple[str, pd.DataFrame]:
    """A store whose churn model has a champion (v1) and a canary (v2) behind the router; and
    rows neither has seen."""
    story = Story(reference_rows=3000)
    write_reference(tmp_path, story)
    policy_data = yaml.safe_load((ROOT / "policies" / "churn.yaml").read_text())
    policy_data["name"] = NAME
    policy_data.pop(True, None)  # YAML 1.1 reads `on:` as True: the notify section goes
    policy_data["notify"] = {}
    policy_data["promotion"]["stages"] = [{"canary": {"share": SHARE, "key": "customer_id"}}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy_data, sort_keys=False))
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    (tmp_path / "mlflow").mkdir()
    store = Store(uri)
    versions, holdout = [], None
    for estimator in (policy_data["model"]["estimator"], OTHER):
        policy_data["model"]["estimator"] = estimator
        path.write_text(yaml.safe_dump(policy_data, sort_keys=False))
        loaded = load_policy(path)
        result = train_challenger(loaded.policy, load_training_data(loaded.policy, tmp_path))
        run_id = store.registry.log_training_run(
            loaded.policy, result, monitor_run_id=None, policy_hash=loaded.policy_hash,
            trigger=["e2e"], now=NOW,
        )  # fmt: skip
        versions.append(store.registry.register(run_id, NAME, now=NOW))
        holdout = result.holdout
    store.registry.promote(NAME, versions[0], now=NOW)
    policy = load_policy(path).policy
    stages.enter(store, policy, versions[1], policy.promotion.stages[0], ["e2e"], NOW)
    assert store.registry.aliases(NAME) == {"champion": "1", "canary": "2"}
    assert holdout is not None
    return uri, holdout


@pytest.fixture()
def server(canary: tuple[str, pd.DataFrame], tmp_path: Path) -> Iterator[str]:
    """`mlflow models serve` on the router; its base URL once /ping answers."""
    uri, _ = canary
    refresh = {REFRESH_ENV: "1"}
    with serving(f"models:/{NAME}-serving@serving", uri, tmp_path, refresh) as base:
        yield base


def test_the_router_answers_with_both_versions_split_by_key(
    server: str, canary: tuple[str, pd.DataFrame]
) -> None:
    uri, holdout = canary
    rows = holdout.drop(columns=["churned", "event_time"]).head(400)
    answers = [a for start in range(0, 400, 100) for a in ask(server, rows[start : start + 100])]

    expected = check_split(answers, rows, uri, NAME, SHARE)
    assert set(expected) == {"1", "2"}
    again = ask(server, rows.head(50))  # the same key, the same model
    assert [a["version"] for a in again] == expected[:50]

    registry = Store(uri).registry
    registry.leave_stage(NAME, "2")  # the canary rejected: its alias goes, serving runs on
    after = served_until(
        server, rows, lambda found: {a["version"] for a in found} == {"1"}, "the champion alone"
    )
    assert {a["alias"] for a in after} == {"champion"}
    local = registry.load_model(NAME, "1").predict(rows.drop(columns=["customer_id"]))
    assert [a["prediction"] for a in after] == local.tolist()
