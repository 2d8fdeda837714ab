"""Shared helpers for the monitor flow tests (this module holds no tests).

Everything is real: the session's Prefect API (conftest `prefect_api`), a fresh MLflow SQLite store
per test (conftest `tracking_uri`), great-expectations and alibi-detect. The helpers only read
back what the monitor wrote: the ledger runs, the registered versions and the Prefect artifact.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conftest import Project
from mlflow import MlflowClient

from flows.monitor import monitor
from retrain_core.data.demo import day_start
from retrain_core.runtime.publish import summary_of
from retrain_core.store import Store

# A quick estimator: the monitor tests judge decisions, not model quality.
FAST = {"class": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 200}}
SHIFTED = ["tenure", "monthly_charges", "total_charges", "support_calls"]
UNSHIFTED = ["contract", "payment_method"]
BOUND = 1.5 / 1024  # the binned KS statistic's distance to the exact one


def fast(project: Project, **triggers: Any) -> None:
    """Use the quick estimator and one-second retries; override trigger settings."""
    policy_model = {"estimator": FAST}
    project.edit(model=policy_model, training={"retries": 1, "retry_delay": "1s"})
    if triggers:
        project.edit(triggers=triggers)


def at(day: int, hours: float = 1.0) -> datetime:
    """The moment of a check: `hours` after midnight of a stream day."""
    return day_start(day) + timedelta(hours=hours)


def check(project: Project, now: datetime, **kwargs: Any) -> dict[str, Any]:
    """Run one monitor cycle as of `now` and return its summary (as `retrain run` reads it)."""
    state = monitor(
        str(project.policy_path), now=now, data_root=str(project.root), return_state=True, **kwargs
    )
    return summary_of(state)


def check_state(project: Project, now: datetime) -> Any:
    """Run one monitor cycle and return the flow run's final state (it may have failed)."""
    return monitor(
        str(project.policy_path), now=now, data_root=str(project.root), return_state=True
    )


def drifted_features(reason: str) -> set[str]:
    """The features a reason names: "drift.share: 3 of 6 features drifted (a, b, c): share ..."."""
    assert reason.startswith("drift.share: "), reason
    return set(reason.split("(", 1)[1].split(")", 1)[0].split(", "))


def ledger(uri: str, name: str, finished_only: bool = True) -> list[Any]:
    """The monitor runs of a policy's experiment, oldest check first."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return []
    status = " and attributes.status = 'FINISHED'" if finished_only else ""
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`retrain.kind` = 'monitor'{status}"
    )
    return sorted(runs, key=lambda r: r.data.tags["retrain.checked_at"])


def versions(uri: str, name: str) -> list[str]:
    """Every registered version of the policy's model."""
    found = MlflowClient(uri).search_model_versions(f"name = '{name}'")
    return sorted(str(v.version) for v in found)


def champion(uri: str, name: str) -> str | None:
    """The version holding the champion alias, or None."""
    version = Store(uri).registry.champion(name, "champion")
    return None if version is None else str(version.version)


def decision_artifact(name: str) -> Any:
    """The newest `retrain-decision-<name>` artifact, read back through Prefect's API."""
    from prefect.artifacts import Artifact

    artifact = Artifact.get(f"retrain-decision-{name}")
    assert artifact is not None, f"no artifact retrain-decision-{name}"
    assert artifact.type == "markdown"
    return artifact


def profiled_twins(
    project: Project, story: Any, current: dict[str, Any]
) -> tuple[Project, Project]:
    """The project's policy on `current` (a wide window), without late labels, judged by drift
    and volume; and its twin with `profiles: rows` (the whole window read at every check)."""
    import yaml

    fast(project)
    project.edit(
        data={"current": current, "labels": None, "drift_reference": "reference"},
        triggers={"any": [{"drift": {"method": "ks", "p_value": 0.01, "min_effect": 0.1,
                                     "min_share": 0.3}},
                          {"volume": {"increase_pct": 1000}}]},
    )  # fmt: skip
    project = Project(project.root, project.policy_path, story, project.name)
    policy = yaml.safe_load(project.policy_path.read_text())
    policy["name"] = project.name[:40] + "-rows"
    policy["data"]["current"]["profiles"] = "rows"
    twin_path = project.root / "rows.yaml"
    twin_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return project, Project(project.root, twin_path, story, policy["name"])


def ks_outcomes(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A check's per-feature KS drift outcomes by check name."""
    return {o["check"]: o for o in summary["outcomes"] if o["check"].startswith("drift.ks.")}
