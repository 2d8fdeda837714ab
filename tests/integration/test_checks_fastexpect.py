"""The vectorized expectations give great-expectations' own verdicts and result documents."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain_core.checks import validation
from retrain_core.checks.fastexpect import fast_result
from retrain_core.checks.validation import _quiet_gx, run_expectations

Case = tuple[str, dict[str, Any]]


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    f = rng.normal(size=n)
    f[rng.random(n) < 0.1] = np.nan
    s = rng.choice(np.array(["a", "b", "c", "zz"], dtype=object), size=n)
    s[rng.random(n) < 0.05] = None
    frame = pd.DataFrame(
        {
            "f": f,
            "i": rng.integers(-5, 50, n),
            "s": s,
            "nulls": np.full(n, np.nan),
            "f32": rng.uniform(0, 10, n).astype(np.float32),
        }
    )
    return frame.set_axis(pd.RangeIndex(100, 100 + n))  # index labels are reported


CASES: list[Case] = [
    ("expect_column_values_to_not_be_null", {"column": "f"}),
    ("expect_column_values_to_not_be_null", {"column": "f", "mostly": 0.8}),
    ("expect_column_values_to_not_be_null", {"column": "i"}),
    ("expect_column_values_to_not_be_null", {"column": "s", "mostly": 0.99}),
    ("expect_column_values_to_not_be_null", {"column": "nulls"}),
    ("expect_column_values_to_be_between", {"column": "f", "min_value": 0}),
    ("expect_column_values_to_be_between", {"column": "f", "max_value": 1.5, "mostly": 0.9}),
    ("expect_column_values_to_be_between", {"column": "f", "min_value": -9, "max_value": 9}),
    (
        "expect_column_values_to_be_between",
        {"column": "i", "min_value": 0, "max_value": 40, "strict_min": True, "strict_max": True},
    ),
    ("expect_column_values_to_be_between", {"column": "i", "min_value": -5, "strict_min": True}),
    ("expect_column_values_to_be_between", {"column": "f32", "min_value": 0.0, "max_value": 10}),
    ("expect_column_values_to_be_between", {"column": "nulls", "min_value": 0}),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a", "b", "c", "zz"]}),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a", "b"]}),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a"], "mostly": 0.2}),
    ("expect_column_values_to_be_in_set", {"column": "i", "value_set": list(range(10))}),
    ("expect_column_values_to_be_in_set", {"column": "f", "value_set": [0.5]}),
    ("expect_column_values_to_not_be_in_set", {"column": "s", "value_set": ["zz"]}),
    ("expect_column_values_to_not_be_in_set", {"column": "i", "value_set": [100]}),
    ("expect_column_min_to_be_between", {"column": "f", "min_value": -10, "max_value": 0}),
    ("expect_column_max_to_be_between", {"column": "i", "max_value": 10}),
    ("expect_column_max_to_be_between", {"column": "i", "min_value": 49, "strict_min": True}),
    ("expect_column_mean_to_be_between", {"column": "f", "min_value": -0.5, "max_value": 0.5}),
    ("expect_column_mean_to_be_between", {"column": "f32", "min_value": 6}),
    ("expect_column_mean_to_be_between", {"column": "nulls", "min_value": 0}),
    ("expect_table_row_count_to_be_between", {"min_value": 10, "max_value": 1000}),
    ("expect_table_row_count_to_be_between", {"min_value": 5000}),
    ("expect_table_row_count_to_equal", {"value": 200}),
]


def _ge_results(df: pd.DataFrame, cases: list[Case]) -> list[tuple[bool, dict[str, Any]]]:
    """great-expectations' own success and result document for each case, in one suite."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    with _quiet_gx():
        context = gx.get_context(mode="ephemeral")
        asset = context.data_sources.add_pandas("parity").add_dataframe_asset("frame")
        batch = asset.add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name="parity")
        for i, (name, kwargs) in enumerate(cases):
            config = ExpectationConfiguration(type=name, kwargs=dict(kwargs), meta={"i": i})
            suite.add_expectation(config.to_domain_obj())
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name="parity", data=batch, suite=suite)
        )
        results = definition.run(batch_parameters={"dataframe": df}).results
    by_index = {int(r.expectation_config.meta["i"]): r for r in results}
    return [(by_index[i].success, dict(by_index[i].result)) for i in range(len(cases))]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | np.floating) and isinstance(b, float | np.floating):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12)
    return bool(a == b)


@pytest.mark.parametrize("rows", [0, 200, 3000])
def test_fast_results_equal_great_expectations_results(rows: int) -> None:
    df = _frame(rows)
    expected = _ge_results(df, CASES)
    failures = 0
    for (name, kwargs), (success, document) in zip(CASES, expected, strict=True):
        fast = fast_result(df, name, kwargs)
        assert fast is not None, (name, kwargs)
        assert fast.success == success, (name, kwargs, fast.result, document)
        assert _same(fast.result, document), (name, kwargs, fast.result, document)
        failures += not success
    if rows:
        assert 8 <= failures < len(CASES)  # the corpus holds passing and failing cases


def test_run_expectations_gives_the_same_outcomes_with_or_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    df = _frame(500)
    fast = run_expectations(df, CASES)
    monkeypatch.setattr(validation, "fast_result", lambda *args: None)  # everything through GE
    via_ge = run_expectations(df, CASES)
    assert [(o.status, o.reason, o.observed) for o in fast] == [
        (o.status, o.reason, o.observed) for o in via_ge
    ]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("expect_column_values_to_be_between", {"column": "gone", "min_value": 0}),
        ("expect_column_values_to_be_between", {"column": "s", "min_value": 0}),
        ("expect_column_values_to_be_between", {"column": "f", "min_value": 2, "max_value": 1}),
        ("expect_column_values_to_be_between", {"column": "f"}),
        ("expect_column_values_to_be_in_set", {"column": "s", "value_set": None}),
        ("expect_column_values_to_not_be_null", {"column": "f", "row_condition": "i > 3"}),
        ("expect_column_values_to_be_unique", {"column": "i"}),
        ("expect_table_row_count_to_be_between", {"min_value": 1.5}),
    ],
)
def test_anything_else_is_left_to_great_expectations(name: str, kwargs: dict[str, Any]) -> None:
    assert fast_result(_frame(50), name, kwargs) is None
