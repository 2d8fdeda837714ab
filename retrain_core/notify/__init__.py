"""Notifications: what happened to a model, sent through every channel the policy configures.

Channels are one module each here, defining `CHANNEL` (a `retrain_core.policy.channels.Channel`):
apprise URLs (`apprise_urls`) and a Prefect notification block (`prefect_block`); an outside
package adds one through the `retrain.channels` entry-point group. URLs never live in the policy:
the policy names where they are kept. A notification that cannot be sent is logged and reported,
never raised: a Slack outage must not fail a retrain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pydantic import BaseModel

from retrain_core.policy.channels import Channel
from retrain_core.policy.notify import Notify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One event about one model: who, what version, what was decided and why, where to look."""

    event: str
    model: str
    reasons: tuple[str, ...]
    version: str | None = None
    decision: str = ""
    links: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """A one-line subject, e.g. "[retrain] churn v3: promoted"."""
        version = f" v{self.version}" if self.version else ""
        return f"[retrain] {self.model}{version}: {self.event}"

    @property
    def body(self) -> str:
        """The message: decision, reasons as bullets, then links."""
        lines = [f"Model {self.model}" + (f" version {self.version}" if self.version else "")]
        if self.decision:
            lines.append(f"Decision: {self.decision}")
        lines += [f"- {reason}" for reason in self.reasons]
        lines += [f"{label}: {url}" for label, url in sorted(self.links.items())]
        return "\n".join(lines)

    @property
    def markdown(self) -> str:
        """The message in markdown, for channels that render it (apprise converts it to Slack's
        mrkdwn, HTML e-mail, ...): the model in bold, reasons as bullets, links as links."""
        head = f"**Model {self.model}**" + (f" version {self.version}" if self.version else "")
        lines = [head, ""]
        if self.decision:
            lines += [f"Decision: {self.decision}", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        from retrain_core.decide.report import markdown_link

        links = [markdown_link(label, url) for label, url in sorted(self.links.items())]
        return "\n".join([*lines, "", *links] if links else lines)


def send(config: Notify, notification: Notification) -> bool:
    """Send when the policy listens to this event, through every channel it configures; True
    when every target accepted it. Never raises: one channel failing does not stop the others."""
    if notification.event not in config.on:
        return True
    try:
        channels = config.channels()
    except Exception as exc:  # a notification must never fail the flow
        log.warning("could not send the %s notification: %s", notification.event, exc)
        return False
    results = [_send_one(channel, settings, notification) for channel, settings in channels]
    return all(results)


def _send_one(channel: Channel, settings: BaseModel, notification: Notification) -> bool:
    """One channel's delivery, its failure logged and reported as False."""
    try:
        return bool(channel.send(settings, notification))
    except Exception as exc:  # a notification must never fail the flow
        log.warning(
            "could not send the %s notification through %s: %s",
            notification.event,
            channel.key,
            exc,
        )
        return False
