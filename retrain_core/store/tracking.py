"""Where MLflow state lives: the tracking URI (embedded default) and how to show it.

Everything that reads or writes the store is `retrain_core.store.Store`.
"""

from __future__ import annotations

import os

from retrain_core.base.errors import Refusal
from retrain_core.base.reachable import answers
from retrain_core.base.settings import Settings

SQLITE = "sqlite:///"
# MLflow's HTTP client, bounded: its defaults (7 tries with backoff factor 2, 120 s per request)
# keep a call against a stopped server going for about 4 minutes. Three quick retries ride out a
# server restart (about 7 s); a down server fails the call in seconds. A value the user set wins.
HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


class StoreUnreachable(Refusal):
    """The MLflow tracking server does not answer."""


def bound_http_requests() -> None:
    """Bound every MLflow HTTP request of this process (`HTTP_BOUNDS`, unless set already)."""
    for name, value in HTTP_BOUNDS.items():
        os.environ.setdefault(name, value)


def unreachable(uri: str) -> StoreUnreachable | None:
    """Why the tracking server at `uri` cannot be used now, or None (it answers, or the store is
    not a server: SQLite and the like are opened by the run itself)."""
    if not uri.startswith(("http://", "https://")):
        return None
    why = answers(f"{uri.rstrip('/')}/health")
    if why is None:
        return None
    return StoreUnreachable(
        f"the MLflow tracking server {shown_uri(uri)} does not answer ({why}): start it, or set "
        "MLFLOW_TRACKING_URI to one that runs (unset: the embedded SQLite store under .retrain/)"
    )


def check_reachable(uri: str) -> None:
    """Raise `StoreUnreachable` when the tracking server at `uri` does not answer."""
    problem = unreachable(uri)
    if problem is not None:
        raise problem


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


def run_page(uri: str, experiment_id: str, run_id: str) -> str:
    """Where people find one MLflow run: its page on a tracking server (a web address), or, for
    a SQLite or file store (no page to open), the run and the store named in words."""
    if uri.startswith(("http://", "https://")):
        base = shown_uri(uri).rstrip("/")
        return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"run {run_id} in {shown_uri(uri)}"


LOCAL_UI = "http://127.0.0.1:5000"  # `mlflow ui --port 5000`, as `retrain demo` prints it


def ui_address(uri: str) -> str:
    """The MLflow UI that shows this store: the tracking server itself, or, for a SQLite or file
    store, a local `mlflow ui --backend-store-uri URI --port 5000` (`LOCAL_UI`)."""
    if uri.startswith(("http://", "https://")):
        return shown_uri(uri).rstrip("/")
    return LOCAL_UI


def metric_page(ui: str, experiment_id: str, run_id: str, keys: list[str]) -> str:
    """The MLflow UI's metric page drawing `keys` of one run as lines over its steps (one chart,
    with each key's latest, min and max below it). The query is the one MLflow 3's UI writes
    for it (`Routes.getMetricPageRoute`: `runs` first, each value JSON), percent-encoded."""
    import json
    from urllib.parse import quote

    def value(item: object) -> str:
        return quote(json.dumps(item, separators=(",", ":")), safe="")

    query = {
        "runs": value([run_id]),
        "metric": value(keys[0] if keys else ""),
        "experiments": value([experiment_id]),
        "plot_metric_keys": value(keys),
        "plot_layout": value({}),
        "x_axis": "step",
        "y_axis_scale": "linear",
        "line_smoothness": "1",
        "show_point": "true",
        "deselected_curves": value([]),
        "last_linear_y_axis_range": value([]),
    }
    return f"{ui.rstrip('/')}/#/metric?" + "&".join(f"{k}={v}" for k, v in query.items())
