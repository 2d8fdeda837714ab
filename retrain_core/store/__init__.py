"""Everything retrain keeps in MLflow, behind one object built from one tracking URI.

`Store(uri)` owns one `MlflowClient` (tracking and registry on the same URI, no global MLflow
state) and hands out its parts: `ledger` (monitor runs, operator events, watermarks, quarantine,
the batches checks judged and the verdict keys of training data that passed validation)
and `registry` (training runs, registered versions, aliases, lineage, approvals, reference
profiles). The flows build one store per run and hand it to their tasks; nothing outside this
package imports mlflow. MLflow is imported on first use (~2 s), so importing this package is
cheap (`retrain validate` never imports it).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.store.experiments import artifact_root, ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from retrain_core.store.ledger import Ledger
    from retrain_core.store.registry import Registry


class Store:
    """The MLflow tracking store and model registry at one URI."""

    def __init__(self, tracking_uri: str, artifacts: str | Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifacts) if artifacts else artifact_root(tracking_uri)
        self._experiments: dict[str, str] = {}

    def __repr__(self) -> str:
        from retrain_core.store.tracking import shown_uri

        return f"Store({shown_uri(self.tracking_uri)!r})"

    @cached_property
    def client(self) -> MlflowClient:
        """The one MlflowClient of this store (created on first use)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @cached_property
    def registry(self) -> Registry:
        """Training runs, registered versions, aliases, lineage, approvals."""
        from retrain_core.store.registry import Registry

        return Registry(self)

    @cached_property
    def ledger(self) -> Ledger:
        """Monitor runs, operator events, watermarks and quarantined batches."""
        from retrain_core.store.ledger import Ledger

        return Ledger(self)

    def experiment_id(self, name: str) -> str:
        """The policy's experiment, created on first use (artifacts beside a SQLite store)."""
        if name not in self._experiments:
            self._experiments[name] = ensure_experiment(self.client, name, self.artifact_root)
        return self._experiments[name]

    def existing_experiment(self, name: str) -> str | None:
        """The policy's experiment id, or None before anything was recorded for it."""
        if name not in self._experiments:
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                return None
            self._experiments[name] = str(experiment.experiment_id)
        return self._experiments[name]


__all__ = ["Store"]
