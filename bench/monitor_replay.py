"""Replay a stream through the real monitor flow, step by step; print verdicts and mean accuracy.

    OMP_NUM_THREADS=1 .venv/bin/python bench/monitor_replay.py STREAM.csv --target y \
        --policy policies/churn.yaml [--batch 1000] [--lag 1] [--reference 1] [--batches N]

A CSV without a header row (`--no-header`, INSECTS) has columns f0, f1, ... and `label` last.

The CSV's rows, in order, become batches of `--batch` rows (one a day); the first `--reference`
batches are the reference. Each day the batch lands as a parquet file, the labels of the batch
`--lag` days earlier land as a label file, and the monitor flow runs (Prefect's ephemeral API,
MLflow on SQLite in a temporary folder) after one train-validate-promote run made the first
model. The policy's `model`, `triggers`, `training`, `gate` and `validation` are kept; its `data`
points at the stream's files. Prints each check's verdict, fired rules, quarantined files and
training outcome, the serving model's accuracy on the batch as it arrived, and the mean.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one line a check
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--target", required=True)
    parser.add_argument("--policy", type=Path, default=Path("policies/churn.yaml"))
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--lag", type=int, default=1, help="label lag in batches")
    parser.add_argument("--reference", type=int, default=1, help="batches in the reference")
    parser.add_argument("--batches", type=int, default=None, help="use the first N batches")
    parser.add_argument("--window", default=None, help="training window (default: the policy's)")
    parser.add_argument("--no-header", action="store_true", help="the CSV has no header row")
    args = parser.parse_args()

    import pandas as pd

    if not args.csv.is_file():
        print(f"{args.csv} is missing (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    frame = pd.read_csv(args.csv, header=None if args.no_header else "infer")
    if args.no_header:
        frame.columns = [*(f"f{i}" for i in range(frame.shape[1] - 1)), "label"]
    if args.batches is not None:
        frame = frame.iloc[: args.batches * args.batch].reset_index(drop=True)
    scores, _ = replay_frame(
        frame, args.target, args.policy, args.batch, args.lag, args.reference, window=args.window
    )
    print(f"mean accuracy {sum(scores) / len(scores):.4f} over {len(scores)} batches")
    return 0


def replay_frame(
    frame: Any,
    target: str,
    policy_file: Path,
    batch: int,
    lag: int,
    reference: int,
    echo: bool = True,
    window: str | None = None,
) -> tuple[list[float], list[int]]:
    """Replay the frame's rows through the monitor flow, `batch` rows a day; the serving model's
    accuracy on each batch as it arrived, and the batches after whose check a retrain ran.
    `window` replaces the policy's `training.window` (e.g. "2d", as the baselines train)."""
    import numpy as np
    import pandas as pd
    import yaml

    features = [c for c in frame.columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in features if c not in numeric]
    n = len(frame) // batch
    frame = frame.iloc[: n * batch].reset_index(drop=True)
    spread = pd.to_timedelta(np.linspace(0, 86399, batch), unit="s")
    days = pd.to_timedelta(np.repeat(np.arange(n), batch), unit="D")
    stamps = pd.Timestamp(START) + days + np.tile(spread, n)
    frame = frame.assign(row_id=np.arange(len(frame)), event_time=stamps)
    work = Path(tempfile.mkdtemp(prefix="monitor-replay-"))
    data = work / "data"
    (data / "batches").mkdir(parents=True)
    (data / "labels").mkdir()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    frame.iloc[: reference * batch].to_parquet(data / "reference.parquet", index=False)

    policy = yaml.safe_load(policy_file.read_text())
    policy["name"] = "monitor-replay"
    policy["model"]["target"] = target
    policy["model"]["features"] = {"numeric": numeric, "categorical": categorical}
    policy["data"] = {
        "timestamp": "event_time",
        "reference": {"path": "data/reference.parquet"},
        "current": {"path": "data/batches/*.parquet", "window": "since_last_check"},
        "labels": {"path": "data/labels/*.parquet", "join_on": "row_id", "lag": f"{lag}d"},
    }
    policy.pop("validation", None)  # the stream's columns are not the policy's
    policy["notify"] = {"on": []}
    if window is not None:
        policy["training"]["window"] = window
    policy_path = work / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))

    from flows.monitor import monitor
    from flows.retrain import train_validate_promote
    from retrain_core.policy.loader import load_policy
    from retrain_core.store import Store
    from retrain_core.training.scoring import score_on

    model_spec = load_policy(policy_path).policy.model
    store = Store(os.environ["MLFLOW_TRACKING_URI"])
    first_day = START + timedelta(days=reference)
    train_validate_promote(str(policy_path), now=first_day, data_root=str(work))
    scores: list[float] = []
    retrained: list[int] = []
    for b in range(reference, n):
        rows = frame.iloc[b * batch : (b + 1) * batch]
        rows.drop(columns=[target]).to_parquet(data / "batches" / f"b-{b:04d}.parquet")
        if b - lag >= reference:
            old = frame.iloc[(b - lag) * batch : (b - lag + 1) * batch]
            old[["row_id", target]].to_parquet(data / "labels" / f"b-{b - lag:04d}.parquet")
        model = store.registry.load_model("monitor-replay", "champion")
        accuracy = score_on(model, rows, model_spec, ["accuracy"])["accuracy"]
        scores.append(accuracy)
        now = START + timedelta(days=b + 1)
        summary = monitor(str(policy_path), now=now, data_root=str(work))
        training = summary.get("training", {}).get("status", "")
        if summary["verdict"] == "retrain":
            retrained.append(b)
        if echo:
            fired = ",".join(o["check"] for o in summary["outcomes"] if o["status"] == "fail")
            verdict = summary["verdict"]
            print(f"{now:%Y-%m-%d} acc {accuracy:.3f}  {verdict:<9} {training:<9} {fired}")
            if summary["verdict"] == "blocked":
                print(f"{'':11}{'; '.join(summary['reasons'])[:200]}")
    return scores, retrained


if __name__ == "__main__":
    raise SystemExit(main())
