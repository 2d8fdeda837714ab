"""train-validate-promote on a real MLflow store: bootstrap, better and worse challengers, rollback.

The challenger's quality is made deterministic by the estimator: a DummyClassifier (roc_auc 0.5)
against a LogisticRegression (roc_auc ~0.81) on the seeded demo reference data. Every run splits
the same rows the same way, so the champion is scored on the challenger's holdout, which is also
the holdout the champion's own training run was scored on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from test_retrain_support import (
    GOOD,
    REFERENCE,
    WEAK,
    aliases,
    bootstrap,
    notified,
    run,
    tags,
    training_runs,
    use,
    versions,
)

from retrain_core.policy.loader import load_policy
from retrain_core.store import Store
from retrain_core.store.registry import RegistryError

if TYPE_CHECKING:
    # types only: with tests/e2e collected too, `conftest` may be that folder's module
    from conftest import Project


def test_bootstrap_registers_and_promotes_the_first_model_with_its_lineage(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Store(tracking_uri).registry
    monitor_run = registry.client.create_run(
        registry.experiment_id(project.name), tags={"retrain.kind": "monitor"}
    ).info.run_id
    with notified(project, monkeypatch) as endpoint:
        use(project, GOOD)
        reason = "drift on tenure: p=0.001 < 0.01"
        now = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)  # the flow's logical time, not the wall's
        result = run(project, reason=reason, monitor_run_id=monitor_run, now=now)

    assert result["status"] == "promoted", result
    assert result["version"] == "1"
    assert result["champion_score"] is None
    assert result["reasons"][0].startswith("no champion yet: roc_auc "), result["reasons"]
    assert aliases(tracking_uri, project.name) == {"champion": "1"}

    stamps = pd.to_datetime(pd.read_parquet(project.root / REFERENCE)["event_time"])
    version = tags(tracking_uri, project.name, "1")
    assert version["retrain.trigger"] == reason
    assert version["retrain.monitor_run_id"] == monitor_run
    assert version["retrain.policy_hash"] == load_policy(project.policy_path).policy_hash
    assert version["retrain.window_start"] == stamps.min().isoformat()
    assert version["retrain.window_end"] == stamps.max().isoformat()
    assert version["retrain.gate"] == "passed"
    assert version["retrain.gate_metric"] == "roc_auc"
    assert version["retrain.gate_reasons"] == result["reasons"][0]
    assert float(version["retrain.challenger_score"]) == pytest.approx(result["challenger_score"])
    assert version["retrain.decision"] == "promoted"
    assert version["retrain.training_run_id"] == result["training_run_id"]
    stamp = now.isoformat()
    assert [version[f"retrain.{k}"] for k in ("registered_at", "decided_at", "promoted_at")] == [
        stamp,
        stamp,
        stamp,
    ]

    (training,) = training_runs(tracking_uri, project.name)
    assert training.info.run_id == result["training_run_id"]
    assert training.data.tags["retrain.monitor_run_id"] == monitor_run
    assert training.info.start_time == training.info.end_time == int(now.timestamp() * 1000)
    assert training.data.metrics["holdout_roc_auc"] == pytest.approx(result["challenger_score"])
    profile = registry.load_profile(training.info.run_id)  # the version's drift reference profile
    assert profile is not None and set(profile.categorical) == {"contract", "payment_method"}
    assert endpoint.events() == ["retrained", "promoted"]
    champion = registry.load_model(project.name, "champion")
    assert len(champion.predict(pd.read_parquet(project.root / REFERENCE).head(5))) == 5


def test_promoted_notification_names_the_model_version_and_reasons(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        bootstrap(project, WEAK)
        use(project, GOOD)
        result = run(project)

    assert result["status"] == "promoted"
    (message,) = [m for m in endpoint.messages("promoted") if " v2:" in m["title"]]
    assert message["title"] == f"[retrain] {project.name} v2: promoted"
    body = message["message"]
    assert f"**Model {project.name}** version 2" in body
    assert "Decision: promoted" in body
    reason, compared = result["reasons"]
    assert reason.startswith("roc_auc 0.8") and "vs champion 0.5: +0.3" in reason, reason
    assert "holdout rows" in compared and "compared on" in compared, compared
    assert f"- {reason}" in body
    assert result["training_run_id"] in body  # the link to the MLflow training run


def test_better_challenger_takes_champion_and_old_one_becomes_previous(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        first = bootstrap(project, WEAK)
        use(project, GOOD)
        second = run(project)

    assert second["status"] == "promoted", second
    assert second["version"] == "2"
    assert second["champion_score"] == pytest.approx(first["challenger_score"])  # same holdout
    assert second["challenger_score"] > second["champion_score"]
    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
    assert tags(tracking_uri, project.name, "2")["retrain.decision"] == "promoted"
    assert "retrain.promoted_at" in tags(tracking_uri, project.name, "2")
    assert endpoint.events() == ["retrained", "promoted", "retrained", "promoted"]


def test_worse_challenger_is_registered_without_alias_and_tagged_rejected(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        first = bootstrap(project, GOOD)
        use(project, WEAK, gate={"min": 0.7})
        second = run(project)

    assert second["status"] == "rejected", second
    assert versions(tracking_uri, project.name) == ["1", "2"]
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    # the champion was scored on the challenger's holdout: the one its own run was scored on
    champion_run = Store(tracking_uri).registry.client.get_run(first["training_run_id"])
    assert second["champion_score"] == pytest.approx(champion_run.data.metrics["holdout_roc_auc"])
    assert second["challenger_score"] == pytest.approx(0.5)
    rejected = tags(tracking_uri, project.name, "2")
    assert rejected["retrain.gate"] == "failed"
    assert rejected["retrain.decision"] == "rejected"
    reasons = rejected["retrain.decision_reasons"]
    assert "roc_auc 0.5 < min 0.7" in reasons
    assert f"roc_auc 0.5 vs champion {round(second['champion_score'], 3)}: -0.3" in reasons
    assert reasons == "; ".join(second["reasons"])
    (message,) = endpoint.messages("rejected")
    assert f"**Model {project.name}** version 2" in message["message"]
    assert "roc_auc 0.5 < min 0.7" in message["message"]


def test_rollback_moves_champion_back_to_previous(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch):
        bootstrap(project, WEAK)
        use(project, GOOD)
        assert run(project)["status"] == "promoted"
    registry = Store(tracking_uri).registry
    assert registry.aliases(project.name) == {"champion": "2", "previous": "1"}

    result = registry.rollback(project.name, now=datetime(2026, 2, 1, tzinfo=UTC))

    assert (result.from_version, result.to_version) == ("2", "1")
    assert registry.aliases(project.name) == {"champion": "1"}
    withdrawn = tags(tracking_uri, project.name, "2")
    assert withdrawn["retrain.decision"] == "rolled_back"
    assert "champion rolled back to 1" in withdrawn["retrain.decision_reasons"]
    dummy = registry.load_model(project.name, "champion")  # version 1 serves again
    assert dummy.named_steps["estimator"].__class__.__name__ == "DummyClassifier"
    with pytest.raises(RegistryError, match="no 'previous' version"):
        registry.rollback(project.name, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert registry.aliases(project.name) == {"champion": "1"}
