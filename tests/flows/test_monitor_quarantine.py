"""Bad batches are quarantined, not fatal; one check of a policy at a time, however started.

Real components throughout: the session's Prefect API, a fresh MLflow store, the demo stream.
Every kind of batch that cannot be judged lands in one check next to a good batch: the check is
a recorded, blocked decision naming each bad file, the good batch is judged at the next check,
the bad ones are never read again (windows, label joins, training) until a person releases one.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import threading
from typing import Any

import pandas as pd
import pytest
from conftest import Project
from test_monitor_support import at, champion, check, check_state, fast, ledger, versions

from retrain_core.cli import main as cli
from retrain_core.data.demo import rng_day
from retrain_core.monitor import training_data
from retrain_core.policy.loader import load_policy
from retrain_core.runtime import locks
from retrain_core.runtime.locks import lock_name, policy_lock
from retrain_core.store import Store


def spoil_files(project: Project) -> dict[str, str]:
    """Land one good batch (day 2) and bad batches and label files; file -> expected reason."""
    batches = project.root / "data" / "churn" / "batches"
    labels = project.root / "data" / "churn" / "labels"
    good = rng_day(project.story, 2).drop(columns=["churned"])
    good.to_parquet(batches / "day-02.parquet")
    data = (batches / "day-01.parquet").read_bytes()
    (batches / "day-03-zero.parquet").write_bytes(b"")
    (batches / "day-03-truncated.parquet").write_bytes(data[: len(data) // 2])
    (batches / "day-03-garbage.parquet").write_bytes(os.urandom(4096))
    shutil.copy(batches / "day-01.parquet", batches / "day-03-again.parquet")
    mixed = rng_day(project.story, 3).drop(columns=["churned"])
    mixed["event_time"] = mixed["event_time"].astype(str)
    mixed.loc[:9, "event_time"] = mixed.loc[:9, "event_time"].str.replace("+00:00", "")
    mixed.to_parquet(batches / "day-03-zones.parquet")
    day1 = rng_day(project.story, 1)[["customer_id", "churned"]]
    flipped = day1.head(5).assign(churned=1 - day1.head(5)["churned"])
    pd.concat([day1, flipped]).to_parquet(labels / "day-01.parquet")
    day1.head(50).assign(churned=7).to_parquet(labels / "day-01-class.parquet")
    return {
        "day-03-zero.parquet": "Parquet file size is 0 bytes",
        "day-03-truncated.parquet": "cannot read it as parquet",
        "day-03-garbage.parquet": "cannot read it as parquet",
        "day-03-again.parquet": "same content as the batch day-01.parquet",
        "day-03-zones.parquet": "mixes times with and without a time zone",
        "labels/day-01.parquet": "carry conflicting 'churned' labels",
        "labels/day-01-class.parquet": "a class outside the closed set data.labels.classes: '7'",
    }


def test_bad_batches_are_quarantined_listed_released_and_never_trained_on(
    project: Project, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fast(project)
    closed = {"path": "data/churn/labels/*.parquet", "join_on": "customer_id", "lag": "1d"}
    closed["classes"] = [0, 1]
    project.edit(data={"labels": closed})  # churn is yes or no: another class is corrupt data
    name = project.name
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"
    expected = spoil_files(project)

    blocked = check(project, at(3))
    assert blocked["verdict"] == "blocked", blocked["reasons"]
    text = "\n".join(blocked["reasons"])
    for file, reason in expected.items():
        line = next((r for r in blocked["reasons"] if f"{file}: " in r), None)
        assert line is not None and reason in line, (file, text)
    assert "day-02.parquet:" not in text  # the good batch is not blamed ...
    held = Store(tracking_uri).ledger.quarantined(name)
    assert held["current"] == {f for f in expected if "/" not in f}
    assert held["labels"] == {"day-01.parquet", "day-01-class.parquet"}

    after = check(project, at(3, hours=2))  # ... it is judged by the next check
    assert after["verdict"] != "blocked", after["reasons"]
    assert after["rows"] == 800
    assert check(project, at(3, hours=3))["rows"] == 0  # and nothing is read twice

    # Training never sees a quarantined batch: no class 7, no conflicting or repeated rows.
    policy = load_policy(project.policy_path).policy
    frame = training_data.load_training_data(
        policy, project.root, Store(tracking_uri).ledger.quarantined(name)
    )
    assert set(frame["churned"].unique()) <= {0, 1}
    labelled = frame.dropna(subset=["customer_id"])
    assert labelled["customer_id"].is_unique

    assert cli.main(["quarantine", "list", name]) == 0
    listed = capsys.readouterr().out
    assert all(file.rsplit("/", 1)[-1] in listed for file in expected), listed
    assert cli.main(["status", name]) == 0
    assert "quarantined: 7 batches" in capsys.readouterr().out

    # A person fixes a file in place and releases it: the next check judges it like any batch.
    fixed = rng_day(project.story, 3).drop(columns=["churned"])
    fixed.to_parquet(project.root / "data" / "churn" / "batches" / "day-03-truncated.parquet")
    assert cli.main(["quarantine", "release", name, "day-03-truncated.parquet"]) == 0
    assert "released current batch" in capsys.readouterr().out
    assert cli.main(["quarantine", "release", name, "nope.parquet"]) == 1
    judged = check(project, at(4))
    assert judged["verdict"] != "blocked", judged["reasons"]
    assert judged["rows"] == 800
    assert len(Store(tracking_uri).ledger.quarantined(name)["current"]) == 4
    assert champion(tracking_uri, name) == "1"


def test_two_concurrent_checks_of_one_policy_run_one_at_a_time(
    project: Project, tracking_uri: str
) -> None:
    """Without the lock both checks would judge day 1 (800 rows each) and train twice."""
    fast(project)
    project.write_day(1)
    results: list[Any] = []

    def one_check() -> None:
        results.append(check_state(project, at(1)))

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(one_check,)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(state.is_completed() for state in results), results
    runs = ledger(tracking_uri, project.name)
    assert sorted(r.data.metrics["rows"] for r in runs) == [0, 800]
    assert versions(tracking_uri, project.name) == ["1"]

    from prefect import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(lock_name(project.name))
    assert limit.limit == 1 and limit.active_slots == 0


def test_a_check_that_cannot_get_the_lock_ends_with_the_reason_and_records_nothing(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(project)
    project.write_day(1)
    monkeypatch.setattr(locks, "LOCK_WAIT_SECONDS", 2.0)
    with policy_lock(project.name):  # e.g. a training of the policy in another process
        state = check_state(project, at(1))
    assert state.is_failed()
    assert f"policy {project.name} is busy" in str(state.message), state.message
    assert ledger(tracking_uri, project.name, finished_only=False) == []
    assert check(project, at(1, hours=2))["rows"] == 800  # the next check judges the batch


def test_data_the_checks_cannot_run_on_is_blocked_and_quarantined_not_a_crash(
    project: Project, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever breaks a check on a window, the check is recorded and the batch set aside."""
    import flows.monitor

    real_evaluate = flows.monitor.evaluate

    def evaluate_or_break(policy: Any, windows: Any, champion: Any, now: Any) -> Any:
        if len(windows.current) and windows.current["tenure"].max() > 1000:
            raise ValueError("Input contains a value too large for dtype('float32')")
        return real_evaluate(policy, windows, champion, now)

    monkeypatch.setattr(flows.monitor, "evaluate", evaluate_or_break)
    fast(project)
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"
    huge = rng_day(project.story, 2).drop(columns=["churned"]).assign(tenure=1e30)
    huge.to_parquet(project.root / "data" / "churn" / "batches" / "day-02.parquet")
    blocked = check(project, at(2))
    assert blocked["verdict"] == "blocked", blocked["reasons"]
    assert "the checks could not run on this window: ValueError" in blocked["reasons"][1]
    held = Store(tracking_uri).ledger.quarantine(project.name, "quarantined")
    assert [(r.key, r.role) for r in held] == [("day-02.parquet", "current")]
    project.write_day(3)
    assert check(project, at(3))["rows"] == 800  # the next batch is judged as usual
