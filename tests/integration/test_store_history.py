"""The report's reader and the trend run on a real SQLite store written by the ledger.

`History.read` gives each check with its outcomes (status, threshold, reason from
`decision.json`), its rows and training, the versions (promoted, rejected, rolled back) and the
quarantine; `Trend` logs each check at the next step with the check's moment, and takes the
ledger's earlier checks when it is made after them (a policy that ran before the upgrade);
`Trend.page` links the MLflow UI's metric page of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.data.batches import Quarantined
from retrain_core.decide.records import RetrainDecision
from retrain_core.store import Store
from retrain_core.store.tags import KIND, TREND, TREND_STEPS
from retrain_core.store.trend import trend_key

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 10, 23, tzinfo=UTC)
NAME = "history"


def decision(day: int, accuracy: float, retrain: bool = False) -> RetrainDecision:
    outcomes = (
        CheckOutcome("performance.accuracy", Status.FAIL if retrain else Status.PASS,
                     f"accuracy on day {day}", accuracy, 0.7),
        CheckOutcome("drift.ks.tenure", Status.PASS, "p=0.4", 0.03, 0.1),
        CheckOutcome("estimated_performance.accuracy", Status.PASS, "est", float("nan"), 0.7),
    )  # fmt: skip
    reasons = (f"accuracy fell on day {day}",) if retrain else ("no trigger fired",)
    return RetrainDecision(retrain, reasons, outcomes, decided_at=NOW + timedelta(days=day))


def test_history_reads_every_check_with_its_outcomes_versions_and_quarantine(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path}/mlflow.db")
    held = [Quarantined("current", "day-02.parquet", "b/day-02.parquet", "nulls in tenure")]
    runs = [
        store.ledger.record(NAME, decision(day, 0.8 - 0.1 * (day == 1), day == 1), {}, 100 + day,
                            quarantined=held if day == 2 else ())
        for day in range(3)
    ]  # fmt: skip
    store.ledger.record_training(runs[1], "promoted")
    run = store.client.create_run(store.experiment_id(NAME))
    store.client.create_registered_model(NAME)
    for version in ("1", "2", "3"):
        store.client.create_model_version(NAME, f"file:///nowhere/{version}", run.info.run_id)
    store.registry.promote(NAME, "1", now=NOW)
    store.registry.promote(NAME, "2", now=NOW + timedelta(days=1))
    store.registry.tag_rejected(NAME, "3", ["worse"], now=NOW + timedelta(days=2))
    store.registry.rollback(NAME, "champion", "previous", ["by hand"], now=NOW + timedelta(days=2))
    store.ledger.record_rollback(NAME, "2", "1", now=NOW + timedelta(days=2), trigger="probation",
                                 reasons=["served worse"])  # fmt: skip

    history = store.history.read(NAME)
    assert [c.checked_at for c in history.checks] == [NOW + timedelta(days=d) for d in range(3)]
    assert [c.rows for c in history.checks] == [100, 101, 102]
    second = history.checks[1]
    assert second.verdict == "retrain" and second.training == "promoted"
    assert second.reasons == ("accuracy fell on day 1",)
    accuracy = second.signal("performance.accuracy")
    assert accuracy is not None and accuracy.status is Status.FAIL
    assert accuracy.threshold == 0.7 and accuracy.reason == "accuracy on day 1"
    events = sorted((e.version, e.event) for e in history.versions)
    assert events == [("1", "promoted"), ("1", "rolled back"), ("2", "promoted"), ("3", "rejected")]
    rolled = next(e for e in history.versions if e.event == "rolled back")
    assert "from v2" in rolled.reason and "served worse" in rolled.reason
    assert [(h.key, h.reason) for h in history.held] == [("day-02.parquet", "nulls in tenure")]
    assert store.history.read("no-such-policy").checks == ()

    store.history.log_report(runs[2], "<html>report</html>")
    url = store.history.report_url(runs[2])
    assert url.startswith("file://") and url.endswith("/report.html")
    assert Path(url[len("file://") :]).read_text() == "<html>report</html>"
    store.tracking_uri = "https://ops:s3cret@mlflow.example.com/"  # a server: its UI's page
    url = store.history.report_url(runs[2])  # (the client made above still reads the runs)
    assert url.startswith("https://ops:***@mlflow.example.com/#/experiments/")
    assert url.endswith(f"/runs/{runs[2]}/artifactPath/report.html") and "s3cret" not in url


def test_the_trend_run_takes_earlier_checks_then_one_step_per_check(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/mlflow.db")
    for day in range(3):  # before the upgrade: checks without a trend run
        store.ledger.record(NAME, decision(day, 0.8), {}, 100)
    later = decision(3, 0.6, retrain=True)
    store.ledger.record(NAME, later, {}, 100)
    run_id, step = store.trend.log(NAME, later, 100)
    assert step == 3
    _, next_step = store.trend.log(NAME, decision(4, 0.75), 90)
    assert next_step == 4

    client = store.client
    history = client.get_metric_history(run_id, trend_key("performance.accuracy"))
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert [m.timestamp for m in history] == [
        int((NOW + timedelta(days=d)).timestamp() * 1000) for d in range(5)
    ]
    assert [m.value for m in history][3:] == [0.6, 0.75]
    thresholds = client.get_metric_history(run_id, "performance/accuracy.threshold")
    assert [m.step for m in thresholds] == [3, 4]  # earlier checks' thresholds are not metrics
    assert [m.step for m in client.get_metric_history(run_id, "rows")] == [0, 1, 2, 3, 4]
    assert not client.get_metric_history(run_id, "estimated_performance/accuracy")  # NaN: none
    run = client.get_run(run_id)
    assert run.data.tags[KIND] == TREND and run.data.tags[TREND_STEPS] == "5"
    assert run.info.status == "FINISHED"
    assert len(store.ledger.history(NAME)) == 4  # the trend run is not a check

    # the link to MLflow's chart of it: the metric page of the trend run, on `mlflow ui`
    experiment = store.experiment_id(NAME)
    keys = "%5B%22performance%2Faccuracy%22%2C%22performance%2Faccuracy.threshold%22%5D"
    assert store.trend.page(NAME) == (
        f"http://127.0.0.1:5000/#/metric?runs=%5B%22{run_id}%22%5D&metric=%22performance"
        f"%2Faccuracy%22&experiments=%5B%22{experiment}%22%5D&plot_metric_keys={keys}&plot_layout"
        "=%7B%7D&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=true"
        "&deselected_curves=%5B%5D&last_linear_y_axis_range=%5B%5D"
    )
    assert store.trend.page("unknown") is None
