"""The decision as people read it: a markdown artifact for the Prefect UI, a table for terminals."""

from __future__ import annotations

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.decide.records import RetrainDecision

_ICON = {Status.PASS: "pass", Status.FAIL: "**FAIL**", Status.ERROR: "_error_"}


def artifact_key(policy_name: str) -> str:
    """The stable Prefect artifact key of a policy's decision (lowercase, dashes only)."""
    cleaned = "".join(c if c.isalnum() else "-" for c in policy_name.lower())
    return f"retrain-decision-{cleaned}"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def decision_markdown(
    policy_name: str, decision: RetrainDecision, rows: int, links: dict[str, str] | None = None
) -> str:
    """Markdown: the verdict, its reasons, then one table row per check."""
    headline = {
        "retrain": "Retrain",
        "blocked": "Blocked: the data failed its checks",
        "suppressed": f"Signal held back by {decision.suppressed_by}",
        "pending": "Retrain pending: waiting for labels of the changed data",
        "hold": "No retrain",
    }[decision.verdict]
    lines = [
        f"# {policy_name}: {headline}",
        "",
        f"Window: {decision.window or 'n/a'} ({rows} rows). Policy hash `{decision.policy_hash}`.",
        "",
        *[f"- {_escape(reason)}" for reason in decision.reasons],
        "",
        "| check | status | observed | threshold | reason |",
        "|---|---|---|---|---|",
    ]
    for outcome in _ordered(decision.outcomes):
        lines.append(
            f"| `{outcome.check}` | {_ICON[outcome.status]} | {_number(outcome.observed)} "
            f"| {_number(outcome.threshold)} | {_escape(outcome.reason)} |"
        )
    for label, url in sorted((links or {}).items()):
        lines.append(f"\n[{label}]({url})")
    return "\n".join(lines) + "\n"


def _ordered(outcomes: tuple[CheckOutcome, ...]) -> list[CheckOutcome]:
    """Failures and errors first, then the rest, each group in check order."""
    rank = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2}
    return sorted(outcomes, key=lambda o: (rank[o.status], o.check))


def decision_table(policy_name: str, decision: RetrainDecision, rows: int) -> str:
    """A plain-text table for `retrain run` (rich renders it when the terminal allows)."""
    width = max([len(o.check) for o in decision.outcomes] + [5])
    out = [f"{policy_name}: {decision.verdict.upper()}  ({decision.window}, {rows} rows)"]
    out += [f"  - {reason}" for reason in decision.reasons]
    out.append("")
    out.append(f"  {'check':<{width}}  {'status':<6}  {'observed':>10}  {'threshold':>10}")
    for o in _ordered(decision.outcomes):
        out.append(
            f"  {o.check:<{width}}  {o.status.value:<6}  {_number(o.observed):>10}  "
            f"{_number(o.threshold):>10}"
        )
    return "\n".join(out)
