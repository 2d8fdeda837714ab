"""`retrain backtest` on the demo stream's layout: trace, summary, JSON and plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain_core.cli.main import main
from retrain_core.data.demo import Story, write_day, write_reference

ROOT = Path(__file__).resolve().parents[2]


def test_backtest_replays_the_policy_sources_beside_the_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = Story(days=7, rows_per_day=400, reference_rows=1500, shift_from=4, shift_until=5)
    write_reference(tmp_path, story)
    for day in range(1, story.days + 2):
        write_day(tmp_path, story, day)
    out = tmp_path / "out"
    code = main([
        "-C", str(ROOT), "backtest", str(ROOT / "policies" / "churn.yaml"), "--data",
        str(tmp_path), "--from", "2026-01-02T23:00", "--to", "2026-01-08T23:00",
        "--out", str(out), "--ceiling",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    ceiling = json.loads((out / "backtest.json").read_text())["ceiling"]
    policy_mean = json.loads((out / "backtest.json").read_text())["summary"][0]["mean"]
    assert "\nbest possible" in printed and len(ceiling["at"]) <= ceiling["retrains"]
    assert ceiling["mean"] >= policy_mean - 1e-9  # the policy's own schedule is among its
    assert "trace of policy (accuracy of the serving model, as it arrived):" in printed
    assert printed.count("2026-01-0") >= 7
    for strategy in ("policy", "never", "every 5", "naive drop", "persistence"):
        assert f"\n{strategy}" in printed
    data = json.loads((out / "backtest.json").read_text())
    assert data["label_lag_seconds"] == 86400  # the policy's data.labels.lag
    assert [s["strategy"] for s in data["summary"]] == ["policy", "never", "every 5", "naive drop"]
    trace = data["traces"]["policy"]
    assert len(trace) == 7 and all(step["metric"] is not None for step in trace)
    assert (out / "backtest.png").stat().st_size > 1000


def test_backtest_says_clearly_when_the_data_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-C", str(ROOT), "backtest", str(ROOT / "policies" / "churn.yaml"),
                 "--data", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "retrain backtest: error:" in capsys.readouterr().err
