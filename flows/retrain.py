"""The train-validate-promote flow: never leaves production worse off.

Train a challenger on the policy's training window, score it and the champion on the SAME holdout,
register it with its lineage, and move the champion alias only when the gate passes. With
`approval: manual` a passing challenger is tagged pending and handed to its own approve run
(flows/approve.py): this run, and the check that started it, complete without waiting for a person.
The alias moves last: a crash at any earlier point leaves the old champion serving. Every outcome
is notified as the policy asks; a failed or crashed run is notified by its state hooks.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from flows import approve as approve_flow
from retrain_core.base.settings import load_settings
from retrain_core.checks.profile import profile_from_frame
from retrain_core.decide import approval
from retrain_core.decide.promotion import PromotionDecision, gate_challenger
from retrain_core.monitor.training_data import TrainingData, training_data
from retrain_core.monitor.training_validation import training_data_problems
from retrain_core.notify import Notification, send
from retrain_core.policy.loader import LoadedPolicy, load_policy
from retrain_core.policy.notify import Event
from retrain_core.runtime.hooks import notify_failure, refused
from retrain_core.runtime.locks import fleet_training_slot, policy_lock
from retrain_core.runtime.options import IO, resolve_policy_path, retry_options, run_name
from retrain_core.store import Store
from retrain_core.store.lineage import gate_tags
from retrain_core.store.registry import trained_until
from retrain_core.store.tracking import check_reachable, tracking_uri
from retrain_core.training.challenger import TrainingResult, reference_sample, train_challenger
from retrain_core.training.errors import TrainingError


@task(name="load-training-data", **IO)
def load_training_data(
    loaded: LoadedPolicy, root: str, store: Store, now: datetime | None = None
) -> TrainingData:
    """The rows the challenger learns from (training source, or reference + labelled rows).

    Quarantined batches are never part of them, nor rows stamped after the check's `now`; the
    batches checks judged under this policy are marked so (their verdict stands).
    """
    name = loaded.policy.name
    skip = store.ledger.quarantined(name)
    judged = store.ledger.judged(name, loaded.policy_hash)
    return training_data(loaded.policy, Path(root), skip, judged, now)


@task(name="validate-training-data", **IO)
def validate_training_data(loaded: LoadedPolicy, data: TrainingData, store: Store) -> list[str]:
    """Reasons the training data cannot be used (failed expectations, bad columns).

    The expectations read only the rows no check judged, and not again once they passed.
    """
    name = loaded.policy.name
    found = training_data_problems(loaded.policy, data, store.ledger.validated(name))
    store.ledger.remember_validated(name, found.passed)
    get_run_logger().info(
        "validated %d of %d training rows (the rest judged by checks, or already validated)",
        found.rows, len(data.frame),
    )  # fmt: skip
    return found.problems


@task(name="train-challenger", cache_policy=NO_CACHE)
def train(loaded: LoadedPolicy, frame: Any, since: datetime | None = None) -> TrainingResult | str:
    """Fit the policy's pipeline and score it on the holdout; why it cannot, as an outcome."""
    allowed = load_settings().allowed_estimator_modules
    try:
        return train_challenger(loaded.policy, frame, allowed, since)
    except TrainingError as exc:  # a window that cannot be trained on is a failed training
        return str(exc)  # "cannot train <policy>: why", for people


@task(name="log-training-run", **IO)
def log_training_run(
    store: Store,
    loaded: LoadedPolicy,
    result: TrainingResult,
    monitor_run_id: str,
    reason: str,
    now: datetime,
) -> str:
    """Log params, holdout metrics and the model to MLflow; link the monitor run.

    The drift reference (a sample of the training rows) and its profile are stored with it.
    """
    registry = store.registry
    run_id = registry.log_training_run(
        loaded.policy, result, monitor_run_id=monitor_run_id or None,
        policy_hash=loaded.policy_hash, trigger=[reason] if reason else [],
        allowed_modules=load_settings().allowed_estimator_modules, now=now,
    )  # fmt: skip
    sample = reference_sample(loaded.policy, result.rows)
    registry.log_reference(run_id, sample, profile_from_frame(sample, loaded.policy))
    return run_id


@task(name="gate-challenger", **IO)
def gate_against_champion(
    store: Store, loaded: LoadedPolicy, result: TrainingResult
) -> PromotionDecision:
    """The gate: challenger vs champion on the newest holdout rows neither was trained on."""
    policy = loaded.policy
    registry = store.registry
    version = registry.champion(policy.name, policy.promotion.alias)
    if version is None:
        return gate_challenger(policy, result, None, None)
    champion = registry.load_model(policy.name, policy.promotion.alias)
    return gate_challenger(policy, result, champion, trained_until(version))


@task(name="register-challenger", **IO)
def register(
    store: Store, loaded: LoadedPolicy, run_id: str, gate: PromotionDecision, now: datetime
) -> str:
    """Register the challenger with its lineage and the gate's verdict (no alias yet)."""
    registry = store.registry
    name = loaded.policy.name
    for stale in registry.unfinished(name, loaded.policy.promotion.alias):
        reason = "interrupted before its promotion finished; superseded by a newer challenger"
        registry.tag_rejected(name, stale, [reason], now=now)
    return registry.register(run_id, name, gate_tags(gate), now=now)


@flow(
    name="train-validate-promote",
    flow_run_name=run_name("train"),
    log_prints=True,
    on_failure=[notify_failure("")],
    on_crashed=[notify_failure("")],
)
def train_validate_promote(
    policy_path: str,
    reason: str = "",
    monitor_run_id: str = "",
    now: datetime | None = None,
    data_root: str | None = None,
    train_since: datetime | None = None,
    policy_hash: str = "",
) -> dict[str, Any] | State[Any]:
    """Train a challenger, gate it against the champion, and promote it only if it passes.

    `train_since` is the change the retrain answers (see `training.from_change`). `policy_hash`
    is the policy the check validated and decided under: when the file says otherwise now, the
    training is refused (blocked) rather than run under rules nobody checked against this data.
    A policy that does not load or a tracking server that does not answer ends the run Failed
    with one line.
    """
    uri = tracking_uri(load_settings())
    try:
        loaded = load_policy(resolve_policy_path(policy_path))
        if policy_hash and policy_hash != loaded.policy_hash:
            return _refused(loaded, policy_hash)
        check_reachable(uri)
        moment = now or datetime.now(UTC)
        return _run(loaded, reason, monitor_run_id, moment, data_root, train_since)
    except Exception as exc:
        return refused(exc, uri)


def _refused(loaded: LoadedPolicy, checked: str) -> dict[str, Any]:
    """The policy file changed between the check and this training: train nothing, say so."""
    policy = loaded.policy
    reason = (
        f"policy {policy.name} changed after the check that asked for this training (checked "
        f"{checked}, the file is now {loaded.policy_hash}): nothing trained; the next check "
        "decides under the new policy"
    )
    send(policy.notify, Notification(Event.BLOCKED, policy.name, (reason,), decision="blocked"))
    get_run_logger().warning("training refused: %s", reason)
    return {"status": "blocked", "reasons": [reason]}


def _run(
    loaded: LoadedPolicy,
    reason: str,
    monitor_run_id: str,
    now: datetime,
    data_root: str | None,
    train_since: datetime | None = None,
) -> dict[str, Any]:
    """The flow's body: the steps in order, with the policy's retries on I/O.

    Training and registering, then moving the alias, each hold the policy's lock; waiting for a
    reviewer does not, so checks go on meanwhile.
    """
    logger = get_run_logger()
    policy = loaded.policy
    settings = load_settings()
    uri = tracking_uri(settings)
    store = Store(uri)
    with fleet_training_slot(), policy_lock(policy.name):  # at most N trainings in the fleet
        trained = _train_and_register(
            loaded, reason, monitor_run_id, data_root, store, train_since, now
        )
    if isinstance(trained, str):
        return _failed_training(loaded, trained)
    if isinstance(trained, list):
        blocked = Notification(Event.BLOCKED, policy.name, tuple(trained), decision="blocked")
        send(policy.notify, blocked)
        logger.warning("training blocked: %s", "; ".join(trained))
        return {"status": "blocked", "reasons": trained}
    run_id, gate, version = trained
    links = {"MLflow training run": store.run_page(policy.name, run_id)}
    if monitor_run_id:  # the check that asked for it writes its report when the training ends
        links["Report"] = store.history.report_url(monitor_run_id)
    send(policy.notify, Notification(Event.RETRAINED, policy.name, (reason,), version, links=links))
    approved, reasons = gate.promote, list(gate.reasons)
    scores = {
        "training_run_id": run_id, "challenger_score": _finite(gate.challenger_score),
        "champion_score": _finite(gate.champion_score),
    }  # fmt: skip
    if approved and policy.promotion.approval == "manual":
        return {**_hand_over(store, loaded, version, reasons, now), **scores}
    event = approve_flow.move_or_reject(store, loaded, version, approved, reasons, now)
    send(policy.notify, Notification(event, policy.name, tuple(reasons), version, event, links))
    logger.info("%s v%s %s: %s", policy.name, version, event, "; ".join(reasons))
    return {"status": event, "version": version, "reasons": reasons, **scores}


def _train_and_register(
    loaded: LoadedPolicy,
    reason: str,
    monitor_run_id: str,
    data_root: str | None,
    store: Store,
    train_since: datetime | None,
    now: datetime,
) -> str | list[str] | tuple[str, PromotionDecision, str]:
    """Load, validate, train, log, gate and register.

    Returns the data problems when the rows must not be trained on, or why the training failed.
    """
    retry = retry_options(loaded)
    root = data_root or str(load_settings().root)
    data = load_training_data.with_options(**retry)(loaded, root, store, now)
    problems = validate_training_data.with_options(**retry)(loaded, data, store)
    if problems:
        return list(problems)
    result = train(loaded, data.frame, train_since)
    if isinstance(result, str):
        return result
    run_id = log_training_run.with_options(**retry)(
        store, loaded, result, monitor_run_id, reason, now
    )
    gate = gate_against_champion.with_options(**retry)(store, loaded, result)
    version = register.with_options(**retry)(store, loaded, run_id, gate, now)
    return run_id, gate, version


@task(name="mark-pending-approval", **IO)
def mark_pending(store: Store, name: str, version: str, deadline: datetime) -> None:
    """Tag the challenger pending until `deadline`: later checks train nothing meanwhile."""
    store.registry.mark_approval_pending(name, version, deadline)


def _hand_over(
    store: Store,
    loaded: LoadedPolicy,
    version: str,
    reasons: list[str],
    now: datetime,
) -> dict[str, Any]:
    """Mark the challenger pending and leave the wait to its own approve run (flows/approve.py).

    Under a deployment that run is started here (`approve/<policy>`, suspended until answered);
    otherwise `approval_run_id` is None and the caller runs `approve` after the check.
    """
    policy = loaded.policy
    deadline = now + policy.promotion.approval_timeout
    mark_pending.with_options(**retry_options(loaded))(store, policy.name, version, deadline)
    try:
        started = approve_flow.start(loaded, version, now)
    except Exception as exc:  # no approve deployment: nobody could ever answer
        note = (
            f"could not start {approve_flow.deployment_name(policy.name)} ({type(exc).__name__}: "
            f"{exc}): run `retrain compile` and `prefect deploy --all`; rejected"
        )
        return approve_flow.answer_approval(store, loaded, version, False, note, now)
    note = f"pending approval of version {version} (until {deadline:%Y-%m-%d %H:%M} UTC)"
    get_run_logger().info("%s: %s", policy.name, note)
    return {
        "status": approval.PENDING_APPROVAL, "version": version, "reasons": [*reasons, note],
        "approval_run_id": started, "policy_hash": loaded.policy_hash,
    }  # fmt: skip


def _failed_training(loaded: LoadedPolicy, reason: str) -> dict[str, Any]:
    """A training that produced no model: notified and returned as an outcome, not raised."""
    policy = loaded.policy
    send(policy.notify, Notification(Event.FAILED, policy.name, (reason,), decision="failed"))
    get_run_logger().warning("training failed: %s", reason)
    return {"status": "failed", "reasons": [reason]}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
