"""Fleet limits on real Prefect: the training budget holds a retrain, trainings take a slot.

The project's `[tool.retrain]` sets the limits (the flows read the settings of the folder they run
in); the limits are global to the session's Prefect API, so each test reads what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from prefect.settings import PREFECT_API_URL
from test_retrain_support import bootstrap

from flows.monitor import monitor
from retrain_core.base.settings import load_settings
from retrain_core.cli.status import fleet_limits, fleet_line
from retrain_core.data.demo import day_start
from retrain_core.decide.fleet import CONCURRENCY_LIMIT
from retrain_core.runtime.budget import take_budget_slot
from retrain_core.runtime.locks import fleet_training_slot
from retrain_core.store import Store

if TYPE_CHECKING:
    from conftest import Project


def fleet(project: Project, monkeypatch: pytest.MonkeyPatch, settings: str) -> None:
    """Run from the project folder, whose pyproject.toml sets these fleet limits."""
    (project.root / "pyproject.toml").write_text(f"[tool.retrain]\n{settings}\n")
    monkeypatch.chdir(project.root)


def limit(name: str) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name)


def test_a_used_up_budget_holds_the_retrain_with_the_reason(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet(project, monkeypatch, 'training_budget = {max = 1, per = "1d"}')
    while take_budget_slot().granted:  # other checks spent the fleet's budget today
        pass
    project.write_day(1)

    result = monitor(str(project.policy_path), now=day_start(1), data_root=str(project.root))

    assert result["verdict"] == "suppressed" and result["suppressed_by"] == "fleet-budget"
    assert "training" not in result
    held = result["reasons"][-1]
    assert held.startswith("fleet training budget of 1 per 1d is used up (")
    assert "used); next slot in " in held
    (check,) = Store(tracking_uri).ledger.checks(project.name)
    assert check.verdict == "suppressed" and held in check.reasons
    # `retrain status` reads the same state over Prefect's REST API
    limits = fleet_limits(load_settings(project.root), PREFECT_API_URL.value())
    assert limits["budget"]["used"] >= 1 and limits["budget"]["next_slot_s"] > 0
    assert "training budget " in fleet_line(limits) and "next slot in" in fleet_line(limits)


def test_a_training_takes_a_slot_of_the_fleet_limit(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet(project, monkeypatch, "max_concurrent_trainings = 3")

    bootstrap(project)  # one train-validate-promote run

    slots = limit(CONCURRENCY_LIMIT)
    assert (slots.limit, slots.active_slots) == (3, 0)  # taken while training, then released
    fleet(project, monkeypatch, "max_concurrent_trainings = 2")
    with fleet_training_slot():  # a changed setting resizes the limit at the next training
        assert (limit(CONCURRENCY_LIMIT).limit, limit(CONCURRENCY_LIMIT).active_slots) == (2, 1)
