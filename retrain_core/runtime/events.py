"""Data-arrival events: tell Prefect that new data landed for a policy (`retrain emit-arrival`).

The compiled `monitor/<policy>` deployment has a reactive trigger that matches the event name
(the policy's `arrival.event`) and the resource id `retrain.policy.<name>` exactly, so one event
starts one monitor run of that policy and of no other. Events need a running Prefect server: with
no `PREFECT_API_URL`, Prefect would start a throwaway ephemeral API that no deployment listens to,
and the event would be lost, so both the function and the command refuse instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.policy.compile import arrival_resource

if TYPE_CHECKING:
    from prefect.events import Event

    from retrain_core.policy.schedule import Arrival

DEFAULT_EVENT = "retrain.data.arrived"
PATH_LABEL = "retrain.path"
DRAIN_SECONDS = 30.0
NO_API = (
    "no Prefect API is configured (PREFECT_API_URL is unset): the event would go to a throwaway "
    "ephemeral API and start nothing. Point PREFECT_API_URL at the server the deployments live "
    "on, e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api"
)


class EmitError(RuntimeError):
    """The event cannot be delivered (no API configured, server unreachable, bad policy)."""


@dataclass(frozen=True)
class Target:
    """Which policy an arrival event is about, and the event name its trigger expects."""

    name: str
    event: str
    source: str  # where the event name came from, for the printed summary


def api_url() -> str | None:
    """The configured Prefect API URL (environment or profile), or None."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return str(url) if url else None


def arrival_event_resource(policy_name: str, path: str) -> dict[str, str]:
    """The event's primary resource: the policy's resource id and labels, plus the path."""
    return {**arrival_resource(policy_name), PATH_LABEL: path}


def emit_arrival(policy_name: str, path: str, event: str = DEFAULT_EVENT) -> Event:
    """Emit `event` about policy `policy_name` for data at `path`; the emitted Event.

    Delivery is asynchronous (Prefect's events worker); `flush_events()` waits for it.
    """
    from prefect.events import emit_event

    if api_url() is None:
        raise EmitError(NO_API)
    emitted = emit_event(
        event=event,
        resource=arrival_event_resource(policy_name, path),
        payload={"path": path, "policy": policy_name},
    )
    if emitted is None:
        raise EmitError(f"Prefect did not emit {event} (events are disabled in this process)")
    return emitted


def flush_events(timeout: float = DRAIN_SECONDS) -> None:
    """Wait until the events emitted by this process have been sent to the server."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=timeout)


def check_server() -> str:
    """The API URL when a server answers there; raise EmitError otherwise."""
    from prefect.client.orchestration import get_client

    url = api_url()
    if url is None:
        raise EmitError(NO_API)
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise EmitError(f"the Prefect API at {url} does not answer: {problem}")
    return url


def resolve_target(policy: str, project: Path | None = None) -> Target:
    """A policy file, or a policy name looked up in the project's policies folder."""
    from retrain_core.policy.loader import PolicyLoadError, load_policies, load_policy

    candidate = Path(policy)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        try:
            loaded = load_policy(candidate)
        except (PolicyLoadError, OSError) as exc:
            raise EmitError(f"{policy}: cannot load the policy:\n{exc}") from None
        return _target(loaded.policy.name, loaded.policy.arrival, str(candidate))
    from retrain_core.base.settings import load_settings

    settings = load_settings(project)
    folder = settings.policies_path
    if not folder.is_dir():  # e.g. a data pipeline host without the project: use the default
        return Target(policy, DEFAULT_EVENT, "default event name (no policies folder here)")
    loaded_policies, _ = load_policies([folder], settings)
    by_name = {item.policy.name: item for item in loaded_policies}
    if policy not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise EmitError(f"no valid policy named {policy!r} in {folder} (known: {known})")
    match = by_name[policy]
    return _target(policy, match.policy.arrival, str(match.path))


def _target(name: str, arrival: Arrival | None, source: str) -> Target:
    """The target of a loaded policy; a policy without `arrival:` has no trigger to start."""
    if arrival is None:
        raise EmitError(
            f"policy {name} ({source}) has no `arrival:` section, so its monitor deployment has "
            "no trigger for arrival events; add `arrival: {event: retrain.data.arrived}`, "
            "run `retrain compile` and `prefect deploy --all`"
        )
    return Target(name, arrival.event, source)


def check_arrived(path: str) -> None:
    """A local path must exist (a typo would start a check that finds nothing new); URLs pass."""
    if "://" in path:
        return
    if not Path(path).exists():
        raise EmitError(
            f"{path} does not exist (relative to {Path.cwd()}); name the file that arrived"
        )


def cli_emit_arrival(args: argparse.Namespace) -> int:
    """Handler of `retrain emit-arrival POLICY PATH`: emit, flush, say what was sent."""
    try:
        url = api_url()
        if url is None:
            raise EmitError(NO_API)
        target = resolve_target(args.policy, getattr(args, "project", None))
        check_arrived(args.path)
        check_server()
        emitted = emit_arrival(target.name, args.path, target.event)
        flush_events()
    except EmitError as exc:
        print(f"retrain emit-arrival: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"emitted {emitted.event} (id {emitted.id}) to {url}\n"
        f"  resource: {emitted.resource.id}  path: {args.path}\n"
        f"  event name from: {target.source}\n"
        f"  starts monitor/{target.name} when that deployment has its arrival trigger"
    )
    return 0
