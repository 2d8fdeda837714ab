"""Test tiers, from where a test lives (ARCHITECTURE.md): run one tier with `pytest -m TIER`.

- unit: tests/unit and tests/policies, pure and fast (no MLflow store, no Prefect API, no
  great-expectations or alibi-detect run, small data); `make unit` runs them in seconds. A test
  there that needs a heavy library marks itself `@pytest.mark.integration`.
- integration: tests/integration, real MLflow, great-expectations, alibi-detect, notifications,
  subprocesses and large windows, without Prefect flows.
- flows: tests/flows, the flows on Prefect's test harness with MLflow on SQLite.
- e2e: tests/e2e, real servers, workers and the deploy guide run as written.

Under pytest-xdist with `--dist loadgroup` (`make unit`, `make test`) the e2e tests on the deployed
stack (the session fixture `deployed`: servers, worker, deployments) form one group, run one after
another on one worker, so the stack is built once; an e2e test that starts its own servers (the
guides run as written, `make demo`) is a group with the others of its module, free to run on the
other worker meanwhile; and the tests of a module that shares a module-scoped fixture stay on one
worker, so the fixture is built once.
"""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path

import pytest

# One OpenMP thread in the tests and every process they start (workers, servers, replays): two
# xdist workers beside the e2e servers on a 2-core machine make OpenMP's spin-waiting threads
# turn one small HistGradientBoosting fit into a minute. Set before scikit-learn is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The copies of tracking-server artifacts (retrain_core/store/artifact_cache.py) in this test
# session's own folder, for every process it starts, never in the user's cache.
os.environ.setdefault("RETRAIN_CACHE_DIR", tempfile.mkdtemp(prefix="retrain-test-cache-"))

TIERS = {
    "unit": "unit",
    "policies": "unit",
    "integration": "integration",
    "flows": "flows",
    "e2e": "e2e",
}


def pytest_configure(config: pytest.Config) -> None:
    """No garbage collection while the test modules import pandas, scikit-learn and the rest:
    nothing they build is garbage, and the collector's passes over it cost CPU-seconds."""
    gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collect again, with what was imported moved out of the collector's way (`gc.freeze`)."""
    gc.freeze()
    gc.enable()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each test the tier of its folder, unless its module already names one, and its
    xdist group (see the module docstring)."""
    here = Path(__file__).parent
    for item in items:
        named = {mark.name for mark in item.iter_markers()} & {"integration", "flows", "e2e"}
        if not named:
            folder = Path(item.path).relative_to(here).parts[0]
            item.add_marker(getattr(pytest.mark, TIERS.get(folder, "integration")))
        group = _xdist_group(item, here)
        if group is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))


def _xdist_group(item: pytest.Item, here: Path) -> str | None:
    """The group "e2e" for a test on the deployed stack; its module's path for another e2e test
    or one that uses a module-scoped fixture."""
    fixtures = getattr(item, "_fixtureinfo", None)
    if item.get_closest_marker("e2e") is not None:
        uses = fixtures.names_closure if fixtures is not None else ()
        return "e2e" if "deployed" in uses else Path(item.path).relative_to(here).as_posix()
    definitions = fixtures.name2fixturedefs.values() if fixtures is not None else ()
    if any(d.scope == "module" for defs in definitions for d in defs):
        return Path(item.path).relative_to(here).as_posix()
    return None
