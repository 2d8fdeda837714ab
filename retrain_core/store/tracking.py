"""Where MLflow state lives: the tracking URI (embedded default) and how to show it.

Everything that reads or writes the store is `retrain_core.store.Store`.
"""

from __future__ import annotations

import os

from retrain_core.base.settings import Settings

SQLITE = "sqlite:///"


def tracking_uri(settings: Settings) -> str:
    """`MLFLOW_TRACKING_URI` when set, else SQLite under the project's data directory."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"{SQLITE}{settings.data_path / 'mlflow.db'}"


def sqlite_path(uri: str) -> str | None:
    """The file of a SQLite tracking URI (the embedded default), else None."""
    return uri[len(SQLITE) :] if uri.startswith(SQLITE) else None


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
