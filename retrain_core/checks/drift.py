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

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrain_core.checks.binned import EXACT_MAX_ROWS, cramers_v, psi, score_binned
from retrain_core.checks.outcome import CheckOutcome, Status
from retrain_core.checks.profile import ReferenceProfile, cached_profile, float_values

if TYPE_CHECKING:
    import pandas as pd

METHODS = frozenset({"ks", "cvm", "chi2", "tabular", "psi"})
CORRECTIONS = frozenset({"bonferroni", "fdr", "none"})
PSI_BINS = 10


@dataclass(frozen=True)
class _Feature:
    """One feature's clean values: floats for numeric, integer codes (0..k-1) for categorical."""

    name: str
    ref: np.ndarray
    cur: np.ndarray
    categories: int | None  # None for numeric features


@dataclass(frozen=True)
class _Score:
    name: str
    effect: float
    effect_name: str  # "D", "V" or "PSI"
    p_value: float | None = None


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
) -> list[CheckOutcome]:
    """Compare two windows feature by feature; one outcome per feature plus ``drift.share``.

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
        return [*per_feature, CheckOutcome("drift.share", Status.ERROR, reason)]
    if method != "cvm" and max(len(reference), len(current)) > EXACT_MAX_ROWS:
        scores, errors = _score_against_profile(
            reference, current, names, categorical, method, profile
        )
    else:
        scores, errors = _score_features(reference, current, names, categorical, method, p_value)
    tested = [s.p_value for s in scores.values() if s.p_value is not None]
    threshold = _feature_threshold(np.asarray(tested, dtype=float), p_value, correction)
    outcomes = [
        CheckOutcome(f"drift.{method}.{n}", Status.ERROR, errors[n])
        if n in errors
        else _feature_outcome(method, scores[n], threshold, correction, min_effect)
        for n in names
    ]
    return [*outcomes, _share_outcome(names, outcomes, min_share)]


def _score_against_profile(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    categorical: list[str],
    method: str,
    profile: ReferenceProfile | None,
) -> tuple[dict[str, _Score], dict[str, str]]:
    """Scores from binning each current column against the reference profile, in threads."""
    numeric = [n for n in names if n not in categorical]
    if profile is None or not profile.covers(numeric, categorical):
        profile = cached_profile(reference, numeric, categorical)
    scores: dict[str, _Score] = {}
    errors: dict[str, str] = {}
    for name, result in score_binned(profile, current, names, categorical, method).items():
        if isinstance(result, str):
            errors[name] = result
        else:
            scores[name] = _Score(name, *result)
    return scores, errors


def _score_features(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    categorical: list[str],
    method: str,
    p_value: float,
) -> tuple[dict[str, _Score], dict[str, str]]:
    """Scores of the testable features, and why each of the others cannot be tested."""
    scores: dict[str, _Score] = {}
    errors: dict[str, str] = {}
    stacked: list[_Feature] = []  # tabular scores its features together; others one at a time
    for name in names:
        prepared = _prepare(reference, current, name, is_numeric=name not in categorical)
        if isinstance(prepared, str):
            errors[name] = prepared
        elif method == "tabular":
            stacked.append(prepared)
        else:
            scores[name] = _score_one(prepared, method, p_value)
    scores.update((s.name, s) for s in _score_tabular(stacked, p_value))
    return scores, errors


def _prepare(
    reference: pd.DataFrame, current: pd.DataFrame, name: str, *, is_numeric: bool
) -> _Feature | str:
    """Clean values of one feature in both windows, or the reason it cannot be tested."""
    missing = [
        label
        for label, df in (("reference", reference), ("current", current))
        if name not in df.columns
    ]
    if missing:
        return f"column {name!r} is missing from the {' and '.join(missing)} window"
    if is_numeric:
        try:
            ref, cur = _floats(reference[name]), _floats(current[name])
        except (TypeError, ValueError) as exc:
            return f"column {name!r} is not numeric: {exc}"
        categories = None
    else:
        ref, cur, categories = _encode(reference[name], current[name])
    for label, values in (("reference", ref), ("current", cur)):
        if values.size == 0:
            return f"column {name!r} is all null in the {label} window"
    return _Feature(name, ref, cur, categories)


def _floats(series: pd.Series) -> np.ndarray:
    """Non-null values as float64; a float64 column without NaNs is used as is, not copied."""
    values = float_values(series)
    mask = np.isnan(values)
    return values[~mask] if mask.any() else values


def _encode(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes over the union of both windows' categories (one hash pass per window)."""
    import pandas as pd

    ref_codes, ref_uniques = pd.factorize(ref)  # nulls get -1 and are dropped below
    cur_codes, cur_uniques = pd.factorize(cur)
    categories = pd.Index(ref_uniques).append(pd.Index(cur_uniques)).unique()  # ref's come first
    remap = np.asarray(categories.get_indexer(pd.Index(cur_uniques)), dtype=np.int32)
    ref_codes = ref_codes[ref_codes >= 0].astype(np.int32)
    return ref_codes, remap[cur_codes[cur_codes >= 0]], len(categories)


def _score_one(f: _Feature, method: str, p_value: float) -> _Score:
    """Effect size and p-value of one feature under `method` (all but tabular)."""
    if method == "psi":
        return _score_psi(f)
    if f.categories is not None:
        return _score_chi2(f.name, f.ref, f.cur, f.categories, p_value)
    if method == "chi2":
        ref, cur, k = _quantile_codes(f.ref, f.cur)
        return _score_chi2(f.name, ref, cur, k, p_value)
    return _score_continuous(f, method, p_value)


def _score_continuous(f: _Feature, method: str, p_value: float) -> _Score:
    """KS (alibi KSDrift) or CVM (alibi CVMDrift, with the KS statistic as the effect size)."""
    _import_alibi()
    from alibi_detect.cd import CVMDrift, KSDrift

    ref, cur = f.ref.reshape(-1, 1), f.cur.reshape(-1, 1)
    if method == "ks":
        p, d = KSDrift(ref, p_val=p_value).score(cur)
        return _Score(f.name, float(d[0]), "D", float(p[0]))
    p, _ = CVMDrift(ref, p_val=p_value).score(cur)
    return _Score(f.name, _ks_statistic(f.ref, f.cur), "D", float(p[0]))


def _score_chi2(name: str, ref: np.ndarray, cur: np.ndarray, k: int, p_value: float) -> _Score:
    """Chi-square on integer codes (alibi ChiSquareDrift), Cramér's V as the effect size."""
    _import_alibi()
    from alibi_detect.cd import ChiSquareDrift

    detector = ChiSquareDrift(ref.reshape(-1, 1), p_val=p_value, categories_per_feature={0: k})
    p, _ = detector.score(cur.reshape(-1, 1))
    return _Score(name, _cramers_v(ref, cur, k), "V", float(p[0]))


def _score_tabular(features: list[_Feature], p_value: float) -> list[_Score]:
    """alibi TabularDrift (KS + chi2) over stacked features, one detector per column length.

    Without NaNs that is one detector for everything; the tests are per column, so a feature
    whose NaNs were dropped simply goes into a detector of its own length.
    """
    groups: dict[tuple[int, int], list[_Feature]] = {}
    for f in features:
        groups.setdefault((f.ref.size, f.cur.size), []).append(f)
    return [score for group in groups.values() for score in _tabular_group(group, p_value)]


def _tabular_group(group: list[_Feature], p_value: float) -> list[_Score]:
    _import_alibi()
    from alibi_detect.cd import TabularDrift

    ref = np.column_stack([f.ref.astype(np.float64) for f in group])
    cur = np.column_stack([f.cur.astype(np.float64) for f in group])
    categories = {j: f.categories for j, f in enumerate(group) if f.categories is not None}
    p, d = TabularDrift(ref, p_val=p_value, categories_per_feature=categories).score(cur)
    return [
        _Score(f.name, float(d[j]), "D", float(p[j]))
        if f.categories is None
        else _Score(f.name, _cramers_v(f.ref, f.cur, f.categories), "V", float(p[j]))
        for j, f in enumerate(group)
    ]


def _score_psi(f: _Feature) -> _Score:
    """Population Stability Index over reference deciles (numeric) or categories."""
    if f.categories is None:
        ref, cur, k = _quantile_codes(f.ref, f.cur)
    else:
        ref, cur, k = f.ref, f.cur, f.categories
    return _Score(f.name, psi(np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)), "PSI")


def _quantile_codes(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin both windows by the reference's deciles (fewer bins when values repeat)."""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    codes = [np.searchsorted(edges, v, side="right") for v in (ref, cur)]
    return codes[0], codes[1], edges.size + 1


def _ks_statistic(ref: np.ndarray, cur: np.ndarray) -> float:
    """The two-sample KS statistic D, without the (slow, unneeded) p-value."""
    ref, cur = np.sort(ref), np.sort(cur)
    points = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, points, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, points, side="right") / cur.size
    return float(np.max(np.abs(cdf_ref - cdf_cur)))


def _cramers_v(ref: np.ndarray, cur: np.ndarray, k: int) -> float:
    """Cramér's V of the 2 x k table of category proportions, both windows weighted equally."""
    return cramers_v(np.bincount(ref, minlength=k), np.bincount(cur, minlength=k))


def _feature_threshold(p_values: np.ndarray, p_value: float, correction: str) -> float:
    """The per-feature significance threshold, by alibi-detect's rule for `correction`."""
    if correction == "none" or p_values.size == 0:
        return p_value
    if correction == "bonferroni":
        return p_value / p_values.size
    _import_alibi()
    from alibi_detect.utils.statstest import fdr

    _, threshold = fdr(p_values, q_val=p_value)
    # alibi returns every rank's threshold when nothing is significant; the smallest, q / n,
    # is then the bar no p-value cleared.
    return float(np.min(threshold))


def _feature_outcome(
    method: str, score: _Score, threshold: float, correction: str, min_effect: float
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
    names: list[str], outcomes: list[CheckOutcome], min_share: float
) -> CheckOutcome:
    """The share of tested features (errors excluded) that drifted, against `min_share`."""
    tested = [o for o in outcomes if o.status is not Status.ERROR]
    if not tested:
        return CheckOutcome("drift.share", Status.ERROR, "no feature could be tested")
    drifted = [name for name, o in zip(names, outcomes, strict=True) if o.failed]
    share = len(drifted) / len(tested)
    fails = share > 0 and share >= min_share
    listed = f" ({', '.join(drifted)})" if drifted else ""
    reason = (
        f"{len(drifted)} of {len(tested)} features drifted{listed}: "
        f"share {share:.3g} {'>=' if share >= min_share else '<'} {min_share:g}"
    )
    return CheckOutcome(
        "drift.share", Status.FAIL if fails else Status.PASS, reason, share, min_share
    )


def _import_alibi() -> None:
    """Import alibi_detect.cd once, silencing the banner its dependencies log on first import."""
    if "alibi_detect.cd" in sys.modules:
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        import alibi_detect.cd  # noqa: F401
    finally:
        logging.disable(previous)
