"""Expectation names and arguments, checked against a static table (importing GE takes seconds).

The table in expectation_args.py is generated from great-expectations' own expectation classes
(pydantic models) by `python -m retrain_core.policy.expectations`; a test fails when the installed
version disagrees. An argument is accepted only when the table lists it for that expectation and
the value has a kind the class accepts: anything else is refused before it reaches
great-expectations. Arguments great-expectations evaluates as code (`row_condition`,
`condition_parser`, SQL queries) and suite parameters (mappings) are never accepted.
"""

from __future__ import annotations

import math
import re
import sys
import typing
from datetime import date, datetime
from enum import Enum
from typing import Any

from retrain_core.policy.expectation_args import ARGUMENTS, REFUSED

KNOWN_EXPECTATIONS: frozenset[str] = frozenset((*ARGUMENTS, *REFUSED))

# great-expectations runs these as code: pandas DataFrame.query/eval, Spark filters, SQL.
CODE_ARGUMENT = re.compile(r"^(row_condition|condition_parser)$|query")
CODE_REFUSAL = (
    "refused: great-expectations evaluates this argument as code; select the rows in the "
    "data source instead"
)
# Fields every expectation has, set by retrain rather than by a policy.
_NOT_ARGUMENTS = frozenset({"batch_id", "library_metadata"})
_MAX_DEPTH = 3  # a list of lists (value_pairs_set) at most


def argument_problems(name: str, kwargs: Any) -> list[tuple[str | None, str]]:
    """(argument or None, message) for each problem of one expectation's arguments."""
    if name in REFUSED:
        return [(None, f"{name} cannot be used in a policy: {REFUSED[name]}")]
    table = ARGUMENTS.get(name)
    if table is None or not isinstance(kwargs, dict):
        return []  # unknown names and wrong shapes are reported elsewhere
    problems: list[tuple[str | None, str]] = []
    for key, value in kwargs.items():
        key = str(key)
        if CODE_ARGUMENT.search(key):
            problems.append((key, CODE_REFUSAL))
        elif key not in table:
            problems.append((key, _unknown(name, key, table)))
        else:
            problem = value_problem(table[key], value) or _regex_problem(key, value)
            if problem:
                problems.append((key, problem))
    missing = [key for key, spec in table.items() if spec.get("required") and key not in kwargs]
    problems += [(None, f"{name} needs the argument {key!r}") for key in missing]
    return problems


def argument_refusal(name: str, kwargs: Any) -> str | None:
    """Why an expectation must not run (unknown, refused, bad arguments), or None: the run-time
    guard, so a policy that skipped `retrain validate` still cannot pass code to GE."""
    if name not in KNOWN_EXPECTATIONS:
        return f"expectation {name!r} not found among the great-expectations expectations"
    if not isinstance(kwargs, dict):
        return "the arguments must be a mapping"
    problems = argument_problems(name, kwargs)
    return "; ".join(f"{key}: {text}" if key else text for key, text in problems) or None


def value_problem(spec: dict[str, Any], value: Any) -> str | None:
    """Why `value` does not fit an argument's spec (kinds, choices, bounds), or None."""
    kinds = spec["kinds"]
    kind = _kind(value, kinds)
    if kind is None:
        return f"expected {_or(kinds)}, got {_shown(value)}"
    if kind == "list":
        return _list_problem(value, 1)
    choices = spec.get("choices")
    if choices and value not in choices:
        return f"expected one of {', '.join(map(repr, choices))}, got {_shown(value)}"
    if kind in ("number", "integer"):
        return _bounds_problem(spec, float(value))
    return None


def _regex_problem(key: str, value: Any) -> str | None:
    """A pattern argument that does not compile, or whose nested repeats can backtrack for
    ever on a hostile value (`(a+)+`): the check would hang the monitor."""
    if "regex" not in key:
        return None
    for pattern in value if isinstance(value, list) else [value]:
        if not isinstance(pattern, str):
            continue
        try:
            import re._parser as parser  # the stdlib's own parse tree of the pattern

            tree = parser.parse(pattern)
        except re.error as exc:
            return f"not a valid regular expression ({exc.msg}): {pattern[:40]!r}"
        if _nested_repeat(list(tree), inside=False):
            return (
                f"nested repeats such as (a+)+ can take exponential time: rewrite {pattern[:40]!r}"
            )
    return None


def _nested_repeat(items: list[Any], inside: bool) -> bool:
    """True when an unbounded repeat sits inside another repeat in a regex parse tree."""
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            repeats = arg[1] > 1  # (min, max, subpattern): a `?` does not count
            if (inside and repeats) or _nested_repeat(list(arg[2]), inside or repeats):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(list(arg[-1]), inside):
                return True
        elif name == "BRANCH" and any(_nested_repeat(list(b), inside) for b in arg[1]):
            return True
    return False


def _unknown(name: str, key: str, table: dict[str, Any]) -> str:
    """`<name> has no argument 'x'` with the closest known argument or the list of them."""
    from retrain_core.policy.findings import did_you_mean

    hint = did_you_mean(key, list(table)) or f" (expected one of: {', '.join(table)})"
    return f"{name} has no argument {key!r}{hint}"


def _kind(value: Any, kinds: list[str]) -> str | None:
    """The kind among `kinds` that `value` is, or None."""
    if value is None:
        return "null" if "null" in kinds else None
    if isinstance(value, bool):
        found = "boolean"
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        found = "integer" if "integer" in kinds else "number"
    elif isinstance(value, float):
        found = "number" if math.isfinite(value) else "non-finite"
    elif isinstance(value, str):
        found = "date" if "date" in kinds and "string" not in kinds else "string"
        if found == "date" and not _is_date(value):
            return None
    elif isinstance(value, list):
        found = "list"
    else:
        return None
    return found if found in kinds or "any" in kinds else None


def _list_problem(items: list[Any], depth: int) -> str | None:
    """Lists hold plain finite values (or lists of them), never mappings."""
    for item in items:
        if isinstance(item, list) and depth < _MAX_DEPTH:
            problem = _list_problem(item, depth + 1)
            if problem:
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return f"list items must be finite numbers, got {item!r}"
        elif not (item is None or isinstance(item, str | int | float | bool)):
            return f"list items must be plain values, got {_shown(item)}"
    return None


def _bounds_problem(spec: dict[str, Any], number: float) -> str | None:
    """Why a number is outside the argument's bounds (ge, gt, le, lt), or None."""
    checks = (("ge", ">=", number >= spec.get("ge", -math.inf)),
              ("gt", ">", number > spec.get("gt", -math.inf)),
              ("le", "<=", number <= spec.get("le", math.inf)),
              ("lt", "<", number < spec.get("lt", math.inf)))  # fmt: skip
    failed = [f"{sign} {spec[key]}" for key, sign, ok in checks if key in spec and not ok]
    return f"must be {' and '.join(failed)}, got {number:g}" if failed else None


def _is_date(text: str) -> bool:
    """True for an ISO date or datetime string."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _shown(value: Any) -> str:
    """A value as messages show it (NaN and infinity by name)."""
    from retrain_core.policy.findings import describe

    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return describe(value)


def _or(kinds: list[str]) -> str:
    """`a string or a finite number` for a list of kinds."""
    words = [_WORDS.get(kind, kind) for kind in kinds if kind != "null"]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


_WORDS = {
    "string": "a string",
    "number": "a finite number",
    "integer": "an integer",
    "boolean": "a boolean",
    "list": "a list",
    "date": "an ISO date string",
    "any": "a plain value",
}


# --- generation from the installed great-expectations (tests and maintainers only) -------------


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
    import collections.abc

    return isinstance(origin, type) and issubclass(origin, collections.abc.Sequence)


def render() -> str:
    """The source of expectation_args.py for the installed great-expectations."""
    import great_expectations

    arguments, refused = generate()
    return (
        f'"""Generated from great-expectations {great_expectations.__version__} by '
        "`python -m retrain_core.policy.expectations`: do not edit.\n\n"
        "ARGUMENTS: each usable expectation's arguments (kinds of value, choices, bounds, "
        'required).\nREFUSED: expectations a policy cannot use, and why.\n"""\n\n'
        "# ruff: noqa: E501\n"
        "from typing import Any\n\n"
        f"ARGUMENTS: dict[str, dict[str, dict[str, Any]]] = {arguments!r}\n\n"
        f"REFUSED: dict[str, str] = {refused!r}\n"
    )


if __name__ == "__main__":
    sys.stdout.write(render())
