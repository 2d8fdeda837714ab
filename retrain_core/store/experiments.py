"""Each policy's MLflow experiment, with its artifacts beside a SQLite store's file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.store.tags import CUSTOM_MODEL, EXPERIMENT_KIND
from retrain_core.store.tracking import sqlite_path

if TYPE_CHECKING:
    from mlflow import MlflowClient


def artifact_root(uri: str) -> Path | None:
    """Artifacts beside a SQLite store's file; None for a tracking server (it brings its own)."""
    path = sqlite_path(uri)
    return Path(path).parent / "artifacts" if path is not None else None


def ensure_experiment(client: MlflowClient, name: str, artifacts: Path | None = None) -> str:
    """The id of the experiment named after the policy, created on first use, of the kind the
    MLflow UI opens on its runs (one made before retrain set its kind gets it here)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if EXPERIMENT_KIND not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, CUSTOM_MODEL)
        return str(experiment.experiment_id)
    location = (artifacts / name).as_uri() if artifacts is not None else None
    kind = {EXPERIMENT_KIND: CUSTOM_MODEL}
    try:
        return str(client.create_experiment(name, artifact_location=location, tags=kind))
    except Exception:
        # Another worker created it between our lookup and create: use theirs.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)
