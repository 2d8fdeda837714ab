"""Issue 8's seam: only the store package imports MLflow (`grep -rl "import mlflow"` evidence)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
