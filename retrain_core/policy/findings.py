"""Pydantic validation errors turned into short `key.path: message` findings for policy files."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from retrain_core.policy.finding import Finding, describe, did_you_mean
from retrain_core.policy.locations import BLOCK_PATTERN, ENV_PATTERN
from retrain_core.policy.schema import NAME_PATTERN, Notify, Policy
from retrain_core.policy.sources import Window
from retrain_core.policy.yamlio import Path_

_NOUNS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_PATTERN_HELP = {
    NAME_PATTERN: "must be lowercase letters, digits, - or _, start with a letter and have at "
    "most 63 characters",
    r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$": "must be a dotted import path such as "
    "sklearn.linear_model.LogisticRegression",
    ENV_PATTERN: "must be the name of an environment variable (letters, digits and _)",
    BLOCK_PATTERN: "must be the name of a Prefect block (letters, digits, - and _)",
}
_MODEL_SHAPES: dict[type[BaseModel], str] = {
    Window: "since_last_check, all or a mapping such as {last: 7d} or {last_rows: 1000}",
}
_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "<="),
)
_PREFIXES = ("Value error, ", "Assertion failed, ")


def validation_findings(exc: ValidationError, data: Any) -> list[Finding]:
    """Every pydantic error as a finding; the errors of a union's members at one place merge."""
    groups: dict[Path_, list[ErrorDetails]] = {}
    for error in exc.errors(include_url=False):
        groups.setdefault(_place(error, data), []).append(error)
    return [Finding(place, _message(place, errors)) for place, errors in groups.items()]


def key_names(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts in YAML (aliases where set)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _place(error: ErrorDetails, data: Any) -> Path_:
    """The error's key path, without the union-member tags pydantic adds (`str`, `list[any]`)."""
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return loc
    node = data
    for depth, step in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not in_list and not (isinstance(node, dict) and step in node):
            return loc[:depth]
        node = node[step]
    return loc


def _message(place: Path_, errors: list[ErrorDetails]) -> str:
    """One message for all the errors at one place."""
    if any(e["type"] == "finite_number" for e in errors):  # NaN or infinity, whatever the union
        return f"must be a finite number, got {describe(errors[0]['input'])}"
    if len(errors) > 1 and all(e["type"] in _NOUNS for e in errors):
        nouns = list(dict.fromkeys(_NOUNS[e["type"]] for e in errors))
        if "a number" in nouns and "an integer" in nouns:
            nouns.remove("an integer")
        return f"expected {_or(nouns)}, got {describe(errors[0]['input'])}"
    return "; ".join(dict.fromkeys(_one_message(place, e) for e in errors))


def _one_message(place: Path_, error: ErrorDetails) -> str:
    """A short message for one pydantic error."""
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(tuple(error["loc"]), value)
    if kind in _NOUNS:
        return f"expected {_shape(place) or _NOUNS[kind]}, got {describe(value)}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        return f"expected {ctx.get('expected')}, got {describe(value)}{hint}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"must be {_bounds(place, ctx)}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"{_PATTERN_HELP.get(pattern, f'must match {pattern}')}, got {describe(value)}"
    if kind == "invalid_key":
        return f"keys must be strings, got {describe(place[-1] if place else value)}"
    return _clean(error["msg"])


def _unknown_key(loc: Path_, value: Any) -> str:
    """`unknown key 'x'` with a close known key, or the list of known keys."""
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is Notify and ("url" in key.lower() or "://" in str(value)):
        return (
            f"unknown key {key!r}: notify URLs never go in a policy; name a Prefect Secret "
            "block in urls_secret or an environment variable in urls_env"
        )
    if model is None:
        return f"unknown key {key!r}"
    known = key_names(model)
    hint = did_you_mean(key, known) or f" (expected one of: {', '.join(known)})"
    return f"unknown key {key!r}{hint}"


def _bounds(place: Path_, ctx: dict[str, Any]) -> str:
    """The allowed range of a number field, e.g. `> 0 and < 1`."""
    info = _field_at(place)
    metadata = info.metadata if info is not None else []
    parts = [
        f"{sign} {getattr(item, attr)}"
        for item in metadata
        for cls, attr, sign in _BOUNDS
        if isinstance(item, cls)
    ]
    if not parts:
        parts = [f"{sign} {ctx[attr]}" for _, attr, sign in _BOUNDS if attr in ctx]
    return " and ".join(parts)


def _shape(place: Path_) -> str | None:
    """How to write the model at `place` when a plain mapping is not the whole story."""
    model = _model_at(place)
    return _MODEL_SHAPES.get(model) if model is not None else None


def _clean(message: str) -> str:
    """Pydantic's message without its prefixes, starting lower case."""
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be").replace("String should", "must")
    return message[:1].lower() + message[1:]


def _or(words: list[str]) -> str:
    """`a, b or c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Annotated and unions unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _step(annotation: Any, step: str | int) -> tuple[Any, FieldInfo | None]:
    """The annotation one key or index below `annotation`, and its field when it is one."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(step, str):
            for name, info in member.model_fields.items():
                if step in (name, info.alias):
                    return info.annotation, info
        origin = get_origin(member)
        if origin is list and isinstance(step, int):
            return get_args(member)[0], None
        if origin is dict and isinstance(step, str):
            return get_args(member)[1], None
    return None, None


def _walk(loc: Path_) -> tuple[Any, FieldInfo | None]:
    """The annotation and field found by following `loc` down from Policy."""
    annotation: Any = Policy
    info: FieldInfo | None = None
    for step in loc:
        annotation, info = _step(annotation, step)
        if annotation is None:
            return None, None
    return annotation, info


def _field_at(loc: Path_) -> FieldInfo | None:
    """The pydantic field at `loc`, if `loc` ends at a model field."""
    return _walk(loc)[1]


def _model_at(loc: Path_) -> type[BaseModel] | None:
    """The policy model that the mapping at `loc` is validated as."""
    for member in _members(_walk(loc)[0]):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None
