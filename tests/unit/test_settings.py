"""Project settings: `[tool.retrain]` of pyproject.toml through pydantic-settings, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrain_core.base.settings import Settings, load_settings


def test_only_the_file_sets_them_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.retrain]\nwork_pool = "gpu"\n')
    monkeypatch.setenv("WORK_POOL", "env")
    monkeypatch.setenv("data_dir", "env")
    settings = load_settings(tmp_path)
    assert (settings.work_pool, settings.data_dir, settings.root) == ("gpu", ".retrain", tmp_path)
    assert Settings(root=tmp_path).work_pool == "retrain"  # built directly: the defaults


def test_root_is_the_folder_not_a_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.retrain]\nroot = "/elsewhere"\n')
    with pytest.raises(ValueError, match=r"pyproject.toml: unknown keys in \[tool.retrain\]: root"):
        load_settings(tmp_path)


def test_a_wrong_type_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.retrain]\npolicies_dir = 5\n")
    with pytest.raises(ValueError, match=r"pyproject.toml: \[tool.retrain\] policies_dir: "):
        load_settings(tmp_path)


def test_no_table_is_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(tmp_path) == Settings(root=tmp_path)
