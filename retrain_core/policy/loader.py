"""Load policy files: YAML with line numbers -> Policy, or every problem as `path:line key: msg`.

Every error of every file is reported at once; a bad file is never skipped. The key of an error is
the dotted key path in the document (`triggers.any.0.drift.p_value`), `<root>` for problems of the
document as a whole (empty, not a mapping) and `<file>` for problems reading or parsing the file
(missing, unreadable, malformed YAML: tabs, bad indentation, duplicate keys).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from retrain_core.base.errors import Refusal
from retrain_core.base.settings import Settings, load_settings
from retrain_core.policy.finding import Finding
from retrain_core.policy.findings import validation_findings
from retrain_core.policy.safefile import FILE_KEY, PolicyError, parse_policy_text, read_policy_text
from retrain_core.policy.schema import Policy
from retrain_core.policy.semantics import check_policy
from retrain_core.policy.templates import Merged, resolve_extends
from retrain_core.policy.yamlio import YamlError

ROOT_KEY = "<root>"
SUFFIXES = (".yaml", ".yml")


class PolicyLoadError(Refusal):
    """A policy file that does not load, with every problem found in it."""

    def __init__(self, errors: list[PolicyError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


@dataclass(frozen=True)
class LoadedPolicy:
    """A valid policy, the file it came from, and that file's text."""

    path: Path
    policy: Policy
    text: str

    @cached_property
    def policy_hash(self) -> str:
        """sha256 of the canonical JSON of the policy (first 12 hex): comments do not count."""
        return policy_hash(self.policy)


def policy_hash(policy: Policy) -> str:
    """sha256 of the policy's canonical JSON dump, first 12 hex characters."""
    dumped = policy.model_dump(mode="json", by_alias=True)
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def dump_policy(policy: Policy) -> str:
    """The policy as YAML (aliases, defaults left out, keys sorted): loads back equal."""
    dumped = policy.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump(dumped, sort_keys=True, allow_unicode=True, default_flow_style=False)


def load_policy(path: str | Path, settings: Settings | None = None) -> LoadedPolicy:
    """Load one policy file; raise PolicyLoadError with every problem in it."""
    checked = _check_safely(Path(path), settings)
    if checked.loaded is None:
        raise PolicyLoadError(checked.errors)
    return checked.loaded


def load_policies(
    paths: Iterable[str | Path], settings: Settings | None = None
) -> tuple[list[LoadedPolicy], list[PolicyError]]:
    """Load files and folders (their *.yaml, *.yml): the valid policies and every error."""
    loaded: list[LoadedPolicy] = []
    errors: list[PolicyError] = []
    names: dict[str, str] = {}
    for path in _expand(paths, errors):
        checked = _check_safely(path, settings)
        file_errors = sorted([*checked.errors, *_claim_name(checked, path, names)], key=_order)
        errors += file_errors
        if checked.loaded is not None and not file_errors:
            loaded.append(checked.loaded)
    return loaded, errors


@dataclass(frozen=True)
class _Checked:
    """The outcome of checking one file: the policy when valid, its errors, its name."""

    loaded: LoadedPolicy | None
    errors: list[PolicyError]
    name: str | None = None
    name_line: int = 1


def _check_safely(path: Path, settings: Settings | None) -> _Checked:
    """`_check_file`, with any failure of the checks themselves reported as the file's error."""
    try:
        return _check_file(path, settings)
    except RecursionError:
        return _Checked(None, [PolicyError(str(path), 1, FILE_KEY, "nesting is too deep")])
    except Exception as exc:  # a bad file must never stop the other files from being checked
        message = f"could not be checked ({type(exc).__name__}); please report this policy"
        return _Checked(None, [PolicyError(str(path), 1, FILE_KEY, message)])


def _check_file(path: Path, settings: Settings | None) -> _Checked:
    """Read, parse, validate and check one file, collecting every problem."""
    shown = str(path)
    text = read_policy_text(path)
    if isinstance(text, PolicyError):
        return _Checked(None, [text])
    try:
        located = parse_policy_text(text)
    except YamlError as exc:
        return _Checked(None, [PolicyError(shown, exc.line, FILE_KEY, exc.message)])
    problem = _document_problem(located.data)
    if problem:
        return _Checked(None, [PolicyError(shown, located.line_of(()), ROOT_KEY, problem)])
    settings = settings or load_settings(path.parent)
    merged, template_errors = resolve_extends(path, located, _templates_root(path, settings))
    if template_errors:
        return _Checked(None, template_errors)
    located = merged.located
    policy, findings = _validate(located.data)
    semantic = check_policy(located.data, settings)
    findings += _new_findings(semantic, findings)
    errors = sorted({_error(shown, merged, finding) for finding in findings}, key=_order)
    name = located.data.get("name")
    loaded = LoadedPolicy(path, policy, text) if policy is not None and not errors else None
    name_line = located.line_of(("name",))
    return _Checked(loaded, errors, name if isinstance(name, str) else None, name_line)


def locate(
    loaded: LoadedPolicy, findings: Iterable[Finding], settings: Settings | None = None
) -> list[PolicyError]:
    """Findings about a loaded policy (its columns against its data, say) at their `file:line`,
    as the loader reports its own."""
    found = list(findings)
    if not found:
        return []
    path = loaded.path
    located = parse_policy_text(loaded.text)
    settings = settings or load_settings(path.parent)
    merged, _ = resolve_extends(path, located, _templates_root(path, settings))
    return sorted({_error(str(path), merged, finding) for finding in found}, key=_order)


def locate_text(loaded: LoadedPolicy, findings: Iterable[Finding]) -> list[str]:
    """`locate`, each error as its line of text."""
    return [str(error) for error in locate(loaded, findings)]


def _claim_name(checked: _Checked, path: Path, names: dict[str, str]) -> list[PolicyError]:
    """Record the file's policy name; an error when an earlier file already uses it."""
    if checked.name is None:
        return []
    if checked.name not in names:
        names[checked.name] = str(path)
        return []
    message = f"name {checked.name!r} is already used by {names[checked.name]}"
    return [PolicyError(str(path), checked.name_line, "name", message)]


def _document_problem(data: Any) -> str | None:
    """Why the document as a whole is not a policy, or None."""
    if data is None:
        return (
            "empty policy file: expected a mapping with version, name, model, data, triggers, gate"
        )
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value {data!r}"
        return f"a policy is a mapping (version: 1, name: ..., model: ...), got {kind}"
    return None


def _validate(data: Any) -> tuple[Policy | None, list[Finding]]:
    """The Policy, or pydantic's errors as findings."""
    try:
        return Policy.model_validate(data), []
    except ValidationError as exc:
        return None, validation_findings(exc, data)


def _new_findings(semantic: list[Finding], schema: list[Finding]) -> list[Finding]:
    """Semantic findings at places the schema errors do not already cover."""
    taken = {finding.path for finding in schema}
    return [finding for finding in semantic if finding.path not in taken]


def _error(shown: str, merged: Merged, finding: Finding) -> PolicyError:
    """A finding placed on its line, in the file that set the value (the policy or a template)."""
    key = ".".join(str(step) for step in finding.path) or ROOT_KEY
    file = merged.origin_of(finding.path) or shown
    return PolicyError(file, merged.located.line_of(finding.path), key, finding.message)


def _templates_root(path: Path, settings: Settings) -> Path:
    """Where templates may live: the policies folder, or the folder of a policy outside it."""
    root = settings.policies_path
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        inside = False
    return root if inside else path.parent


def _order(error: PolicyError) -> tuple[int, str, str]:
    """Errors in the order of the file."""
    return (error.line, error.key, error.message)


def _expand(paths: Iterable[str | Path], errors: list[PolicyError]) -> list[Path]:
    """Files as given and the policy files of folders (sorted), each once; errors for the rest.

    Entries of a folder are taken by name: a FIFO, a device or a symlink loop named *.yaml is
    reported by the reader rather than skipped in silence.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            try:
                found = sorted(p for p in path.iterdir() if _policy_name(p) and not p.is_dir())
            except OSError as exc:
                errors.append(PolicyError(str(path), 1, FILE_KEY, f"cannot list: {exc.strerror}"))
                continue
            if not found:
                errors.append(PolicyError(str(path), 1, FILE_KEY, "no *.yaml or *.yml files here"))
            files += found
        else:
            files.append(path)
    unique: dict[str, Path] = {}
    for file in files:
        unique.setdefault(_identity(file), file)
    return list(unique.values())


NAME_LINE = re.compile(r"^name:\s*['\"]?([A-Za-z0-9][A-Za-z0-9._-]*)['\"]?\s*(?:#.*)?$", re.M)


def policy_names(folder: Path) -> list[str]:
    """The names the policy files of a folder declare (their top-level `name:` line), read
    without validating them: cheap enough for every check (the fleet overview lists policies
    that were never checked). A file without such a line is left out."""
    names: list[str] = []
    try:
        files = sorted(p for p in folder.iterdir() if _policy_name(p) and p.is_file())
    except OSError:
        return names
    for file in files:
        try:
            found = NAME_LINE.search(file.read_text(errors="replace"))
        except OSError:
            continue
        if found:
            names.append(found.group(1))
    return names


def _policy_name(path: Path) -> bool:
    """A *.yaml or *.yml name, other than an editor's lock link (`.#churn.yaml`)."""
    return path.suffix in SUFFIXES and not path.name.startswith(".#")


def _identity(path: Path) -> str:
    """The resolved path, or the absolute one when it cannot be resolved (a symlink loop)."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)
