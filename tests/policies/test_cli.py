"""The `retrain` command: validate, compile, compile --check and schema, on a temporary project."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from retrain_core.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = """\
[project]
name = "tiny"

[tool.retrain]
policies_dir = "policies"
work_pool = "test-pool"
pull = [{ "prefect.deployments.steps.set_working_directory" = { directory = "{{ $PROJECT }}" } }]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project: a pyproject.toml with [tool.retrain] and copies of the shipped policies."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "policies").mkdir()
    for policy in sorted((ROOT / "policies").glob("*.yaml")):
        shutil.copy(policy, tmp_path / "policies" / policy.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _broken(project: Path) -> Path:
    """A copy of churn.yaml named `bad` with a misspelled key and an out-of-range p-value."""
    text = (project / "policies" / "churn.yaml").read_text()
    for old, new in [
        ("name: churn", "name: bad"),
        ("p_value: 0.01", "p_value: 1.5"),
        ("  cooldown:", "  cooldwn:"),
    ]:
        assert old in text
        text = text.replace(old, new)
    path = project / "policies" / "bad.yaml"
    path.write_text(text)
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_validate_default_folder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate"]) == 0
    assert capsys.readouterr().out == "2 policies valid\n"


def test_validate_one_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "policies/churn.yaml"]) == 0
    assert capsys.readouterr().out == "1 policy valid\n"


def test_validate_prints_every_error_then_a_summary(project, capsys) -> None:
    bad = _broken(project)
    assert cli.main(["validate"]) == 1
    lines = capsys.readouterr().out.splitlines()
    p_line, cooldown_line = _line_of(bad, "p_value: 1.5"), _line_of(bad, "cooldwn")
    assert lines[0].startswith(f"policies/bad.yaml:{p_line} triggers.watch.0.drift.p_value: ")
    assert lines[1].startswith(f"policies/bad.yaml:{cooldown_line} triggers.cooldwn: ")
    assert "did you mean 'cooldown'" in lines[1]
    assert lines[-1] == "2 errors in 1 file"


def test_validate_missing_path_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "policies/nope.yaml"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("policies/nope.yaml:1 ") and out.endswith("1 error in 1 file\n")


def test_validate_with_project_option_from_elsewhere(
    project, tmp_path_factory, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    for argv in (["-C", str(project), "validate"], ["validate", "--project", str(project)]):
        assert cli.main(argv) == 0
        assert capsys.readouterr().out == "2 policies valid\n"


def test_compile_writes_prefect_yaml(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compile"]) == 0
    assert capsys.readouterr().out == "2 policies valid\nwrote prefect.yaml\n"
    text = (project / "prefect.yaml").read_text()
    assert "name: test-pool" in text and "{{ $PROJECT }}" in text and "build:" not in text
    assert "policy_path: policies/house-prices.yaml" in text
    assert cli.main(["compile"]) == 0
    assert capsys.readouterr().out.endswith("prefect.yaml unchanged\n")


def test_compile_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compile", "--check"]) == 1  # no prefect.yaml yet
    assert capsys.readouterr().out.endswith(
        "prefect.yaml is stale: run `retrain compile` and commit it\n"
    )
    assert cli.main(["compile"]) == 0
    assert cli.main(["compile", "--check"]) == 0
    assert capsys.readouterr().out.endswith("prefect.yaml is up to date\n")
    churn = project / "policies" / "churn.yaml"
    churn.write_text(churn.read_text().replace('cron: "0 2 * * *"', 'cron: "0 3 * * *"'))
    before = (project / "prefect.yaml").read_text()
    assert cli.main(["compile", "--check"]) == 1
    out = capsys.readouterr().out
    assert "--- prefect.yaml (on disk)" in out and "+++ prefect.yaml (compiled" in out
    assert "\n-      - cron: 0 2 * * *\n" in out and "\n+      - cron: 0 3 * * *\n" in out
    assert (project / "prefect.yaml").read_text() == before, "--check must write nothing"


def test_compile_refuses_invalid_policies(project: Path, capsys) -> None:
    _broken(project)
    assert cli.main(["compile"]) == 1
    captured = capsys.readouterr()
    assert "2 errors in 1 file" in captured.out and "not written" in captured.err
    assert not (project / "prefect.yaml").exists()


def test_compile_output_option(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compile", "--output", "out/deploy.yaml"]) == 0
    assert (project / "out" / "deploy.yaml").read_text().startswith("# GENERATED FILE")
    assert not (project / "prefect.yaml").exists()


def test_schema_prints_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Policy" and "Triggers" in schema["$defs"]


def test_schema_output_write_and_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "--output", "schema.json"]) == 0
    assert json.loads((project / "schema.json").read_text())["title"] == "Policy"
    assert cli.main(["schema", "--check"]) == 1
    assert "run `retrain schema --write`" in capsys.readouterr().out
    assert cli.main(["schema", "--write"]) == 0
    assert "wrote policies/README.md" in capsys.readouterr().out
    assert cli.main(["schema", "--check"]) == 0
    assert capsys.readouterr().out == "generated policy docs are up to date\n"
    readme = project / "policies" / "README.md"
    readme.write_text(readme.read_text() + "hand edit\n")
    assert cli.main(["schema", "--check"]) == 1
    assert capsys.readouterr().out.startswith("stale: policies/README.md\n")


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
def test_every_command_has_help_with_examples(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    assert f"retrain {command}" in capsys.readouterr().out.split("examples:")[1]


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_bad_project_settings_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.retrain]\nwork_poool = 'x'\n")
    assert cli.main(["validate"]) == 2
    assert "unknown keys in [tool.retrain]: work_poool" in capsys.readouterr().err


def test_a_command_is_one_registration(tmp_path, monkeypatch, capsys) -> None:
    """A handler named "module:function" is imported only when its command runs."""
    (tmp_path / "hello_cmd.py").write_text(
        "def run(args):\n    print('hi', args.who)\n    return 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    hello = cli.Command(
        "hello", "say hi", "  retrain hello bob", lambda p: p.add_argument("who"), "hello_cmd:run"
    )
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, hello])
    assert "hello_cmd" not in sys.modules
    assert cli.main(["hello", "bob"]) == 3
    assert capsys.readouterr().out == "hi bob\n"
