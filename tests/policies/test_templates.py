"""Policy templates (`extends:`): shared defaults, overrides, errors where a value was set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retrain_core.base.settings import load_settings
from retrain_core.policy.loader import PolicyLoadError, load_policies, load_policy
from retrain_core.policy.yamlio import read_yaml

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "policies" / "churn.yaml"


def _combine() -> str:
    """How churn's triggers combine: "any" or "all"."""
    return "any" if "any" in read_yaml(CHURN.read_text()).data["triggers"] else "all"


COMBINE = _combine()


def _template() -> str:
    """A template holding churn's own gate, training and trigger settings (so they stay equal)."""
    churn = read_yaml(CHURN.read_text()).data
    shared = {
        "triggers": {
            COMBINE: churn["triggers"][COMBINE][:1],
            **{k: v for k, v in churn["triggers"].items() if k not in (COMBINE, "budget")},
        },
        "gate": churn["gate"],
        "training": {**churn["training"], "holdout": 0.2},
    }
    return "# shared by every churn-like classifier\n" + yaml.safe_dump(shared, sort_keys=False)


TEMPLATE = _template()


def project(tmp_path: Path, template: str = TEMPLATE) -> Path:
    """A project whose policies folder holds templates/base.yaml and nothing else yet."""
    (tmp_path / "pyproject.toml").write_text("[tool.retrain]\n")
    (tmp_path / "policies" / "templates").mkdir(parents=True)
    (tmp_path / "policies" / "templates" / "base.yaml").write_text(template)
    return tmp_path / "policies"


def churn_without(*keys: str) -> dict:
    data = read_yaml(CHURN.read_text()).data  # the loader's YAML: `on:` stays a string
    for key in keys:
        data.pop(key)
    return data


def write(folder: Path, name: str, data: dict, extends: str | None) -> Path:
    text = (f"extends: {extends}\n" if extends else "") + yaml.safe_dump(data, sort_keys=False)
    path = folder / name
    path.write_text(text)
    return path


def test_a_policy_that_extends_a_template_is_the_policy_written_out(tmp_path: Path) -> None:
    folder = project(tmp_path)
    settings = load_settings(tmp_path)
    whole = write(folder, "whole.yaml", churn_without(), None)
    expected = load_policy(whole, settings).policy
    whole.unlink()
    data = churn_without("gate", "training")
    data["triggers"] = {COMBINE: data["triggers"][COMBINE], "budget": data["triggers"]["budget"]}
    data["triggers"][COMBINE] = data["triggers"][COMBINE][:2]  # the list replaces the template's
    extending = write(folder, "churn.yaml", data, "templates/base.yaml")
    loaded = load_policy(extending, settings).policy
    assert loaded.gate == expected.gate and loaded.training == expected.training
    assert loaded.triggers.cooldown == expected.triggers.cooldown  # merged from the template
    assert loaded.triggers.budget == expected.triggers.budget  # the policy's own
    assert len(loaded.triggers.rules) == 2  # the policy's two, not the template's one added


def test_an_error_in_a_template_value_points_at_the_template(tmp_path: Path) -> None:
    template = TEMPLATE.replace("holdout: 0.2", "holdout: 7")
    folder = project(tmp_path, template)
    path = write(folder, "churn.yaml", churn_without("gate", "training"), "templates/base.yaml")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path, load_settings(tmp_path))
    [error] = info.value.errors
    assert error.path == str(folder / "templates" / "base.yaml")
    line = template.splitlines()[error.line - 1]
    assert error.key == "training.holdout" and line.strip() == "holdout: 7", (error, line)


def test_a_value_the_policy_overrides_is_reported_in_the_policy(tmp_path: Path) -> None:
    folder = project(tmp_path)
    data = churn_without("gate")
    data["training"] = {"holdout": 7}
    path = write(folder, "churn.yaml", data, "templates/base.yaml")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path, load_settings(tmp_path))
    [error] = info.value.errors
    assert error.path == str(path) and error.key == "training.holdout"
    assert path.read_text().splitlines()[error.line - 1].startswith("  holdout: 7")


def test_a_chain_of_templates_and_a_loop(tmp_path: Path) -> None:
    folder = project(tmp_path)
    templates = folder / "templates"
    (templates / "team.yaml").write_text("extends: base.yaml\ngate: {metric: roc_auc, min: 0.6}\n")
    path = write(folder, "churn.yaml", churn_without("gate", "training"), "templates/team.yaml")
    assert load_policy(path, load_settings(tmp_path)).policy.gate.min == 0.6

    (templates / "base.yaml").write_text("extends: team.yaml\n" + TEMPLATE)
    with pytest.raises(PolicyLoadError, match="templates extend each other in a loop"):
        load_policy(path, load_settings(tmp_path))


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("templates/missing.yaml", "extends: template .*missing.yaml: cannot read"),
        ("../../outside.yaml", "a template must be inside the policies folder"),
        ("/etc/passwd", "a template is a .yaml file named relative to this file's folder"),
        ("[1, 2]", "expected the path of a template"),
    ],
)
def test_bad_extends_is_one_error_on_its_line(tmp_path: Path, extends: str, message: str) -> None:
    folder = project(tmp_path)
    (tmp_path.parent / "outside.yaml").write_text(TEMPLATE)
    path = write(folder, "churn.yaml", churn_without("gate", "training"), extends)
    with pytest.raises(PolicyLoadError, match=message) as info:
        load_policy(path, load_settings(tmp_path))
    assert [(e.line, e.key) for e in info.value.errors] == [(1, "extends")]


def test_a_malformed_template_is_reported_at_its_own_line(tmp_path: Path) -> None:
    folder = project(tmp_path, "gate: {metric: roc_auc\ntraining: x\n")
    path = write(folder, "churn.yaml", churn_without("gate", "training"), "templates/base.yaml")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path, load_settings(tmp_path))
    [error] = info.value.errors
    assert error.path.endswith("base.yaml") and error.key == "<file>"


def test_templates_are_not_policies_of_the_folder(tmp_path: Path) -> None:
    folder = project(tmp_path)
    write(folder, "churn.yaml", churn_without("gate", "training"), "templates/base.yaml")
    loaded, errors = load_policies([folder], load_settings(tmp_path))
    assert not errors and [item.policy.name for item in loaded] == ["churn"]


def test_a_template_change_changes_the_policy_hash(tmp_path: Path) -> None:
    folder = project(tmp_path)
    path = write(folder, "churn.yaml", churn_without("gate", "training"), "templates/base.yaml")
    before = load_policy(path, load_settings(tmp_path)).policy_hash
    (folder / "templates" / "base.yaml").write_text(TEMPLATE.replace("min: 0.7\n", "min: 0.72\n"))
    assert load_policy(path, load_settings(tmp_path)).policy_hash != before
