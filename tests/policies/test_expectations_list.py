"""The static list of great-expectations expectation names matches the installed version."""

from __future__ import annotations

import pytest

from retrain_core.policy.expectations import KNOWN_EXPECTATIONS


@pytest.mark.integration
def test_static_expectation_names_match_installed_great_expectations() -> None:
    import great_expectations  # noqa: F401  (registers the core expectations)
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    installed = set(list_registered_expectation_implementations())
    missing = sorted(installed - KNOWN_EXPECTATIONS)
    extra = sorted(KNOWN_EXPECTATIONS - installed)
    assert not missing and not extra, (
        f"regenerate retrain_core/policy/expectations.py: missing {missing}, unknown {extra}"
    )
