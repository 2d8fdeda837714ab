"""A batch's profile: what every later check needs from its rows, computed once, merged by adding.

Per numeric feature the counts of its values over the reference profile's fine bins
(`checks.profile.NumericProfile`: the same bins the binned drift test counts a window in, so the
counts of a window are the sum of its batches' counts and the merged KS statistic, its bound and
its p-value are exactly those of binning the window's rows: D_b <= D <= D_b + 1.5 / 1024); per
categorical feature the count of each value; per column the rows, nulls, min and max; the oldest
and newest timestamp and the rows without one (`untimed`), so a window cut by time (`last: 30d`)
takes a batch whole, leaves it out, or reads only the batch it cuts through. A batch is read
chunk by chunk (`data.files.iter_file`: a Parquet row group, a CSV block), so profiling holds one
chunk and the counts, never the whole file.

The numeric counts belong to one reference (`reference`, its content key): when the drift
reference changes (a new champion), the batches still in the window are profiled once more against
it; everything else in a profile does not depend on the reference. A categorical column with more
than ``MAX_CATEGORIES`` distinct values keeps no counts (an identifier is no category): its drift
and in-set checks need the rows (`too_many`).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from retrain_core.checks.columns import factorize, float_values, plain

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.profile import ReferenceProfile

FORMAT = 2  # version of the to_dict layout (2: bins as base64 of zlib'd int64; 1 still read)
FORMATS = (1, 2)
MAX_CATEGORIES = 10_000

Json = dict[str, Any]


@dataclass(eq=False)
class BatchProfile:
    """Counts of one batch (or the merge of many); `key` is its content key (`profile_key`)."""

    key: str
    reference: str  # the content key of the reference profile the numeric counts are over
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    low: dict[str, Any] = field(default_factory=dict)  # per column its min (None: all null)
    high: dict[str, Any] = field(default_factory=dict)
    bins: dict[str, np.ndarray] = field(default_factory=dict)  # numeric: counts per fine bin
    counts: dict[str, Counter[Any]] = field(default_factory=dict)  # categorical: per value
    too_many: set[str] = field(default_factory=set)  # categorical columns without counts
    newest: str | None = None  # the newest timestamp, ISO 8601 in UTC
    oldest: str | None = None  # the oldest timestamp (None: unknown, or no row has one)
    untimed: int = 0  # rows without a timestamp (a window cut by time leaves them out)

    @property
    def columns(self) -> list[str]:
        """The profiled columns."""
        return list(self.nulls)

    def to_dict(self) -> Json:
        """A JSON-safe dict (``from_dict`` reads it back)."""
        return {
            "format": FORMAT,
            "key": self.key,
            "reference": self.reference,
            "rows": self.rows,
            "nulls": self.nulls,
            "low": self.low,
            "high": self.high,
            "bins": {name: _packed(counts) for name, counts in self.bins.items()},
            "counts": {n: [[v, c] for v, c in tally.items()] for n, tally in self.counts.items()},
            "too_many": sorted(self.too_many),
            "newest": self.newest,
            "oldest": self.oldest,
            "untimed": self.untimed,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Json) -> BatchProfile:
        """The profile `to_dict` wrote; ValueError for another format."""
        if data.get("format") not in FORMATS:
            raise ValueError(f"unsupported batch profile format {data.get('format')!r}")
        read = _unpacked if data["format"] == 2 else _listed
        return cls(
            str(data["key"]),
            str(data["reference"]),
            int(data["rows"]),
            {k: int(v) for k, v in data["nulls"].items()},
            dict(data["low"]),
            dict(data["high"]),
            {k: read(v) for k, v in data["bins"].items()},
            {k: Counter({v: int(c) for v, c in pairs}) for k, pairs in data["counts"].items()},
            set(data["too_many"]),
            data["newest"],
            data.get("oldest"),  # profiles stored before these keys: their bounds are unknown
            int(data.get("untimed", 0)),
        )


def profile_key(digest: str, reference: ReferenceProfile, numeric: Sequence[str],
                categorical: Sequence[str], timestamp: str | None) -> str:  # fmt: skip
    """The content key of a batch's profile: its bytes' digest, the reference it was binned
    against and what was profiled (another reference or feature list is another profile)."""
    text = "\0".join([digest, reference.key, *numeric, "\0", *categorical, "\0", timestamp or ""])
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def profile_chunks(
    chunks: Iterable[pd.DataFrame],
    reference: ReferenceProfile,
    numeric: Sequence[str],
    categorical: Sequence[str],
    timestamp: str | None = None,
    key: str = "",
) -> BatchProfile:
    """The profile of the rows in `chunks`, one chunk held at a time."""
    profile = BatchProfile(key, reference.key)
    for chunk in chunks:
        profile = merge([profile, profile_frame(chunk, reference, numeric, categorical, timestamp)])
    profile.key = key
    return profile


def profile_frame(
    frame: pd.DataFrame,
    reference: ReferenceProfile,
    numeric: Sequence[str],
    categorical: Sequence[str],
    timestamp: str | None = None,
) -> BatchProfile:
    """The profile of one frame (a chunk, or a window small enough to hold)."""
    profile = BatchProfile("", reference.key, rows=len(frame))
    for name in numeric:
        if name not in frame.columns:
            continue
        try:
            values = float_values(frame[name])
        except (TypeError, ValueError):
            continue  # not numeric: drift says so from the reference and the rows
        null = np.isnan(values)
        profile.nulls[name] = int(null.sum())
        kept = values[~null]
        profile.low[name] = float(kept.min()) if kept.size else None
        profile.high[name] = float(kept.max()) if kept.size else None
        if name in reference.numeric:
            profile.bins[name] = reference.numeric[name].bin_counts(values)
    for name in categorical:
        if name not in frame.columns:
            continue
        codes, uniques = factorize(frame[name])
        profile.nulls[name] = int(np.count_nonzero(codes < 0))
        if len(uniques) > MAX_CATEGORIES:
            profile.too_many.add(name)
            continue
        tally = np.bincount(codes[codes >= 0], minlength=len(uniques))
        labels = [plain(u) for u in uniques]
        profile.counts[name] = Counter(dict(zip(labels, tally.tolist(), strict=True)))
        present = [v for v, c in zip(labels, tally, strict=True) if c]
        if present and _sortable(present):
            profile.low[name], profile.high[name] = min(present), max(present)
    if timestamp is not None and timestamp in frame.columns:
        profile.oldest, profile.newest, profile.untimed = _bounds(frame[timestamp])
    return profile


def merge(profiles: Sequence[BatchProfile], key: str = "") -> BatchProfile:
    """One profile of the rows of all `profiles` (over the same reference): counts add, min and
    max take the extremes. ValueError when their numeric counts are over different references."""
    references = {p.reference for p in profiles if p.bins}
    if len(references) > 1:
        raise ValueError("batch profiles binned against different references cannot be merged")
    merged = BatchProfile(key, references.pop() if references else "")
    if not references and profiles:
        merged.reference = profiles[0].reference
    for p in profiles:
        merged.rows += p.rows
        for name, nulls in p.nulls.items():
            merged.nulls[name] = merged.nulls.get(name, 0) + nulls
            merged.low[name] = _extreme(min, merged.low.get(name), p.low.get(name))
            merged.high[name] = _extreme(max, merged.high.get(name), p.high.get(name))
        for name, counts in p.bins.items():
            merged.bins[name] = merged.bins[name] + counts if name in merged.bins else counts.copy()
        for name, tally in p.counts.items():
            merged.counts.setdefault(name, Counter()).update(tally)
        merged.too_many |= p.too_many
        if p.newest is not None and (merged.newest is None or p.newest > merged.newest):
            merged.newest = p.newest
        merged.untimed += p.untimed
    timed = [p for p in profiles if p.rows > p.untimed]
    if timed and all(p.oldest is not None for p in timed):
        merged.oldest = min(str(p.oldest) for p in timed)
    for name in merged.too_many:
        merged.counts.pop(name, None)
    return merged


def _packed(counts: np.ndarray) -> str:
    """Bin counts as text that parses ~3x faster than a JSON list (a later check reads one
    profile per batch of its window): base64 of the zlib'd little-endian int64s."""
    return base64.b64encode(zlib.compress(counts.astype("<i8").tobytes(), 1)).decode("ascii")


def _unpacked(text: str) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(text))
    return np.frombuffer(raw, dtype="<i8").astype(np.int64)


def _listed(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)  # format 1: a JSON list


def _extreme(pick: Any, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return b if a is None else a
    try:
        return pick(a, b)
    except TypeError:  # values of different types (a column typed differently per batch)
        return None


def _sortable(values: list[Any]) -> bool:
    return len({type(v) for v in values}) == 1


def _bounds(stamps: pd.Series) -> tuple[str | None, str | None, int]:
    """The oldest and newest timestamp (ISO 8601, UTC) and the rows without one."""
    from retrain_core.data.timestamps import parse_timestamps

    parsed = parse_timestamps(stamps)
    if parsed is None or parsed.isna().all():
        return None, None, len(stamps)
    return str(parsed.min().isoformat()), str(parsed.max().isoformat()), int(parsed.isna().sum())
