"""Notifications: what happened to a model, sent through apprise URLs or a Prefect block.

URLs never live in the policy: the policy names a Prefect Secret block (`urls_secret`), an
environment variable (`urls_env`) or a Prefect notification block (`block`). A notification that
cannot be sent is logged and reported, never raised: a Slack outage must not fail a retrain.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

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


def split_urls(text: str) -> list[str]:
    """apprise URLs from a secret or variable: one per line, or separated by commas."""
    return [u.strip() for u in text.replace(",", "\n").splitlines() if u.strip()]


def resolve_urls(config: Notify) -> list[str]:
    """The apprise URLs the policy points at (environment variable, then Prefect Secret block)."""
    urls: list[str] = []
    if config.urls_env:
        urls += split_urls(os.environ.get(config.urls_env, ""))
    if config.urls_secret:
        from prefect.blocks.system import Secret

        value = Secret.load(config.urls_secret).get()  # type: ignore[union-attr]
        urls += value if isinstance(value, list) else split_urls(str(value))
    return urls


def send(config: Notify, notification: Notification) -> bool:
    """Send when the policy listens to this event; True when every target accepted it."""
    if notification.event not in config.on:
        return True
    try:
        ok = True
        urls = resolve_urls(config)
        if urls:
            ok = _send_apprise(urls, notification)
        if config.block:
            from prefect.blocks.notifications import NotificationBlock

            block = NotificationBlock.load(config.block)
            block.notify(notification.body, subject=notification.title)  # type: ignore[union-attr]
        return ok
    except Exception as exc:  # a notification must never fail the flow
        log.warning("could not send the %s notification: %s", notification.event, exc)
        return False


def _send_apprise(urls: list[str], notification: Notification) -> bool:
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            scheme = url.partition(":")[0][:20]  # never more: the rest may hold a password
            log.warning("apprise does not understand a notification URL (scheme %s)", scheme)
    return bool(sender.notify(title=notification.title, body=notification.body))
