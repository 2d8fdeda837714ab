"""Data-quality checks: great-expectations expectations, by name, run as one suite on a window.

Each expectation becomes one ``quality.<expectation>.<column or 'table'>`` outcome: PASS or FAIL
as great-expectations judged it, ERROR when the expectation could not be built (unknown name, bad
arguments) or raised while running (a missing column). The common expectations are evaluated
vectorized with great-expectations' own rules and result documents (`checks.fastexpect`); the
rest run as one suite in a throwaway ephemeral context, given only the columns they read, once per
batch. Nothing is written to disk and great-expectations' logging and progress bars stay quiet.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.checks.fastexpect import Result, fast_result
from retrain_core.policy.expectations import argument_refusal

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations import Expectation

_INDEX_KEY = "retrain_index"
_NULL_EXPECTATIONS = frozenset({"expect_column_values_to_not_be_null"})
_SAMPLE_SIZE = 3
# table expectations that read nothing but the row count
_ROW_COUNT_ONLY = frozenset(
    {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}
)


def run_expectations(
    df: pd.DataFrame, expectations: list[tuple[str, dict[str, Any]]]
) -> list[CheckOutcome]:
    """Validate `df` against named great-expectations expectations: one outcome per distinct one."""
    keyed = {(name, repr(sorted(kwargs.items()))): (name, kwargs) for name, kwargs in expectations}
    unique = list(keyed.values())
    if not unique:
        return []
    outcomes = _fast_outcomes(df, unique)
    if len(outcomes) == len(unique):
        return [outcomes[i] for i in range(len(unique))]
    with _quiet_gx():
        built: dict[int, Expectation] = {}
        for index, (name, kwargs) in enumerate(unique):
            if index in outcomes:
                continue
            expectation = _build(index, name, kwargs)
            if isinstance(expectation, CheckOutcome):
                outcomes[index] = expectation
            else:
                built[index] = expectation
        if built:
            outcomes.update(_run_suite(df, built, unique))
    missing = "great-expectations returned no result for this expectation"
    return [
        outcomes.get(i) or CheckOutcome(check_name(*unique[i]), Status.ERROR, missing)
        for i in range(len(unique))
    ]


def _fast_outcomes(
    df: pd.DataFrame, unique: list[tuple[str, dict[str, Any]]]
) -> dict[int, CheckOutcome]:
    """Outcomes of the expectations evaluated without great-expectations, by input index."""
    outcomes: dict[int, CheckOutcome] = {}
    memo: dict[str, Any] = {}
    for index, (name, kwargs) in enumerate(unique):
        result = fast_result(df, name, kwargs, memo)
        if result is not None:
            outcomes[index] = outcome_of(name, kwargs, result)
    return outcomes


def columns_read(expectations: list[tuple[str, dict[str, Any]]]) -> list[str] | None:
    """The columns these expectations name, or None when one reads the table as a whole."""
    wanted: list[str] = []
    for name, args in expectations:
        named = [args.get(k) for k in ("column", "column_A", "column_B")]
        named += list(args.get("column_list") or [])
        named = [c for c in named if c is not None]
        if not named and name not in _ROW_COUNT_ONLY:
            return None  # reads the table as a whole (its columns, ...)
        wanted += [str(c) for c in named]
    return list(dict.fromkeys(wanted))


def _columns_read(df: pd.DataFrame, expectations: list[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """The window with only the columns these expectations name (all, if one reads the table)."""
    wanted = columns_read(expectations)
    if wanted is None:
        return df  # give it everything
    present = [c for c in wanted if c in df.columns]
    return df if len(present) == len(df.columns) else df[present]


def verdict_key(df: pd.DataFrame, expectations: list[tuple[str, dict[str, Any]]]) -> str:
    """A digest of the suite and of the rows it reads: the same key, the same verdict.

    The rows are digested column by column as the reference profile's key is (`content_key`),
    without the columns no expectation reads; row counts count as read.
    """
    import hashlib

    from retrain_core.checks.profile import content_key

    wanted = columns_read(expectations)
    names = list(df.columns) if wanted is None else wanted
    suite = repr(sorted((name, repr(sorted(kwargs.items()))) for name, kwargs in expectations))
    parts = f"{suite}\0{len(df)}\0{content_key(df, [str(c) for c in names], [])}"
    return hashlib.sha256(parts.encode()).hexdigest()[:32]


def check_name(name: str, kwargs: dict[str, Any]) -> str:
    """The outcome name of an expectation: ``quality.<expectation>.<column or 'table'>``."""
    return f"quality.{name}.{_target(kwargs)}"


def _target(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs and "column_B" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if "column_list" in kwargs:
        return ",".join(str(c) for c in kwargs["column_list"])
    return "table"


def _build(index: int, name: str, kwargs: dict[str, Any]) -> Expectation | CheckOutcome:
    """The great-expectations object for one named expectation, or an ERROR outcome."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    refusal = argument_refusal(name, kwargs)
    if refusal:
        reason = f"invalid expectation: {refusal}"
        return CheckOutcome(check_name(name, kwargs), Status.ERROR, reason)
    try:
        config = ExpectationConfiguration(type=name, kwargs=dict(kwargs), meta={_INDEX_KEY: index})
        return config.to_domain_obj()
    except Exception as exc:  # unknown name, or arguments the expectation rejects
        message = " ".join(str(exc).split())
        return CheckOutcome(
            check_name(name, kwargs), Status.ERROR, f"invalid expectation: {message}"
        )


def _run_suite(
    df: pd.DataFrame, built: dict[int, Expectation], unique: list[tuple[str, dict[str, Any]]]
) -> dict[int, CheckOutcome]:
    """Run the expectations as one suite through an ephemeral context; outcomes by input index."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    try:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("retrain").add_dataframe_asset("window")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole window")
        suite = gx.ExpectationSuite(name="retrain-quality")
        for expectation in built.values():
            suite.add_expectation(expectation)
        suite = context.suites.add(suite)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name="retrain-quality", data=batch_definition, suite=suite)
        )
        frame = _columns_read(df, [unique[i] for i in built])
        results = validation.run(batch_parameters={"dataframe": frame}).results
    except Exception as exc:  # the suite as a whole could not run
        reason = f"great-expectations failed: {' '.join(str(exc).split())}"
        return {i: CheckOutcome(check_name(*unique[i]), Status.ERROR, reason) for i in built}
    outcomes = {}
    for result in results:
        config = result.expectation_config
        index = config.meta.get(_INDEX_KEY) if config is not None and config.meta else None
        if index is not None:
            outcomes[int(index)] = outcome_of(*unique[int(index)], result)
    return outcomes


def outcome_of(
    name: str, kwargs: dict[str, Any], result: ExpectationValidationResult | Result
) -> CheckOutcome:
    """Translate one great-expectations result into a CheckOutcome with a readable reason."""
    check, target = check_name(name, kwargs), _target(kwargs)
    raised = _exception_message(result.exception_info)
    if raised is not None:
        return CheckOutcome(check, Status.ERROR, f"{target}: could not evaluate: {raised}")
    status = Status.PASS if result.success else Status.FAIL
    details = result.result or {}
    if "unexpected_count" in details:
        count, total = details["unexpected_count"], details.get("element_count")
        reason = f"{target}: {count} of {total} values unexpected"
        if count and status is Status.FAIL:
            reason += _unexpected_sample(name, details)
        return CheckOutcome(check, status, reason, observed=float(count))
    value = details.get("observed_value")
    arguments = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "column")
    verdict = "meets" if result.success else "violates"
    reason = f"{target}: observed {_short(value)}, {verdict} {name}({arguments})"
    return CheckOutcome(check, status, reason, observed=_number(value))


def _exception_message(info: Any) -> str | None:
    """The message of an exception great-expectations caught, in either shape it reports."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return " ".join(str(entry.get("exception_message") or "unknown error").split())
    return None


def _unexpected_sample(name: str, details: dict[str, Any]) -> str:
    if name in _NULL_EXPECTATIONS:
        return " (null)"
    sample = list(dict.fromkeys(map(_short, details.get("partial_unexpected_list") or [])))
    return f" (e.g. {', '.join(sample[:_SAMPLE_SIZE])})" if sample else ""


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@contextlib.contextmanager
def _quiet_gx() -> Iterator[None]:
    """Hold great-expectations' loggers at WARNING or above while it imports and runs."""
    package = logging.getLogger("great_expectations")
    saved = {package: package.level}
    package.setLevel(max(package.level, logging.WARNING))
    try:
        import great_expectations  # noqa: F401  (first import creates the loggers scanned below)

        loggers = [
            logger
            for name, logger in list(logging.root.manager.loggerDict.items())
            if name.startswith("great_expectations.") and isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            if 0 < logger.level < logging.WARNING:
                saved[logger] = logger.level
                logger.setLevel(logging.WARNING)
        yield
    finally:
        for logger, level in saved.items():
            logger.setLevel(level)
