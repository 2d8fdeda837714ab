"""Durations as people write them in policies: ``30s``, ``30m``, ``24h``, ``7d``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_REGEX = r"^\d+[smhdw]$"
POSITIVE_DURATION_REGEX = r"^0*[1-9]\d*[smhdw]$"
MAX_SECONDS = 100 * 365 * 86400  # a century: anything longer is a typo, and overflows timedelta


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
    match = _PATTERN.match(value) if len(value) <= 40 else None
    if not match:
        raise ValueError(
            f"invalid duration {value[:40]!r}: write a whole number and a unit s, m, h, d or w "
            "(30m, 24h, 7d)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {value!r} is too long (at most {MAX_SECONDS // 86400}d)")
    return timedelta(seconds=seconds)


def at_most(limit: timedelta) -> AfterValidator:
    """A validator refusing durations longer than `limit` (a retry delay of a century)."""

    def check(value: timedelta) -> timedelta:
        if value > limit:
            raise ValueError(
                f"must be at most {format_duration(limit)}, got {format_duration(value)}"
            )
        return value

    return AfterValidator(check)


def positive(value: timedelta) -> timedelta:
    """A duration that must be longer than zero (a window, a period, an age)."""
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


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

PositiveDuration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(positive),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": POSITIVE_DURATION_REGEX, "examples": ["30m", "24h", "7d"]}
    ),
]
