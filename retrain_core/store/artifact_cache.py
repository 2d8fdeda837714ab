"""This machine's copy of what retrain reads back from a tracking server and never changes.

Every monitor check reads the champion's model files, its drift reference (profile and training
sample), the recent decisions' outcomes and its batches' profiles. From an `mlflow server` each
read is a run lookup, a listing and a download per file: about 30 requests a check that return
the same bytes as the check before. What is read here cannot change once written: a finished
run's artifacts (each is written once, before its run ends), a batch profile under its content
key, and a registered version's model files. So the first read keeps a copy, and later checks on
this machine (a worker's runs) read the copy.

- Only for a tracking server (an `http(s)://` tracking URI): with a local store the artifacts
  are files already, and they are read where they are.
- The copies live in `RETRAIN_CACHE_DIR` (default `$XDG_CACHE_HOME/retrain`, else
  `~/.cache/retrain`), one folder per tracking server, readable by this user only. Removing the
  folder is always safe: what is missing is downloaded again.
- A copy appears whole or not at all (downloaded beside it, then renamed into place), so runs
  that read the same artifact at once never see half of it.
- When the folder outgrows `RETRAIN_CACHE_MB` (default 1024), the oldest copies are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

DEFAULT_MB = 1024
STALE_SECONDS = 3600.0  # a partial download this old was left by a run that died


def remote(tracking_uri: str) -> bool:
    """Whether artifacts come from a tracking server (and are worth a local copy)."""
    return tracking_uri.startswith(("http://", "https://"))


def cache_root() -> Path:
    """The folder of the copies (RETRAIN_CACHE_DIR, else the user's cache folder)."""
    chosen = os.environ.get("RETRAIN_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "retrain"


@contextlib.contextmanager
def artifact(
    tracking_uri: str, key: tuple[str, ...], download: Callable[[Path], str]
) -> Iterator[Path]:
    """The local path of an artifact that never changes, for the block.

    `key` names it within the tracking server (a run id and the artifact's path; a model's name,
    version and location); `download(folder)` fetches it into `folder` and returns where it put
    it. For a tracking server the copy is kept and reused; otherwise it is downloaded into a
    temporary folder removed after the block. `download`'s errors pass through, nothing kept.
    """
    if not remote(tracking_uri):
        with tempfile.TemporaryDirectory() as scratch:
            yield Path(download(Path(scratch)))
        return
    server = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
    leaf = hashlib.sha256("\0".join(key).encode()).hexdigest()[:32]
    folder = cache_root() / server
    place = folder / leaf
    if not place.exists():
        _keep(folder, place, download)
    yield place / "artifact"


def keep_text(tracking_uri: str, key: tuple[str, ...], text: str) -> None:
    """Keep `text` as the copy of an artifact this process just wrote (a tracking server's only),
    so that its first read is not a download."""
    if not remote(tracking_uri):
        return

    def write(folder: Path) -> str:
        (folder / "text").write_text(text, encoding="utf-8")
        return str(folder / "text")

    # a copy not kept is downloaded when read
    with contextlib.suppress(OSError), artifact(tracking_uri, key, write):
        pass


def _keep(folder: Path, place: Path, download: Callable[[Path], str]) -> None:
    """Download into a new folder beside `place`, then rename it into place (whole or not)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    try:
        (partial / "in").mkdir()
        got = Path(download(partial / "in"))
        os.replace(got, partial / "artifact")
        try:
            os.replace(partial, place)
        except OSError:  # another run put it there first: the same bytes
            if not place.exists():
                raise
        else:
            _prune(folder.parent)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _prune(root: Path) -> None:
    """Remove the oldest copies while the cache is larger than RETRAIN_CACHE_MB."""
    try:
        limit = float(os.environ.get("RETRAIN_CACHE_MB", DEFAULT_MB)) * 1024 * 1024
    except ValueError:
        limit = DEFAULT_MB * 1024 * 1024
    entries: list[tuple[float, int, Path]] = []
    for place in root.glob("*/*"):
        with contextlib.suppress(OSError):
            if place.name.startswith(".partial-"):  # a download still running, or killed
                if time.time() - place.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(place, ignore_errors=True)
                continue
            size = sum(f.stat().st_size for f in place.rglob("*") if f.is_file())
            entries.append((place.stat().st_mtime, size, place))
    total = sum(size for _, size, _ in entries)
    for _, size, place in sorted(entries):
        if total <= limit:
            break
        shutil.rmtree(place, ignore_errors=True)
        total -= size
