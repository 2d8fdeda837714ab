"""The `triggers` section: which signals call for a retrain, and what holds a retrain back."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from retrain_core.policy.base import MetricName, Strict
from retrain_core.policy.durations import Duration, PositiveDuration


class DriftTrigger(Strict):
    """Distribution drift between the reference and the current window (alibi-detect)."""

    method: Literal["ks", "cvm", "chi2", "tabular", "psi"] = Field(
        "ks",
        description="Test: ks (Kolmogorov-Smirnov) or cvm (Cramer-von Mises) for numeric features "
        "with chi-square for categorical ones; tabular (alibi-detect TabularDrift, KS and "
        "chi-square); psi (Population Stability Index, no p-value).",
    )
    p_value: float = Field(
        0.05, gt=0, lt=1, description="Significance level before the multiple-testing correction."
    )
    correction: Literal["bonferroni", "fdr", "none"] = Field(
        "bonferroni",
        description="Multiple-testing correction across features: bonferroni, fdr "
        "(Benjamini-Hochberg) or none.",
    )
    min_effect: float = Field(
        0.1,
        ge=0,
        description="Smallest effect that counts as drift: the KS statistic D for numeric "
        "features, Cramer's V for categorical ones, the PSI value for method psi. A feature "
        "drifts only when it is significant AND its effect reaches this value.",
    )
    min_share: float = Field(
        0.2, gt=0, le=1, description="Fire when this share of the monitored features drifted."
    )
    features: list[str] | None = Field(
        None, description="Monitor only these features (default: every feature of the model)."
    )
    time_like: Literal["exclude", "keep"] = Field(
        "exclude",
        description="Numeric features that only move one way in time in the reference (dates, "
        "counters) drift on every check against any past data: exclude (default) reports and "
        "skips them; keep tests them anyway.",
    )


class PerformanceTrigger(Strict):
    """The champion's measured performance on the labelled rows of the current window."""

    metric: MetricName = Field(description="Metric to measure, e.g. roc_auc, accuracy, rmse.")
    below: float | None = Field(
        None, description="Fire when a higher-is-better metric falls below this value."
    )
    above: float | None = Field(
        None, description="Fire when a lower-is-better metric (rmse, mae, log_loss) rises above."
    )
    drop: float | None = Field(
        None,
        gt=0,
        description="Fire when the metric is worse than on the champion's holdout by this much "
        "(absolute difference).",
    )
    min_rows: int = Field(
        50, ge=1, description="Fewer labelled rows than this make the check an error, not a signal."
    )
    baseline: Literal["live", "holdout"] = Field(
        "live",
        description="What `drop` is measured from: live (the champion's metric on every "
        "labelled row it served and was not trained on, before this check; its holdout score "
        "until there are `baseline_rows` of them) or holdout (its score on its own training "
        "holdout).",
    )
    baseline_rows: int = Field(
        500,
        ge=1,
        description="Labelled live rows needed before the live level counts in the baseline.",
    )
    confidence: float | None = Field(
        0.99,
        gt=0,
        lt=1,
        description="A fall of at least `drop` fires only when it is significant at this "
        "confidence for the sample sizes (one-sided two-proportion z-test for accuracy, bootstrap "
        "otherwise) and, once the champion has served 8 stretches of live rows as large as the "
        "new one, for its usual swing between them (Student-t prediction interval); null "
        "compares the point values.",
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> PerformanceTrigger:
        if self.below is None and self.above is None and self.drop is None:
            raise ValueError("set at least one of below, above or drop")
        return self


class EstimatedPerformanceTrigger(Strict):
    """Performance estimated from predicted probabilities while labels have not arrived (CBPE)."""

    metric: Literal["accuracy", "roc_auc"] = Field(
        "accuracy", description="Metric to estimate from a calibrated classifier's probabilities."
    )
    drop: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Fire when the estimate on the current window is this much below the same "
        "estimate on the reference window.",
    )


class VolumeTrigger(Strict):
    """Row count of the current window against the reference or the previous window."""

    compare_to: Literal["reference", "previous"] = Field(
        "previous", description="Baseline row count: the reference window or the previous check."
    )
    increase_pct: float | None = Field(
        None, gt=0, description="Fire when the row count grew by at least this percentage."
    )
    decrease_pct: float | None = Field(
        None, gt=0, le=100, description="Fire when the row count fell by at least this percentage."
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> VolumeTrigger:
        if self.increase_pct is None and self.decrease_pct is None:
            raise ValueError("set increase_pct, decrease_pct or both")
        return self


class FreshnessTrigger(Strict):
    """Age of the newest row (needs `data.timestamp`)."""

    max_delay: PositiveDuration = Field(description="Fire when the newest row is older than this.")


class NewDataTrigger(Strict):
    """New rows since the last check (the watermark in the ledger)."""

    min_rows: int = Field(1, ge=1, description="Fire when at least this many new rows arrived.")


class Trigger(Strict):
    """One signal: exactly one of the keys below."""

    drift: DriftTrigger | None = Field(None, description="Feature drift (alibi-detect).")
    performance: PerformanceTrigger | None = Field(
        None, description="Measured performance on labelled rows."
    )
    estimated_performance: EstimatedPerformanceTrigger | None = Field(
        None, description="Estimated performance where labels are late."
    )
    volume: VolumeTrigger | None = Field(None, description="Row count change.")
    freshness: FreshnessTrigger | None = Field(None, description="Stale data.")
    new_data: NewDataTrigger | None = Field(None, description="New rows since the last check.")
    max_age: PositiveDuration | None = Field(
        None, description="Fire when the champion is older than this (e.g. 30d)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        kinds = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "a trigger has exactly one of drift, performance, estimated_performance, "
                f"volume, freshness, new_data, max_age (got {', '.join(kinds) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        """The trigger's key, e.g. "drift"."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def rule_id(self) -> str:
        """The check whose FAIL means this trigger fired, e.g. drift.share (its ledger id too)."""
        if self.performance is not None:
            return f"performance.{self.performance.metric}"
        if self.estimated_performance is not None:
            return f"estimated_performance.{self.estimated_performance.metric}"
        return _RULE_IDS[self.kind]


_RULE_IDS = {
    "drift": "drift.share",
    "volume": "volume.rows",
    "freshness": "freshness.newest",
    "new_data": "new_data.rows",
    "max_age": "max_age.champion",
}


class Budget(Strict):
    """At most `max` retrains in any sliding window of length `per`."""

    max: int = Field(ge=1, description="Most retrains allowed in the window.")
    per: PositiveDuration = Field(description="Length of the sliding window, e.g. 7d.")


class Triggers(Strict):
    """How signals combine into a retrain, and what suppresses one."""

    any: list[Trigger] | None = Field(None, description="Retrain when any of these fires.")
    all: list[Trigger] | None = Field(None, description="Retrain only when all of these fire.")
    cooldown: Duration | None = Field(
        None, description="No retrain within this long after the last one (e.g. 24h)."
    )
    consecutive: int = Field(
        1, ge=1, description="A signal must hold on this many checks in a row before it counts."
    )
    budget: Budget | None = Field(None, description="Cap on retrains per sliding window.")
    await_labels: int = Field(
        200,
        ge=0,
        description="When only label-blind signals fire (drift, estimated_performance, volume, "
        "freshness) and the policy has late labels, the retrain waits (pending) until this many "
        "labelled rows from after the change exist, then trains: a model trained before then "
        "has not seen the change. 0 trains at once.",
    )
    confirm_with_labels: bool = Field(
        True,
        description="When the awaited labels arrive and the policy measures performance, train "
        "only if the champion measures worse than its baseline on them (a fall of any size, not "
        "just `drop`, but significant at the performance rule's `confidence`, for the sample "
        "size and the champion's usual swing between batches); otherwise the pending retrain is "
        "dismissed: the inputs moved, the model copes. false trains whenever the labels arrive.",
    )

    @model_validator(mode="after")
    def _any_or_all(self) -> Triggers:
        if (self.any is None) == (self.all is None):
            raise ValueError("set exactly one of any or all")
        if not (self.any or self.all):
            raise ValueError("list at least one trigger")
        ids = [rule.rule_id for rule in self.rules]
        repeated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if repeated:
            raise ValueError(
                f"two triggers watch the same signal ({', '.join(repeated)}): keep one of them"
            )
        return self

    @property
    def combine(self) -> Literal["any", "all"]:
        """Either "any" or "all"."""
        return "any" if self.any is not None else "all"

    @property
    def rules(self) -> list[Trigger]:
        """The listed triggers, whichever way they combine."""
        return list(self.any or self.all or [])

    @property
    def cooldown_or_zero(self) -> timedelta:
        """The cooldown, zero when none is set."""
        return self.cooldown or timedelta(0)
