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
from importlib.metadata import entry_points
from typing import Any


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
