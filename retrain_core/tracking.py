"""Where MLflow state lives: the tracking URI and each policy's experiment (embedded defaults)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

from retrain_core.settings import Settings


def tracking_uri(settings: Settings) -> str:
    """`MLFLOW_TRACKING_URI` when set, else SQLite under the project's data directory."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{settings.data_path / 'mlflow.db'}"


def shown_uri(uri: str) -> str:
    """The tracking URI for people to read: any password in it replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def artifact_root(uri: str) -> Path | None:
    """Artifacts beside a SQLite store's file; None for a tracking server (it brings its own)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return Path(uri[len(prefix) :]).parent / "artifacts"


def ensure_experiment(client: MlflowClient, name: str, artifacts: Path | None = None) -> str:
    """The id of the experiment named after the policy, created on first use."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = (artifacts / name).as_uri() if artifacts is not None else None
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except Exception:
        # Another worker created it between our lookup and create: use theirs.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)
