"""Which training rows the quality expectations read (real files, the expectations' own rules).

A check judges a current batch's own columns, so training reuses its verdict for them; labels
arrive later and no check reads them, so an expectation on the target reads every row.
(The flow with a real MLflow store and checks: tests/flows/test_retrain_validation.py.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retrain_core.data.demo import Story, rng_day, write_day, write_reference
from retrain_core.monitor.training_data import training_data
from retrain_core.monitor.training_validation import training_data_problems
from retrain_core.policy.loader import load_policy
from retrain_core.policy.schema import Policy

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_ROWS, DAY_ROWS = 3000, 800
JUDGED = {"current": {"day-01.parquet", "day-02.parquet"}}


def churn(extra: list[dict[str, dict[str, object]]]) -> Policy:
    """The shipped churn policy with more expectations."""
    shipped = load_policy(ROOT / "policies" / "churn.yaml").policy
    return shipped.model_copy(update={"validation": [*shipped.validation, *extra]})


def stream(root: Path) -> float:
    """The reference, days 1 and 2 and day 1's labels, every one a churn; the reference's rate."""
    story = Story(rows_per_day=DAY_ROWS, reference_rows=REFERENCE_ROWS)
    reference = write_reference(root, story)
    write_day(root, story, 1)
    write_day(root, story, 2)
    labels = rng_day(story, 1)[["customer_id", "churned"]].assign(churned=1)
    labels.to_parquet(root / "data" / "churn" / "labels" / "day-01.parquet", index=False)
    return float(reference["churned"].mean())


def test_judged_rows_are_read_only_by_expectations_on_the_labels(tmp_path: Path) -> None:
    rate = stream(tmp_path)
    policy = churn([{"expect_column_mean_to_be_between": {"column": "churned", "max_value": rate}}])

    data = training_data(policy, tmp_path, {}, JUDGED)
    assert len(data.frame) == REFERENCE_ROWS + DAY_ROWS
    assert int(data.unjudged.sum()) == REFERENCE_ROWS
    found = training_data_problems(policy, data)
    # the feature expectations read the reference; the target's reads every row and fails
    assert found.rows == REFERENCE_ROWS + REFERENCE_ROWS + DAY_ROWS
    (problem,) = found.problems
    assert problem.startswith("churned: observed") and "expect_column_mean" in problem
    assert found.passed == ()  # vectorized expectations: no verdict key to remember


def test_without_judged_batches_every_row_is_validated_once(tmp_path: Path) -> None:
    stream(tmp_path)
    policy = churn([])
    batches = tmp_path / "data" / "churn" / "batches"
    day1 = pd.read_parquet(batches / "day-01.parquet")
    day1.loc[day1.index[:7], "contract"] = "weekly"
    day1.to_parquet(batches / "day-01.parquet", index=False)

    data = training_data(policy, tmp_path)
    assert bool(data.unjudged.all())
    found = training_data_problems(policy, data)
    assert found.rows == REFERENCE_ROWS + DAY_ROWS and found.passed == ()
    (problem,) = found.problems
    assert f"contract: 7 of {REFERENCE_ROWS + DAY_ROWS} values unexpected" in problem
    # the same rows judged by a check: their verdict stands, the reference alone is read
    judged = training_data_problems(policy, training_data(policy, tmp_path, {}, JUDGED))
    assert judged.rows == REFERENCE_ROWS and judged.problems == []


def test_a_great_expectations_suite_that_passed_does_not_read_the_same_rows_again(
    tmp_path: Path,
) -> None:
    stream(tmp_path)
    regex = {"expect_column_values_to_match_regex": {"column": "contract", "regex": "^[a-z-]+$"}}
    policy = churn([regex])
    data = training_data(policy, tmp_path, {}, JUDGED)
    first = training_data_problems(policy, data)
    assert first.problems == [] and first.rows == REFERENCE_ROWS and len(first.passed) == 1
    again = training_data_problems(policy, data, first.passed)
    assert again.problems == [] and again.rows == 0 and again.passed == ()

    # other rows (a batch no check judged) or another suite: another key, read again
    unjudged = training_data(policy, tmp_path, {}, {"current": {"day-02.parquet"}})
    assert training_data_problems(policy, unjudged, first.passed).rows == REFERENCE_ROWS + DAY_ROWS
    stricter = churn([regex, {"expect_column_values_to_not_be_null": {"column": "customer_id"}}])
    assert training_data_problems(stricter, data, first.passed).rows == REFERENCE_ROWS
