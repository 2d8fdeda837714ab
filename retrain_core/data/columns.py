"""The policy against its data: which named columns no file holds, which paths do not exist.

Reads only what it needs: the column names of each file (a Parquet footer, a CSV header line),
never the rows. A source that is not files (a query), that names no file yet, or a file that
cannot be read is not judged here: an unreadable batch is that batch's fault, found when it is
judged. `retrain validate` runs `policy_findings` on the data it can see; the monitor runs
`column_mismatches` before it judges any batch, so a policy's typo blocks the check as a policy
error and sets no batch aside.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from retrain_core.data.errors import DataError
from retrain_core.data.paths import missing_path
from retrain_core.policy.columns import Seen, column_findings, named_columns
from retrain_core.policy.finding import Finding
from retrain_core.policy.schema import Policy
from retrain_core.policy.sources import Source

POLICY_PROBLEM = "policy"  # the code of a window problem that is the policy's (`data.policy`)
_SOURCES = (("data", "reference"), ("data", "current"), ("data", "labels"), ("training", "source"))


def column_mismatches(
    policy: Policy, root: Path, skip: Mapping[str, Collection[str]] | None = None
) -> list[Finding]:
    """The columns the policy names that no file of their sources holds (quarantined files,
    `skip` by role, are left out)."""
    return column_findings(named_columns(policy), seen_columns(policy, root, skip or {}))


def policy_findings(policy: Policy, root: Path, strict: bool = False) -> list[Finding]:
    """Paths that do not exist (with a did-you-mean; any missing path when `strict`), then the
    columns no file holds: what `retrain validate` reports against the data under `root`."""
    findings = []
    for place in _SOURCES:
        source = _source_at(policy, place)
        if source is None or source.kind != "files":
            continue
        missing = missing_path(source.path, root)
        if missing is not None and (strict or missing.suggestion):
            findings.append(Finding((*place, "path"), missing.message()))
    return findings + column_mismatches(policy, root)


def seen_columns(
    policy: Policy, root: Path, skip: Mapping[str, Collection[str]]
) -> dict[str, Seen]:
    """The columns of the readable files of each source, by role (sources with none left out)."""
    sources: dict[str, Source | None] = {
        "reference": policy.data.reference,
        "current": policy.data.current,
        "labels": policy.data.labels,
    }
    seen = {}
    for role, source in sources.items():
        found = source_columns(source, root, skip.get(role, ())) if source else None
        if found is not None:
            seen[role] = found
    return seen


def source_columns(source: Source, root: Path, skip: Collection[str] = ()) -> Seen | None:
    """The column names of a files source's readable files, or None when there are none."""
    from retrain_core.data.batches import file_mark
    from retrain_core.data.readers import file_reader

    if not source.source_kind.lists_files:
        return None
    try:
        files = file_reader(source, root).files()
    except DataError:  # no file yet, or not reachable: the loading step says so
        return None
    count, columns = 0, set()
    for key in files.keys:
        if file_mark(files, key) in skip:
            continue
        names = file_columns(files.fs, files.path_of(key), files.format)
        if names is not None:
            count += 1
            columns |= names
    return Seen(count, frozenset(columns)) if count else None


def file_columns(fs: Any, path: str, fmt: str) -> set[str] | None:
    """The column names of one file (None when it cannot be read: the batch's own fault)."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return set(pq.read_schema(path, filesystem=fs).names)
        with fs.open(path, "rb", compression="infer") as handle:
            header = handle.readline().decode("utf-8-sig")
        return set(next(csv.reader([header]), []))
    except Exception:  # any failure to read this one file: judged (and set aside) later
        return None


def _source_at(policy: Policy, place: tuple[str, str]) -> Source | None:
    section = policy.data if place[0] == "data" else policy.training
    source = getattr(section, place[1])
    return source if isinstance(source, Source) else None
