"""The `retrain-process` worker bounds how many flow runs it starts at once."""

from __future__ import annotations

import os

import pytest

from retrain_core.runtime.worker import WarmProcessWorker, default_limit

pytestmark = pytest.mark.unit


def test_a_worker_started_without_limit_runs_two_flows_per_core_at_once() -> None:
    # Prefect's CLI passes `limit=None` when `--limit` is not given (prefect/cli/worker.py)
    worker = WarmProcessWorker(work_pool_name="retrain", limit=None)
    assert worker._limit == default_limit() == 2 * (os.cpu_count() or 1)
    assert WarmProcessWorker(work_pool_name="retrain")._limit == default_limit()


def test_an_explicit_limit_wins() -> None:
    assert WarmProcessWorker(work_pool_name="retrain", limit=3)._limit == 3
