"""The apprise channel: notification URLs (Slack, e-mail, webhooks, ...) kept out of the policy.

The policy names where the URLs are kept: a Prefect Secret block (`urls_secret`) or an
environment variable (`urls_env`), read when a notification is sent. The message is sent as
markdown: apprise renders it for each service (Slack's mrkdwn, and Block Kit with `?blocks=yes`
on a Slack URL; HTML e-mail; plain text where a service has nothing else).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from pydantic import Field

from retrain_core.policy.base import Strict
from retrain_core.policy.channels import Channel
from retrain_core.policy.notify import BlockName, EnvName

if TYPE_CHECKING:
    from retrain_core.notify import Notification

log = logging.getLogger(__name__)


class AppriseUrls(Strict):
    """Where the apprise URLs are kept (either or both)."""

    urls_secret: BlockName = Field(
        None, description="Prefect Secret block holding apprise URLs (one per line or a list)."
    )
    urls_env: EnvName = Field(
        None,
        description="Environment variable holding apprise URLs (comma or newline separated).",
    )


def split_urls(text: str) -> list[str]:
    """apprise URLs from a secret or variable: one per line, or separated by commas."""
    return [u.strip() for u in text.replace(",", "\n").splitlines() if u.strip()]


def resolve_urls(settings: AppriseUrls) -> list[str]:
    """The apprise URLs the policy points at (environment variable, then Prefect Secret block)."""
    urls: list[str] = []
    if settings.urls_env:
        urls += split_urls(os.environ.get(settings.urls_env, ""))
    if settings.urls_secret:
        from prefect.blocks.system import Secret

        value = Secret.load(settings.urls_secret).get()  # type: ignore[union-attr]
        urls += value if isinstance(value, list) else split_urls(str(value))
    return urls


def send(settings: AppriseUrls, notification: Notification) -> bool:
    """Post to every URL; True when apprise delivered it (nothing to send counts as delivered)."""
    urls = resolve_urls(settings)
    if not urls:
        return True
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            scheme = url.partition(":")[0][:20]  # never more: the rest may hold a password
            log.warning("apprise does not understand a notification URL (scheme %s)", scheme)
    return bool(
        sender.notify(
            title=notification.title,
            body=notification.markdown,
            body_format=apprise.NotifyFormat.MARKDOWN,
        )
    )


CHANNEL = Channel(
    key="apprise",
    model=AppriseUrls,
    send=send,
    order=10,
    example={"urls_env": "RETRAIN_NOTIFY_URLS"},
)
