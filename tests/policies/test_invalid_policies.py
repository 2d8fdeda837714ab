"""Every broken policy in invalid/ reports exactly the error lines in its .expected file."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrain_core.base.settings import Settings
from retrain_core.policy.loader import PolicyLoadError, load_policies, load_policy

ROOT = Path(__file__).resolve().parents[2]
INVALID = Path("tests/policies/invalid")  # relative to ROOT: the paths the errors print
SETTINGS = Settings(root=ROOT)  # no extra allowed modules, whatever pyproject.toml says
CASES = sorted(p.name for p in (ROOT / INVALID).iterdir() if p.suffix == ".yaml" or p.is_dir())


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root so that error paths are relative to it."""
    monkeypatch.chdir(ROOT)


def _expected(case: str) -> list[str]:
    """The expected error lines of a case (a .yaml file or a folder of them)."""
    return (INVALID / f"{Path(case).stem}.expected").read_text().splitlines()


def test_there_are_enough_cases_each_with_expected_lines() -> None:
    expected = {p.stem for p in (ROOT / INVALID).glob("*.expected")}
    assert len(CASES) >= 35
    assert {Path(case).stem for case in CASES} == expected


@pytest.mark.parametrize("case", CASES)
def test_invalid_policy_reports_exact_errors(case: str) -> None:
    loaded, errors = load_policies([INVALID / case], SETTINGS)
    assert [str(error) for error in errors] == _expected(case)
    assert len(loaded) == (0 if case.endswith(".yaml") else 1)  # only the first of a name


@pytest.mark.parametrize("case", [case for case in CASES if case.endswith(".yaml")])
def test_load_policy_raises_with_the_same_errors(case: str) -> None:
    with pytest.raises(PolicyLoadError) as raised:
        load_policy(INVALID / case, SETTINGS)
    assert str(raised.value).splitlines() == _expected(case)
    assert [str(error) for error in raised.value.errors] == _expected(case)


def test_a_folder_reports_every_error_of_every_file() -> None:
    loaded, errors = load_policies([INVALID], SETTINGS)
    files = [case for case in CASES if case.endswith(".yaml")]
    own = [str(error) for error in errors if "is already used by" not in error.message]
    assert loaded == []
    assert own == [line for case in files for line in _expected(case)]
    # most cases are named churn: each file after the first one says so (here, after 01-...)
    taken = [error for error in errors if "is already used by" in error.message]
    assert taken and all(str(INVALID / files[0]) in error.message for error in taken)


def test_duplicate_names_are_reported_even_for_a_bad_second_file() -> None:
    first = INVALID / "21-dup-names" / "a-first.yaml"
    second = INVALID / "05-p-value-zero.yaml"
    loaded, errors = load_policies([first, second], SETTINGS)
    assert [policy.path for policy in loaded] == [first]
    taken = [error for error in errors if error.key == "name"]
    assert [(error.path, error.line) for error in taken] == [(str(second), 3)]
    assert taken[0].message == f"name 'churn' is already used by {first}"
    assert [error.line for error in errors] == sorted(error.line for error in errors)
