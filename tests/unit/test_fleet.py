"""Fleet limits, pure parts: settings, the budget from a Prefect limit, the held decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retrain_core.base.settings import load_settings
from retrain_core.cli.status import fleet_limits, fleet_line
from retrain_core.decide.fleet import BudgetState, budget_state, hold_for_budget
from retrain_core.decide.records import RetrainDecision

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def settings(tmp_path: Path, text: str) -> object:
    (tmp_path / "pyproject.toml").write_text(f"[tool.retrain]\n{text}\n")
    return load_settings(tmp_path)


def test_settings_default_to_unlimited_and_read_both_limits(tmp_path: Path) -> None:
    unset = settings(tmp_path, "")
    assert unset.max_concurrent_trainings is None and unset.training_budget is None  # type: ignore[attr-defined]
    both = settings(
        tmp_path, 'max_concurrent_trainings = 4\ntraining_budget = {max = 20, per = "1d"}'
    )
    assert both.max_concurrent_trainings == 4  # type: ignore[attr-defined]
    assert both.training_budget == (20, DAY)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "max_concurrent_trainings = 0",
        "training_budget = {max = 20}",
        'training_budget = {max = 2, per = "soon"}',
    ],
)
def test_bad_fleet_settings_are_clear_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(
        ValueError, match=r"\[tool.retrain\] (max_concurrent_trainings|training_budget)"
    ):
        settings(tmp_path, text)


def test_a_full_budget_frees_its_next_slot_as_it_decays() -> None:
    # 24 per day frees one slot an hour; 20 minutes of decay since the limit last changed
    limit = {
        "active_slots": 24,
        "slot_decay_per_second": 24 / 86400,
        "updated": (NOW - timedelta(minutes=20)).isoformat(),
    }
    state = budget_state(24, DAY, limit, NOW)
    assert not state.available and state.next_slot == timedelta(minutes=40)
    assert budget_state(24, DAY, {"active_slots": 3}, NOW) == BudgetState(24, DAY, 3)


def test_a_retrain_without_a_slot_is_held_with_the_reason() -> None:
    decision = RetrainDecision(True, ("performance.accuracy: fell",), (), decided_at=NOW)
    full = BudgetState(20, DAY, 20, timedelta(hours=2))
    held = hold_for_budget(decision, full)
    assert (held.retrain, held.suppressed_by, held.verdict) == (False, "fleet-budget", "suppressed")
    assert (
        held.reasons[-1]
        == "fleet training budget of 20 per 1d is used up (20 used); next slot in 2h"
    )
    assert hold_for_budget(decision, BudgetState(20, DAY, 5, granted=True)) is decision
    assert hold_for_budget(decision, None) is decision  # no budget set


def test_status_shows_the_limits_even_without_a_prefect_server(tmp_path: Path) -> None:
    s = settings(tmp_path, 'max_concurrent_trainings = 4\ntraining_budget = {max = 20, per = "1d"}')
    limits = fleet_limits(s, None)  # type: ignore[arg-type]
    assert fleet_line(limits) == (
        "? of 4 trainings at once running; training budget 20 per 1d; "
        "use not read: PREFECT_API_URL is not set"
    )
    assert fleet_limits(settings(tmp_path, ""), "http://127.0.0.1:9/api") == {}  # type: ignore[arg-type]
