"""Notifications reach a real HTTP endpoint on 127.0.0.1 through apprise's json:// scheme."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from notify_endpoint import serving

from retrain_core.notify import Notification, send
from retrain_core.notify.apprise_urls import split_urls
from retrain_core.policy.notify import Notify


@pytest.fixture()
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with serving() as server:
        yield server.url, server.received


NOTE = Notification(
    event="promoted",
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
    assert "Model churn version 3" in body
    assert "roc_auc 0.842 vs champion 0.811: +0.031 >= 0.0" in body
    assert "MLflow run: http://mlflow/runs/abc" in body


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
