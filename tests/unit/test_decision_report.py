"""The decision as people read it: durations in days, whole reasons, links that work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.checks.freshness import check_max_age
from retrain_core.decide.records import RetrainDecision
from retrain_core.decide.report import check_rows, decision_markdown, human, state_name
from retrain_core.store.tracking import metric_page, run_page, ui_address
from retrain_core.store.trend import chart_keys

NOW = datetime(2026, 1, 5, 23, tzinfo=UTC)
LONG = "p=0.003 < 0.01 and D=0.21 >= 0.1 " * 10


def decision() -> RetrainDecision:
    outcomes = (
        check_max_age(None, NOW, timedelta(days=90)),
        CheckOutcome("drift.ks.tenure", Status.FAIL, LONG.strip(), 0.21, 0.1),
        CheckOutcome("drift.ks.charges", Status.PASS, "no change | none", 0.0123456, 0.1),
    )
    return RetrainDecision(True, ("no champion yet: training the first model",), outcomes,
                           window="day 5", decided_at=NOW)  # fmt: skip


def test_rows_show_durations_as_people_write_them_and_keep_the_whole_reason() -> None:
    rows = check_rows(decision().outcomes)
    assert [r["check"] for r in rows] == ["drift.ks.tenure", "max_age.champion", "drift.ks.charges"]
    assert rows[1] == {"check": "max_age.champion", "status": "fail", "observed": "",
                       "threshold": "90d", "reason": "no champion yet"}  # fmt: skip
    assert rows[0]["reason"] == LONG.strip() and rows[2]["observed"] == "0.01235"
    assert human(7_776_000.0, "s") == "90d" and human(93_780.0, "s") == "1d 2h"
    assert human(7_776_000.0) == "7.78e+06"  # a plain number stays a number


def test_markdown_links_a_tracking_server_and_names_a_local_store_in_words() -> None:
    served = run_page("http://mlflow:5000/", "3", "abc")
    assert served == "http://mlflow:5000/#/experiments/3/runs/abc"
    local = run_page("sqlite:////tmp/x/mlflow.db", "3", "abc")
    assert local == "run abc in sqlite:////tmp/x/mlflow.db"
    text = decision_markdown("churn", decision(), 800, {"MLflow run": served})
    assert "[MLflow run](http://mlflow:5000/#/experiments/3/runs/abc)" in text
    text = decision_markdown("churn", decision(), 800, {"MLflow run": local})
    assert "MLflow run: `run abc in sqlite:////tmp/x/mlflow.db`" in text and "](sqlite" not in text
    assert "| `max_age.champion` | **FAIL** |  | 90d | no champion yet |" in text
    assert LONG.strip() in text and "no change \\| none" in text and "e+06" not in text


def test_the_trend_chart_link_draws_the_model_metrics_and_the_drift_share_in_one_chart() -> None:
    keys = chart_keys(["rows", "drift/share", "drift/ks.tenure", "decision.retrain",
                       "estimated_performance/accuracy", "performance/accuracy.threshold",
                       "challenger_gain/accuracy", "performance/accuracy",
                       "estimated_performance/roc_auc.threshold"])  # fmt: skip
    assert keys == ["performance/accuracy", "performance/accuracy.threshold",
                    "estimated_performance/accuracy", "drift/share"]  # fmt: skip
    assert ui_address("https://u:secret@mlflow.example/") == "https://u:***@mlflow.example"
    assert ui_address("sqlite:////tmp/x/mlflow.db") == "http://127.0.0.1:5000"
    url = metric_page("http://mlflow:5000/", "3", "abc", keys[:1])
    assert url.startswith("http://mlflow:5000/#/metric?runs=%5B%22abc%22%5D&metric=%22perf")
    assert "&experiments=%5B%223%22%5D&plot_metric_keys=%5B%22performance%2Faccuracy%22%5D" in url
    assert " " not in url and ")" not in url  # one word in a terminal and in markdown


def test_each_verdict_names_the_check_s_final_state() -> None:
    names = [state_name(v) for v in ("hold", "retrain", "blocked", "pending", "suppressed")]
    assert names == ["Held", "Retrained", "Blocked", "Pending", "Suppressed"]
