"""`retrain validate`, `retrain compile` and `retrain schema`: the commands that read policy files
and write the files generated from them. Only the standard library at the top, so `validate`
stays fast (policy loading and compiling are imported when a command runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrain_core.base.settings import Settings
    from retrain_core.policy.loader import LoadedPolicy, PolicyError


class CliError(Exception):
    """A problem the user can fix (bad project settings, missing file): printed, exit code 2."""


def _settings(args: argparse.Namespace) -> Settings:
    """Project settings from `--project` (default: the nearest pyproject.toml above cwd)."""
    from retrain_core.base.settings import load_settings

    try:
        return load_settings(args.project)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is below it, for short messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _plural(count: int, one: str, many: str) -> str:
    """`1 policy`, `2 policies`."""
    return f"{count} {one if count == 1 else many}"


def _report(loaded: list[LoadedPolicy], errors: list[PolicyError]) -> bool:
    """Print every error, then the summary line; True when every policy is valid."""
    for error in errors:
        print(error)
    if errors:
        files = len({error.path for error in errors})
        print(f"{_plural(len(errors), 'error', 'errors')} in {_plural(files, 'file', 'files')}")
        return False
    print(f"{_plural(len(loaded), 'policy', 'policies')} valid")
    return True


def _load(paths: Sequence[str | Path], settings: Settings) -> tuple[list[LoadedPolicy], bool]:
    """Load and report the policies; the valid ones, and whether all were valid."""
    from retrain_core.policy.loader import load_policies

    loaded, errors = load_policies(paths, settings)
    return loaded, _report(loaded, errors)


def validate(args: argparse.Namespace) -> int:
    """Check policies, then each valid one against the data it can see; print every problem as
    `path:line key: message`; exit 1 on any."""
    from retrain_core.policy.loader import load_policies

    settings = _settings(args)
    data = getattr(args, "data", None)
    if data is not None and not Path(data).is_dir():
        raise CliError(f"--data {data}: no such folder")
    paths = args.paths or [_shown(settings.policies_path)]
    loaded, errors = load_policies(paths, settings)
    for policy in loaded:
        errors += _data_errors(policy, settings, data)
    wrong = {error.path for error in errors}
    return 0 if _report([p for p in loaded if str(p.path) not in wrong], errors) else 1


def _data_errors(loaded: LoadedPolicy, settings: Settings, data: str | None) -> list[PolicyError]:
    """The policy's paths and columns against the data under `data` (default: the project's,
    where it exists; with `data`, any missing path is an error)."""
    from retrain_core.data.columns import policy_findings
    from retrain_core.policy.loader import locate

    root = Path(data) if data is not None else settings.root
    findings = policy_findings(loaded.policy, root, strict=data is not None)
    return locate(loaded, findings, settings)


def compile_policies(args: argparse.Namespace) -> int:
    """Validate every policy, then write prefect.yaml (or, with --check, compare with it)."""
    from retrain_core.policy.compile import render_prefect_yaml

    settings = _settings(args)
    loaded, valid = _load([_shown(settings.policies_path)], settings)
    if not valid:
        print("prefect.yaml not written: fix the errors above", file=sys.stderr)
        return 1
    try:
        text = render_prefect_yaml(loaded, settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    output = Path(args.output) if args.output else settings.root / "prefect.yaml"
    return _check_file(output, text) if args.check else _write_file(output, text)


def _check_file(output: Path, text: str) -> int:
    """0 when `output` holds `text`; else print a unified diff and return 1."""
    import difflib

    current = output.read_text(encoding="utf-8") if output.is_file() else ""
    if current == text:
        print(f"{_shown(output)} is up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        text.splitlines(keepends=True),
        fromfile=f"{_shown(output)} (on disk)",
        tofile=f"{_shown(output)} (compiled from the policies)",
    )
    sys.stdout.writelines(diff)
    print(f"{_shown(output)} is stale: run `retrain compile` and commit it")
    return 1


def _write_file(output: Path, text: str) -> int:
    """Write `output` when its text changed; say what happened."""
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        print(f"{_shown(output)} unchanged")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {_shown(output)}")
    return 0


def schema(args: argparse.Namespace) -> int:
    """Print the policy JSON schema, write it, or regenerate/check the generated policy docs."""
    from retrain_core.policy import docs

    if args.write or args.check:
        settings = _settings(args)
        stale = docs.write_generated_files(settings) if args.write else docs.stale_files(settings)
        for path in stale:
            print(f"{'wrote' if args.write else 'stale:'} {_shown(path)}")
        if args.check and stale:
            print(f"run `{docs.REGENERATE}` and commit the result")
            return 1
        if not stale:
            print("generated policy docs are up to date")
        return 0
    if args.output:
        return _write_file(Path(args.output), docs.schema_json())
    sys.stdout.write(docs.schema_json())
    return 0
