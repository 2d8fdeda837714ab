"""`retrain backtest POLICY`: replay history through the policy and print what it would have done.

Reads the policy's own sources (or the same layout under `--data DIR`): the reference trains the
first model, every row of the current source with its label (from the row itself or the label
source) is replayed step by step. Prints the policy's trace, then a summary beside the baselines
on the same batches and label lag, and writes `backtest.json` and `backtest.png` (or `.svg`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from retrain_core.base.durations import format_duration
from retrain_core.base.settings import load_settings

# the replay on rows (sources that are not files) has no stages: said, not done silently
STAGES_NOT_REPLAYED = (
    "note: promotion.stages are not replayed on rows: a passing challenger is promoted at once"
)


def backtest(args: argparse.Namespace) -> int:
    """Handler of `retrain backtest`."""
    from retrain_core.base.durations import parse_duration
    from retrain_core.cli.output import progress_line
    from retrain_core.data import DataError
    from retrain_core.policy.loader import PolicyLoadError, load_policy
    from retrain_core.replay.backtest import load_history

    settings = load_settings(args.project)
    try:
        loaded = load_policy(Path(args.policy))
    except PolicyLoadError as exc:
        print(exc, file=sys.stderr)
        return 1
    policy = loaded.policy
    root = Path(args.data) if args.data else settings.root
    metric = args.metric or _default_metric(policy)
    try:
        every = parse_duration(args.every)
        lag = _lag(policy, args.label_lag)
        history = load_history(policy, root)
        steps = _steps(policy, history, args, every)
        with progress_line(f"replaying {policy.name}: {len(steps)} checks", args):
            monitored = _monitored(loaded, root, history, steps, lag, metric, settings)
    except (ValueError, DataError) as exc:
        print(f"retrain backtest: error: {exc}", file=sys.stderr)
        return 2
    from retrain_core.replay.baselines import compare

    with progress_line(f"replaying the baselines of {policy.name}", args):
        replays, persistence = compare(
            policy, history, steps, lag, metric, every=args.periodic, policy_replay=monitored
        )
    from retrain_core.cli.output import show

    print(f"trace of {replays[0].strategy} ({metric} of the serving model, as it arrived):")
    show(trace_table(replays[0]))
    ceiling: dict[str, Any] | None = None
    retrained_at = "none"
    if args.ceiling:
        from retrain_core.replay.baselines import hindsight

        most = replays[0].promotions
        best, when = hindsight(policy, history, steps, lag, metric, most, replays[0])
        ceiling = {"retrains": most, "mean": best, "at": [steps[i].isoformat() for i in when]}
        retrained_at = ", ".join(f"{steps[i]:%Y-%m-%d %H:%M}" for i in when) or "none"
    print(f"\nsummary (same batches, labels {format_duration(lag)} late):")
    show(summary_table(replays, persistence, ceiling))
    if ceiling:
        print(f"best possible: with hindsight, models trained as the policy trains; retrains at "
              f"{retrained_at}")  # fmt: skip
    out = Path(args.out) if args.out else settings.data_path / "backtest" / policy.name
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "backtest.json", replays, persistence, lag, ceiling)
    print(f"\nwrote {out / 'backtest.json'} and {plot(out, replays)}")
    return 0


def _monitored(
    loaded: Any,
    root: Path,
    history: Any,
    steps: list[datetime],
    lag: timedelta,
    metric: str,
    settings: Any,
) -> Any:
    """The policy replayed through the monitor's own code, file by file; None (with a note)
    when its sources are not files under the project, and the policy is replayed on its rows."""
    from retrain_core.replay.monitored import NotReplayable, replay_monitor

    allowed = settings.allowed_estimator_modules
    try:
        return replay_monitor(
            loaded.policy, loaded.policy_hash, root, history, steps, lag, metric, allowed
        )
    except NotReplayable as exc:
        print(f"note: {exc}; the policy is replayed on its rows without the monitor's batch "
              "checks and quarantine", file=sys.stderr)  # fmt: skip
        if loaded.policy.promotion.stages:
            print(STAGES_NOT_REPLAYED, file=sys.stderr)
        return None


def _steps(policy: Any, history: Any, args: argparse.Namespace, every: timedelta) -> list[datetime]:
    """The replay's moments: --from/--to, else one `every` after the first row to the last."""
    from retrain_core.cli.args import moment
    from retrain_core.replay.backtest import moments

    stamps = history.rows[policy.data.timestamp]
    if stamps.empty:
        raise ValueError("the current source has no rows to replay")
    start = moment(args.start) if args.start else stamps.min().to_pydatetime() + every
    end = moment(args.end) if args.end else stamps.max().to_pydatetime() + every
    steps = moments(start, end, every)
    if len(steps) < 2:
        raise ValueError("the replay needs at least two steps: widen --from/--to or --every")
    return steps


def _lag(policy: Any, text: str | None) -> timedelta:
    """--label-lag, else the policy's data.labels.lag, else 0."""
    from retrain_core.base.durations import parse_duration

    if text:
        return parse_duration(text)
    labels = policy.data.labels
    return labels.lag if labels is not None and labels.lag is not None else timedelta(0)


def _default_metric(policy: Any) -> str:
    """The first performance trigger's metric, else accuracy or rmse."""
    from retrain_core.kinds.performance import PerformanceTrigger

    for rule in policy.triggers.evaluated:
        performance = rule.get(PerformanceTrigger)
        if performance is not None:
            return str(performance.metric)
    return "accuracy" if policy.model.task == "classification" else "rmse"


def trace_table(replay: Any) -> Any:
    """The policy's steps, one row each, with their reasons."""
    from retrain_core.cli.output import table

    found = table("moment", "rows", "labelled", "model", "metric", "fired", "verdict / why",
                  wrap="verdict / why", numbers=("rows", "labelled", "metric"))  # fmt: skip
    for s in replay.steps:
        metric = "-" if s.metric is None else f"{s.metric:.3f}"
        trained = f" -> {s.trained}" if s.trained else ""
        why = [f"{s.verdict}{trained}", *s.reasons, *s.training_reasons]
        if s.stage:  # what the challenger in a rollout stage did at this check
            why += [f"staged challenger: {s.stage}", *s.stage_reasons]
        if s.quarantined:
            why.append(f"quarantined: {', '.join(s.quarantined)}")
        found.add_row(f"{s.now:%Y-%m-%d %H:%M}", str(s.rows), str(s.labelled), f"v{s.version}",
                      metric, ",".join(s.fired) or "-", "\n".join(why))  # fmt: skip
    return found


def summary_table(
    replays: list[Any], persistence: list[float | None], ceiling: dict[str, Any] | None = None
) -> Any:
    """The policy beside the baselines (and the hindsight ceiling): mean metric and retrains on
    the same batches."""
    from retrain_core.cli.output import table

    mean = f"mean {replays[0].metric}"
    found = table("strategy", mean, "retrains", "promoted", "failed",
                  numbers=(mean, "retrains", "promoted", "failed"))  # fmt: skip
    for r in replays:
        found.add_row(r.strategy, f"{r.mean_metric:.4f}", str(r.trainings), str(r.promotions),
                      str(r.failures))  # fmt: skip
    scored = [s for s in persistence if s is not None]
    if scored:
        found.add_row("persistence", f"{sum(scored) / len(scored):.4f}", "-", "-", "-")
    if ceiling:
        found.add_row("best possible", f"{ceiling['mean']:.4f}", str(ceiling["retrains"]), "-", "-")
    return found


def write_json(
    path: Path,
    replays: list[Any],
    persistence: list[float | None],
    lag: timedelta,
    ceiling: dict[str, Any] | None = None,
) -> None:
    """Every replay's summary and trace as JSON (and the hindsight ceiling, when asked)."""
    data = {
        "label_lag_seconds": lag.total_seconds(),
        "summary": [r.summary() for r in replays],
        "persistence": persistence,
        "ceiling": ceiling,
        "traces": {r.strategy: [s.as_dict() for s in r.steps] for r in replays},
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def plot(folder: Path, replays: list[Any]) -> Path:
    """Metric over time per strategy, the policy's retrains marked; PNG with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.5))
    for r in replays:
        xs = [s.now for s in r.steps if s.metric is not None and math.isfinite(s.metric)]
        ys = [s.metric for s in r.steps if s.metric is not None and math.isfinite(s.metric)]
        main = r is replays[0]
        ax.plot(xs, ys, lw=2.2 if main else 1, alpha=1 if main else 0.6,
                label=f"{r.strategy}: {r.mean_metric:.3f}, {r.trainings} retrains")  # fmt: skip
    marks = {"promoted": ("^", "green"), "staged": ("D", "orange"), "rejected": ("x", "red"),
             "failed": ("o", "black")}  # fmt: skip
    for kind, (marker, color) in marks.items():
        hits = [s for s in replays[0].steps if s.trained == kind and s.metric is not None]
        if hits:
            ax.scatter([s.now for s in hits], [s.metric for s in hits], marker=marker, c=color,
                       s=60, zorder=3, label=f"{replays[0].strategy} retrain: {kind}")  # fmt: skip
    ax.set_ylabel(replays[0].metric)
    ax.set_title("serving model per batch, as it arrived")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = folder / "backtest.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tune_command(args: argparse.Namespace) -> int:
    """Handler of `retrain tune`: propose thresholds from a stable stretch of history."""
    from retrain_core.base.durations import parse_duration
    from retrain_core.cli.args import moment
    from retrain_core.data import DataError
    from retrain_core.policy.loader import PolicyLoadError, load_policy
    from retrain_core.replay.backtest import load_history
    from retrain_core.replay.tune import tune

    settings = load_settings(args.project)
    try:
        policy = load_policy(Path(args.policy)).policy
    except PolicyLoadError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        every = parse_duration(args.every)
        history = load_history(policy, Path(args.data) if args.data else settings.root)
        steps = _steps(policy, history, args, every)
        if args.stable_from or args.stable_to:
            lo = moment(args.stable_from) if args.stable_from else steps[0]
            hi = moment(args.stable_to) if args.stable_to else steps[-1]
            steps = [s for s in steps if lo <= s <= hi]
        else:
            steps = steps[: max(2, len(steps) // 3)]
        if len(steps) < 2:
            raise ValueError("the stable period needs at least two steps")
        proposals = tune(policy, history, steps, _lag(policy, args.label_lag), args.rate)
    except (ValueError, DataError) as exc:
        print(f"retrain tune: error: {exc}", file=sys.stderr)
        return 2
    print(f"stable period: {steps[0]:%Y-%m-%d %H:%M} .. {steps[-1]:%Y-%m-%d %H:%M} "
          f"({len(steps)} checks), target false-alarm rate {args.rate:.0%}")  # fmt: skip
    for proposal in proposals:
        print(proposal.diff())
    if proposals and len(steps) < 10:
        print(f"(only {len(steps)} stable checks: a longer stable period gives firmer values)")
    if not proposals:
        print("no drift or performance drop threshold to tune in this policy")
    return 0
