"""`promotion.stages`: a challenger that passed the gate is tried on live labelled rows first.

Each stage is a one-key mapping, in the order the challenger meets them: `shadow` (it predicts
beside the champion, serving nothing: alias `challenger`) and `canary` (it serves a `share` of the
traffic, split by a stable hash of the `key` column: alias `canary`). A stage advances when the
challenger is significantly not worse than the champion (by more than `margin`, one-sided at
`confidence`; a negative `margin` asks for a challenger significantly better by that much) over
at least `min_rows` labelled rows, and rejects it when it is significantly worse or `max_period`
ends undecided. No stages: a passing challenger is promoted at once.
The decisions are `retrain_core.decide.stages`; no I/O here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from retrain_core.base.durations import PositiveDuration, at_most
from retrain_core.policy.base import Strict

STAGE_NAMES = ("shadow", "canary")  # the order a challenger meets them
PAIRED = ("accuracy", "log_loss", "rmse", "mae")  # metrics with a per-row test

if TYPE_CHECKING:
    StageMetric = str
else:
    StageMetric = Literal[PAIRED]


class Shadow(Strict):
    """The challenger predicts beside the champion (alias `challenger`), serving nothing."""

    min_rows: int = Field(
        2000, ge=10, description="Labelled rows neither model trained on needed to advance."
    )
    max_period: Annotated[PositiveDuration, at_most(timedelta(days=365))] = Field(
        "7d", validate_default=True, description="Rejected when still undecided after this."
    )
    metric: StageMetric | None = Field(
        None,
        description="Metric compared row by row (accuracy, log_loss, rmse, mae); default: the "
        "one probation compares.",
    )
    margin: float = Field(
        0.01, ge=-1, le=1,
        description="How much worse than the champion still counts as not worse; negative: the "
        "challenger must be better by at least that much (-0.02: 0.02 better).",
    )  # fmt: skip
    confidence: float = Field(
        0.95, gt=0.5, lt=1, description="One-sided confidence of 'not worse' and of 'worse'."
    )


class Canary(Shadow):
    """The challenger serves `share` of the rows (alias `canary`), split by a hash of `key`."""

    share: float = Field(0.1, gt=0, lt=1, description="Share of keys the canary answers.")
    key: str = Field(
        description="Column whose stable hash routes a row (the same key, the same model)."
    )


class Stage(Strict):
    """One stage: `{shadow: {...}}` or `{canary: {...}}`."""

    shadow: Shadow | None = Field(None, description="Predict beside the champion, serve nothing.")
    canary: Canary | None = Field(None, description="Serve a share of the traffic.")

    @model_validator(mode="after")
    def _one_stage(self) -> Stage:
        if (self.shadow is None) == (self.canary is None):
            raise ValueError("each stage is one of shadow: {...} or canary: {...}")
        return self

    @property
    def name(self) -> str:
        """shadow or canary."""
        return "shadow" if self.shadow is not None else "canary"

    @property
    def settings(self) -> Shadow:
        """The stage's settings (a `Canary` for a canary)."""
        found = self.shadow if self.shadow is not None else self.canary
        assert found is not None
        return found


def check_order(stages: list[Stage]) -> list[Stage]:
    """Each stage at most once, shadow before canary."""
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"each stage at most once (got {', '.join(names)})")
    if names != sorted(names, key=STAGE_NAMES.index):
        raise ValueError("shadow comes before canary")
    return stages
