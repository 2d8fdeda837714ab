"""A window's profile from its batches' profiles: each batch profiled once, when first read.

`window_profile` looks up every batch's profile by its content key (the batch's bytes, the
reference and the features: `checks.batch_profile.profile_key`) in the store; a batch without one
is streamed chunk by chunk (`data.files.iter_file`), profiled and stored, so no later check reads
its rows again. The window's profile is the merge of its batches'. Memory holds one chunk and the
counts: a window of any size is checked in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from retrain_core.checks.batch_profile import BatchProfile, merge, profile_chunks, profile_key
from retrain_core.data.batches import content_digest
from retrain_core.data.files import CHUNK_ROWS, FileSet, iter_file

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.profile import ReferenceProfile
    from retrain_core.store.registry import Registry


@dataclass(frozen=True)
class WindowProfile:
    """The merged profile of a window's batches, and how many of them were read this time."""

    profile: BatchProfile
    batches: int
    profiled: int  # batches read and profiled now (the others came from the store)


def window_profile(
    registry: Registry,
    policy_name: str,
    files: FileSet,
    keys: Sequence[str],
    reference: ReferenceProfile,
    numeric: Sequence[str],
    categorical: Sequence[str],
    timestamp: str | None,
    now: datetime,
    digests: dict[str, str] | None = None,
) -> WindowProfile:
    """The profile of the batches `keys` of `files`: stored ones loaded, the others streamed,
    profiled and stored. `digests` (by key) are the batches' content digests when known
    (`data.prints`); a batch without one is hashed here."""
    digests = digests or {}
    wanted = {
        key: profile_key(digest, reference, numeric, categorical, timestamp)
        for key in keys
        for digest in [digests.get(key) or content_digest(files, files.path_of(key))]
    }
    stored = registry.batch_profiles(policy_name, list(dict.fromkeys(wanted.values())))
    built: dict[str, BatchProfile] = {}
    columns = list(dict.fromkeys([*numeric, *categorical, *([timestamp] if timestamp else [])]))
    for key, content in wanted.items():
        if content in stored or content in built:
            continue
        chunks = _frames(files, files.path_of(key), columns)
        built[content] = profile_chunks(chunks, reference, numeric, categorical, timestamp, content)
    registry.store_batch_profiles(policy_name, list(built.values()), now=now)
    profiles = {**stored, **built}
    merged = merge([profiles[content] for content in wanted.values()])
    return WindowProfile(merged, len(wanted), len(built))


def _frames(files: FileSet, path: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    for batch in iter_file(files, path, columns, CHUNK_ROWS):
        yield batch.to_pandas()
