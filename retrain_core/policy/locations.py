"""Where a policy may read from, and how a location is shown without its credentials.

A path in a policy is relative to the project root (the folder of pyproject.toml). It may not
leave that folder (``..``, an absolute path, ``~``) unless it lands inside one of the
``[tool.retrain] data_roots``: local folders, or URL prefixes such as ``s3://bucket/prefix/``
(the only way to allow a URL scheme). ``file://`` URLs are local paths under the same rules.
SQLite databases are files and follow the same rules; credentials never appear in a policy: a
password or a secret query parameter in a URL is refused (the whole URL then comes from the
environment: ``url_env``). These checks are lexical (no I/O), so `retrain validate` runs them;
the readers resolve symlinks and check again before reading anything.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrain_core.base.settings import Settings

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.S)
_LOCAL_SCHEMES = frozenset({"file", "local"})
# userinfo with a password, as SQLAlchemy and fsspec read it: scheme://user:password@host
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#]*:)([^?#]*)(@)")  # to the last @
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|credential|auth|signature|sig$", re.I)
_QUERY_PARAM = re.compile(r"([?&;])([^=&;#]+)=([^&;#]*)")
_SQLITE = re.compile(r"^sqlite(\+\w+)?://(/?)(.*?)(\?.*)?$", re.S)
SQL_DIALECTS = ("postgresql", "sqlite")  # dialects on which a read-only transaction is enforced
MASK = "***"
# Names of the places outside a policy that hold a URL: an environment variable, a Prefect block.
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
BLOCK_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}(/[A-Za-z0-9][A-Za-z0-9_-]{0,127})?$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Roots:
    """The folders and URL prefixes a policy may read from (absolute, normalised)."""

    project: str
    folders: tuple[str, ...]
    urls: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings, project: str | os.PathLike[str] | None = None) -> Roots:
        """`project` (default: the project folder) plus `data_roots` from the settings."""
        base = os.path.normpath(os.path.abspath(settings.root))
        folders = [os.path.normpath(os.path.abspath(project or base))]
        urls = []
        for entry in settings.data_roots:
            if _SCHEME.match(entry) and _scheme(entry) not in _LOCAL_SCHEMES:
                urls.append(_normal_url(entry).rstrip("/") + "/")
            else:
                local = os.path.expanduser(_strip_file_scheme(entry))
                folders.append(os.path.normpath(os.path.join(base, local)))
        return cls(folders[0], tuple(folders), tuple(urls))

    def path_problem(self, path: str) -> str | None:
        """Why a source path may not be read, or None (lexical: no file is touched)."""
        if _CONTROL.search(path):
            return "control characters are not allowed"
        if "::" in path:
            return "chained fsspec URLs (::) are not allowed"
        if _SCHEME.match(path) and _scheme(path) not in _LOCAL_SCHEMES:
            return self._url_problem(path)
        local = _strip_file_scheme(path)
        if local.startswith("~"):
            return "a path starting with ~ is not allowed: write it relative to the project"
        if not self.local_allowed(self.local_path(path)):
            return f"{path!r} is outside the project and the data_roots{self._hint()}"
        return None

    def local_path(self, path: str) -> str:
        """The absolute, normalised local path of a relative, absolute or file:// path."""
        return os.path.normpath(os.path.join(self.project, _strip_file_scheme(path)))

    def local_allowed(self, absolute: str, real: bool = False) -> bool:
        """True when `absolute` is inside a root folder (both resolved when `real`)."""
        fix = os.path.realpath if real else os.path.normpath
        return any(_within(fix(absolute), fix(folder)) for folder in self.folders)

    def url_allowed(self, url: str) -> bool:
        """True when a (normalised) URL lies under an allowed URL prefix."""
        normal = _normal_url(url)
        return any(normal.startswith(root) or normal + "/" == root for root in self.urls)

    def sqlite_problem(self, url: str) -> str | None:
        """Why a SQLite URL may not be opened: its file must be inside the roots."""
        database, query = sqlite_database(url)
        if query and re.search(r"[?&]uri=", query, re.I):
            return "SQLite URI filenames (uri=true) are not allowed"
        if database in ("", ":memory:"):
            return None
        if database.startswith(("file:", "~")):
            return "write the SQLite file as a path relative to the project"
        if not self.local_allowed(self.local_path(database)):
            return f"the SQLite file {database!r} is outside the project and the data_roots"
        return None

    def _url_problem(self, url: str) -> str | None:
        """Why a URL may not be read: `..` in it, or no allowed prefix."""
        if ".." in url.split("://", 1)[1].split("/"):
            return "'..' is not allowed in a URL"
        if not self.url_allowed(url):
            return (
                f"the URL {mask(url)!r} is not under an allowed data root: add its prefix "
                "(e.g. s3://bucket/folder/) to data_roots in [tool.retrain]"
            )
        return None

    def _hint(self) -> str:
        """How to allow a folder outside the project."""
        return " (add its folder to data_roots in [tool.retrain] to allow it)"


def credential_problem(url: str) -> str | None:
    """Why a URL holds credentials (a password, a secret query parameter), or None."""
    if _CONTROL.search(url):
        return "control characters are not allowed"
    if _PASSWORD.match(url):
        return "the URL holds a password"
    for match in _QUERY_PARAM.finditer("?" + url.partition("?")[2]):
        key = match.group(2)
        if _SECRET_PARAM.search(key):
            return f"the URL holds a secret in its query string ({key})"
    return None


def password_of(url: str) -> str | None:
    """The password written in a URL's userinfo, or None."""
    match = _PASSWORD.match(url)
    return match.group(2) if match and match.group(2) else None


def mask(text: str) -> str:
    """`text` with URL passwords and secret query values replaced by ***."""
    text = _PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _QUERY_PARAM.sub(_mask_param, text)


def _mask_param(match: re.Match[str]) -> str:
    """One query parameter, its value masked when the name says it is a secret."""
    value = MASK if _SECRET_PARAM.search(match.group(2)) else match.group(3)
    return f"{match.group(1)}{match.group(2)}={value}"


def sql_dialect(url: str) -> str:
    """The dialect of an SQLAlchemy URL (`postgresql+psycopg2://` -> postgresql)."""
    return _scheme(url).partition("+")[0].lower() if _SCHEME.match(url) else ""


def sqlite_database(url: str) -> tuple[str, str]:
    """The database path and the query string of a SQLite URL (`sqlite:////abs` -> /abs)."""
    match = _SQLITE.match(url)
    if match is None:
        return "", ""
    return match.group(3), match.group(4) or ""


def _scheme(url: str) -> str:
    """The lower-cased scheme of a URL, or an empty string."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else ""


def _normal_url(url: str) -> str:
    """scheme://rest with the scheme lower-cased and the path normalised (no ., //)."""
    match = _SCHEME.match(url)
    if match is None:
        return url
    rest = posixpath.normpath(match.group(2)) if match.group(2) else ""
    return f"{match.group(1).lower()}://{rest.lstrip('/') if rest != '.' else ''}"


def _strip_file_scheme(path: str) -> str:
    """A file:// or local:// URL as a plain path; anything else unchanged."""
    match = _SCHEME.match(path)
    if match and match.group(1).lower() in _LOCAL_SCHEMES:
        return match.group(2)
    return path


def _within(path: str, folder: str) -> bool:
    """True when `path` is `folder` or below it (both normalised)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
