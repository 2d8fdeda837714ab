"""INSECTS (gradual) replayed through the real monitor flow: is any step blocked?

Class `4` is absent from INSECTS' first batches and appears in the fourth. Before new classes were
a finding, its label batch was quarantined as "a class never seen in the reference data", and
every later label batch too: the monitor was blocked on 20 of 22 steps. This script replays the
first `--batches` 1,000-row batches (the first two are the reference) through `flows.monitor` on a
temporary Prefect API and a fresh MLflow store on SQLite, one batch per day, labels one batch (1d)
late, the shipped `policies/churn.yaml` triggers, gate and cooldown with the stream's features,
HistGradientBoosting and a 2-day training window (as `bench/backtest.py`). It prints one line per
step (verdict, quarantined batches, new-class findings, the serving champion's accuracy on the
batch) and the number of blocked steps.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python bench/insects_monitor.py [--batches 10]

Reads ../shared/data/insects_gradual.csv (never copied into the project); exits 0 with a message
when it is absent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
DATA = Path(os.environ.get("RETRAIN_BENCH_DATA") or next(
    (p for p in CANDIDATES if p.is_dir()), CANDIDATES[0]
))  # fmt: skip
BATCH, REFERENCE_BATCHES, START = 1000, 2, datetime(2020, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
NAME = "insects-monitor"


def stream(batches: int) -> Any:
    """The first `batches` batches with an id and one day per batch."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(DATA / "insects_gradual.csv", header=None, nrows=batches * BATCH)
    frame.columns = [*(f"f{i}" for i in range(frame.shape[1] - 1)), "label"]
    index = np.arange(len(frame))
    seconds = (index // BATCH) * 86400 + (index % BATCH) * (86400 / BATCH)
    frame["t"] = pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")
    frame["row_id"] = index
    return frame


def write_policy(root: Path, features: list[str]) -> Path:
    """The shipped policy with the stream's features and sources, a 2-day training window."""
    import yaml

    from retrain_core.policy.loader import load_policy

    shipped = load_policy(ROOT / "policies" / "churn.yaml").policy
    spec = shipped.model_dump(by_alias=True, exclude_none=True, mode="json")
    spec["name"] = NAME
    spec["model"]["target"] = "label"
    spec["model"]["features"] = {"numeric": features, "categorical": []}
    spec["model"]["estimator"] = {"class": "sklearn.ensemble.HistGradientBoostingClassifier"}
    spec["data"] = {
        "timestamp": "t",
        "reference": {"path": "data/reference.parquet"},
        "current": {"path": "data/batches/*.parquet", "window": "since_last_check"},
        "labels": {"path": "data/labels/*.parquet", "join_on": "row_id", "lag": "1d"},
    }
    spec["validation"] = []
    spec["training"]["window"] = "2d"
    spec["notify"] = {"on": []}
    for key in ("schedule", "arrival"):
        spec.pop(key, None)
    path = root / "policy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def replay(batches: int) -> int:
    """Replay the stream through the monitor flow; the number of blocked steps."""
    from prefect.testing.utilities import prefect_test_harness

    frame = stream(batches)
    work = Path(tempfile.mkdtemp(prefix="insects-monitor-"))
    try:
        os.environ["PREFECT_HOME"] = str(work / "prefect")
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
        (work / "data" / "batches").mkdir(parents=True)
        (work / "data" / "labels").mkdir()
        cut = REFERENCE_BATCHES * BATCH
        frame.iloc[:cut].to_parquet(work / "data" / "reference.parquet", index=False)
        features = [c for c in frame.columns if c.startswith("f")]
        policy = write_policy(work, features)
        with prefect_test_harness(server_startup_timeout=180):
            return _steps(frame, work, policy, batches)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _steps(frame: Any, work: Path, policy: Path, batches: int) -> int:
    from flows.monitor import monitor
    from retrain_core.store import Store

    store, blocked = Store(os.environ["MLFLOW_TRACKING_URI"]), 0
    for b in range(REFERENCE_BATCHES, batches):
        rows = frame.iloc[b * BATCH : (b + 1) * BATCH]
        rows.drop(columns=["label"]).to_parquet(work / "data" / "batches" / f"day-{b:02d}.parquet")
        if b > REFERENCE_BATCHES:
            earlier = frame.iloc[(b - 1) * BATCH : b * BATCH][["row_id", "label"]]
            earlier.to_parquet(work / "data" / "labels" / f"day-{b - 1:02d}.parquet")
        accuracy = _accuracy(store, rows)
        now = START + (b + 1) * DAY - timedelta(seconds=1)
        result = monitor(str(policy), now=now, data_root=str(work))
        quarantined = sum(len(keys) for keys in store.ledger.quarantined(NAME).values())
        new = [o["check"].rsplit(".", 1)[-1] for o in result["outcomes"]
               if o["check"].startswith("data.new_class")]  # fmt: skip
        blocked += result["verdict"] == "blocked"
        training = result.get("training", {}).get("status", "")
        print(
            f"batch {b:2d}: {result['verdict']:<9} {training:<9} quarantined={quarantined} "
            f"new classes={','.join(new) or '-'} champion accuracy on the batch={accuracy}",
            flush=True,
        )
        if result["verdict"] == "blocked":
            print("           " + "; ".join(result["reasons"])[:300], flush=True)
    return blocked


def _accuracy(store: Any, rows: Any) -> str:
    """The serving champion's accuracy on a batch before the check (prequential)."""
    try:
        model = store.registry.load_model(NAME, "champion")
    except Exception:
        return "-"
    features = [c for c in rows.columns if c.startswith("f")]
    return f"{float((model.predict(rows[features]) == rows['label'].to_numpy()).mean()):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="batches to replay (2 reference)")
    args = parser.parse_args()
    if not (DATA / "insects_gradual.csv").is_file():
        print(f"skipped: {DATA / 'insects_gradual.csv'} is absent (see ../shared/data/README.md)")
        return 0
    sys.path.insert(0, str(ROOT))
    blocked = replay(args.batches)
    steps = args.batches - REFERENCE_BATCHES
    print(f"blocked on {blocked} of {steps} steps")
    return 1 if blocked else 0


if __name__ == "__main__":
    raise SystemExit(main())
