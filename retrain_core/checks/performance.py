"""Performance checks: measured on labelled rows, or estimated from confidence when labels lag.

Every metric knows its direction. For higher-is-better metrics ``below`` is an absolute floor and
``drop`` the largest allowed fall from a ``reference`` value; for lower-is-better ones (rmse, mae,
log_loss) ``above`` is the ceiling and ``drop`` the largest allowed rise. Both bounds may be set;
the stricter one decides. FAIL means the model performs worse than the policy allows.

Confidence-based performance estimation (CBPE) needs *calibrated* probabilities: expected
accuracy is the mean top-class probability, and expected binary ROC AUC treats each row as a
positive with weight p and a negative with weight 1 - p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.policy.base import ESTIMABLE_METRICS, METRICS, Metric

_TOLERANCE = 1e-12  # so that a drop of exactly `drop` (0.80 - 0.75) does not fail on rounding


def metric_direction(name: str) -> bool:
    """True when a higher value of the metric is better (accuracy), False when lower is (rmse)."""
    return _metric(name).greater_is_better


def compute_metric(
    name: str, y_true: Any, y_pred: Any, y_proba: Any = None, classes: Any = None
) -> float:
    """The metric on labelled rows; raises ValueError when it cannot be computed.

    `classes` names the probability columns (the model's `classes_`); with it, a multi-class
    ROC AUC is computed over the classes present among the labels (one-vs-rest, macro), so a
    batch or holdout without some class can still be scored, and a label the model never saw
    (a new class) counts as a class it gave probability 0: an AUC of 0.5 for that class, the
    largest log loss; its rows are errors for accuracy, f1 and the rest (never predicted).
    """
    from sklearn import metrics as skm

    metric, y_true = _metric(name), np.asarray(y_true)
    if metric.needs_proba:
        if y_proba is None:
            raise ValueError(f"{name} needs predicted probabilities")
        proba = np.asarray(y_proba, dtype=float)
        if classes is not None:
            proba, classes = _with_unseen(y_true, proba, list(classes))
        if name == "log_loss":
            return float(skm.log_loss(y_true, proba, labels=classes))
        if np.unique(y_true).size < 2:
            raise ValueError("only one class among the labels: ROC AUC is undefined")
        if classes is not None and proba.ndim == 2 and proba.shape[1] > 2:
            return _present_class_auc(y_true, proba, list(classes))
        if proba.ndim == 2 and proba.shape[1] == 2:
            proba = proba[:, 1]
        return float(skm.roc_auc_score(y_true, proba, multi_class="ovr"))
    if y_pred is None:
        raise ValueError(f"{name} needs predictions")
    y_pred = np.asarray(y_pred)
    if name in ("f1", "precision", "recall"):
        binary = set(np.unique(np.concatenate([y_true, y_pred])).tolist()) <= {0, 1}
        scorer = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
        average = "binary" if binary else "macro"
        return float(scorer[name](y_true, y_pred, average=average, zero_division=0))
    scorers = {
        "accuracy": skm.accuracy_score,
        "rmse": lambda t, p: np.sqrt(skm.mean_squared_error(t, p)),
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
    }
    return float(scorers[name](y_true, y_pred))


def _with_unseen(y_true: np.ndarray, proba: np.ndarray, classes: list[Any]) -> tuple[Any, Any]:
    """The probabilities with a zero column for each label outside `classes` (a class the model
    never saw), and the classes with them appended."""
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        return proba, classes
    known = set(np.asarray(classes).tolist())
    unseen = [value for value in dict.fromkeys(y_true.tolist()) if value not in known]
    if not unseen:
        return proba, classes
    zeros = np.zeros((proba.shape[0], len(unseen)))
    return np.hstack([proba, zeros]), [*classes, *unseen]


def _present_class_auc(y_true: np.ndarray, proba: np.ndarray, classes: list[Any]) -> float:
    """Macro one-vs-rest ROC AUC over the classes present among the labels."""
    from sklearn.metrics import roc_auc_score

    present = [i for i, c in enumerate(classes) if np.any(y_true == c)]
    if len(present) < 2:
        raise ValueError("fewer than two of the model's classes among the labels")
    scores = [roc_auc_score(y_true == classes[i], proba[:, i]) for i in present]
    return float(np.mean(scores))


def check_performance(
    name: str,
    y_true: Any,
    y_pred: Any,
    y_proba: Any = None,
    below: float | None = None,
    above: float | None = None,
    reference: float | None = None,
    drop: float | None = None,
    reference_rows: int | None = None,
    confidence: float | None = None,
    reference_label: str = "reference",
    check: str | None = None,
    reference_batches: Sequence[float] = (),
    classes: Any = None,
) -> CheckOutcome:
    """Measure `name` on the labelled rows and compare it with the policy's bounds.

    `check` names the outcome (default ``performance.<name>``; a trigger passes its rule id).
    `classes` names the probability columns (the model's `classes_`, see `compute_metric`): give
    it, so that a label the model never saw is scored as its error, not an error of the check.

    With `confidence`, a fall of at least `drop` from `reference` fails only when it is also
    significant for the sample sizes (one-sided, at 1 - confidence): a two-proportion z-test for
    accuracy (against `reference_rows` rows), a bootstrap of the labelled rows for other metrics.
    `reference_batches` are the champion's metric on earlier stretches of its live rows as large
    as this one: with at least `MIN_BATCHES` of them the fall must also lie outside their spread
    (a Student-t prediction interval), because rows of one stretch are not independent (a stream
    whose batches swing by ten points is not "significantly worse" on one low batch). A fall of
    any size is tested (the outcome's `p_value`), so a caller can ask whether labels confirm harm.
    """
    check, higher = check or f"performance.{name}", metric_direction(name)
    if (below is not None and not higher) or (above is not None and higher):
        direction = "higher" if higher else "lower"
        raise ValueError(f"{name} is {direction}-is-better: use {'below' if higher else 'above'}")
    labelled = _labelled(y_true, y_pred, y_proba)
    if isinstance(labelled, str):
        return CheckOutcome(check, Status.ERROR, labelled)
    try:
        value = compute_metric(name, *labelled, classes)
    except (TypeError, ValueError) as exc:
        return CheckOutcome(check, Status.ERROR, f"{name} could not be computed: {exc}")
    bound = below if higher else above
    outcome = _judge(check, name, value, higher, bound, reference, drop, reference_label)
    beyond_bound = bound is not None and (value < bound if higher else value > bound)
    worse = reference is not None and (value < reference if higher else value > reference)
    if confidence is None or reference is None or not worse:
        return outcome
    p = drop_p_value(name, labelled, reference, reference_rows, higher, classes=classes)
    p = max(p, batch_p_value(value, usual_swing(reference_batches, drop, higher), higher))
    outcome = replace(outcome, p_value=p)
    if not outcome.failed or beyond_bound:
        return outcome  # an absolute bound the policy set is not a statistical claim
    return _significance(outcome, len(labelled[0]), len(reference_batches), p, confidence)


MIN_BATCHES = 8  # earlier live stretches needed before their spread is estimated well enough


def usual_swing(batches: Sequence[float], drop: float | None, higher: bool) -> list[float]:
    """The stretches without the newest run that already fell by more than `drop` below the
    mean of the stretches before it: an ongoing fall is the change under test, not the
    champion's usual swing (left in, a sustained fall would hide itself)."""
    kept = [b for b in batches if math.isfinite(b)]
    while drop is not None and len(kept) > 1:
        level = float(np.mean(kept[:-1]))
        fell = kept[-1] < level - drop if higher else kept[-1] > level + drop
        if not fell:
            break
        kept.pop()
    return kept


def batch_p_value(value: float, batches: Sequence[float], higher: bool) -> float:
    """One-sided p-value of `value` as a new draw from the stretches `batches` came from.

    A Student-t prediction interval: (mean - value) / (sd * sqrt(1 + 1/k)), k - 1 degrees of
    freedom. 0 (no evidence either way) with fewer than MIN_BATCHES stretches.
    """
    values = np.asarray([b for b in batches if math.isfinite(b)], dtype=float)
    k = len(values)
    if k < MIN_BATCHES:
        return 0.0
    from scipy.stats import t

    spread = float(values.std(ddof=1)) * math.sqrt(1 + 1 / k)
    fall = (values.mean() - value) if higher else (value - values.mean())
    if spread == 0:
        return 0.0 if fall > 0 else 1.0
    return float(t.sf(fall / spread, k - 1))


def _significance(
    outcome: CheckOutcome, rows: int, batches: int, p: float, confidence: float
) -> CheckOutcome:
    """Keep a FAIL only when the change from the reference is significant for the sample size
    (and, with earlier live stretches, for the champion's usual swing between them)."""
    alpha = 1 - confidence
    if p < alpha:
        return replace(outcome, reason=f"{outcome.reason}; significant: p={p:.2g} < {alpha:.2g}")
    among = f" and its swing over {batches} earlier stretches" if batches >= MIN_BATCHES else ""
    reason = (
        f"{outcome.reason}, but not significant for {rows} rows{among} (p={p:.2g} >= {alpha:.2g})"
    )
    return replace(outcome, status=Status.PASS, reason=reason)


def drop_p_value(
    name: str,
    labelled: tuple[Any, Any, Any],
    reference: float,
    reference_rows: int | None,
    higher: bool,
    resamples: int = 200,
    classes: Any = None,
) -> float:
    """One-sided p-value that the metric on these rows is worse than `reference` by chance."""
    y_true, y_pred, y_proba = labelled
    n = len(y_true)
    if name == "accuracy" and reference_rows:
        current = float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
        pooled = (reference * reference_rows + current * n) / (reference_rows + n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / reference_rows + 1 / n))
        if se == 0:
            return 1.0 if current >= reference else 0.0
        return 0.5 * math.erfc((reference - current) / se / math.sqrt(2))
    rng = np.random.default_rng(0)
    worse = total = 0
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        pred, proba = (None if v is None else np.asarray(v)[idx] for v in (y_pred, y_proba))
        try:
            value = compute_metric(name, np.asarray(y_true)[idx], pred, proba, classes)
        except ValueError:
            continue
        total += 1
        worse += value >= reference if higher else value <= reference
    return (worse + 1) / (total + 1)


def _labelled(y_true: Any, y_pred: Any, y_proba: Any) -> tuple[Any, Any, Any] | str:
    """The rows that have a label, or why there are none."""
    import pandas as pd

    y_true = np.asarray(y_true, dtype=object)
    if y_true.size == 0:
        return "no labelled rows in the window"
    mask = ~pd.isna(y_true)
    if not mask.any():
        return f"all {y_true.size} labels are null"
    others = [None if v is None else np.asarray(v) for v in (y_pred, y_proba)]
    for label, values in zip(("predictions", "probabilities"), others, strict=True):
        if values is not None and len(values) != y_true.size:
            return f"{y_true.size} labels but {len(values)} {label}"
    labels = pd.Series(y_true[mask]).infer_objects().to_numpy()
    return labels, *(None if v is None else v[mask] for v in others)


def _judge(
    check: str,
    name: str,
    value: float,
    higher: bool,
    bound: float | None,
    reference: float | None,
    drop: float | None,
    reference_label: str = "reference",
) -> CheckOutcome:
    """Compare a metric value with an absolute bound and a largest change from the reference."""
    bounds: list[tuple[float, str]] = []
    if bound is not None:
        bounds.append((bound, "floor" if higher else "ceiling"))
    if drop is not None and reference is not None:
        moved = "fall" if higher else "rise"
        bounds.append(
            (
                reference - drop if higher else reference + drop,
                f"{reference_label} {reference:.4g} with max {moved} {drop:g}",
            )
        )
    if not bounds:
        reason = f"{name}={value:.4g}: no reference value to compare with"
        return CheckOutcome(check, Status.ERROR, reason, observed=value)
    limit, label = max(bounds) if higher else min(bounds)
    worse = value < limit - _TOLERANCE if higher else value > limit + _TOLERANCE
    sign = ("<" if higher else ">") if worse else (">=" if higher else "<=")
    reason = f"{name}={value:.4g} {sign} {limit:.4g} ({label})"
    return CheckOutcome(check, Status.FAIL if worse else Status.PASS, reason, value, limit)


def estimate_performance(proba: np.ndarray, metric: str) -> float:
    """Expected accuracy or binary ROC AUC implied by calibrated probabilities (CBPE)."""
    from sklearn.metrics import roc_auc_score

    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.shape[0] == 0:
        raise ValueError("no predictions to estimate from")
    if metric == "accuracy":
        return float(np.mean(np.max(proba, axis=1)))
    if metric != "roc_auc":
        raise ValueError(f"cannot estimate {metric}; estimable: {sorted(ESTIMABLE_METRICS)}")
    if proba.shape[1] != 2:
        raise ValueError("estimated ROC AUC is defined for binary classifiers only")
    p = proba[:, 1]
    labels = np.concatenate([np.ones_like(p), np.zeros_like(p)])
    return float(
        roc_auc_score(labels, np.concatenate([p, p]), sample_weight=np.concatenate([p, 1 - p]))
    )


def check_estimated_performance(
    metric: str,
    current_proba: np.ndarray,
    reference_proba: np.ndarray,
    drop: float,
    check: str | None = None,
) -> CheckOutcome:
    """Compare the CBPE estimate on the current window with the same estimate on the reference.

    `check` names the outcome (default ``estimated_performance.<metric>``).
    """
    check = check or f"estimated_performance.{metric}"
    try:
        current = estimate_performance(current_proba, metric)
        reference = estimate_performance(reference_proba, metric)
    except ValueError as exc:
        return CheckOutcome(check, Status.ERROR, f"cannot estimate {metric}: {exc}")
    limit, fell = reference - drop, reference - current
    worse = fell > drop + _TOLERANCE
    change = f"fell {fell:.3g} {'>' if worse else '<='} {drop:g}" if fell > 0 else "did not fall"
    reason = f"estimated {metric} {current:.4g} vs {reference:.4g} on the reference: {change}"
    return CheckOutcome(check, Status.FAIL if worse else Status.PASS, reason, current, limit)


def _metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; expected one of {sorted(METRICS)}") from None
