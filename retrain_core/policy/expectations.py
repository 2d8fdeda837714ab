"""Expectation names and arguments, checked against a static table (importing GE takes seconds).

The table in expectation_args.py is generated from great-expectations' own expectation classes
(pydantic models) by `python -m retrain_core.policy.expectation_gen`; a test fails when the
installed version disagrees. An argument is accepted only when the table lists it for that
expectation and the value has a kind the class accepts: anything else is refused before it
reaches great-expectations. Arguments great-expectations evaluates as code (`row_condition`,
`condition_parser`, SQL queries) and suite parameters (mappings) are never accepted.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from retrain_core.policy.expectation_args import ARGUMENTS, REFUSED

KNOWN_EXPECTATIONS: frozenset[str] = frozenset((*ARGUMENTS, *REFUSED))

# great-expectations runs these as code: pandas DataFrame.query/eval, Spark filters, SQL.
CODE_ARGUMENT = re.compile(r"^(row_condition|condition_parser)$|query")
CODE_REFUSAL = (
    "refused: great-expectations evaluates this argument as code; select the rows in the "
    "data source instead"
)
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
    from retrain_core.policy.finding import did_you_mean

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
    from retrain_core.policy.finding import describe

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
