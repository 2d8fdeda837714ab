"""Batches: read the files of a window one by one, and set aside each one that cannot be judged.

A batch file that cannot be read (zero bytes, truncated, not parquet, a CSV with the wrong
delimiter), that fails the policy's column rules, or that repeats a batch already judged (same
content under another name) is *quarantined*: it is left out of the window with a sentence saying
why, and the monitor records it in the ledger as a blocked decision. Quarantined files are skipped
by every later read (windows, label joins, training data) until a person releases them with
`retrain quarantine release`; the other batches are judged as usual.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.data.errors import DataConfigError, SourceUnavailable
from retrain_core.data.files import FileSet, read_files, tables_to_frame
from retrain_core.data.readers import file_reader, typed

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.sources import Source

DELIMITERS = ",;\t|"
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)  # the :watermark bound when every row is wanted
TRANSIENT = (FileNotFoundError, PermissionError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Quarantined:
    """A batch set aside: its source role, watermark key, path for people, and why."""

    role: str
    key: str
    path: str
    reason: str
    digest: str = ""


@dataclass(frozen=True)
class Batch:
    """A batch that was read and passed its rules: its watermark key, path and content digest."""

    key: str
    path: str
    digest: str
    rewritten: bool = False  # judged before under this name, with other bytes: judged again


@dataclass(frozen=True)
class Rules:
    """How to judge one batch: `problems(name, frame)` and `earlier(digest)` (a known copy)."""

    role: str = "current"
    problems: Callable[[str, pd.DataFrame], list[str]] | None = None
    earlier: Callable[[str], str | None] | None = None
    timestamp: str | None = None  # parsed to UTC in each batch, so zoned and naive ones agree
    latest: datetime | None = None  # a row stamped later: its batch is set aside (future_rows)
    categories: bool = False  # Parquet text read as categoricals (`files.read_files`)


@dataclass
class Judged:
    """The frames of the good batches, with what was kept and what was set aside.

    `rows` is each good batch's row count; `frames` are the frames of the last of `batches` (all
    of them unless `read_batches` was told to keep fewer rows).
    """

    frames: list[pd.DataFrame] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def read_batches(
    files: FileSet,
    keys: Sequence[str],
    marks: dict[str, str],
    columns: Sequence[str] | None,
    rules: Rules,
    fresh: Collection[str] = (),
    keep_rows: int | None = None,
) -> Judged:
    """Read and judge each file; `fresh` keys (new ones) are also checked for repeated data.

    With `keep_rows`, older frames are let go once the newer ones hold that many rows (each
    batch is still read and judged whole, one at a time): memory holds about `keep_rows` rows
    whatever the number of batches.
    """
    judged = Judged()
    digests: dict[str, str] = {}
    for key in keys:
        path = files.path_of(key)
        frame, reason = _read_and_judge(files, key, columns, rules)
        digest = ""
        if frame is not None and key in fresh:
            digest = data_digest(frame) or content_digest(files, path)
            reason = _repeated(digest, digests, rules, marks[key])
        if frame is None or reason is not None:
            reason = reason or "cannot be judged"
            judged.quarantined.append(Quarantined(rules.role, marks[key], path, reason, digest))
            continue
        if digest:
            digests[digest] = key
        judged.frames.append(frame)
        judged.batches.append(Batch(marks[key], path, digest))
        judged.rows.append(len(frame))
        while keep_rows is not None and sum(map(len, judged.frames[1:])) >= keep_rows:
            judged.frames.pop(0)
    return judged


def data_digest(frame: pd.DataFrame) -> str:
    """A digest of the rows whatever their order, file format or compression ("" if unhashable).

    The same batch delivered again, even rewritten by another tool, has the same digest.
    """
    import pandas as pd

    try:
        ordered = frame[sorted(map(str, frame.columns))]
        rows = pd.util.hash_pandas_object(ordered, index=False).to_numpy().copy()
    except (TypeError, ValueError):
        return ""
    rows.sort()
    sha = hashlib.sha256("\x1f".join(ordered.columns).encode())
    sha.update(rows.tobytes())
    return sha.hexdigest()


def judged_file(
    source: Source, columns: Sequence[str] | None, root: Path, skip: Collection[str], rules: Rules
) -> tuple[pd.DataFrame, Judged]:
    """A single file's rows once it passes its rules (no rows while it is set aside)."""
    files = file_reader(source, root).files()
    marks = {key: file_mark(files, key) for key in files.keys}
    keys = [key for key in files.keys if marks[key] not in skip]
    judged = read_batches(files, keys, marks, columns, rules)
    frame = concat(judged.frames, columns)
    if rules.timestamp and rules.timestamp not in frame.columns:
        frame[rules.timestamp] = _empty_times()
    return frame, judged


def read_judged(
    source: Source,
    columns: Sequence[str] | None,
    root: Path,
    skip: Collection[str] = (),
    rules: Rules | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """Every row of a source except quarantined files and files that fail `rules`.

    With the rows, each batch read as (watermark key, row count), in the order of its rows
    (none for a source of rows, e.g. a query: it has no batches).
    """
    if not source.source_kind.lists_files:  # rows, not batches: nothing to set aside
        return typed(source, root).read(columns, {"watermark": EARLIEST}), []
    files = file_reader(source, root).files()
    marks = {key: file_mark(files, key) for key in files.keys}
    keys = [key for key in files.keys if marks[key] not in skip]
    judged = read_batches(files, keys, marks, columns, rules or Rules())
    spans = [(b.key, len(f)) for b, f in zip(judged.batches, judged.frames, strict=True)]
    return concat(judged.frames, columns), spans


def _empty_times() -> pd.Series:
    import pandas as pd

    return pd.Series([], dtype="datetime64[ns, UTC]")


def file_mark(files: FileSet, key: str) -> str:
    """The watermark key of a file: its glob key, or name@fingerprint for a single file."""
    if files.is_glob:
        return key
    return f"{key}@{files.fs.checksum(files.path_of(key)) % 16**12:012x}"


def content_digest(files: FileSet, path: str) -> str:
    """The SHA-256 of the file's bytes (the same batch under another name has the same one)."""
    sha = hashlib.sha256()
    try:
        with files.fs.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
    except TRANSIENT as exc:
        raise SourceUnavailable(f"{path}: {exc}") from exc
    return sha.hexdigest()


def concat(frames: Sequence[pd.DataFrame], columns: Sequence[str] | None) -> pd.DataFrame:
    """The good batches as one frame (an empty frame with the wanted columns when none)."""
    import pandas as pd

    if not frames:
        return tables_to_frame([], columns)
    if len(frames) == 1:
        frame = frames[0]
        if frame.index.equals(pd.RangeIndex(len(frame))):  # as read: no copy of its rows
            return frame
        return frame.reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def _repeated(digest: str, digests: dict[str, str], rules: Rules, key: str) -> str | None:
    """Why a batch is a repeat of one judged earlier (in this read, or by an earlier check)."""
    copy = digests.get(digest) or (rules.earlier(digest) if rules.earlier else None)
    if copy is None or copy == key:  # its own rows, written again: not a second delivery
        return None
    return f"same content as the batch {copy} already judged (delivered twice under two names)"


def _read_and_judge(
    files: FileSet, key: str, columns: Sequence[str] | None, rules: Rules
) -> tuple[pd.DataFrame | None, str | None]:
    """The batch's frame, or None and the sentence that says why it cannot be judged."""
    path = files.path_of(key)
    try:
        frame = tables_to_frame(read_files(files, [key], columns, rules.categories), columns)
    except DataConfigError:
        raise
    except SourceUnavailable as exc:
        if isinstance(exc.__cause__, TRANSIENT) or not _is_local(files):
            raise
        return None, f"cannot read it: {_cause(exc)}"
    except Exception as exc:  # any other failure to parse this one file: the file is bad
        return None, f"cannot read it as {files.format}: {_cause(exc)}"
    problems = _delimiter_problem(files, path, frame, columns)
    if not problems and rules.problems is not None:
        problems = rules.problems("the batch", frame)
    if problems:
        return None, "; ".join(problems)
    frame = _utc_times(frame, rules.timestamp)
    future = future_rows(frame, rules.timestamp, rules.latest) if files.is_glob else None
    return (None, future) if future else (frame, None)


def future_rows(frame: pd.DataFrame, timestamp: str | None, latest: datetime | None) -> str | None:
    """Why a batch holding rows stamped after `latest` (the check's time plus
    `data.future_tolerance`) is set aside, or None: a misdated row would move the windows, the
    watermarks and a model's training window into the future."""
    from pandas.api import types

    if latest is None or timestamp is None or timestamp not in frame.columns:
        return None
    stamps = frame[timestamp]
    if not types.is_datetime64_any_dtype(stamps):
        return None
    later = stamps > latest
    if not later.any():
        return None
    newest = stamps.max().isoformat()
    return (
        f"{int(later.sum())} of {len(frame)} rows are stamped in the future (up to {newest}, "
        f"later than the check's time plus data.future_tolerance: {latest.isoformat()}): fix "
        "their timestamps (or the clock that wrote them), then release the batch"
    )


def _utc_times(frame: pd.DataFrame, timestamp: str | None) -> pd.DataFrame:
    """The batch with its timestamp column as UTC datetimes when it parses (else as it is)."""
    from retrain_core.data.timestamps import parse_timestamps

    if timestamp is None or timestamp not in frame.columns:
        return frame
    stamps = parse_timestamps(frame[timestamp])
    return frame if stamps is None else frame.assign(**{timestamp: stamps})


def _delimiter_problem(
    files: FileSet, path: str, frame: pd.DataFrame, columns: Sequence[str] | None
) -> list[str]:
    """A CSV whose header is one column that another delimiter would split: say so."""
    if files.format != "csv" or (columns is not None and len(frame.columns) > 1):
        return []
    try:
        with files.fs.open(path, "rb", compression="infer") as handle:
            header = handle.readline().decode("utf-8-sig", errors="replace").strip()
    except Exception:  # the read above succeeded: this sniffing is best effort
        return []
    if len(next(csv.reader([header]), [])) > 1:
        return []
    found = [d for d in DELIMITERS[1:] if d in header]
    if not found:
        return []
    shown = {"\t": "tab"}.get(found[0], repr(found[0]))
    return [
        f"one column found; is the delimiter ','? its header looks {shown}-separated "
        "(CSV batches must be comma-separated)"
    ]


def _is_local(files: FileSet) -> bool:
    protocol = files.fs.protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))


def _cause(exc: BaseException) -> str:
    """The root message, without the data source's own prefix repeated."""
    inner = exc.__cause__ or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text[:300]
