"""The house's shape, from the code's own imports (every import, lazy and type-only ones included).

Packages are layers (ARCHITECTURE.md): a module imports its own layer and the layers below it,
never one above; no two packages and no two files import each other, even through others; and
only `retrain_core/store/` knows MLflow: its imports, its tables and its REST paths.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: each may import itself and what comes before it (ARCHITECTURE.md, "Layers").
LAYERS = (
    "base",
    "policy",
    "data",
    "checks",
    "training",
    "kinds",
    "decide",
    "report",
    "notify",
    "store",
    "monitor",
    "replay",
    "runtime",
    "flows",
    "cli",
)
# At most a handful of modules beside the packages.
TOP_LEVEL_MODULES = {"__init__"}
MAX_LINES = 400
GENERATED = {"retrain_core/policy/sklearn_estimators.py"}  # a generated table


def _sources() -> list[Path]:
    return sorted(
        [*ROOT.joinpath("retrain_core").rglob("*.py"), *ROOT.joinpath("flows").rglob("*.py")]
    )


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from pkg import name` imports pkg, and
    pkg.name when that is a module)."""
    paths = {_module(p): p for p in _sources()}
    edges: dict[str, set[str]] = {}
    for mod, path in paths.items():
        is_pkg = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                # `from pkg import name` runs pkg/__init__.py first: an edge to pkg too
                names = [target, *(f"{target}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    found.add(name)
        edges[mod] = found
    return edges


def layer(mod: str) -> str | None:
    """The layer of a module: retrain_core.<layer>..., or flows."""
    parts = mod.split(".")
    if parts[0] == "flows":
        return "flows"
    return parts[1] if len(parts) > 1 else None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for mod, targets in graph().items():
        source = layer(mod)
        for target in targets:
            other = layer(target)
            if source and other and source != other:
                edges.setdefault(source, set()).add(other)
    return edges


def test_every_package_is_a_known_layer() -> None:
    packages = {layer(mod) for mod in graph()} - {None}
    top = {p.stem for p in ROOT.joinpath("retrain_core").glob("*.py")}
    assert packages - top <= set(LAYERS), sorted(packages - top - set(LAYERS))
    assert top <= TOP_LEVEL_MODULES, sorted(top - TOP_LEVEL_MODULES)


def test_no_import_cycle_between_files() -> None:
    assert _cycles(graph()) == []


def test_no_import_cycle_between_packages() -> None:
    assert _cycles(_package_edges()) == []


def _upward() -> Iterator[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    for mod, targets in sorted(graph().items()):
        for target in sorted(targets):
            source, other = layer(mod), layer(target)
            if source in rank and other in rank and rank[other] > rank[source]:
                yield f"{mod} ({source}) imports {target} ({other})"


def test_no_import_of_a_higher_layer() -> None:
    assert list(_upward()) == []


def test_modules_stay_readable() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
        and str(p.relative_to(ROOT)) not in GENERATED
    ]
    assert long == []


def _imports_mlflow(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "mlflow" for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
            return True
    return False


def test_only_the_store_package_imports_mlflow() -> None:
    sources = [*ROOT.joinpath("retrain_core").rglob("*.py"), *ROOT.joinpath("flows").rglob("*.py")]
    importing = sorted(str(p.relative_to(ROOT)) for p in sources if _imports_mlflow(p))
    assert importing, "the store imports mlflow somewhere"
    assert all(p.startswith("retrain_core/store/") for p in importing), importing


# MLflow's own tables and REST paths: only the store may name them.
MLFLOW_INTERNALS = re.compile(
    r"\b(model_versions|registered_model_aliases|registered_models|experiment_tags|"
    r"latest_metrics|runs\.lifecycle_stage)\b|/api/2\.0/mlflow|ajax-api|mlflow/(runs|registered)"
)


def test_only_the_store_names_mlflow_tables_and_rest_paths() -> None:
    naming = sorted(
        str(p.relative_to(ROOT))
        for p in _sources()
        if MLFLOW_INTERNALS.search(p.read_text())
        and not str(p.relative_to(ROOT)).startswith("retrain_core/store/")
    )
    assert naming == []


def test_test_modules_have_unique_names() -> None:
    """The test folders are not packages: two `test_x.py` in two tiers fail collection."""
    tests = ROOT / "tests"
    names = [p.name for p in tests.rglob("test_*.py")]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"test modules with the same name in two folders: {twice}"
