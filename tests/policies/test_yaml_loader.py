"""libyaml's composer gives the same data, lines and errors as PyYAML's on every policy text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain_core.policy import yamlio

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = [
    "a: 1\n\tb: 2\n",
    "a:\tb\n",
    "a: [1, 2\n",
    "a: !!python/object:os.system x\n",
    "a: &x 1\nb: *x\n",
    "a: on\nb: yes\nc: True\nd: FALSE\n",
    "x:\n  - 1\n - 2\n",
    "k: 'unterminated\n",
    "<<: {a: 1}\n",
    "a: 1\na: 2\n",
    "? [1, 2]\n: x\n",
    "a: 0x1F\nb: 1e3\nc: .inf\nd: ~\ne: 2026-01-05\n",
    "- a\nb: c\n",
    "",
    "# only a comment\n",
    "a: |\n  text\n  more\nb: >\n  folded\n",
]


def _read(text: str) -> tuple[Any, ...]:
    try:
        located = yamlio.read_yaml(text)
    except yamlio.YamlError as exc:
        return ("error", exc.line, exc.message)
    except (RecursionError, yaml.YAMLError) as exc:  # safefile turns these into errors, earlier
        return ("raises", type(exc).__name__)
    return ("ok", located.data, located.lines)


def _texts() -> list[str]:
    files = sorted([*ROOT.glob("policies/*.yaml"), *ROOT.glob("tests/policies/invalid/*.yaml")])
    texts = [f.read_bytes().decode("utf-8", errors="replace") for f in files]
    return [t for t in texts if "\ufffd" not in t] + SNIPPETS  # the loader refuses non-UTF-8


def _cases() -> list[Any]:
    """Every text; the 20,000-deep nesting (~1 CPU s a composer) runs in the integration tier."""
    deep = pytest.mark.integration
    return [pytest.param(t, marks=deep) if len(t) > 20_000 else t for t in _texts()]


def test_c_composer_is_in_use() -> None:
    assert yamlio._FastLoader is not None


@pytest.mark.parametrize("text", _cases())
def test_same_result_as_the_python_composer(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(text)
    monkeypatch.setattr(yamlio, "_FastLoader", None)
    assert fast == _read(text)
