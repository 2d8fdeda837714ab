"""Find the registered entries of an extension point: built-in modules and outside packages.

Each extension point (trigger kinds, source kinds, notification channels) is a package of
modules, one per entry, each naming its entry in a module attribute (`KIND`, `SOURCE`,
`CHANNEL`). An outside package adds one through an entry point in the point's group, as Prefect
collections and MLflow plug-ins do::

    [project.entry-points."retrain.kinds"]
    toy = "my_package.toy_kind:KIND"

Found entries are loaded by name (`importlib`), so the package that owns the registry never
imports the modules that fill it: adding an entry is one new module, with no list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any, Protocol, TypeVar


class Entry(Protocol):
    """What every registered entry has: its name in a policy and its place in the docs."""

    @property
    def key(self) -> str: ...

    @property
    def order(self) -> int: ...


T = TypeVar("T", bound=Entry)


def builtin_entries(package: str, attribute: str) -> list[Any]:
    """The `attribute` of every module in `package` that defines one (modules in name order)."""
    found: list[Any] = []
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda info: info.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        entry = getattr(module, attribute, None)
        if entry is not None:
            found.append(entry)
    return found


def plugin_entries(group: str) -> list[Any]:
    """The objects outside packages register under the entry-point `group` (name order)."""
    return [point.load() for point in sorted(entry_points(group=group), key=lambda p: p.name)]


def discover(package: str, attribute: str, group: str) -> list[Any]:
    """Built-in entries first, then outside packages' entries."""
    return builtin_entries(package, attribute) + plugin_entries(group)


class Registry(Mapping[str, T]):
    """The entries of one extension point by key, found on first use, in `order`.

    `package` holds the built-in modules, each naming its entry in `attribute`; `group` is the
    entry-point group outside packages use. Every entry has a `key` (its name in a policy) and an
    `order` (where it comes in the docs and the schema). `on_change` listeners run after every
    change, so models built from the registry (the policy schema) rebuild.
    """

    def __init__(self, what: str, package: str, attribute: str, group: str) -> None:
        self.what, self.package, self.attribute, self.group = what, package, attribute, group
        self._entries: dict[str, T] = {}
        self._listeners: list[Callable[[], None]] = []
        self._found = False

    def _all(self) -> dict[str, T]:
        if not self._found:
            self._found = True
            found = discover(self.package, self.attribute, self.group)
            for entry in sorted(found, key=lambda e: e.order):
                if entry.key in self._entries:
                    raise ValueError(f"two {self.what}s are named {entry.key!r}")
                self._entries[entry.key] = entry
        return self._entries

    def __getitem__(self, key: str) -> T:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every change of the registry."""
        self._listeners.append(listener)

    def register(self, entry: T) -> T:
        """Add an entry (its key must be new); listeners take it up at once."""
        key = entry.key
        if key in self._all():
            raise ValueError(f"{self.what} {key!r} is already registered")
        self._entries[key] = entry
        ordered = sorted(self._entries.items(), key=lambda item: item[1].order)  # stable
        self._entries.clear()
        self._entries.update(ordered)
        try:
            self._changed()
        except Exception:
            del self._entries[key]
            self._changed()
            raise
        return entry

    def unregister(self, key: str) -> None:
        """Remove an entry (tests that register their own)."""
        del self._all()[key]
        self._changed()

    @contextmanager
    def registered(self, entry: T) -> Iterator[T]:
        """An entry registered for the duration of a `with` block."""
        self.register(entry)
        try:
            yield entry
        finally:
            self.unregister(entry.key)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
