"""Durations as people write them in policies: ``30s``, ``30m``, ``24h``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_REGEX = r"^\d+[smhdw]$"


def parse_duration(value: Any) -> timedelta:
    """Read ``7d`` as seven days; a timedelta passes through. Negative or unitless values fail."""
    if isinstance(value, timedelta):
        if value.total_seconds() < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, 24h or 7d, got {value!r}")
    if value.strip().startswith("-"):
        raise ValueError(f"a duration cannot be negative: {value!r}")
    match = _PATTERN.match(value)
    if not match:
        raise ValueError(
            f"invalid duration {value!r}: write a whole number and a unit s, m, h, d or w "
            "(30m, 24h, 7d)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """Write a timedelta back in the largest unit that divides it exactly (``86400s`` -> ``1d``)."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_REGEX, "examples": ["30m", "24h", "7d"]}),
]
