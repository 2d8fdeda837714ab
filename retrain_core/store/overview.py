"""One policy's state at a glance, from the ledger (no model is loaded): a row of the fleet.

`retrain status` prints these rows and the monitor writes the checked policy's row into the
Prefect fleet artifact after each check: the same row, computed here once. Times are on the
ledger's clock: a policy's "now" is its newest check (a replay or the demo records simulated
times).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from retrain_core.policy.loader import LoadedPolicy
from retrain_core.store.views import PolicyState, View


@dataclass(frozen=True)
class Row:
    """One policy's state, as `retrain status` prints it and as JSON."""

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
    next_action: str
    stage: str | None = None  # e.g. "v2 in canary, 812 rows: accuracy 0.78 vs champion 0.76 ..."


def policy_row(name: str, loaded: LoadedPolicy | None, view: View) -> Row:
    """One policy's state from the ledger and the registry's tags."""
    policy = loaded.policy if loaded else None
    alias = policy.promotion.alias if policy else "champion"
    state = view.state(name, alias)
    checks = state.checks
    last = checks[0] if checks else None
    now = last.checked_at if last else datetime.now(UTC)
    age = max((now - state.serving_since).total_seconds(), 0.0) if state.serving_since else None
    retrains = [c for c in checks if c.verdict == "retrain"]
    waiting = [version for version, deadline in state.pending if deadline > now]
    limit = max_age(loaded)
    pending = f"v{max(waiting, key=int)}" if waiting else None
    past = bool(limit and age is not None and age > limit.total_seconds())
    verdict = last.verdict if last else None
    return Row(
        policy=name,
        tags=list(policy.tags) if policy else [],
        champion=f"v{state.champion}" if state.champion else None,
        champion_age_s=age,
        last_check=last.checked_at if last else None,
        verdict=verdict,
        why=last.reasons[0] if last and last.reasons else None,
        last_retrain=retrains[0].checked_at if retrains else None,
        retrains_last_day=sum(c.checked_at > now - timedelta(days=1) for c in retrains),
        pending_approval=pending,
        quarantined=state.quarantined,
        past_max_age=past,
        next_action=next_action(name, verdict, pending, state.quarantined, past),
        stage=_stage_text(state),
    )


def _stage_text(state: PolicyState) -> str | None:
    """The staged challenger, its rows seen and its running comparison, in one line."""
    found = state.staged
    if found is None:
        return None
    return f"v{found.version} in {found.stage}, {found.rows} rows: {found.comparison}"


def next_action(
    name: str, verdict: str | None, pending: str | None, quarantined: int, past_max_age: bool
) -> str:
    """What the policy waits for, or what a person should do next, in a few words."""
    if pending:
        return f"approve or reject {pending} (its paused approve run)"
    if verdict == "blocked" or quarantined:
        return f"look at the quarantined batches: retrain quarantine list {name}"
    if verdict is None:
        return "first check"
    if verdict == "pending":
        return "waiting for labels of the changed rows"
    if past_max_age:
        return "retrain due: the champion is past max_age"
    if verdict == "suppressed":
        return "retrain held back: the next check decides again"
    return "next check"


def max_age(loaded: LoadedPolicy | None) -> timedelta | None:
    """The policy's `max_age` trigger, if it has one."""
    if loaded is None:
        return None
    for rule in loaded.policy.triggers.rules:
        age = getattr(rule, "max_age", None)
        if isinstance(age, timedelta):
            return age
    return None
