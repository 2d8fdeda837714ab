"""Test tiers, from where a test lives (see README "Tests"): run one tier with `pytest -m TIER`.

- unit: tests/unit and tests/policies, pure and fast (no MLflow store, no Prefect API, no
  great-expectations or alibi-detect run, small data); `make unit` runs them in seconds. A test
  there that needs a heavy library marks itself `@pytest.mark.integration`.
- integration: tests/integration, real MLflow, great-expectations, alibi-detect, notifications,
  subprocesses and large windows, without Prefect flows.
- flows: tests/flows, the flows on Prefect's test harness with MLflow on SQLite.
- e2e: tests/e2e, real servers, workers and the README run as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = {
    "unit": "unit",
    "policies": "unit",
    "integration": "integration",
    "flows": "flows",
    "e2e": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test the tier of its folder, unless its module already names one."""
    here = Path(__file__).parent
    for item in items:
        named = {mark.name for mark in item.iter_markers()} & {"integration", "flows", "e2e"}
        if named:
            continue
        folder = Path(item.path).relative_to(here).parts[0]
        item.add_marker(getattr(pytest.mark, TIERS.get(folder, "integration")))
