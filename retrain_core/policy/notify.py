"""The `notify` section: which events people hear about, and through which channels.

The events are written here once (`Event`); the schema, the flows that send them and the tests
read them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from retrain_core.policy.base import Strict
from retrain_core.policy.locations import BLOCK_PATTERN, ENV_PATTERN


class Event(StrEnum):
    """What happened to a model, in the order a retrain meets them."""

    RETRAINED = "retrained"  # a challenger was trained and registered
    PROMOTED = "promoted"  # it took the alias
    REJECTED = "rejected"  # the gate, a reviewer or the approval deadline turned it down
    FAILED = "failed"  # a check or a training failed
    BLOCKED = "blocked"  # the data failed its checks, or the policy changed under a training
    ROLLED_BACK = "rolled_back"  # probation gave the alias back to the previous champion


EVENTS = tuple(event.value for event in Event)
# Every event but `retrained`: a retrain is always followed by one of the others.
DEFAULT_EVENTS = tuple(event.value for event in Event if event is not Event.RETRAINED)

if TYPE_CHECKING:  # the checker sees a name; pydantic sees the value set above
    NotifyEvent = str
else:
    NotifyEvent = Literal[EVENTS]


def _a_name(value: Any) -> Any:
    """Refuse a URL where the name of the place holding it goes: URLs never live in a policy."""
    if isinstance(value, str) and (":" in value or "@" in value):
        raise ValueError(
            "notify URL written inline: store it in a Prefect Secret block or an "
            "environment variable and name that here"
        )
    return value


# Types of channel settings that name where a secret lives (checked before the pattern).
EnvName = Annotated[Annotated[str, Field(pattern=ENV_PATTERN)] | None, BeforeValidator(_a_name)]
BlockName = Annotated[Annotated[str, Field(pattern=BLOCK_PATTERN)] | None, BeforeValidator(_a_name)]


def _default_events() -> list[NotifyEvent]:
    return list(DEFAULT_EVENTS)


class Notify(Strict):
    """Who hears about what. URLs live in a secret, never in the policy."""

    on: list[NotifyEvent] = Field(
        default_factory=_default_events,
        description=f"Events: {', '.join(EVENTS)}.",
    )
    urls_secret: BlockName = Field(
        None, description="Prefect Secret block holding apprise URLs (one per line or a list)."
    )
    urls_env: EnvName = Field(
        None,
        description="Environment variable holding apprise URLs (comma or newline separated).",
    )
    block: BlockName = Field(None, description="Name of a Prefect notification block to use.")
