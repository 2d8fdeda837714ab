"""The `notify` section: which events people hear about, and through which channels.

The events are written here once (`Event`); the schema, the flows that send them and the tests
read them. The channels' keys are not written here: `Notify` has the fields of every registered
channel's settings (`retrain_core.policy.channels`), in the registry's order, and takes up a
channel registered later at once.
"""

from __future__ import annotations

from copy import copy
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator
from pydantic.fields import FieldInfo

from retrain_core.policy.base import Strict
from retrain_core.policy.channels import CHANNELS, Channel, on_change
from retrain_core.policy.locations import BLOCK_PATTERN, ENV_PATTERN


class Event(StrEnum):
    """What happened to a model, in the order a retrain meets them."""

    RETRAINED = "retrained"  # a challenger was trained and registered
    STAGED = "staged"  # it entered a rollout stage (shadow, canary) before the alias
    PROMOTED = "promoted"  # it took the alias
    REJECTED = "rejected"  # the gate, a reviewer or the approval deadline turned it down
    FAILED = "failed"  # a check or a training failed
    BLOCKED = "blocked"  # the data failed its checks, or the policy changed under a training
    ROLLED_BACK = "rolled_back"  # probation gave the alias back to the previous champion
    NEW_CLASS = "new_class"  # labels hold a class the champion never saw (a finding, not a block)


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
    # Then the keys of every registered channel (`policy.channels`), set by `sync_channels`.

    @model_validator(mode="after")
    def _channel_settings(self) -> Notify:
        self.channels()  # runs each configured channel's own checks across its keys
        return self

    def channels(self) -> list[tuple[Channel, BaseModel]]:
        """The channels this section sets keys of, with their settings, by their `order`."""
        found = ((channel, channel.settings(self)) for channel in in_order())
        return [(channel, settings) for channel, settings in found if settings is not None]


def in_order() -> list[Channel]:
    """The registered channels by `order` (the registry keeps them so)."""
    return list(CHANNELS.values())


def sync_channels() -> None:
    """Give `Notify` the fields of every registered channel's settings, then rebuild the models
    using it."""
    fields: dict[str, FieldInfo] = {"on": Notify.__pydantic_fields__["on"]}
    for channel in in_order():
        for key, info in channel.model.model_fields.items():
            if key in fields or not key.isidentifier() or hasattr(Notify, key):
                raise ValueError(f"notification channel {channel.key!r} cannot own the key {key}")
            fields[key] = copy(info)
    Notify.__pydantic_fields__.clear()
    Notify.__pydantic_fields__.update(fields)
    Notify.model_rebuild(force=True)
    for listener in REBUILD_WITH_NOTIFY:
        listener()


# Rebuilds of the models that hold a `Notify` (`policy.schema.Policy` adds its own).
REBUILD_WITH_NOTIFY: list[Any] = []


sync_channels()
on_change(sync_channels)
