"""Hostile values anywhere in a policy: always ordinary errors, never a crash of the checks."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from retrain_core.base.settings import Settings
from retrain_core.policy.loader import load_policies
from retrain_core.policy.yamlio import read_yaml

ROOT = Path(__file__).resolve().parents[2]
HOSTILE: list[Any] = [
    None, True, 0, -1, 10**30, 1e308, float("nan"), float("-inf"), -0.0, "", "x" * 5000, "\x07",
    "../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "s3://b/x", "http://169.254.169.254/",
    [], [[[[]]]], {}, {"a": {"b": {}}}, "99999999999999999999d", "0s", "-5m", "1e-300",
    "SELECT 1; DROP TABLE x", "postgresql://u:p@h/d?password=x", "mailto:u:p@h", "${HOME}",
    [1, "a", None], {"$PARAMETER": "x"}, "*", "FREQ=SECONDLY", "Europe/Nowhere" * 30,
    "row_condition",
    {"row_condition": "@os.system('id')", "condition_parser": "pandas"},
]  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path of a document, the root included."""
    yield prefix
    if isinstance(node, dict | list):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            yield from _paths(value, (*prefix, key))


def _mutate(doc: Any, rng: random.Random) -> Any:
    """`doc` with one to four values replaced by hostile ones (or keys renamed)."""
    for _ in range(rng.randint(1, 4)):
        path = rng.choice(list(_paths(doc)))
        value = copy.deepcopy(rng.choice(HOSTILE))
        if not path:
            return value
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and rng.random() < 0.2:
            parent[f"{path[-1]}_x"] = parent.pop(path[-1])
        else:
            parent[path[-1]] = value
    return doc


def test_hostile_values_give_errors_not_crashes(tmp_path: Path) -> None:
    rng = random.Random(9)
    shipped = [read_yaml(p.read_text()).data for p in sorted((ROOT / "policies").glob("*.yaml"))]
    for index in range(150):
        doc = _mutate(copy.deepcopy(rng.choice(shipped)), rng)
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        (tmp_path / f"p{index:03}.yaml").write_text(text)
    loaded, errors = load_policies([tmp_path], Settings(root=ROOT))
    broken = [str(error) for error in errors if "could not be checked" in error.message]
    assert not broken
    assert len({error.path for error in errors}) + len(loaded) == 150
