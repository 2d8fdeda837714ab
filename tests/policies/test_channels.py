"""Every notification channel is one module: registered, its keys validate, are documented and
get the notification, without touching the `notify` model, the fan-out or the docs generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, ValidationError, create_model, model_validator

from retrain_core.notify import Notification, send
from retrain_core.policy import docs
from retrain_core.policy.base import Strict
from retrain_core.policy.channels import CHANNELS, Channel, register, registered
from retrain_core.policy.notify import DEFAULT_EVENTS, EVENTS, BlockName, Event, Notify

ROOT = Path(__file__).resolve().parents[2]
NOTE = Notification(Event.PROMOTED, "churn", ("roc_auc up",), "3", "promote")


class Inbox(Strict):
    """A list in memory, named by the policy; `loud` and `quiet` exclude each other."""

    inbox: BlockName = Field(None, description="Name of the inbox to drop notifications in.")
    loud: bool | None = Field(None, description="Shout.")

    @model_validator(mode="after")
    def _not_quiet_and_loud(self) -> Inbox:
        if self.loud is False and self.inbox == "quiet":
            raise ValueError("a quiet inbox is never loud: drop loud")
        return self


INBOXES: dict[str, list[Notification]] = {}


def drop(settings: Inbox, notification: Notification) -> bool:
    INBOXES.setdefault(str(settings.inbox), []).append(notification)
    return True


def broken(settings: Any, notification: Notification) -> bool:
    raise ConnectionError("the service is down")


TOY = Channel(key="inbox", model=Inbox, send=drop, order=5)


@pytest.fixture
def toy() -> Any:
    INBOXES.clear()
    with registered(TOY) as channel:
        yield channel


def test_the_built_in_channels_are_found_in_order() -> None:
    assert list(CHANNELS) == ["apprise", "prefect_block"]
    assert list(Notify.model_fields) == ["on", "urls_secret", "urls_env", "block"]


@pytest.mark.parametrize("key", list(CHANNELS))
def test_every_channel_is_documented_and_takes_names_not_urls(key: str) -> None:
    schema = docs.policy_schema()["$defs"]["Notify"]["properties"]
    readme = docs.render_readme([])
    for field in CHANNELS[key].keys:
        assert schema[field]["description"] and f"| `{field}` |" in readme
        with pytest.raises(ValidationError, match="notify URL written inline"):
            Notify(**{field: "https://hooks.example.com/x"})
        assert CHANNELS[key].settings(Notify()) is None  # nothing set: not used


def test_the_events_are_written_once() -> None:
    assert tuple(Event) == EVENTS and set(DEFAULT_EVENTS) == set(EVENTS) - {"retrained"}
    assert Notify().on == list(DEFAULT_EVENTS)
    on = docs.policy_schema()["$defs"]["Notify"]["properties"]["on"]
    assert on["items"]["enum"] == list(EVENTS)


def test_a_toy_channel_validates_and_gets_the_notification(toy: Channel) -> None:
    notify = Notify.model_validate({"on": ["promoted"], "inbox": "team"})
    assert [channel.key for channel, _ in notify.channels()] == ["inbox"]
    assert send(notify, NOTE) and INBOXES == {"team": [NOTE]}
    assert send(notify, Notification(Event.FAILED, "churn", ("boom",)))  # not listened to
    assert INBOXES == {"team": [NOTE]}
    with pytest.raises(ValidationError, match="a quiet inbox is never loud"):
        Notify.model_validate({"inbox": "quiet", "loud": False})  # the channel's own check


def test_a_toy_channel_is_documented_and_leaves_no_trace() -> None:
    committed = (ROOT / "policies" / docs.SCHEMA_FILE).read_text(encoding="utf-8")
    with registered(TOY):
        schema = docs.policy_schema()["$defs"]["Notify"]["properties"]
        assert list(schema) == ["on", "inbox", "loud", "urls_secret", "urls_env", "block"]
        assert "| `inbox` |" in docs.render_readme([])
        assert docs.schema_json() != committed
    assert docs.schema_json() == committed
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Notify.model_validate({"inbox": "team"})


def test_a_failing_channel_is_reported_and_the_others_still_send(toy: Channel) -> None:
    class Down(Strict):
        down: bool | None = Field(None, description="Use the broken service.")

    with registered(Channel(key="down", model=Down, send=broken, order=1)):
        notify = Notify.model_validate({"inbox": "team", "down": True})
        assert send(notify, NOTE) is False
    assert INBOXES == {"team": [NOTE]}


@pytest.mark.parametrize("key", ["on", "urls_env", "channels"])
def test_a_channel_cannot_take_a_key_the_section_uses(key: str) -> None:
    clash = create_model("Clash", __base__=Strict, **{key: (str | None, None)})
    with pytest.raises(ValueError, match=f"cannot own the key {key}"):
        register(Channel(key="clash", model=clash, send=drop))
    assert "clash" not in CHANNELS
    assert list(Notify.model_fields) == ["on", "urls_secret", "urls_env", "block"]
