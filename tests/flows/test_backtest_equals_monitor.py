"""`retrain backtest` is what the monitor does: one stream replayed both ways, step by step.

Eight daily batches of the demo stream (labels a day late), a covariate shift on day 3, a concept
change from day 5, and on day 4 a second batch whose `tenure` is null (it fails the policy's
expectations: the check is blocked and the batch quarantined). The real monitor flow runs once a
day on Prefect's test harness with MLflow on SQLite, after one train-validate-promote run made the
first model; the backtest's replay (`replay_monitor`) runs over the same files afterwards. Every
step's verdict, fired rules, quarantined files and training outcome must be equal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
from conftest import Project
from test_monitor_support import check, fast, ledger

from retrain_core.data.demo import day_start, rng_day
from retrain_core.policy.loader import load_policy
from retrain_core.replay.backtest import load_history
from retrain_core.replay.monitored import replay_monitor
from retrain_core.store import Store

DAYS = 8
BAD_DAY = 4


def write_bad_batch(project: Project) -> None:
    """A second batch of day 4 with new customers and no `tenure` at all."""
    frame = rng_day(project.story, BAD_DAY).drop(columns=["churned"])
    frame = frame.assign(customer_id=frame["customer_id"] + 10_000_000, tenure=np.nan)
    frame.to_parquet(project.root / "data" / "churn" / "batches" / f"day-{BAD_DAY:02d}-b.parquet")


def test_backtest_steps_equal_the_monitor_flow(project: Project, tracking_uri: str) -> None:
    from flows.retrain import train_validate_promote

    project.story = replace(project.story, shift_from=3, shift_until=3, concept_from=5)
    fast(project, cooldown="1d")
    root, path = project.root, str(project.policy_path)
    first = train_validate_promote(path, now=day_start(1), data_root=str(root))
    assert first["status"] == "promoted", first

    monitored = []
    for day in range(1, DAYS + 1):
        project.write_day(day)
        if day == BAD_DAY:
            write_bad_batch(project)
        summary = check(project, day_start(day + 1))
        monitored.append((summary["verdict"], summary.get("training", {}).get("status", "")))
    runs = ledger(tracking_uri, project.name)
    assert len(runs) == DAYS
    fired = [tuple(sorted(filter(None, r.data.tags["retrain.fired"].split(",")))) for r in runs]
    by_run = {r.info.run_id: i for i, r in enumerate(runs)}
    held: list[set[str]] = [set() for _ in runs]
    for record in Store(tracking_uri).ledger.quarantine(project.name):
        held[by_run[record.monitor_run_id]].add(record.path.rsplit("/", 1)[-1])

    loaded = load_policy(project.policy_path)
    history = load_history(loaded.policy, root)
    steps = [day_start(day + 1) for day in range(1, DAYS + 1)]
    replay = replay_monitor(
        loaded.policy, loaded.policy_hash, root, history, steps, timedelta(days=1), "accuracy"
    )
    replayed = [(s.verdict, s.trained) for s in replay.steps]

    assert replayed == monitored
    assert [s.fired for s in replay.steps] == fired
    assert [set(s.quarantined) for s in replay.steps] == held
    # the stream's story happened, so the comparison compared something
    assert any(v == "blocked" for v, _ in monitored), monitored
    assert f"day-{BAD_DAY:02d}-b.parquet" in set().union(*held)
    assert any(t == "promoted" for _, t in monitored), monitored
