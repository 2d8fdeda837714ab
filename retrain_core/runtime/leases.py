"""Who holds a slot's lease on this machine, and giving back the leases of holders that died.

Prefect frees a lease only when its holder releases it or, on a server, when it expires (the
server's repossessor); Prefect's embedded API runs no repossessor, so a killed run's slot stayed
taken for ever there. Each holder here keeps a file under PREFECT_HOME with an exclusive `flock`
on it while it holds the lease; the kernel drops that lock when the process ends, however it
ends (SIGKILL included). A run that finds the slot taken takes the lock of each holder file of
that limit it can: each one it gets is a holder that died, whose lease it releases through the
Prefect API at once. Holders on other machines are left to their lease's expiry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID


def holders_dir() -> Path:
    """This Prefect home's holder files (one Prefect home: one embedded API, one set of runs)."""
    from prefect.settings import get_current_settings

    folder = Path(get_current_settings().home) / "retrain-leases"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prefix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


@contextlib.contextmanager
def holding(name: str, lease_id: UUID) -> Iterator[None]:
    """Hold the holder file of `lease_id` (a slot of `name`) locked for the block."""
    folder = holders_dir()
    path = folder / f"{_prefix(name)}-{lease_id}.lease"
    partial = folder / f".{path.name}.{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # locked before anyone can see it
        about = {"limit": name, "lease_id": str(lease_id), "pid": os.getpid(),
                 "host": socket.gethostname()}  # fmt: skip
        os.write(fd, json.dumps(about).encode())
        os.replace(partial, path)
        yield
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)  # the lock goes with the last descriptor


def reclaim(name: str, client: Any) -> int:
    """Release the leases on `name` whose holders on this machine have died; how many."""
    freed = 0
    for path in sorted(holders_dir().glob(f"{_prefix(name)}-*.lease")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # released meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its holder is alive
                continue
            lease_id = UUID(path.stem.removeprefix(f"{_prefix(name)}-"))
            with contextlib.suppress(Exception):  # a lease gone already is free already
                client.release_concurrency_slots_with_lease(lease_id)
            with contextlib.suppress(OSError):
                path.unlink()
            freed += 1
        finally:
            os.close(fd)
    return freed
