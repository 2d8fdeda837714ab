"""Prefect global concurrency limits: create or resize one, and hold one of its slots.

The policy lock, the fleet's training slots and its retrain budget are all Prefect global
concurrency limits; this module is the only place that asks Prefect for a slot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class SlotTimeout(TimeoutError):
    """No slot of a global concurrency limit freed within the wait."""


@contextmanager
def slot(name: str, wait: float) -> Iterator[None]:
    """Hold one slot of the global concurrency limit `name` for the block, asking for it until
    `wait` seconds have passed (then `SlotTimeout`).

    Each ask is a whole request (`max_retries=0`), not Prefect's `timeout_seconds`: that timeout
    cancels a request in flight, and a slot the server granted to the cancelled request stays
    taken until its lease expires (5 minutes), so the policy's next run would find it busy; and
    Prefect's own retries wait the server's Retry-After (up to 30 s) where this loop backs off
    from 0.2 s to 5 s. An exception raised inside the block is never taken for a busy limit.
    """
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
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


def ensure_limit(name: str, limit: int = 1, decay: float = 0.0) -> None:
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
