"""The `schedule` and `arrival` sections: when the monitor runs (a clock, or data arriving)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from retrain_core.base.durations import Duration, at_most
from retrain_core.policy.base import Strict


class Schedule(Strict):
    """When the monitor runs: exactly one of cron, interval or rrule."""

    cron: str | None = Field(None, description="Cron expression, e.g. '0 2 * * *'.")
    interval: Duration | None = Field(None, description="Fixed interval, e.g. 6h.")
    rrule: str | None = Field(None, description="iCalendar RRULE string.")
    timezone: str = Field("UTC", description="IANA time zone, e.g. Europe/Paris.")
    active: bool = Field(True, description="Set false to deploy the schedule paused.")
    jitter: Duration | None = Field(
        None,
        description=(
            "Spread a fleet: move this policy's runs by a fixed offset in [0, jitter) derived from "
            "its name, e.g. 30m. With cron, the minute field must be one number and the offset "
            "stays within the hour; with an interval, the offset sets the schedule's anchor."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        given = [k for k in ("cron", "interval", "rrule") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"set exactly one of cron, interval or rrule (got {', '.join(given) or 'none'})"
            )
        return self

    @model_validator(mode="after")
    def _jitter_fits(self) -> Schedule:
        if self.jitter is None:
            return self
        seconds = self.jitter.total_seconds()
        if seconds <= 0:
            raise ValueError("jitter must be positive")
        if self.rrule is not None:
            raise ValueError("jitter works with cron or interval schedules, not rrule")
        if self.interval is not None and seconds >= self.interval.total_seconds():
            raise ValueError("jitter must be shorter than the interval")
        if self.cron is not None:
            minute = self.cron.split()[0]
            if not minute.isdigit():
                raise ValueError(
                    f"jitter needs a cron whose minute field is one number (got {minute!r})"
                )
            if int(minute) * 60 + seconds > 3600:
                raise ValueError(
                    f"jitter of {int(seconds // 60)} min from minute {minute} would leave the "
                    "hour; shorten it or move the minute"
                )
        return self

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"invalid cron expression {value[:60]!r}")
        return value

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str | None) -> str | None:
        from dateutil.rrule import rrulestr

        if value is not None and "FREQ=SECONDLY" in value.upper().replace(" ", ""):
            raise ValueError("an rrule fires at most once a minute (FREQ=SECONDLY overloads)")
        if value is not None:
            try:
                rrulestr(value)
            except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
                raise ValueError(f"invalid rrule {value[:60]!r}: {str(exc)[:80]}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise ValueError(
                f"unknown time zone {value[:60]!r} (use an IANA name such as UTC)"
            ) from None
        return value

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(minutes=1):
            raise ValueError("interval must be at least 1m (checks more often overload the system)")
        return value


class Arrival(Strict):
    """Run the monitor when data arrives: `retrain emit-arrival` sends this Prefect event."""

    event: str = Field("retrain.data.arrived", description="Prefect event name to react to.")
    within: Annotated[Duration, at_most(timedelta(days=1))] = Field(
        "0s", validate_default=True, description="Debounce: collect events for this long."
    )
