"""What every flow passes Prefect: task options for I/O, retry backoff, run names, and where a
policy file is when a deployment runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from retrain_core.base.errors import Refusal
from retrain_core.base.settings import load_settings
from retrain_core.policy.loader import LoadedPolicy


def worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Whether a failed I/O task is tried again: not after a refusal, nor while the tracking
    server does not answer (MLflow's own bounded retries waited for it already; the run ends
    at once with one line naming it). A busy or restarting store, a database, a file: yes."""
    from retrain_core.store.tracking import tracking_uri, unreachable

    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # an unreadable result: judge by the store alone
        exc = None
    if isinstance(exc, Refusal):
        return False
    return unreachable(tracking_uri(load_settings())) is None


# Tasks pass DataFrames and models: never hash them for caching.
IO: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": worth_retrying,
}


def retry_options(loaded: LoadedPolicy) -> dict[str, Any]:
    """The policy's retry count, with Prefect's exponential backoff from its first delay."""
    from prefect.tasks import exponential_backoff

    training = loaded.policy.training
    first = training.retry_delay.total_seconds()
    delays = exponential_backoff(backoff_factor=first)(max(training.retries, 1))
    return {"retries": training.retries, "retry_delay_seconds": delays}


def run_name(prefix: str) -> Callable[[], str]:
    """A flow run name such as `check churn 2026-01-05 23:00` (policy file stem and `now`)."""

    def name() -> str:
        from prefect.runtime import flow_run

        parameters = flow_run.parameters
        policy = Path(str(parameters.get("policy_path", "?"))).stem
        now = parameters.get("now")
        when = f" {now:%Y-%m-%d %H:%M}" if hasattr(now, "strftime") else ""
        return f"{prefix} {policy}{when}"

    return name


def resolve_policy_path(policy_path: str) -> Path:
    """A policy path as given, or relative to the project root (where deployments run)."""
    path = Path(policy_path)
    if path.is_absolute() or path.exists():
        return path
    return load_settings().root / path
