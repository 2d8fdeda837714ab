"""Flow tests: one real Prefect API for the session (prefect_test_harness), a real MLflow store.

The MLflow SQLite schema migration costs seconds, so the session migrates one template database
and each test gets a copy of it. Each test gets its own project folder (`project`) with the demo
stream's reference data and a churn policy named after the test, so nothing leaks between tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain_core.data.demo import Story, write_day, write_reference

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A real, temporary Prefect API for every flow test in the session."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(autouse=True)
def _console_logs_to_real_stderr() -> None:
    """Prefect's console handler keeps the stderr it was created with, which may be a capsys
    buffer of an earlier test, closed since (logging to it then fails recursively): point every
    such handler at the process's real stderr, which pytest's fd capture still collects."""
    import logging
    import sys

    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.stream = sys.__stderr__
                handler.console.file = sys.__stderr__


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite database to copy per test."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture()
def tracking_uri(tmp_path: Path, mlflow_template: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh MLflow store for this test, as MLFLOW_TRACKING_URI."""
    db = tmp_path / "mlflow" / "mlflow.db"
    db.parent.mkdir()
    shutil.copy(mlflow_template, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@dataclass
class Project:
    """A test's project folder: demo data under data/churn, a policy file, and its story."""

    root: Path
    policy_path: Path
    story: Story
    name: str

    def write_day(self, day: int) -> None:
        """Land day `day`'s batch (and the previous day's labels)."""
        write_day(self.root, self.story, day)

    def edit(self, **changes: Any) -> None:
        """Change top-level sections of the policy (deep-merged one level)."""
        policy = yaml.safe_load(self.policy_path.read_text())
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(policy.get(key), dict):
                policy[key] = {**policy[key], **value}
            else:
                policy[key] = value
        self.policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))


# The flows tests exercise the monitor's mechanics (drift, pending retrains, labels, cooldown,
# budget, quarantine) with these triggers, which fire on the demo stream's shift and concept change
# in known ways; the shipped policy's own triggers are tuned on the benchmark and may change.
MECHANICS_TRIGGERS = """
any:
  - drift: {method: ks, p_value: 0.01, correction: bonferroni, min_effect: 0.1, min_share: 0.3}
  - performance: {metric: accuracy, drop: 0.05, confidence: 0.99, baseline: live, detector: none}
  - estimated_performance: {metric: accuracy, drop: 0.05}
  - max_age: 90d
await_labels: 200
cooldown: 2d
consecutive: 1
budget: {max: 3, per: 7d}
"""


@pytest.fixture()
def project(tmp_path: Path, tracking_uri: str, request: pytest.FixtureRequest) -> Project:
    """The shipped churn policy with the mechanics triggers, renamed for this test, over a fresh
    demo stream."""
    story = Story(rows_per_day=800, reference_rows=3000)
    write_reference(tmp_path, story)
    name = "t-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50]
    policy = yaml.safe_load((ROOT / "policies" / "churn.yaml").read_text())
    policy["triggers"] = yaml.safe_load(MECHANICS_TRIGGERS)
    policy["name"] = name.strip("-")
    policy["notify"] = {"on": ["promoted", "rejected", "failed", "blocked", "retrained"]}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return Project(tmp_path, path, story, policy["name"])
