"""`retrain quarantine list|release POLICY [FILE]`: see and release the batches set aside.

The arguments are in `retrain_core.cli.args.add_quarantine_args`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from retrain_core.cli.models import _store
from retrain_core.store.ledger import Ledger
from retrain_core.store.tags import QUARANTINED


def policy_name(policy: str) -> str:
    """The policy's name: given as is, or read from a policy file."""
    path = Path(policy)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        from retrain_core.policy.loader import load_policy

        return load_policy(path).policy.name
    return policy


def quarantine(args: argparse.Namespace) -> int:
    """Handler: print the quarantined batches, or release one so the next check judges it."""
    _, store = _store(args)
    ledger = store.ledger
    name = policy_name(args.policy)
    if args.action == "list":
        return _list(ledger, name, args.all)
    if not args.file:
        print("retrain quarantine release: name the FILE to release", file=sys.stderr)
        return 2
    released = ledger.release(name, args.file, now=datetime.now(UTC))  # the operator's clock
    if not released:
        print(f"retrain quarantine release: {name}: no quarantined batch {args.file!r} "
              f"(see `retrain quarantine list {name}`)", file=sys.stderr)  # fmt: skip
        return 1
    for record in released:
        print(f"released {record.role} batch {record.path}: the next check judges it again")
    return 0


def _list(ledger: Ledger, name: str, everything: bool) -> int:
    records = ledger.quarantine(name, None if everything else QUARANTINED)
    if not records:
        print(f"{name}: no quarantined batch")
        return 0
    from retrain_core.cli.output import show, table

    found = table("found", "status", "role", "file / why", wrap="file / why")
    for record in records:
        when = record.found_at[:16].replace("T", " ")
        found.add_row(when, record.status, record.role, f"{record.path}\nwhy: {record.reason}")
    show(found)
    return 0
