"""The monitor flow end to end on the demo stream: first model, then a quiet day."""

from __future__ import annotations

from datetime import timedelta

from conftest import Project

from flows.monitor import monitor
from retrain_core.data.demo import day_start


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


def test_runs_are_named_after_the_policy_and_its_moment(project: Project) -> None:
    from prefect import get_client

    project.write_day(1)
    state = monitor(
        str(project.policy_path), now=day_start(1), data_root=str(project.root), return_state=True
    )
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        children = [r.name for r in client.read_flow_runs() if r.parent_task_run_id is not None]
    assert run.name == f"check {project.policy_path.stem} {day_start(1):%Y-%m-%d %H:%M}"
    assert f"train {project.policy_path.stem} {day_start(1):%Y-%m-%d %H:%M}" in children
