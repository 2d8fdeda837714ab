"""A reference profile: what the drift checks need from the reference, small enough to store.

Per numeric feature a fine histogram whose edges are the reference's quantiles (``BINS`` bins of
equal mass), with every value that repeats often (an atom) in a bin of its own and every distinct
value in a bin of its own when there are at most ``BINS`` of them; per categorical feature the
category counts. A window binned against it gives the KS statistic from the binned CDFs, and the
chi-square and PSI tables from the same counts, without touching the reference rows again.

Error bound. The binned statistic D_b compares the two CDFs at the bin edges, where both are
exact, so D_b <= D. Inside a bin each CDF rises by at most its own share of the bin, so
D <= D_b + max over bins of min(ref share, current share); a bin holding one value has no inside,
so it adds nothing. Non-atom bins hold at most 1.5 / ``BINS`` of the reference (one quantile step
plus ties below the atom threshold), hence 0 <= D - D_b <= 1.5 / 1024 < 0.0015: far below any
``min_effect`` worth setting (0.05-0.1). Discrete features (at most ``BINS`` values) are exact.
Each profile records its own bound (``NumericProfile.bound``), and ``binned.ks_from_counts``
returns the bound that holds for a given window.

A champion's profile is computed once, when its training run stores its drift sample, and kept
with it (`reference/profile.json`, `to_dict`); the monitor loads it with the sample. A reference
without one (a fixed file, a version from before) is profiled once per content: the monitor
stores that profile in MLflow under its `content_key` (`monitor.reference_profile`) and later
checks load it. Either way a process keeps the few profiles it used last (`cached`, `remember`);
`builds` counts the profiles this process built.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from retrain_core.checks.columns import factorize, float_values, plain

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.schema import Policy

BINS = 1024  # equal-mass bins per numeric feature; the KS error is at most 1.5 / BINS
DECILES = 10  # the coarse bins of chi2 and PSI on numeric features (reference deciles)
GRID = 1 << 16  # cells of the uniform lookup grid that replaces most binary searches
CHUNK = 1 << 16  # values binned at a time
FORMAT = 1  # version of the to_dict layout
_CACHE_SIZE = 4

Json = dict[str, Any]


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """Bin edges (sorted), reference counts per bin (one more than edges) and the decile edges."""

    edges: np.ndarray
    counts: np.ndarray
    deciles: np.ndarray

    @property
    def rows(self) -> int:
        """Non-null reference values."""
        return int(self.counts.sum())

    @cached_property
    def solid(self) -> np.ndarray:
        """True for bins with an inside: all but the one-value bins [v, nextafter(v))."""
        solid = np.ones(self.edges.size + 1, dtype=bool)
        solid[1:-1] = self.edges[1:] != np.nextafter(self.edges[:-1], np.inf)
        solid[-1] = self.edges.size == 0 or self.edges[-1] != np.inf  # [inf, inf] is one value
        return solid

    @property
    def bound(self) -> float:
        """The most the KS statistic can be underestimated against this reference (any window)."""
        return float(self.counts[self.solid].max(initial=0) / max(self.rows, 1))

    @cached_property
    def coarse(self) -> np.ndarray:
        """For each fine bin, its decile bin (the decile edges are among the fine edges)."""
        lower = np.concatenate([[-np.inf], self.edges])
        return np.searchsorted(self.deciles, lower, side="right")

    def bin_counts(self, values: np.ndarray) -> np.ndarray:
        """Counts of `values` per bin (NaN ignored): one pass, a table lookup for most values.

        Taken in cache-sized chunks, so the temporaries stay small and in cache.
        """
        counts = np.zeros(self.edges.size + 2, dtype=np.int64)
        for start in range(0, values.size, CHUNK):
            codes = self._codes(values[start : start + CHUNK])
            counts += np.bincount(codes, minlength=counts.size)
        return counts[:-1]

    def _codes(self, values: np.ndarray) -> np.ndarray:
        """Bin of each value as searchsorted(edges, v, 'right'); NaN gets the extra last bin."""
        if self._grid is None:
            codes = np.searchsorted(self.edges, values, side="right")
            codes[np.isnan(values)] = self.edges.size + 1
            return codes
        lut, lo, scale = self._grid
        position = values * scale
        position += 2.0 - lo * scale
        np.clip(position, 0.0, GRID + 3.0, out=position)
        nan = np.isnan(position)
        if nan.any():
            position[nan] = GRID + 4.0
        codes = lut[position.astype(np.int32)]
        unsure = np.flatnonzero(codes < 0)  # cells with an edge inside: search exactly
        if unsure.size:
            codes[unsure] = np.searchsorted(self.edges, values[unsure], side="right")
        return codes

    @cached_property
    def _grid(self) -> tuple[np.ndarray, float, float] | None:
        """A uniform grid over the finite edges: each cell's bin, or -1 where an edge is inside."""
        finite = self.edges[np.isfinite(self.edges)]
        if finite.size < 8 or not finite[-1] > finite[0]:
            return None  # few edges: a binary search is as fast
        lo, hi = float(finite[0]), float(finite[-1])
        width, scale = (hi - lo) / GRID, GRID / (hi - lo)
        # rounding in v * scale + (2 - lo * scale) moves a value by far less than this
        margin = 16 * np.finfo(float).eps * (abs(lo) + abs(hi) + (hi - lo))
        cell = np.arange(GRID + 5, dtype=float)
        left, right = lo + (cell - 2) * width - margin, lo + (cell - 1) * width + margin
        left[0], right[GRID + 3] = -np.inf, np.inf
        first = np.searchsorted(self.edges, left, side="right")
        last = np.searchsorted(self.edges, right, side="right")
        lut = np.where(first == last, first, -1).astype(np.int32)
        lut[GRID + 4] = self.edges.size + 1  # NaN
        return lut, lo, scale


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """Reference categories (JSON values, in first-seen order) and their counts."""

    categories: tuple[Any, ...]
    counts: np.ndarray

    @cached_property
    def index(self) -> dict[Any, int]:
        """Position of each category."""
        return {c: i for i, c in enumerate(self.categories)}


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Per-feature profiles of one reference, and why any feature could not be profiled.

    `problems` maps a feature to ``missing``, ``all_null`` or ``not_numeric: <message>``.
    """

    key: str
    numeric: dict[str, NumericProfile] = field(default_factory=dict)
    categorical: dict[str, CategoricalProfile] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def covers(self, numeric: list[str], categorical: list[str]) -> bool:
        """True when every feature is here, as the same kind (or as a recorded problem)."""
        return all(n in self.numeric or n in self.problems for n in numeric) and all(
            c in self.categorical or c in self.problems for c in categorical
        )

    def to_dict(self) -> Json:
        """A JSON-safe dict (``json.dumps`` writes infinite edges as Infinity)."""
        return {
            "format": FORMAT,
            "key": self.key,
            "bins": BINS,
            "numeric": {
                name: {
                    "edges": p.edges.tolist(),
                    "counts": p.counts.tolist(),
                    "deciles": p.deciles.tolist(),
                }
                for name, p in self.numeric.items()
            },
            "categorical": {
                name: {"categories": list(p.categories), "counts": p.counts.tolist()}
                for name, p in self.categorical.items()
            },
            "problems": dict(self.problems),
        }

    @classmethod
    def from_dict(cls, data: Json) -> ReferenceProfile:
        """The profile `to_dict` wrote; ValueError for another format."""
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported reference profile format {data.get('format')!r}")
        numeric = {
            name: NumericProfile(
                np.asarray(p["edges"], dtype=np.float64),
                np.asarray(p["counts"], dtype=np.int64),
                np.asarray(p["deciles"], dtype=np.float64),
            )
            for name, p in data["numeric"].items()
        }
        categorical = {
            name: CategoricalProfile(tuple(p["categories"]), np.asarray(p["counts"], np.int64))
            for name, p in data["categorical"].items()
        }
        return cls(str(data["key"]), numeric, categorical, dict(data["problems"]))


def profile_from_frame(frame: pd.DataFrame, policy: Policy) -> ReferenceProfile:
    """The profile of a policy's model features in `frame` (cached by content in this process)."""
    features = policy.model.features
    return cached_profile(frame, list(features.numeric), list(features.categorical))


_cache: OrderedDict[str, ReferenceProfile] = OrderedDict()
_cache_lock = threading.Lock()
_builds = 0


def cached_profile(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> ReferenceProfile:
    """`build_profile`, once per distinct content in this process (a few kept, newest first)."""
    key = content_key(frame, numeric, categorical)
    return cached(key) or remember(build_profile(frame, numeric, categorical, key))


def cached(key: str) -> ReferenceProfile | None:
    """The profile of this content key kept in this process, or None."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def remember(profile: ReferenceProfile) -> ReferenceProfile:
    """Keep `profile` in this process under its key (the oldest of more than a few goes)."""
    with _cache_lock:
        _cache[profile.key] = profile
        _cache.move_to_end(profile.key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return profile


def forget() -> None:
    """Drop every profile kept in this process (as a new process starts)."""
    with _cache_lock:
        _cache.clear()


def builds() -> int:
    """How many profiles `build_profile` built in this process."""
    return _builds


def content_key(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> str:
    """A digest of the features' names, kinds, dtypes and values (not of the index).

    Text is digested as its codes and distinct values (the same sequence, without hashing every
    string again).
    """
    digest = hashlib.sha1(usedforsecurity=False)  # a content key, not a signature; SHA-NI fast
    for kind, names in (("numeric", numeric), ("categorical", categorical)):
        for name in names:
            digest.update(f"\0{kind}\0{name}\0".encode())
            if name not in frame.columns:
                continue
            series = frame[name]
            digest.update(_dtype_name(series).encode())
            if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biufcmM":
                values = series.to_numpy()
                digest.update(np.ascontiguousarray(values).view(np.uint8).data)
            else:
                codes, uniques = factorize(series)
                digest.update(np.ascontiguousarray(codes).view(np.uint8).data)
                digest.update(repr([(type(u).__name__, u) for u in uniques]).encode())
    return digest.hexdigest()


def _dtype_name(series: pd.Series) -> str:
    """The column's dtype, text read as categoricals named as the text it holds (one key for
    the same rows however they were read)."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return str(series.cat.categories.dtype)
    return str(series.dtype)


def build_profile(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str], key: str = ""
) -> ReferenceProfile:
    """Profile the given features of `frame` (no cache; see `cached_profile`)."""
    global _builds
    with _cache_lock:
        _builds += 1
    profile = ReferenceProfile(key or content_key(frame, numeric, categorical))
    for name in dict.fromkeys([*numeric, *categorical]):
        if name not in frame.columns:
            profile.problems[name] = "missing"
        elif name in categorical:
            cat = categorical_profile(frame[name])
            if cat.counts.size:
                profile.categorical[name] = cat
            else:
                profile.problems[name] = "all_null"
        else:
            try:
                values = float_values(frame[name])
            except (TypeError, ValueError) as exc:
                profile.problems[name] = f"not_numeric: {exc}"
                continue
            values = values[~np.isnan(values)]
            if values.size:
                profile.numeric[name] = numeric_profile(values)
            else:
                profile.problems[name] = "all_null"
    return profile


def numeric_profile(values: np.ndarray) -> NumericProfile:
    """Equal-mass bins over non-null `values`, atoms and decile edges as bin edges of their own."""
    ordered = np.sort(values)
    n = ordered.size
    distinct, counts = _runs(ordered)
    if distinct.size <= BINS:
        atoms = distinct
        steps = np.empty(0)
    else:
        atoms = distinct[counts * 2 * BINS >= n]
        steps = ordered[(np.arange(1, BINS) * n) // BINS]
    deciles = np.unique(np.quantile(ordered, np.linspace(0, 1, DECILES + 1)[1:-1]))
    edges = np.unique(
        np.concatenate([ordered[:1], steps, atoms, np.nextafter(atoms, np.inf), deciles])
    )
    below = np.searchsorted(ordered, edges, side="left")  # values < each edge
    bins = np.diff(np.concatenate([[0], below, [n]]))
    return NumericProfile(edges, bins.astype(np.int64), deciles)


def _runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def categorical_profile(series: pd.Series) -> CategoricalProfile:
    """Category counts of non-null values, categories as plain JSON values in first-seen order."""
    codes, uniques = factorize(series)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return CategoricalProfile(tuple(plain(u) for u in uniques), counts.astype(np.int64))
