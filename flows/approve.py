"""The approve flow: a challenger that passed the gate waits here, in its own run, for a person.

With `approval: manual`, train-validate-promote registers the challenger, tags it pending until its
deadline (`retrain_core.decide.approval`) and hands over to this flow: the check that asked for the
training completes at once, holding neither its deployment's concurrency slot nor the policy's
lock while a person decides, and later checks see the pending version and train nothing.

- Under a deployment the training starts `approve/<policy>` with `run_deployment(..., timeout=0)`
  and this run SUSPENDS (`suspend_flow_run`): no process waits; the reviewer's Approval in the
  Prefect UI reschedules it, and it runs again from the top to the same suspend, which returns
  the answer.
- Without a deployment (`retrain run`, tests) nothing can reschedule a suspended run, so the caller
  runs this flow after the check completed and it PAUSES in its own process (`pause_flow_run`).

The timeout is Prefect's: an unanswered pause fails this run ("paused and never resumed"), and no
state is forced. The version is rejected with the reason by this run when its process is still
waiting, else by the next check (`expire`, from the monitor's `decide` task). Moving the
alias or rejecting takes the policy's lock, as the training flow does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput

from retrain_core.base.settings import load_settings
from retrain_core.decide import approval
from retrain_core.monitor import stages
from retrain_core.notify import Notification, send
from retrain_core.policy.loader import LoadedPolicy, load_policy
from retrain_core.policy.notify import Event
from retrain_core.runtime.hooks import notify_failure
from retrain_core.runtime.locks import policy_lock
from retrain_core.runtime.options import IO, resolve_policy_path, retry_options, run_name
from retrain_core.store import Store
from retrain_core.store.tags import APPROVAL, EXPIRED, GATE_REASONS, MONITOR_RUN_ID
from retrain_core.store.tracking import tracking_uri

PAUSE_KEY = "approval"  # the same key on every execution: a resumed run gets its answer back


class Approval(RunInput):
    """What a reviewer answers in the Prefect UI to a challenger waiting for approval."""

    approve: bool = False
    comment: str = ""


class ApprovalExpired(RuntimeError):
    """Nobody answered before Prefect's pause timeout; the version was rejected and notified."""


def deployment_name(policy_name: str) -> str:
    """The `approve/<policy>` deployment that `retrain compile` writes for each policy."""
    return f"approve/{policy_name}"


@task(name="move-champion-alias", **IO)
def promote(store: Store, loaded: LoadedPolicy, version: str, now: datetime) -> None:
    """Give the old champion `previous`, then move `champion` to this version (last)."""
    p = loaded.policy.promotion
    store.registry.promote(loaded.policy.name, version, p.alias, p.previous_alias, now=now)


@task(name="enter-first-stage", **IO)
def enter_stage(
    store: Store, loaded: LoadedPolicy, version: str, reasons: list[str], now: datetime
) -> str:
    """With `promotion.stages`, the passing challenger enters the first stage (the champion
    alias stays where it is; the checks move it when the stages end)."""
    policy = loaded.policy
    first = policy.promotion.stages[0]
    return stages.enter(store, policy, version, first, reasons, now, notify=False)


@task(name="reject-challenger", **IO)
def reject(
    store: Store, loaded: LoadedPolicy, version: str, reasons: list[str], now: datetime
) -> None:
    """Tag the registered challenger rejected, with the reasons; it gets no alias."""
    store.registry.tag_rejected(loaded.policy.name, version, reasons, now=now)


def move_or_reject(
    store: Store,
    loaded: LoadedPolicy,
    version: str,
    approved: bool,
    reasons: list[str],
    now: datetime,
) -> str:
    """Under the policy's lock, move the alias to `version` (or, with stages and a champion to
    try it beside, put it in the first) or tag it rejected with `reasons`; "promoted", "staged"
    or "rejected". A first version has nothing to be compared with: it is promoted."""
    retry = retry_options(loaded)
    policy = loaded.policy
    with policy_lock(policy.name):
        if (
            approved
            and policy.promotion.stages
            and has_champion.with_options(**retry)(store, loaded)
        ):
            enter_stage.with_options(**retry)(store, loaded, version, reasons, now)
            return Event.STAGED.value
        if approved:
            promote.with_options(**retry)(store, loaded, version, now)
        else:
            reject.with_options(**retry)(store, loaded, version, reasons, now)
    return "promoted" if approved else "rejected"


@task(name="read-champion", **IO)
def has_champion(store: Store, loaded: LoadedPolicy) -> bool:
    """Whether the policy's model has a champion (a staged challenger is judged beside it)."""
    policy = loaded.policy
    return store.registry.champion(policy.name, policy.promotion.alias) is not None


def _failed_unless_expired(flow: Any, flow_run: Any, state: Any) -> None:
    """The failure hook, except after Prefect's pause timeout: the version was rejected for it
    and people were told so (the server replaces the run's exception with its own message)."""
    if not _expired(flow_run.parameters):
        notify_failure("the approval run failed: ")(flow, flow_run, state)


def _expired(parameters: dict[str, Any]) -> bool:
    """True when the run's version was answered `expired` (nobody answered in time)."""
    try:
        name = load_policy(resolve_policy_path(str(parameters["policy_path"]))).policy.name
        store = Store(tracking_uri(load_settings()))
        tags = store.registry.version_tags(name, str(parameters["version"]))
    except Exception:  # unreadable: notify the failure
        return False
    return bool(tags.get(APPROVAL) == EXPIRED)


@flow(
    name="approve",
    flow_run_name=run_name("approve"),
    log_prints=True,
    on_failure=[_failed_unless_expired],
    on_crashed=[notify_failure("the approval run failed: ")],
)
def approve(
    policy_path: str,
    version: str,
    policy_hash: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Wait for a reviewer's answer on `version`, then promote it or reject it with the reason.

    `policy_hash` is the policy the challenger was trained and gated under: a policy edited since
    rejects it (promotion under other rules than it was judged by). `now` is the training's clock.
    """
    loaded = load_policy(resolve_policy_path(policy_path))
    policy = loaded.policy
    store = Store(tracking_uri(load_settings()))
    moment = now or datetime.now(UTC)
    if not store.registry.approval_is_pending(policy.name, version):
        return {"status": "answered", "version": version, "reasons": ["answered already"]}
    if policy_hash and policy_hash != loaded.policy_hash:
        note = (
            f"the policy changed while v{version} waited for approval (trained under "
            f"{policy_hash}, now {loaded.policy_hash}): rejected"
        )
        return answer_approval(store, loaded, version, False, note, moment)
    timeout = policy.promotion.approval_timeout
    get_run_logger().info(
        "%s v%s passed the gate: waiting for approval in the Prefect UI (at most %s)",
        policy.name, version, timeout,
    )  # fmt: skip
    try:
        given = _wait(int(timeout.total_seconds()))
    except FlowPauseTimeout:  # in process only: a suspended run is failed by the server
        expire(store, loaded, version, moment)
        raise ApprovalExpired(approval.expiry_reason(timeout)) from None
    comment = f" ({given.comment})" if given.comment else ""
    note = ("approved" if given.approve else "rejected") + f" by a reviewer{comment}"
    if not store.registry.approval_is_pending(policy.name, version):  # a check expired it
        return {"status": "answered", "version": version, "reasons": ["answered already"]}
    return answer_approval(store, loaded, version, given.approve, note, moment)


def _wait(timeout: int) -> Approval:
    """Suspend (a deployment's run: no process waits) or pause in process, for an Approval."""
    from prefect.flow_runs import pause_flow_run, suspend_flow_run
    from prefect.runtime import deployment

    if deployment.id:
        return suspend_flow_run(wait_for_input=Approval, timeout=timeout, key=PAUSE_KEY)
    return pause_flow_run(wait_for_input=Approval, timeout=timeout, poll_interval=2, key=PAUSE_KEY)


def answer_approval(
    store: Store,
    loaded: LoadedPolicy,
    version: str,
    approved: bool,
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """Record the answer on the version, move the alias or reject, note it on the check that
    trained it (its ledger entry's training outcome), tell people."""
    policy = loaded.policy
    tags = store.registry.version_tags(policy.name, version)
    reasons = [*_gate_reasons(tags), note]
    answer = "approved" if approved else "rejected"
    store.registry.mark_approval_answered(policy.name, version, answer)
    event = move_or_reject(store, loaded, version, approved, reasons, now)
    _note_on_check(store, tags, event)
    send(policy.notify, Notification(event, policy.name, tuple(reasons), version, event))
    get_run_logger().info("%s v%s %s: %s", policy.name, version, event, note)
    return {"status": event, "version": version, "reasons": reasons}


def expire(store: Store, loaded: LoadedPolicy, version: str, now: datetime) -> None:
    """Reject a version nobody answered in time, with the reason, and tell people (idempotent)."""
    policy = loaded.policy
    if not store.registry.approval_is_pending(policy.name, version):
        return
    note = approval.expiry_reason(policy.promotion.approval_timeout)
    tags = store.registry.version_tags(policy.name, version)
    reasons = [*_gate_reasons(tags), note]
    store.registry.mark_approval_answered(policy.name, version, EXPIRED)
    store.registry.tag_rejected(policy.name, version, reasons, now=now)
    _note_on_check(store, tags, "rejected")
    rejected = Notification(Event.REJECTED, policy.name, tuple(reasons), version, "rejected")
    send(policy.notify, rejected)


def _gate_reasons(tags: dict[str, str]) -> list[str]:
    """The gate's reasons as registered on the version (the answer is added after them)."""
    text = tags.get(GATE_REASONS)
    return [text] if text else []


def _note_on_check(store: Store, tags: dict[str, str], event: str) -> None:
    """The answer as the training outcome of the check that trained the version (its lineage
    names that ledger run): `decide()` counts it toward budget and cooldown from then on."""
    if check := tags.get(MONITOR_RUN_ID):
        store.ledger.record_training(check, event)


def start(loaded: LoadedPolicy, version: str, now: datetime) -> str | None:
    """Start `approve/<policy>` when this run belongs to a deployment: its flow run id.

    None when no deployment runs this (the caller runs `approve` in process after the check).
    """
    if not _under_deployment():
        return None
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    parameters = {"version": version, "policy_hash": loaded.policy_hash, "now": now}
    name = deployment_name(loaded.policy.name)
    run = cast(FlowRun, run_deployment(name, parameters=parameters, timeout=0, as_subflow=False))
    return str(run.id)


def _under_deployment() -> bool:
    """True when this flow run, or the run it is a subflow of, was started by a deployment."""
    from prefect.runtime import deployment, flow_run

    if deployment.id:
        return True
    root = flow_run.root_flow_run_id
    if not root or root == flow_run.id:
        return False
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(root).deployment_id is not None
