"""The demo stream is reproducible and tells the story the timeline reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retrain_core.cli import main as cli
from retrain_core.cli.demo import DayRow, _row, closing, reasons, timeline
from retrain_core.data.demo import Story, rng_day, write_day, write_reference


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    story = Story(rows_per_day=200, reference_rows=300)
    for folder in (tmp_path / "a", tmp_path / "b"):
        write_reference(folder, story)
        for day in (1, 2):
            write_day(folder, story, day)
    for name in ("reference.parquet", "batches/day-02.parquet", "labels/day-01.parquet"):
        a = pd.read_parquet(tmp_path / "a" / "data" / "churn" / name)
        b = pd.read_parquet(tmp_path / "b" / "data" / "churn" / name)
        pd.testing.assert_frame_equal(a, b)
    assert not (tmp_path / "a" / "data" / "churn" / "labels" / "day-02.parquet").exists()


def test_phases_move_the_inputs_and_then_the_concept() -> None:
    story = Story()
    assert [story.phase(d) for d in (4, 5, 6, 7, 9)] == [
        "clean",
        "shift",
        "shift",
        "clean",
        "concept",
    ]
    clean, shifted, concept = rng_day(story, 3), rng_day(story, 5), rng_day(story, 10)
    assert shifted["monthly_charges"].mean() > clean["monthly_charges"].mean() + 15
    assert abs(concept["monthly_charges"].mean() - clean["monthly_charges"].mean()) < 3
    by_payment = concept.groupby("payment_method")["churned"].mean()
    assert by_payment["electronic-check"] > 2 * by_payment["credit-card"]


def test_a_timeline_row_summarises_a_monitor_run() -> None:
    summary = {
        "verdict": "retrain",
        "rows": 1500,
        "reasons": ["drift.share: 2 of 6 features drifted"],
        "outcomes": [
            {"check": "quality.expect_column_values_to_not_be_null.tenure", "status": "pass",
             "observed": None},
            {"check": "drift.ks.tenure", "status": "fail", "observed": 0.3},
            {"check": "drift.ks.contract", "status": "pass", "observed": 0.01},
            {"check": "drift.share", "status": "fail", "observed": 0.5},
            {"check": "estimated_performance.accuracy", "status": "fail", "observed": 0.7612},
        ],
        "training": {"status": "promoted", "version": "2", "reasons": ["roc_auc 0.8 >= min 0.7"]},
    }  # fmt: skip
    row = _row(5, "shift", summary, "v2", "0.700")
    assert row == DayRow(
        day=5, phase="shift", rows=1500, quality="1/1 ok", drifted="tenure", measured="-",
        estimated="0.761!", decision="retrain -> promoted v2",
        reasons="drift.share: 2 of 6 features drifted; promoted: roc_auc 0.8 >= min 0.7",
        version="v2", champion_accuracy="0.700",
    )  # fmt: skip
    assert timeline([row]).row_count == 1
    assert reasons([row]).splitlines()[1].startswith("  day  5: drift.share")


def test_a_rejected_challenger_is_named_in_the_timeline() -> None:
    summary = {
        "verdict": "retrain", "rows": 10, "reasons": ["performance.accuracy fell"], "outcomes": [],
        "training": {"status": "rejected", "version": "3", "reasons": ["no better"]},
    }  # fmt: skip
    assert _row(9, "concept", summary, "v2", "0.6").decision == "retrain -> rejected v3"


def test_look_closer_gives_commands_not_reprs(tmp_path: Path) -> None:
    text = closing(tmp_path, "sqlite:///x/mlflow.db")
    assert "artifact inspect" not in text
    assert "MLFLOW_TRACKING_URI=sqlite:///x/mlflow.db .venv/bin/retrain status" in text
    assert "prefect server start --host 127.0.0.1" in text
    assert "over the checks" not in text  # no trend run: no chart link
    chart = "http://127.0.0.1:5000/#/metric?runs=%5B%22abc%22%5D"
    assert f"over the checks:\n    {chart}\n" in closing(tmp_path, "sqlite:///x/mlflow.db", chart)


def test_sample_data_writes_what_the_shipped_policies_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sample-data", "--dir", str(tmp_path), "--days", "5"]) == 0
    out = capsys.readouterr().out
    assert "day 1-4 clean, day 5 shift" in out
    churn, houses = tmp_path / "data" / "churn", tmp_path / "data" / "house-prices"
    assert (churn / "reference.parquet").is_file()
    assert sorted(p.name for p in (churn / "batches").iterdir())[-1] == "day-05.parquet"
    assert sorted(p.name for p in (churn / "labels").iterdir())[-1] == "day-04.parquet"
    weekly = sorted((houses / "weekly").glob("*.csv"))
    assert (houses / "reference.csv").is_file() and len(weekly) == 4
    frame = pd.read_csv(weekly[-1], parse_dates=["sold_at"])
    expected = {"sold_at", "living_area", "lot_area", "bedrooms", "year_built", "neighborhood"}
    assert expected | {"price"} == set(frame.columns)
