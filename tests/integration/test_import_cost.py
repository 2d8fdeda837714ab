"""`retrain validate` of 100 policies imports no prefect, mlflow, GE, alibi or sklearn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrain_core.base.heavy import NOT_IMPORTED_TO_VALIDATE as HEAVY

ROOT = Path(__file__).resolve().parents[2]
COUNT = 100


@pytest.fixture(scope="module")
def hundred_policies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with 100 valid policies: the shipped ones copied under new names."""
    project = tmp_path_factory.mktemp("hundred")
    (project / "pyproject.toml").write_text('[tool.retrain]\npolicies_dir = "policies"\n')
    folder = project / "policies"
    folder.mkdir()
    shipped = sorted((ROOT / "policies").glob("*.yaml"))
    for i in range(COUNT):
        source = shipped[i % len(shipped)]
        text = source.read_text(encoding="utf-8")
        name = f"{source.stem}-{i:03d}"
        assert f"\nname: {source.stem}\n" in text
        text = text.replace(f"\nname: {source.stem}\n", f"\nname: {name}\n")
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return project


def _run(project: Path, *python_flags: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `python [flags] -m retrain_core.cli.main validate policies` there; result and seconds."""
    command = [sys.executable, *python_flags, "-m", "retrain_core.cli.main", "validate", "policies"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    return result, time.perf_counter() - start


def _imported(importtime_stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_validate_100_policies_imports_no_heavy_library(hundred_policies: Path, capsys) -> None:
    traced, _ = _run(hundred_policies, "-X", "importtime")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    assert traced.stdout.endswith(f"{COUNT} policies valid\n")
    modules = _imported(traced.stderr)
    assert "retrain_core.policy.loader" in modules, "importtime output was not parsed"
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"`retrain validate` imported heavy modules: {heavy[:20]}"

    plain, seconds = _run(hundred_policies)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    with capsys.disabled():
        print(f"\n`retrain validate` on {COUNT} policies: {seconds:.2f}s wall, heavy modules: none")


@pytest.mark.parametrize("command", [["status"], ["explain", "churn-000", "1"]])
def test_status_and_explain_import_no_scikit_learn(
    hundred_policies: Path, command: list[str]
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "retrain_core.cli.main", *command],
        cwd=hundred_policies, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    modules = _imported(traced.stderr)
    assert sorted(m for m in modules if m.split(".")[0] == "sklearn") == []
    if command[0] == "status":  # the ledger is read directly from the SQLite store
        assert traced.returncode == 0, traced.stdout + traced.stderr
        assert "retrain_core.store.views" in modules
        assert sorted(m for m in modules if m.split(".")[0] == "mlflow") == []
    else:  # explain reads a version's tags and metrics through MLflow's client
        assert "mlflow" in modules
