"""The `data` section: where rows come from, and which of them a check judges.

A source's kinds are not written here: `Source` (and `CurrentSource`, `LabelSource`) has the keys
of every kind in the registry (`retrain_core.policy.source_kinds`), in the registry's order, each
optional, and takes up a kind registered later at once. Exactly one kind's choosing key is set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from retrain_core.base.durations import Duration, PositiveDuration, at_most
from retrain_core.policy.base import Strict
from retrain_core.policy.source_kinds import SOURCE_KINDS, SourceKind, on_change


class Source(Strict):
    """Where rows come from: a path or glob (local or fsspec URL) of CSV/Parquet, or SQL."""

    # The keys of every registered source kind, set by `sync_sources` before the own fields.
    own_fields: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:  # the kinds' keys (path, sql, ...) exist once `sync_sources` added them

        def __getattr__(self, name: str) -> Any: ...

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if len(self._chosen()) != 1:
            keys = [kind.selector for kind in SOURCE_KINDS.values()]
            raise ValueError(f"set exactly one of {_one_of(keys)}")
        try:
            _ = self.settings  # the kind's own rules (a key it needs beside its first)
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise ValueError("; ".join(problems)) from None
        return self

    def _chosen(self) -> list[SourceKind]:
        """The kinds whose choosing key is set (one in a valid source)."""
        kinds = SOURCE_KINDS.values()
        return [kind for kind in kinds if getattr(self, kind.selector, None) is not None]

    @property
    def source_kind(self) -> SourceKind:
        """The registry entry of this source's kind."""
        return self._chosen()[0]

    @property
    def kind(self) -> str:
        """Which kind of source this is, e.g. "files" or "sql"."""
        return self.source_kind.key

    @property
    def settings(self) -> BaseModel:
        """The kind's settings: its own keys of this source, as the kind's model."""
        names = self.source_kind.model.model_fields
        given = {name: getattr(self, name, None) for name in names}
        given = {name: value for name, value in given.items() if value is not None}
        return self.source_kind.model.model_validate(given)


def _one_of(keys: list[str]) -> str:
    """`a or b`, `a, b or c`."""
    return " or ".join([", ".join(keys[:-1]), keys[-1]] if len(keys) > 1 else keys)


def _window_shorthand(schema: dict[str, Any]) -> None:
    """Publish the string shorthands beside the mapping form, so editors accept both."""
    mapping = dict(schema)
    schema.clear()
    schema.update(
        title=mapping.pop("title", "Window"),
        description=mapping.pop("description", ""),
        anyOf=[{"type": "string", "enum": ["since_last_check", "all"]}, mapping],
    )


class Window(Strict):
    """Which rows of a source form the window; write `since_last_check` or one key below."""

    model_config = ConfigDict(json_schema_extra=_window_shorthand)

    since_last_check: bool = Field(
        False, description="All rows newer than the last check's watermark (never judged twice)."
    )
    last_rows: int | None = Field(None, ge=1, description="The newest N rows.")
    last: PositiveDuration | None = Field(
        None, description="Rows within this duration of the newest one."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value == "since_last_check":
            return {"since_last_check": True}
        if value == "all":
            return {}
        return value

    @model_validator(mode="after")
    def _at_most_one(self) -> Window:
        chosen = [self.since_last_check, self.last_rows is not None, self.last is not None]
        if sum(chosen) > 1:
            raise ValueError("choose one of since_last_check, last_rows or last")
        return self


class CurrentSource(Source):
    """The data to judge: a source and its window."""

    own_fields = ("window", "profiles")

    window: Window = Field(
        default_factory=lambda: Window(since_last_check=True),
        description="since_last_check (default), {last_rows: N} or {last: 7d}.",
    )
    profiles: Literal["auto", "rows"] = Field(
        "auto",
        description="How a window wider than since_last_check is judged. auto (default): for a "
        "glob of files with window all or last, each batch is profiled once, when it arrives "
        "(counts over the drift reference's bins, value counts, nulls, min, max, timestamps), and "
        "every later check judges drift, volume, freshness and the expectations a profile "
        "answers on the merge of the stored profiles, reading only the new batches (and the one "
        "a last window cuts through); a window of at most 50,000 rows (with a reference as "
        "small) is still read and tested row by row, as drift's exact tests need; the checks "
        "that need rows (estimated_performance, other expectations) read the new rows. A sql "
        "source with data.timestamp and window all or last is profiled in the database at every "
        "check (PostgreSQL counts, its rows stay there; SQLite is streamed in chunks) and only "
        "its rows after the watermark are read; a window of at most 50,000 rows (with a "
        "reference as small) is read whole, as for files. rows: read the whole window at every "
        "check. A last_rows window, a single file, SQL without data.timestamp and a cvm drift "
        "test always read rows.",
    )


class LabelSource(Source):
    """Labels that may arrive later than the features, joined on a key."""

    own_fields = ("join_on", "lag", "classes")

    join_on: str = Field(description="Key column present in both the features and the labels.")
    lag: Duration | None = Field(None, description="How late labels usually arrive (e.g. 1d).")
    classes: list[str | int] | None = Field(
        None,
        min_length=1,
        description="A closed set of the target's classes (classification): a label batch "
        "holding any other value is set aside (quarantined) with its reason. Unset (the "
        "default): a class the champion never saw is a finding, recorded (`data.new_class`), "
        "shown and notified (`new_class`), never a reason to set data aside, and the next "
        "training learns it.",
    )

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, classes: list[str | int] | None) -> list[str | int] | None:
        names = [str(value) for value in classes or ()]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"{', '.join(map(repr, repeated))} listed twice")
        return classes


class Data(Strict):
    """The reference window, the current window, and optional late labels."""

    reference: Source = Field(description="Data the champion is compared against.")
    current: CurrentSource = Field(description="New data to judge.")
    labels: LabelSource | None = Field(None, description="Late labels, joined on a key.")
    timestamp: str | None = Field(
        None, description="Timestamp column: watermarks, time windows, freshness, holdouts."
    )
    future_tolerance: Annotated[Duration, at_most(timedelta(days=365))] = Field(
        "1d",
        validate_default=True,
        description="How far after the check's time a row's timestamp may be (clocks differ, "
        "zones get mixed up; at most 365d): a batch holding a row stamped later is set aside "
        "(quarantined) with its reason, and a source of rows (a query, one dated file) leaves "
        "such rows out of the window until their time comes, so no watermark and no training "
        "window reaches into the future.",
    )
    drift_reference: Literal["champion", "reference"] = Field(
        "champion",
        description="What drift and estimated performance compare the current window with: "
        "champion (a sample of the serving champion's training rows, stored with its version; "
        "`reference` until the first promotion) or reference (always the fixed reference).",
    )


SOURCE_MODELS: tuple[type[Source], ...] = (Source, CurrentSource, LabelSource)
# Rebuilds of the models that hold a source (`policy.schema` adds `Training` and `Policy`).
REBUILD_WITH_SOURCES: list[Any] = []


def _optional(info: FieldInfo) -> FieldInfo:
    """A kind's field as a source's key: optional (null when another kind is chosen)."""
    annotation: Any = info.annotation
    if info.metadata:  # its constraints (a pattern, a bound) hold for the value when set
        annotation = Annotated[(annotation, *info.metadata)]
    return FieldInfo.from_annotated_attribute(
        annotation | None, Field(None, description=info.description)
    )


def sync_sources() -> None:
    """Give every source model the keys of every registered kind (before its own keys), then
    rebuild the models that use them."""
    kind_fields: dict[str, FieldInfo] = {}
    own = {name for model in SOURCE_MODELS for name in model.own_fields}
    for kind in SOURCE_KINDS.values():
        for name, info in kind.model.model_fields.items():
            if name in kind_fields or name in own or hasattr(Source, name):
                raise ValueError(f"source kind {kind.key!r} cannot have the key {name!r}")
            kind_fields[name] = _optional(info)
    for model in SOURCE_MODELS:
        fields = model.__pydantic_fields__
        mine = {name: fields[name] for name in model.own_fields}
        fields.clear()
        fields.update({**kind_fields, **mine})
        model.model_rebuild(force=True)
    Data.model_rebuild(force=True)
    for listener in REBUILD_WITH_SOURCES:
        listener()


sync_sources()
on_change(sync_sources)
