"""The committed generated files match what the code produces now; each failure names its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain_core.base.settings import load_settings
from retrain_core.policy import docs
from retrain_core.policy.compile import render_prefect_yaml
from retrain_core.policy.loader import load_policies
from retrain_core.policy.schema import Policy

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings(ROOT)


@pytest.mark.parametrize("name", [docs.SCHEMA_FILE, docs.README_FILE])
def test_generated_policy_docs_are_current(name: str) -> None:
    path = SETTINGS.policies_path / name
    expected = docs.generated_files(SETTINGS)[path]
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    assert current == expected, f"policies/{name} is stale: run `{docs.REGENERATE}` and commit it"


def test_committed_prefect_yaml_is_current() -> None:
    loaded, errors = load_policies([SETTINGS.policies_path], SETTINGS)
    assert not errors, [str(error) for error in errors]
    path = ROOT / "prefect.yaml"
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    expected = render_prefect_yaml(loaded, SETTINGS)
    assert current == expected, "prefect.yaml is stale: run `retrain compile` and commit it"


def test_schema_is_the_models_schema() -> None:
    schema = json.loads(docs.schema_json())
    assert (
        schema["properties"].keys() == Policy.model_json_schema(by_alias=True)["properties"].keys()
    )
    assert schema["$defs"]["Estimator"]["required"] == ["class"]
    assert schema["$defs"]["Notify"]["properties"]["on"]["default"] == [
        "staged",
        "promoted",
        "rejected",
        "failed",
        "blocked",
        "rolled_back",
        "new_class",
    ]
    assert docs.schema_json().endswith("}\n")


def test_shipped_policies_are_valid_against_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from retrain_core.policy.yamlio import read_yaml

    validator = jsonschema.Draft202012Validator(json.loads(docs.schema_json()))
    for path in sorted(SETTINGS.policies_path.glob("*.yaml")):
        data = read_yaml(path.read_text(encoding="utf-8")).data
        problems = [
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(data)
        ]
        assert not problems, f"{path.name}: {problems}"


def test_readme_documents_every_field() -> None:
    readme = docs.render_readme(docs.example_policies(SETTINGS.policies_path))
    schema = docs.policy_schema()
    for model in [schema, *schema["$defs"].values()]:
        for key in model.get("properties", {}):
            assert f"| `{key}` |" in readme, key
    for section in ("model", "data", "schedule", "triggers", "gate", "promotion", "notify"):
        assert f"## `{section}`" in readme and f"\n{section}:" in readme, section
    assert "## Full example: churn.yaml" in readme
