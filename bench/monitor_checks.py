"""Benchmark detect_drift against a plain scipy loop on the same data, in the same process.

    .venv/bin/python bench/monitor_checks.py [--sizes 100000 1000000]

Two cases per window size: ``ks`` on 25 numeric features (3 shifted by 0.5 std) against a
``scipy.stats.ks_2samp`` loop, and ``chi2`` on 5 categorical features (10 categories, one
shifted) against ``value_counts`` + ``scipy.stats.chi2_contingency``. Ours and the baseline
run interleaved and each reports its best wall time over the repeats (the host may be shared);
peak memory is measured in one more run each under tracemalloc, as the peak above what was
allocated before the call. tracemalloc sees numpy buffers but not pandas' C hash tables, so the
value_counts baseline reads low. Library imports are
warmed up first, so neither side pays them. Prints a markdown table and writes
bench/results/monitor_checks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp

from retrain_core.checks.drift import detect_drift

N_NUMERIC, SHIFTED_NUMERIC, N_CATEGORICAL, N_CATEGORIES = 25, 3, 5, 10
RESULTS = Path(__file__).parent / "results" / "monitor_checks.json"


def make_windows(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Reference and current windows: numeric x0..x24 and categorical c0..c4, a few shifted."""
    rng = np.random.default_rng(seed)
    numeric = [f"x{i}" for i in range(N_NUMERIC)]
    categorical = [f"c{i}" for i in range(N_CATEGORICAL)]
    labels = np.array([f"cat{i}" for i in range(N_CATEGORIES)], dtype=object)
    frames = []
    for window in ("reference", "current"):
        df = pd.DataFrame(rng.normal(size=(n, N_NUMERIC)), columns=numeric)
        for j, column in enumerate(categorical):
            weights = np.linspace(1.0, 3.0 if window == "current" and j == 0 else 1.0, N_CATEGORIES)
            df[column] = labels[rng.choice(N_CATEGORIES, size=n, p=weights / weights.sum())]
        frames.append(df)
    frames[1][numeric[:SHIFTED_NUMERIC]] += 0.5
    return frames[0], frames[1], numeric, categorical


def baseline_ks(ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str]) -> set[str]:
    """A plain ks_2samp loop with the same bonferroni + D >= 0.1 rule."""
    drifted = set()
    for column in columns:
        result = ks_2samp(ref[column].to_numpy(), cur[column].to_numpy())
        if result.pvalue < 0.05 / len(columns) and result.statistic >= 0.1:
            drifted.add(column)
    return drifted


def baseline_chi2(ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str]) -> set[str]:
    """value_counts + chi2_contingency per column, bonferroni only (no effect size)."""
    drifted = set()
    for column in columns:
        table = pd.concat([ref[column].value_counts(), cur[column].value_counts()], axis=1)
        _, p, _, _ = chi2_contingency(table.fillna(0).to_numpy().T)
        if p < 0.05 / len(columns):
            drifted.add(column)
    return drifted


def ours(method: str) -> Callable[[pd.DataFrame, pd.DataFrame, list[str]], set[str]]:
    def run(ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str]) -> set[str]:
        numeric, categorical = (columns, []) if method == "ks" else ([], columns)
        outcomes = detect_drift(ref, cur, numeric, categorical, method=method)
        return {o.check.split(".", 2)[2] for o in outcomes if o.failed and o.check != "drift.share"}

    return run


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_mb(fn: Callable[[], Any]) -> float:
    """Peak traced memory (MB) of one run, above what was allocated before it."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak / 2**20


def compare(ours_fn: Callable[[], Any], base_fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """Interleaved runs (ours, baseline, ours, ...): best time of each, then peak memory of each."""
    ours_times, base_times = [], []
    for _ in range(repeats):
        elapsed, ours_found = timed(ours_fn)
        ours_times.append(elapsed)
        elapsed, base_found = timed(base_fn)
        base_times.append(elapsed)
    return {
        "ours_s": round(min(ours_times), 3),
        "baseline_s": round(min(base_times), 3),
        "time_ratio": round(min(ours_times) / min(base_times), 2),
        "ours_peak_mb": round(peak_mb(ours_fn), 1),
        "baseline_peak_mb": round(peak_mb(base_fn), 1),
        "drifted_ours": sorted(ours_found),
        "drifted_baseline": sorted(base_found),
    }


def bench_size(n: int, repeats: int) -> list[dict[str, Any]]:
    ref, cur, numeric, categorical = make_windows(n)
    rows = []
    for method, columns, baseline, name in (
        ("ks", numeric, baseline_ks, "ks_2samp loop"),
        ("chi2", categorical, baseline_chi2, "chi2_contingency loop"),
    ):
        ours_fn = partial(ours(method), ref, cur, columns)
        base_fn = partial(baseline, ref, cur, columns)
        case = {"case": f"{method}, {len(columns)} features", "rows": n, "baseline": name}
        rows.append(case | compare(ours_fn, base_fn, repeats))
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | rows (each window) | ours s | baseline s | ratio ours/baseline "
        "| ours peak MB | baseline peak MB | same features flagged |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        same = "yes" if r["drifted_ours"] == r["drifted_baseline"] else "no"
        lines.append(
            f"| {r['case']} vs {r['baseline']} | {r['rows']:,} | {r['ours_s']:.2f} "
            f"| {r['baseline_s']:.2f} | {r['time_ratio']:.2f} | {r['ours_peak_mb']:.1f} "
            f"| {r['baseline_peak_mb']:.1f} | {same} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing runs per case")
    args = parser.parse_args(argv)
    warm_ref, warm_cur, numeric, categorical = make_windows(1_000)
    detect_drift(warm_ref, warm_cur, numeric[:2], categorical[:1])  # imports alibi-detect once
    rows = [row for n in args.sizes for row in bench_size(n, args.repeats)]
    table = markdown(rows)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "repeats": args.repeats,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    RESULTS.write_text(json.dumps({"meta": meta, "results": rows, "table": table}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
