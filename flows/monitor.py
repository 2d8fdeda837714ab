"""The monitor flow: for one policy, look at the newest data and decide whether to retrain.

A task is a step a person sees in the Prefect UI (read-state, watch-rollout, load-data,
run-checks, decide, record-decision, update-fleet-overview, write-report), its body calls into
`retrain_core`; the I/O tasks retry with the policy's count and backoff. Steps are not split
finer: every task run costs state changes on the Prefect server, paid by every check of a fleet
(17 tasks a check cost 4-12% more machine CPU than these 8 in `bench/fleet.py`). Load, then
decide, then act: the decision is recorded in the MLflow ledger and published as a markdown
artifact before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from flows.approve import expire
from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.base.settings import load_settings
from retrain_core.data.labels import NEW_CLASS
from retrain_core.decide import approval, fleet, probation
from retrain_core.decide.decision import blocking_outcomes, decide
from retrain_core.decide.evaluate import evaluate
from retrain_core.decide.pending import Fresh
from retrain_core.decide.records import LedgerEntry, RetrainDecision
from retrain_core.decide.report import check_rows
from retrain_core.decide.stages import hold_for_stage
from retrain_core.kinds.context import Champion
from retrain_core.monitor import drift_reference, late_labels, report, serving, stages, windows
from retrain_core.monitor.probation import evidence
from retrain_core.monitor.profiled import keep_profiles, profile_window
from retrain_core.monitor.settle import settle
from retrain_core.notify import Notification, send
from retrain_core.policy.compile import run_tags
from retrain_core.policy.loader import LoadedPolicy, load_policy, locate_text, policy_names
from retrain_core.policy.notify import Event
from retrain_core.runtime.budget import take_budget_slot
from retrain_core.runtime.hooks import AlreadyNotified, notify_failure, refused
from retrain_core.runtime.locks import policy_lock
from retrain_core.runtime.options import IO, resolve_policy_path, retry_options, run_name
from retrain_core.runtime.publish import publish_decision, tag_run, update_fleet, verdict_state
from retrain_core.store import Store
from retrain_core.store.overview import policy_row
from retrain_core.store.tracking import check_reachable, tracking_uri
from retrain_core.store.views import view_for


@dataclass(frozen=True)
class PolicyState:
    """What the ledger and the registry hold for a policy when its check starts."""

    history: list[LedgerEntry]  # the decision history, oldest first
    marks: dict[str, str]  # the stored watermarks
    rows: int | None  # the previous check's row count
    skip: dict[str, set[str]]  # the batches set aside and not released, by role
    champion: Champion | None  # the model serving now, None before the first promotion


@task(name="read-state", **IO)
def read_state(store: Store, loaded: LoadedPolicy) -> PolicyState:
    """The decision history, watermarks, quarantined batches and the serving model: no read of
    the data includes a quarantined batch."""
    name = loaded.policy.name
    ledger = store.ledger
    marks, rows = ledger.watermarks(name)
    champion = serving.load_champion(store.registry, loaded.policy)
    return PolicyState(ledger.history(name), marks, rows, ledger.quarantined(name), champion)


@task(name="watch-rollout", **IO)
def watch_rollout(
    store: Store, loaded: LoadedPolicy, root: str, champion: Champion | None, now: datetime,
    skip: dict[str, set[str]],
) -> tuple[str | None, Champion | None]:  # fmt: skip
    """A staged challenger judged and moved on, a champion on probation judged and perhaps
    rolled back: what the stages did (None without a staged challenger), and the model serving
    after both."""
    stage = watch_stages(store, loaded, root, champion, now, skip)
    if stage == Event.PROMOTED.value:
        champion = serving.load_champion(store.registry, loaded.policy)  # the staged one
    if watch_probation(store, loaded, root, champion, now, skip):
        champion = serving.load_champion(store.registry, loaded.policy)  # the one restored
    return stage, champion


def watch_probation(
    store: Store, loaded: LoadedPolicy, root: str, champion: Champion | None, now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> bool:  # fmt: skip
    """A champion on probation that serves significantly worse than its predecessor did is
    rolled back: alias moved, version tagged, ledger and notification say why. True if so."""
    policy = loaded.policy
    if policy.promotion.probation is None or champion is None:
        return False
    registry = store.registry
    served = evidence(registry, policy, Path(root), champion, now, skip)
    if served is None:
        return False
    metric = probation.probation_metric(policy)
    verdict = probation.judge(metric, policy.promotion.probation, *served)
    get_run_logger().info("%s", "; ".join(verdict.reasons))
    if not verdict.rollback:
        return False
    p = policy.promotion
    result = registry.rollback(policy.name, p.alias, p.previous_alias, verdict.reasons, now=now)
    store.ledger.record_rollback(policy.name, result.from_version, result.to_version, now=now,
                                 trigger="probation", reasons=verdict.reasons)  # fmt: skip
    note = Notification(Event.ROLLED_BACK, policy.name, verdict.reasons, result.from_version,
                        f"rolled back to v{result.to_version}")  # fmt: skip
    send(policy.notify, note)
    return True


def watch_stages(
    store: Store, loaded: LoadedPolicy, root: str, champion: Champion | None, now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> str | None:  # fmt: skip
    """A challenger in a rollout stage is judged on the newly labelled rows and advances, is
    promoted or is rejected (`monitor.stages.watch`); what happened, None without one."""
    found = stages.watch(store, loaded.policy, Path(root), champion, now, skip)
    if found is not None:
        get_run_logger().info("stages of %s: %s", loaded.policy.name, found)
    return found


@task(name="load-data", **IO)
def load_data(
    store: Store, loaded: LoadedPolicy, root: str, state: PolicyState, now: datetime
) -> tuple[windows.Loaded, Fresh | None]:
    """Reference, current window after the watermark and newly labelled rows (none when the
    policy names a column its data lacks: a policy error, at its line); the champion's drift
    reference and live rows; the labels from after a change; the drift reference's profile
    (loaded from MLflow, or built and stored once per content); and a wide window of a file glob
    as one profile of its batches' (`monitor.profiled`)."""
    policy, name, at = loaded.policy, loaded.policy.name, Path(root)
    earlier = partial(store.ledger.earlier_batch, name)
    where = partial(locate_text, loaded)
    marks, rows, skip = state.marks, state.rows, state.skip
    data = windows.load_windows(policy, at, marks, rows, skip, earlier, where, now)
    data = drift_reference.follow_champion(store.registry, policy, data, state.champion)
    data, fresh = late_labels.label_context(
        policy, at, data, state.champion, state.history, now, state.skip
    )
    data = drift_reference.reference_profile(store.registry, policy, data, now)
    return profile_window(store.registry, policy, at, data, now), fresh


@task(name="run-checks", cache_policy=NO_CACHE)
def run_checks(
    loaded: LoadedPolicy, data: windows.Loaded, champion: Champion | None, now: datetime
) -> list[CheckOutcome]:
    """Quality, drift, performance, volume, freshness and age, as CheckOutcome values.

    Data the checks cannot run on is bad data, not a crash: the check records a blocked decision
    (and quarantines the window's new batches) instead of failing on the same rows forever.
    """
    try:
        return evaluate(loaded.policy, data.windows, champion, now)
    except Exception as exc:
        get_run_logger().exception("the checks could not run on this window")
        reason = f"the checks could not run on this window: {type(exc).__name__}: {exc}"
        return [CheckOutcome("data.current", Status.ERROR, reason[:1000])]


@task(name="decide", **IO)
def decide_task(
    store: Store,
    loaded: LoadedPolicy,
    outcomes: list[CheckOutcome],
    history: list[LedgerEntry],
    now: datetime,
    has_champion: bool,
    window: str,
    fresh: Fresh | None = None,
) -> RetrainDecision:
    """Combine the signals under the policy's rules (pure), then hold a retrain for a challenger
    awaiting approval or in a stage, or for the fleet's training budget."""
    triggers = loaded.policy.triggers
    decision = decide(
        triggers, outcomes, history, now, has_champion, loaded.policy_hash, window, fresh
    )
    decision = hold_for_approval(store, loaded, decision, now)
    if not decision.retrain:
        return decision
    return fleet.hold_for_budget(decision, take_budget_slot())  # a slot, or held until one frees


def hold_for_approval(
    store: Store, loaded: LoadedPolicy, decision: RetrainDecision, now: datetime
) -> RetrainDecision:
    """No new training while a challenger of this policy waits for a person's approval.

    A challenger still pending after its deadline was not answered in time: it is rejected here
    (its suspended approval run was failed by Prefect's pause timeout, with nothing left to act).
    """
    late, waiting = store.registry.approvals(loaded.policy.name, now)
    for version in late:
        expire(store, loaded, version, now)
    if not decision.retrain:
        return decision
    staged = store.registry.staged(loaded.policy.name)
    if staged is not None:  # one challenger on trial at a time
        return hold_for_stage(decision, staged.version, staged.stage)
    return approval.hold_for_approval(decision, waiting)


@task(name="record-decision", **IO)
def record_decision(
    store: Store, loaded: LoadedPolicy, decision: RetrainDecision, data: windows.Loaded
) -> str:
    """Write the ledger entry (one MLflow run), publish the decision artifacts and put the
    check's signals on the policy's trend run."""
    from prefect.runtime import flow_run

    name = loaded.policy.name
    rows = data.windows.rows

    def publish(run_id: str) -> None:  # before FINISHED: a failed publish records nothing
        links = {
            "MLflow run": store.run_page(name, run_id),
            "Report": store.history.report_url(run_id),  # written when the check is done
        }
        publish_decision(name, decision, rows, links)

    settled = settle(data, blocking_outcomes(decision.outcomes) if decision.blocked else [])
    counts = keep_profiles(store.registry, name, data, settled, decision.decided_at)
    run_id = store.ledger.record(
        name, decision, settled.watermarks, rows, counts, flow_run.id, publish,
        quarantined=settled.quarantined, judged=settled.judged,
    )  # fmt: skip
    log_trend(store, name, decision, rows)
    return run_id


def log_trend(store: Store, name: str, decision: RetrainDecision, rows: int) -> None:
    """The check's signals on the policy's trend run (MLflow draws them as lines). The ledger is
    the record: a trend that could not be written is a warning, never a failed check."""
    try:
        store.trend.log(name, decision, rows)
    except Exception as exc:
        get_run_logger().warning("the trend run of %s was not updated: %s", name, exc)


@task(name="write-report", cache_policy=NO_CACHE)
def write_report(store: Store, name: str, run_id: str, now: datetime) -> None:
    """The policy's report, kept as the check run's artifact `report.html` (a view of the
    ledger: one that could not be written is a warning, never a failed check)."""
    try:
        get_run_logger().info("report: %s", report.write_report(store, name, run_id, now))
    except Exception as exc:
        get_run_logger().warning("the report of %s was not written: %s", name, exc)


@task(name="update-fleet-overview", **IO)
def update_fleet_overview(store: Store, loaded: LoadedPolicy, verdict: str) -> None:
    """Tag the run with its verdict; the policy's row of the fleet artifact, as status shows it."""
    tag_run([f"verdict:{verdict}"])
    row = policy_row(loaded.policy.name, loaded, view_for(store.tracking_uri))
    update_fleet(row, policy_names(loaded.path.parent))


@flow(
    name="monitor",
    flow_run_name=run_name("check"),
    log_prints=True,
    on_failure=[notify_failure("the monitor check failed: ")],
    on_crashed=[notify_failure("the monitor check failed: ")],
)
def monitor(
    policy_path: str, now: datetime | None = None, data_root: str | None = None
) -> dict[str, Any] | State[Any]:
    """Check one policy's newest data, record the decision, and retrain when it says so.

    A policy that does not load, a tracking server that does not answer or a busy policy ends
    the run Failed with one line (`refused`), before any data is read.
    """
    uri = tracking_uri(load_settings())
    try:
        return verdict_state(_check(policy_path, now or datetime.now(UTC), data_root, uri))
    except Exception as exc:
        return refused(exc, uri)


def _check(policy_path: str, now: datetime, data_root: str | None, uri: str) -> dict[str, Any]:
    """The monitor's body: load, probe the store, then one check under the policy's lock."""
    logger = get_run_logger()
    loaded = load_policy(resolve_policy_path(policy_path))  # file:line errors, no data read
    policy = loaded.policy
    tag_run(run_tags(policy))
    check_reachable(uri)
    store = Store(uri)
    root = data_root or str(load_settings().root)
    retry = retry_options(loaded)
    with policy_lock(policy.name):  # read the ledger .. record the decision: one at a time
        state = read_state.with_options(**retry)(store, loaded)
        stage, champion = watch_rollout.with_options(**retry)(
            store, loaded, root, state.champion, now, state.skip
        )
        state = replace(state, champion=champion)
        data, fresh = load_data.with_options(**retry)(store, loaded, root, state, now)
        outcomes = run_checks(loaded, data, champion, now)
        decision = decide_task.with_options(**retry)(
            store, loaded, outcomes, state.history, now, champion is not None, data.description,
            fresh,
        )  # fmt: skip
        run_id = record_decision.with_options(**retry)(store, loaded, decision, data)
    update_fleet_overview(store, loaded, decision.verdict)
    logger.info("%s: %s (%s)", policy.name, decision.verdict, "; ".join(decision.reasons))
    summary: dict[str, Any] = {
        "policy": policy.name,
        "verdict": decision.verdict,
        "reasons": list(decision.reasons),
        "monitor_run_id": run_id,
        "rows": data.windows.rows,
        "window": decision.window,
        "profiles": data.counts.as_dict() if data.counts else None,  # batches read vs loaded
        "checks": check_rows(decision.outcomes),
        "suppressed_by": decision.suppressed_by,
        "outcomes": [outcome.as_dict() for outcome in decision.outcomes],
        "stage": stage,  # what a staged challenger did: waiting, a stage, promoted, rejected
    }
    version = champion.version if champion else None
    if decision.blocked:
        links = _links(store, policy.name, run_id)
        note = Notification(Event.BLOCKED, policy.name, decision.reasons, version, "blocked", links)
        send(policy.notify, note)
    new_classes = tuple(o.reason for o in decision.outcomes if o.check.startswith(NEW_CLASS))
    if new_classes:
        links = _links(store, policy.name, run_id)
        note = Notification(Event.NEW_CLASS, policy.name, new_classes, version, decision.verdict,
                            links)  # fmt: skip
        send(policy.notify, note)
    if decision.retrain:
        summary["training"] = _retrain(policy_path, loaded, decision, run_id, now, root)
        training = summary["training"]
        store.ledger.record_training(run_id, str(training.get("status", "")))
        if training.get("status") == approval.PENDING_APPROVAL:  # it waits in its own run
            logger.info("%s: pending approval of version %s", policy.name, training["version"])
    write_report(store, policy.name, run_id, now)  # once the retrain, if any, is done
    return summary


def _links(store: Store, name: str, run_id: str) -> dict[str, str]:
    """Where a notification about this check points: its MLflow run and the policy's report."""
    return {
        "MLflow monitor run": store.run_page(name, run_id),
        "Report": store.history.report_url(run_id),
    }


def _retrain(
    policy_path: str,
    loaded: LoadedPolicy,
    decision: RetrainDecision,
    run_id: str,
    now: datetime,
    root: str,
) -> dict[str, Any]:
    """Run train-validate-promote inline, or on the policy's training work pool."""
    reason = "; ".join(decision.reasons)
    params: dict[str, Any] = {
        "policy_path": policy_path, "reason": reason, "monitor_run_id": run_id,
        "now": now, "data_root": root, "train_since": decision.train_since,
        "policy_hash": loaded.policy_hash,
    }  # fmt: skip
    if loaded.policy.training.work_pool:
        from prefect.client.schemas.objects import FlowRun
        from prefect.deployments import run_deployment

        deployment = f"train-validate-promote/{loaded.policy.name}"
        run = cast(FlowRun, run_deployment(deployment, parameters=params, as_subflow=True))
        return {"flow_run_id": str(run.id), "status": run.state_name, "reasons": []}
    from flows.retrain import train_validate_promote

    state = train_validate_promote(**params, return_state=True)
    if not state.is_completed():  # its own hook told the policy's listeners
        raise AlreadyNotified(f"the training {(state.name or 'failed').lower()}: {state.message}")
    return cast(dict[str, Any], state.result())
