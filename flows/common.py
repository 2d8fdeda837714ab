"""What the flows share: task options for I/O, retry backoff, where a policy file is, its lock,
the failure-notification hook."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from retrain_core.base.settings import load_settings
from retrain_core.policy.loader import LoadedPolicy, load_policy

# Tasks pass DataFrames and models: never hash them for caching.
IO: dict[str, Any] = {"cache_policy": NO_CACHE, "retry_jitter_factor": 0.2}


def retry_options(loaded: LoadedPolicy) -> dict[str, Any]:
    """The policy's retry count, with Prefect's exponential backoff from its first delay."""
    from prefect.tasks import exponential_backoff

    training = loaded.policy.training
    first = training.retry_delay.total_seconds()
    delays = exponential_backoff(backoff_factor=first)(max(training.retries, 1))
    return {"retries": training.retries, "retry_delay_seconds": delays}


def run_name(prefix: str) -> Any:
    """A flow run name such as `check churn 2026-01-05 23:00` (policy file stem and `now`)."""

    def name() -> str:
        from prefect.runtime import flow_run

        parameters = flow_run.parameters
        policy = Path(str(parameters.get("policy_path", "?"))).stem
        now = parameters.get("now")
        when = f" {now:%Y-%m-%d %H:%M}" if hasattr(now, "strftime") else ""
        return f"{prefix} {policy}{when}"

    return name


def resolve_policy_path(policy_path: str) -> Path:
    """A policy path as given, or relative to the project root (where deployments run)."""
    path = Path(policy_path)
    if path.is_absolute() or path.exists():
        return path
    return load_settings().root / path


LOCK_WAIT_SECONDS = float(os.environ.get("RETRAIN_LOCK_WAIT_SECONDS", "3600"))


class PolicyBusy(RuntimeError):
    """Another check or training of the policy held its lock for longer than this run waits."""


def lock_name(policy_name: str) -> str:
    """The Prefect global concurrency limit that serialises one policy's checks and trainings."""
    return f"retrain-policy-{policy_name}"


@contextmanager
def policy_lock(policy_name: str, wait: float | None = None) -> Iterator[None]:
    """Hold the policy's slot (limit 1) for the block: one check or training at a time.

    `retrain run`, deployments, backtests and the training flow all take the same Prefect
    global concurrency limit, created on first use; a second run waits for it (`wait` seconds,
    default RETRAIN_LOCK_WAIT_SECONDS or an hour), then ends with `PolicyBusy`.
    """
    name = lock_name(policy_name)
    _ensure_limit(name)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    try:
        with slot(name, wait):
            yield
    except SlotTimeout as exc:
        raise PolicyBusy(
            f"policy {policy_name} is busy: another check or training held its lock "
            f"({name}) for more than {wait:.0f} s, so this run ends without a decision"
        ) from exc


class SlotTimeout(TimeoutError):
    """No slot of a global concurrency limit freed within the wait."""


@contextmanager
def slot(name: str, wait: float) -> Iterator[None]:
    """Hold one slot of the global concurrency limit `name` for the block, asking for it until
    `wait` seconds have passed (then `SlotTimeout`).

    Each ask is a whole request (`max_retries=0`), not Prefect's `timeout_seconds`: that timeout
    cancels a request in flight, and a slot the server granted to the cancelled request stays
    taken until its lease expires (5 minutes), so the policy's next run would find it busy.
    An exception raised inside the block is never taken for a busy limit.
    """
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency

    deadline, pause, entered = time.monotonic() + wait, 0.2, False
    while True:
        try:
            with concurrency(name, occupy=1, max_retries=0, strict=True):
                entered = True
                yield
            return
        except ConcurrencySlotAcquisitionError as exc:
            if entered or not _locked(exc):
                raise
        left = deadline - time.monotonic()
        if left <= 0:
            raise SlotTimeout(f"no slot of {name} freed in {wait:.0f} s")
        time.sleep(min(pause, left))
        pause = min(pause * 2, 5.0)


def _locked(exc: BaseException) -> bool:
    """Whether Prefect refused a slot because the limit is full (HTTP 423), not another error."""
    response = getattr(exc.__cause__, "response", None)
    return getattr(response, "status_code", None) == 423


def _ensure_limit(name: str, limit: int = 1, decay: float = 0.0) -> None:
    """Create the global concurrency limit (`limit` slots, `decay` slots freed per second)
    unless it exists; resize one whose slots or decay differ (a changed fleet setting)."""
    from prefect import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            found = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it first
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=name, limit=limit, slot_decay_per_second=decay
                    )
                )
            return
        if found.limit != limit or not math.isclose(found.slot_decay_per_second or 0.0, decay):
            client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay)
            )


class FleetBusy(RuntimeError):
    """No fleet training slot freed within the wait (`max_concurrent_trainings` in use)."""


@contextmanager
def fleet_training_slot(wait: float | None = None) -> Iterator[None]:
    """Hold one of the fleet's `max_concurrent_trainings` slots for the block (none when unset).

    The Prefect global concurrency limit `retrain-fleet-trainings` is created, or resized to the
    setting, on first use; a training waits for a slot (`wait` seconds, as for the policy lock).
    """
    from retrain_core.decide.fleet import CONCURRENCY_LIMIT

    slots = load_settings().max_concurrent_trainings
    if slots is None:
        yield
        return
    _ensure_limit(CONCURRENCY_LIMIT, slots)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    try:
        with slot(CONCURRENCY_LIMIT, wait):
            yield
    except SlotTimeout as exc:
        raise FleetBusy(
            f"all {slots} fleet training slots ({CONCURRENCY_LIMIT}) stayed taken for more "
            f"than {wait:.0f} s (max_concurrent_trainings in [tool.retrain])"
        ) from exc


def take_budget_slot() -> Any:
    """Spend one slot of the fleet's retrain budget; the state (granted or not), None when unset.

    The limit is read first and a slot taken only when one is free: a denied attempt would make
    Prefect restart the decay count, so a full budget polled often would never free a slot.
    """
    import httpx
    from prefect import get_client

    from retrain_core.decide.fleet import BUDGET_LIMIT, budget_state, decay_per_second

    budget = load_settings().training_budget
    if budget is None:
        return None
    max_, per = budget
    _ensure_limit(BUDGET_LIMIT, max_, decay_per_second(max_, per))
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


def read_budget() -> Any:
    """The fleet's retrain budget as Prefect counts it now (None when unset or never used)."""
    from prefect import get_client

    budget = load_settings().training_budget
    if budget is None:
        return None
    with get_client(sync_client=True) as client:
        return _budget_now(client, *budget)


def _budget_now(client: Any, max_: int, per: Any) -> Any:
    from prefect.exceptions import ObjectNotFound

    from retrain_core.decide.fleet import BUDGET_LIMIT, budget_state

    try:
        limit = client.read_global_concurrency_limit_by_name(BUDGET_LIMIT)
    except ObjectNotFound:
        return budget_state(max_, per, {}, _now())
    return budget_state(max_, per, limit.model_dump(), _now())


def _now() -> Any:
    """Prefect's limits decay in real time: their state is read on the wall clock."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


class AlreadyNotified(RuntimeError):
    """A failure whose notification was sent already (a training subflow's, by its own hook)."""


QUIET_FAILURES = (PolicyBusy, AlreadyNotified)  # nothing was judged, or somebody told already


def notify_failure(what: str) -> Any:
    """An `on_failure`/`on_crashed` hook: tell the policy's listeners that `what` failed, and why.

    Prefect calls it once the run is Failed or Crashed, whatever raised; it reads the policy from
    the run's parameters (a policy that cannot be read has nobody to notify: logged only).
    """

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        from retrain_core.notify import Notification, send
        from retrain_core.policy.notify import Event

        reason = failure_reason(state)
        if reason is None:
            return
        try:
            loaded = load_policy(resolve_policy_path(str(flow_run.parameters["policy_path"])))
        except Exception as exc:  # the run's own error says what is wrong
            logging.getLogger(__name__).warning("no failure notification: %s", exc)
            return
        policy = loaded.policy
        note = Notification(Event.FAILED, policy.name, (f"{what}{reason}",), decision="failed")
        send(policy.notify, note)

    return hook


def failure_reason(state: Any) -> str | None:
    """`Type: message` of the exception that failed the run, its state message when it crashed,
    or None when the failure is not to be notified (`QUIET_FAILURES`)."""
    try:
        exc = state.result(raise_on_failure=False) if state.is_failed() else None
    except Exception:  # an unreadable result: fall back to the state's message
        exc = None
    if isinstance(exc, QUIET_FAILURES):
        return None
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}"
    return str(state.message or state.name)
