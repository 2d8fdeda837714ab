"""A class the champion never saw is a signal, not corrupt data: judged, shown, told, learned.

Real components throughout: the session's Prefect API, a fresh MLflow store, the demo stream and
a local endpoint receiving the apprise posts (the only stand-in, for the outside service). From
day 1 on, customers who called support three times or more are labelled `2` ("escalated"), a class
the first champion never saw: nothing is set aside, the check records the new class and tells
people, the measured fall triggers a retrain, and the new champion predicts the class.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from conftest import Project
from notify_endpoint import serving
from test_monitor_support import at, champion, check, decision_artifact, fast, ledger

from retrain_core.cli import main as cli
from retrain_core.data.demo import rng_day
from retrain_core.store import Store

URLS_ENV = "RETRAIN_TEST_NOTIFY_URLS"
ESCALATED = 2


def escalated(frame: pd.DataFrame) -> pd.DataFrame:
    """The day's rows with the new class for the customers who called support 3 times or more."""
    calls = frame["support_calls"] >= 3
    return frame.assign(churned=frame["churned"].where(~calls, ESCALATED))


def land_day(project: Project, day: int) -> None:
    """Day `day`'s batch and the previous day's labels, those with the new class."""
    project.write_day(day)
    labels = escalated(rng_day(project.story, day - 1))[["customer_id", "churned"]]
    labels.to_parquet(project.root / "data" / "churn" / "labels" / f"day-{day - 1:02d}.parquet")


def test_a_new_class_is_recorded_told_and_learned_never_quarantined(
    project: Project,
    tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    performance = {"metric": "accuracy", "drop": 0.05, "confidence": 0.99}
    fast(project, any=[{"performance": performance}], cooldown="1h")
    name, store = project.name, Store(tracking_uri)
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"
    assert champion(tracking_uri, name) == "1"
    assert store.registry.load_model(name, "1").classes_.tolist() == [0, 1]

    with serving() as endpoint:
        monkeypatch.setenv(URLS_ENV, endpoint.url)
        project.edit(notify={"on": ["new_class", "blocked", "promoted"], "urls_env": URLS_ENV})
        land_day(project, 2)
        result = check(project, at(2))
        sent = endpoint.messages("new_class")

    new_rows = int((escalated(rng_day(project.story, 1))["churned"] == ESCALATED).sum())
    assert new_rows > 50
    assert result["verdict"] == "retrain", result["reasons"]
    assert store.ledger.quarantined(name) == {}  # nothing is set aside
    (finding,) = [o for o in result["outcomes"] if o["check"] == "data.new_class.2"]
    assert finding["status"] == "fail" and finding["observed"] == new_rows
    sentence = finding["reason"]
    assert sentence.startswith(f"new class '2' in 'churned': {new_rows} of 800 labelled rows")
    assert "the champion (v1) never saw" in sentence
    assert sentence in result["reasons"]  # shown with the decision ...
    run = ledger(tracking_uri, name)[-1]  # ... recorded in the ledger ...
    assert run.data.metrics["data.new_class.2"] == new_rows
    assert sentence in run.data.tags["retrain.reasons"]
    assert sentence in decision_artifact(name).data  # ... in the Prefect artifact ...
    (message,) = sent  # ... and told
    assert sentence in message["message"]

    # The measured fall retrained; the new champion learned the class from its training window.
    training: dict[str, Any] = result["training"]
    assert training["status"] == "promoted", training
    assert champion(tracking_uri, name) == "2"
    capsys.readouterr()
    assert cli.main(["explain", name, "2"]) == 0  # why v2 exists names the new class
    assert f"- {sentence}" in capsys.readouterr().out
    model = store.registry.load_model(name, "2")
    assert model.classes_.tolist() == [0, 1, ESCALATED]
    today = escalated(rng_day(project.story, 2))
    predicted = model.predict(today.drop(columns=["churned"]))
    hits = (predicted == ESCALATED) & (today["churned"] == ESCALATED).to_numpy()
    assert hits.sum() > 0.5 * (today["churned"] == ESCALATED).sum()

    # The class is known now: the next check does not report it again, and nothing blocks.
    land_day(project, 3)
    after = check(project, at(3))
    assert after["verdict"] != "blocked", after["reasons"]
    assert not [o for o in after["outcomes"] if o["check"].startswith("data.new_class")]
    performance_outcome = next(o for o in after["outcomes"] if o["check"].startswith("perf"))
    assert performance_outcome["status"] != "error", performance_outcome
