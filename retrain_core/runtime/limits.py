"""Prefect global concurrency limits: create or resize one, and hold one of its slots.

The policy lock, the fleet's training slots and its retrain budget are all Prefect global
concurrency limits; this module is the only place that asks Prefect for a slot.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

LEASE_SECONDS = 60.0  # Prefect's shortest lease; renewed by Prefect while its holder runs


class SlotTimeout(TimeoutError):
    """No slot of a global concurrency limit freed within the wait."""


@contextmanager
def slot(name: str, wait: float, busy: str = "", create: int | None = None) -> Iterator[None]:
    """Hold one slot of the global concurrency limit `name` for the block, asking for it until
    `wait` seconds have passed (then `SlotTimeout`); `busy` is the line logged, once, when the
    slot is taken (what this run waits for). A missing limit is created with `create` slots
    (asked for only then: one request less on every later use), else it is an error.

    The slot is a Prefect lease of LEASE_SECONDS, renewed by Prefect's own lease keeper while
    the block runs and released when it ends. A holder that died without releasing it is found
    by `leases.reclaim` (its holder file on this machine is no longer locked) and its lease
    released at once; a holder on another machine frees it when its lease expires (a server's
    repossessor, within about a minute). Each ask is one request (no Prefect retry loop, which
    logs an ERROR per refusal); this loop backs off from 0.2 s to 5 s.
    """
    from prefect import get_client
    from prefect.concurrency._leases import maintain_concurrency_lease

    from retrain_core.runtime import leases

    lease_id = _acquire(name, wait, busy, create)
    try:
        with leases.holding(name, lease_id), maintain_concurrency_lease(lease_id, LEASE_SECONDS):
            yield
    finally:
        try:
            with get_client(sync_client=True) as client:
                client.release_concurrency_slots_with_lease(lease_id)
        except Exception as exc:  # the API is gone: the lease expires on its own
            logging.getLogger(__name__).warning("%s: lease not released (%s)", name, exc)


def _acquire(name: str, wait: float, busy: str, create: int | None = None) -> UUID:
    """A lease on one slot of `name`, asked for until `wait` seconds have passed; a missing
    limit is created with `create` slots."""
    import httpx
    from prefect import get_client

    from retrain_core.runtime import leases

    deadline, pause, told = time.monotonic() + wait, 0.2, False
    with get_client(sync_client=True) as client:
        while True:
            try:
                response = client.increment_concurrency_slots_with_lease(
                    names=[name], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
                )
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 423:  # 423 Locked: every slot is taken
                    raise
            else:
                answer = response.json()
                if answer.get("limits"):
                    return UUID(answer["lease_id"])
                if create is None:
                    raise RuntimeError(f"the Prefect global concurrency limit {name} is missing")
                client.release_concurrency_slots_with_lease(UUID(answer["lease_id"]))  # holds none
                ensure_limit(name, create)
                create = None  # created (or by another run meanwhile): now it must be there
                continue
            if leases.reclaim(name, client):
                continue  # a holder that died: its slot is free now
            if not told:
                _log().info("%s", busy or f"waiting for a slot of {name}")
                told = True
            left = deadline - time.monotonic()
            if left <= 0:
                raise SlotTimeout(f"no slot of {name} freed in {wait:.0f} s")
            time.sleep(min(pause, left))
            pause = min(pause * 2, 5.0)


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger inside a flow run, else this module's."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


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
