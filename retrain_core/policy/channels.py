"""The registry of notification channels: where a notification can go, one entry per channel.

A channel declares the pydantic model of its settings, whose fields become keys of the policy's
`notify` section (flat: `urls_env`, `block`), and the function that delivers one notification
with them. The `notify` policy model (`policy.notify.Notify`), the generated schema and docs and
the fan-out (`retrain_core.notify`) all read this registry.

Entries are found, not listed: every module of `retrain_core.notify` that defines `CHANNEL`, then
every entry point of the group `retrain.channels` (an outside package), in the order of
`Channel.order`. Adding a channel is one module (see `retrain_core.notify.prefect_block` for the
smallest one); `register` adds one at run time (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from retrain_core.base.plugins import Registry

# (the channel's settings, a `retrain_core.notify.Notification`) -> whether the target accepted it
Sender = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Channel:
    """One notification channel.

    `key` names it in logs and errors; `model` is the pydantic model of its settings: each of
    its fields is a key of the policy's `notify` section, None when unset. `send` delivers one
    notification and says whether the target accepted it; it may raise (the fan-out logs it and
    goes on). `order`: where its keys come in the docs and schema, and when it is tried.
    `example`: valid `notify` keys of this channel as a policy writes them (conformance suite).
    """

    key: str
    model: type[BaseModel]
    send: Sender
    order: int = 1000
    example: Any = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys this channel owns in the policy's `notify` section."""
        return tuple(self.model.model_fields)

    def settings(self, notify: BaseModel) -> BaseModel | None:
        """This channel's settings in a `notify` section, None when it sets none of its keys."""
        values = {key: getattr(notify, key) for key in self.keys}
        if all(value is None for value in values.values()):
            return None
        return self.model.model_validate(values)  # runs the channel's own cross-key checks


CHANNELS: Registry[Channel] = Registry(
    "notification channel", "retrain_core.notify", "CHANNEL", "retrain.channels"
)
on_change = CHANNELS.on_change
register = CHANNELS.register
unregister = CHANNELS.unregister
registered = CHANNELS.registered
