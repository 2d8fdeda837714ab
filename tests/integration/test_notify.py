"""Notifications reach a real HTTP endpoint on 127.0.0.1 through apprise's json:// scheme, and
through a channel registered at run time by a package outside the project."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_endpoint import serving
from pydantic import Field

from retrain_core.base.settings import Settings
from retrain_core.notify import Notification, send
from retrain_core.notify.apprise_urls import split_urls
from retrain_core.policy.base import Strict
from retrain_core.policy.channels import Channel, registered
from retrain_core.policy.loader import load_policies
from retrain_core.policy.notify import EnvName, Event, Notify


@pytest.fixture()
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with serving() as server:
        yield server.url, server.received


NOTE = Notification(
    event=Event.PROMOTED,
    model="churn",
    version="3",
    decision="promote",
    reasons=("roc_auc 0.842 vs champion 0.811: +0.031 >= 0.0",),
    links={"MLflow run": "http://mlflow/runs/abc"},
)


def test_message_reaches_the_endpoint(
    endpoint: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = endpoint
    monkeypatch.setenv("TEAM_URLS", url)
    assert send(Notify(on=["promoted"], urls_env="TEAM_URLS"), NOTE)
    assert len(received) == 1
    message = received[0]
    assert message["title"] == "[retrain] churn v3: promoted"
    body = str(message["message"])
    assert body.startswith("**Model churn** version 3\n")  # markdown, rendered per service
    assert "- roc_auc 0.842 vs champion 0.811: +0.031 >= 0.0" in body
    assert "[MLflow run](http://mlflow/runs/abc)" in body


def test_events_not_listed_are_not_sent(
    endpoint: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = endpoint
    monkeypatch.setenv("TEAM_URLS", url)
    assert send(Notify(on=["failed"], urls_env="TEAM_URLS"), NOTE)
    assert received == []


def test_an_unreachable_target_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_URLS", "json://127.0.0.1:1/")
    assert send(Notify(on=["promoted"], urls_env="TEAM_URLS"), NOTE) is False


def test_split_urls_accepts_lines_and_commas() -> None:
    assert split_urls("json://a/, json://b/\n json://c/\n") == [
        "json://a/",
        "json://b/",
        "json://c/",
    ]


class FakeBlock:
    """A Prefect notification block that keeps what it was asked to send."""

    sent: list[tuple[str, str, str | None]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def load(cls, name: str) -> FakeBlock:
        return cls(name)

    def notify(self, body: str, subject: str | None = None) -> None:
        self.sent.append((self.name, body, subject))


def test_a_prefect_block_gets_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.notifications import NotificationBlock

    monkeypatch.setattr(NotificationBlock, "load", FakeBlock.load)
    monkeypatch.setattr(FakeBlock, "sent", [])
    assert send(Notify(on=["promoted"], block="team-slack"), NOTE)
    assert FakeBlock.sent == [("team-slack", NOTE.body, "[retrain] churn v3: promoted")]


# A channel from outside the project: it posts JSON to a webhook named by an environment variable.
class Webhook(Strict):
    """A webhook that takes JSON."""

    webhook_env: EnvName = Field(None, description="Environment variable holding the webhook.")


def post(settings: Webhook, notification: Notification) -> bool:
    url = os.environ[str(settings.webhook_env)].replace("json://", "http://")
    data = json.dumps({"title": notification.title, "message": notification.body}).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return bool(response.status == 200)


WEBHOOK = Channel(key="webhook", model=Webhook, send=post)

POLICY = """\
version: 1
name: churn
model:
  task: classification
  target: churned
  features: {numeric: [tenure]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  reference: {path: data/reference.parquet}
  current: {path: "data/batches/*.parquet"}
schedule: {interval: 1h}
triggers:
  any:
    - max_age: 30d
gate: {metric: roc_auc}
notify: {on: [promoted, failed], webhook_env: WEBHOOK}
"""


def test_a_channel_registered_at_run_time_receives_what_its_policy_asks_for(
    endpoint: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, received = endpoint
    monkeypatch.setenv("WEBHOOK", url)
    path = tmp_path / "churn.yaml"
    path.write_text(POLICY, encoding="utf-8")
    with registered(WEBHOOK):
        loaded, errors = load_policies([path], Settings(root=tmp_path))
        assert errors == []
        notify = loaded[0].policy.notify
        assert send(notify, NOTE)
        assert send(notify, Notification(Event.RETRAINED, "churn", ("drift",)))  # not listened to
    assert [message["title"] for message in received] == ["[retrain] churn v3: promoted"]
    assert "- roc_auc 0.842 vs champion 0.811: +0.031 >= 0.0" in received[0]["message"]
    _, errors = load_policies([path], Settings(root=tmp_path))
    assert [str(error).replace(f"{tmp_path}/", "") for error in errors] == [
        "churn.yaml:16 notify.webhook_env: unknown key 'webhook_env' (expected one of: on, "
        "urls_secret, urls_env, block)"
    ]  # gone with its channel
