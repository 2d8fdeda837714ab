"""The static table of great-expectations expectations and arguments matches the installed one."""

from __future__ import annotations

import pytest

from retrain_core.policy.expectation_args import ARGUMENTS, REFUSED
from retrain_core.policy.expectation_gen import generate
from retrain_core.policy.expectations import KNOWN_EXPECTATIONS


@pytest.mark.integration
def test_static_expectation_names_match_installed_great_expectations() -> None:
    import great_expectations  # noqa: F401  (registers the core expectations)
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    installed = set(list_registered_expectation_implementations())
    missing = sorted(installed - KNOWN_EXPECTATIONS)
    extra = sorted(KNOWN_EXPECTATIONS - installed)
    assert not missing and not extra, (
        f"regenerate retrain_core/policy/expectation_args.py: missing {missing}, unknown {extra}"
    )


@pytest.mark.integration
def test_static_argument_table_matches_the_expectation_classes() -> None:
    arguments, refused = generate()
    hint = "python -m retrain_core.policy.expectation_gen > retrain_core/policy/expectation_args.py"
    assert (arguments, refused) == (ARGUMENTS, REFUSED), f"regenerate: {hint}"


def test_no_listed_argument_is_one_great_expectations_evaluates() -> None:
    listed = {key for table in ARGUMENTS.values() for key in table}
    assert not listed & {"row_condition", "condition_parser", "unexpected_rows_query"}
    assert "expect_column_values_to_be_between" in ARGUMENTS
    assert "mostly" in ARGUMENTS["expect_column_values_to_be_between"]
    assert "unexpected_rows_expectation" in REFUSED
