"""`retrain status`, `retrain explain NAME VERSION` and `retrain rollback NAME`."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy.loader import LoadedPolicy, load_policies
from retrain_core.store import Store
from retrain_core.store.registry import RegistryError
from retrain_core.store.tags import (
    CHECKED_AT,
    DECISION,
    DECISION_REASONS,
    GATE,
    GATE_REASONS,
    GIT_COMMIT,
    MONITOR_RUN_ID,
    POLICY_HASH,
    REASONS,
    TRIGGER,
    WINDOW_END,
    WINDOW_START,
)
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
    """Print why a version exists: its trigger, the signals of its check, its window and gate."""
    _, store = _store(args)
    registry = store.registry
    try:
        info = registry.describe(args.name, args.version)
    except Exception as exc:
        print(f"retrain explain: {args.name} v{args.version}: {exc}", file=sys.stderr)
        return 1
    tags = info.tags
    aliases = ", ".join(info.aliases) or "none"

    def tag(key: str, default: str = "?") -> str:
        return tags.get(key, default)

    registered = f"{info.created:%Y-%m-%d %H:%M} UTC"
    print(f"{info.name} v{info.version} (aliases: {aliases}), registered {registered}")
    print(f"  decision:  {tag(DECISION, 'pending')}  {tag(DECISION_REASONS, '')}")
    print(f"  trigger:   {tag(TRIGGER, '-')}")
    print(f"  window:    {tag(WINDOW_START)} .. {tag(WINDOW_END)}")
    print(f"  gate:      {tag(GATE, '-')}: {tag(GATE_REASONS, '')}")
    print(f"  policy:    hash {tag(POLICY_HASH)}, git commit {tag(GIT_COMMIT)}")
    holdout = {k[len("holdout_") :]: v for k, v in info.metrics.items() if k.startswith("holdout_")}
    if holdout:
        print("  holdout:   " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(holdout.items())))
    monitor_run = tags.get(MONITOR_RUN_ID)
    if monitor_run:
        try:
            check = registry.run_tags(monitor_run)
        except Exception as exc:
            print(f"  check:     MLflow run {monitor_run} is not readable: {exc}")
            return 0
        print(f"  check:     {check.get(CHECKED_AT, '?')} (MLflow run {monitor_run})")
        for reason in filter(None, check.get(REASONS, "").split("\n")):
            print(f"             - {reason}")
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
