"""Generate expectation_args.py from the installed great-expectations' expectation classes.

Run `python -m retrain_core.policy.expectation_gen > retrain_core/policy/expectation_args.py`
after upgrading great-expectations; tests/policies/test_expectations_list.py compares the two.
Only maintainers and that test import this module (it imports great-expectations).
"""

from __future__ import annotations

import collections.abc
import sys
import typing
from datetime import date
from enum import Enum
from typing import Any

from retrain_core.policy.expectations import CODE_ARGUMENT

# Fields every expectation has, set by retrain rather than by a policy.
_NOT_ARGUMENTS = frozenset({"batch_id", "library_metadata"})


def generate() -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, str]]:
    """The argument table and the refused expectations, read from great-expectations' classes."""
    import great_expectations  # noqa: F401  (registers the core expectations)
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    common = set(Expectation.__fields__) | _NOT_ARGUMENTS
    arguments: dict[str, dict[str, dict[str, Any]]] = {}
    refused: dict[str, str] = {}
    for name in sorted(list_registered_expectation_implementations()):
        fields = get_expectation_impl(name).__fields__
        table, reason = {}, None
        for field in fields.values():
            if field.name in common:
                continue
            spec = _spec(field)
            if CODE_ARGUMENT.search(field.alias) and field.required:
                reason = f"it runs its argument {field.alias!r} as a SQL query"
            elif not CODE_ARGUMENT.search(field.alias) and spec["kinds"]:
                table[field.alias] = spec
            elif field.required:
                reason = f"its argument {field.alias!r} is a mapping, which a policy cannot hold"
        if reason:
            refused[name] = reason
        else:
            arguments[name] = table
    return arguments, refused


def _spec(field: Any) -> dict[str, Any]:
    """Kinds, choices and bounds of one pydantic (v1) field of an expectation class."""
    kinds: set[str] = set()
    choices: list[Any] = []
    spec: dict[str, Any] = {}
    _collect(field.annotation, kinds, choices, spec)
    if field.allow_none or (not field.required and field.default is None):
        kinds.add("null")
    if kinds - {"null"}:
        spec["kinds"] = sorted(kinds)
    else:
        spec["kinds"] = []
    if choices:
        spec["choices"] = choices
    if field.required:
        spec["required"] = True
    return spec


def _collect(tp: Any, kinds: set[str], choices: list[Any], spec: dict[str, Any]) -> None:
    """Walk a type annotation: unions, Literal, Annotated, constrained numbers, containers."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        _collect(args[0], kinds, choices, spec)
    elif origin is typing.Union:
        for arg in args:
            _collect(arg, kinds, choices, spec)
    elif origin is typing.Literal:
        kinds.add("string")
        choices.extend(args)
    elif tp is type(None):
        kinds.add("null")
    elif tp is typing.Any:
        kinds.add("any")
    elif origin in (list, set, tuple, frozenset) or (origin is not None and _is_sequence(origin)):
        kinds.add("list")
    elif isinstance(tp, type):
        _collect_class(tp, kinds, choices, spec)


def _collect_class(tp: type, kinds: set[str], choices: list[Any], spec: dict[str, Any]) -> None:
    """Kinds, choices and bounds of a plain class in an annotation."""
    if issubclass(tp, Enum):
        kinds.add("string")
        choices.extend(member.value for member in tp)
    elif issubclass(tp, bool):
        kinds.add("boolean")
    elif issubclass(tp, int | float):
        kinds.add("integer" if issubclass(tp, int) else "number")
        for key in ("ge", "gt", "le", "lt"):
            if getattr(tp, key, None) is not None:
                spec[key] = float(getattr(tp, key))
    elif issubclass(tp, str):
        kinds.add("string")
    elif issubclass(tp, date):
        kinds.add("date")
    elif issubclass(tp, list | set | tuple | frozenset):
        kinds.add("list")


def _is_sequence(origin: Any) -> bool:
    """True for collections.abc.Sequence and its subclasses (typing.Sequence[str])."""
    return isinstance(origin, type) and issubclass(origin, collections.abc.Sequence)


def render() -> str:
    """The source of expectation_args.py for the installed great-expectations."""
    import great_expectations

    arguments, refused = generate()
    return (
        f'"""Generated from great-expectations {great_expectations.__version__} by '
        "`python -m retrain_core.policy.expectation_gen`: do not edit.\n\n"
        "ARGUMENTS: each usable expectation's arguments (kinds of value, choices, bounds, "
        'required).\nREFUSED: expectations a policy cannot use, and why.\n"""\n\n'
        "# ruff: noqa: E501\n"
        "from typing import Any\n\n"
        f"ARGUMENTS: dict[str, dict[str, dict[str, Any]]] = {arguments!r}\n\n"
        f"REFUSED: dict[str, str] = {refused!r}\n"
    )


if __name__ == "__main__":
    sys.stdout.write(render())
