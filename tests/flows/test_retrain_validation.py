"""Training validates only what no check judged: quality expectations run once per batch.

Real components: the session's Prefect API, a fresh MLflow SQLite store, great-expectations'
rules (`run_expectations`) and the demo stream. A check that passes a batch records it as judged;
the training reuses that verdict, validates the reference once (with an expectation that runs
great-expectations itself, its verdict key is remembered in the store) and validates a batch that
arrived after the last check. The element count in an
expectation's reason ("50 of 3800 values") is how many rows the suite read.
"""

from __future__ import annotations

from conftest import Project
from test_monitor_support import at, champion, check, fast
from test_retrain_support import run

from retrain_core.data.demo import rng_day
from retrain_core.monitor.training_data import TrainingData, training_data
from retrain_core.monitor.training_validation import training_data_problems
from retrain_core.policy.loader import load_policy
from retrain_core.store import Store

REFERENCE_ROWS, DAY_ROWS = 3000, 800
TEXT_RULE = {"expect_column_values_to_match_regex": {"column": "contract", "regex": "^[a-z-]+$"}}


def judged_training_data(project: Project, store: Store) -> TrainingData:
    """The training rows as the training flow loads them, judged batches marked."""
    loaded = load_policy(project.policy_path)
    name = loaded.policy.name
    judged = store.ledger.judged(name, loaded.policy_hash)
    skip = store.ledger.quarantined(name)
    return training_data(loaded.policy, project.root, skip, judged)


def land_unchecked_day(project: Project, day: int, negative_charges: int) -> None:
    """A day's batch and its labels, both arrived after the last check (no check judged it)."""
    folder = project.root / "data" / "churn"
    frame = rng_day(project.story, day)
    frame.loc[frame.index[:negative_charges], "monthly_charges"] = -5.0
    frame.drop(columns=["churned"]).to_parquet(folder / "batches" / f"day-{day:02d}.parquet")
    labels = frame[["customer_id", "churned"]]
    labels.to_parquet(folder / "labels" / f"day-{day:02d}.parquet", index=False)


def test_judged_batches_are_not_validated_again_and_an_unjudged_bad_batch_blocks_training(
    project: Project, tracking_uri: str
) -> None:
    fast(project)
    policy = load_policy(project.policy_path).policy
    project.edit(validation=[*policy.validation, TEXT_RULE])  # run by great-expectations itself
    name = project.name
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"  # trains v1 on the reference alone
    assert champion(tracking_uri, name) == "1"
    project.write_day(2)  # day 1's labels arrive
    check(project, at(2))

    store = Store(tracking_uri)
    loaded = load_policy(project.policy_path)
    policy = loaded.policy
    assert store.ledger.judged(name, loaded.policy_hash)["current"] == {
        "day-01.parquet",
        "day-02.parquet",
    }
    assert store.ledger.judged(name, "another policy") == {}  # a verdict under other rules
    data = judged_training_data(project, store)
    assert len(data.frame) == REFERENCE_ROWS + DAY_ROWS  # day 1 labelled, day 2 not yet
    assert int(data.unjudged.sum()) == REFERENCE_ROWS  # day 1 was judged by its check
    fresh = training_data_problems(policy, data)
    assert fresh.problems == [] and fresh.rows == REFERENCE_ROWS and fresh.passed
    # The first training validated the reference and remembered it: nothing is read again.
    remembered = training_data_problems(policy, data, store.ledger.validated(name))
    assert remembered.problems == [] and remembered.rows == 0
    assert fresh.passed[0] in store.ledger.validated(name)

    # Day 3 arrives with 50 bad rows after the last check: the training validates it, refuses.
    land_unchecked_day(project, 3, negative_charges=50)
    data = judged_training_data(project, store)
    assert len(data.frame) == REFERENCE_ROWS + 2 * DAY_ROWS
    result = run(project)
    assert result["status"] == "blocked", result
    (reason,) = result["reasons"]
    # The suite read the reference and day 3 only, not day 1 (judged by its check).
    assert f"monthly_charges: 50 of {REFERENCE_ROWS + DAY_ROWS} values unexpected" in reason
    assert champion(tracking_uri, name) == "1"

    # The next check judges day 3: it fails the same expectation there and is quarantined;
    # the training leaves it out and reads nothing again (the reference passed before).
    assert check(project, at(3, hours=2))["verdict"] == "blocked"
    assert store.ledger.quarantined(name)["current"] == {"day-03.parquet"}
    data = judged_training_data(project, store)
    assert int(data.unjudged.sum()) == REFERENCE_ROWS
    assert training_data_problems(policy, data, store.ledger.validated(name)).rows == 0
    assert run(project)["status"] != "blocked"
