"""What both flows share: task options for I/O, retry backoff, and where a policy file is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE

from retrain_core.policy.loader import LoadedPolicy
from retrain_core.settings import load_settings

# Tasks pass DataFrames and models: never hash them for caching.
IO: dict[str, Any] = {"cache_policy": NO_CACHE, "retry_jitter_factor": 0.2}


def retry_options(loaded: LoadedPolicy) -> dict[str, Any]:
    """The policy's retry count, with exponential backoff from its first delay: d, 2d, 4d..."""
    training = loaded.policy.training
    first = training.retry_delay.total_seconds()
    delays = [first * 2**i for i in range(max(training.retries, 1))]
    return {"retries": training.retries, "retry_delay_seconds": delays}


def resolve_policy_path(policy_path: str) -> Path:
    """A policy path as given, or relative to the project root (where deployments run)."""
    path = Path(policy_path)
    if path.is_absolute() or path.exists():
        return path
    return load_settings().root / path
