"""Nothing in a validation entry is evaluated, even when it reaches the check without validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retrain_core.base.outcome import Status
from retrain_core.checks.validation import run_expectations
from retrain_core.policy.expectations import argument_problems, argument_refusal


def _payload(marker: Path) -> dict[str, str]:
    """A pandas row_condition that would create `marker` through os.system if evaluated."""
    command = f"touch {marker}"
    return {
        "row_condition": f'tenure > 0 and @pd.io.common.os.system("{command}") == 0',
        "condition_parser": "pandas",
    }


@pytest.mark.integration  # runs the check through great-expectations
def test_a_row_condition_passed_straight_to_the_check_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    frame = pd.DataFrame({"tenure": [1.0, 2.0, 3.0]})
    kwargs = {"column": "tenure", **_payload(marker)}
    outcomes = run_expectations(frame, [("expect_column_values_to_not_be_null", kwargs)])
    assert [outcome.status for outcome in outcomes] == [Status.ERROR]
    assert "evaluates this argument as code" in outcomes[0].reason
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("expect_column_values_to_not_be_null", {"column": "a", "row_condition": "a>0"}, "code"),
        ("expect_column_values_to_not_be_null", {"column": "a", "condition_parser": "x"}, "code"),
        ("unexpected_rows_expectation", {"unexpected_rows_query": "DROP TABLE x"}, "SQL query"),
        ("expect_column_values_to_be_between", {"column": "a", "min_value": "DROP"}, "date"),
        ("expect_column_values_to_be_between", {"column": "a", "mostly": 2}, "<= 1"),
        ("expect_column_values_to_be_between", {"column": "a", "max_value": float("nan")}, "nan"),
        ("expect_column_values_to_be_in_set", {"column": "a", "value_set": [{"$PARAMETER": "x"}]},
         "plain values"),
        ("expect_column_values_to_be_in_set", {"column": "a"}, "needs the argument 'value_set'"),
        ("expect_column_values_to_be_of_type", {"column": "a", "typ": "int"}, "did you mean"),
        ("expect_column_pair_values_to_be_equal",
         {"column_A": "a", "column_B": "b", "ignore_row_if": "sometimes"}, "one of"),
        ("expect_a_custom_thing", {"column": "a"}, "not found"),
        ("expect_column_values_to_match_regex", {"column": "a", "regex": "(a+)+$"}, "exponential"),
    ],
)  # fmt: skip
def test_arguments_outside_the_expectation_s_parameters_are_refused(
    name: str, kwargs: dict, expected: str
) -> None:
    refusal = argument_refusal(name, kwargs)
    assert refusal is not None and expected in refusal


def test_valid_arguments_pass() -> None:
    assert (
        argument_problems(
            "expect_column_values_to_be_between",
            {"column": "a", "min_value": 0, "max_value": 1.5, "mostly": 0.9, "strict_min": True},
        )
        == []
    )
    dated = {"column": "d", "min_value": "2024-01-01"}
    assert argument_refusal("expect_column_values_to_be_between", dated) is None
    pairs = {"column_A": "a", "column_B": "b", "value_pairs_set": [[1, 2], ["x", None]]}
    assert argument_refusal("expect_column_pair_values_to_be_in_set", pairs) is None
