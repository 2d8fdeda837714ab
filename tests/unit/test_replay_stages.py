"""Staged rollout's pure parts the monitor and the replay share: which rows judge a staged
challenger (`monitor.stages.compare`), what a verdict does (`decide.stages.after`), the replay's
staged slot (`replay.memory.MemoryRegistry`) and what users got during a canary
(`replay.rollout.served_score`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from _data import churn_policy

from retrain_core.decide.stages import StageVerdict, after, gone, to_canary
from retrain_core.kinds.context import Champion
from retrain_core.monitor.stages import compare
from retrain_core.policy.schema import Policy
from retrain_core.policy.stages import Stage
from retrain_core.replay.memory import MemoryRegistry
from retrain_core.replay.rollout import enter_first, served_score, staged_first
from retrain_core.store.registry import StagedVersion

NOW = datetime(2026, 3, 8, tzinfo=UTC)
SHADOW = Stage.model_validate({"shadow": {"min_rows": 10, "max_period": "7d"}})
CANARY = Stage.model_validate({"canary": {"share": 0.3, "key": "customer_id", "min_rows": 10}})


class Constant:
    """A classifier that always answers `value` (no probabilities)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), self.value)


def staged(*stages: Stage) -> Policy:
    policy = churn_policy()
    promotion = policy.promotion.model_copy(update={"stages": list(stages)})
    return policy.model_copy(update={"promotion": promotion})


def rows(days: int = 4, per_day: int = 100) -> pd.DataFrame:
    """`per_day` churned customers a day for `days` days before NOW, one key each."""
    n, start = days * per_day, NOW - timedelta(days=days)
    return pd.DataFrame({
        "event_time": [start + timedelta(days=i // per_day, minutes=i % per_day) for i in range(n)],
        "customer_id": np.arange(n), "tenure": np.ones(n), "monthly_charges": np.ones(n),
        "contract": ["month"] * n, "churned": np.ones(n, dtype=int),
    })  # fmt: skip


def model(version: str, value: int, until: datetime | None = None) -> Champion:
    return Champion(version, NOW - timedelta(days=9), model=Constant(value), trained_until=until)


def test_a_staged_challenger_is_judged_on_rows_after_its_stage_began_and_both_trainings() -> None:
    policy, frame = staged(SHADOW, CANARY), rows()
    minute = timedelta(minutes=1)
    since = NOW - timedelta(days=3) - minute  # the stage began after day 1
    trial = StagedVersion("2", "shadow", since, trained_until=None)
    found = compare(policy, SHADOW, "accuracy", frame, model("1", 0), model("2", 1), trial, NOW)
    assert found is not None and found.rows == 300 and found.test == "paired"
    assert (found.champion, found.challenger) == (0.0, 1.0)
    trained = model("1", 0, until=NOW - timedelta(days=2) - minute)  # it saw day 2 as well
    found = compare(policy, SHADOW, "accuracy", frame, trained, model("2", 1), trial, NOW)
    assert found is not None and found.rows == 200
    earlier = NOW - timedelta(days=2) - minute  # nothing stamped after `now` counts
    found = compare(policy, SHADOW, "accuracy", frame, model("1", 0), model("2", 1), trial, earlier)
    assert found is not None and found.rows == 100


def test_a_canary_is_judged_on_the_rows_its_keys_route_to_it() -> None:
    policy, frame = staged(SHADOW, CANARY), rows()
    trial = StagedVersion("2", "canary", NOW - timedelta(days=4, hours=1), trained_until=None)
    found = compare(policy, CANARY, "accuracy", frame, model("1", 0), model("2", 1), trial, NOW)
    routed = int(np.sum(to_canary(frame["customer_id"], 0.3)))
    assert found is not None and found.test != "paired"
    assert (found.rows, found.champion_rows) == (routed, len(frame) - routed)


def test_a_verdict_waits_enters_the_next_stage_promotes_after_the_last_or_rejects() -> None:
    policy = staged(SHADOW, CANARY)
    assert after(policy, SHADOW, StageVerdict("wait", ("w",))) == ("waiting", None)
    assert after(policy, SHADOW, StageVerdict("advance", ("a",))) == ("canary", CANARY)
    assert after(policy, CANARY, StageVerdict("advance", ("a",))) == ("promoted", None)
    assert after(policy, SHADOW, StageVerdict("reject", ("r",))) == ("rejected", None)
    assert gone("canary", "3") == "the policy has no canary stage any more: v3 rejected"


def test_the_replays_staged_slot_enters_moves_on_and_promotes_at_its_moment() -> None:
    policy, registry = staged(SHADOW, CANARY), MemoryRegistry()
    assert not staged_first(policy, registry)  # a first version is promoted at once
    registry.promote(model("1", 0))
    assert staged_first(policy, registry) and not staged_first(staged(), registry)
    start = NOW - timedelta(days=2)
    assert enter_first(policy, registry, model("2", 1, until=start), start) == "shadow"
    assert registry.staged() == StagedVersion("2", "shadow", start, start)
    registry.enter_stage("canary", NOW - timedelta(days=1))
    assert registry.staged() == StagedVersion("2", "canary", NOW - timedelta(days=1), start)
    promoted = registry.promote_staged(NOW)
    assert (promoted.version, promoted.created_at, registry.champion) == ("2", NOW, promoted)
    assert registry.staged() is None and registry.staged_model() is None


def test_users_get_the_canarys_answers_on_the_keys_it_serves() -> None:
    policy, registry, frame = staged(SHADOW, CANARY), MemoryRegistry(), rows()
    registry.promote(model("1", 0))  # always wrong: every customer churned
    assert served_score(policy, registry, frame, "accuracy") == 0.0
    enter_first(policy, registry, model("2", 1), NOW - timedelta(days=5))
    assert served_score(policy, registry, frame, "accuracy") == 0.0  # a shadow answers nobody
    registry.enter_stage("canary", NOW - timedelta(days=5))
    share: Any = np.mean(to_canary(frame["customer_id"], 0.3))
    assert 0.2 < share < 0.4
    assert served_score(policy, registry, frame, "accuracy") == share
    assert served_score(policy, registry, frame[:0], "accuracy") is None
