"""The decision as people read it: Prefect's state name and artifacts, and a table for terminals.

One row per check (`check_rows`) in people's units (a duration as `90d`, not seconds), with its
whole reason; the markdown artifact, the table artifact and `retrain run`'s table all show these
rows. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from retrain_core.base.durations import format_duration
from retrain_core.base.outcome import SECONDS, CheckOutcome, Status
from retrain_core.decide.records import RetrainDecision

_ICON = {"pass": "pass", "fail": "**FAIL**", "error": "_error_"}
# the name of a check's final Prefect state (a Completed state), by verdict
STATE_NAMES = {
    "retrain": "Retrained",
    "hold": "Held",
    "blocked": "Blocked",
    "pending": "Pending",
    "suppressed": "Suppressed",
}
COLUMNS = ("check", "status", "observed", "threshold", "reason")


def artifact_key(policy_name: str, what: str = "decision") -> str:
    """The stable Prefect artifact key of a policy's decision (lowercase, dashes only); `what`
    names another artifact of the policy (`checks`: the table of its checks)."""
    cleaned = "".join(c if c.isalnum() else "-" for c in policy_name.lower())
    return f"retrain-{what}-{cleaned}"


def state_name(verdict: str) -> str:
    """The name of the check's Completed state in Prefect: Held, Retrained, Blocked, ..."""
    return STATE_NAMES.get(verdict, verdict.capitalize())


def headline(decision: RetrainDecision) -> str:
    """What the decision means, in a few words."""
    return {
        "retrain": "Retrain",
        "blocked": "Blocked: the data failed its checks",
        "suppressed": f"Signal held back by {decision.suppressed_by}",
        "pending": "Retrain pending: waiting for labels of the changed data",
        "hold": "No retrain",
    }[decision.verdict]


def human(value: float | None, unit: str = "") -> str:
    """A measured value for people: a duration as `90d` or `2h 5m`, a number in 4 digits."""
    if value is None:
        return ""
    if unit == SECONDS:
        return format_duration(timedelta(seconds=value))
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def check_rows(outcomes: Sequence[CheckOutcome]) -> list[dict[str, str]]:
    """One row per check (failures and errors first): check, status, observed, threshold, reason."""
    return [
        {
            "check": o.check,
            "status": o.status.value,
            "observed": human(o.observed, o.unit),
            "threshold": human(o.threshold, o.unit),
            "reason": o.reason,
        }
        for o in _ordered(outcomes)
    ]


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_link(label: str, target: str) -> str:
    """A markdown link when `target` is a web address, else the label and the target as text
    (a SQLite or file store has no page to open)."""
    if target.startswith(("http://", "https://")):
        return f"[{label}]({target})"
    return f"{label}: `{target}`"


def decision_markdown(
    policy_name: str, decision: RetrainDecision, rows: int, links: Mapping[str, str] | None = None
) -> str:
    """Markdown: the verdict, its reasons, then one table row per check, then the links."""
    lines = [
        f"# {policy_name}: {headline(decision)}",
        "",
        f"Window: {decision.window or 'n/a'} ({rows} rows). Policy hash `{decision.policy_hash}`.",
        "",
        *[f"- {_escape(reason)}" for reason in decision.reasons],
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---|---|---|---|",
    ]
    for row in check_rows(decision.outcomes):
        lines.append(
            f"| `{row['check']}` | {_ICON[row['status']]} | {row['observed']} "
            f"| {row['threshold']} | {_escape(row['reason'])} |"
        )
    for label, target in sorted((links or {}).items()):
        lines.append(f"\n{markdown_link(label, target)}")
    return "\n".join(lines) + "\n"


def _ordered(outcomes: Sequence[CheckOutcome]) -> list[CheckOutcome]:
    """Failures and errors first, then the rest, each group in check order."""
    rank = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2}
    return sorted(outcomes, key=lambda o: (rank[o.status], o.check))


def decision_table(
    policy_name: str,
    verdict: str,
    window: str,
    rows: int,
    reasons: Sequence[str],
    checks: Sequence[Mapping[str, str]],
) -> Any:
    """`retrain run`'s decision as a rich renderable: the verdict, its reasons, the checks."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("check", overflow="fold", max_width=40)
    table.add_column("status", no_wrap=True)
    table.add_column("observed", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for row in checks:
        style = {"fail": "bold red", "error": "yellow"}.get(row["status"], "")
        table.add_row(*(row[c] for c in COLUMNS), style=style)
    lines = [Text(f"{policy_name}: {verdict.upper()}  ({window}, {rows} rows)", style="bold")]
    lines += [Text(f"  - {reason}") for reason in reasons]
    return Group(*lines, Text(""), table)
