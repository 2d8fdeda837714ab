"""The fleet's retrain budget (`training_budget`): spend one slot of its Prefect rate limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain_core.base.settings import load_settings
from retrain_core.decide.fleet import BUDGET_LIMIT, BudgetState, budget_state, decay_per_second
from retrain_core.runtime.limits import ensure_limit


def take_budget_slot() -> BudgetState | None:
    """Spend one slot of the fleet's retrain budget; the state (granted or not), None when unset.

    The limit is read first and a slot taken only when one is free: a denied attempt would make
    Prefect restart the decay count, so a full budget polled often would never free a slot.
    """
    import httpx
    from prefect import get_client

    budget = load_settings().training_budget
    if budget is None:
        return None
    max_, per = budget
    ensure_limit(BUDGET_LIMIT, max_, decay_per_second(max_, per))
    with get_client(sync_client=True) as client:
        state = _budget_now(client, max_, per)
        if not state.available:
            return state
        try:
            client.increment_concurrency_slots([BUDGET_LIMIT], 1, "rate_limit")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 423:  # 423: another check took the last slot
                raise
            return replace(_budget_now(client, max_, per), used=max_)
    return replace(budget_state(max_, per, {"active_slots": state.used + 1}, _now()), granted=True)


def _budget_now(client: Any, max_: int, per: timedelta) -> BudgetState:
    """The budget as Prefect counts it now (all slots free when the limit does not exist yet)."""
    from prefect.exceptions import ObjectNotFound

    try:
        limit = client.read_global_concurrency_limit_by_name(BUDGET_LIMIT)
    except ObjectNotFound:
        return budget_state(max_, per, {}, _now())
    return budget_state(max_, per, limit.model_dump(), _now())


def _now() -> datetime:
    """Prefect's limits decay in real time: their state is read on the wall clock."""
    return datetime.now(UTC)
