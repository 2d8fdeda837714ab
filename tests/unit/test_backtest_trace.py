"""`retrain backtest`'s output about staged rollout: the trace shows what the staged challenger
did at each step, and the replay on rows (sources that are not files) says it has no stages."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from _data import churn_policy
from rich.console import Console

from retrain_core.cli import backtest
from retrain_core.replay import monitored
from retrain_core.replay.backtest import Replay
from retrain_core.replay.steps import Step

NOW = datetime(2026, 3, 8, tzinfo=UTC)
REASON = "shadow of v2: not worse by more than 0.01 at 95%: accuracy 0.84 vs champion 0.61"


def rendered(table: Any) -> str:
    console = Console(file=io.StringIO(), width=400)
    console.print(table)
    return str(console.file.getvalue())


def test_the_trace_shows_what_the_staged_challenger_did() -> None:
    steps = (
        Step(NOW, 800, 800, 0.8, "1", "retrain", ("perf",), ("dropped",), "staged", ("gate",)),
        Step(NOW + timedelta(days=1), 800, 800, 0.8, "1", "suppressed", (), ("held",),
             stage="canary", stage_reasons=(REASON,)),
        Step(NOW + timedelta(days=2), 800, 800, 0.8, "1", "hold", (), ("quiet",)),
    )  # fmt: skip
    text = rendered(backtest.trace_table(Replay("policy", "accuracy", steps)))
    assert "retrain -> staged" in text
    assert "staged challenger: canary" in text and REASON in text
    assert text.count("staged challenger:") == 1  # nothing for a step without one


def staged_policy() -> Any:
    policy = churn_policy()
    stages = [{"shadow": {"min_rows": 100}}]
    promotion = policy.promotion.model_validate({"stages": stages})
    return policy.model_copy(update={"promotion": promotion})


@pytest.mark.parametrize("stages", [True, False])
def test_the_replay_on_rows_says_it_does_not_replay_stages(
    stages: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def not_files(*_: Any, **__: Any) -> Any:
        raise monitored.NotReplayable("a sql source has no files to replay one by one")

    monkeypatch.setattr(monitored, "replay_monitor", not_files)
    loaded = SimpleNamespace(policy=staged_policy() if stages else churn_policy(), policy_hash="h")
    settings = SimpleNamespace(allowed_estimator_modules=())
    found = backtest._monitored(loaded, Path("."), None, [NOW], timedelta(0), "accuracy", settings)
    printed = capsys.readouterr().err
    assert found is None and "replayed on its rows" in printed
    assert (backtest.STAGES_NOT_REPLAYED in printed) == stages
