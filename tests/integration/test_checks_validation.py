"""Data-quality checks through a real great-expectations suite on generated data."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from retrain_core.base.outcome import Status
from retrain_core.checks.validation import check_name, run_expectations


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, 1_000).astype(float),
            "monthly_charges": rng.uniform(20, 120, 1_000),
            "contract": rng.choice(["monthly", "yearly"], 1_000),
        }
    )
    df.loc[:11, "tenure"] = np.nan
    return df


def test_passing_expectations(window: pd.DataFrame) -> None:
    outcomes = run_expectations(
        window,
        [
            ("expect_column_values_to_not_be_null", {"column": "contract"}),
            ("expect_column_values_to_be_between", {"column": "monthly_charges", "min_value": 0}),
            ("expect_table_row_count_to_be_between", {"min_value": 100}),
        ],
    )
    assert [o.status for o in outcomes] == [Status.PASS] * 3
    assert outcomes[0].check == "quality.expect_column_values_to_not_be_null.contract"
    assert outcomes[0].reason == "contract: 0 of 1000 values unexpected"
    assert outcomes[2].check == "quality.expect_table_row_count_to_be_between.table"
    assert outcomes[2].observed == 1000.0


def test_not_null_failure_names_the_column_and_the_count(window: pd.DataFrame) -> None:
    [outcome] = run_expectations(
        window, [("expect_column_values_to_not_be_null", {"column": "tenure"})]
    )
    assert outcome.status is Status.FAIL
    assert outcome.check == "quality.expect_column_values_to_not_be_null.tenure"
    assert outcome.reason == "tenure: 12 of 1000 values unexpected (null)"
    assert outcome.observed == 12.0


def test_value_failures_show_examples(window: pd.DataFrame) -> None:
    [outcome] = run_expectations(
        window,
        [("expect_column_values_to_be_in_set", {"column": "contract", "value_set": ["monthly"]})],
    )
    assert outcome.status is Status.FAIL
    assert "values unexpected (e.g. 'yearly')" in outcome.reason


def test_aggregate_expectation_reports_the_observed_value(window: pd.DataFrame) -> None:
    [outcome] = run_expectations(
        window,
        [("expect_column_mean_to_be_between", {"column": "monthly_charges", "min_value": 100})],
    )
    assert outcome.status is Status.FAIL
    assert outcome.observed is not None and 60 < outcome.observed < 80
    assert outcome.reason.startswith("monthly_charges: observed ")
    assert "violates expect_column_mean_to_be_between(min_value=100)" in outcome.reason


def test_missing_column_is_an_error_outcome_and_the_rest_still_runs(window: pd.DataFrame) -> None:
    missing, present = run_expectations(
        window,
        [
            ("expect_column_values_to_not_be_null", {"column": "churned"}),
            ("expect_column_values_to_not_be_null", {"column": "contract"}),
        ],
    )
    assert missing.status is Status.ERROR
    assert missing.check == "quality.expect_column_values_to_not_be_null.churned"
    assert "churned" in missing.reason and "does not exist" in missing.reason
    assert present.status is Status.PASS


def test_unknown_expectation_and_bad_arguments_are_error_outcomes(window: pd.DataFrame) -> None:
    unknown, bad, good = run_expectations(
        window,
        [
            ("expect_column_to_be_lovely", {"column": "tenure"}),
            ("expect_column_values_to_be_between", {"column": "tenure", "min_value": "low"}),
            ("expect_column_values_to_not_be_null", {"column": "contract"}),
        ],
    )
    assert unknown.status is Status.ERROR and "not found" in unknown.reason
    assert bad.status is Status.ERROR and bad.reason.startswith("invalid expectation:")
    assert good.status is Status.PASS


def test_no_expectations_and_duplicates(window: pd.DataFrame) -> None:
    assert run_expectations(window, []) == []
    same = ("expect_column_values_to_not_be_null", {"column": "contract"})
    assert len(run_expectations(window, [same, same])) == 1


def test_check_names_for_multi_column_expectations() -> None:
    kwargs = {"column_A": "a", "column_B": "b"}
    assert check_name("expect_column_pair_values_to_be_equal", kwargs).endswith(".a,b")
    assert check_name("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}).endswith(
        ".a,b"
    )


def test_great_expectations_logging_stays_quiet(
    window: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        run_expectations(window, [("expect_column_values_to_not_be_null", {"column": "tenure"})])
    assert [r for r in caplog.records if r.name.startswith("great_expectations")] == []


def test_suite_sees_the_columns_it_reads_and_table_expectations_see_the_table(
    window: pd.DataFrame,
) -> None:
    unique, columns = run_expectations(
        window,
        [
            ("expect_column_values_to_be_unique", {"column": "contract"}),
            ("expect_table_column_count_to_equal", {"value": 3}),
        ],
    )
    assert unique.status is Status.FAIL and "contract:" in unique.reason
    assert columns.status is Status.PASS and columns.observed == 3.0
