"""`retrain status`: the fleet at a glance, from the ledger (no model is loaded).

One row per policy: champion version and age, last check and its verdict, last retrain, pending
approval and quarantined batches, and whether the champion is past the policy's `max_age`.
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
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain_core.base.durations import format_duration
from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy.loader import LoadedPolicy, load_policies
from retrain_core.store.tracking import check_reachable, shown_uri, tracking_uri
from retrain_core.store.views import View, view_for

_EMBEDDED = " (embedded default: MLFLOW_TRACKING_URI is not set in this shell)"


@dataclass(frozen=True)
class Row:
    """One policy's state, as printed and as JSON."""

    policy: str
    tags: list[str]
    champion: str | None
    champion_age_s: float | None
    last_check: datetime | None
    verdict: str | None
    why: str | None
    last_retrain: datetime | None
    retrains_last_day: int
    pending_approval: str | None
    quarantined: int
    past_max_age: bool


def status(args: argparse.Namespace) -> int:
    """Handler of `retrain status`."""
    from retrain_core.base.durations import parse_duration

    settings = load_settings(args.project)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri(settings)
    check_reachable(uri)  # a server that is down: one line, exit 1
    loaded, _ = load_policies([settings.policies_path], settings)
    policies = {item.policy.name: item for item in loaded}
    unknown = [name for name in args.names if name not in policies]
    names = args.names or sorted(policies)
    view = view_for(uri)
    rows = [_row(name, policies.get(name), view) for name in names]
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
    for name in unknown:
        print(
            f"retrain status: no valid policy named {name!r} (shown from the ledger)",
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


def _row(name: str, loaded: LoadedPolicy | None, view: View) -> Row:
    """One policy's state from the ledger and the registry's tags (no model is loaded)."""
    policy = loaded.policy if loaded else None
    alias = policy.promotion.alias if policy else "champion"
    state = view.state(name, alias)
    checks = state.checks
    last = checks[0] if checks else None
    now = last.checked_at if last else datetime.now(UTC)
    age = max((now - state.serving_since).total_seconds(), 0.0) if state.serving_since else None
    retrains = [c for c in checks if c.verdict == "retrain"]
    waiting = [version for version, deadline in state.pending if deadline > now]
    max_age = _max_age(loaded)
    return Row(
        policy=name,
        tags=list(policy.tags) if policy else [],
        champion=f"v{state.champion}" if state.champion else None,
        champion_age_s=age,
        last_check=last.checked_at if last else None,
        verdict=last.verdict if last else None,
        why=last.reasons[0] if last and last.reasons else None,
        last_retrain=retrains[0].checked_at if retrains else None,
        retrains_last_day=sum(c.checked_at > now - timedelta(days=1) for c in retrains),
        pending_approval=f"v{max(waiting, key=int)}" if waiting else None,
        quarantined=state.quarantined,
        past_max_age=bool(max_age and age is not None and age > max_age.total_seconds()),
    )


def _max_age(loaded: LoadedPolicy | None) -> timedelta | None:
    """The policy's `max_age` trigger, if it has one."""
    if loaded is None:
        return None
    for rule in loaded.policy.triggers.rules:
        age = getattr(rule, "max_age", None)
        if isinstance(age, timedelta):
            return age
    return None


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
    """A table column of ages: always two units ("0h 5m", "2h 0m", "3d 4h") so rows line up."""
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"


def _print(uri: str, rows: list[Row], summary: dict[str, int]) -> None:
    """The table a person reads: a header, one line per policy, notes, then the summary."""
    embedded = "" if os.environ.get("MLFLOW_TRACKING_URI") else _EMBEDDED
    print(f"store: {shown_uri(uri)}{embedded}")
    print(f"{'policy':<20} {'champion':<9} {'age':<8} {'last check':<17} {'decision':<11} retrain")
    for r in rows:
        age = _age(r.champion_age_s) + ("!" if r.past_max_age else "")
        print(
            f"{r.policy:<20} {r.champion or '-':<9} {age:<8} {_when(r.last_check):<17} "
            f"{r.verdict or '-':<11} {_when(r.last_retrain)}"
        )
        if r.why:
            print(f"{'':<20} why: {r.why}")
        if r.pending_approval:
            print(f"{'':<20} waiting for approval: {r.pending_approval}")
        if r.quarantined:
            print(f"{'':<20} quarantined: {r.quarantined} batch(es) "
                  f"(retrain quarantine list {r.policy})")  # fmt: skip
    print(
        f"{summary['policies']} policies: {summary['retrains_last_day']} retrains in the last "
        f"day, {summary['blocked']} blocked, {summary['pending_approvals']} waiting for approval, "
        f"{summary['quarantined_batches']} quarantined batches, {summary['past_max_age']} "
        f"champions past max_age (!), {summary['never_checked']} never checked"
    )
