"""Staged rollout on real MLflow and Prefect: a better challenger goes shadow -> canary ->
champion over the monitor's checks, and a worse one is rejected in its shadow stage.

The champion (v1) and the challenger (v2) are both trained on the reference (day 0); the
challenger enters its first stage at day 1 and is judged on the labelled days that follow (800
rows a day, labels a day late). The canary router (`<name>-serving@serving`) is loaded through
MLflow's pyfunc, as `mlflow models serve` loads it, and answers with both versions by key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow.pyfunc
import pandas as pd
import pytest
from rollout import BAD, GOOD, LENIENT_GATE, QUIET, SHARE, STAGES, WEAK, stage_events
from test_retrain_support import URLS_ENV, aliases, notified, run, tags, use

from flows.monitor import monitor
from retrain_core.data.demo import day_start
from retrain_core.decide.stages import to_canary
from retrain_core.policy.loader import load_policy
from retrain_core.store import Store
from retrain_core.store.explain import as_text
from retrain_core.store.overview import policy_row
from retrain_core.store.views import view_for

if TYPE_CHECKING:
    from conftest import Project

EVENTS = ["staged", "promoted", "rejected", "rolled_back"]


def staged_challenger(
    project: Project, champion: dict[str, Any], challenger: dict[str, Any]
) -> dict[str, Any]:
    """v1 (`champion`) promoted at day 1; v2 (`challenger`) passes a lenient gate into its
    first stage at day 1."""
    use(project, champion, gate={"min": None}, triggers=QUIET)
    assert run(project, reason="bootstrap", now=day_start(1))["status"] == "promoted"
    use(project, challenger, gate=LENIENT_GATE, promotion={"stages": STAGES})
    return dict(run(project, reason="test trigger", now=day_start(1)))


def check(project: Project, day: int) -> dict[str, Any]:
    """Land the days up to `day` (labels a day late) and run the monitor at its midnight."""
    for landed in range(1, day):
        if not (project.root / "data/churn/batches" / f"day-{landed:02d}.parquet").exists():
            project.write_day(landed)
    return dict(monitor(str(project.policy_path), now=day_start(day), data_root=str(project.root)))


def test_a_better_challenger_goes_shadow_then_canary_then_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        project.edit(notify={"on": EVENTS, "urls_env": URLS_ENV})
        result = staged_challenger(project, WEAK, GOOD)
        assert result["status"] == "staged", result
        assert aliases(tracking_uri, project.name) == {"champion": "1", "challenger": "2"}
        assert tags(tracking_uri, project.name, "2")["retrain.stage"] == "shadow"

        check(project, 2)  # day 1 landed, not yet labelled: it waits
        assert aliases(tracking_uri, project.name) == {"champion": "1", "challenger": "2"}
        waiting = tags(tracking_uri, project.name, "2")
        assert "shadow of v2: waiting for 600 rows" in waiting["retrain.stage_evidence"]

        check(project, 3)  # day 1 labelled: 800 rows, both models on each
        assert aliases(tracking_uri, project.name) == {"champion": "1", "canary": "2"}
        shadowed = tags(tracking_uri, project.name, "2")
        assert shadowed["retrain.stage"] == "canary"
        assert "on 800 rows" in shadowed["retrain.decision_reasons"]

        row = policy_row(project.name, load_policy(project.policy_path), view_for(tracking_uri))
        assert row.stage is not None and row.stage.startswith("v2 in canary, 0 rows: ")
        explained = as_text(Store(tracking_uri).registry.explain(project.name, "2"))
        assert "  stage:     canary since " in explained and "(alias canary)" in explained

        rows = pd.read_parquet(project.root / "data/churn/batches/day-02.parquet")
        router = mlflow.pyfunc.load_model(f"models:/{project.name}-serving@serving")
        answer = router.predict(rows)
        assert list(answer.columns) == ["prediction", "version", "alias"]
        expected = ["2" if c else "1" for c in to_canary(rows["customer_id"], SHARE)]
        assert answer["version"].tolist() == expected
        assert 0.4 < (answer["version"] == "2").mean() < 0.6

        check(project, 5)  # day 3 labelled: each model judged on the keys it served
        assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
        promoted = tags(tracking_uri, project.name, "2")
        assert promoted["retrain.decision"] == "promoted"
        assert promoted["retrain.promoted_at"] == day_start(5).isoformat()  # probation's start
        done = policy_row(project.name, load_policy(project.policy_path), view_for(tracking_uri))
        assert (done.champion, done.stage) == ("v2", None)
        assert "canary of v2: not worse by more than 0.05" in promoted["retrain.decision_reasons"]

    assert stage_events(tracking_uri, project.name) == [
        ("2", "shadow", "entered"), ("2", "canary", "entered"), ("2", "canary", "promoted"),
    ]  # fmt: skip
    assert endpoint.events() == ["promoted", "staged", "staged", "promoted"]  # v1, then v2
    after = mlflow.pyfunc.load_model(f"models:/{project.name}-serving@serving")
    assert set(after.predict(rows)["version"]) == {"2"}  # no canary: the champion answers all


def test_a_worse_challenger_is_rejected_in_shadow_and_the_champion_keeps_serving(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        project.edit(notify={"on": EVENTS, "urls_env": URLS_ENV})
        assert staged_challenger(project, GOOD, BAD)["status"] == "staged"
        result = check(project, 3)

    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    assert "training" not in result, result
    rejected = tags(tracking_uri, project.name, "2")
    assert rejected["retrain.decision"] == "rejected"
    assert "shadow of v2: significantly worse: accuracy 0.2" in rejected["retrain.decision_reasons"]
    assert stage_events(tracking_uri, project.name) == [
        ("2", "shadow", "entered"), ("2", "shadow", "rejected"),
    ]  # fmt: skip
    assert endpoint.events() == ["promoted", "staged", "rejected"]  # v1, then v2


def test_a_first_version_is_promoted_at_once_with_nothing_to_try_it_beside(
    project: Project, tracking_uri: str
) -> None:
    use(project, GOOD, gate={"min": None}, triggers=QUIET, promotion={"stages": STAGES})
    assert run(project, reason="bootstrap", now=day_start(1))["status"] == "promoted"
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    assert stage_events(tracking_uri, project.name) == []


def test_a_crash_between_stages_leaves_the_champion_serving_and_the_next_check_completes_it(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrain_core.store.registry import Registry

    original = Registry._set_alias
    crash = {"on": False}

    def crash_on_canary(self: Registry, name: str, alias: str, version: str) -> None:
        if crash["on"] and alias == "canary":
            raise RuntimeError("injected crash before the canary alias moves")
        original(self, name, alias, version)

    monkeypatch.setattr(Registry, "_set_alias", crash_on_canary)
    project.edit(training={"retries": 0})
    assert staged_challenger(project, WEAK, GOOD)["status"] == "staged"
    crash["on"] = True
    for day in (1, 2):
        project.write_day(day)
    root = str(project.root)
    failed = monitor(str(project.policy_path), now=day_start(3), data_root=root, return_state=True)
    assert failed.is_failed(), failed
    assert aliases(tracking_uri, project.name) == {"champion": "1", "challenger": "2"}

    crash["on"] = False
    check(project, 4)
    assert aliases(tracking_uri, project.name) == {"champion": "1", "canary": "2"}
    completed = tags(tracking_uri, project.name, "2")
    assert "completing v2's interrupted move to canary" in completed["retrain.decision_reasons"]
