"""Benchmark the monitor's checks on a large window against baselines measured in the same run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/monitor_checks.py [--rows 1000000] [--repeats 3]

The window is the issue's: 20 float64 features (3 shifted by 0.5 sd) and 5 categorical ones with
8 levels (one shifted), reference and current of `--rows` rows each. Rows printed:

* drift: `detect_drift` (KS + chi2, bonferroni, min_effect 0.1) with the reference profile
  against a plain loop of ``scipy.stats.ks_2samp`` / ``chi2_contingency`` over value_counts;
* quality: `run_expectations` with 10 expectations against the same checks written in pandas;
* drift + quality together, against the goal of 1.5 s;
* the reference profile (built once per model version or reference; a cache hit hashes it);
* a check's reference-profile step (`monitor.reference_profile`) in a new process, a fixed
  reference's profile stored in MLflow (SQLite in a temporary folder): its content hash and the
  stored profile loaded, against hashing and building it, as every new process did before;
* training data validation: the 10 expectations over reference + current (2x the rows), as
  training validated before it reused the checks' verdicts; then what it reads now that the
  current batch was judged by its check: the reference alone. With an expectation that
  great-expectations runs itself (a regex), also a later training whose reference passed before:
  only its verdict key (`verdict_key`). Baseline: the 2x-rows run, as before this change.

Ours and the baseline run interleaved; each reports its best wall time over the repeats (the
host is shared). Peak memory is the tracemalloc peak of one more run above what was allocated
before it (numpy buffers are traced; pandas' C hash tables are not), beside the window's bytes.
Verdicts are compared with exact tests on the same rows. Writes bench/results/monitor_checks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp

from retrain_core.checks.drift import detect_drift
from retrain_core.checks.profile import (
    ReferenceProfile,
    build_profile,
    cached_profile,
    content_key,
    forget,
)
from retrain_core.checks.validation import run_expectations, verdict_key
from retrain_core.kinds.context import Windows
from retrain_core.monitor.drift_reference import reference_profile
from retrain_core.monitor.windows import Loaded
from retrain_core.policy.schema import Policy
from retrain_core.store import Store

N_FLOAT, SHIFTED, N_CATEGORICAL, LEVELS = 20, 3, 5, 8
P_VALUE, MIN_EFFECT = 0.05, 0.1
RESULTS = Path(__file__).parent / "results" / "monitor_checks.json"
LABELS = [f"level{i}" for i in range(LEVELS)]
EXPECTATIONS: list[tuple[str, dict[str, Any]]] = [
    ("expect_column_values_to_not_be_null", {"column": "x0"}),
    ("expect_column_values_to_not_be_null", {"column": "x1"}),
    ("expect_column_values_to_not_be_null", {"column": "c0"}),
    ("expect_column_values_to_be_between", {"column": "x2", "min_value": -10, "max_value": 10}),
    ("expect_column_values_to_be_between", {"column": "x3", "min_value": 0}),
    ("expect_column_values_to_be_in_set", {"column": "c0", "value_set": LABELS}),
    ("expect_column_values_to_be_in_set", {"column": "c1", "value_set": LABELS[:4]}),
    ("expect_column_mean_to_be_between", {"column": "x4", "min_value": -1, "max_value": 1}),
    ("expect_column_max_to_be_between", {"column": "x5", "max_value": 100}),
    ("expect_table_row_count_to_be_between", {"min_value": 1}),
]


def make_windows(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Reference and current windows: x0..x19 (x0-x2 shifted) and c0..c4 (c0 shifted)."""
    rng = np.random.default_rng(seed)
    numeric = [f"x{i}" for i in range(N_FLOAT)]
    categorical = [f"c{i}" for i in range(N_CATEGORICAL)]
    labels = np.array(LABELS, dtype=object)
    frames = []
    for window in ("reference", "current"):
        # column by column, so each column is contiguous as when read from Parquet
        df = pd.DataFrame({column: rng.normal(size=n) for column in numeric})
        for j, column in enumerate(categorical):
            top = 3.0 if window == "current" and j == 0 else 1.0
            weights = np.linspace(1.0, top, LEVELS)
            df[column] = labels[rng.choice(LEVELS, size=n, p=weights / weights.sum())]
        frames.append(df)
    frames[1][numeric[:SHIFTED]] += 0.5
    return frames[0], frames[1], numeric, categorical


def scipy_drift(ref: pd.DataFrame, cur: pd.DataFrame, num: list[str], cat: list[str]) -> set[str]:
    """The plain scipy loop with the same rule: bonferroni, then KS D or Cramér's V >= 0.1."""
    drifted, threshold = set(), P_VALUE / (len(num) + len(cat))
    for column in num:
        result = ks_2samp(ref[column].to_numpy(), cur[column].to_numpy())
        if result.pvalue < threshold and result.statistic >= MIN_EFFECT:
            drifted.add(column)
    for column in cat:
        table = pd.concat([ref[column].value_counts(), cur[column].value_counts()], axis=1)
        counts = table.fillna(0).to_numpy().T
        _, p, _, _ = chi2_contingency(counts)
        shares = counts / counts.sum(axis=1, keepdims=True)
        if p < threshold and _cramers_v(shares) >= MIN_EFFECT:
            drifted.add(column)
    return drifted


def _cramers_v(shares: np.ndarray) -> float:
    expected = shares.sum(axis=1, keepdims=True) * shares.sum(axis=0, keepdims=True) / 2
    return float(np.sqrt(np.sum((shares - expected) ** 2 / expected) / 2))


def pandas_quality(df: pd.DataFrame) -> list[bool]:
    """The 10 expectations written directly in pandas."""

    def unexpected(mask: pd.Series) -> bool:
        return not bool(mask.any())

    return [
        unexpected(df["x0"].isna()),
        unexpected(df["x1"].isna()),
        unexpected(df["c0"].isna()),
        unexpected((df["x2"] < -10) | (df["x2"] > 10)),
        unexpected(df["x3"] < 0),
        unexpected(~df["c0"].isin(LABELS) & df["c0"].notna()),
        unexpected(~df["c1"].isin(LABELS[:4]) & df["c1"].notna()),
        -1 <= df["x4"].mean() <= 1,
        df["x5"].max() <= 100,
        len(df) >= 1,
    ]


def ours_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, num: list[str], cat: list[str], profile: Any = None
) -> set[str]:
    """detect_drift with the reference profile as stored with the model version."""
    outcomes = detect_drift(
        ref, cur, num, cat, p_value=P_VALUE, min_effect=MIN_EFFECT, min_share=0.2, profile=profile
    )
    return {o.check.split(".", 2)[2] for o in outcomes if o.failed and o.check != "drift.share"}


def ours_quality(df: pd.DataFrame) -> list[bool]:
    return [o.status.value == "pass" for o in run_expectations(df, EXPECTATIONS)]


GE_SUITE: list[tuple[str, dict[str, Any]]] = [
    ("expect_column_values_to_match_regex", {"column": "c0", "regex": "^level[0-7]$"}),
]
_passed: dict[str, list[bool]] = {}


def ge_quality(df: pd.DataFrame) -> list[bool]:
    return [o.status.value == "pass" for o in run_expectations(df, GE_SUITE)]


def first_training(ref: pd.DataFrame) -> list[bool]:
    """Training validation once the current batch was judged: the reference's key, then its run."""
    key = verdict_key(ref, GE_SUITE)
    _passed[key] = ge_quality(ref)
    return _passed[key]


def remembered(ref: pd.DataFrame) -> list[bool]:
    """A later training: the reference's verdict key is among those that passed, nothing runs."""
    return _passed[verdict_key(ref, GE_SUITE)]


def bench_policy(num: list[str], cat: list[str]) -> Policy:
    """A policy over the bench's features whose drift trigger tests against the fixed file."""
    return Policy.model_validate({
        "version": 1, "name": "bench",
        "model": {"task": "classification", "target": "y",
                  "features": {"numeric": num, "categorical": cat},
                  "estimator": {"class": "sklearn.linear_model.LogisticRegression"}},
        "data": {"reference": {"path": "ref.parquet"}, "current": {"path": "cur.parquet"},
                 "drift_reference": "reference"},
        "triggers": {"any": [{"drift": {"method": "ks"}}]},
        "gate": {"metric": "roc_auc", "min": 0.5},
    })  # fmt: skip


def profile_step(
    folder: str, ref: pd.DataFrame, cur: pd.DataFrame, num: list[str], cat: list[str]
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """A new process's profile step with the fixed reference's profile stored in MLflow, and
    the same process before profiles were stored: hash the reference, build its profile."""
    registry, policy = Store(f"sqlite:///{folder}/mlflow.db").registry, bench_policy(num, cat)
    data, now = Loaded(Windows(reference=ref, current=cur)), datetime.now(UTC)
    forget()
    reference_profile(registry, policy, data, now)  # the first check: builds and stores it

    def stored() -> ReferenceProfile | None:
        forget()
        return reference_profile(registry, policy, data, now).windows.profile

    def built() -> ReferenceProfile:
        forget()
        return cached_profile(ref, num, cat)

    return stored, built


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def peak_mb(fn: Callable[[], Any]) -> float:
    """Peak traced memory (MB) of one run, above what was allocated before it."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak / 2**20


def pair(
    case: str, ours: Callable[[], Any], base: Callable[[], Any], repeats: int, goal: str
) -> dict[str, Any]:
    """Interleaved best-of-`repeats` of ours and the baseline, then the peak memory of each."""
    ours_s, base_s, found, expected = [], [], None, None
    for _ in range(repeats):
        elapsed, found = best(ours, 1)
        ours_s.append(elapsed)
        elapsed, expected = best(base, 1)
        base_s.append(elapsed)
    return {
        "case": case,
        "ours_s": round(min(ours_s), 3),
        "baseline_s": round(min(base_s), 3),
        "speedup": round(min(base_s) / min(ours_s), 1),
        "ours_peak_mb": round(peak_mb(ours), 1),
        "baseline_peak_mb": round(peak_mb(base), 1),
        "same_verdicts": _same(found, expected),
        "goal": goal,
    }


def _same(a: Any, b: Any) -> bool:
    return sorted(a) == sorted(b) if isinstance(a, set) else a == b


def run(rows: int, repeats: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ref, cur, num, cat = make_windows(rows)
    window_mb = cur.memory_usage(deep=True).sum() / 2**20
    warm_ref, warm_cur, _, _ = make_windows(60_000, seed=1)
    ours_drift(warm_ref, warm_cur, num, cat)  # imports scipy's and numpy's lazy parts once
    ours_quality(warm_cur)
    ge_quality(warm_cur)  # imports great-expectations once
    start = time.perf_counter()
    profile = build_profile(ref, num, cat)
    profile_s = time.perf_counter() - start
    hit_s, _ = best(lambda: content_key(ref, num, cat), repeats)
    training = pd.concat([ref, cur], ignore_index=True)
    folder = tempfile.TemporaryDirectory()
    stored, built = profile_step(folder.name, ref, cur, num, cat)
    results = [
        pair("drift", lambda: ours_drift(ref, cur, num, cat, profile),
             lambda: scipy_drift(ref, cur, num, cat), repeats, ">= 5x faster than scipy"),
        pair("quality", lambda: ours_quality(cur), lambda: pandas_quality(cur), repeats,
             "<= 0.3 s, extra memory <= 0.2x the window"),
        pair("training data validation (2x rows)", lambda: ours_quality(training),
             lambda: pandas_quality(training), repeats, "once per batch: no GE pass"),
        pair("training validation, current judged: reference only", lambda: ours_quality(ref),
             lambda: ours_quality(training), repeats, "baseline = 2x rows (before)"),
        pair("GE regex, training, current judged: key + reference", lambda: first_training(ref),
             lambda: ge_quality(training), repeats, "baseline = GE on 2x rows (before)"),
        pair("GE regex, training, reference passed before: key only", lambda: remembered(ref),
             lambda: ge_quality(training), repeats, "baseline = GE on 2x rows (before)"),
        pair("reference profile, new process: stored in MLflow vs built", stored, built,
             repeats, "baseline = hash + build (before)"),
    ]  # fmt: skip
    loaded = stored()
    results[-1]["same_verdicts"] = loaded is not None and loaded.to_dict() == built().to_dict()
    folder.cleanup()
    both = results[0]["ours_s"] + results[1]["ours_s"]
    extra = {
        "window_mb": round(window_mb, 1),
        "drift_plus_quality_s": round(both, 3),
        "drift_plus_quality_goal_s": 1.5,
        "profile_build_s": round(profile_s, 2),
        "profile_cache_hit_s": round(hit_s, 3),
        "exact_drifted": sorted(scipy_drift(ref, cur, num, cat)),
    }
    return results, extra


def markdown(rows: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    lines = [
        "| case | ours s | baseline s | baseline/ours | ours peak MB | baseline peak MB "
        "| same verdicts | goal |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['ours_s']:.3f} | {r['baseline_s']:.3f} | {r['speedup']:.1f}x "
            f"| {r['ours_peak_mb']:.1f} | {r['baseline_peak_mb']:.1f} "
            f"| {'yes' if r['same_verdicts'] else 'NO'} | {r['goal']} |"
        )
    lines.append(
        f"\ndrift + quality: {extra['drift_plus_quality_s']:.2f} s (goal <= 1.5 s); "
        f"window {extra['window_mb']:.0f} MB (goal: extra memory <= 1.5x it); reference profile "
        f"built once in {extra['profile_build_s']:.2f} s, then loaded from MLflow by every new "
        f"process, keyed by a content hash of the reference ({extra['profile_cache_hit_s']:.3f} s)"
        f"; exact tests flag {extra['exact_drifted']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing runs per case")
    args = parser.parse_args(argv)
    rows, extra = run(args.rows, args.repeats)
    table = markdown(rows, extra)
    print(table)
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "repeats": args.repeats,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "results": rows, "extra": extra, "table": table}
    RESULTS.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
