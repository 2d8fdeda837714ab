"""Drift checks: per-feature two-sample tests (alibi-detect), corrected, with an effect-size floor.

A feature drifts only when its test is significant after the multiple-testing correction AND its
effect size reaches ``min_effect``: at a million rows every test is significant, and the effect
size is what separates a real shift from noise. Effect sizes, all on a 0..1 scale:

* numeric: the Kolmogorov-Smirnov statistic D (largest gap between the empirical CDFs); also
  for ``cvm``, whose own statistic has no fixed scale.
* categorical (and numeric under ``chi2``, binned into reference deciles): Cramér's V of the
  2 x k table of category *proportions*, both windows weighted equally so V does not shrink when
  one window is much larger; for two categories it is phi (a share going 0.5 -> 0.6 gives ~0.1).
* ``psi``: the Population Stability Index, no p-value; drifted when PSI >= ``min_effect``.

Correction follows alibi-detect's rule (``BaseUnivariateDrift.predict``, ``drift_type="batch"``):
``bonferroni`` tests each feature at ``p_value / n``, ``fdr`` at the Benjamini-Hochberg threshold
of ``alibi_detect.utils.statstest.fdr``, ``none`` at ``p_value``; the family is every tested
feature, numeric and categorical together. Each feature gets its own one-column detector, so NaNs
are dropped per feature, windows are not copied into one matrix (``tabular`` alone stacks its
features into a ``TabularDrift``), and the correction is not split across two detectors.

Large windows (more than ``EXACT_MAX_ROWS`` rows on either side) are not tested row by row: each
current column is binned once against a profile of the reference (`checks.profile`, built once
per reference content, or passed in as stored with the model version) and KS, chi-square and PSI
come from the counts (`checks.binned`). The binned KS statistic is at most 1.5 / 1024 below the
exact one; p-values are the same asymptotic ones alibi-detect computes. ``cvm`` always runs on
the rows (alibi-detect's ``CVMDrift``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.checks.binned import EXACT_MAX_ROWS, profiled_score, score_binned
from retrain_core.checks.exact import Score, score_features
from retrain_core.checks.profile import ReferenceProfile, cached_profile
from retrain_core.policy.base import DRIFT_CORRECTIONS, DRIFT_METHODS

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.batch_profile import BatchProfile

METHODS = frozenset(DRIFT_METHODS)
CORRECTIONS = frozenset(DRIFT_CORRECTIONS)


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    method: str = "ks",
    p_value: float = 0.05,
    correction: str = "bonferroni",
    min_effect: float = 0.1,
    min_share: float = 0.2,
    profile: ReferenceProfile | None = None,
    share_check: str = "drift.share",
) -> list[CheckOutcome]:
    """Compare two windows feature by feature; one outcome per feature plus ``drift.share``.

    `share_check` names the share outcome (a trigger passes its rule id).

    `profile` is the reference's stored profile; without one, a large window profiles the
    reference itself (once per reference content in this process).
    """
    if method not in METHODS:
        raise ValueError(f"unknown drift method {method!r}; expected one of {sorted(METHODS)}")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; expected {sorted(CORRECTIONS)}")
    names = list(dict.fromkeys([*numeric, *categorical]))
    empty = [label for label, df in (("reference", reference), ("current", current)) if df.empty]
    if empty:
        reason = f"the {' and '.join(empty)} window is empty"
        per_feature = [CheckOutcome(f"drift.{method}.{n}", Status.ERROR, reason) for n in names]
        return [*per_feature, CheckOutcome(share_check, Status.ERROR, reason)]
    if binned(method, len(reference), len(current)):
        scores, errors = _score_against_profile(
            reference, current, names, categorical, method, profile
        )
    else:
        scores, errors = score_features(reference, current, names, categorical, method, p_value)
    return _judged(names, scores, errors, method, p_value, correction, min_effect, min_share,
                   share_check)  # fmt: skip


def detect_drift_profiled(
    profile: ReferenceProfile,
    window: BatchProfile,
    numeric: list[str],
    categorical: list[str],
    method: str = "ks",
    p_value: float = 0.05,
    correction: str = "bonferroni",
    min_effect: float = 0.1,
    min_share: float = 0.2,
    share_check: str = "drift.share",
) -> list[CheckOutcome]:
    """`detect_drift` of a window known by its merged batch profile (`checks.batch_profile`),
    binned against the reference `profile` it was counted over: the same scores as binning the
    window's rows. ``cvm`` needs the rows: each feature is an error."""
    if method not in METHODS - {"cvm"}:
        raise ValueError(f"drift method {method!r} needs the rows, not a profile")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; expected {sorted(CORRECTIONS)}")
    if window.reference != profile.key:
        raise ValueError("the window was profiled against another reference")
    names = list(dict.fromkeys([*numeric, *categorical]))
    scores: dict[str, Score] = {}
    errors: dict[str, str] = {}
    for name in names:
        result = profiled_score(profile, window, name, name in categorical, method)
        if isinstance(result, str):
            errors[name] = result
        else:
            scores[name] = Score(name, *result)
    if not window.rows:
        errors = dict.fromkeys(names, "the current window is empty")
    return _judged(names, scores, errors, method, p_value, correction, min_effect, min_share,
                   share_check)  # fmt: skip


def _judged(
    names: list[str],
    scores: dict[str, Score],
    errors: dict[str, str],
    method: str,
    p_value: float,
    correction: str,
    min_effect: float,
    min_share: float,
    share_check: str,
) -> list[CheckOutcome]:
    """Each feature's outcome at the corrected threshold, then the share that drifted."""
    tested = [s.p_value for s in scores.values() if s.p_value is not None]
    threshold = _feature_threshold(np.asarray(tested, dtype=float), p_value, correction)
    outcomes = [
        CheckOutcome(f"drift.{method}.{n}", Status.ERROR, errors[n])
        if n in errors
        else _feature_outcome(method, scores[n], threshold, correction, min_effect)
        for n in names
    ]
    return [*outcomes, _share_outcome(names, outcomes, min_share, share_check)]


def binned(method: str, reference_rows: int, current_rows: int) -> bool:
    """True when drift bins the current window against a reference profile instead of testing
    rows: more than ``EXACT_MAX_ROWS`` rows on either side, any method but ``cvm``."""
    return method != "cvm" and max(reference_rows, current_rows) > EXACT_MAX_ROWS


def _score_against_profile(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    categorical: list[str],
    method: str,
    profile: ReferenceProfile | None,
) -> tuple[dict[str, Score], dict[str, str]]:
    """Scores from binning each current column against the reference profile, in threads."""
    numeric = [n for n in names if n not in categorical]
    if profile is None or not profile.covers(numeric, categorical):
        profile = cached_profile(reference, numeric, categorical)
    scores: dict[str, Score] = {}
    errors: dict[str, str] = {}
    for name, result in score_binned(profile, current, names, categorical, method).items():
        if isinstance(result, str):
            errors[name] = result
        else:
            scores[name] = Score(name, *result)
    return scores, errors


def _feature_threshold(p_values: np.ndarray, p_value: float, correction: str) -> float:
    """The per-feature significance threshold, by alibi-detect's rule for `correction`."""
    if correction == "none" or p_values.size == 0:
        return p_value
    if correction == "bonferroni":
        return p_value / p_values.size
    # Benjamini-Hochberg, as alibi-detect's `fdr`: the largest rank threshold q * i / n that its
    # sorted p-value falls below; when none does, the smallest, q / n, is the bar none cleared.
    q_threshold = p_value * np.arange(1, p_values.size + 1) / p_values.size
    below = np.flatnonzero(np.sort(p_values) < q_threshold)
    return float(q_threshold[below.max()] if below.size else q_threshold[0])


def _feature_outcome(
    method: str, score: Score, threshold: float, correction: str, min_effect: float
) -> CheckOutcome:
    """PASS/FAIL for one feature, with a reason that shows both the test and the effect size."""
    check, effect = f"drift.{method}.{score.name}", f"{score.effect_name}={score.effect:.3g}"
    big = score.effect >= min_effect
    if score.p_value is None:  # PSI: the effect size is the whole test
        reason = f"{effect} {'>=' if big else '<'} {min_effect:g}"
        return CheckOutcome(
            check, Status.FAIL if big else Status.PASS, reason, score.effect, min_effect
        )
    label = "uncorrected" if correction == "none" else correction
    # alibi keeps p-values as float32, so anything below ~1e-45 arrives as exactly 0
    test = f"p={score.p_value:.3g}" if score.p_value > 0 else "p<1e-45"
    if score.p_value >= threshold:
        reason = f"{test} >= {threshold:.3g} ({label}): no significant change ({effect})"
    elif big:
        reason = f"{test} < {threshold:.3g} ({label}) and {effect} >= {min_effect:g}"
    else:
        reason = (
            f"{test} < {threshold:.3g} ({label}) but {effect} < {min_effect:g}: "
            "significant, too small to matter"
        )
    drifted = score.p_value < threshold and big
    return CheckOutcome(
        check, Status.FAIL if drifted else Status.PASS, reason, score.effect, min_effect
    )


def _share_outcome(
    names: list[str], outcomes: list[CheckOutcome], min_share: float, check: str
) -> CheckOutcome:
    """The share of tested features (errors excluded) that drifted, against `min_share`."""
    tested = [o for o in outcomes if o.status is not Status.ERROR]
    if not tested:
        return CheckOutcome(check, Status.ERROR, "no feature could be tested")
    drifted = [name for name, o in zip(names, outcomes, strict=True) if o.failed]
    share = len(drifted) / len(tested)
    fails = share > 0 and share >= min_share
    listed = f" ({', '.join(drifted)})" if drifted else ""
    reason = (
        f"{len(drifted)} of {len(tested)} features drifted{listed}: "
        f"share {share:.3g} {'>=' if share >= min_share else '<'} {min_share:g}"
    )
    return CheckOutcome(check, Status.FAIL if fails else Status.PASS, reason, share, min_share)
