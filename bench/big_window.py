"""Benchmark checking a window bigger than memory by merging batch profiles.

    OMP_NUM_THREADS=1 .venv/bin/python bench/big_window.py [--batches 20] [--rows 100000]
        [--row-group 131072] [--pandas-max-rows 5000000] [--folder DIR] [--keep]
        [--monitor [--repeat-later N]]

`--folder DIR` keeps the generated batches there and reuses them (a batch file that exists is
not generated again; the reference is); with `--monitor` the monitor's state in it (its MLflow
store, artifacts and the window's links) starts afresh at every run.

`--batches` Parquet files of `--rows` rows x 25 columns (20 float64 features, 5 categorical
with 8 levels), generated with a fixed seed, chunk by chunk; the current batches carry a known
shift (features f0..f2 by 0.5 sd, c0's levels reweighted), the reference (`--rows` rows) none.
The issue's size is `--batches 100 --rows 1000000` (100M rows, about 22 GB of Parquet).

Each phase runs in a process of its own, so its peak RSS (``ru_maxrss``) is its own:

* first check: every batch but the last is streamed, profiled against the reference profile
  and stored in MLflow (SQLite in the folder), the profiles merged, drift (KS for numeric, chi2
  for categorical, bonferroni, min_effect 0.1) and volume judged on the merge;
* later check: one new batch arrives; the stored profiles are loaded, the new batch profiled,
  everything merged and judged again;
* pandas (when the window has at most `--pandas-max-rows` rows): the window read into pandas
  and `detect_drift` binned against the same reference profile, as a check does today; then the
  exact tests (``scipy.stats.ks_2samp``, ``chi2_contingency``) on the same rows, whose verdicts
  the profile's must equal.

The monitor's own check path (`--monitor`): the phases `monitor-first` and `monitor-later` run
what `flows/monitor.py` runs for one check, without Prefect's orchestration, on a policy over
`window/*.parquet` (hard links to the batches) with `window: all`: `monitor.windows.load_windows`
(new batches read and judged), `drift_reference.reference_profile`, `profiled.profile_window`
(stored profiles loaded, new batches profiled), `decide.evaluate.evaluate` (drift KS and
volume; `c4` is the policy's target, so 24 columns are judged), `decide`, `settle`,
`profiled.keep_profiles` and the ledger's record (the watermark) in a real MLflow store.
`monitor-one` times profiling one 1M-row batch's frame (`profile_frame`, read as the monitor
reads it: text as categoricals) and streaming it from its file. `--repeat-later N` runs the
later check N more times from the same saved state (its time depends on the machine's other
load and on whether the two files it reads, the reference and the new batch, are in the page
cache).

Wall times exclude imports and creating the MLflow store's tables (both in the RSS).
Writes bench/results/big_window.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from window_check import drifted, in_child, monitor_check, peak_rss_mib

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = {"f0", "f1", "f2", "c0"}
LEVELS = [f"level{i}" for i in range(8)]
NOW = datetime(2026, 3, 1, tzinfo=UTC)
MIN_EFFECT, P_VALUE = 0.1, 0.05


def generate(path: Path, rows: int, seed: int, shifted: bool, row_group: int) -> None:
    """One batch of `rows` rows, written row group by row group (bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, row_group):
        n = min(row_group, rows - start)
        columns: dict[str, Any] = {}
        for i, name in enumerate(NUMERIC):
            shift = 0.5 if shifted and name in SHIFTED else 0.0
            columns[name] = rng.normal(shift + i * 0.1, 1.0, n)
        for name in CATEGORICAL:
            weights = np.ones(8) / 8
            if shifted and name in SHIFTED:
                weights = np.array([4, 1, 1, 1, 1, 1, 1, 2]) / 12
            columns[name] = pa.DictionaryArray.from_arrays(
                rng.choice(8, n, p=weights).astype(np.int8), LEVELS
            ).cast(pa.string())
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=row_group)
    if writer is not None:
        writer.close()


def phase_generate(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.folder)
    (folder / "current").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    generate(folder / "reference.parquet", args.rows, 0, False, args.row_group)
    for b in range(args.batches):
        path = folder / "current" / f"batch-{b:04d}.parquet"
        if not path.exists():
            generate(path, args.rows, b + 1, True, args.row_group)
    return {"seconds": time.perf_counter() - start}


def _reference() -> Any:
    import pandas as pd

    from retrain_core.checks.profile import build_profile

    frame = pd.read_parquet(Path(ARGS.folder) / "reference.parquet")
    return build_profile(frame, NUMERIC, CATEGORICAL), len(frame)


def phase_check(args: argparse.Namespace, batches: int) -> dict[str, Any]:
    """A check of the window of the first `batches` batches through stored batch profiles."""
    import mlflow  # noqa: F401  (imported before the clock starts, as a warm worker has it)
    import scipy.stats  # noqa: F401

    from retrain_core.checks.drift import detect_drift_profiled
    from retrain_core.checks.volume import check_volume
    from retrain_core.data.files import list_paths
    from retrain_core.monitor.batch_profiles import window_profile
    from retrain_core.store import Store

    reference, reference_rows = _reference()
    files = list_paths("current/*.parquet", "parquet", Path(args.folder))
    registry = Store(f"sqlite:///{args.folder}/mlflow.db").registry
    registry.store.experiment_id("big")  # the store's tables exist, as a worker's store has them
    start = time.perf_counter()
    window = window_profile(
        registry, "big", files, files.keys[:batches], reference, NUMERIC, CATEGORICAL, None, NOW
    )
    profiled = time.perf_counter()
    numeric = detect_drift_profiled(reference, window.profile, NUMERIC, [], "ks", P_VALUE,
                                    "bonferroni", MIN_EFFECT)  # fmt: skip
    categorical = detect_drift_profiled(reference, window.profile, [], CATEGORICAL, "chi2",
                                        P_VALUE, "bonferroni", MIN_EFFECT)  # fmt: skip
    volume = check_volume(window.profile.rows, reference_rows, increase_pct=50.0)
    end = time.perf_counter()
    return {
        "rows": window.profile.rows,
        "batches": window.batches,
        "profiled_now": window.profiled,
        "seconds": end - start,
        "profiles_seconds": profiled - start,
        "judge_seconds": end - profiled,
        "drifted": drifted(numeric[:-1] + categorical[:-1]),
        "volume": volume.status.value,
        "peak_rss_mib": peak_rss_mib(),
    }


POLICY = """
version: 1
name: big
model:
  task: classification
  target: c4
  features: {numeric: [%s], categorical: [c0, c1, c2, c3]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  reference: {path: reference.parquet}
  current: {path: "window/*.parquet", window: all}
triggers:
  any:
    - drift: {method: ks, p_value: 0.05, correction: bonferroni, min_effect: 0.1}
    - volume: {increase_pct: 50, compare_to: previous}
gate: {metric: accuracy, min: 0.1}
"""


def phase_monitor(args: argparse.Namespace, batches: int) -> dict[str, Any]:
    """One check of the monitor's path on the window of the first `batches` batches."""
    import os

    from retrain_core.policy.loader import load_policy
    from retrain_core.store import Store

    root = Path(args.folder)
    (root / "window").mkdir(exist_ok=True)
    for path in sorted((root / "current").glob("*.parquet"))[:batches]:
        if not (root / "window" / path.name).exists():
            os.link(path, root / "window" / path.name)
    (root / "big.yaml").write_text(POLICY % ", ".join(NUMERIC))
    loaded = load_policy(root / "big.yaml")
    store = Store(f"sqlite:///{args.folder}/monitor.db")
    store.experiment_id("big")
    now = NOW.replace(day=1 + batches % 28)
    result, _, _ = monitor_check(store, loaded, root, now)
    return {**result, "peak_rss_mib": peak_rss_mib()}


def phase_one(args: argparse.Namespace) -> dict[str, Any]:
    """Profiling one batch: from its frame in memory (as a check that just read it), and
    streamed from its file."""
    from retrain_core.checks.batch_profile import profile_chunks, profile_frame
    from retrain_core.data.files import (
        CHUNK_ROWS,
        iter_file,
        list_paths,
        read_files,
        tables_to_frame,
    )

    reference, _ = _reference()
    path = sorted((Path(args.folder) / "current").glob("*.parquet"))[0]
    files = list_paths(f"current/{path.name}", "parquet", Path(args.folder))
    # read as the monitor reads a profiled window's new batch: text as categoricals
    frame = tables_to_frame(read_files(files, files.keys, None, categories=True), None)
    start = time.perf_counter()
    profile_frame(frame, reference, NUMERIC, CATEGORICAL)
    framed = time.perf_counter()
    chunks = (
        b.to_pandas() for b in iter_file(files, files.paths[0], None, CHUNK_ROWS, categories=True)
    )
    profile_chunks(chunks, reference, NUMERIC, CATEGORICAL)
    end = time.perf_counter()
    return {"rows": len(frame), "frame_seconds": framed - start,
            "streamed_seconds": end - framed, "peak_rss_mib": peak_rss_mib()}  # fmt: skip


def phase_pandas(args: argparse.Namespace) -> dict[str, Any]:
    """The window read into pandas and checked as today; then the exact tests on its rows."""
    import pandas as pd
    from scipy.stats import chi2_contingency, ks_2samp

    from retrain_core.checks.drift import detect_drift

    reference, _ = _reference()
    ref_frame = pd.read_parquet(Path(args.folder) / "reference.parquet")
    paths = sorted((Path(args.folder) / "current").glob("*.parquet"))[: args.batches]
    start = time.perf_counter()
    window = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    read = time.perf_counter()
    numeric = detect_drift(ref_frame, window, NUMERIC, [], "ks", P_VALUE, "bonferroni",
                           MIN_EFFECT, profile=reference)  # fmt: skip
    categorical = detect_drift(ref_frame, window, [], CATEGORICAL, "chi2", P_VALUE,
                               "bonferroni", MIN_EFFECT, profile=reference)  # fmt: skip
    end = time.perf_counter()
    exact: dict[str, bool] = {}
    for name in NUMERIC:
        test = ks_2samp(ref_frame[name], window[name], method="asymp")
        exact[name] = test.pvalue < P_VALUE / len(NUMERIC) and test.statistic >= MIN_EFFECT
    for name in CATEGORICAL:
        table = pd.concat([ref_frame[name].value_counts(), window[name].value_counts()], axis=1)
        test = chi2_contingency(table.fillna(0).to_numpy().T)
        shares = table.fillna(0).to_numpy().T
        shares = shares / shares.sum(axis=1, keepdims=True)
        expected = shares.sum(axis=0, keepdims=True) / 2
        v = float(np.sqrt(np.sum((shares - expected) ** 2 / expected) / 2))
        exact[name] = test.pvalue < P_VALUE / len(CATEGORICAL) and v >= MIN_EFFECT
    return {
        "rows": len(window),
        "seconds": end - start,
        "read_seconds": read - start,
        "drifted": drifted(numeric[:-1] + categorical[:-1]),
        "exact_drifted": sorted(n for n, drifted in exact.items() if drifted),
        "peak_rss_mib": peak_rss_mib(),
    }


def _fresh_monitor(folder: Path) -> None:
    """A reused folder keeps its generated batches; the monitor's state (its MLflow store, its
    artifacts, the window's links) starts afresh, so the first check judges every batch."""
    import shutil

    (folder / "monitor.db").unlink(missing_ok=True)
    for name in ("artifacts", "window", "state-before-later"):
        shutil.rmtree(folder / name, ignore_errors=True)


def _keep_state(folder: Path, how: str) -> None:
    """Save the monitor's state before the later check, or restore it (and unlink the newest
    batch) so the same later check runs again: its time varies with the machine's other load
    and with whether the files are in the page cache."""
    import shutil

    saved = folder / "state-before-later"
    if how == "save":
        shutil.rmtree(saved, ignore_errors=True)
        saved.mkdir()
        shutil.copy2(folder / "monitor.db", saved / "monitor.db")
        shutil.copytree(folder / "artifacts", saved / "artifacts")
        return
    shutil.copy2(saved / "monitor.db", folder / "monitor.db")
    shutil.rmtree(folder / "artifacts", ignore_errors=True)
    shutil.copytree(saved / "artifacts", folder / "artifacts")
    newest = sorted((folder / "window").glob("*.parquet"))[-1]
    newest.unlink()


def _in_child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    return in_child(__file__, ["--phase", phase, "--folder", args.folder,
                               "--batches", str(args.batches), "--rows", str(args.rows),
                               "--row-group", str(args.row_group),
                               *(["--monitor"] if args.monitor else [])])  # fmt: skip


def main(args: argparse.Namespace) -> None:
    if args.phase:
        result = {
            "generate": lambda: phase_generate(args),
            "first": lambda: phase_check(args, args.batches - 1),
            "later": lambda: phase_check(args, args.batches),
            "pandas": lambda: phase_pandas(args),
            "monitor-first": lambda: phase_monitor(args, args.batches - 1),
            "monitor-later": lambda: phase_monitor(args, args.batches),
            "monitor-one": lambda: phase_one(args),
        }[args.phase]()
        print(json.dumps(result))
        return
    owned = args.folder is None
    args.folder = args.folder or tempfile.mkdtemp(prefix="big-window-")
    window_rows = args.batches * args.rows
    results: dict[str, Any] = {
        "batches": args.batches, "rows_per_batch": args.rows, "columns": 25,
        "window_rows": window_rows, "row_group": args.row_group,
    }  # fmt: skip
    phases = ["generate", "first", "later"]
    if args.monitor:
        phases = ["generate", "monitor-first", "monitor-later", "monitor-one"]
        _fresh_monitor(Path(args.folder))
    for phase in phases:
        if phase == "monitor-later":
            _keep_state(Path(args.folder), "save")
        results[phase] = _in_child(args, phase)
        print(phase, json.dumps(results[phase]), flush=True)
    for _ in range(args.repeat_later if args.monitor else 0):  # the same later check again
        _keep_state(Path(args.folder), "restore")
        again = _in_child(args, "monitor-later")
        results.setdefault("monitor-later-repeats", []).append(again)
        print("monitor-later (again)", json.dumps(again), flush=True)
    if window_rows <= args.pandas_max_rows and not args.monitor:
        results["pandas"] = _in_child(args, "pandas")
        print("pandas", json.dumps(results["pandas"]), flush=True)
        results["verdicts_equal_exact"] = (
            results["later"]["drifted"] == results["pandas"]["exact_drifted"]
        )
    results["expected_drifted"] = sorted(SHIFTED)
    later = results.get("later") or results["monitor-later"]
    expected = sorted(SHIFTED)
    results["verdicts_equal_known_shift"] = later["drifted"] == expected
    name = "big_window_monitor.json" if args.monitor else "big_window.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, dict)}))
    if owned and not args.keep:
        import shutil

        shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--row-group", type=int, default=131_072)
    parser.add_argument("--pandas-max-rows", type=int, default=5_000_000)
    parser.add_argument("--folder", default=None, help="keep the generated batches here")
    parser.add_argument("--keep", action="store_true", help="keep a temporary folder")
    parser.add_argument("--monitor", action="store_true", help="time the monitor's check path")
    parser.add_argument("--repeat-later", type=int, default=0,
                        help="--monitor: run the later check this many more times")  # fmt: skip
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    main(ARGS)
