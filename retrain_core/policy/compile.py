"""Policies -> prefect.yaml: a monitor and a train deployment per policy, and an approve deployment
for a policy with manual approval (pure, deterministic)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from retrain_core.base.durations import format_duration
from retrain_core.base.settings import Settings
from retrain_core.policy.schedule import Arrival, Schedule
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    from retrain_core.policy.loader import LoadedPolicy

PROJECT_NAME = "retrain"
PREFECT_VERSION = "3.8"  # major.minor of the pinned prefect; a test checks the installed one
MONITOR_ENTRYPOINT = "flows/monitor.py:monitor"
TRAIN_ENTRYPOINT = "flows/retrain.py:train_validate_promote"
APPROVE_ENTRYPOINT = "flows/approve.py:approve"
CONCURRENCY = {"limit": 1, "collision_strategy": "CANCEL_NEW"}
# Resolved by `prefect deploy` from the deploying shell, so every flow run writes to the store the
# deployer used, whatever the worker's own environment says (unset: the key is dropped and each
# worker's environment, else the embedded SQLite store, applies).
JITTER_ANCHOR = datetime(2026, 1, 1)  # interval schedules with jitter count from here + offset
TRACKING_URI_FROM_DEPLOYER = "{{ $MLFLOW_TRACKING_URI }}"
PROJECT_DIR_STEP_ID = "retrain-project-dir"
PROJECT_DIR_STEP = {
    "prefect.deployments.steps.run_shell_script": {
        "id": PROJECT_DIR_STEP_ID,
        "script": "pwd",
        "stream_output": False,
    }
}

HEADER = """\
# GENERATED FILE: do not edit. It is wholly owned by `retrain compile`.
# Edit the policies in policies/ (or [tool.retrain] in pyproject.toml), then run
# `retrain compile`; CI runs `retrain compile --check` and fails when this file is stale.
#
# Deploy from this folder with `prefect deploy --all`: per policy P it creates `monitor/P`
# (schedule, data-arrival trigger, concurrency 1 with CANCEL_NEW) and `train-validate-promote/P`;
# with `approval: manual` also `approve/P`, where a challenger waits for a person (suspended).
# Every flow run gets `job_variables.env`: MLFLOW_TRACKING_URI as set where `prefect deploy` ran,
# and `job_env` from [tool.retrain] (default: one OpenMP/BLAS thread per run).
"""


def policy_resource_id(name: str) -> str:
    """The Prefect event resource id of one policy; arrival triggers match it exactly."""
    return f"retrain.policy.{name}"


def arrival_resource(name: str) -> dict[str, str]:
    """The primary resource of a data-arrival event for policy `name` (`retrain emit-arrival`)."""
    return {
        "prefect.resource.id": policy_resource_id(name),
        "prefect.resource.name": name,
        "retrain.policy": name,
    }


def relative_policy_path(path: Path, root: Path) -> str:
    """The policy path relative to the project root, in POSIX form (workers run from the root)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ValueError(f"{path}: policy is outside the project folder {root}") from None


def run_tags(policy: Policy) -> list[str]:
    """The tags of the policy's deployments and runs: retrain, policy:<name>, then the policy's
    own tags, without duplicates (a run started by `retrain run` gets them when it starts)."""
    return list(dict.fromkeys(["retrain", f"policy:{policy.name}", *policy.tags]))


def jitter_seconds(name: str, schedule: Schedule) -> int:
    """The policy's fixed offset in [0, jitter): the same name always gets the same offset."""
    if schedule.jitter is None:
        return 0
    span = int(schedule.jitter.total_seconds())
    if schedule.cron is not None:  # cron has minute resolution
        minutes = max(span // 60, 1)
        return _stable_hash(name) % minutes * 60
    return _stable_hash(name) % max(span, 1)


def _stable_hash(text: str) -> int:
    """A hash that does not change between processes (unlike hash())."""
    import hashlib

    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _schedule(name: str, schedule: Schedule) -> dict[str, Any]:
    """One prefect.yaml schedule entry; intervals are written in whole seconds."""
    entry: dict[str, Any] = {}
    offset = jitter_seconds(name, schedule)
    if schedule.cron is not None:
        minute, rest = schedule.cron.split(maxsplit=1)
        entry["cron"] = f"{int(minute) + offset // 60} {rest}" if offset else schedule.cron
    elif schedule.interval is not None:
        entry["interval"] = int(schedule.interval.total_seconds())
        if schedule.jitter is not None:
            entry["anchor_date"] = (JITTER_ANCHOR + timedelta(seconds=offset)).isoformat()
    else:
        entry["rrule"] = schedule.rrule
    entry["timezone"] = schedule.timezone
    entry["active"] = schedule.active
    return entry


def _arrival_trigger(name: str, arrival: Arrival) -> dict[str, Any]:
    """A reactive event trigger that only an event about this policy's resource can fire."""
    trigger: dict[str, Any] = {
        "type": "event",
        "name": f"{name}: data arrived",
        "description": f"Run monitor/{name} when {arrival.event} is emitted for policy {name}.",
        "enabled": True,
        "posture": "Reactive",
        "expect": [arrival.event],
        "match": {"prefect.resource.id": policy_resource_id(name)},
        "threshold": 1,
    }
    seconds = int(arrival.within.total_seconds())
    if seconds:  # Prefect fires on the first event, then at most once per `within` seconds
        trigger["within"] = seconds
        trigger["description"] += (
            f" At most one run per {format_duration(arrival.within, exact=True)}."
        )
    return trigger


def job_variables(settings: Settings) -> dict[str, Any]:
    """What every flow run of a deployment needs: the store and thread caps. No `command`: the
    work pool's type starts the run through the worker's own interpreter (`process`: Prefect's
    engine; `retrain-process`: the warm engine, retrain_core/runtime/worker.py), never through a
    name looked up on the worker's PATH."""
    return {"env": {"MLFLOW_TRACKING_URI": TRACKING_URI_FROM_DEPLOYER, **dict(settings.job_env)}}


def _deployment(
    loaded: LoadedPolicy, settings: Settings, entrypoint: str, description: str, pool: str
) -> dict[str, Any]:
    """What every deployment of a policy has: name, version (policy hash), entrypoint, the
    policy file as parameter, tags, and the work pool with the job variables."""
    policy = loaded.policy
    return {
        "name": policy.name,
        "version": loaded.policy_hash,
        "description": description,
        "entrypoint": entrypoint,
        "parameters": {"policy_path": relative_policy_path(loaded.path, settings.root)},
        "tags": run_tags(policy),
        "work_pool": {"name": pool, "job_variables": job_variables(settings)},
    }


def monitor_deployment(loaded: LoadedPolicy, settings: Settings) -> dict[str, Any]:
    """The `monitor/<policy>` deployment: schedule, arrival trigger, concurrency limit 1."""
    policy = loaded.policy
    description = policy.description or f"Monitor for the retraining policy {policy.name}."
    return {
        **_deployment(loaded, settings, MONITOR_ENTRYPOINT, description, settings.work_pool),
        "concurrency_limit": dict(CONCURRENCY),
        "schedules": [_schedule(policy.name, policy.schedule)] if policy.schedule else [],
        "triggers": [_arrival_trigger(policy.name, policy.arrival)] if policy.arrival else [],
    }


def train_deployment(loaded: LoadedPolicy, settings: Settings) -> dict[str, Any]:
    """The `train-validate-promote/<policy>` deployment: no schedule, its own work pool."""
    policy = loaded.policy
    description = f"Train, validate and promote a challenger for policy {policy.name}."
    pool = policy.training.work_pool or settings.work_pool
    return {**_deployment(loaded, settings, TRAIN_ENTRYPOINT, description, pool), "schedules": []}


def approve_deployment(loaded: LoadedPolicy, settings: Settings) -> dict[str, Any]:
    """The `approve/<policy>` deployment: a challenger waits here, suspended, for a person."""
    description = f"Wait for a person's approval of a challenger of policy {loaded.policy.name}."
    base = _deployment(loaded, settings, APPROVE_ENTRYPOINT, description, settings.work_pool)
    return {**base, "schedules": []}


def build_deployments(loaded: list[LoadedPolicy], settings: Settings) -> list[dict[str, Any]]:
    """Monitor, train (and approve, with manual approval) deployments, sorted by policy name."""
    ordered = sorted(loaded, key=lambda item: (item.policy.name, item.path.as_posix()))
    deployments: list[dict[str, Any]] = []
    for item in ordered:
        deployments += [monitor_deployment(item, settings), train_deployment(item, settings)]
        if item.policy.promotion.approval == "manual":
            deployments.append(approve_deployment(item, settings))
    return deployments


def _build_steps(settings: Settings) -> list[dict[str, Any]]:
    """The deploy-time step recording the project folder, when the pull steps refer to it."""
    uses_project_dir = f"{PROJECT_DIR_STEP_ID}." in json.dumps(list(settings.pull))
    return [PROJECT_DIR_STEP] if uses_project_dir else []


def prefect_project(loaded: list[LoadedPolicy], settings: Settings) -> dict[str, Any]:
    """The whole prefect.yaml document as plain data, keys in a fixed order."""
    project: dict[str, Any] = {"name": PROJECT_NAME, "prefect-version": PREFECT_VERSION}
    if build := _build_steps(settings):
        project["build"] = build
    project["pull"] = [dict(step) for step in settings.pull]
    project["deployments"] = build_deployments(loaded, settings)
    return project


class _Dumper(yaml.SafeDumper):
    """Safe YAML dumper that indents lists under their key, as Prefect's own examples do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Never write indentless sequences."""
        return super().increase_indent(flow, False)


def render_prefect_yaml(loaded: list[LoadedPolicy], settings: Settings) -> str:
    """prefect.yaml text: the header comment then the project; same input, same bytes."""
    body = yaml.dump(
        prefect_project(loaded, settings),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return HEADER + "\n" + body
