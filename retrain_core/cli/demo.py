"""`retrain demo`: the whole loop on a seeded stream with a known story, in a few minutes.

The stream (see `retrain_core.data.demo`) has clean days, a two-day covariate shift (a campaign
brings newer, pricier customers), clean days again, then a concept change (electronic-check
payers start leaving). Labels arrive a day late. The demo runs the monitor flow of the shipped
`policies/churn.yaml` once per day, as of 23:00 that day, on Prefect's ephemeral API and MLflow on
SQLite under the demo folder, and prints a timeline. Same seed, same timeline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from retrain_core.base.settings import load_settings
from retrain_core.cli.run import embedded_defaults

DEMO_POLICY = "churn.yaml"


@dataclass(frozen=True)
class DayRow:
    """One line of the timeline."""

    day: int
    phase: str
    rows: int
    quality: str
    drifted: str
    measured: str
    estimated: str
    decision: str
    reasons: str
    version: str
    champion_accuracy: str


def prepare(folder: Path) -> None:
    """Wipe the demo folder and point MLflow and Prefect's ephemeral API into it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    if not os.environ.get("PREFECT_API_URL"):
        os.environ["PREFECT_HOME"] = str(folder / "prefect")
    # the terminal is quiet already (cli/output.py); the runs keep their log lines in Prefect
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    warnings.filterwarnings("ignore")


def _value(outcomes: list[dict[str, Any]], check: str) -> str:
    for outcome in outcomes:
        if outcome["check"] == check and outcome["observed"] is not None:
            mark = "!" if outcome["status"] == "fail" else ""
            return f"{outcome['observed']:.3f}{mark}"
    return "-"


def _row(day: int, phase: str, summary: dict[str, Any], version: str, accuracy: str) -> DayRow:
    """Summarise one monitor run for the timeline."""
    outcomes = summary["outcomes"]
    quality = [o for o in outcomes if o["check"].startswith("quality.")]
    bad = sum(o["status"] != "pass" for o in quality)
    drifted = [
        o["check"].split(".", 2)[2]
        for o in outcomes
        if o["check"].startswith("drift.") and o["status"] == "fail" and o["check"] != "drift.share"
    ]
    training = summary.get("training") or {}
    decision = summary["verdict"]
    if training:  # the version too, rejected ones included: the timeline has no gaps
        made = f" v{training['version']}" if training.get("version") else ""
        decision = f"retrain -> {training.get('status')}{made}"
    return DayRow(
        day=day,
        phase=phase,
        rows=summary["rows"],
        quality=f"{len(quality) - bad}/{len(quality)} ok" if quality else "-",
        drifted=", ".join(drifted) or "-",
        measured=_value(outcomes, "performance.accuracy"),
        estimated=_value(outcomes, "estimated_performance.accuracy"),
        decision=decision,
        reasons="; ".join(_short(r) for r in [*summary["reasons"], *_gate(training)]),
        version=version,
        champion_accuracy=accuracy,
    )


def _gate(training: dict[str, Any]) -> list[str]:
    """The gate's verdict on a retrain, as reasons."""
    if not training:
        return []
    return [f"{training.get('status')}: " + ", ".join(training.get("reasons", []))]


def _short(reason: str) -> str:
    return reason if len(reason) <= 120 else reason[:117] + "..."


def _champion_accuracy(uri: str, story: Any, day: int) -> tuple[str, str]:
    """The champion's version and its true accuracy on the day's rows (the demo knows labels)."""
    from sklearn.metrics import accuracy_score

    from retrain_core.data.demo import rng_day
    from retrain_core.store import Store

    registry = Store(uri).registry
    champion = registry.champion("churn")
    if champion is None:
        return "-", "-"
    model = registry.load_model("churn", "champion")
    truth = rng_day(story, day)
    accuracy = accuracy_score(truth["churned"], model.predict(truth.drop(columns=["churned"])))
    return f"v{champion.version}", f"{accuracy:.3f}"


def demo(args: argparse.Namespace) -> int:
    """Handler of `retrain demo`: replay the stream day by day and print the timeline."""
    settings = load_settings(args.project)
    folder = Path(args.dir) if args.dir else settings.data_path / "demo"
    prepare(folder)
    embedded_defaults(settings)
    from rich.console import Console
    from rich.progress import Progress

    from retrain_core.cli.run import run_monitor
    from retrain_core.data.demo import Story, day_start, write_day, write_reference

    console = Console(width=None if sys.stdout.isatty() else 160)
    story = Story(days=args.days, seed=args.seed)
    write_reference(folder, story)
    policy = str(settings.policies_path / DEMO_POLICY)
    uri = os.environ["MLFLOW_TRACKING_URI"]
    rows: list[DayRow] = []
    quiet = getattr(args, "quiet", False)
    if not quiet:
        console.print(
            f"retrain demo: {story.days} days of churn batches, seed {story.seed}, in {folder}"
        )
        console.print("(the first day also starts Prefect's ephemeral API: 20-40 s)")
    with Progress(console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task("monitoring", total=story.days)
        for day in range(1, story.days + 1):
            progress.update(task, description=f"day {day} ({story.phase(day)})")
            write_day(folder, story, day)
            now = day_start(day) + timedelta(hours=23)
            summary = run_monitor(policy, now=now, data_root=str(folder))
            version, accuracy = _champion_accuracy(uri, story, day)
            rows.append(_row(day, story.phase(day), summary, version, accuracy))
            progress.advance(task)
    console.print(timeline(rows))
    print(reasons(rows))
    print(closing(folder, uri, _chart(uri)))
    return 0


def _chart(uri: str) -> str | None:
    """The MLflow UI's chart of churn's signals over the demo's checks (on `mlflow ui`)."""
    from retrain_core.store import Store

    return Store(uri).trend.page("churn")


def sample_data(args: argparse.Namespace) -> int:
    """Handler of `retrain sample-data`: the shipped policies' data, written into the project."""
    from datetime import UTC, datetime

    from retrain_core.data.demo import Story, write_day, write_house_prices, write_reference

    settings = load_settings(args.project)
    root = Path(args.dir) if args.dir else settings.root
    story = Story(days=max(args.days, 1), seed=args.seed)
    if not (root / "data" / "churn" / "reference.parquet").is_file():
        write_reference(root, story)
    for day in range(1, args.days + 1):
        write_day(root, story, day)
    if not (root / "data" / "house-prices" / "reference.csv").is_file():
        write_house_prices(root, datetime.now(UTC), seed=args.seed)
    print(
        f"wrote {root / 'data'}:\n"
        f"  churn: reference, batches day 1-{args.days} ({', '.join(_phases(story, args.days))}), "
        f"labels up to day {args.days - 1}\n"
        f"  house-prices: reference.csv and 4 weekly batches up to today\n"
        f"Next day of churn data: retrain sample-data --days {args.days + 1}"
    )
    return 0


def _phases(story: Any, days: int) -> list[str]:
    """`day 1-4 clean`, `day 5 shift`: the story of the days written."""
    from itertools import groupby

    spans = []
    for phase, group in groupby(range(1, days + 1), story.phase):
        run = list(group)
        span = f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0])
        spans.append(f"day {span} {phase}")
    return spans


def timeline(rows: list[DayRow]) -> Any:
    """The timeline as a rich table (the reasons follow it, one line per day)."""
    from rich.table import Table

    table = Table(title="retrain demo: churn (! = the signal fired)")
    columns = "day phase rows quality drifted_features acc_measured acc_estimated decision"
    for column in [*columns.split(), "champion", "champion_acc"]:
        table.add_column(column.replace("_", " "), overflow="fold")
    for r in rows:
        cells = [r.day, r.phase, r.rows, r.quality, r.drifted, r.measured, r.estimated]
        table.add_row(*map(str, cells), r.decision, r.version, r.champion_accuracy)
    return table


def reasons(rows: list[DayRow]) -> str:
    """Why each day went the way it did (the decision's reasons, shortened)."""
    return "\n".join(["Why:"] + [f"  day {r.day:>2}: {r.reasons}" for r in rows])


def closing(folder: Path, uri: str, chart: str | None = None) -> str:
    """How to look at what the demo left behind (commands that work as printed); `chart` is
    the MLflow UI's page drawing churn's signals as lines over the checks."""
    prefect_home = os.environ.get("PREFECT_HOME", "~/.prefect")
    env = f"MLFLOW_TRACKING_URI={uri}"
    text = (
        "\nLook closer:\n"
        "  Why each version exists, and every policy's state (the ledger in MLflow):\n"
        f"    {env} .venv/bin/retrain explain churn 2\n"
        f"    {env} .venv/bin/retrain status\n"
        "  The report: metric, drift, data, decisions and versions over time, one HTML page:\n"
        f"    {env} .venv/bin/retrain report churn --open\n"
        "  The MLflow UI (experiments, the ledger's runs, versions, aliases), then\n"
        "  http://127.0.0.1:5000:\n"
        f"    .venv/bin/mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000\n"
    )
    if chart:
        text += f"  and there churn's accuracy and drift share over the checks:\n    {chart}\n"
    return text + (
        "  The Prefect UI: each check's run named by its verdict (Held, Retrained, ...) and\n"
        "  tagged with it, its decision artifacts, and the fleet at\n"
        "  http://127.0.0.1:4200/artifacts (keys retrain-fleet, retrain-decision-churn):\n"
        f"    PREFECT_HOME={prefect_home} .venv/bin/prefect server start --host 127.0.0.1"
    )
