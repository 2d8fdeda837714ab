"""The model serving now (the champion), as the checks and the gate see it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrain_core.kinds.context import Champion
from retrain_core.policy.schema import Policy
from retrain_core.store.registry import serving_since, trained_until

if TYPE_CHECKING:
    from retrain_core.store.registry import Registry


def load_champion(registry: Registry, policy: Policy) -> Champion | None:
    """The serving model with its holdout metrics, or None before the first promotion."""
    version = registry.champion(policy.name, policy.promotion.alias)
    if version is None:
        return None
    metrics: dict[str, float] = {}
    holdout_rows = 0
    if version.run_id:
        run_metrics, params = registry.run_data(version.run_id)
        prefix = "holdout_"
        metrics = {k[len(prefix) :]: v for k, v in run_metrics.items() if k.startswith(prefix)}
        holdout_rows = int(params.get("rows.holdout", 0))
    created = serving_since(version)
    model = registry.load_model(policy.name, str(version.version))  # the version read above
    return Champion(
        str(version.version), created, metrics, model,
        trained_until=trained_until(version), holdout_rows=holdout_rows, run_id=version.run_id,
    )  # fmt: skip
