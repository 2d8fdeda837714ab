"""The watermark: what earlier checks already judged, kept as a short JSON string in the ledger.

Two kinds, chosen by the source (see `retrain_core.data.windows`):

- **files** (globs, and a single file without a timestamp): the sorted keys of the files already
  judged. A key is the file's path relative to the glob's fixed folder (``2024/b7.parquet``), so
  the watermark means the same on every worker whatever its project root. A file is new when its
  key is not in the set, so a batch is judged exactly once even when it lands late with an older
  name, and nothing is read twice. Keys of files that no longer exist are dropped (archiving old
  batches keeps the watermark small). When the set would not fit in an MLflow tag (5000
  characters) the list is zlib-compressed; when even that does not fit, the oldest keys in sort
  order are folded into `floor` (every key sorting at or below it counts as judged). The one
  trade-off: a file arriving after thousands of newer ones with a name below the floor is skipped.
- **timestamp** (SQL, and a single file with a timestamp column): the newest timestamp judged;
  rows with a timestamp strictly after it are new (microsecond resolution, naive times are UTC).
  Like every event-time watermark, a row arriving late with an older timestamp is not judged.
"""

from __future__ import annotations

import base64
import bisect
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from retrain_core.data.errors import DataConfigError

MAX_CHARS = 4000  # MLflow tag values hold 5000 characters; keep a margin for the tag's neighbours
VERSION = 1


@dataclass(frozen=True)
class Watermark:
    """What has been judged: the newest timestamp, or the judged file keys above a floor."""

    timestamp: datetime | None = None
    files: tuple[str, ...] = ()
    floor: str | None = None

    def __post_init__(self) -> None:
        """Keep the invariants: UTC timestamp, sorted unique keys, none at or below the floor."""
        if self.timestamp is not None:
            stamp = self.timestamp
            stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
            object.__setattr__(self, "timestamp", stamp)
        keys = sorted(set(self.files))
        if self.floor is not None:
            keys = [key for key in keys if key > self.floor]
        object.__setattr__(self, "files", tuple(keys))

    def seen(self, key: str) -> bool:
        """True when the file with this key was judged by an earlier check."""
        if self.floor is not None and key <= self.floor:
            return True
        index = bisect.bisect_left(self.files, key)
        return index < len(self.files) and self.files[index] == key

    def after_files(self, present: Iterable[str], judged: Iterable[str]) -> Watermark:
        """The next files watermark: keys judged so far that still exist, plus `judged`."""
        present_keys = set(present)
        kept = [key for key in self.files if key in present_keys]
        keys = tuple(sorted({*kept, *judged}))
        return _fit(keys, self.floor, self.timestamp)

    def after_timestamp(self, newest: datetime | None) -> Watermark:
        """The next timestamp watermark: the later of this one and `newest`."""
        if newest is None:
            return self
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        if self.timestamp is not None and self.timestamp >= newest:
            return self
        return Watermark(timestamp=newest, files=self.files, floor=self.floor)

    def to_json(self) -> str:
        """A compact JSON string (at most MAX_CHARS when built by `after_files`)."""
        data: dict[str, object] = {"v": VERSION}
        if self.timestamp is not None:
            data["ts"] = self.timestamp.isoformat()
        if self.floor is not None:
            data["floor"] = self.floor
        if self.files:
            data["files"] = list(self.files)
            plain = _dumps(data)
            if len(plain) <= MAX_CHARS:
                return plain
            del data["files"]
            data["files_z"] = _pack(self.files)
        return _dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Watermark:
        """Read back a string written by `to_json`."""
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                raise ValueError(f"unknown watermark version {data.get('v')!r}")
            files = data.get("files") or (_unpack(data["files_z"]) if "files_z" in data else [])
            stamp = datetime.fromisoformat(data["ts"]) if data.get("ts") else None
            return cls(timestamp=stamp, files=tuple(files), floor=data.get("floor"))
        except (ValueError, TypeError, KeyError, AttributeError, zlib.error) as exc:
            raise DataConfigError(f"unreadable watermark {text[:80]!r}: {exc}") from exc


def _fit(keys: tuple[str, ...], floor: str | None, stamp: datetime | None) -> Watermark:
    """Fold the fewest oldest keys into the floor so the JSON fits in MAX_CHARS."""
    full = Watermark(timestamp=stamp, files=keys, floor=floor)
    if len(full.to_json()) <= MAX_CHARS:
        return full
    low, high = 1, len(full.files)
    while low < high:
        middle = (low + high) // 2
        trial = Watermark(stamp, full.files[middle:], full.files[middle - 1])
        if len(trial.to_json()) <= MAX_CHARS:
            high = middle
        else:
            low = middle + 1
    return Watermark(stamp, full.files[low:], full.files[low - 1])


def _dumps(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _pack(keys: tuple[str, ...]) -> str:
    return base64.b64encode(zlib.compress("\n".join(keys).encode(), 9)).decode("ascii")


def _unpack(packed: str) -> list[str]:
    return zlib.decompress(base64.b64decode(packed)).decode().split("\n")
