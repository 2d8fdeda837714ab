"""Exact drift scores on the rows of both windows, as alibi-detect's detectors compute them.

Used for windows of at most ``binned.EXACT_MAX_ROWS`` rows on both sides, and for ``cvm``: each
feature is tested on its own (NaNs dropped per feature), except ``tabular``, which stacks its
features into alibi-detect's ``TabularDrift``. See `retrain_core.checks.drift` for the rules.

``ks`` and ``chi2`` make the very calls alibi-detect's ``KSDrift`` and ``ChiSquareDrift`` make
(scipy's ``ks_2samp(mode="asymp")`` and ``chi2_contingency`` on the union of categories) without
importing alibi-detect, whose import costs more CPU (about 4 s) than a whole small-window check;
``tests/integration/test_exact_parity.py`` pins both to alibi-detect's own results. ``cvm`` and
``tabular`` run alibi-detect's detectors.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrain_core.checks.binned import cramers_v, psi
from retrain_core.checks.columns import float_values

if TYPE_CHECKING:
    import pandas as pd

PSI_BINS = 10


@dataclass(frozen=True)
class _Feature:
    """One feature's clean values: floats for numeric, integer codes (0..k-1) for categorical."""

    name: str
    ref: np.ndarray
    cur: np.ndarray
    categories: int | None  # None for numeric features


@dataclass(frozen=True)
class Score:
    name: str
    effect: float
    effect_name: str  # "D", "V" or "PSI"
    p_value: float | None = None


def score_features(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    categorical: list[str],
    method: str,
    p_value: float,
) -> tuple[dict[str, Score], dict[str, str]]:
    """Scores of the testable features, and why each of the others cannot be tested."""
    scores: dict[str, Score] = {}
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


def _score_one(f: _Feature, method: str, p_value: float) -> Score:
    """Effect size and p-value of one feature under `method` (all but tabular)."""
    if method == "psi":
        return _score_psi(f)
    if f.categories is not None:
        return _score_chi2(f.name, f.ref, f.cur, f.categories, p_value)
    if method == "chi2":
        ref, cur, k = _quantile_codes(f.ref, f.cur)
        return _score_chi2(f.name, ref, cur, k, p_value)
    return _score_continuous(f, method, p_value)


def _score_continuous(f: _Feature, method: str, p_value: float) -> Score:
    """KS (as alibi's KSDrift) or CVM (alibi CVMDrift, with the KS statistic as the effect)."""
    if method == "ks":
        from scipy.stats import ks_2samp

        d, p = ks_2samp(f.ref, f.cur, alternative="two-sided", mode="asymp")
        return Score(f.name, float(d), "D", float(p))
    import_alibi()
    from alibi_detect.cd import CVMDrift

    p, _ = CVMDrift(f.ref.reshape(-1, 1), p_val=p_value).score(f.cur.reshape(-1, 1))
    return Score(f.name, _ks_statistic(f.ref, f.cur), "D", float(p[0]))


def _score_chi2(name: str, ref: np.ndarray, cur: np.ndarray, k: int, p_value: float) -> Score:
    """Chi-square on integer codes (as alibi's ChiSquareDrift), Cramér's V as the effect size.

    The table has a column per category seen in either window, as alibi's has.
    """
    from scipy.stats import chi2_contingency

    table = np.vstack([np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:  # one category in both windows: nothing can differ
        return Score(name, 0.0, "V", 1.0)
    _, p, _, _ = chi2_contingency(table)
    return Score(name, _cramers_v(ref, cur, k), "V", float(p))


def _score_tabular(features: list[_Feature], p_value: float) -> list[Score]:
    """alibi TabularDrift (KS + chi2) over stacked features, one detector per column length.

    Without NaNs that is one detector for everything; the tests are per column, so a feature
    whose NaNs were dropped simply goes into a detector of its own length.
    """
    groups: dict[tuple[int, int], list[_Feature]] = {}
    for f in features:
        groups.setdefault((f.ref.size, f.cur.size), []).append(f)
    return [score for group in groups.values() for score in _tabular_group(group, p_value)]


def _tabular_group(group: list[_Feature], p_value: float) -> list[Score]:
    import_alibi()
    from alibi_detect.cd import TabularDrift

    ref = np.column_stack([f.ref.astype(np.float64) for f in group])
    cur = np.column_stack([f.cur.astype(np.float64) for f in group])
    categories = {j: f.categories for j, f in enumerate(group) if f.categories is not None}
    p, d = TabularDrift(ref, p_val=p_value, categories_per_feature=categories).score(cur)
    return [
        Score(f.name, float(d[j]), "D", float(p[j]))
        if f.categories is None
        else Score(f.name, _cramers_v(f.ref, f.cur, f.categories), "V", float(p[j]))
        for j, f in enumerate(group)
    ]


def _score_psi(f: _Feature) -> Score:
    """Population Stability Index over reference deciles (numeric) or categories."""
    if f.categories is None:
        ref, cur, k = _quantile_codes(f.ref, f.cur)
    else:
        ref, cur, k = f.ref, f.cur, f.categories
    return Score(f.name, psi(np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)), "PSI")


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


def import_alibi() -> None:
    """Import alibi_detect.cd once, silencing the banner its dependencies log on first import."""
    if "alibi_detect.cd" in sys.modules:
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        import alibi_detect.cd  # noqa: F401
    finally:
        logging.disable(previous)
