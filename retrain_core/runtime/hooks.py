"""Flow failure hooks: tell a policy's listeners that a check, training or approval failed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from retrain_core.base.errors import Refusal
from retrain_core.policy.loader import load_policy
from retrain_core.runtime.locks import PolicyBusy
from retrain_core.runtime.options import resolve_policy_path
from retrain_core.store.tracking import unreachable

if TYPE_CHECKING:
    from prefect.flows import FlowStateHook
    from prefect.states import State


class AlreadyNotified(Refusal):
    """A failure whose notification was sent already (a training subflow's, by its own hook)."""


QUIET_FAILURES = (PolicyBusy, AlreadyNotified)  # nothing was judged, or somebody told already


def notify_failure(what: str) -> FlowStateHook[..., Any]:
    """An `on_failure`/`on_crashed` hook: tell the policy's listeners that `what` failed, and why.

    Prefect calls it once the run is Failed or Crashed, whatever raised; it reads the policy from
    the run's parameters (a policy that cannot be read has nobody to notify: logged only).
    """

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        from retrain_core.notify import Notification, send
        from retrain_core.policy.notify import Event

        reason = failure_reason(state)
        if reason is None:
            return
        try:
            loaded = load_policy(resolve_policy_path(str(flow_run.parameters["policy_path"])))
        except Exception as exc:  # the run's own error says what is wrong
            logging.getLogger(__name__).warning("no failure notification: %s", exc)
            return
        policy = loaded.policy
        note = Notification(Event.FAILED, policy.name, (f"{what}{reason}",), decision="failed")
        send(policy.notify, note)

    return hook


def failure_reason(state: Any) -> str | None:
    """`Type: message` of the exception that failed the run, its state message when it crashed,
    or None when the failure is not to be notified (`QUIET_FAILURES`)."""
    try:
        exc = state.result(raise_on_failure=False) if state.is_failed() else None
    except Exception:  # an unreadable result: fall back to the state's message
        exc = None
    if isinstance(exc, QUIET_FAILURES):
        return None
    if isinstance(exc, Refusal):  # a message for people already
        return str(exc)
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}"
    return str(state.message or state.name)


def refused(exc: Exception, tracking_uri: str) -> State[Any]:
    """The flow's Failed state for a refusal, or for any error while the tracking server does
    not answer (then the reason is that): its one line is the state's message, and Prefect logs
    no traceback for it. Any other error is raised again, traceback and all."""
    from prefect.states import Failed

    if not isinstance(exc, Refusal):
        down = unreachable(tracking_uri)
        if down is None:
            raise exc
        exc = down
    return Failed(message=str(exc), data=exc)
