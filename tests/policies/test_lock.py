"""requirements.lock matches pyproject.toml: every declared dependency is pinned, in range.

The lock is made with `uv pip compile pyproject.toml --extra dev --python-version 3.11 -o
requirements.lock`; `make setup` installs exactly it. A bound added to pyproject.toml (say
`sqlalchemy<2.1`, which Prefect 3.8's scheduler needs) means nothing until the lock obeys it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name.split("[")[0])] = Version(version.split(";")[0].strip())
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


def test_every_declared_dependency_is_pinned_inside_its_bounds() -> None:
    pins = _pins()
    problems = []
    for requirement in _declared():
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside {requirement.specifier}")
    assert not problems, "re-make the lock (see this module's docstring):\n" + "\n".join(problems)


def test_the_lock_keeps_the_sqlalchemy_prefect_38_schedules_with() -> None:
    # SQLAlchemy 2.1 makes Prefect 3.8's scheduler fail on every pass (no scheduled run is ever
    # created) and defaults postgresql:// URLs to psycopg 3, which is not installed.
    assert _pins()["sqlalchemy"] < Version("2.1")
