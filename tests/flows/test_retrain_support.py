"""Shared helpers for the train-validate-promote flow tests (this module holds no tests).

`Endpoint` is the only stand-in: a local HTTP server receiving the apprise `json://` posts the
flow sends, so the tests read the notifications people would get. Everything else is real: the
session's Prefect API (conftest `prefect_api`), a fresh MLflow SQLite store per test (conftest
`tracking_uri`) and the demo stream's reference data (conftest `project`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from notify_endpoint import Endpoint, serving
from rollout import GOOD, WEAK

from flows.retrain import train_validate_promote
from retrain_core.store import Store

if TYPE_CHECKING:
    # types only: with tests/e2e collected too, `conftest` may be that folder's module
    from conftest import Project

URLS_ENV = "RETRAIN_TEST_NOTIFY_URLS"
__all__ = ["GOOD", "WEAK"]  # the estimators most flows tests train (defined in tests/rollout.py)
EVENTS = ["retrained", "promoted", "rejected", "failed", "blocked"]
REFERENCE = "data/churn/reference.parquet"


@contextmanager
def notified(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    """A local endpoint that the project's policy notifies on every event (URLs in the env)."""
    with serving() as endpoint:
        monkeypatch.setenv(URLS_ENV, endpoint.url)
        project.edit(notify={"on": EVENTS, "urls_env": URLS_ENV})
        yield endpoint


def use(project: Project, estimator: dict[str, Any], **sections: Any) -> None:
    """Train `estimator` from now on, with other policy sections changed as given."""
    project.edit(model={"estimator": estimator}, **sections)


def run(
    project: Project, reason: str = "test trigger", monitor_run_id: str = "", **options: Any
) -> Any:
    """One train-validate-promote run on the project's data (options: e.g. return_state)."""
    return train_validate_promote(
        str(project.policy_path),
        reason=reason,
        monitor_run_id=monitor_run_id,
        data_root=str(project.root),
        **options,
    )


def bootstrap(project: Project, estimator: dict[str, Any] = WEAK) -> dict[str, Any]:
    """A first champion (version 1); the gate has no floor so even a weak model bootstraps."""
    use(project, estimator, gate={"min": None})
    result = run(project, reason="bootstrap")
    assert result["status"] == "promoted", result
    return result


def aliases(uri: str, name: str) -> dict[str, str]:
    """The registered model's alias -> version map."""
    return Store(uri).registry.aliases(name)


def versions(uri: str, name: str) -> list[str]:
    """Every registered version of `name`, in order."""
    found = Store(uri).registry.client.search_model_versions(f"name='{name}'")
    return sorted((str(v.version) for v in found), key=int)


def tags(uri: str, name: str, version: str) -> dict[str, str]:
    """A registered version's tags."""
    return dict(Store(uri).registry.client.get_model_version(name, version).tags)


def training_runs(uri: str, name: str) -> list[Any]:
    """The training runs logged in the policy's experiment (none when it does not exist)."""
    client = Store(uri).registry.client
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], "tags.`retrain.kind` = 'train'")


def rewrite_reference(project: Project, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Apply `change` to the project's reference data (the training rows) and save it."""
    path = project.root / REFERENCE
    change(pd.read_parquet(path)).to_parquet(path, index=False)
