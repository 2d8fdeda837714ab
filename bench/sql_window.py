"""Benchmark checking a PostgreSQL window by pushdown: the database counts, the rows stay there.

    OMP_NUM_THREADS=1 nice .venv/bin/python bench/sql_window.py [--rows 10000000]
        [--pandas-rows 1000000] [--reference-rows 200000] [--chunk 250000] [--url URL] [--keep]
        [--monitor]

Loads `--rows` rows x 25 columns (20 float8 features, 5 text categoricals with 8 levels, plus a
timestamp and a sequence number) into a new PostgreSQL database with COPY, chunk by chunk
(seeded; bounded memory), and an unshifted reference table of `--reference-rows` rows. The
current rows carry a known shift (f0..f2 by 0.5 sd, c0's levels reweighted), as
`bench/big_window.py`'s batches do. The window is the policy's query
``SELECT * FROM events WHERE at > :watermark AND seq < :rows`` (since_last_check, first check).

Each phase runs in a process of its own, so its peak RSS (``ru_maxrss``) is its own:

* pushdown: `checks.sql_profile.sql_window_profile` computes the window's profile in the
  database, then drift (KS for numeric, chi2 for categorical, bonferroni, min_effect 0.1) is
  judged on it (`detect_drift_profiled`); on the whole table and on the `--pandas-rows` window;
* pandas: the `--pandas-rows` window read into pandas as a check reads it today
  (`data.windows.load_window`) and `detect_drift` binned against the same reference profile;
  then the exact tests (``scipy.stats.ks_2samp``, ``chi2_contingency``) on the same rows;
* exact: the exact tests on the whole table, one column at a time (a column's values copied out
  with ``COPY ... TO STDOUT``; the categorical counts by ``GROUP BY``), whose verdicts the
  pushdown's must equal.

With `--monitor`, after the load: one later check through the monitor's own functions (as
`bench/big_window.py --monitor` runs them) on a policy whose current source is the whole table,
``SELECT * FROM events WHERE at > :watermark`` with `window: all` and `data.timestamp: at`
(`profiles: auto`): `windows.load_windows` with the previous watermark an hour before `NOW` (the
rows after it read as rows), `drift_reference.reference_profile`, `profiled.profile_window`
(the window's profile pushed down, `monitor.sql_window`), `evaluate`, `decide`, `settle`,
`keep_profiles` and the ledger's record (MLflow SQLite in a temporary folder); its peak RSS is
the goal's (under 500 MiB). Writes bench/results/sql_window_monitor.json.

The reference profile is built once from the reference table (its own phase) and stored as
JSON; the pushdown phases load it, as a check loads a champion's stored profile. Wall times
exclude imports and loading or building the reference profile (all in the RSS). The database is
dropped at the end (unless `--keep`). Writes bench/results/sql_window.json.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from window_check import drifted, in_child, monitor_check, peak_rss_mib

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = {"f0", "f1", "f2", "c0"}
LEVELS = np.array([f"level{i}".encode() for i in range(8)])
START = datetime(2026, 2, 1, tzinfo=UTC)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # timestamptz counts microseconds from here
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
COPY_TRAILER = b"\xff\xff"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
QUERY = "SELECT * FROM events WHERE at > :watermark AND seq < :rows"
MIN_EFFECT, P_VALUE = 0.1, 0.05
GOAL_RSS_MIB = 500


def rows_chunk(rng: np.random.Generator, first: int, n: int, shifted: bool) -> np.ndarray:
    """`n` rows from sequence number `first` as PostgreSQL's binary COPY tuples: every row has
    the same layout (27 fields of fixed width, the levels all 6 bytes), so one structured array
    is the chunk's bytes (big-endian, each field its length and its value)."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name, kind in (("seq", ">i8"), ("at", ">i8"), *[(n, ">f8") for n in NUMERIC],
                       *[(n, "S6") for n in CATEGORICAL]):  # fmt: skip
        fields += [(f"{name}_len", ">i4"), (name, kind)]
    out = np.empty(n, dtype=np.dtype(fields))
    out["count"] = 2 + len(NUMERIC) + len(CATEGORICAL)
    out["seq_len"], out["seq"] = 8, np.arange(first, first + n)
    seconds = rng.integers(0, int((NOW - START).total_seconds()), n)
    out["at_len"], out["at"] = 8, (START - PG_EPOCH).total_seconds() * 1e6 + seconds * 10**6
    for i, name in enumerate(NUMERIC):
        shift = 0.5 if shifted and name in SHIFTED else 0.0
        out[f"{name}_len"], out[name] = 8, rng.normal(shift + i * 0.1, 1.0, n)
    for name in CATEGORICAL:
        weights = np.ones(8) / 8
        if shifted and name in SHIFTED:
            weights = np.array([4, 1, 1, 1, 1, 1, 1, 2]) / 12
        out[f"{name}_len"], out[name] = 6, LEVELS[rng.choice(8, n, p=weights)]
    return out


def phase_load(args: argparse.Namespace) -> dict[str, Any]:
    """Create the database and fill both tables with COPY, one chunk in memory at a time."""
    import psycopg2

    admin = psycopg2.connect(args.admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{args.database}"')  # a name this script made up
    admin.close()
    columns = ["seq bigint", "at timestamptz"] + [f"{n} float8" for n in NUMERIC]
    columns += [f"{n} text" for n in CATEGORICAL]
    start = time.perf_counter()
    connection = psycopg2.connect(args.dsn)
    with connection, connection.cursor() as cursor:
        for table, rows, seed, shifted in (
            ("reference", args.reference_rows, 0, False),
            ("events", args.rows, 1, True),
        ):
            cursor.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            rng = np.random.default_rng(seed)
            for first in range(0, rows, args.chunk):
                chunk = rows_chunk(rng, first, min(args.chunk, rows - first), shifted)
                buffer = io.BytesIO(COPY_HEADER + chunk.tobytes() + COPY_TRAILER)
                del chunk
                cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT binary)", buffer)
        cursor.execute("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]  # type: ignore[index]
    connection.close()
    return {"seconds": time.perf_counter() - start, "database_mib": size / 2**20,
            "peak_rss_mib": peak_rss_mib()}  # fmt: skip


def _reference(args: argparse.Namespace) -> tuple[Any, Any]:
    """The reference rows (read into pandas: small) and their profile."""
    from retrain_core.checks.profile import build_profile
    from retrain_core.data.sources.sql import SqlQuery
    from retrain_core.data.sql import read_sql

    sql = SqlQuery(url=args.url, query="SELECT * FROM reference")
    frame = read_sql(sql, [*NUMERIC, *CATEGORICAL, "at"])
    return frame, build_profile(frame, NUMERIC, CATEGORICAL)


def phase_reference(args: argparse.Namespace) -> dict[str, Any]:
    """The reference profile, built once from the reference rows and stored as JSON, as a
    champion's profile is stored with it (the pushdown phases load it, as a check does)."""
    frame, reference = _reference(args)
    Path(args.profile).write_text(json.dumps(reference.to_dict()))
    frame.to_parquet(Path(args.profile).parent / "reference.parquet")  # the monitor's reference
    return {"peak_rss_mib": peak_rss_mib()}


MONITOR_POLICY = """
version: 1
name: sqlbig
model:
  task: classification
  target: c4
  features: {numeric: [%s], categorical: [c0, c1, c2, c3]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  timestamp: at
  reference: {path: reference.parquet}
  current:
    sql: {url: "%s", query: "SELECT * FROM events WHERE at > :watermark"}
    window: all
triggers:
  any:
    - drift: {method: ks, p_value: 0.05, correction: bonferroni, min_effect: 0.1}
    - volume: {increase_pct: 50, compare_to: previous}
gate: {metric: accuracy, min: 0.1}
"""


def phase_monitor(args: argparse.Namespace) -> dict[str, Any]:
    """A later check of the whole table through the monitor's functions: the rows after the
    previous watermark (an hour before `NOW`) read as rows, the window profiled in the database."""
    from datetime import timedelta

    from retrain_core.data import Watermark
    from retrain_core.monitor.current_rows import CURRENT
    from retrain_core.policy.loader import load_policy
    from retrain_core.store import Store

    root = Path(args.profile).parent
    (root / "sqlbig.yaml").write_text(MONITOR_POLICY % (", ".join(NUMERIC), args.url))
    loaded = load_policy(root / "sqlbig.yaml")
    store = Store(f"sqlite:///{root}/monitor.db")
    store.experiment_id("sqlbig")
    marks = {CURRENT: Watermark(timestamp=NOW - timedelta(hours=1)).to_json()}
    rss = {"imports": peak_rss_mib()}
    result, data, settled = monitor_check(store, loaded, root, NOW, marks, args.rows, rss)
    return {
        **result,
        "problems": [text for _, text in data.windows.problems],
        "watermark": Watermark.from_json(settled.watermarks[CURRENT]).timestamp.isoformat(),
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_mib_after": rss,  # the peak so far after imports, loading, the reference
    }


def _stored_reference(args: argparse.Namespace) -> Any:
    from retrain_core.checks.profile import ReferenceProfile

    return ReferenceProfile.from_dict(json.loads(Path(args.profile).read_text()))


def _source(args: argparse.Namespace, rows: int) -> Any:
    from retrain_core.data.sources.sql import SqlQuery
    from retrain_core.policy.sources import Source

    return Source(sql=SqlQuery(url=args.url, query=QUERY, params={"rows": rows}))


def phase_pushdown(args: argparse.Namespace, rows: int) -> dict[str, Any]:
    """The window's profile computed by the database, then drift judged on it."""
    import scipy.stats  # noqa: F401  (imported before the clock starts, as a warm worker has it)

    from retrain_core.checks.drift import detect_drift_profiled
    from retrain_core.checks.sql_profile import sql_window_profile
    from retrain_core.policy.sources import Window

    reference = _stored_reference(args)
    source = _source(args, rows)
    start = time.perf_counter()
    found = sql_window_profile(source, Path("/"), reference, NUMERIC, CATEGORICAL, "at",
                               Window(since_last_check=True), None, NOW)  # fmt: skip
    profiled = time.perf_counter()
    numeric = detect_drift_profiled(reference, found.profile, NUMERIC, [], "ks", P_VALUE,
                                    "bonferroni", MIN_EFFECT)  # fmt: skip
    categorical = detect_drift_profiled(reference, found.profile, [], CATEGORICAL, "chi2",
                                        P_VALUE, "bonferroni", MIN_EFFECT)  # fmt: skip
    end = time.perf_counter()
    return {
        "rows": found.rows,
        "pushed_down": found.pushed_down,
        "seconds": end - start,
        "profile_seconds": profiled - start,
        "judge_seconds": end - profiled,
        "drifted": drifted(numeric[:-1] + categorical[:-1]),
        "peak_rss_mib": peak_rss_mib(),
    }


def phase_pandas(args: argparse.Namespace) -> dict[str, Any]:
    """The window read into pandas and checked as today; then the exact tests on its rows."""
    import pandas as pd

    from retrain_core.checks.drift import detect_drift
    from retrain_core.data.batches import Rules
    from retrain_core.data.windows import load_window
    from retrain_core.policy.sources import Window

    ref_frame, reference = _reference(args)
    source = _source(args, args.pandas_rows)
    start = time.perf_counter()
    rules = Rules(timestamp="at", latest=NOW)
    window = load_window(source, [*NUMERIC, *CATEGORICAL, "at"], Path("/"), "at", None,
                         rules=rules, window=Window(since_last_check=True)).frame  # fmt: skip
    read = time.perf_counter()
    numeric = detect_drift(ref_frame, window, NUMERIC, [], "ks", P_VALUE, "bonferroni",
                           MIN_EFFECT, profile=reference)  # fmt: skip
    categorical = detect_drift(ref_frame, window, [], CATEGORICAL, "chi2", P_VALUE,
                               "bonferroni", MIN_EFFECT, profile=reference)  # fmt: skip
    end = time.perf_counter()
    exact = {name: _ks_drifted(ref_frame[name].to_numpy(), window[name].to_numpy())
             for name in NUMERIC}  # fmt: skip
    for name in CATEGORICAL:
        counts = window[name].value_counts()
        exact[name] = _chi2_drifted(ref_frame[name].value_counts(), counts)
    del pd
    return {
        "rows": len(window),
        "seconds": end - start,
        "read_seconds": read - start,
        "drifted": drifted(numeric[:-1] + categorical[:-1]),
        "exact_drifted": sorted(n for n, drifted in exact.items() if drifted),
        "peak_rss_mib": peak_rss_mib(),
    }


def phase_exact(args: argparse.Namespace) -> dict[str, Any]:
    """The exact tests on the whole window, one column in memory at a time."""
    import pandas as pd
    import psycopg2

    ref_frame, _ = _reference(args)
    start = time.perf_counter()
    connection = psycopg2.connect(args.dsn)
    exact: dict[str, bool] = {}
    where = "at > '-infinity' AND at <= %s AND seq < %s"
    with connection, connection.cursor() as cursor:
        for name in NUMERIC:
            buffer = io.BytesIO()
            inner = cursor.mogrify(f"SELECT {name} FROM events WHERE {where}", (NOW, args.rows))
            cursor.copy_expert(f"COPY ({inner.decode()}) TO STDOUT", buffer)
            values = np.fromstring(buffer.getvalue(), dtype=np.float64, sep=" ")  # text mode
            del buffer
            exact[name] = _ks_drifted(ref_frame[name].to_numpy(), values)
            del values
        for name in CATEGORICAL:
            cursor.execute(f"SELECT {name}, count(*) FROM events WHERE {where} GROUP BY 1",
                           (NOW, args.rows))  # fmt: skip
            counts = pd.Series(dict(cursor.fetchall()))
            exact[name] = _chi2_drifted(ref_frame[name].value_counts(), counts)
    connection.close()
    return {
        "seconds": time.perf_counter() - start,
        "exact_drifted": sorted(n for n, drifted in exact.items() if drifted),
        "peak_rss_mib": peak_rss_mib(),
    }


def _ks_drifted(reference: np.ndarray, current: np.ndarray) -> bool:
    from scipy.stats import ks_2samp

    test = ks_2samp(reference, current, method="asymp")
    return bool(test.pvalue < P_VALUE / len(NUMERIC) and test.statistic >= MIN_EFFECT)


def _chi2_drifted(reference: Any, current: Any) -> bool:
    import pandas as pd
    from scipy.stats import chi2_contingency

    table = pd.concat([reference, current], axis=1).fillna(0).to_numpy().T
    test = chi2_contingency(table)
    shares = table / table.sum(axis=1, keepdims=True)
    expected = shares.sum(axis=0, keepdims=True) / 2
    v = float(np.sqrt(np.sum((shares - expected) ** 2 / expected) / 2))
    return bool(test.pvalue < P_VALUE / len(CATEGORICAL) and v >= MIN_EFFECT)


def _in_child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    return in_child(__file__, ["--phase", phase, "--url", args.server, "--database", args.database,
                               "--rows", str(args.rows), "--pandas-rows", str(args.pandas_rows),
                               "--reference-rows", str(args.reference_rows),
                               "--chunk", str(args.chunk), "--profile", args.profile])  # fmt: skip


def _urls(args: argparse.Namespace) -> None:
    from sqlalchemy.engine import make_url

    args.server = args.url
    server = make_url(args.url)
    args.admin_dsn = _dsn(server)
    args.database = args.database or f"retrain_bench_sqlwin_{uuid.uuid4().hex[:10]}"
    database = server.set(database=args.database)
    args.dsn = _dsn(database)
    args.url = database.render_as_string(hide_password=False)


def _dsn(url: Any) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop(args: argparse.Namespace) -> None:
    import psycopg2

    admin = psycopg2.connect(args.admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    admin.close()


def main(args: argparse.Namespace) -> None:
    _urls(args)
    if args.profile is None:
        args.profile = str(Path(tempfile.mkdtemp(prefix="sql-window-")) / "reference.json")
    if args.phase:
        result = {
            "load": lambda: phase_load(args),
            "reference": lambda: phase_reference(args),
            "pushdown": lambda: phase_pushdown(args, args.rows),
            "pushdown_small": lambda: phase_pushdown(args, args.pandas_rows),
            "pandas": lambda: phase_pandas(args),
            "exact": lambda: phase_exact(args),
            "monitor": lambda: phase_monitor(args),
        }[args.phase]()
        print(json.dumps(result))
        return
    results: dict[str, Any] = {
        "rows": args.rows, "pandas_rows": args.pandas_rows, "columns": 25,
        "reference_rows": args.reference_rows,
    }  # fmt: skip
    if args.monitor:  # the load, the reference, and a whole later check through the monitor
        _run_phases(args, ("load", "reference", "monitor"), results)
        results["rss_under_goal"] = results["monitor"]["peak_rss_mib"] < GOAL_RSS_MIB
        return _write(results, "sql_window_monitor.json")
    phases = ("load", "reference", "pushdown", "pushdown_small", "pandas", "exact")
    _run_phases(args, phases, results)
    results["verdicts_equal_exact"] = (
        results["pushdown"]["drifted"] == results["exact"]["exact_drifted"]
        and results["pushdown_small"]["drifted"] == results["pandas"]["exact_drifted"]
    )
    results["verdicts_equal_known_shift"] = results["pushdown"]["drifted"] == sorted(SHIFTED)
    results["rss_under_goal"] = results["pushdown"]["peak_rss_mib"] < GOAL_RSS_MIB
    _write(results, "sql_window.json")


def _run_phases(args: argparse.Namespace, phases: tuple[str, ...], results: dict[str, Any]) -> None:
    """Each phase in its own process (the load skipped with --skip-load); the database dropped at
    the end unless --keep."""
    try:
        for phase in phases[1:] if args.skip_load else phases:
            results[phase] = _in_child(args, phase)
            print(phase, json.dumps(results[phase]), flush=True)
    finally:
        if not args.keep:
            _drop(args)
    results["expected_drifted"] = sorted(SHIFTED)


def _write(results: dict[str, Any], name: str) -> None:
    """The results to bench/results/`name`; their scalar fields printed."""
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, dict)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--pandas-rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the server; the bench creates its database there")  # fmt: skip
    parser.add_argument("--database", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the bench's database")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--skip-load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--monitor", action="store_true", help="load, then one later check by the monitor's code"
    )
    main(parser.parse_args())
