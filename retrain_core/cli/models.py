"""`retrain explain NAME VERSION` and `retrain rollback NAME`."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy.loader import LoadedPolicy, load_policies
from retrain_core.store import Store
from retrain_core.store.registry import RegistryError
from retrain_core.store.tracking import check_reachable, tracking_uri


def _store(args: argparse.Namespace) -> tuple[Settings, Store]:
    """The project's settings and its store, once the store answers (else `StoreUnreachable`)."""
    settings = load_settings(args.project)
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri(settings)
    check_reachable(uri)
    return settings, Store(uri)


def _policies(settings: Settings) -> dict[str, LoadedPolicy]:
    loaded, _ = load_policies([settings.policies_path], settings)
    return {item.policy.name: item for item in loaded}


def explain(args: argparse.Namespace) -> int:
    """Print why a version exists: its trigger, the signals of its check, its window and gate
    (the same text is the version's description in MLflow)."""
    from retrain_core.store.explain import as_text

    _, store = _store(args)
    try:
        found = store.registry.explain(args.name, args.version)
    except Exception as exc:
        print(f"retrain explain: {args.name} v{args.version}: {exc}", file=sys.stderr)
        return 1
    print(as_text(found))
    return 0


def rollback(args: argparse.Namespace) -> int:
    """Move the champion alias back to the previous version and record it in the ledger."""
    settings, store = _store(args)
    now = datetime.now(UTC)  # the operator's clock: when the rollback happened
    policy = _policies(settings).get(args.name)
    alias = policy.policy.promotion.alias if policy else "champion"
    previous = policy.policy.promotion.previous_alias if policy else "previous"
    try:
        result = store.registry.rollback(args.name, alias, previous, now=now)
    except RegistryError as exc:
        print(f"retrain rollback: {exc}", file=sys.stderr)
        return 1
    store.ledger.record_rollback(args.name, result.from_version, result.to_version, now=now)
    print(f"{args.name}: {alias} moved from v{result.from_version} back to v{result.to_version}")
    return 0
