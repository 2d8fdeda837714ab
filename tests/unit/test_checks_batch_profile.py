"""Batch profiles: computed per chunk, merged by adding, and the window's checks from the merge
give the verdicts of the row-level checks (a parity corpus of shifted and unshifted columns)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from retrain_core.checks.batch_profile import BatchProfile, merge, profile_chunks, profile_frame
from retrain_core.checks.drift import detect_drift, detect_drift_profiled
from retrain_core.checks.fastexpect import fast_result
from retrain_core.checks.freshness import check_freshness
from retrain_core.checks.profile import BINS, build_profile
from retrain_core.checks.profile_expect import from_profile, streamed
from retrain_core.checks.volume import check_volume

NUMERIC = ["normal", "mean_shift", "scale_shift", "tiny_shift", "discrete", "heavy_tail", "gappy"]
CATEGORICAL = ["plan", "plan_shift", "region"]


def frame(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = 1.0 if shifted else 0.0
    gappy = rng.normal(size=rows)
    gappy[rng.random(rows) < 0.1] = np.nan
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=seed)
    return pd.DataFrame({
        "normal": rng.normal(size=rows),
        "mean_shift": rng.normal(0.5 * s, 1.0, rows),
        "scale_shift": rng.normal(0.0, 1.0 + 2 * s, rows),
        "tiny_shift": rng.normal(0.005 * s, 1.0, rows),  # significant at this size, too small
        "discrete": rng.integers(0, 7, rows).astype(float),
        "heavy_tail": rng.standard_cauchy(rows),
        "gappy": gappy,
        "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.5, 0.3, 0.2]),
        "plan_shift": rng.choice(["basic", "pro", "team", "new"], rows,
                                 p=[0.3, 0.3, 0.2, 0.2] if shifted else [0.5, 0.3, 0.2, 0.0]),
        "region": rng.choice(["eu", "us"], rows),
        "at": start + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s"),
    })  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    reference = frame(80_000, 0, shifted=False)
    batches = [frame(25_000, i, shifted=i >= 3) for i in range(1, 6)]
    return reference, batches


def chunks(df: pd.DataFrame, rows: int = 7_000) -> list[pd.DataFrame]:
    return [df.iloc[i : i + rows] for i in range(0, len(df), rows)]


@pytest.mark.parametrize("method", ["ks", "chi2", "psi"])
@pytest.mark.parametrize("window", [slice(0, 2), slice(2, 5), slice(0, 5)])
def test_drift_of_merged_profiles_equals_drift_of_the_rows(corpus, method, window) -> None:
    reference, batches = corpus
    ref = build_profile(reference, NUMERIC, CATEGORICAL)
    parts = [profile_chunks(chunks(b), ref, NUMERIC, CATEGORICAL, "at") for b in batches[window]]
    merged = merge(parts)
    rows = pd.concat(batches[window], ignore_index=True)
    profiled = detect_drift_profiled(ref, merged, NUMERIC, CATEGORICAL, method=method)
    exact = detect_drift(reference, rows, NUMERIC, CATEGORICAL, method=method, profile=ref)
    assert [(o.check, o.status, o.reason) for o in profiled] == [
        (o.check, o.status, o.reason) for o in exact
    ]


def test_merged_ks_is_within_the_stated_bound_of_the_exact_test(corpus) -> None:
    reference, batches = corpus
    ref = build_profile(reference, NUMERIC, CATEGORICAL)
    merged = merge([profile_frame(b, ref, NUMERIC, CATEGORICAL) for b in batches])
    rows = pd.concat(batches, ignore_index=True)
    outcomes = {o.check: o for o in detect_drift_profiled(ref, merged, NUMERIC, CATEGORICAL)}
    for name in NUMERIC:
        exact = ks_2samp(reference[name].dropna(), rows[name].dropna()).statistic
        binned = outcomes[f"drift.ks.{name}"].observed
        assert binned <= exact + 1e-12
        assert exact - binned <= 1.5 / BINS
    drifted = {n for n in NUMERIC + CATEGORICAL if outcomes[f"drift.ks.{n}"].failed}
    assert drifted == {"mean_shift", "scale_shift", "plan_shift"}  # categorical: V of chi2
    chi2 = {o.check: o for o in detect_drift_profiled(ref, merged, NUMERIC, CATEGORICAL, "chi2")}
    assert chi2["drift.chi2.plan_shift"].failed and not chi2["drift.chi2.plan"].failed


def test_a_profile_survives_json_and_merging_is_adding(corpus) -> None:
    """Its JSON (format 2, and the format 1 stored before it) reads back the same counts."""
    reference, batches = corpus
    ref = build_profile(reference, NUMERIC, CATEGORICAL)
    one = profile_chunks(chunks(batches[0]), ref, NUMERIC, CATEGORICAL, "at", key="k")
    whole = profile_frame(batches[0], ref, NUMERIC, CATEGORICAL, "at")
    back = BatchProfile.from_dict(json.loads(json.dumps(one.to_dict())))
    listed = {**one.to_dict(), "format": 1}  # stored before the packed bins: still read
    listed["bins"] = {name: counts.tolist() for name, counts in one.bins.items()}
    old = BatchProfile.from_dict(json.loads(json.dumps(listed)))
    for p in (one, back, old):
        assert p.rows == whole.rows and p.nulls == whole.nulls and p.counts == whole.counts
        assert p.low == whole.low and p.high == whole.high and p.newest == whole.newest
        assert all(np.array_equal(p.bins[n], whole.bins[n]) for n in whole.bins)
    assert back.key == "k" and back.nulls["gappy"] == int(batches[0]["gappy"].isna().sum())
    other = build_profile(reference.iloc[:1000], NUMERIC, CATEGORICAL)
    with pytest.raises(ValueError, match="different references"):
        merge([one, profile_frame(batches[1], other, NUMERIC, CATEGORICAL)])


def test_volume_freshness_and_expectations_from_the_merged_profile(corpus) -> None:
    reference, batches = corpus
    ref = build_profile(reference, NUMERIC, CATEGORICAL)
    merged = merge([profile_frame(b, ref, NUMERIC, CATEGORICAL, "at") for b in batches])
    rows = pd.concat(batches, ignore_index=True)
    assert check_volume(merged.rows, len(reference), increase_pct=50).failed
    newest = datetime.fromisoformat(merged.newest or "")
    assert newest == rows["at"].max()
    now = rows["at"].max() + timedelta(hours=2)
    assert check_freshness(newest, now, timedelta(hours=1)).failed
    tiers = ["basic", "pro", "team"]
    suite = [
        ("expect_column_values_to_not_be_null", {"column": "gappy"}),
        ("expect_column_values_to_not_be_null", {"column": "gappy", "mostly": 0.8}),
        ("expect_column_values_to_not_be_null", {"column": "normal"}),
        ("expect_column_values_to_be_in_set", {"column": "plan_shift", "value_set": tiers}),
        ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": tiers}),
        ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": ["basic"],
                                               "mostly": 0.4}),
        ("expect_column_values_to_not_be_in_set", {"column": "region", "value_set": ["cn"]}),
        ("expect_column_values_to_be_between", {"column": "discrete", "max_value": 6}),
        ("expect_column_values_to_be_between", {"column": "discrete", "max_value": 5}),
        ("expect_column_min_to_be_between", {"column": "normal", "min_value": -10}),
        ("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 100_000}),
    ]  # fmt: skip
    for name, kwargs in suite:
        answer = from_profile(merged, name, kwargs)
        truth = fast_result(rows, name, kwargs)
        assert answer is not None and truth is not None, (name, kwargs)
        assert answer.success == truth.success, (name, kwargs)
        if "unexpected_count" in answer.result:
            assert answer.result["unexpected_count"] == truth.result["unexpected_count"]
    between = {"column": "normal", "min_value": -3, "max_value": 3, "mostly": 0.99}
    assert from_profile(merged, "expect_column_values_to_be_between", between) is None
    answer = streamed(chunks(rows), "expect_column_values_to_be_between", between)
    truth = fast_result(rows, "expect_column_values_to_be_between", between)
    assert answer is not None and truth is not None and answer.success == truth.success
    assert answer.result["unexpected_count"] == truth.result["unexpected_count"]
