"""What bench/big_window.py and bench/sql_window.py share: one check of a wide window through the
monitor's own functions, timed, and the pieces around it (peak RSS, the drifted features, a phase
run in a child process so its peak RSS is its own)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def drifted(outcomes: list[Any]) -> list[str]:
    """The features whose drift outcome failed, sorted."""
    return sorted(o.check.rpartition(".")[2] for o in outcomes if o.failed)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(script: str, args: list[str]) -> dict[str, Any]:
    """Run `script` with `args` in a new interpreter; the JSON of its last output line."""
    argv = [sys.executable, script, *args]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def monitor_check(
    store: Any,
    loaded: Any,
    root: Path,
    now: datetime,
    marks: dict[str, str] | None = None,
    rows: int | None = None,
    rss: dict[str, float] | None = None,
) -> tuple[dict[str, Any], Any, Any]:
    """One check as `flows/monitor.py` runs it, without Prefect: load the windows, the reference's
    and the window's profiles, evaluate, decide, settle, keep the profiles and record the
    decision in the ledger. `marks` and `rows` default to the ledger's (read inside the timing);
    `rss` gets the peak RSS after loading and after the reference profile. Returns the timings,
    row counts, drifted features and verdict, the loaded data and what was settled."""
    import mlflow  # noqa: F401  (imported before the clock starts, as a warm worker has it)
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401

    from retrain_core.decide.decision import decide
    from retrain_core.decide.evaluate import evaluate
    from retrain_core.monitor import drift_reference, profiled, windows
    from retrain_core.monitor.settle import settle

    policy, name = loaded.policy, loaded.policy.name
    start = time.perf_counter()
    if marks is None:
        marks, rows = store.ledger.watermarks(name)
    history = store.ledger.history(name)
    data = windows.load_windows(policy, root, marks, rows, {}, None, None, now)
    loaded_at = time.perf_counter()
    if rss is not None:
        rss["loaded"] = peak_rss_mib()
    data = drift_reference.reference_profile(store.registry, policy, data, now)
    if rss is not None:
        rss["reference_profile"] = peak_rss_mib()
    data = profiled.profile_window(store.registry, policy, root, data, now)
    profiled_at = time.perf_counter()
    outcomes = evaluate(policy, data.windows, None, now)
    decision = decide(policy.triggers, outcomes, history, now, True, loaded.policy_hash,
                      data.description, None)  # fmt: skip
    settled = settle(data, [])
    counts = profiled.keep_profiles(store.registry, name, data, settled, now)
    store.ledger.record(name, decision, settled.watermarks, data.windows.rows, counts,
                        judged=settled.judged)  # fmt: skip
    end = time.perf_counter()
    result = {
        "rows": data.windows.rows,
        "counts": data.counts.as_dict() if data.counts else None,
        "seconds": end - start,
        "load_seconds": loaded_at - start,
        "profile_seconds": profiled_at - loaded_at,
        "judge_record_seconds": end - profiled_at,
        "drifted": drifted([o for o in outcomes if o.check.startswith("drift.ks.")]),
        "verdict": decision.verdict,
    }
    return result, data, settled
