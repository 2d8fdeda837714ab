"""Bad input and faults: production is never left worse off, and people hear about it.

Each test first gives the policy a champion (version 1), then breaks one thing: the training
data fails validation, the estimator cannot fit, MLflow goes away, the artifact store cannot be
written, or the process crashes between registering the challenger and moving the alias. The
champion must still serve. (Faults during a check: test_monitor_faults.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pandas as pd
import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from test_retrain_support import (
    GOOD,
    aliases,
    bootstrap,
    notified,
    rewrite_reference,
    run,
    tags,
    training_runs,
    use,
    versions,
)

from retrain_core.store import Store
from retrain_core.store.registry import Registry

if TYPE_CHECKING:
    # types only: with tests/e2e collected too, `conftest` may be that folder's module
    from conftest import Project

FAST_RETRIES = {"retries": 1, "retry_delay": "1s"}


def task_runs(state: Any) -> dict[str, Any]:
    """The task runs of the flow run that ended in `state`, by task name."""
    flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(str(state.state_details.flow_run_id))]))
    with get_client(sync_client=True) as client:
        found = client.read_task_runs(flow_run_filter=flow_run)
    return {run.name.rsplit("-", 1)[0]: run for run in found}


def champion_serves(uri: str, project: Project, version: str) -> None:
    """`version` holds the champion alias alone, and models:/name@champion loads and predicts."""
    registry = Store(uri).registry
    assert registry.aliases(project.name)["champion"] == version
    holders = [
        v for v in versions(uri, project.name)
        if "champion" in registry.client.get_model_version(project.name, v).aliases
    ]  # fmt: skip
    assert holders == [version]
    rows = pd.read_parquet(project.root / "data/churn/reference.parquet").head(20)
    assert len(registry.load_model(project.name, "champion").predict(rows)) == 20


def test_training_data_failing_validation_blocks_training(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        bootstrap(project, GOOD)

        def negative_charges(frame: pd.DataFrame) -> pd.DataFrame:
            frame.loc[frame.index[:50], "monthly_charges"] = -5.0
            return frame

        rewrite_reference(project, negative_charges)
        result = run(project)

    assert result["status"] == "blocked", result
    assert any("monthly_charges" in reason for reason in result["reasons"]), result
    assert len(training_runs(tracking_uri, project.name)) == 1  # the bootstrap's only
    assert versions(tracking_uri, project.name) == ["1"]
    champion_serves(tracking_uri, project, "1")
    assert endpoint.events() == ["retrained", "promoted", "blocked"]
    (message,) = endpoint.messages("blocked")
    assert message["title"] == f"[retrain] {project.name}: blocked"
    assert "monthly_charges" in message["message"]


def test_a_window_that_cannot_be_trained_is_a_failed_training_and_keeps_the_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        bootstrap(project, GOOD)
        rewrite_reference(project, lambda frame: frame.assign(churned=0))
        state = run(project, return_state=True)

    assert state.is_completed(), state  # a failed training is an outcome, not a failed run
    result = state.result()
    assert result["status"] == "failed", result
    assert "the training window has a single class (0)" in result["reasons"][0]
    assert task_runs(state)["train-challenger"].state.is_completed()
    assert versions(tracking_uri, project.name) == ["1"]
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    champion_serves(tracking_uri, project, "1")
    (message,) = endpoint.messages("failed")
    assert "TrainingError" not in message["message"]  # no internal names for people
    assert "single class (0)" in message["message"]


def test_mlflow_unreachable_fails_at_once_and_keeps_the_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        bootstrap(project, GOOD)
        use(project, GOOD, training=FAST_RETRIES)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")  # nothing listens
        state = run(project, return_state=True)  # MLflow's own retry settings: the defaults
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)

    assert state.is_failed(), state
    # the store is asked before any work: one line naming it, no task retried against it
    assert "127.0.0.1:1" in str(state.message) and "\n" not in str(state.message), state.message
    runs = task_runs(state)
    assert "train-challenger" not in runs and "move-champion-alias" not in runs
    assert versions(tracking_uri, project.name) == ["1"]
    assert len(training_runs(tracking_uri, project.name)) == 1
    champion_serves(tracking_uri, project, "1")
    (message,) = endpoint.messages("failed")
    assert "127.0.0.1:1" in message["message"]


def test_a_crash_before_the_alias_moves_leaves_the_old_champion_and_the_next_run_recovers(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Registry._set_alias
    crash = {"on": True}

    def crash_before_champion(self: Registry, name: str, alias: str, version: str) -> None:
        if crash["on"] and alias == "champion":
            raise RuntimeError("injected crash between registration and the alias move")
        original(self, name, alias, version)

    monkeypatch.setattr(Registry, "_set_alias", crash_before_champion)
    with notified(project, monkeypatch) as endpoint:
        crash["on"] = False
        bootstrap(project)  # weak champion, so the good challengers pass the gate
        use(project, GOOD, training=FAST_RETRIES)
        crash["on"] = True
        crashed = run(project, return_state=True)
        assert crashed.is_failed(), crashed
        assert "injected crash" in crashed.message
        assert task_runs(crashed)["move-champion-alias"].run_count == 2
        champion_serves(tracking_uri, project, "1")  # the old champion still serves
        interrupted = tags(tracking_uri, project.name, "2")
        assert interrupted["retrain.gate"] == "passed"
        assert "retrain.decision" not in interrupted

        crash["on"] = False
        result = run(project)

    assert result["status"] == "promoted", result
    assert result["version"] == "3"
    assert aliases(tracking_uri, project.name) == {"champion": "3", "previous": "1"}
    champion_serves(tracking_uri, project, "3")
    assert Store(tracking_uri).registry.unfinished(project.name) == []
    superseded = tags(tracking_uri, project.name, "2")
    assert superseded["retrain.decision"] == "rejected"
    assert "interrupted before its promotion finished" in superseded["retrain.decision_reasons"]
    assert Store(tracking_uri).registry.client.get_model_version(project.name, "2").aliases == []
    assert endpoint.events()[-4:] == ["retrained", "failed", "retrained", "promoted"]


def test_artifact_storage_failing_while_logging_the_model_moves_no_alias(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The experiment's artifact folder is replaced by a file: the model cannot be written."""
    from urllib.parse import urlparse

    with notified(project, monkeypatch) as endpoint:
        bootstrap(project, GOOD)
        use(project, GOOD, training=FAST_RETRIES)
        client = Store(tracking_uri).registry.client
        experiment = client.get_experiment_by_name(project.name)
        assert experiment is not None
        folder = Path(urlparse(experiment.artifact_location).path)
        kept = folder.with_name(folder.name + ".kept")
        folder.rename(kept)
        folder.write_text("not a folder: every artifact write fails")
        try:
            state = run(project, return_state=True)
        finally:
            folder.unlink()
            kept.rename(folder)

    assert state.is_failed(), state
    runs = task_runs(state)
    assert runs["log-training-run"].state.is_failed()
    assert runs["log-training-run"].run_count == 1 + FAST_RETRIES["retries"]
    assert "register-challenger" not in runs and "move-champion-alias" not in runs
    statuses = sorted(r.info.status for r in training_runs(tracking_uri, project.name))
    assert statuses == ["FAILED", "FAILED", "FINISHED"]  # each attempt marked failed
    assert versions(tracking_uri, project.name) == ["1"]
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    champion_serves(tracking_uri, project, "1")
    assert endpoint.events()[-1] == "failed"


def test_a_policy_edited_after_the_check_is_refused_by_name(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training gets the hash of the policy the check validated; another file trains nothing."""
    from retrain_core.policy.loader import load_policy

    checked = load_policy(project.policy_path).policy_hash
    project.edit(gate={"min": 0.99})  # edited between the check and its training
    with notified(project, monkeypatch) as endpoint:
        result = run(project, policy_hash=checked)

    assert result["status"] == "blocked", result
    (reason,) = result["reasons"]
    assert reason.startswith(f"policy {project.name} changed after the check"), reason
    assert f"checked {checked}, the file is now " in reason
    assert (
        versions(tracking_uri, project.name) == []
        and training_runs(tracking_uri, project.name) == []
    )
    (message,) = endpoint.messages("blocked")
    assert "changed after the check" in message["message"]


def test_a_failed_training_subflow_is_notified_once_by_its_hook(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training's on_failure hook tells people; the check it failed does not say it twice."""
    from test_monitor_support import at, check_state, fast

    import flows.retrain

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected: the training crashed")

    monkeypatch.setattr(flows.retrain, "train", broken)
    fast(project)
    project.write_day(1)
    with notified(project, monkeypatch) as endpoint:
        state = check_state(project, at(1))  # no champion yet: the check trains the first model

    assert state.is_failed(), state
    (message,) = endpoint.messages("failed")
    assert "RuntimeError: injected: the training crashed" in message["message"]
    assert "the monitor check failed" not in message["message"]
