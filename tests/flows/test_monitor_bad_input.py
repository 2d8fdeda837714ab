"""Bad input blocks the decision; an unreachable source fails the run and leaves no ledger entry.

Bad data (an empty window, a missing or mistyped column, labels all null, a failed expectation):
the run completes, the ledger records a `blocked` decision with the reason, nothing is trained and
the champion stays. An unreachable source (a missing file, a refused database): the loading task
retries, then the flow run fails with the source's message, and no monitor run is left in MLflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import Project
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from test_monitor_support import at, champion, check, check_state, fast, ledger, versions
from test_retrain_support import notified

from retrain_core.data.demo import rng_day

BLOCKED = "retraining blocked: the data failed its checks"


def features(project: Project, day: int) -> pd.DataFrame:
    """Day `day`'s feature rows as the stream would land them (no label column)."""
    return rng_day(project.story, day).drop(columns=["churned"])


def negative_charges(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[:12], "monthly_charges"] = -5.0
    return frame


# (file name, how the batch is spoiled, what the reasons must say). Each bad batch is quarantined:
# no later read (window, label join, training) includes it.
BAD_BATCHES: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], list[str]]] = [
    ("empty", lambda f: f.iloc[0:0], ["day-02-empty.parquet: the batch is empty"]),
    ("no-tenure", lambda f: f.drop(columns=["tenure"]), ["the batch has no column 'tenure'"]),
    ("negative-charges", negative_charges, ["monthly_charges", "12 of 800 values unexpected"]),
    ("labels-null", lambda f: f, ["labels/day-01.parquet: the batch has no labels"]),
    (
        "text-tenure",
        lambda f: f.assign(tenure="ten"),
        ["column 'tenure' should be numeric", "such as 'ten'"],
    ),
]


def assert_blocked(
    project: Project, uri: str, summary: dict, expected: list[str], versions_before: list[str]
) -> None:
    """Blocked with the reason, in the summary and the ledger; nothing trained, champion kept."""
    assert summary["verdict"] == "blocked", summary["reasons"]
    assert summary["suppressed_by"] == "data-quality"
    assert summary["reasons"][0] == BLOCKED
    text = "\n".join(summary["reasons"])
    for part in expected:
        assert part in text, (part, text)
    assert "training" not in summary
    entry = ledger(uri, project.name)[-1]
    assert entry.info.run_id == summary["monitor_run_id"]
    tags = entry.data.tags
    assert tags["retrain.decision"] == "blocked"
    assert tags["retrain.retrain"] == "false"
    assert tags["retrain.suppressed_by"] == "data-quality"
    for part in expected:
        assert part in tags["retrain.reasons"]
    assert versions(uri, project.name) == versions_before


def test_bad_data_is_blocked_and_the_champion_stays(project: Project, tracking_uri: str) -> None:
    fast(project)
    name = project.name
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"
    assert versions(tracking_uri, name) == ["1"] and champion(tracking_uri, name) == "1"

    folder = project.root / "data" / "churn"
    for day, (label, spoil, expected) in enumerate(BAD_BATCHES, start=2):
        if label == "labels-null":  # day 1's customers get labels, all null
            keys = features(project, 1)[["customer_id"]]
            nulls = keys.assign(churned=pd.Series([None] * len(keys), dtype="Int64"))
            nulls.to_parquet(folder / "labels" / "day-01.parquet")
        else:
            bad = spoil(features(project, day))
            bad.to_parquet(folder / "batches" / f"day-{day:02d}-{label}.parquet")
        summary = check(project, at(day))
        assert_blocked(project, tracking_uri, summary, expected, ["1"])
        assert champion(tracking_uri, name) == "1"

    # Each bad file was judged once: the next check judges only the new, clean batch.
    features(project, 7).to_parquet(folder / "batches" / "day-07.parquet")
    after = check(project, at(7))
    assert after["verdict"] == "hold", after["reasons"]
    assert after["rows"] == 800
    runs = ledger(tracking_uri, name)
    assert [r.data.tags["retrain.decision"] for r in runs] == ["retrain", *["blocked"] * 5, "hold"]
    assert [r.data.metrics["rows"] for r in runs] == [800, 0, 0, 800, 0, 0, 800]
    assert versions(tracking_uri, name) == ["1"] and champion(tracking_uri, name) == "1"


def test_an_empty_window_blocks_even_the_first_model(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A last_rows window over a batch with no rows: blocked, and no first model is trained."""
    fast(project)
    project.edit(
        data={"current": {"path": "data/churn/batches/*.parquet", "window": {"last_rows": 500}}}
    )
    batches = project.root / "data" / "churn" / "batches"
    features(project, 1).iloc[0:0].to_parquet(batches / "day-01.parquet")
    with notified(project, monkeypatch) as endpoint:
        summary = check(project, at(1))
    assert_blocked(project, tracking_uri, summary, ["day-01.parquet: the batch is empty"], [])
    assert summary["rows"] == 0
    assert champion(tracking_uri, project.name) is None
    (message,) = endpoint.messages("blocked")
    assert "Decision: blocked" in message["message"]
    assert "day-01.parquet: the batch is empty" in message["message"]
    assert (
        f"MLflow monitor run: `run {summary['monitor_run_id']} in {tracking_uri}`"
        in (message["message"])
    )
    report = re.search(r"Report: `file://(\S+/report\.html)`", message["message"])
    assert report, message["message"]  # the policy's report, written by the check
    assert Path(report.group(1)).is_file()


def task_runs(flow_run_id: object) -> dict[str, int]:
    """How many times each task of a flow run ran (retries included)."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {run.name.rsplit("-", 1)[0]: run.run_count for run in runs}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"reference": {"path": "data/churn/missing.parquet"}},
            "file not found: data/churn/missing.parquet",
            id="missing-file",
        ),
        pytest.param(
            {
                "current": {
                    "sql": {
                        "url": "postgresql://postgres@127.0.0.1:1/x",
                        "query": "select * from batches where event_time > :watermark",
                    },
                    "window": "since_last_check",
                }
            },
            "sql on postgresql://postgres@127.0.0.1:1/x",
            id="refused-database",
        ),
    ],
)
def test_an_unreachable_source_fails_the_run_after_retries(
    project: Project, tracking_uri: str, data: dict, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(project)
    project.edit(data=data)
    project.write_day(1)
    with notified(project, monkeypatch) as endpoint:
        state = check_state(project, at(1))
    assert state.is_failed()
    (note,) = endpoint.messages("failed")
    assert "the monitor check failed" in note["message"] and message in note["message"]
    assert message in str(state.message), state.message
    if "sql" in message:
        assert "refused" in str(state.message).lower(), state.message
    assert task_runs(state.state_details.flow_run_id)["load-data"] == 2  # 1 try + 1 retry
    assert ledger(tracking_uri, project.name, finished_only=False) == []
    assert versions(tracking_uri, project.name) == []


def test_a_failed_publish_fails_the_run_and_leaves_no_finished_ledger_entry(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The artifact cannot be published: each attempt's monitor run is FAILED, none counts."""
    import prefect.artifacts

    def unavailable(**_: object) -> None:
        raise RuntimeError("the Prefect artifact API is unavailable")

    monkeypatch.setattr(prefect.artifacts, "create_markdown_artifact", unavailable)
    fast(project)
    project.write_day(1)
    state = check_state(project, at(1))
    assert state.is_failed()
    assert task_runs(state.state_details.flow_run_id)["record-decision"] == 2  # 1 try + 1 retry
    assert ledger(tracking_uri, project.name) == []  # no FINISHED entry, no watermark stored
    statuses = [r.info.status for r in ledger(tracking_uri, project.name, finished_only=False)]
    assert statuses == ["FAILED", "FAILED"]
    assert versions(tracking_uri, project.name) == []
