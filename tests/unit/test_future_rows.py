"""Time stays sane: rows stamped after the check's time (plus data.future_tolerance) are set aside.

A batch holding one is quarantined with its reason; a source of rows (one dated file, a query)
leaves them out of the window until their time comes, so its watermark stays in the present;
training never learns from a row stamped after the check that trains.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from _data import churn_frame, churn_policy

from retrain_core.data.batches import future_rows
from retrain_core.data.problems import batch_rules
from retrain_core.data.windows import load_window
from retrain_core.monitor.training_data import training_data
from retrain_core.monitor.windows import load_windows

NOW = datetime(2026, 1, 20, tzinfo=UTC)  # churn_frame(400) runs from Jan 1 to Jan 17


def _future(frame: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.index[:rows], "event_time"] = pd.Timestamp("2095-01-01", tz="UTC")
    return frame


def test_future_rows_names_how_many_and_how_late() -> None:
    frame = _future(churn_frame(40))
    assert future_rows(frame, "event_time", None) is None
    assert future_rows(churn_frame(40), "event_time", NOW) is None
    reason = future_rows(frame, "event_time", NOW)
    assert reason is not None and reason.startswith("3 of 40 rows are stamped in the future")
    assert "2095-01-01" in reason and "then release the batch" in reason


def test_a_batch_with_future_rows_is_quarantined_and_the_others_judged(tmp_path: Path) -> None:
    policy = churn_policy()
    churn_frame(100, seed=1).to_parquet(tmp_path / "ref.parquet")
    (tmp_path / "cur").mkdir()
    churn_frame(50, seed=2).to_parquet(tmp_path / "cur" / "a.parquet")
    _future(churn_frame(50, seed=3), rows=1).to_parquet(tmp_path / "cur" / "b.parquet")
    loaded = load_windows(policy, tmp_path, {}, now=NOW)
    (held,) = loaded.quarantined
    assert held.key == "b.parquet" and "1 of 50 rows are stamped in the future" in held.reason
    assert len(loaded.windows.current) == 50
    assert loaded.windows.newest is not None and loaded.windows.newest <= NOW
    # Within the tolerance (1d by default) a row is not in the future: clocks differ.
    assert (
        load_windows(policy, tmp_path, {}, now=datetime(2095, 1, 1, tzinfo=UTC)).quarantined == ()
    )


def test_a_source_of_rows_leaves_future_rows_out_and_its_watermark_in_the_present(
    tmp_path: Path,
) -> None:
    policy = churn_policy()
    _future(churn_frame(60)).to_parquet(tmp_path / "rows.parquet")
    source = policy.data.current.model_copy(update={"path": "rows.parquet"})
    rules = batch_rules(policy, "current", None, None, NOW)
    window = load_window(source, None, tmp_path, "event_time", None, (), rules)
    assert window.rows == 57 and window.future == 3
    assert window.watermark is not None and window.watermark.timestamp is not None
    assert window.watermark.timestamp <= NOW + timedelta(days=1)


def test_training_never_learns_from_rows_after_the_check(tmp_path: Path) -> None:
    policy = churn_policy()
    _future(churn_frame(80)).to_parquet(tmp_path / "ref.parquet")
    data = training_data(policy, tmp_path, now=NOW)
    assert len(data.frame) == 77 and data.frame["event_time"].max() <= NOW
    assert len(training_data(policy, tmp_path).frame) == 80
