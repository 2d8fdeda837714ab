"""The reference profile and binned drift scores against exact tests on a corpus of shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from retrain_core.checks import binned
from retrain_core.checks.binned import EXACT_MAX_ROWS, chi2_p_value, ks_from_counts, ks_p_value
from retrain_core.checks.drift import detect_drift
from retrain_core.checks.profile import (
    BINS,
    ReferenceProfile,
    build_profile,
    cached_profile,
    numeric_profile,
)

N = EXACT_MAX_ROWS + 10_000  # above the exact limit: detect_drift bins these windows
BOUND = 1.5 / BINS  # the stated bound on D - D_binned

Shape = Callable[[np.random.Generator, int], np.ndarray]
SHAPES: dict[str, Shape] = {
    "normal": lambda g, n: g.normal(size=n),
    "lognormal (skewed)": lambda g, n: g.lognormal(0.0, 1.0, size=n),
    "very skewed": lambda g, n: g.lognormal(0.0, 4.0, size=n),
    "cauchy (heavy tails)": lambda g, n: g.standard_cauchy(size=n),
    "pareto": lambda g, n: g.pareto(0.7, size=n),
    "zero-inflated": lambda g, n: np.where(g.random(n) < 0.6, 0.0, g.exponential(size=n)),
    "integers (ties)": lambda g, n: g.poisson(3.0, size=n).astype(float),
    "few values": lambda g, n: g.choice([1.5, 2.5, 10.0], size=n, p=[0.2, 0.5, 0.3]),
    "many ties": lambda g, n: np.round(g.normal(size=n), 2),
    "big offset": lambda g, n: 1.7e9 + g.normal(size=n),
    "nan-rich": lambda g, n: np.where(g.random(n) < 0.4, np.nan, g.normal(size=n)),
    "with infinities": lambda g, n: np.where(g.random(n) < 0.01, np.inf, g.normal(size=n)),
}
SHIFTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda v: v,
    "tiny": lambda v: v + 0.01 * np.nanstd(v[np.isfinite(v)]),
    "location": lambda v: v + 0.2 * np.nanstd(v[np.isfinite(v)]),
    "scale": lambda v: v * 1.3,
    "upper tail": lambda v: np.where(v > np.nanquantile(v[np.isfinite(v)], 0.9), v * 2, v),
}


def _pair(shape: str, shift: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = SHAPES[shape](rng, N)
    return reference, SHIFTS[shift](SHAPES[shape](rng, N))


def _corpus() -> list[Any]:
    """Every shape under every shift: one shift of each shape in the unit tier, the rest (~2 CPU
    seconds of exact ks_2samp on large windows) in the integration tier."""
    slow = pytest.mark.integration
    return [
        pytest.param(shape, shift, id=f"{shape}-{shift}", marks=() if shift == "location" else slow)
        for shape in SHAPES
        for shift in SHIFTS
    ]


@pytest.mark.parametrize(("shape", "shift"), _corpus())
def test_binned_ks_is_within_the_stated_bound_of_exact_ks(shape: str, shift: str) -> None:
    reference, current = _pair(shape, shift, seed=len(shape) * 31 + len(shift))
    profile = numeric_profile(reference[~np.isnan(reference)])
    assert profile.bound <= BOUND
    counts = profile.bin_counts(current)
    d_binned, bound = ks_from_counts(profile.counts, counts, profile.solid)
    exact = ks_2samp(reference[~np.isnan(reference)], current[~np.isnan(current)]).statistic
    assert bound <= profile.bound + 1e-12
    assert d_binned - 1e-12 <= exact <= d_binned + bound + 1e-12
    if shape in ("integers (ties)", "few values"):
        assert d_binned == pytest.approx(exact, abs=1e-12)  # discrete features are exact


@pytest.mark.integration  # a corpus against exact ks_2samp on large windows (~8 s)
@pytest.mark.parametrize("shape", SHAPES)
def test_drift_verdicts_match_exact_ks_except_within_the_bound(shape: str) -> None:
    names = list(SHIFTS)
    rng = np.random.default_rng(len(shape))
    reference = pd.DataFrame({s: SHAPES[shape](rng, N) for s in names})
    current = pd.DataFrame({s: SHIFTS[s](SHAPES[shape](rng, N)) for s in names})
    for min_effect in (0.01, 0.05, 0.1):
        outcomes = detect_drift(reference, current, names, [], min_effect=min_effect)
        threshold = 0.05 / len(names)
        for name, outcome in zip(names, outcomes, strict=False):
            ref, cur = reference[name].dropna(), current[name].dropna()
            exact = ks_2samp(ref, cur, method="asymp")
            drifted = exact.pvalue < threshold and exact.statistic >= min_effect
            if outcome.failed != drifted:  # only where the bound leaves the answer open
                assert outcome.observed is not None
                lowest_p = ks_p_value(outcome.observed + BOUND, len(ref), len(cur))
                open_effect = outcome.observed < min_effect <= outcome.observed + BOUND
                assert open_effect or lowest_p < threshold, (name, outcome.reason, exact)


def test_binning_matches_a_binary_search_on_awkward_values() -> None:
    rng = np.random.default_rng(3)
    for values in (rng.normal(size=50_000), 1e12 + rng.integers(0, 5000, 50_000) * 1e-3):
        profile = numeric_profile(np.sort(values))
        edges = profile.edges
        probes = np.concatenate(
            [
                edges,
                np.nextafter(edges, np.inf),
                np.nextafter(edges, -np.inf),
                rng.choice(values, 10_000),
                [np.inf, -np.inf, np.nan, edges[0] - 1e6, edges[-1] + 1e6],
            ]
        )
        expected = np.searchsorted(edges, probes, side="right")
        expected[np.isnan(probes)] = edges.size + 1
        assert profile._grid is not None
        assert np.array_equal(profile._codes(probes), expected)


def test_constant_and_all_null_columns() -> None:
    frame = pd.DataFrame({"constant": np.full(N, 4.0), "empty": np.full(N, np.nan)})
    current = pd.DataFrame({"constant": np.full(N, 4.0), "empty": np.ones(N)})
    outcomes = detect_drift(frame, current, ["constant", "empty"], [])
    assert outcomes[0].observed == 0.0 and not outcomes[0].failed
    assert outcomes[1].reason == "column 'empty' is all null in the reference window"
    moved = detect_drift(frame, current.assign(constant=5.0), ["constant"], [])
    assert moved[0].failed and moved[0].observed == 1.0


def test_categorical_counts_give_alibis_chi_square_and_new_categories_count() -> None:
    rng = np.random.default_rng(5)
    levels = np.array([f"level{i}" for i in range(300)], dtype=object)
    reference = pd.DataFrame({"c": levels[rng.zipf(1.5, N) % 300]})
    shifted = levels[rng.integers(0, 300, N)]
    shifted[:500] = "brand new"
    shifted[500:900] = None
    current = pd.DataFrame({"c": shifted})
    outcome = detect_drift(reference, current, [], ["c"])[0]
    ref_counts = reference["c"].value_counts()
    cur_counts = current["c"].value_counts()
    table = pd.concat([ref_counts, cur_counts], axis=1).fillna(0).to_numpy().T
    assert outcome.failed and outcome.observed is not None
    _, p, _, _ = chi2_contingency(table)
    assert chi2_p_value(table[0], table[1]) == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert outcome.observed == pytest.approx(binned.cramers_v(table[0], table[1]))


def test_binned_chi2_and_psi_on_numeric_use_the_same_deciles_as_the_exact_path() -> None:
    rng = np.random.default_rng(9)
    big_ref = pd.DataFrame({"x": rng.normal(size=N)})
    big_cur = pd.DataFrame({"x": rng.normal(0.1, 1.0, size=N)})
    for method in ("chi2", "psi"):
        binned_outcome = detect_drift(big_ref, big_cur, ["x"], [], method=method)[0]
        # the same rows, tested exactly: split in halves that each stay under the exact limit
        exact = _exact(big_ref, big_cur, method)
        assert binned_outcome.observed == pytest.approx(exact, rel=1e-9)


def _exact(reference: pd.DataFrame, current: pd.DataFrame, method: str) -> float:
    from retrain_core.checks.exact import _prepare, _score_one

    feature = _prepare(reference, current, "x", is_numeric=True)
    assert not isinstance(feature, str)
    return _score_one(feature, method, 0.05).effect


def test_profile_round_trips_through_json_and_gives_the_same_outcomes() -> None:
    rng = np.random.default_rng(11)
    reference = pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "n": rng.poisson(2.0, size=N),
            "c": rng.choice(["a", "b", "c"], size=N),
            "k": rng.choice([1, 2, 3], size=N),
        }
    )
    current = reference.sample(frac=1.0, random_state=1).reset_index(drop=True)
    current["x"] += 0.3
    profile = build_profile(reference, ["x", "n", "gone"], ["c", "k"])
    stored = ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert stored.problems == {"gone": "missing"}
    args = (reference, current, ["x", "n", "gone"], ["c", "k"])
    assert detect_drift(*args, profile=stored) == detect_drift(*args, profile=profile)
    assert detect_drift(*args, profile=stored) == detect_drift(*args)


def test_cache_profiles_a_reference_once_per_content() -> None:
    rng = np.random.default_rng(13)
    reference = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b"], 1000)})
    first = cached_profile(reference, ["x"], ["c"])
    assert cached_profile(reference.copy(), ["x"], ["c"]) is first
    changed = reference.copy()
    changed.loc[5, "c"] = "z"
    assert cached_profile(changed, ["x"], ["c"]) is not first
    assert cached_profile(reference, ["x", "c"], []) is not first  # another kind, another key


def test_factorize_matches_pandas_on_shared_and_distinct_objects() -> None:
    from retrain_core.checks.columns import factorize

    rng = np.random.default_rng(17)
    labels = np.array(["a", "b", None, "c", np.nan, 1, 1.0, True, "1"], dtype=object)
    shared = labels[rng.integers(0, len(labels), 50_000)]
    copies = np.array([x + "" if isinstance(x, str) else x for x in shared], dtype=object)
    many = np.array([f"v{i}" for i in rng.integers(0, 40_000, 50_000)], dtype=object)
    for values in (shared, copies, shared[::3], many, shared[:100]):
        codes, uniques = factorize(pd.Series(values))
        expected_codes, expected_uniques = pd.factorize(pd.Series(values))
        assert np.array_equal(codes, expected_codes)
        assert list(uniques) == list(expected_uniques)


def test_profile_from_frame_covers_the_policys_features_and_is_cached() -> None:
    from pathlib import Path

    from retrain_core.checks.profile import profile_from_frame
    from retrain_core.policy.loader import load_policy

    policy = load_policy(Path(__file__).parents[2] / "policies" / "churn.yaml").policy
    features = policy.model.features
    rng = np.random.default_rng(19)
    frame = pd.DataFrame({name: rng.normal(size=500) for name in features.numeric})
    for name in features.categorical:
        frame[name] = rng.choice(["a", "b"], size=500)
    profile = profile_from_frame(frame, policy)
    assert set(profile.numeric) == set(features.numeric)
    assert set(profile.categorical) == set(features.categorical)
    assert profile.covers(list(features.numeric), list(features.categorical))
    assert profile_from_frame(frame.copy(), policy) is profile
