"""The watermark: what earlier checks already judged, kept as a JSON string in the ledger.

Two kinds, chosen by the source (see `retrain_core.data.windows`):

- **files** (globs, and a single file without a timestamp): the sorted keys of the files already
  judged. A key is the file's path relative to the glob's fixed folder (``2024/b7.parquet``), so
  the watermark means the same on every worker whatever its project root. A file is new when its
  key is not in the set, so a batch is judged exactly once even when it lands late with an older
  name, and nothing is read twice. Keys of files that no longer exist are dropped (archiving old
  batches keeps the watermark small). The whole set is kept: the ledger stores a watermark too
  long for an MLflow tag as an artifact of the check's run. Watermarks written before that
  may hold the list zlib-compressed (`files_z`) and the oldest keys folded into `floor` (every
  key sorting at or below it counts as judged); they are still read, and a floor is kept.
  Each judged key also keeps its file's fingerprint (`prints`: size, modification time and a
  hash of its bytes, see `retrain_core.data.prints`), so a batch rewritten after its check is
  judged again: a verdict belongs to the content, not the name.
- **timestamp** (SQL, and a single file with a timestamp column): the newest timestamp judged;
  rows with a timestamp strictly after it are new (microsecond resolution, naive times are UTC).
  Like every event-time watermark, a row arriving late with an older timestamp is not judged.
"""

from __future__ import annotations

import base64
import bisect
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from retrain_core.data.errors import DataConfigError

VERSION = 1


@dataclass(frozen=True)
class Watermark:
    """What has been judged: the newest timestamp, or the judged file keys above a floor."""

    timestamp: datetime | None = None
    files: tuple[str, ...] = ()
    floor: str | None = None
    prints: Mapping[str, str] = field(default_factory=dict, hash=False)  # key -> fingerprint

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
        object.__setattr__(self, "prints", {k: v for k, v in self.prints.items() if self.seen(k)})

    def seen(self, key: str) -> bool:
        """True when the file with this key was judged by an earlier check."""
        if self.floor is not None and key <= self.floor:
            return True
        index = bisect.bisect_left(self.files, key)
        return index < len(self.files) and self.files[index] == key

    def after_files(
        self, present: Iterable[str], judged: Iterable[str], prints: Mapping[str, str] | None = None
    ) -> Watermark:
        """The next files watermark: keys judged so far that still exist, plus `judged`; each
        keeps its fingerprint, or takes the one in `prints` (a file judged or first seen now)."""
        present_keys = set(present)
        kept = [key for key in self.files if key in present_keys]
        keys = tuple(sorted({*kept, *judged}))
        merged = {k: v for k, v in self.prints.items() if k in present_keys}
        merged.update(prints or {})
        return Watermark(timestamp=self.timestamp, files=keys, floor=self.floor, prints=merged)

    def after_timestamp(self, newest: datetime | None) -> Watermark:
        """The next timestamp watermark: the later of this one and `newest`."""
        if newest is None:
            return self
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        if self.timestamp is not None and self.timestamp >= newest:
            return self
        return Watermark(timestamp=newest, files=self.files, floor=self.floor, prints=self.prints)

    def to_json(self) -> str:
        """A compact JSON string, every judged key in it."""
        data: dict[str, object] = {"v": VERSION}
        if self.timestamp is not None:
            data["ts"] = self.timestamp.isoformat()
        if self.floor is not None:
            data["floor"] = self.floor
        if self.files:
            data["files"] = list(self.files)
        if self.prints:
            data["prints"] = dict(sorted(self.prints.items()))
        return _dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Watermark:
        """Read back a string written by `to_json` (or by the compressing writer before it)."""
        try:
            data = json.loads(text)
            if data.get("v") != VERSION:
                raise ValueError(f"unknown watermark version {data.get('v')!r}")
            files = data.get("files") or (_unpack(data["files_z"]) if "files_z" in data else [])
            stamp = datetime.fromisoformat(data["ts"]) if data.get("ts") else None
            prints = {str(k): str(v) for k, v in (data.get("prints") or {}).items()}
            return cls(stamp, tuple(files), data.get("floor"), prints)
        except (ValueError, TypeError, KeyError, AttributeError, zlib.error) as exc:
            raise DataConfigError(f"unreadable watermark {text[:80]!r}: {exc}") from exc


def _dumps(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _unpack(packed: str) -> list[str]:
    """The key list of a watermark written compressed (stores from before artifacts)."""
    return zlib.decompress(base64.b64decode(packed)).decode().split("\n")
