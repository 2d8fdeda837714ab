"""Late labels: a concept change is invisible in the inputs and shows once its labels arrive.

From day 3 on, the demo stream's concept changes (who churns, not who the customers are). Labels
of day d land with day d+1's batch. The checks on days 2 and 3 see clean labels and hold; on day 4
the day-3 labels arrive and the measured accuracy falls, while drift and the estimated accuracy,
which see only the inputs, stay quiet.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import Project
from test_monitor_support import at, check, fast, ledger


def outcome(summary: dict, name: str) -> dict:
    return next(o for o in summary["outcomes"] if o["check"] == name)


def test_performance_on_late_labels_fires_on_the_concept_change(
    project: Project, tracking_uri: str
) -> None:
    project.story = replace(project.story, shift_from=99, shift_until=98, concept_from=3)
    fast(project, cooldown="1d")
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"

    for day in (2, 3):  # the labels of day 1, then day 2: the old concept still holds
        project.write_day(day)
        calm = check(project, at(day))
        assert calm["verdict"] == "hold", calm["reasons"]
        measured = outcome(calm, "performance.accuracy")
        assert measured["status"] == "pass", measured
        assert measured["observed"] is not None

    project.write_day(4)  # the labels of day 3, the first concept day
    changed = check(project, at(4))
    assert changed["verdict"] == "retrain", changed["reasons"]
    assert changed["reasons"][0].startswith("performance.accuracy: ")
    assert outcome(changed, "performance.accuracy")["status"] == "fail"
    assert outcome(changed, "drift.share")["status"] == "pass"
    assert outcome(changed, "estimated_performance.accuracy")["status"] == "pass"

    runs = ledger(tracking_uri, project.name)
    assert [r.data.tags["retrain.fired"] for r in runs[1:]] == ["", "", "performance.accuracy"]
    assert (
        runs[-1].data.metrics["performance.accuracy"]
        < runs[-2].data.metrics["performance.accuracy"] - 0.05
    )
