"""Pure promotion gate: a challenger's holdout score vs the champion's, judged by the policy."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain_core.policy.base import greater_is_better
from retrain_core.policy.schema import Gate, Policy

if TYPE_CHECKING:
    from retrain_core.training.challenger import TrainingResult


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the challenger may take the alias, and the sentences that say why."""

    promote: bool
    reasons: tuple[str, ...]
    metric: str
    challenger_score: float
    champion_score: float | None

    @property
    def summary(self) -> str:
        """One line for logs, tags and notifications."""
        verdict = "promote" if self.promote else "reject"
        return f"{verdict}: " + "; ".join(self.reasons)


def decide_promotion(
    gate: Gate, challenger_score: float, champion_score: float | None
) -> PromotionDecision:
    """Apply the gate to scores measured on the same holdout; None means there is no champion.

    The semantics are MLflow's ``MetricThreshold(threshold=gate.min,
    min_absolute_change=gate.min_improvement, greater_is_better=...)`` as applied by
    ``mlflow.models.evaluation.validation._validate`` (mlflow 3.17): the threshold is a floor
    (``>=``) when greater is better and a ceiling (``<=``) otherwise; against a baseline the
    candidate must reach ``baseline + change`` (``>=``) or ``baseline - change`` (``<=``); a
    missing candidate or baseline value fails. It is mirrored here rather than called because
    ``MetricThreshold`` refuses ``min_absolute_change <= 0`` while our policies default to
    ``min_improvement: 0`` ("at least as good", which mlflow cannot express) and may allow a
    small negative tolerance; ``validate_evaluation_results`` needs ``EvaluationResult`` objects
    and raises instead of returning reasons; and importing mlflow costs ~2 s in a pure function.
    A NaN score (the metric could not be computed) counts as missing, as in mlflow.
    """
    metric = gate.metric
    higher = greater_is_better(metric)
    reasons: list[str] = []
    passed = _check_floor(gate, challenger_score, higher, champion_score is None, reasons)
    if champion_score is not None:
        passed = _check_champion(gate, challenger_score, champion_score, higher, reasons) and passed
    return PromotionDecision(
        promote=passed,
        reasons=tuple(reasons),
        metric=metric,
        challenger_score=challenger_score,
        champion_score=champion_score,
    )


def gate_challenger(
    policy: Policy, result: TrainingResult, champion: Any, trained_until: datetime | None
) -> PromotionDecision:
    """Gate a challenger against the champion on the newest rows neither was trained on.

    Those are the challenger's holdout rows newer than the champion's training data. With fewer
    than `gate.min_rows` of them, both are scored on the whole holdout instead and the reasons
    say so: the champion may have trained on some of those rows, which only favours it, so a
    challenger that still wins is better.
    """
    from retrain_core.training.scoring import score_on
    from retrain_core.training.split import unseen_rows

    gate, metric = policy.gate, policy.gate.metric
    if champion is None:
        return decide_promotion(gate, result.metrics[metric], None)
    rows = unseen_rows(result.holdout, policy.data.timestamp, trained_until)
    note = f"compared on the {len(rows)} newest rows neither model was trained on"
    if len(rows) < gate.min_rows:
        note = (
            f"only {len(rows)} holdout rows are newer than the champion's training data "
            f"(< gate.min_rows {gate.min_rows}): compared on all {len(result.holdout)} holdout "
            "rows, some of which the champion may have trained on (that favours the champion)"
        )
        rows = result.holdout
    models = (result.fitted.pipeline, champion)
    scores = [score_on(m, rows, policy.model, [metric])[metric] for m in models]
    decision = decide_promotion(gate, scores[0], scores[1])
    return replace(decision, reasons=(*decision.reasons, note))


def _check_floor(
    gate: Gate, score: float, higher: bool, bootstrap: bool, reasons: list[str]
) -> bool:
    """The absolute threshold: a floor when greater is better, a ceiling when lower is."""
    prefix = "no champion yet: " if bootstrap else ""
    metric = gate.metric
    if _missing(score):
        reasons.append(f"{prefix}{metric} of the challenger could not be computed ({score})")
        return False
    if gate.min is None:
        if bootstrap:
            reasons.append(f"{prefix}{metric} {_fmt(score)} (the gate sets no minimum)")
        return True
    ok = _compare(score, gate.min, higher)
    bound = "min" if higher else "max"
    op = _op(ok, higher)
    reasons.append(f"{prefix}{metric} {_fmt(score)} {op} {bound} {_fmt(gate.min)}")
    return ok


def _check_champion(
    gate: Gate, score: float, champion: float, higher: bool, reasons: list[str]
) -> bool:
    """The comparison with the champion: an improvement of at least gate.min_improvement."""
    metric = gate.metric
    if _missing(champion):
        reasons.append(
            f"{metric} of the champion could not be computed on this holdout ({champion}); "
            "promote by hand if the challenger should replace it"
        )
        return False
    if _missing(score):
        return False
    step = operator.add if higher else operator.sub
    required = step(champion, gate.min_improvement)
    ok = _compare(score, required, higher)
    delta = score - champion
    target = _fmt(gate.min_improvement if higher else -gate.min_improvement)
    direction = "" if higher else " (lower is better)"
    reasons.append(
        f"{metric} {_fmt(score)} vs champion {_fmt(champion)}: "
        f"{_signed(delta)} {_op(ok, higher)} {target}{direction}"
    )
    return ok


def _compare(value: float, bound: float, higher: bool) -> bool:
    """mlflow's comparator: ``>=`` when greater is better, ``<=`` otherwise."""
    return value >= bound if higher else value <= bound


def _op(ok: bool, higher: bool) -> str:
    """The comparison sign as it held: >= / < for higher-is-better, <= / > otherwise."""
    if higher:
        return ">=" if ok else "<"
    return "<=" if ok else ">"


def _missing(value: float | None) -> bool:
    """True for None and NaN: mlflow's missing metric."""
    return value is None or math.isnan(value)


def _fmt(value: float) -> str:
    """Metric values for people: 3 decimals for scores, 1 for large errors; never -0.0."""
    digits = 3 if abs(value) < 100 else 1
    return str(round(value, digits) + 0.0)


def _signed(value: float) -> str:
    """A difference with its sign: +0.031, -1765.6."""
    text = _fmt(value)
    return text if text.startswith("-") else f"+{text}"
