"""The Prefect block channel: a notification block (Slack, Teams, e-mail, ...) set up in Prefect.

The policy names the block (`block`); its credentials stay in Prefect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from retrain_core.policy.base import Strict
from retrain_core.policy.channels import Channel
from retrain_core.policy.notify import BlockName

if TYPE_CHECKING:
    from retrain_core.notify import Notification


class PrefectBlock(Strict):
    """Which Prefect notification block to send through."""

    block: BlockName = Field(None, description="Name of a Prefect notification block to use.")


def send(settings: PrefectBlock, notification: Notification) -> bool:
    """Send through the named block (loaded from the Prefect API at each send)."""
    from prefect.blocks.notifications import NotificationBlock

    block = NotificationBlock.load(str(settings.block))
    block.notify(notification.body, subject=notification.title)  # type: ignore[union-attr]
    return True


CHANNEL = Channel(
    key="prefect_block", model=PrefectBlock, send=send, order=20, example={"block": "ops-slack"}
)
