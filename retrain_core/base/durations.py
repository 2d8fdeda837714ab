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
            raise ValueError(f"must be at most {_exact(limit)}, got {_exact(value)}")
        return value

    return AfterValidator(check)


def positive(value: timedelta) -> timedelta:
    """A duration that must be longer than zero (a window, a period, an age)."""
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def format_duration(value: timedelta, *, exact: bool = False) -> str:
    """A duration for people: its two largest units, days at most, rounded down (``1d 2h``).

    With `exact`, as policies write it: the largest unit that divides it (``2w``, ``36h``), or
    seconds (``93780s``) when none does, so that `parse_duration` reads back the same value.
    """
    if value < timedelta(0):
        return f"-{format_duration(-value, exact=exact)}"
    seconds = int(value.total_seconds())
    if exact:
        unit = next((u for u in ("w", "d", "h", "m") if seconds % _UNITS[u] == 0), "s")
        return f"{seconds // _UNITS[unit]}{unit}" if seconds else "0s"
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNITS[unit] or (unit == "s" and not parts):
            parts.append(f"{seconds // _UNITS[unit]}{unit}")
            seconds %= _UNITS[unit]
    return " ".join(parts[:2])


def _exact(value: timedelta) -> str:
    """A duration as a policy writes it: how policies and prefect.yaml serialize one."""
    return format_duration(value, exact=True)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(_exact, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_REGEX, "examples": ["30m", "24h", "7d"]}),
]

PositiveDuration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(positive),
    PlainSerializer(_exact, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": POSITIVE_DURATION_REGEX, "examples": ["30m", "24h", "7d"]}
    ),
]
