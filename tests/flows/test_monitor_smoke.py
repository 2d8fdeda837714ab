"""The monitor flow end to end on the demo stream: first model, then a quiet day."""

from __future__ import annotations

from datetime import timedelta

from conftest import Project

from flows.monitor import monitor
from retrain_core.demo_data import day_start


def test_first_model_then_a_clean_day_holds(project: Project) -> None:
    project.write_day(1)
    first = monitor(str(project.policy_path), now=day_start(1), data_root=str(project.root))
    assert first["verdict"] == "retrain"
    assert first["training"]["status"] == "promoted"
    project.write_day(2)
    second = monitor(
        str(project.policy_path), now=day_start(2) + timedelta(hours=1), data_root=str(project.root)
    )
    assert second["verdict"] == "hold", second["reasons"]
