"""`retrain validate` never crashes or hangs on what a policy file is, and checks the others."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from retrain_core.base.settings import Settings
from retrain_core.policy.loader import load_policies

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Settings(root=ROOT)


def _hostile(folder: Path) -> dict[str, str]:
    """Write one hostile file per kind into `folder`; the expected `line key: message` tails."""
    os.mkfifo(folder / "fifo.yaml")
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    (folder / "dir.yaml").mkdir()
    (folder / "dangling.yaml").symlink_to(folder / "nowhere")
    (folder / "binary.yaml").write_bytes(b"version: 1\n\xff\xfe\x00garbage\x89PNG")
    (folder / "nul.yaml").write_text("version: 1\nname: a\x00b\n")
    (folder / "huge.yaml").write_text("# x\n" * 300_000)
    (folder / "deep.yaml").write_text("a: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (folder / "deep-block.yaml").write_text("".join(f"{' ' * i}k{i}:\n" for i in range(60)))
    return {
        "binary.yaml": ":2 <file>: not UTF-8 text (a binary file?)",
        "dangling.yaml": ":1 <file>: cannot read: No such file or directory",
        "deep-block.yaml": ":32 <file>: nesting is too deep (a policy nests at most 32 levels)",
        "deep.yaml": ":1 <file>: nesting is too deep (a policy nests at most 32 levels)",
        "fifo.yaml": ":1 <file>: cannot read: a FIFO, not a policy file",
        "huge.yaml": ":1 <file>: file is 1200000 bytes; a policy is at most 1000000 bytes",
        "loop.yaml": ":1 <file>: cannot read: symbolic link loop",
        "nul.yaml": ":2 <file>: character #x0000 is not allowed: a policy is plain text",
    }


@pytest.mark.timeout(120)
def test_hostile_files_are_ordinary_errors_and_the_rest_is_checked(tmp_path: Path) -> None:
    expected = _hostile(tmp_path)
    shutil.copy(ROOT / "policies" / "churn.yaml", tmp_path / "zz-valid.yaml")
    loaded, errors = load_policies([tmp_path], SETTINGS)
    assert [policy.path.name for policy in loaded] == ["zz-valid.yaml"]
    got = {Path(error.path).name: str(error)[len(error.path) :] for error in errors}
    assert got == expected


@pytest.mark.timeout(120)
def test_hostile_files_named_one_by_one(tmp_path: Path) -> None:
    expected = _hostile(tmp_path)
    given = [tmp_path / name for name in sorted(expected)] + [tmp_path / "dir.yaml"]
    _, errors = load_policies(given, SETTINGS)
    assert len(errors) == len(expected) + 1  # a folder given by name is read as a folder
