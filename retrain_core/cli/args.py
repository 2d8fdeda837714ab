"""Arguments of the run-time subcommands (standard library only: the parser must stay cheap)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def moment(text: str) -> datetime:
    """An ISO 8601 date or datetime; naive means UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="policy file, e.g. policies/churn.yaml")
    parser.add_argument(
        "--now", type=moment, default=None, metavar="ISO",
        help="judge as if it were this moment (replays, tests); default: now",
    )  # fmt: skip
    parser.add_argument(
        "--data-root", default=None, metavar="DIR",
        help="folder the policy's relative data paths start from (default: the project)",
    )  # fmt: skip


def add_demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="stream seed (same seed, same story)")
    parser.add_argument("--days", type=int, default=14, help="days of batches to replay")
    parser.add_argument(
        "--dir", default=None, metavar="DIR",
        help="demo folder (default: .retrain/demo in the project); wiped at start",
    )  # fmt: skip
    parser.add_argument(
        "--fresh", action="store_true", help="accepted for clarity: every demo starts clean"
    )


def add_status_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="policies (default: all)")
    parser.add_argument("--tag", action="append", default=[], help="only policies with this tag")
    parser.add_argument(
        "--verdict", action="append", default=[],
        help="only policies whose last check had this verdict (retrain, hold, suppressed, blocked)",
    )  # fmt: skip
    parser.add_argument(
        "--stale", metavar="DURATION", default=None,
        help="only policies not checked for this long (wall clock), e.g. 2d; never checked counts",
    )  # fmt: skip
    parser.add_argument(
        "--sort",
        choices=("name", "last-check", "age", "verdict"),
        default="name",
        help="row order (default: name)",
    )
    parser.add_argument("--json", action="store_true", help="rows and summary as JSON")


def add_explain_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="policy / registered model name")
    parser.add_argument("version", metavar="VERSION", help="registered version number")


def add_report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="policy name or file")
    parser.add_argument(
        "--out", "-o", default=None, metavar="FILE",
        help="the HTML file to write (default: .retrain/reports/NAME.html in the project)",
    )  # fmt: skip
    parser.add_argument("--open", action="store_true", help="open it in the web browser")
    parser.add_argument(
        "--checks", type=int, default=500, metavar="N",
        help="the newest N checks (default: 500, as many as a decision reads)",
    )  # fmt: skip


def add_rollback_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="policy / registered model name")


def add_emit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="policy name or file")
    parser.add_argument("path", metavar="PATH", help="the file or location that arrived")


def add_sample_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=4,
        help="churn days to write (1-4 clean, 5-6 covariate shift, 9+ concept change)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="stream seed (same seed, same data)")
    parser.add_argument(
        "--dir", default=None, metavar="DIR", help="folder to write data/ into (default: project)"
    )


def add_quarantine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "release"], help="what to do")
    parser.add_argument("policy", metavar="POLICY", help="policy name or file")
    parser.add_argument(
        "file", nargs="?", metavar="FILE",
        help="release: the file name or path as `list` shows it (labels/day-01.parquet "
        "when a name repeats)",
    )  # fmt: skip
    parser.add_argument(
        "--all", action="store_true", help="list: released batches too, not only quarantined ones"
    )


def add_backtest_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="policy file, e.g. policies/churn.yaml")
    parser.add_argument(
        "--data", default=None, metavar="DIR",
        help="replay the files under DIR, laid out as the policy's sources (default: the "
        "policy's own sources, relative to the project)",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="start", default=None, metavar="ISO",
        help="first step (default: one --every after the first row)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", default=None, metavar="ISO", help="last step (default: the last row)"
    )
    parser.add_argument(
        "--every", default="1d", metavar="DURATION", help="time between steps (default: 1d)"
    )
    parser.add_argument(
        "--label-lag", default=None, metavar="DURATION",
        help="how late labels arrive (default: the policy's data.labels.lag, else 0)",
    )  # fmt: skip
    parser.add_argument(
        "--metric", default=None,
        help="metric to score the serving model with (default: the performance trigger's)",
    )  # fmt: skip
    parser.add_argument(
        "--periodic", type=int, default=5, metavar="K",
        help="the periodic baseline retrains every K steps (default: 5)",
    )  # fmt: skip
    parser.add_argument(
        "--out", default=None, metavar="DIR",
        help="where backtest.json and the plot go (default: .retrain/backtest/NAME)",
    )  # fmt: skip
    parser.add_argument(
        "--ceiling", action="store_true",
        help="also print the best mean any schedule of as many retrains as the policy promoted "
        "could reach (models trained at every step as the policy trains: on the window and, "
        "once it named a change, from the change on; its own models too; the schedule chosen "
        "with hindsight; one or two extra trainings per step)",
    )  # fmt: skip


def add_tune_args(parser: argparse.ArgumentParser) -> None:
    add_backtest_args(parser)
    parser.add_argument(
        "--stable-from", default=None, metavar="ISO",
        help="start of a period that should not retrain (default: the first third of the steps)",
    )  # fmt: skip
    parser.add_argument("--stable-to", default=None, metavar="ISO", help="its end")
    parser.add_argument(
        "--rate", type=float, default=0.05,
        help="largest share of stable checks a rule may fire on (default: 0.05)",
    )  # fmt: skip
