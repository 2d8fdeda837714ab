"""The loader's API around the error corpus: files, folders, settings, no heavy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from retrain_core.base.heavy import HEAVY_PACKAGES as HEAVY
from retrain_core.base.settings import Settings
from retrain_core.policy.loader import (
    PolicyError,
    PolicyLoadError,
    load_policies,
    load_policy,
)

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "policies" / "churn.yaml"
ESTIMATOR_MODULE = '''
from sklearn.base import BaseEstimator, ClassifierMixin


class Boom(ClassifierMixin, BaseEstimator):
    """Fails if validation ever builds it."""

    def __init__(self, **kwargs):
        raise AssertionError("validation must never instantiate an estimator")

    def fit(self, X, y):
        return self
'''


def _policy(tmp_path: Path, name: str, *replacements: tuple[str, str]) -> Path:
    """A copy of the churn policy with some text replaced."""
    text = CHURN.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_policy_error_prints_as_path_line_key_message() -> None:
    error = PolicyError("policies/a.yaml", 7, "gate.min", "expected a number, got 'x'")
    assert str(error) == "policies/a.yaml:7 gate.min: expected a number, got 'x'"
    raised = PolicyLoadError([error, error])
    assert str(raised) == f"{error}\n{error}"
    assert raised.errors == [error, error]


def test_missing_file_and_empty_folder_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    loaded, errors = load_policies([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert loaded == []
    assert [str(error) for error in errors] == [
        f"{tmp_path / 'empty'}:1 <file>: no *.yaml or *.yml files here",
        f"{tmp_path / 'nope.yaml'}:1 <file>: cannot read: No such file or directory",
    ]


def test_folders_read_yaml_and_yml_sorted_and_each_file_once(tmp_path: Path) -> None:
    first = _policy(tmp_path, "b.yml", ("name: churn", "name: churn-b"))
    second = _policy(tmp_path, "a.yaml", ("name: churn", "name: churn-a"))
    (tmp_path / "notes.txt").write_text("not a policy")
    loaded, errors = load_policies([tmp_path, first])
    assert errors == []
    assert [policy.path for policy in loaded] == [second, first]


def test_allow_listed_estimator_is_inspected_but_never_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "boomlib.py").write_text(ESTIMATOR_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _policy(
        tmp_path,
        "boom.yaml",
        ("sklearn.ensemble.HistGradientBoostingClassifier", "boomlib.Boom"),
        ("max_iter: 200", "anything: 1"),
    )
    with pytest.raises(PolicyLoadError, match="outside the allow-list"):
        load_policy(path, Settings(root=ROOT))
    loaded = load_policy(path, Settings(root=ROOT, allowed_estimator_modules=("boomlib",)))
    assert loaded.policy.model.estimator.class_ == "boomlib.Boom"


def test_heavy_packages_are_refused_even_when_allow_listed(tmp_path: Path) -> None:
    path = _policy(
        tmp_path, "mlflow.yaml", ("sklearn.ensemble.HistGradientBoostingClassifier", "mlflow.X")
    )
    settings = Settings(root=ROOT, allowed_estimator_modules=("mlflow",))
    with pytest.raises(PolicyLoadError, match="estimators never come from"):
        load_policy(path, settings)


@pytest.mark.integration
def test_validation_imports_no_heavy_library() -> None:
    code = "from retrain_core.policy.loader import load_policies; load_policies(['policies'])"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
