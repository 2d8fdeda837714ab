"""A wide window of a file glob judged from its batches' profiles, not from its rows.

With `data.current.profiles: auto` (the default), a window of `all` or `last: 30d` over a glob of
files is loaded as since_last_check loads (`monitor.windows`: the new batches only, judged one
by one). `profile_window` then gives the checks the whole window as one merged batch profile
(`Windows.current_profile`, `checks.batch_profile`):

* each new batch is profiled from the rows just read (against the drift reference's profile,
  the model's features, `data.timestamp`), in the same pass;
* each batch an earlier check judged contributes its stored profile (`Registry.batch_profiles`,
  by content key: the batch's bytes, the reference and the features); one without a profile for
  this reference (a new champion's reference, a profile never stored) is streamed chunk by chunk
  and profiled once more;
* a `last` window takes a batch whole when all its rows are inside, leaves it out when none is,
  and reads only the batch it cuts through (its rows inside the window, profiled, not stored);
* the profiles are merged: drift, volume, freshness and the expectations a profile answers judge
  the merge, which gives the verdicts of binning the window's rows (`detect_drift_profiled`).

A window of at most `EXACT_MAX_ROWS` rows with a reference as small is read as rows instead (its
older batches are small), because drift tests such windows exactly, row by row: verdicts do not
change with the setting. `keep_profiles` stores, once the decision is known, the profiles of the
batches the check judged (never those it set aside). Memory holds the new rows (at most
`windows.NEW_ROWS_KEPT`), one chunk and the counts: a window of any size.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.checks.batch_profile import BatchProfile, merge, profile_frame, profile_key
from retrain_core.data.batches import content_digest
from retrain_core.data.files import CHUNK_ROWS, FileSet, iter_file, read_files, tables_to_frame
from retrain_core.data.readers import file_reader
from retrain_core.data.timestamps import parse_timestamps
from retrain_core.monitor.current_rows import CURRENT
from retrain_core.monitor.sql_window import profile_sql_window
from retrain_core.monitor.windows import Counts, Loaded, ProfilePlan
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.profile import ReferenceProfile
    from retrain_core.data.windows import LoadedWindow
    from retrain_core.monitor.settle import Settled
    from retrain_core.store.registry import Registry


def profile_window(
    registry: Registry, policy: Policy, root: Path, data: Loaded, now: datetime
) -> Loaded:
    """The current window as one merged profile (`Windows.current_profile`), from the stored
    profiles of its earlier batches and the profiles of its new ones; `counts` says how many
    were read now and how many loaded. Unchanged without a plan (`Loaded.plan`) or when the
    checks stop at the data's problems."""
    from retrain_core.checks.binned import EXACT_MAX_ROWS

    plan, w = data.plan, data.windows
    if plan is None or w.problems:
        return data
    if plan.in_database:  # a SQL window: its profile computed by the database
        return profile_sql_window(policy, root, data, now)
    current = data.loaded[CURRENT]
    files = file_reader(policy.data.current, root).files()
    if w.profile is None:  # no reference to bin against (an empty reference): rows, as before
        return _as_rows(policy, files, data, plan.old)
    features, stamp = policy.model.features, policy.data.timestamp
    numeric, categorical = list(features.numeric), list(features.categorical)
    new = [batch.key for batch in current.batches]
    keys = {
        key: profile_key(digest, w.profile, numeric, categorical, stamp)
        for key in [*plan.old, *new]
        for digest in [plan.digests.get(key) or content_digest(files, files.path_of(key))]
    }
    stored = registry.batch_profiles(policy.name, list(dict.fromkeys(keys.values())))
    profiles: dict[str, BatchProfile] = {}
    built: dict[str, BatchProfile] = {}
    for key, content in keys.items():
        if content in stored:
            profiles[key] = stored[content]
            continue
        rows = _kept_rows(current, key)
        if rows is not None:
            profile = profile_frame(rows, w.profile, numeric, categorical, stamp)
        else:
            profile = merge([
                profile_frame(chunk, w.profile, numeric, categorical, stamp)
                for chunk in _chunks(files, key, _columns(numeric, categorical, stamp))
            ])  # fmt: skip
        profile.key = content
        profiles[key] = built[key] = profile
    whole, cut_through = in_window(profiles, plan)
    parts = [profiles[key] for key in whole]
    for key, since in cut_through.items():  # the batch the window's start cuts through
        parts.append(_profile_after(files, current, key, since, w.profile, policy))
    window = merge(parts)
    read = set(built) | set(cut_through)
    counts = Counts(len(whole) + len(cut_through), len(read), len(set(profiles) - read))
    if max(window.rows, len(w.reference)) <= EXACT_MAX_ROWS and len(current.spans) == len(new):
        small = _as_rows(policy, files, data, [k for k in plan.old if k in {*whole, *cut_through}])
        return replace(small, counts=counts, built=built)
    newest = _time(window.newest).floor("us").to_pydatetime() if window.newest else None
    windows = replace(w, current_profile=window, newest=newest)
    return replace(data, windows=windows, counts=counts, built=built)


def in_window(
    profiles: dict[str, BatchProfile], plan: ProfilePlan
) -> tuple[list[str], dict[str, pd.Timestamp]]:
    """The batches (by key) wholly in the window, and those it cuts through with the time their
    rows must be after. `all` takes every batch; `last` counts back from the newest row of all,
    keeping rows strictly after `newest - last` (as the row path cuts), so a batch with rows on
    both sides of that time, with rows without a timestamp, or with unknown bounds is cut."""
    last = plan.window.last
    if last is None:
        return list(profiles), {}
    stamps = [p.newest for p in profiles.values() if p.newest is not None]
    if not stamps:
        return [], {}
    since = _time(max(stamps)) - last
    whole: list[str] = []
    cut_through: dict[str, pd.Timestamp] = {}
    for key, p in profiles.items():
        if p.newest is None or _time(p.newest) <= since:
            continue  # no row inside
        if p.oldest is not None and _time(p.oldest) > since and not p.untimed:
            whole.append(key)
        else:
            cut_through[key] = since
    return whole, cut_through


def keep_profiles(
    registry: Registry, name: str, data: Loaded, settled: Settled, now: datetime | None
) -> dict[str, float] | None:
    """Store the profiles built this check of the batches it judged (`settled.judged`) and of
    the earlier batches profiled again (a batch set aside keeps none); the counts of a profiled
    window as the ledger's metrics (`batches.profiled`, `batches.loaded`, `batches.batches`)."""
    if data.plan is None or data.counts is None:
        return None
    keep = {batch.key for _, batch in settled.judged} | set(data.plan.old)
    kept = [profile for key, profile in data.built.items() if key in keep]
    if kept and now is not None:
        registry.store_batch_profiles(name, kept, now=now)
    return {f"batches.{key}": float(value) for key, value in data.counts.as_dict().items()}


def _kept_rows(current: LoadedWindow, key: str) -> pd.DataFrame | None:
    """A new batch's rows still in memory (None when let go: it is streamed again)."""
    span = current.spans.get(key)
    return None if span is None else current.frame.iloc[span[0] : span[1]]


def _columns(numeric: list[str], categorical: list[str], stamp: str | None) -> list[str]:
    return list(dict.fromkeys([*numeric, *categorical, *([stamp] if stamp else [])]))


def _chunks(files: FileSet, key: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    for batch in iter_file(files, files.path_of(key), columns, CHUNK_ROWS, categories=True):
        yield batch.to_pandas()


def _profile_after(
    files: FileSet,
    current: LoadedWindow,
    key: str,
    since: pd.Timestamp,
    reference: ReferenceProfile,
    policy: Policy,
) -> BatchProfile:
    """The profile of a batch's rows stamped after `since` (read now, not stored)."""
    features, stamp = policy.model.features, policy.data.timestamp
    assert stamp is not None  # a last window needs data.timestamp
    numeric, categorical = list(features.numeric), list(features.categorical)
    kept = _kept_rows(current, key)
    chunks = (
        [kept] if kept is not None else _chunks(files, key, _columns(numeric, categorical, stamp))
    )
    parts = []
    for chunk in chunks:
        times = parse_timestamps(chunk[stamp]) if stamp in chunk.columns else None
        inside = chunk[(times > since).to_numpy()] if times is not None else chunk.iloc[:0]
        parts.append(profile_frame(inside, reference, numeric, categorical, stamp))
    return merge(parts)


def _as_rows(policy: Policy, files: FileSet, data: Loaded, old: Collection[str]) -> Loaded:
    """The window read as rows (its earlier batches and the new rows), cut as the row path
    cuts: for a window too small to bin, or with no reference profile to bin against."""
    import pandas as pd

    from retrain_core.data import required_columns
    from retrain_core.data.windows import cut

    plan, stamp = data.plan, policy.data.timestamp
    assert plan is not None
    columns = required_columns(policy)
    earlier = tables_to_frame(read_files(files, list(old), columns), columns) if old else None
    current = data.loaded[CURRENT].frame
    frame = pd.concat([f for f in (earlier, current) if f is not None], ignore_index=True)
    parsed = parse_timestamps(frame[stamp]) if stamp and stamp in frame.columns else None
    if parsed is not None:
        frame[stamp] = parsed
    frame = cut(frame, plan.window, stamp if parsed is not None else None)
    newest = data.windows.newest
    if stamp and parsed is not None and frame[stamp].notna().any():
        newest = frame[stamp].max().floor("us").to_pydatetime()
    return replace(data, windows=replace(data.windows, current=frame, newest=newest))


def _time(text: str) -> pd.Timestamp:
    import pandas as pd

    return pd.Timestamp(text)
