"""Read and parse one policy file without ever crashing or hanging on what the file is.

A FIFO, a device or a folder named *.yaml, a symlink loop, an unreadable, huge, binary or
non-UTF-8 file, and nesting deep enough to exhaust Python's stack are each one ordinary
`path:1 <file>: message` error. The file type is checked on the open descriptor (opened
non-blocking, so a FIFO never blocks) before a byte is read.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from retrain_core.policy.yamlio import LocatedYaml, YamlError, read_yaml

FILE_KEY = "<file>"
MAX_BYTES = 1_000_000  # the shipped policies are about 1.5 kB
MAX_DEPTH = 32  # a policy nests about 6 levels
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True)
class PolicyError:
    """One problem in one policy file, printed as `path:line key.path: message`."""

    path: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.key}: {self.message}"


def read_policy_text(path: Path) -> str | PolicyError:
    """The file's text, or why it cannot be a policy (type, size, encoding, OS error)."""

    def refuse(message: str) -> PolicyError:
        """An error for this file, on line 1."""
        return PolicyError(str(path), 1, FILE_KEY, message)

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        return refuse(f"cannot read: {_os_reason(exc)}")
    try:
        info = os.fstat(fd)
        kind = next((name for test, name in _KINDS if test(info.st_mode)), None)
        if kind is not None or not stat.S_ISREG(info.st_mode):
            return refuse(f"cannot read: {kind or 'not a regular file'}, not a policy file")
        if info.st_size > MAX_BYTES:
            return refuse(f"file is {info.st_size} bytes; a policy is at most {MAX_BYTES} bytes")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return refuse(f"cannot read: {_os_reason(exc)}")
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        return refuse(f"file is larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return PolicyError(str(path), line, FILE_KEY, "not UTF-8 text (a binary file?)")


def parse_policy_text(text: str) -> LocatedYaml:
    """Parse policy YAML; control characters, deep nesting and stack exhaustion are YamlError."""
    deep_line = _deep_flow_line(text)
    if deep_line:  # before parsing: deep nesting would exhaust the parser's stack
        message = f"nesting is too deep (a policy nests at most {MAX_DEPTH} levels)"
        raise YamlError(deep_line, message)
    try:
        located = read_yaml(text)
    except RecursionError:
        message = f"nesting is too deep (a policy nests at most {MAX_DEPTH} levels)"
        raise YamlError(1, message) from None
    except yaml.YAMLError as exc:  # the reader's errors (control characters) carry no mark
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        char = getattr(exc, "character", None)
        code = ord(char) if isinstance(char, str) and char else char
        shown = f"character #x{code:04x}" if isinstance(code, int) else "this content"
        raise YamlError(line, f"{shown} is not allowed: a policy is plain text") from None
    deep = _too_deep(located.data)
    if deep is not None:
        message = f"nesting is too deep (a policy nests at most {MAX_DEPTH} levels)"
        raise YamlError(located.line_of(deep), message)
    return located


def _deep_flow_line(text: str) -> int | None:
    """The line where [ and { brackets (outside quotes and comments) nest too deep, or None."""
    depth, quote, comment, line = 0, "", False, 1
    for char in text:
        if char == "\n":
            line, comment, quote = line + 1, False, ""
        elif comment:
            continue
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None


def _too_deep(data: Any) -> tuple[str | int, ...] | None:
    """The key path of the first value nested deeper than MAX_DEPTH, or None (no recursion)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return path[:MAX_DEPTH]
        if isinstance(value, dict):
            stack += [((*path, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [((*path, index), item) for index, item in enumerate(value)]
    return None


def _os_reason(exc: OSError) -> str:
    """An OSError in a few words (symlink loops by name)."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or type(exc).__name__
