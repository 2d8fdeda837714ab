"""The README and docs/ stay honest: short, every link resolves, every command they show exists.

The deploy guide's commands run as written in tests/e2e/test_readme.py; the demo's story is
checked by tests/e2e/test_make_demo.py. Here: what a reader follows before running anything.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from retrain_core.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
COMMAND = re.compile(r"(?:^|[\s/])retrain((?:\s+-[A-Za-z]\S*)*)\s+([a-z][a-z-]*)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _subcommands() -> set[str]:
    parser = build_parser()
    found = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(found.choices)  # type: ignore[attr-defined]


def test_the_readme_reads_in_five_minutes() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    """A link's file exists and its #section is one of that page's headings (GitHub's slugs)."""
    text = page.read_text()
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        linked = page.parent / target if target else page
        assert linked.exists(), f"{page.name} links to missing {target}"
        if anchor and linked.suffix == ".md":
            slugs = {_slug(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)}
            assert anchor in slugs, f"{page.name} links to {target}#{anchor}: no such section"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_demo_takes_as_long_as_its_help_says() -> None:
    """The README's demo time is the one `retrain demo` states (they disagreed once)."""
    helps = {c.name: c.examples for c in COMMANDS}
    said = re.search(r"about (\S+ minutes)", helps["demo"])
    assert said is not None
    readme = (ROOT / "README.md").read_text()
    times = set(re.findall(r"in (?:about )?(\S+ (?:a )?minutes?) on", readme.replace("\n", " ")))
    assert times == {said.group(1)}, f"README says the demo takes {times}; its help {said.group(1)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_retrain_command_shown_exists(page: Path) -> None:
    known = _subcommands()
    blocks = re.findall(r"```sh\n(.*?)```", page.read_text(), re.S)
    for line in "\n".join(blocks).splitlines():
        code = line.split("#", 1)[0]
        for match in COMMAND.finditer(code):
            command = match.group(2)
            assert command in known, f"{page.name}: `retrain {command}` is not a command: {line}"
        if "retrain " in code:
            shlex.split(code.replace("\\", ""))  # quotes balance
