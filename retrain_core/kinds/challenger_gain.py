"""The `challenger_gain` trigger: would a model trained now serve better than the champion?

Shadow evaluation. Each check fits a shadow challenger with the policy's own estimator on the
newest labelled rows (the champion's training rows, the live rows it served and the rows whose
labels just arrived, within `training.window`, the newest `sample` of them) and judges it beside
the champion on the newest share of the rows whose labels arrived since the last check, which
neither model was trained on. A paired test (`checks.paired`: McNemar's exact test for accuracy,
a paired t-test on per-row losses otherwise) says whether the challenger's gain is more than
chance; the rule fires when it is significant at `confidence` and at least `min_gain`.

It reads labels (`reads_labels`): its outcome carries the champion's metric in `observed`, the
challenger's less `min_gain` (plus, for a loss) in `threshold` and the test's p-value, so a
retrain it calls for trains at once on the rows it measured, and it confirms or dismisses a
pending drift retrain by the question that matters. Companion outcomes `<rule>.gain`,
`<rule>.p_value` and `<rule>.rows` put the gain, the p-value and the rows judged in the ledger
as metrics. The shadow model is not kept: a retrain trains again through the training flow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from retrain_core.base.outcome import CheckOutcome, Status, decisive_check
from retrain_core.kinds.context import Context
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import CheckKind

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_

# the metrics that are a mean over rows, so two models can be compared row by row
PAIRED_METRICS = ("accuracy", "log_loss", "rmse", "mae")
PairedMetric = Literal["accuracy", "log_loss", "rmse", "mae"]


class ChallengerGainTrigger(Strict):
    """Fit a shadow challenger each check and fire when it is significantly better."""

    metric: PairedMetric = Field(
        description="Metric compared row by row: accuracy (McNemar's exact test), or log_loss, "
        "rmse, mae (paired t-test on per-row losses)."
    )
    min_gain: float = Field(
        0.02,
        ge=0,
        description="Smallest gain of the shadow challenger over the champion that fires, in "
        "the metric's units (a rise in accuracy, a fall in a loss).",
    )
    confidence: float = Field(
        0.99,
        gt=0,
        lt=1,
        description="The gain must be significant at this confidence (one-sided paired test).",
    )
    sample: int = Field(
        2000,
        ge=10,
        description="At most this many of the newest labelled rows train the shadow challenger "
        "(its cost per check: one fit, about 1 s for HistGradientBoosting with 200 "
        "iterations on one core, nearly all of it the iterations).",
    )
    holdout: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Share of the rows whose labels arrived since the last check (the newest) "
        "that judges both models; the rest may train the shadow challenger.",
    )
    min_rows: int = Field(
        100,
        ge=10,
        description="Fewer rows to judge on than this make the check an error, not a signal.",
    )
    decisive_gain: float | None = Field(
        None,
        gt=0,
        description="A significant gain at least this large calls for a retrain by itself, even "
        "under `all` (where the other triggers guard against a gain that would not last, e.g. "
        "a model fitted to a passing region of the inputs): a champion that never fell but was "
        "never good, such as one trained in the middle of a change, is replaced. `consecutive`, "
        "cooldown and budget still apply. null: the gain is one vote like any other.",
    )

    @model_validator(mode="after")
    def _decisive_above_min(self) -> ChallengerGainTrigger:
        if self.decisive_gain is not None and self.decisive_gain < self.min_gain:
            raise ValueError("decisive_gain must be at least min_gain")
        return self

    @property
    def drop(self) -> float:
        """`policy.registry.LabelMetric`: the fall of the champion below the challenger that
        fires it is the gain."""
        return self.min_gain


def evaluate(g: ChallengerGainTrigger, ctx: Context) -> list[CheckOutcome]:
    """Fit the shadow challenger and compare it with the champion on rows neither saw."""
    from retrain_core.training.errors import TrainingError

    name, champion, target = ctx.rule_id, ctx.champion, ctx.policy.model.target
    if champion is None or champion.model is None:
        return [CheckOutcome(name, Status.ERROR, "no champion yet")]
    new = ctx.windows.labelled
    if new is None or new.empty or target not in new.columns or new[target].notna().sum() == 0:
        return [CheckOutcome(name, Status.ERROR, "no labels arrived since the last check")]
    try:
        train, judged = _rows(g, ctx)
    except _TooFew as exc:
        return [CheckOutcome(name, Status.ERROR, str(exc), observed=exc.rows)]
    from retrain_core.training.fit import fit

    try:
        shadow = fit(
            ctx.policy.model, train, name=f"{ctx.policy.name} shadow challenger",
            random_state=ctx.policy.training.random_state,
        )  # fmt: skip
    except TrainingError as exc:
        return [CheckOutcome(name, Status.ERROR, str(exc), observed=float(len(judged)))]
    return _judge(g, ctx, shadow.pipeline, judged, len(train))


class _TooFew(Exception):
    def __init__(self, message: str, rows: int) -> None:
        super().__init__(message)
        self.rows = float(rows)


def _rows(g: ChallengerGainTrigger, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows of the shadow challenger, rows both models are judged on).

    Judged: the newest `holdout` share (at least `min_rows`) of the rows labelled since the last
    check that the champion did not train on. Training: every older labelled row the check
    knows (the champion's training sample, its live rows, the rest of the new ones) within
    `training.window` of the newest, the newest `sample` of them."""
    import pandas as pd

    from retrain_core.training.split import unseen_rows

    policy, w = ctx.policy, ctx.windows
    target, stamp = policy.model.target, policy.data.timestamp
    new = _ordered(w.labelled, target, stamp)
    champion = ctx.champion
    unseen = unseen_rows(new, stamp, champion.trained_until if champion else None)
    if len(unseen) < g.min_rows:
        raise _TooFew(
            f"only {len(unseen)} newly labelled rows the champion did not train on "
            f"(< {g.min_rows}): too few to judge",
            len(unseen),
        )
    n_judged = max(g.min_rows, math.ceil(len(unseen) * g.holdout))
    judged = unseen.iloc[-n_judged:]
    rest = new.loc[~new.index.isin(judged.index)] if len(new) > len(judged) else new.iloc[:0]
    parts = [_ordered(f, target, stamp) for f in (w.reference, w.live) if f is not None]
    pool = _ordered(pd.concat([*parts, rest], ignore_index=True), target, stamp)
    window = policy.training.window
    if window is not None and stamp is not None and stamp in pool.columns and len(pool):
        newest = pd.to_datetime(judged[stamp], utc=True).max()
        pool = pool.loc[pd.to_datetime(pool[stamp], utc=True) >= newest - window]
    pool = pool.tail(g.sample)
    if len(pool) < g.min_rows:
        raise _TooFew(
            f"only {len(pool)} labelled rows to train a shadow challenger on (< {g.min_rows})",
            len(pool),
        )
    return pool, judged


def _ordered(frame: pd.DataFrame | None, target: str, stamp: str | None) -> pd.DataFrame:
    """The labelled rows of a frame, oldest first (by timestamp when there is one)."""
    import pandas as pd

    if frame is None or target not in frame.columns:
        return pd.DataFrame()
    rows = frame.loc[frame[target].notna()]
    if stamp is not None and stamp in rows.columns:
        order = pd.to_datetime(rows[stamp], utc=True).argsort(kind="stable")
        rows = rows.iloc[order.to_numpy()]
    return rows.reset_index(drop=True)


def _judge(
    g: ChallengerGainTrigger, ctx: Context, shadow: Any, judged: pd.DataFrame, n_train: int
) -> list[CheckOutcome]:
    """The paired test on the judged rows and the outcomes that carry it."""
    from retrain_core.checks.paired import compare

    policy, name = ctx.policy, ctx.rule_id
    assert ctx.champion is not None
    features = judged[policy.model.features.all]
    try:
        result = compare(
            g.metric, judged[policy.model.target].to_numpy(),
            _predicted(ctx.champion.model, features, g.metric),
            _predicted(shadow, features, g.metric),
        )  # fmt: skip
    except ValueError as exc:  # a champion that cannot predict these rows, a class it lacks
        return [CheckOutcome(name, Status.ERROR, f"cannot compare: {exc}")]
    higher = g.metric == "accuracy"
    threshold = result.challenger - g.min_gain if higher else result.challenger + g.min_gain
    alpha = 1 - g.confidence
    significant, enough = result.p_value < alpha, result.gain >= g.min_gain - 1e-12
    status = Status.FAIL if significant and enough else Status.PASS
    discordant = f", {result.wins} wins / {result.losses} losses" if higher else ""
    verdict = (
        f"gain {result.gain:+.4g} {'>=' if enough else '<'} {g.min_gain:g}, "
        f"{result.test} p={result.p_value:.2g} {'<' if significant else '>='} {alpha:.2g}"
    )
    reason = (
        f"shadow challenger {g.metric} {result.challenger:.4g} vs champion "
        f"{result.champion:.4g} on the newest {result.rows} labelled rows neither trained on "
        f"(challenger trained on {n_train} rows{discordant}): {verdict}"
    )
    outcomes = [
        CheckOutcome(name, status, reason, result.champion, threshold, p_value=result.p_value),
        CheckOutcome(f"{name}.gain", status, reason, result.gain, g.min_gain),
        CheckOutcome(f"{name}.p_value", status, reason, result.p_value, alpha),
        CheckOutcome(f"{name}.rows", status, reason, float(result.rows), float(n_train)),
    ]
    if g.decisive_gain is not None:
        decisive = significant and result.gain >= g.decisive_gain - 1e-12
        said = f"gain {result.gain:+.4g} {'>=' if decisive else '<'} {g.decisive_gain:g}"
        status = Status.FAIL if decisive else Status.PASS
        said += ", significant: decides alone" if decisive else ": one vote"
        check = decisive_check(name)
        outcomes.append(CheckOutcome(check, status, said, result.gain, g.decisive_gain))
    return outcomes


def _predicted(model: Any, features: Any, metric: str) -> tuple[Any, Any, Any]:
    """(predictions, probabilities or None, classes) of a model on the judged rows."""
    proba = None
    if metric == "log_loss":
        proba = model.predict_proba(features)
    return model.predict(features), proba, getattr(model, "classes_", None)


def findings(settings: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    """The metric against model.task."""
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.semantics import get, unfit_metric

    if not isinstance(settings, dict):
        return []
    task, metric = get(data, "model", "task"), settings.get("metric")
    if task not in ("classification", "regression"):
        return []
    unfit = unfit_metric(metric, task)
    return [Finding((*path, "metric"), unfit)] if unfit else []


KIND = CheckKind(
    key="challenger_gain",
    model=ChallengerGainTrigger,
    description="A shadow challenger fit each check serves significantly better than the champion.",
    evaluate=evaluate,
    metrics=PAIRED_METRICS,
    reads_labels=True,
    findings=findings,
    order=25,
    example={"metric": "accuracy", "min_gain": 0.02},
)
