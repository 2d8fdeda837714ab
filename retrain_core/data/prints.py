"""A batch file's fingerprint: its size, modification time and a hash of its bytes.

A verdict belongs to a batch's content, not its name: the files watermark keeps each judged
file's fingerprint, and a file whose bytes changed since (rewritten in place after its check
passed) is judged again. Hashing is paid once per content: while a file's size and modification
time are those listed in its fingerprint, the fingerprint is reused without reading the file; a
file merely touched (same bytes, new time) is hashed again and keeps its verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from retrain_core.data.batches import content_digest
from retrain_core.data.files import FileSet

HASH_CHARS = 32  # 128 bits of the SHA-256 of the file's bytes
SEP = "#"


@dataclass(frozen=True)
class Prints:
    """The fingerprints of the files listed now (by watermark key), and which were rewritten."""

    now: dict[str, str]
    rewritten: frozenset[str]


def fingerprints(
    files: FileSet, marks: Mapping[str, str], keys: Iterable[str], before: Mapping[str, str]
) -> Prints:
    """Each file's fingerprint, by watermark key (`marks[key]`); rewritten are the files whose
    bytes differ from the fingerprint recorded `before` (files without one are not judged)."""
    now: dict[str, str] = {}
    rewritten = set()
    for key in keys:
        mark, stat = marks[key], files.stat_of(key)
        old = before.get(mark)
        if old is not None and stat and old.rpartition(SEP)[0] == stat:
            now[mark] = old  # size and time unchanged: the bytes are taken as unchanged
            continue
        digest = content_digest(files, files.path_of(key))[:HASH_CHARS]
        now[mark] = f"{stat}{SEP}{digest}"
        if old is not None and old.rpartition(SEP)[2] != digest:
            rewritten.add(mark)
    return Prints(now, frozenset(rewritten))
