"""Estimator checks: the allow-list, importability, kind and parameters, without building one."""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from retrain_core.base.heavy import HEAVY_PACKAGES
from retrain_core.base.settings import Settings
from retrain_core.policy.finding import Finding, did_you_mean

_KINDS = {"classification": "classifier", "regression": "regressor"}
_IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_CLASS = ("model", "estimator", "class")


@dataclass(frozen=True)
class EstimatorInfo:
    """What validation needs to know about an estimator class."""

    name: str
    kind: str | None  # "classifier", "regressor", or None for neither
    params: tuple[str, ...] | None  # None: the constructor takes any keyword (**kwargs)


def estimator_findings(data: Any, settings: Settings) -> list[Finding]:
    """Problems of model.estimator: not allowed, not importable, wrong kind, unknown params."""
    model = data.get("model") if isinstance(data, dict) else None
    estimator = model.get("estimator") if isinstance(model, dict) else None
    if not isinstance(model, dict) or not isinstance(estimator, dict):
        return []
    path = estimator.get("class")
    if not isinstance(path, str) or not _IMPORT_PATH.match(path):
        return []  # pydantic reports a missing or malformed class
    refusal = allow_list_problem(path, settings.allowed_estimator_modules)
    if refusal:
        return [Finding(_CLASS, refusal)]
    info = inspect_estimator(path)
    if isinstance(info, str):
        return [Finding(_CLASS, info)]
    findings = _kind_findings(info, model.get("task"))
    params = estimator.get("params")
    if isinstance(params, dict) and info.params is not None:
        for key in params:
            if str(key) not in info.params:
                hint = did_you_mean(str(key), info.params)
                message = f"{info.name} has no parameter {str(key)!r}{hint}"
                findings.append(Finding(("model", "estimator", "params", key), message))
    return findings


def allow_list_problem(path: str, extra_modules: tuple[str, ...]) -> str | None:
    """Why an import path may not be used, or None when it is allowed."""
    if path.split(".")[0] in HEAVY_PACKAGES:
        return f"{path!r} is not allowed: estimators never come from {', '.join(HEAVY_PACKAGES)}"
    allowed = ("sklearn", *extra_modules)
    if any(path.startswith(module + ".") for module in allowed):
        return None
    return (
        f"{path!r} is outside the allow-list ({', '.join(allowed)}): use a scikit-learn "
        "estimator or add its module to allowed_estimator_modules under [tool.retrain] "
        "in pyproject.toml"
    )


@cache
def inspect_estimator(path: str) -> EstimatorInfo | str:
    """Describe an allow-listed class: from the static scikit-learn table when it is there (no
    import: scikit-learn takes seconds to import), else by importing it (never instantiating it);
    a str is an error."""
    known = _from_table(path)
    if known is not None:
        return known
    return _imported_info(path)


def _from_table(path: str) -> EstimatorInfo | None:
    """The static table's entry for `path`, when it was made from the installed scikit-learn."""
    from retrain_core.policy.sklearn_estimators import ESTIMATORS, SKLEARN_VERSION

    entry = ESTIMATORS.get(path)
    if entry is None or _installed_sklearn() != SKLEARN_VERSION:
        return None
    return EstimatorInfo(name=path.rpartition(".")[2], kind=entry[0], params=entry[1])


@cache
def _installed_sklearn() -> str | None:
    """The installed scikit-learn version, read from its metadata (no import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return None


def scan_sklearn() -> dict[str, tuple[str | None, tuple[str, ...] | None]]:
    """Every public scikit-learn estimator path with its kind and parameters (imports sklearn).

    Used to write retrain_core/policy/sklearn_estimators.py and, in a test, to check it.
    """
    import sklearn

    table: dict[str, tuple[str | None, tuple[str, ...] | None]] = {}
    skipped = ("tests", "experimental", "externals", "conftest")
    for module in pkgutil.walk_packages(sklearn.__path__, "sklearn.", onerror=lambda _: None):
        parts = module.name.split(".")
        if any(p.startswith("_") or p in skipped for p in parts):
            continue
        try:
            loaded = importlib.import_module(module.name)
        except Exception:  # optional dependencies
            continue
        for attr in sorted(dir(loaded)):
            if attr.startswith("_") or not inspect.isclass(getattr(loaded, attr)):
                continue
            info = _imported_info(f"{module.name}.{attr}")
            if isinstance(info, EstimatorInfo):
                table[f"{module.name}.{attr}"] = (info.kind, info.params)
    return table


def write_table(path: str) -> None:
    """Write the static table module for the installed scikit-learn (then run ruff format)."""
    import sklearn

    rows = "".join(f"    {k!r}: {v!r},\n" for k, v in sorted(scan_sklearn().items()))
    path_text = (
        '"""Public scikit-learn estimators: import path -> (kind, constructor parameters).\n\n'
        "Generated by `python -m retrain_core.policy.estimators` from the installed scikit-learn;\n"
        'tests/policies/test_estimator_table.py fails when they disagree. Do not edit."""\n\n'
        f"SKLEARN_VERSION = {sklearn.__version__!r}\n\n"
        "ESTIMATORS: dict[str, tuple[str | None, tuple[str, ...] | None]] = {\n"
        f"{rows}}}\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write(path_text)


def _imported_info(path: str) -> EstimatorInfo | str:
    """Import an allow-listed class (never instantiate it) and describe it; a str is an error."""
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            return f"cannot import {path!r}: {exc}"
        return f"cannot import {path!r}: no module {module_name!r}{_sibling_hint(module_name)}"
    except Exception as exc:  # a third-party module failing at import time
        return f"cannot import {path!r}: {type(exc).__name__}: {exc}"
    cls = getattr(module, attr, None)
    if cls is None:
        names = [name for name in dir(module) if not name.startswith("_")]
        return f"cannot import {path!r}: {module_name} has no {attr!r}{did_you_mean(attr, names)}"
    if not inspect.isclass(cls) or not callable(getattr(cls, "fit", None)):
        return f"{path!r} is not an estimator class (a class with a fit method)"
    return EstimatorInfo(name=attr, kind=_kind(cls), params=_param_names(cls))


def _kind_findings(info: EstimatorInfo, task: Any) -> list[Finding]:
    """An error when the estimator's kind does not fit model.task."""
    wanted = _KINDS.get(task) if isinstance(task, str) else None
    if wanted is None or info.kind == wanted:
        return []
    what = f"a {info.kind}" if info.kind else "neither a classifier nor a regressor"
    return [Finding(_CLASS, f"{info.name} is {what}, but model.task is {task}: use a {wanted}")]


def _kind(cls: type) -> str | None:
    """classifier or regressor, from scikit-learn's mixins (is_classifier needs an instance)."""
    from sklearn.base import ClassifierMixin, RegressorMixin

    if issubclass(cls, ClassifierMixin):
        return "classifier"
    if issubclass(cls, RegressorMixin):
        return "regressor"
    kind = getattr(cls, "_estimator_type", None)
    return kind if kind in ("classifier", "regressor") else None


def _param_names(cls: type) -> tuple[str, ...] | None:
    """The constructor's keyword names, or None when it takes **kwargs (or has no signature)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind is not inspect.Parameter.VAR_POSITIONAL)


def _sibling_hint(module_name: str) -> str:
    """` (did you mean 'pkg.x'?)` from the submodules of the parent package, when importable."""
    parent, _, child = module_name.rpartition(".")
    try:
        package = importlib.import_module(parent) if parent else None
    except Exception:
        return ""
    search_path = getattr(package, "__path__", None)
    if search_path is None:
        return ""
    names = [
        info.name for info in pkgutil.iter_modules(search_path) if not info.name.startswith("_")
    ]
    close = difflib.get_close_matches(child, names, n=1, cutoff=0.6)
    return f" (did you mean '{parent}.{close[0]}'?)" if close else ""


if __name__ == "__main__":
    import sys

    default = __file__.replace("estimators.py", "sklearn_estimators.py")
    write_table(sys.argv[1] if len(sys.argv) > 1 else default)
