"""Policy templates: `extends: templates/classifier.yaml` shares defaults between many policies.

A template is a partial policy (any of its keys, no `name` needed) in a file under the policies
folder, usually `policies/templates/` (a sub-folder, so `retrain validate policies/` does not take
templates for policies). A policy, or a template, names the one it extends by a path relative to
its own folder; the chain is followed up to `MAX_CHAIN` files. Mappings merge key by key, the
extending file winning; any other value (a list, a number, a string) replaces the template's
whole. Every key keeps the file and line that set it, so an error in a value that came from a
template is reported at the template's `path:line`, and one the policy overrode at the policy's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrain_core.policy.safefile import FILE_KEY, PolicyError, parse_policy_text, read_policy_text
from retrain_core.policy.yamlio import LocatedYaml, Path_, YamlError

EXTENDS = "extends"
MAX_CHAIN = 5


@dataclass
class Merged:
    """The merged document, the line and the file of every key path."""

    located: LocatedYaml
    origins: dict[Path_, str] = field(default_factory=dict)

    def origin_of(self, path: Path_) -> str | None:
        """The file that set `path` (or its nearest ancestor), None for the policy's own file."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.origins:
                return self.origins[path[:cut]]
        return None


def resolve_extends(
    path: Path, located: LocatedYaml, root: Path
) -> tuple[Merged, list[PolicyError]]:
    """The policy with its template chain merged in, or errors placed on the `extends` line."""
    merged = Merged(located)
    chain = [path.resolve()]
    current, shown = located, str(path)
    while isinstance(current.data, dict) and EXTENDS in current.data:
        line = current.line_of((EXTENDS,))
        target = current.data[EXTENDS]
        problem = _target_problem(target, Path(shown).parent, root, chain)
        if problem:
            return merged, [PolicyError(shown, line, EXTENDS, problem)]
        file = (Path(shown).parent / str(target)).resolve()
        template, errors = _read_template(file, shown, line)
        if template is None:
            return merged, errors
        chain.append(file)
        _strip_extends(merged, current)
        merged = _merge(template, str(file), merged)
        current, shown = template, str(file)
    return merged, []


def _target_problem(target: Any, folder: Path, root: Path, chain: list[Path]) -> str | None:
    """Why `target` cannot be extended from a file in `folder`, or None."""
    if not isinstance(target, str) or not target.strip():
        return "expected the path of a template, e.g. templates/classifier.yaml"
    if Path(target).is_absolute() or not target.endswith((".yaml", ".yml")):
        return f"{target!r}: a template is a .yaml file named relative to this file's folder"
    try:
        file = (folder / target).resolve()
    except (OSError, RuntimeError):
        return f"{target!r}: cannot be resolved (a symbolic link loop?)"
    if not file.is_relative_to(root.resolve()):
        return f"{target!r}: a template must be inside the policies folder {root}"
    if file in chain:
        return f"{target!r}: templates extend each other in a loop"
    if len(chain) > MAX_CHAIN:
        return f"more than {MAX_CHAIN} templates in a chain"
    return None


def _read_template(
    file: Path, shown: str, line: int
) -> tuple[LocatedYaml | None, list[PolicyError]]:
    """The template's parsed YAML, or its problems (the file's own, or at the `extends` line)."""
    text = read_policy_text(file)
    if isinstance(text, PolicyError):
        return None, [PolicyError(shown, line, EXTENDS, f"template {file}: {text.message}")]
    try:
        template = parse_policy_text(text)
    except YamlError as exc:
        return None, [PolicyError(str(file), exc.line, FILE_KEY, exc.message)]
    if not isinstance(template.data, dict):
        message = "a template is a mapping of policy keys"
        return None, [PolicyError(str(file), template.line_of(()), "<root>", message)]
    return template, []


def _strip_extends(merged: Merged, current: LocatedYaml) -> None:
    """Drop the `extends` key that was just followed: it is not a policy field."""
    if isinstance(merged.located.data, dict):
        merged.located.data.pop(EXTENDS, None)
    merged.located.lines.pop((EXTENDS,), None)
    current.lines.pop((EXTENDS,), None)


def _merge(template: LocatedYaml, file: str, over: Merged) -> Merged:
    """`over` laid on `template`: mappings merge, anything else replaces; lines and files kept."""
    data = _deep_merge(template.data, over.located.data)
    lines = dict(template.lines)
    origins: dict[Path_, str] = {p: file for p in template.lines if p != ()}
    for path in _replaced(over.located.data, ()):
        for taken in [p for p in lines if p[: len(path)] == path and p != path]:
            lines.pop(taken)
            origins.pop(taken, None)
    for path, line in over.located.lines.items():
        lines[path] = line
        if path != ():
            origins[path] = over.origins.get(path) or over.origin_of(path) or ""
    origins = {p: f for p, f in origins.items() if f}
    return Merged(LocatedYaml(data, lines), origins)


def _deep_merge(base: Any, over: Any) -> Any:
    """Mappings merged key by key (`over` wins); any other value of `over` replaces `base`."""
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, value in over.items():
            result[key] = _deep_merge(base[key], value) if key in base else value
        return result
    return over


def _replaced(data: Any, path: Path_) -> list[Path_]:
    """Key paths whose value is not a mapping: they replace whatever the template had there."""
    if not isinstance(data, dict):
        return [path] if path else []
    found: list[Path_] = []
    for key, value in data.items():
        found += _replaced(value, (*path, key))
    return found
