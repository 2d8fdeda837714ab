"""A local data path that does not exist: what is missing, and the existing path it may mean.

`missing_path("data/chrun/batches/*.parquet", root)` walks the path's folders (and, for a single
file, its name) from `root`; at the first one that does not exist it compares the name with the
entries of the deepest existing folder (difflib) and carries on with the closest one, so every
typo along the way is corrected. The part of a glob from its first wildcard on is not checked
(an existing folder with no batch yet is not a mistake). URLs other than file:// are not checked.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from retrain_core.data.files import GLOB_CHARS, is_remote


@dataclass(frozen=True)
class MissingPath:
    """The first missing part of a path (`data/chrun`), and the whole path it may mean."""

    missing: str
    folder: bool
    suggestion: str | None

    def message(self, under: object = None) -> str:
        """`no folder 'data/chrun' [under ROOT] (did you mean 'data/churn/batches/*.parquet'?)`."""
        what = "folder" if self.folder else "file"
        where = f" under {under}" if under is not None else ""
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"no {what} {self.missing!r}{where}{hint}"


def missing_path(pattern: str, root: Path) -> MissingPath | None:
    """What of a local path (relative to `root`) does not exist, or None when it all does."""
    if is_remote(pattern):
        return None
    local = pattern.removeprefix("file://").removeprefix("local://")
    parts = Path(local).parts
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in GLOB_CHARS)), None)
    checked = parts if fixed is None else parts[:fixed]
    start = Path(local).anchor or str(root)
    steps = [part for part in checked if part != Path(local).anchor]
    here, missing = Path(start), None
    corrected: list[str] = []
    for index, part in enumerate(steps):
        last_file = fixed is None and index == len(steps) - 1
        if (here / part).exists():
            here, corrected = here / part, [*corrected, part]
            continue
        if missing is None:
            shown = [*steps[:index], part]
            missing = MissingPath(os.path.join(*shown), not last_file, None)
        close = _closest(part, here, folders=not last_file)
        if close is None:
            return missing
        here, corrected = here / close, [*corrected, close]
    if missing is None:
        return None
    rest = [] if fixed is None else list(parts[fixed:])
    anchor = [Path(local).anchor] if Path(local).anchor else []
    suggestion = os.path.join(*anchor, *corrected, *rest)
    return MissingPath(missing.missing, missing.folder, suggestion)


def _closest(name: str, folder: Path, folders: bool) -> str | None:
    """The entry of `folder` closest to `name` (folders only, unless a file is wanted)."""
    try:
        entries = [e.name for e in os.scandir(folder) if not folders or e.is_dir()]
    except OSError:
        return None
    close = difflib.get_close_matches(name, entries, n=1, cutoff=0.6)
    return close[0] if close else None
