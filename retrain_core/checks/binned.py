"""Drift scores of a large window against a reference profile: one pass per column, in threads.

Each current column is binned once against the profile (numeric: the profile's fine bins;
categorical: integer codes counted with ``np.bincount``). From those counts come the KS statistic
of the binned CDFs with Smirnov's asymptotic p-value (what alibi-detect's ``KSDrift`` reports:
``ks_2samp(..., mode="asymp")``), the chi-square test of the 2 x k table (``chi2_contingency``,
as alibi-detect's ``ChiSquareDrift``), Cramér's V and the PSI. The binned D is within the bound
stated in `retrain_core.checks.profile` of the exact D. Numpy releases the GIL while it bins, so
columns run in parallel threads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from retrain_core.checks.columns import factorize, float_values, plain
from retrain_core.checks.profile import CategoricalProfile, NumericProfile, ReferenceProfile

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.batch_profile import BatchProfile

# Windows up to this many rows on both sides are tested exactly on their rows (alibi-detect);
# a larger window on either side is binned against the reference profile.
EXACT_MAX_ROWS = 50_000
PSI_EPSILON = 1e-4
KSTWO_MAX_N = 10_000

Scored = tuple[float, str, float | None]  # effect size, its name ("D", "V", "PSI"), p-value


def score_binned(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    names: list[str],
    categorical: list[str],
    method: str,
) -> dict[str, Scored | str]:
    """Each feature's score against `profile`, or why it cannot be tested (a str)."""
    if not names:
        return {}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = max(1, min(cpus or 1, len(names), 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(
            lambda name: _score(profile, current, name, name in categorical, method), names
        )
        return dict(zip(names, results, strict=True))


def _score(
    profile: ReferenceProfile, current: pd.DataFrame, name: str, is_categorical: bool, method: str
) -> Scored | str:
    """One feature: its reference problem, its current problem, or its score."""
    ref_problem = profile.problems.get(name, "")
    missing = [
        label
        for label, gone in (
            ("reference", ref_problem == "missing"),
            ("current", name not in current.columns),
        )
        if gone
    ]
    if missing:
        return f"column {name!r} is missing from the {' and '.join(missing)} window"
    if ref_problem.startswith("not_numeric: "):
        return f"column {name!r} is not numeric: {ref_problem.removeprefix('not_numeric: ')}"
    if is_categorical:
        return _categorical(profile.categorical.get(name), current[name], name, method)
    return _numeric(profile.numeric.get(name), current[name], name, method)


def profiled_score(
    profile: ReferenceProfile, window: BatchProfile, name: str, is_categorical: bool, method: str
) -> Scored | str:
    """One feature's score from a window's merged batch profile, as `_score` from its rows."""
    ref_problem = profile.problems.get(name, "")
    if ref_problem == "missing" or name not in window.nulls:
        side = "reference" if ref_problem == "missing" else "current"
        return f"column {name!r} is missing from the {side} window"
    if ref_problem.startswith("not_numeric: "):
        return f"column {name!r} is not numeric: {ref_problem.removeprefix('not_numeric: ')}"
    if is_categorical:
        reference = profile.categorical.get(name)
        if reference is None:
            return f"column {name!r} is all null in the reference window"
        if name in window.too_many:
            return f"column {name!r} has too many distinct values to count in a profile"
        cur = category_counts(reference, window.counts.get(name, {}))
        return categorical_score(reference, cur, name, method)
    numeric = profile.numeric.get(name)
    if numeric is None:
        return f"column {name!r} is all null in the reference window"
    counts = window.bins.get(name)
    if counts is None:
        return f"column {name!r} is not numeric in the current window"
    return numeric_score(numeric, counts, name, method)


def _numeric(
    reference: NumericProfile | None, series: pd.Series, name: str, method: str
) -> Scored | str:
    try:
        values = float_values(series)
    except (TypeError, ValueError) as exc:
        return f"column {name!r} is not numeric: {exc}"
    if reference is None:
        return f"column {name!r} is all null in the reference window"
    return numeric_score(reference, reference.bin_counts(values), name, method)


def numeric_score(
    reference: NumericProfile, counts: np.ndarray, name: str, method: str
) -> Scored | str:
    """A numeric feature's score from the current window's counts over the reference's bins."""
    if not counts.any():
        return f"column {name!r} is all null in the current window"
    if method in ("ks", "tabular"):
        d, _ = ks_from_counts(reference.counts, counts, reference.solid)
        return d, "D", ks_p_value(d, reference.rows, int(counts.sum()))
    k = int(reference.coarse.max()) + 1
    ref = np.bincount(reference.coarse, weights=reference.counts, minlength=k)
    cur = np.bincount(reference.coarse, weights=counts, minlength=k)
    return _table(ref, cur, method)


def _categorical(
    reference: CategoricalProfile | None, series: pd.Series, name: str, method: str
) -> Scored | str:
    if reference is None:
        return f"column {name!r} is all null in the reference window"
    codes, uniques = factorize(series)
    index, known = reference.index, len(reference.categories)
    new = iter(range(known, known + len(uniques)))
    remap = np.array([_code(index, plain(u), new) for u in uniques] + [0], dtype=np.intp)
    cur = np.bincount(remap[codes[codes >= 0]], minlength=known)
    return categorical_score(reference, cur, name, method)


def category_counts(reference: CategoricalProfile, counts: Mapping[Any, int]) -> np.ndarray:
    """Counts per category (JSON values) laid out as the reference's, new categories after."""
    index, known = reference.index, len(reference.categories)
    cur = np.zeros(known, dtype=np.int64)
    extra = [c for value, c in counts.items() if value not in index and c]
    for value, c in counts.items():
        if value in index:
            cur[index[value]] += c
    return np.concatenate([cur, np.asarray(extra, dtype=np.int64)])


def categorical_score(
    reference: CategoricalProfile, cur: np.ndarray, name: str, method: str
) -> Scored | str:
    """A categorical feature's score from the current counts (the reference's categories first)."""
    if not cur.any():
        return f"column {name!r} is all null in the current window"
    ref = np.zeros(cur.size, dtype=np.int64)
    ref[: len(reference.categories)] = reference.counts
    return _table(ref, cur, method)


def _code(index: dict[Any, int], value: Any, new: Iterator[int]) -> int:
    """The code of a category: its reference position, or the next code after them."""
    found = index.get(value)
    return next(new) if found is None else found


def _table(ref: np.ndarray, cur: np.ndarray, method: str) -> Scored:
    """PSI, or chi-square p-value with Cramér's V, of two count vectors over the same bins."""
    if method == "psi":
        return psi(ref, cur), "PSI", None
    return cramers_v(ref, cur), "V", chi2_p_value(ref, cur)


def ks_p_value(d: float, n_ref: int, n_cur: int) -> float:
    """The asymptotic two-sided p-value of ``ks_2samp(..., method="asymp")``.

    scipy takes ``kstwo.sf(d, en)`` with en = n*m / (n+m); above ``KSTWO_MAX_N`` that costs
    seconds, so its limit ``kstwobign.sf(d * sqrt(en))`` is used (under 1% apart there).
    """
    from scipy.stats import kstwo, kstwobign

    en = float(n_ref) * float(n_cur) / (float(n_ref) + float(n_cur))
    if en <= KSTWO_MAX_N:
        p = kstwo.sf(d, np.round(en))
    else:
        p = kstwobign.sf(d * np.sqrt(en))
    return float(np.clip(p, 0.0, 1.0))


def chi2_p_value(ref: np.ndarray, cur: np.ndarray) -> float:
    """The chi-square test of the 2 x k count table (categories seen on either side)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table).pvalue)


def cramers_v(ref: np.ndarray, cur: np.ndarray) -> float:
    """Cramér's V of the 2 x k table of proportions, both windows weighted equally."""
    table = np.vstack([ref / ref.sum(), cur / cur.sum()])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi2_per_unit = float(np.sum((table - expected) ** 2 / expected) / table.sum())
    return float(np.sqrt(chi2_per_unit))  # min(rows, cols) - 1 == 1 for a two-row table


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Population Stability Index of two count vectors over the same bins."""
    p_ref = ref / ref.sum() + PSI_EPSILON
    p_cur = cur / cur.sum() + PSI_EPSILON
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


def ks_from_counts(ref: np.ndarray, cur: np.ndarray, solid: np.ndarray) -> tuple[float, float]:
    """Binned KS statistic D_b and the bound e with D_b <= D <= D_b + e, from per-bin counts."""
    p_ref, p_cur = ref / max(ref.sum(), 1), cur / max(cur.sum(), 1)
    gap = np.abs(np.cumsum(p_ref) - np.cumsum(p_cur))
    inside = np.minimum(p_ref, p_cur)[solid]
    return float(gap.max(initial=0.0)), float(inside.max(initial=0.0))
