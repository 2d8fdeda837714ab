"""The policy lock (one check or training of a policy at a time) and the fleet's training slots
(`max_concurrent_trainings`), both held as Prefect global concurrency limits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from retrain_core.base.errors import Refusal
from retrain_core.base.settings import load_settings
from retrain_core.decide.fleet import CONCURRENCY_LIMIT
from retrain_core.runtime.limits import SlotTimeout, ensure_limit, slot

LOCK_WAIT_SECONDS = float(os.environ.get("RETRAIN_LOCK_WAIT_SECONDS", "3600"))


class PolicyBusy(Refusal):
    """Another check or training of the policy held its lock for longer than this run waits."""


class FleetBusy(Refusal):
    """No fleet training slot freed within the wait (`max_concurrent_trainings` in use)."""


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
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    busy = (
        f"policy {policy_name} is busy: waiting up to {wait:.0f} s for the check or training "
        f"that holds its lock ({name}) to end (a run that died gives it back within seconds "
        "on this machine, within a minute from another)"
    )
    try:
        with slot(name, wait, busy, create=1):
            yield
    except SlotTimeout as exc:
        raise PolicyBusy(
            f"policy {policy_name} is busy: another check or training held its lock "
            f"({name}) for more than {wait:.0f} s, so this run ends without a decision"
        ) from exc


@contextmanager
def fleet_training_slot(wait: float | None = None) -> Iterator[None]:
    """Hold one of the fleet's `max_concurrent_trainings` slots for the block (none when unset).

    The Prefect global concurrency limit `retrain-fleet-trainings` is created, or resized to the
    setting, on first use; a training waits for a slot (`wait` seconds, as for the policy lock).
    """
    slots = load_settings().max_concurrent_trainings
    if slots is None:
        yield
        return
    ensure_limit(CONCURRENCY_LIMIT, slots)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    busy = f"all {slots} fleet training slots ({CONCURRENCY_LIMIT}) are taken: waiting for one"
    try:
        with slot(CONCURRENCY_LIMIT, wait, busy):
            yield
    except SlotTimeout as exc:
        raise FleetBusy(
            f"all {slots} fleet training slots ({CONCURRENCY_LIMIT}) stayed taken for more "
            f"than {wait:.0f} s (max_concurrent_trainings in [tool.retrain])"
        ) from exc
