"""One MLflow client on one tracking URI, the policies' experiments, and what every part shares.

`Backend` is what the store's parts (`Ledger`, `Registry`) need of the store; `Store` adds the
parts themselves, so no part imports the class that builds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.store.experiments import artifact_root, ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient


class Backend:
    """The MLflow tracking store and model registry at one URI."""

    def __init__(self, tracking_uri: str, artifacts: str | Path | None = None) -> None:
        from retrain_core.store.tracking import bound_http_requests

        bound_http_requests()  # before any client exists: every request of the store is bounded
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifacts) if artifacts else artifact_root(tracking_uri)
        self._experiments: dict[str, str] = {}

    def __repr__(self) -> str:
        from retrain_core.store.tracking import shown_uri

        return f"{type(self).__name__}({shown_uri(self.tracking_uri)!r})"

    @cached_property
    def client(self) -> MlflowClient:
        """The one MlflowClient of this store (created on first use)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """The policy's experiment, created on first use (artifacts beside a SQLite store)."""
        if name not in self._experiments:
            self._experiments[name] = ensure_experiment(self.client, name, self.artifact_root)
        return self._experiments[name]

    def run_page(self, name: str, run_id: str) -> str:
        """Where people open one run of the policy: a web address, or words for a local store."""
        from retrain_core.store.tracking import run_page

        return run_page(self.tracking_uri, self.experiment_id(name), run_id)

    def existing_experiment(self, name: str) -> str | None:
        """The policy's experiment id, or None before anything was recorded for it."""
        if name not in self._experiments:
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                return None
            self._experiments[name] = str(experiment.experiment_id)
        return self._experiments[name]


class Part:
    """A part of the store (ledger, registry): reads and writes through the store's client."""

    def __init__(self, store: Backend) -> None:
        self.store = store

    @property
    def client(self) -> MlflowClient:
        """The store's MlflowClient."""
        return self.store.client


@contextmanager
def finished(client: MlflowClient, run_id: str, moment: int) -> Iterator[None]:
    """FINISHED at `moment` when the block completes, else FAILED (the error goes on)."""
    try:
        yield
    except BaseException:
        with suppress(Exception):  # keep the original error when MLflow itself is down
            client.set_terminated(run_id, "FAILED", end_time=moment)
        raise
    client.set_terminated(run_id, "FINISHED", end_time=moment)


def quoted(text: str) -> str:
    """A value inside single quotes of an MLflow search filter."""
    return text.replace("'", "\\'")


def local_dir(artifact_uri: str) -> Path | None:
    """The folder of a run's artifacts on this machine, or None for a remote store."""
    import urllib.parse

    parts = urllib.parse.urlparse(artifact_uri)
    if parts.scheme not in ("file", ""):
        return None
    return Path(urllib.parse.unquote(parts.path))
