"""`retrain status`, `retrain explain NAME VERSION` and `retrain rollback NAME`."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from retrain_core.ledger import Ledger
from retrain_core.policy.loader import LoadedPolicy, load_policies
from retrain_core.registry import Registry, RegistryError, serving_since
from retrain_core.settings import Settings, load_settings
from retrain_core.tracking import shown_uri, tracking_uri

TAG = "retrain."
_EMBEDDED = " (embedded default: MLFLOW_TRACKING_URI is not set in this shell)"


def _store(args: argparse.Namespace) -> tuple[Settings, str]:
    settings = load_settings(args.project)
    return settings, os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri(settings)


def _policies(settings: Settings) -> dict[str, LoadedPolicy]:
    loaded, _ = load_policies([settings.policies_path], settings)
    return {item.policy.name: item for item in loaded}


def _age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    days, seconds = divmod(max(int((now - moment).total_seconds()), 0), 86400)
    return f"{days}d {seconds // 3600}h" if days else f"{seconds // 3600}h {seconds % 3600 // 60}m"


def status(args: argparse.Namespace) -> int:
    """Print one line per policy: champion, its age, the last check and the last retrain.

    The champion's age is counted on the ledger's clock: at the policy's last check (a replay or
    the demo records simulated times; mixing them with this machine's clock would mislead).
    """
    settings, uri = _store(args)
    policies = _policies(settings)
    names = args.names or sorted(policies)
    registry, ledger = Registry(uri), Ledger(uri)
    print(f"store: {shown_uri(uri)}" + ("" if os.environ.get("MLFLOW_TRACKING_URI") else _EMBEDDED))
    header = (
        f"{'policy':<20} {'champion':<9} {'age':<8} {'last check':<17} {'decision':<11} retrain"
    )
    print(header)
    for name in names:
        alias = policies[name].policy.promotion.alias if name in policies else "champion"
        champion = registry.champion(name, alias)
        born = serving_since(champion) if champion is not None else None
        checks = ledger.checks(name, limit=200)
        last = checks[0] if checks else None
        retrained = next((c for c in checks if c.verdict == "retrain"), None)
        now = last.checked_at if last else datetime.now(UTC)
        print(
            f"{name:<20} {('v' + str(champion.version)) if champion else '-':<9} "
            f"{_age(born, now):<8} "
            f"{f'{last.checked_at:%Y-%m-%d %H:%M}' if last else 'never':<17} "
            f"{last.verdict if last else '-':<11} "
            f"{f'{retrained.checked_at:%Y-%m-%d %H:%M}' if retrained else 'never'}"
        )
        if last and last.reasons:
            print(f"{'':<20} why: {last.reasons[0]}")
        held = ledger.quarantine(name, "quarantined")
        if held:
            print(f"{'':<20} quarantined: {len(held)} batch(es), e.g. {held[0].path} "
                  f"(retrain quarantine list {name})")  # fmt: skip
    return 0


def explain(args: argparse.Namespace) -> int:
    """Print why a version exists: its trigger, the signals of its check, its window and gate."""
    _, uri = _store(args)
    registry = Registry(uri)
    try:
        info = registry.describe(args.name, args.version)
    except Exception as exc:
        print(f"retrain explain: {args.name} v{args.version}: {exc}", file=sys.stderr)
        return 1
    tags = info.tags
    aliases = ", ".join(info.aliases) or "none"

    def tag(key: str, default: str = "?") -> str:
        return tags.get(TAG + key, default)

    registered = f"{info.created:%Y-%m-%d %H:%M} UTC"
    print(f"{info.name} v{info.version} (aliases: {aliases}), registered {registered}")
    print(f"  decision:  {tag('decision', 'pending')}  {tag('decision_reasons', '')}")
    print(f"  trigger:   {tag('trigger', '-')}")
    print(f"  window:    {tag('window_start')} .. {tag('window_end')}")
    print(f"  gate:      {tag('gate', '-')}: {tag('gate_reasons', '')}")
    print(f"  policy:    hash {tag('policy_hash')}, git commit {tag('git_commit')}")
    holdout = {k[len("holdout_") :]: v for k, v in info.metrics.items() if k.startswith("holdout_")}
    if holdout:
        print("  holdout:   " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(holdout.items())))
    monitor_run = tags.get(TAG + "monitor_run_id")
    if monitor_run:
        try:
            run = registry.client.get_run(monitor_run)
        except Exception as exc:
            print(f"  check:     MLflow run {monitor_run} is not readable: {exc}")
            return 0
        print(
            f"  check:     {run.data.tags.get(TAG + 'checked_at', '?')} (MLflow run {monitor_run})"
        )
        for reason in filter(None, run.data.tags.get(TAG + "reasons", "").split("\n")):
            print(f"             - {reason}")
    return 0


def rollback(args: argparse.Namespace) -> int:
    """Move the champion alias back to the previous version and record it in the ledger."""
    settings, uri = _store(args)
    policy = _policies(settings).get(args.name)
    alias = policy.policy.promotion.alias if policy else "champion"
    previous = policy.policy.promotion.previous_alias if policy else "previous"
    try:
        result = Registry(uri).rollback(args.name, alias, previous)
    except RegistryError as exc:
        print(f"retrain rollback: {exc}", file=sys.stderr)
        return 1
    Ledger(uri).record_event(
        args.name,
        "rollback",
        {f"{TAG}from_version": result.from_version or "", f"{TAG}to_version": result.to_version},
    )
    print(f"{args.name}: {alias} moved from v{result.from_version} back to v{result.to_version}")
    return 0
