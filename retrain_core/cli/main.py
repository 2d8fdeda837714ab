"""The `retrain` command. Subcommands import what they need when they run, so `validate` stays fast.

Adding a subcommand: an `add_args(parser)` function, a handler `(args) -> exit code`, and one
`Command(...)` line in COMMANDS. A long handler lives in its own module and is named here as
"module:function", so that module is imported only when its command runs. Keep the imports at the
top of this module and of cli/policy_commands.py to the standard library: `retrain validate`
must never import prefect, mlflow, great-expectations or alibi-detect
(tests/integration/test_import_cost.py checks it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrain_core.base.errors import Refusal
from retrain_core.cli import args
from retrain_core.cli.policy_commands import CliError, compile_policies, schema, validate

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: name, one-line help, examples, its arguments and its handler."""

    name: str
    help: str
    examples: str
    add_args: Callable[[argparse.ArgumentParser], None]
    handler: Handler | str  # a function, or "module:function" imported only when it runs


# ---- arguments of validate, compile and schema (their handlers: cli/policy_commands.py) ------


def _add_validate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="policy files or folders of *.yaml (default: the policies folder of the project)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="check the policies' paths and columns against the files under DIR, laid out as "
        "their sources (default: the data under the project, where it exists)",
    )


def _add_compile_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and print a diff when the file is stale",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="file to write (default: prefect.yaml in the project)",
    )


def _add_schema_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--output", "-o", metavar="FILE", help="write the JSON schema to FILE")
    group.add_argument(
        "--write",
        action="store_true",
        help="regenerate policies/policy.schema.json and policies/README.md",
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when policies/policy.schema.json or policies/README.md is stale",
    )


# ---- the parser -----------------------------------------------------------------------------

COMMANDS: list[Command] = [
    Command(
        "validate",
        "check policies and print every problem as path:line key: message",
        "  retrain validate                   # every policy in the policies folder\n"
        "  retrain validate policies/churn.yaml\n"
        "  retrain validate policies/ more-policies/\n"
        "  retrain validate policies/churn.yaml --data /backups/churn\n\n"
        "Besides the policy itself, every column it names (features, target, timestamp, join\n"
        "key, expectation columns) must be in the data it can see (the reference, the batches,\n"
        "the labels), and a data path with a typo is named with the folder it may mean.\n"
        "Exit status: 0 when every policy is valid, 1 otherwise (use it in CI).",
        _add_validate_args,
        validate,
    ),
    Command(
        "compile",
        "turn the policies into prefect.yaml (deployments, schedules, triggers)",
        "  retrain compile                    # validate, then write prefect.yaml\n"
        "  retrain compile --check            # CI: exit 1 and show a diff when stale\n"
        "  retrain compile -o /tmp/prefect.yaml\n\n"
        "Then: prefect deploy --all (from the project folder).",
        _add_compile_args,
        compile_policies,
    ),
    Command(
        "schema",
        "print the policy JSON schema, or regenerate the generated policy docs",
        "  retrain schema                     # print the JSON schema\n"
        "  retrain schema -o policy.schema.json\n"
        "  retrain schema --write             # policies/policy.schema.json and README.md\n"
        "  retrain schema --check             # CI: exit 1 when they are stale",
        _add_schema_args,
        schema,
    ),
    Command(
        "run",
        "run one monitor cycle for a policy, in-process, and print the decision",
        "  retrain run policies/churn.yaml\n"
        "  retrain run policies/churn.yaml --now 2026-01-05T23:00\n\n"
        "Uses PREFECT_API_URL and MLFLOW_TRACKING_URI when set; otherwise Prefect's ephemeral\n"
        "API and MLflow on SQLite under .retrain/ in the project. Exit 1 when the run fails.",
        args.add_run_args,
        "retrain_core.cli.run:run",
    ),
    Command(
        "demo",
        "replay a seeded stream with a known drift through the whole loop",
        "  retrain demo                       # about 2-4 minutes on 2 cores\n"
        "  retrain demo --seed 11 --days 12\n\n"
        "State goes to .retrain/demo (wiped at start): MLflow store, Prefect home, data.",
        args.add_demo_args,
        "retrain_core.cli.demo:demo",
    ),
    Command(
        "sample-data",
        "write sample data for the shipped policies into data/ (the demo's seeded stream)",
        "  retrain sample-data                # data/churn (days 1-4) and data/house-prices\n"
        "  retrain sample-data --days 5       # land day 5 (the covariate shift) as well\n\n"
        "Existing references are kept; batch and label files of the days asked for are rewritten\n"
        "with the same bytes (same seed).",
        args.add_sample_data_args,
        "retrain_core.cli.demo:sample_data",
    ),
    Command(
        "backtest",
        "replay history through a policy's checks, decisions and gate, beside baselines",
        "  retrain backtest policies/churn.yaml\n"
        "  retrain backtest policies/churn.yaml --data /backups/churn --label-lag 1d\n"
        "  retrain backtest policies/churn.yaml --from 2026-01-02 --to 2026-01-14 --every 1d\n\n"
        "Prints the per-step trace (signals, verdict, reasons, trained, promoted, the serving\n"
        "model's metric on each batch as it arrived) and a summary beside never retraining,\n"
        "retraining every K steps, a naive metric-drop trigger and persistence, on the same\n"
        "batches and label lag; writes backtest.json and backtest.png. No server is needed.",
        args.add_backtest_args,
        "retrain_core.cli.backtest:backtest",
    ),
    Command(
        "tune",
        "propose drift and drop thresholds that rarely fire on a stable stretch of history",
        "  retrain tune policies/churn.yaml --data /backups/churn\n"
        "  retrain tune policies/churn.yaml --stable-from 2026-01-02 --stable-to 2026-01-20 "
        "--rate 0.05\n\n"
        "Prints, per drift and performance rule, the current threshold and the smallest one that\n"
        "fires on at most --rate of the stable checks, as a diff to apply to the policy.",
        args.add_tune_args,
        "retrain_core.cli.backtest:tune_command",
    ),
    Command(
        "status",
        "the fleet: champion and age, last check and decision, approvals, quarantine, summary",
        "  retrain status\n  retrain status churn\n"
        "  retrain status --tag team-growth --sort last-check\n"
        "  retrain status --verdict blocked --verdict suppressed\n"
        "  retrain status --stale 2d          # not checked for two days (or never)\n"
        "  retrain status --json | jq '.summary'",
        args.add_status_args,
        "retrain_core.cli.status:status",
    ),
    Command(
        "report",
        "one HTML page of a policy over time: metric, drift, data, decisions, versions",
        "  retrain report churn               # writes .retrain/reports/churn.html\n"
        "  retrain report policies/churn.yaml --open\n"
        "  retrain report churn -o /tmp/churn.html --checks 100\n\n"
        "Read from the ledger in MLflow (MLFLOW_TRACKING_URI, else the embedded store). One\n"
        "self-contained file, no network: the measured and estimated metric with its\n"
        "thresholds, drift per feature as a heatmap, rows and expectations per batch,\n"
        "quarantined batches, every decision and the champion's versions, each with its\n"
        "reasons on hover. The monitor keeps the same page on each check's MLflow run\n"
        "(artifact report.html), linked from the Prefect decision artifact.",
        args.add_report_args,
        "retrain_core.cli.report:report",
    ),
    Command(
        "explain",
        "why a registered version exists: its trigger, signals, training window and gate",
        "  retrain explain churn 3",
        args.add_explain_args,
        "retrain_core.cli.models:explain",
    ),
    Command(
        "rollback",
        "move the champion alias back to the previous version (recorded in the ledger)",
        "  retrain rollback churn",
        args.add_rollback_args,
        "retrain_core.cli.models:rollback",
    ),
    Command(
        "quarantine",
        "list the batches set aside as bad data, or release one to be judged again",
        "  retrain quarantine list churn\n"
        "  retrain quarantine list churn --all        # released ones too\n"
        "  retrain quarantine release churn day-05.parquet",
        args.add_quarantine_args,
        "retrain_core.cli.quarantine:quarantine",
    ),
    Command(
        "emit-arrival",
        "tell Prefect that data arrived for a policy (starts its monitor deployment)",
        "  retrain emit-arrival churn data/churn/batches/day-05.parquet\n"
        "  retrain emit-arrival policies/churn.yaml s3://bucket/churn/2026-01-05.parquet",
        args.add_emit_args,
        "retrain_core.runtime.events:cli_emit_arrival",
    ),
]


def _add_project_arg(parser: argparse.ArgumentParser, default: object) -> None:
    """`-C/--project DIR`, `-v/--verbose` and `-q/--quiet`, accepted before or after the command
    name (after it, only when given: `default` is argparse.SUPPRESS there)."""
    parser.add_argument(
        "-C",
        "--project",
        type=Path,
        default=default,
        metavar="DIR",
        help="project folder (default: the nearest folder with a pyproject.toml above cwd)",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-v", "--verbose", action="store_true", default=default or False,
        help="also show Prefect's and MLflow's log lines (each task, each setup step)",
    )  # fmt: skip
    loud.add_argument(
        "-q", "--quiet", action="store_true", default=default or False,
        help="print only the result and errors (no tables, no progress line)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The `retrain` argument parser, one subparser per entry of COMMANDS."""
    parser = argparse.ArgumentParser(
        prog="retrain",
        description="Policy-as-code automated retraining on Prefect and MLflow.",
        epilog="Run `retrain COMMAND --help` for the options and examples of a command.",
    )
    _add_project_arg(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help[:1].upper() + command.help[1:] + ".",
            epilog="examples:\n" + command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_project_arg(sub, default=argparse.SUPPRESS)  # also after the command name
        command.add_args(sub)
        sub.set_defaults(handler=command.handler)
    return parser


def _resolve(handler: Handler | str) -> Handler:
    """The handler itself, or the function a "module:function" string names."""
    if callable(handler):
        return handler
    module, _, name = handler.partition(":")
    resolved: Handler = getattr(importlib.import_module(module), name)
    return resolved


def main(argv: Sequence[str] | None = None) -> int:
    """Run `retrain` with `argv` (default: the command line); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from retrain_core.cli.output import configure, verbosity

    configure(verbosity(args))  # before any command imports Prefect or MLflow
    try:
        return _resolve(args.handler)(args)
    except CliError as exc:
        print(f"retrain {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Refusal as exc:  # a service down, a policy that does not load: one line, no traceback
        print(f"retrain {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
