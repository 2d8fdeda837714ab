"""`retrain status`: the fleet at a glance, from the ledger (no model is loaded).

One row per policy (`retrain_core.store.overview`, the rows of the Prefect fleet artifact too):
champion version and age, last check and its verdict, last retrain, pending approval and
quarantined batches, whether the champion is past the policy's `max_age`, and what is next.
Filter (`--tag`, `--verdict`, `--stale`), sort (`--sort`), or print JSON (`--json`) for scripts;
a summary line counts retrains in the last day, blocked checks, pending approvals, quarantined
batches and champions past their age. Times are on the ledger's clock: a policy's "now" is its
newest check (a replay or the demo records simulated times).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain_core.base.durations import format_duration
from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy.loader import load_policies
from retrain_core.store.overview import Row, policy_row
from retrain_core.store.tracking import check_reachable, shown_uri, tracking_uri
from retrain_core.store.views import view_for

_EMBEDDED = " (embedded default: MLFLOW_TRACKING_URI is not set in this shell)"


def status(args: argparse.Namespace) -> int:
    """Handler of `retrain status`."""
    from retrain_core.base.durations import parse_duration

    settings = load_settings(args.project)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri(settings)
    check_reachable(uri)  # a server that is down: one line, exit 1
    loaded, _ = load_policies([settings.policies_path], settings)
    policies = {item.policy.name: item for item in loaded}
    names = args.names or sorted(policies)
    view = view_for(uri)
    rows = [policy_row(name, policies.get(name), view) for name in names]
    unknown = [r for r in rows if r.policy not in policies]
    for row in unknown:
        if row.last_check is None and row.champion is None:  # neither a policy nor in the ledger
            print(f"retrain status: no policy named {row.policy!r} in {settings.policies_path} "
                  "or the ledger", file=sys.stderr)  # fmt: skip
            return 1
    try:
        stale = parse_duration(args.stale) if args.stale else None
    except ValueError as exc:
        print(f"retrain status: --stale {args.stale}: {exc}", file=sys.stderr)
        return 2
    rows = _filtered(rows, args.tag, args.verdict, stale, datetime.now(UTC))
    rows = _sorted(rows, args.sort)
    summary = _summary(rows)
    limits = fleet_limits(settings, os.environ.get("PREFECT_API_URL"))
    if args.json:
        print(json.dumps({"store": shown_uri(uri), "summary": summary, "fleet": limits,
                          "policies": [_jsonable(r) for r in rows]}, indent=2))  # fmt: skip
    else:
        _print(uri, rows, summary)
        if limits:
            print(f"fleet: {fleet_line(limits)}")
    for row in unknown:
        print(
            f"retrain status: no valid policy named {row.policy!r} (shown from the ledger)",
            file=sys.stderr,
        )
    return 0


def fleet_limits(settings: Settings, api_url: str | None) -> dict[str, Any]:
    """The fleet's training limits from `[tool.retrain]`, and their use as Prefect counts it.

    Prefect is read over its REST API (no import: status stays fast), only when PREFECT_API_URL
    points at a server; without one the use is not known here. Empty when no limit is set.
    """
    from retrain_core.decide import fleet

    limits: dict[str, Any] = {}
    if settings.max_concurrent_trainings is not None:
        limits["trainings"] = {"max": settings.max_concurrent_trainings, "running": None}
    if settings.training_budget is not None:
        count, per = settings.training_budget
        text = f"{count} per {format_duration(per)}"
        limits["budget"] = {"max": count, "per_s": per.total_seconds(), "used": None,
                            "next_slot_s": None, "text": text}  # fmt: skip
    if not limits or not api_url:
        return limits
    try:
        if "trainings" in limits:
            found = fleet.read_limit(api_url, fleet.CONCURRENCY_LIMIT)
            limits["trainings"]["running"] = int(found["active_slots"]) if found else 0
        if settings.training_budget is not None:
            found = fleet.read_limit(api_url, fleet.BUDGET_LIMIT)
            state = fleet.budget_state(*settings.training_budget, found or {}, datetime.now(UTC))
            next_slot = state.next_slot.total_seconds() if state.next_slot else None
            limits["budget"].update(used=state.used, next_slot_s=next_slot, text=state.describe())
    except (OSError, ValueError, KeyError) as exc:  # a status line must not fail the command
        limits["error"] = f"Prefect API not readable: {exc}"
    return limits


def fleet_line(limits: dict[str, Any]) -> str:
    """One line: trainings running of the limit, and the budget's use (or why it is not known)."""
    parts = []
    if "trainings" in limits:
        running = limits["trainings"]["running"]
        now = "?" if running is None else str(running)
        parts.append(f"{now} of {limits['trainings']['max']} trainings at once running")
    if "budget" in limits:
        parts.append(f"training budget {limits['budget']['text']}")
    if "error" in limits:
        parts.append(limits["error"])
    elif limits.get("trainings", {}).get("running", 0) is None or (
        limits.get("budget", {}).get("used", 0) is None
    ):
        parts.append("use not read: PREFECT_API_URL is not set")
    return "; ".join(parts)


def _filtered(
    rows: list[Row], tags: list[str], verdicts: list[str], stale: timedelta | None, now: datetime
) -> list[Row]:
    """Rows with every asked tag, one of the asked verdicts, and not checked for `stale`."""
    return [
        r for r in rows
        if all(t in r.tags for t in tags)
        and (not verdicts or (r.verdict or "never") in verdicts)
        and (stale is None or r.last_check is None or now - r.last_check >= stale)
    ]  # fmt: skip


def _sorted(rows: list[Row], key: str) -> list[Row]:
    """Rows in the asked order: name; newest check first; oldest champion first; by verdict."""
    oldest = datetime.min.replace(tzinfo=UTC)
    orders: dict[str, Any] = {
        "name": lambda r: r.policy,
        "last-check": lambda r: (r.last_check or oldest, r.policy),
        "age": lambda r: (-(r.champion_age_s or -1.0), r.policy),
        "verdict": lambda r: (r.verdict or "~", r.policy),
    }
    return sorted(rows, key=orders[key], reverse=key == "last-check")


def _summary(rows: list[Row]) -> dict[str, int]:
    """Fleet counts for the summary line."""
    return {
        "policies": len(rows),
        "retrains_last_day": sum(r.retrains_last_day for r in rows),
        "blocked": sum(r.verdict == "blocked" for r in rows),
        "pending_approvals": sum(r.pending_approval is not None for r in rows),
        "quarantined_batches": sum(r.quarantined for r in rows),
        "past_max_age": sum(r.past_max_age for r in rows),
        "never_checked": sum(r.last_check is None for r in rows),
    }


def _jsonable(row: Row) -> dict[str, Any]:
    data = asdict(row)
    for key in ("last_check", "last_retrain"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _age(seconds: float | None) -> str:
    """A champion's age for people: its two largest units (`2h`, `3d 4h`)."""
    return "-" if seconds is None else format_duration(timedelta(seconds=seconds))


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 retrain`, `2 retrains`."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def summary_line(summary: dict[str, int]) -> str:
    """The fleet's counts in one sentence."""
    return (
        f"{_count(summary['policies'], 'policy', 'policies')}: "
        f"{_count(summary['retrains_last_day'], 'retrain')} in the last day, "
        f"{summary['blocked']} blocked, {summary['pending_approvals']} waiting for approval, "
        f"{_count(summary['quarantined_batches'], 'quarantined batch', 'quarantined batches')}, "
        f"{_count(summary['past_max_age'], 'champion')} past max_age (!), "
        f"{summary['never_checked']} never checked"
    )


def _print(uri: str, rows: list[Row], summary: dict[str, int]) -> None:
    """The table a person reads: the store, one row per policy with why and what next, then the
    summary."""
    from retrain_core.cli.output import show, table

    embedded = "" if os.environ.get("MLFLOW_TRACKING_URI") else _EMBEDDED
    print(f"store: {shown_uri(uri)}{embedded}")
    found = table(
        "policy",
        "champion",
        "age",
        "last check",
        "decision",
        "last retrain",
        "why / next",
        wrap="why / next",
    )
    for r in rows:
        age = _age(r.champion_age_s) + ("!" if r.past_max_age else "")
        notes = [r.why or "-", f"next: {r.next_action}"]
        if r.pending_approval:
            notes.append(f"waiting for approval: {r.pending_approval}")
        if r.stage:
            notes.append(f"stage: {r.stage}")
        if r.quarantined:
            notes.append(f"quarantined: {_count(r.quarantined, 'batch', 'batches')}")
        found.add_row(r.policy, r.champion or "-", age, _when(r.last_check), r.verdict or "-",
                      _when(r.last_retrain), "\n".join(notes))  # fmt: skip
    show(found)
    print(summary_line(summary))
