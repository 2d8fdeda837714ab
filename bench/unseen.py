"""Decision quality on streams the benchmark never tuned on, the policy replayed through the real
monitor flow (Prefect and MLflow), the baselines on the same batches and label lag.

For each kind of drift in `bench/streams.py` a stream is generated with a seed and a shape the
benchmark does not use (default: seeds 2000, 2001, ..., 30 batches of 800 rows; `--seed`,
`--batches`, `--rows`). The policy's replay is `bench/monitor_replay.py`: each day a batch file
lands, the labels of the day before land, and `flows/monitor.py` runs on Prefect's ephemeral API
with MLflow on SQLite, one fresh process per stream, training on a 2-day window. Never, every 5
batches and the naive 0.05 drop replay in memory (`retrain_core.replay`) on the same frame and
window: the first two batches are the reference, labels are one batch late. Prints a table per
stream, the mean, and the three checks of issue 19's "done when": the mean at least 0.01 above the
better of every 5 and naive, no stream more than 0.005 below never, at most half of every 5's
retrains.

    OMP_NUM_THREADS=1 .venv/bin/python bench/unseen.py [--policy FILE] [--seed N]
        [--batches 30] [--rows 800] [--streams abrupt,recurring] [--jobs 2] [--json FILE]
        [--in-memory] [--ceiling]

`--ceiling` adds the hindsight ceiling: at every step a model trained on the window and one on
the newest labelled day alone (what a retrain answering a change could train on), and the best
schedule of them chosen with hindsight, per stream for 0 to 8 retrains; the summary prints the
best mean any allocation of half of every 5's retrains over the streams reaches, beside the bar.
No policy choosing when to retrain as the stream arrives can reach it; the distance from the bar
to it says how much of the possible the bar asks for.

`--in-memory` replays the policy as `retrain backtest` does (the monitor's own evaluate and
decide, in-memory stores) instead of through Prefect and MLflow: about four times faster, for
trying policy variants; the monitor flow's figures are the ones to report (on the shipped policy
the two agreed on seven streams of eight and differed by 0.008 on the eighth).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
BASELINES = ("never", "every 5", "naive drop")
CEILING_MOST = 8  # retrains per stream the hindsight ceiling considers (with --ceiling)
WINDOW = "2d"  # the policy trains on the window the baselines train on (bench/backtest.py)


def _stream(name: str, seed: int, batches: int, rows: int) -> Any:
    import streams

    return streams.generate(name, seed, batches=batches, rows=rows)


def policy_part(name: str, seed: int, batches: int, rows: int, policy: str, out: str) -> None:
    """In a fresh process: the policy through the monitor flow; writes JSON to `out`."""
    from monitor_replay import replay_frame

    s = _stream(name, seed, batches, rows)
    frame = s.frame.drop(columns=["t"])
    scores, retrained = replay_frame(
        frame, s.target, Path(policy), rows, 1, 2, echo=False, window=WINDOW
    )
    Path(out).write_text(json.dumps({"mean": sum(scores) / len(scores), "retrains": len(retrained),
                                     "retrained_at": retrained}))  # fmt: skip


def baselines(
    name: str, seed: int, batches: int, rows: int, policy: str, ceiling: bool = False
) -> dict[str, Any]:
    """Never, every 5 and the naive drop, in memory, on the same batches and lag (and with
    `ceiling` the hindsight ceiling for 0 to CEILING_MOST retrains)."""
    from backtest import DAY, history, stream_policy

    from retrain_core.replay.backtest import replay
    from retrain_core.replay.baselines import naive_drop, never, periodic
    from retrain_core.replay.ceiling import hindsight_by_budget

    s = _stream(name, seed, batches, rows)
    hist, steps = history(s.frame, s.rows)
    adapted = stream_policy(Path(policy), s.target, s.numeric, s.categorical)
    out: dict[str, Any] = {}
    for label, strategy in zip(BASELINES, (never, periodic(5), naive_drop()), strict=True):
        r = replay(adapted, hist, steps, DAY, strategy, label, "accuracy")
        out[label] = r.summary()
    if ceiling:
        curve = hindsight_by_budget(adapted, hist, steps, DAY, "accuracy", CEILING_MOST, recent=DAY)
        out["ceiling"] = [mean for mean, _ in curve]
    return out


def in_memory(name: str, seed: int, batches: int, rows: int, policy: str) -> dict[str, Any]:
    """The policy replayed in memory with the monitor's evaluate and decide (`--in-memory`)."""
    from backtest import DAY, history, stream_policy

    from retrain_core.replay.backtest import policy_strategy, replay

    s = _stream(name, seed, batches, rows)
    hist, steps = history(s.frame, s.rows)
    adapted = stream_policy(Path(policy), s.target, s.numeric, s.categorical)
    r = replay(adapted, hist, steps, DAY, policy_strategy, "policy", "accuracy")
    at = [i for i, step in enumerate(r.steps) if step.trained]
    return {**r.summary(), "retrained_at": at}


def _run_policy(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    if args.in_memory:
        return in_memory(name, seed, args.batches, args.rows, args.policy)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "policy.json"
        command = [sys.executable, __file__, "--one", name, "--seed", str(seed),
                   "--batches", str(args.batches), "--rows", str(args.rows),
                   "--policy", args.policy, "--out", str(out)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: the monitor replay failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(out.read_text()))


def main() -> int:
    import streams

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "policies" / "churn.yaml"))
    parser.add_argument("--seed", type=int, default=2000, help="stream i gets seed N + i")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--streams", default=",".join(streams.GENERATORS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--in-memory", action="store_true", help="replay as retrain backtest does")
    parser.add_argument("--ceiling", action="store_true", help="add the hindsight ceiling")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        policy_part(args.one, args.seed, args.batches, args.rows, args.policy, args.out)
        return 0
    names = args.streams.split(",")
    seeds = {n: args.seed + list(streams.GENERATORS).index(n) for n in names}
    began = time.perf_counter()
    pool_type = ProcessPoolExecutor if args.in_memory else ThreadPoolExecutor
    with pool_type(args.jobs) as pool:
        policy = {n: pool.submit(_run_policy, n, seeds[n], args) for n in names}
        rows = []
        for n in names:
            row = baselines(n, seeds[n], args.batches, args.rows, args.policy, args.ceiling)
            row["policy"] = policy[n].result()
            rows.append((n, row))
            print(_line(n, seeds[n], row), flush=True)
    _summary(rows, args, time.perf_counter() - began)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(rows), indent=1))
    return 0


def _line(name: str, seed: int, row: dict[str, Any]) -> str:
    cells = [f"{row[k]['mean']:.3f} ({row[k]['retrains']})" for k in ("policy", *BASELINES)]
    return f"| {name} (seed {seed}) | " + " | ".join(cells) + " |"


def _summary(rows: list[tuple[str, dict[str, Any]]], args: argparse.Namespace, took: float) -> None:
    def mean(key: str) -> float:
        return sum(r[key]["mean"] for _, r in rows) / len(rows)

    def total(key: str) -> int:
        return sum(int(r[key]["retrains"]) for _, r in rows)

    keys = ("policy", *BASELINES)
    cells = " | ".join(f"{mean(k):.3f} ({total(k)})" for k in keys)
    print(f"| mean over {len(rows)} streams (total retrains) | {cells} |")
    better = max(mean("every 5"), mean("naive drop"))
    worst = min(rows, key=lambda nr: nr[1]["policy"]["mean"] - nr[1]["never"]["mean"])
    below = worst[1]["never"]["mean"] - worst[1]["policy"]["mean"]
    print(f"mean - better of every 5 and naive: {mean('policy') - better:+.3f} (needs >= +0.010)")
    print(f"most below never: {worst[0]} by {below:+.3f} (needs <= +0.005)")
    print(f"retrains: {total('policy')} of every 5's {total('every 5')} (needs <= half)")
    if all("ceiling" in r for _, r in rows):
        most = total("every 5") // 2
        best = allocate([r["ceiling"] for _, r in rows], most)
        print(f"hindsight ceiling with at most {most} retrains in all: {best:.3f} "
              f"(the bar: {better + 0.010:.3f})")  # fmt: skip
    print(f"{len(rows)} streams of {args.batches} x {args.rows} rows in {took:.0f} s")


def allocate(curves: list[list[float]], most: int) -> float:
    """The best mean over streams when at most `most` retrains are shared among them, given each
    stream's best mean with k retrains (`curves[i][k]`, k = 0, 1, ...)."""
    best = {0: 0.0}  # retrains used -> best sum of means so far
    for curve in curves:
        reach: dict[int, float] = {}
        for used, total in best.items():
            for k, mean in enumerate(curve[: most - used + 1]):
                reach[used + k] = max(reach.get(used + k, -1.0), total + mean)
        best = reach
    return max(best.values()) / len(curves)


if __name__ == "__main__":
    raise SystemExit(main())
