"""Fleet-wide limits on training, as Prefect global concurrency limits (pure parts, no Prefect).

Two settings in `[tool.retrain]` span every policy of a project:

- `max_concurrent_trainings = N`: the training flow holds one slot of the limit
  `retrain-fleet-trainings` (N slots) while it trains and registers: at most N at once, the others
  wait for a slot (`runtime.locks.fleet_training_slot`).
- `training_budget = {max = 20, per = "1d"}`: a retrain spends one slot of the rate limit
  `retrain-fleet-budget` (`max` slots that free at max/per slots per second, Prefect's
  `slot_decay_per_second`). A check whose decision is to retrain takes a slot before the decision
  is recorded; when none is free the retrain is held (`hold_for_budget`), recorded with the reason
  ("fleet training budget of 20 per 1d is used up (20 used); next slot in 1h 12m") and the signal
  is judged again on the next check. It is a leaky bucket: up to `max` at once, then one more
  every per/max; Prefect counts decay in whole slots since the last change of the limit.

Unset (the default), neither exists and nothing is asked of Prefect. The limits are created or
resized on first use, so changing the settings takes effect with the next training.
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from retrain_core.base.durations import format_duration
from retrain_core.decide.records import RetrainDecision

CONCURRENCY_LIMIT = "retrain-fleet-trainings"
BUDGET_LIMIT = "retrain-fleet-budget"
SUPPRESSED_BY = "fleet-budget"


@dataclass(frozen=True)
class BudgetState:
    """The fleet's retrain budget as Prefect counts it, and whether this retrain got a slot."""

    max: int
    per: timedelta
    used: int  # slots not freed yet
    next_slot: timedelta | None = None  # when the next slot frees (None: one is free now)
    granted: bool = False  # this check's retrain took a slot

    @property
    def available(self) -> bool:
        return self.used < self.max

    def describe(self) -> str:
        """One line for status: "5 of 20 per 1d used" (and when the next slot frees)."""
        text = f"{self.used} of {self.max} per {format_duration(self.per)} used"
        if self.next_slot is not None:
            text += f"; next slot in {format_duration(self.next_slot)}"
        return text


def decay_per_second(max_: int, per: timedelta) -> float:
    """Prefect's `slot_decay_per_second` for `max` retrains per `per`."""
    return max_ / per.total_seconds()


def budget_state(
    max_: int, per: timedelta, limit: dict[str, Any], read_at: datetime
) -> BudgetState:
    """The budget from a Prefect limit as its API returns it (active slots after decay).

    The next slot frees when the decay since the limit last changed (`updated`) reaches one more
    whole slot than the overdraft.
    """
    used = int(limit.get("active_slots", 0))
    decay = float(limit.get("slot_decay_per_second") or decay_per_second(max_, per))
    if used < max_ or decay <= 0:
        return BudgetState(max_, per, used)
    updated = _time(limit.get("updated")) or read_at
    decayed = decay * max((read_at - updated).total_seconds(), 0.0)
    needed = used - max_ + 1 - (decayed - math.floor(decayed))
    return BudgetState(max_, per, used, timedelta(seconds=round(max(needed, 0.0) / decay)))


def budget_reason(state: BudgetState) -> str:
    """Why a retrain waits: the budget, what is used, and when the next slot frees."""
    reason = (
        f"fleet training budget of {state.max} per {format_duration(state.per)} is used up "
        f"({state.used} used)"
    )
    if state.next_slot is not None:
        reason += f"; next slot in {format_duration(state.next_slot)}"
    return reason


def hold_for_budget(decision: RetrainDecision, state: BudgetState | None) -> RetrainDecision:
    """The decision, held when the fleet's budget had no slot for its retrain (pure).

    `state` is None when no budget is set; a granted slot lets the retrain go on.
    """
    if not decision.retrain or state is None or state.granted:
        return decision
    return replace(
        decision,
        retrain=False,
        suppressed_by=SUPPRESSED_BY,
        reasons=(*decision.reasons, budget_reason(state)),
    )


def read_limit(api_url: str, name: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """A global concurrency limit from the Prefect REST API (no Prefect import), None if absent.

    For `retrain status`, which must stay fast: importing Prefect's client costs seconds.
    """
    url = f"{api_url.rstrip('/')}/v2/concurrency_limits/{urllib.parse.quote(name)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    return data


def _time(text: Any) -> datetime | None:
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, str) and text:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
