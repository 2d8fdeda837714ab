"""`approval: manual`: a challenger that passed the gate waits in its own `approve` run.

The check (and the training it started) complete at once with "pending approval of version N";
later checks train nothing while it waits. Without a deployment the approve run pauses in
process: it runs in a thread here (with the test's context, so it talks to the session's Prefect
API), tagged with the test's policy name; the test finds it once it is Paused and resumes it with
`resume_flow_run(..., run_input=...)`, as the UI does.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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

from flows.approve import approve

if TYPE_CHECKING:
    # types only: with tests/e2e collected too, `conftest` may be that folder's module
    from conftest import Project

PAUSE_SECONDS = 90.0  # longer than the approval timeout below, so a failing test ends


@contextmanager
def in_background(project: Project, pending: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Run the approve flow of `pending` (a training's outcome) in a thread, tagged with the
    policy's name; yields its outcome when done."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            with tags(project.name):
                outcome["state"] = wait(project, pending)
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


def wait(project: Project, pending: dict[str, Any]) -> Any:
    """The approve run of a pending challenger, in this process, as `retrain run` starts it."""
    assert pending["status"] == "pending-approval", pending
    assert pending["approval_run_id"] is None  # no deployment: nothing was started elsewhere
    return approve(
        str(project.policy_path), pending["version"], policy_hash=pending["policy_hash"],
        return_state=True,
    )  # fmt: skip


def test_check_completes_while_v2_waits_later_checks_train_nothing_approval_promotes(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check that trained v2 completes with v2 pending; the next one trains nothing."""
    from test_monitor_support import check, ledger

    with notified(project, monkeypatch) as endpoint:
        manual(project)
        project.edit(triggers={"any": [{"max_age": "1s"}]})
        project.write_day(1)
        first = datetime.now(UTC)
        summary = check(project, first)  # returns: the monitor run completed
        pending = summary["training"]
        assert pending["status"] == "pending-approval" and pending["version"] == "2", pending
        assert pending["reasons"][-1].startswith("pending approval of version 2 (until ")
        assert version_tags(tracking_uri, project.name, "2")["retrain.approval"] == "pending"
        assert aliases(tracking_uri, project.name) == {"champion": "1"}

        project.write_day(2)
        # a logical moment well inside v2's 60 s deadline, however long the first check took
        again = check(project, first + timedelta(seconds=5))
        assert again["verdict"] == "suppressed", again["reasons"]
        assert again["suppressed_by"] == "approval-pending"
        assert again["reasons"][-1].startswith("v2 is waiting for approval (until ")
        assert "training" not in again

        with in_background(project, pending) as outcome:
            flow_run_id = paused_run(project.name, outcome)
            resume_flow_run(flow_run_id, run_input={"approve": True, "comment": "looks good"})

    state = outcome["state"]
    assert state.is_completed(), state
    result = state.result()
    assert result["status"] == "promoted", result
    assert result["reasons"][-1] == "approved by a reviewer (looks good)"
    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
    promoted = version_tags(tracking_uri, project.name, "2")
    assert promoted["retrain.decision"] == "promoted" and promoted["retrain.approval"] == "approved"
    first = ledger(tracking_uri, project.name)[-2]  # the check that trained v2, now answered
    assert first.data.tags["retrain.training"] == "promoted"
    (message,) = [m for m in endpoint.messages("promoted") if " v2:" in m["title"]]
    assert "approved by a reviewer (looks good)" in message["message"]


def test_rejected_by_the_reviewer_keeps_the_champion(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notified(project, monkeypatch) as endpoint:
        manual(project)
        pending = run(project, reason="manual review")
        with in_background(project, pending) as outcome:
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


def test_no_answer_before_the_timeout_rejects_without_forcing_a_state(
    project: Project,
    tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Prefect's pause timeout fails the approve run; the version is rejected with the reason.

    The approve run is started as `retrain run` starts it without a deployment, after the check.
    """
    from retrain_core.cli.run import wait_for_approval

    with notified(project, monkeypatch) as endpoint:
        manual(project, timeout="3s")
        pending = run(project)
        assert pending["status"] == "pending-approval", pending  # the training run completed
        assert pending["approval_run_id"] is None
        started = time.monotonic()
        state = wait_for_approval(str(project.policy_path), pending, None)
        waited = time.monotonic() - started
    out = capsys.readouterr().out
    assert "v2 waits for approval: answer the paused `approve` run in the Prefect UI" in out
    assert "approval: v2: The flow was failed and never resumed." in out, out  # Prefect's words

    assert state.is_failed(), state  # Prefect's own semantics: paused and never resumed
    assert "never resumed" in str(state.message), state.message
    assert waited >= 3
    assert aliases(tracking_uri, project.name) == {"champion": "1"}
    rejected = version_tags(tracking_uri, project.name, "2")
    assert rejected["retrain.decision"] == "rejected" and rejected["retrain.approval"] == "expired"
    assert "no approval within 0:00:03: rejected" in rejected["retrain.decision_reasons"]
    assert endpoint.events()[-2:] == ["retrained", "rejected"]  # no "failed": it was decided


def test_a_check_after_the_deadline_rejects_a_challenger_nobody_answered(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suspended approve run leaves no process to act on its timeout: the next check does."""
    from test_monitor_support import check

    with notified(project, monkeypatch) as endpoint:
        manual(project, timeout="1h")
        project.edit(triggers={"any": [{"max_age": "365d"}]})  # the check itself trains nothing
        project.write_day(1)
        now = datetime.now(UTC)
        assert run(project, now=now)["status"] == "pending-approval"
        summary = check(project, now + timedelta(hours=2))

    assert summary.get("suppressed_by") != "approval-pending", summary
    rejected = version_tags(tracking_uri, project.name, "2")
    assert rejected["retrain.approval"] == "expired" and rejected["retrain.decision"] == "rejected"
    assert "no approval within 1:00:00: rejected" in rejected["retrain.decision_reasons"]
    (message,) = endpoint.messages("rejected")
    assert "no approval within 1:00:00" in message["message"]
    assert aliases(tracking_uri, project.name) == {"champion": "1"}


def test_under_a_deployment_the_approval_waits_suspended_in_its_own_deployment_run(
    project: Project, tracking_uri: str
) -> None:
    """A training run of a deployment starts `approve/<policy>` (not as its subflow) and completes;
    that run suspends (no process waits) and, once answered, runs again from the top and promotes.

    The runs execute in this process with Prefect's own engine (`run_flow`), as a worker's
    subprocess would; no worker is needed to see suspension and rescheduling.
    """
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    from flows.retrain import train_validate_promote

    manual(project)
    policy = {"policy_path": str(project.policy_path)}
    for each in (train_validate_promote, approve):
        each.to_deployment(name=project.name, parameters=policy).apply()
    with get_client(sync_client=True) as client:
        training = client.create_flow_run_from_deployment(
            client.read_deployment_by_name(f"train-validate-promote/{project.name}").id,
            parameters={**policy, "data_root": str(project.root), "reason": "manual review"},
        )
        pending = run_flow(train_validate_promote, flow_run=training, return_type="state").result()
        assert pending["status"] == "pending-approval", pending
        waiting = client.read_flow_run(UUID(pending["approval_run_id"]))
        approve_deployment = client.read_deployment_by_name(f"approve/{project.name}")
        assert waiting.deployment_id == approve_deployment.id
        assert waiting.parent_task_run_id is None  # its own run: the training is not waiting
        assert waiting.parameters["version"] == "2"

        with pytest.raises(Pause):  # the engine's signal to exit the process (prefect.engine)
            run_flow(approve, flow_run=waiting, return_type="state")
        suspended = client.read_flow_run(waiting.id).state
        assert suspended is not None and suspended.name == "Suspended", suspended
        assert suspended.state_details.pause_reschedule  # rescheduled when answered
        assert aliases(tracking_uri, project.name) == {"champion": "1"}

        resume_flow_run(waiting.id, run_input={"approve": True, "comment": "ok"})
        resumed = client.read_flow_run(waiting.id)
        assert resumed.state is not None and resumed.state.is_scheduled(), resumed.state
        state = run_flow(approve, flow_run=resumed, return_type="state")

    assert state.is_completed(), state
    assert state.result()["status"] == "promoted"
    assert aliases(tracking_uri, project.name) == {"champion": "2", "previous": "1"}
