"""Probation on real MLflow and Prefect: a champion serving worse than its predecessor did is
rolled back by the monitor (alias, tag, ledger, notification); one serving as well keeps it.

Two versions are trained on the reference (day 0), promoted at day 1 and day 3, and serve the
clean days 1-4 of the demo stream: each has 1,600 labelled live rows to be judged on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from test_retrain_support import GOOD, URLS_ENV, WEAK, aliases, bootstrap, notified, run, tags, use

from flows.monitor import monitor, watch_rollout
from retrain_core.data.demo import day_start
from retrain_core.monitor import serving
from retrain_core.policy.loader import load_policy
from retrain_core.store import Store
from retrain_core.store.tags import PROMOTED_AT

if TYPE_CHECKING:
    from conftest import Project

EVENTS = ["promoted", "rejected", "rolled_back"]
# predicts churn for everyone: accuracy ~0.24 where the logistic regression has ~0.78
BAD = {"class": "sklearn.dummy.DummyClassifier", "params": {"strategy": "constant", "constant": 1}}


def two_champions(
    project: Project, uri: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """v1 (`first`) promoted at day 1, v2 (`second`) at day 3, then days 1-5 land."""
    bootstrap(project, first)
    use(project, second, gate={"min": None})
    outcome = run(project)["status"]
    registry = Store(uri).registry
    if outcome == "rejected":  # a worse model promoted anyway (by hand, or by a lenient gate)
        registry.promote(project.name, "2", now=day_start(3))
    for version, day in (("1", 1), ("2", 3)):
        registry.client.set_model_version_tag(
            project.name, version, PROMOTED_AT, day_start(day).isoformat()
        )
    for day in range(1, 6):
        project.write_day(day)
    project.edit(
        promotion={"probation": {"period": "7d"}}, notify={"on": EVENTS, "urls_env": URLS_ENV}
    )


def watch(project: Project, uri: str) -> bool:
    loaded = load_policy(project.policy_path)
    champion = serving.load_champion(Store(uri).registry, loaded.policy)
    now = day_start(5)
    _, serving_now = watch_rollout(Store(uri), loaded, str(project.root), champion, now, {})
    assert champion is not None and serving_now is not None
    return serving_now.version != champion.version  # rolled back


def test_a_worse_champion_on_probation_is_rolled_back(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        two_champions(project, tracking_uri, GOOD, BAD)
        assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
        result = monitor(str(project.policy_path), now=day_start(5), data_root=str(project.root))

    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    assert "training" not in result, result  # the check went on with v1, which serves well
    withdrawn = tags(tracking_uri, project.name, "2")
    assert withdrawn["retrain.decision"] == "rolled_back"
    assert "probation: v2 on 1600 live rows: accuracy=" in withdrawn["retrain.decision_reasons"]
    assert "significant" in withdrawn["retrain.decision_reasons"]
    client = Store(tracking_uri).registry.client
    experiment = client.get_experiment_by_name(project.name)
    (event,) = client.search_runs([experiment.experiment_id], "tags.`retrain.kind` = 'rollback'")
    assert event.data.tags["retrain.from_version"] == "2"
    assert event.data.tags["retrain.to_version"] == "1"
    assert "rolled back to v1" in event.data.tags["retrain.reasons"]
    (message,) = endpoint.messages("rolled_back")
    assert "rolled back to v1" in message["message"]


def test_a_champion_serving_as_well_keeps_the_alias(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        two_champions(project, tracking_uri, WEAK, GOOD)
        assert watch(project, tracking_uri) is False

    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
    assert "retrain.decision" in tags(tracking_uri, project.name, "2")
    assert tags(tracking_uri, project.name, "2")["retrain.decision"] == "promoted"
    assert endpoint.messages("rolled_back") == []
