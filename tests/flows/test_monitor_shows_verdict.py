"""What a check shows in the Prefect UI: its verdict as the state's name and a tag, its decision
as a markdown and a table artifact in people's units, the fleet artifact, and its log lines."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import Project
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler

from flows.monitor import monitor
from retrain_core.decide.report import artifact_key
from retrain_core.runtime.publish import FLEET_KEY


def check(project: Project, day: int, hours: int = 0) -> Any:
    from retrain_core.data.demo import day_start

    now = day_start(day) + timedelta(hours=hours)
    return monitor(str(project.policy_path), now=now, data_root=str(project.root),
                   return_state=True)  # fmt: skip


def latest(client: Any, key: str) -> Any:
    found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return max(found, key=lambda a: a.created)


def test_a_check_s_state_tags_artifacts_and_logs_say_its_verdict(
    project: Project, tracking_uri: str
) -> None:
    project.write_day(1)
    first = check(project, 1)
    assert first.is_completed() and first.name == "Retrained", first
    assert "no champion yet: training the first model" in (first.message or "")
    assert first.result()["training"]["status"] == "promoted"
    project.write_day(2)
    second = check(project, 2, hours=1)
    assert second.is_completed() and second.name == "Held", second

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(second.state_details.flow_run_id)
        assert run.state_name == "Held"
        assert {"retrain", f"policy:{project.name}", "verdict:hold"} <= set(run.tags), run.tags
        first_run = client.read_flow_run(first.state_details.flow_run_id)
        assert "verdict:retrain" in first_run.tags and "verdict:hold" not in first_run.tags

        markdown = latest(client, artifact_key(project.name))
        assert markdown.flow_run_id == run.id
        # the first check's artifact: a duration in days, no champion, a link that is text
        (earlier,) = [
            a for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[markdown.key]))
            ) if a.flow_run_id == first_run.id
        ]  # fmt: skip
        text = str(earlier.data)
        assert "| `max_age.champion` | **FAIL** |  | 90d | no champion yet |" in text, text
        assert "e+0" not in text and "[MLflow run](sqlite" not in text
        assert f"MLflow run: `run {first.result()['monitor_run_id']} in sqlite:///" in text

        table = json.loads(latest(client, artifact_key(project.name, "checks")).data)
        assert {"check", "status", "observed", "threshold", "reason"} == set(table[0])
        [age] = [row for row in table if row["check"] == "max_age.champion"]
        assert age["threshold"] == "90d" and age["observed"] == "1d 1h", age

        fleet = json.loads(latest(client, FLEET_KEY).data)
        [row] = [r for r in fleet if r["policy"] == project.name]
        assert row["champion"] == "v1" and row["last verdict"] == "hold", row
        assert row["age"] == "1d 1h" and row["quarantined"] == "0" and row["next action"]

        APILogHandler().flush()  # the run's log lines are sent in the background
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert any(f"{project.name}: hold (no trigger fired)" in log.message for log in logs), logs

    # MLflow: the version's page says why it exists; the policy's experiment opens on its runs
    from mlflow import MlflowClient

    from retrain_core.store import Store
    from retrain_core.store.explain import as_markdown

    mlflow = MlflowClient(tracking_uri)
    described = mlflow.get_model_version(project.name, "1").description
    assert described == as_markdown(Store(tracking_uri).registry.explain(project.name, "1"))
    assert f"**{project.name} v1 (aliases: champion)" in described
    assert "- **decision**: promoted" in described and "- **gate**: passed: " in described
    assert "- **trigger**: no champion yet: training the first model" in described
    assert first.result()["monitor_run_id"] in described
    experiment = mlflow.get_experiment_by_name(project.name)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
