"""Everything retrain keeps in MLflow, behind one object built from one tracking URI.

`Store(uri)` owns one `MlflowClient` (tracking and registry on the same URI, no global MLflow
state) and hands out its parts: `ledger` (monitor runs, operator events, watermarks, quarantine,
the batches checks judged and the verdict keys of training data that passed validation),
`registry` (training runs, registered versions, aliases, lineage, approvals, reference
profiles), `history` (the ledger over time for the report, and the report's artifact) and
`trend` (the per-policy run whose metric history MLflow draws as lines). Every tag name and its
encoding is in `retrain_core.store.tags`. The flows build one store per run and hand it to their
tasks; nothing outside this package imports mlflow. MLflow is imported on first use (~2 s), so
importing this package is cheap (`retrain validate` never imports it).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from retrain_core.store.backend import Backend

if TYPE_CHECKING:
    from retrain_core.store.history import History
    from retrain_core.store.ledger import Ledger
    from retrain_core.store.registry import Registry
    from retrain_core.store.trend import Trend


class Store(Backend):
    """The MLflow tracking store and model registry at one URI, with its ledger and registry."""

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

    @cached_property
    def history(self) -> History:
        """The ledger over time, as the report reads it; the report's artifact."""
        from retrain_core.store.history import History

        return History(self)

    @cached_property
    def trend(self) -> Trend:
        """The policy's trend run: each check's signals at its step and moment."""
        from retrain_core.store.trend import Trend

        return Trend(self)


__all__ = ["Store"]
