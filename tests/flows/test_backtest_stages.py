"""`retrain backtest` replays a staged rollout as the monitor runs it: one stream, both ways.

As tests/flows/test_backtest_equals_monitor.py, with `promotion.stages` (tests/rollout.py's shadow
then canary) and a gate that lets any challenger reach them. The real monitor flow runs once a
day on Prefect's test harness with MLflow on SQLite, then the backtest's replay runs over the same
files. Every step's verdict, training outcome and what the staged challenger did (waiting, the
stage it entered, promoted, rejected) must be equal, and so must the version serving at each
check: the champion changes at the same step.

- A better challenger: the concept changes from day 5; the retrain that answers it enters the
  shadow stage, then the canary, then takes the champion alias.
- A worse challenger: days 3 and 4 are labelled inverted (a labelling bug); the retrain that
  answers the drop learns the inverted labels and is rejected in its shadow stage once correctly
  labelled rows arrive. Retrains wanted meanwhile are held for the stage.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
from conftest import Project
from rollout import LENIENT_GATE, STAGES, stage_events
from test_monitor_support import champion, check, fast

from retrain_core.data.demo import day_start
from retrain_core.decide.stages import SUPPRESSED_BY
from retrain_core.policy.loader import load_policy
from retrain_core.replay.backtest import load_history
from retrain_core.replay.monitored import replay_monitor

Trace = list[tuple[str, str, str, str]]  # verdict, training, stage, serving version


def both_ways(
    project: Project, tracking_uri: str, days: int, inverted: tuple[int, ...] = ()
) -> tuple[Trace, Trace, list[str]]:
    """The monitor flow's checks (and their suppressions), then the replay's steps, each as
    (verdict, training outcome, what the staged challenger did, the version serving)."""
    from flows.retrain import train_validate_promote

    root, path = project.root, str(project.policy_path)
    first = train_validate_promote(path, now=day_start(1), data_root=str(root))
    assert first["status"] == "promoted", first
    project.edit(gate=LENIENT_GATE, promotion={"stages": STAGES})

    monitored: Trace = []
    suppressed: list[str] = []
    for day in range(1, days + 1):
        project.write_day(day)
        if day - 1 in inverted:
            invert_labels(project, day - 1)
        serving = champion(tracking_uri, project.name) or ""
        summary = check(project, day_start(day + 1))
        training = summary.get("training", {}).get("status", "")
        monitored.append((summary["verdict"], training, summary["stage"] or "", serving))
        suppressed.append(summary["suppressed_by"] or "")

    loaded = load_policy(project.policy_path)
    history = load_history(loaded.policy, root)
    steps = [day_start(day + 1) for day in range(1, days + 1)]
    replay = replay_monitor(
        loaded.policy, loaded.policy_hash, root, history, steps, timedelta(days=1), "accuracy"
    )
    replayed = [(s.verdict, s.trained, s.stage, s.version) for s in replay.steps]
    return monitored, replayed, suppressed


def invert_labels(project: Project, day: int) -> None:
    """Day `day`'s labels, every one wrong (a labelling bug)."""
    path = project.root / "data" / "churn" / "labels" / f"day-{day:02d}.parquet"
    labels = pd.read_parquet(path)
    labels.assign(churned=1 - labels["churned"]).to_parquet(path, index=False)


def moves(trace: Trace) -> list[tuple[int, str]]:
    """The steps where something happened to a staged challenger, and what."""
    return [(i, t or s) for i, (_, t, s, _) in enumerate(trace) if t == "staged" or s]


def test_a_better_challenger_is_replayed_through_shadow_and_canary_as_the_monitor_ran_it(
    project: Project, tracking_uri: str
) -> None:
    project.story = replace(project.story, shift_from=99, shift_until=99, concept_from=5)
    fast(project, cooldown="1d")
    monitored, replayed, _ = both_ways(project, tracking_uri, days=12)

    assert replayed == monitored
    events = [action for _, _, action in stage_events(tracking_uri, project.name)]
    assert events == ["entered", "entered", "promoted"], (events, monitored)
    happened = [what for _, what in moves(monitored) if what != "waiting"]
    assert happened == ["staged", "canary", "promoted"], monitored
    promoted = next(i for i, (_, _, s, _) in enumerate(monitored) if s == "promoted")
    assert monitored[promoted + 1][3] != monitored[promoted][3]  # the champion changed there


def test_a_worse_challenger_is_replayed_into_its_rejection_as_the_monitor_ran_it(
    project: Project, tracking_uri: str
) -> None:
    project.story = replace(project.story, shift_from=99, shift_until=99, concept_from=99)
    fast(project, cooldown="1d")
    monitored, replayed, suppressed = both_ways(project, tracking_uri, days=8, inverted=(3, 4))

    assert replayed == monitored
    actions = [(stage, action) for _, stage, action in stage_events(tracking_uri, project.name)]
    assert actions[:2] == [("shadow", "entered"), ("shadow", "rejected")], (actions, monitored)
    assert {version for *_, version in monitored} == {"1"}  # the champion kept serving
    assert SUPPRESSED_BY in suppressed, (suppressed, monitored)  # a retrain held for the stage
