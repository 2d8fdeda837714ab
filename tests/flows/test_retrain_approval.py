"""`approval: manual`: the flow pauses for a typed Approval; the test answers as a reviewer would.

The flow runs in a thread (with the test's context, so it talks to the session's Prefect API)
and tags its run with the test's policy name; the test finds the run through the Prefect client
once it is Paused and resumes it with `resume_flow_run(..., run_input=...)`, as the UI does.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from prefect import get_client, tags
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from test_retrain_support import GOOD, aliases, bootstrap, notified, run, use
from test_retrain_support import tags as version_tags

if TYPE_CHECKING:
    # types only: with tests/e2e collected too, `conftest` may be that folder's module
    from conftest import Project

PAUSE_SECONDS = 90.0  # longer than the approval timeout below, so a failing test ends


@contextmanager
def in_background(project: Project) -> Iterator[dict[str, Any]]:
    """Run the flow in a thread, tagged with the policy's name; yields its outcome when done."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            with tags(project.name):
                outcome["state"] = run(project, reason="manual review", return_state=True)
        except BaseException as exc:  # surfaced by the test below
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), daemon=True)
    thread.start()
    try:
        yield outcome
    except BaseException:
        thread.join(timeout=PAUSE_SECONDS)  # an unanswered pause times out on its own
        raise
    thread.join(timeout=PAUSE_SECONDS)
    assert not thread.is_alive(), "the flow did not finish after it was resumed"
    assert "error" not in outcome, outcome.get("error")


def paused_run(tag: str, outcome: dict[str, Any]) -> UUID:
    """The id of the flow run tagged `tag` once it is Paused and waits for its input schema."""
    paused = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[tag]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
    )
    deadline = time.monotonic() + PAUSE_SECONDS
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert not outcome, f"the flow ended without pausing: {outcome}"
            for flow_run in client.read_flow_runs(flow_run_filter=paused):
                keyset = flow_run.state.state_details.run_input_keyset if flow_run.state else None
                try:  # the schema is saved just after the run turns Paused
                    if keyset and client.read_flow_run_input(flow_run.id, keyset["schema"]):
                        return flow_run.id
                except Exception:
                    pass
            time.sleep(0.5)
    raise AssertionError(f"no paused flow run tagged {tag} after {PAUSE_SECONDS:.0f} s")


def manual(project: Project, timeout: str = "60s") -> None:
    """A champion (v1, weak), then a better challenger that needs a person's approval."""
    bootstrap(project)
    use(project, GOOD, promotion={"approval": "manual", "approval_timeout": timeout})


def test_approved_challenger_takes_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        manual(project)
        with in_background(project) as outcome:
            flow_run_id = paused_run(project.name, outcome)
            assert aliases(tracking_uri, project.name) == {"champion": "1"}  # not before approval
            resume_flow_run(flow_run_id, run_input={"approve": True, "comment": "looks good"})

    state = outcome["state"]
    assert state.is_completed(), state
    result = state.result()
    assert result["status"] == "promoted", result
    assert result["reasons"][-1] == "approved by a reviewer (looks good)"
    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
    assert version_tags(tracking_uri, project.name, "2")["retrain.decision"] == "promoted"
    (message,) = [m for m in endpoint.messages("promoted") if " v2:" in m["title"]]
    assert "approved by a reviewer (looks good)" in message["message"]


def test_rejected_by_the_reviewer_keeps_the_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        manual(project)
        with in_background(project) as outcome:
            flow_run_id = paused_run(project.name, outcome)
            resume_flow_run(flow_run_id, run_input={"approve": False, "comment": "not on Friday"})

    state = outcome["state"]
    assert state.is_completed(), state
    result = state.result()
    assert result["status"] == "rejected", result
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    rejected = version_tags(tracking_uri, project.name, "2")
    assert rejected["retrain.gate"] == "passed"  # the gate passed; the person said no
    assert rejected["retrain.decision"] == "rejected"
    assert "rejected by a reviewer (not on Friday)" in rejected["retrain.decision_reasons"]
    (message,) = endpoint.messages("rejected")
    assert "rejected by a reviewer (not on Friday)" in message["message"]


def test_no_answer_before_the_timeout_rejects(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        manual(project, timeout="5s")
        started = time.monotonic()
        state = run(project, return_state=True)
        waited = time.monotonic() - started

    assert state.is_completed(), state  # a timeout is a decision, not a failed run
    result = state.result()
    assert result["status"] == "rejected", result
    assert result["reasons"][-1] == "no approval within 0:00:05: rejected"
    assert waited >= 5
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    rejected = version_tags(tracking_uri, project.name, "2")
    assert rejected["retrain.decision"] == "rejected"
    assert "no approval within 0:00:05" in rejected["retrain.decision_reasons"]
    assert endpoint.events()[-1] == "rejected"


def test_a_pending_approval_holds_no_lock_and_later_checks_train_nothing(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While v2 waits for a person, a check whose trigger fires ends at once and trains nothing."""
    from test_monitor_support import check

    import flows.common

    monkeypatch.setattr(flows.common, "LOCK_WAIT_SECONDS", 30.0)  # a held lock fails, not hangs
    manual(project)
    project.edit(triggers={"any": [{"max_age": "1s"}]})
    project.write_day(1)
    with in_background(project) as outcome:
        flow_run_id = paused_run(project.name, outcome)
        assert version_tags(tracking_uri, project.name, "2")["retrain.approval"] == "pending"
        summary = check(project, datetime.now(UTC))
        assert summary["verdict"] == "suppressed", summary["reasons"]
        assert summary["suppressed_by"] == "approval-pending"
        assert summary["reasons"][-1].startswith("v2 is waiting for approval (until ")
        assert "training" not in summary
        resume_flow_run(flow_run_id, run_input={"approve": True, "comment": ""})

    assert outcome["state"].is_completed(), outcome["state"]
    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
    assert version_tags(tracking_uri, project.name, "2")["retrain.approval"] == "approved"
