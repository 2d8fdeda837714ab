"""Project-level settings, in one place: `[tool.retrain]` in the project's pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULT_WORK_POOL = "retrain"
# Environment every flow run of a deployment gets (`job_env` in [tool.retrain] replaces it): one
# OpenMP/BLAS thread per run, so a worker running several flows on a small machine does not
# oversubscribe its cores (eight fits at once on two cores: ~75 s each with default threads, 3 s
# with one).
# MLflow's per-run "View run" links and artifact progress bars are noise in a fleet's flow logs.
DEFAULT_JOB_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


# How a worker starts a flow run: the command `retrain compile` writes (None: Prefect's).
ENGINES = {"warm": "retrain-engine", "prefect": None}


@dataclass(frozen=True)
class Settings:
    """Settings shared by every policy of a project.

    `root` is the folder holding pyproject.toml (policy data paths are relative to it);
    `work_pool` the default Prefect work pool; `allowed_estimator_modules` the module prefixes,
    besides scikit-learn, that a policy may name an estimator from; `pull` the Prefect pull steps
    written into prefect.yaml; `data_dir` where the embedded defaults keep their state;
    `data_roots` the folders (absolute or relative to `root`) and URL prefixes (`s3://bucket/`)
    that policies may read from besides the project folder; `engine` how a worker starts each
    flow run: "warm" (`retrain-engine`, forked from a process that imported the heavy libraries
    once, see retrain_core/runtime/engine.py) or "prefect" (Prefect's own
    `python -m prefect.engine`).

    Fleet limits span policies: `max_concurrent_trainings` trainings at once across the fleet
    (None: unlimited) and `training_budget`, at most `max` retrains per `per` across the fleet
    (None: unlimited); both are Prefect global concurrency limits (see `retrain_core.decide.fleet`).
    """

    root: Path
    policies_dir: str = "policies"
    work_pool: str = DEFAULT_WORK_POOL
    allowed_estimator_modules: tuple[str, ...] = ()
    pull: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    data_dir: str = ".retrain"
    job_env: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_JOB_ENV.items()))
    data_roots: tuple[str, ...] = ()
    engine: str = "warm"
    max_concurrent_trainings: int | None = None
    training_budget: tuple[int, timedelta] | None = None  # (max, per)

    @property
    def policies_path(self) -> Path:
        """Absolute path of the policies folder."""
        return self.root / self.policies_dir

    @property
    def data_path(self) -> Path:
        """Absolute path of the folder for embedded state (MLflow SQLite store, demo data)."""
        return self.root / self.data_dir


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding a pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def load_settings(root: Path | None = None) -> Settings:
    """Read `[tool.retrain]` from the project's pyproject.toml; defaults when absent."""
    root = find_root(root)
    table: dict[str, Any] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("retrain", {})
    unknown = set(table) - {
        "policies_dir",
        "work_pool",
        "allowed_estimator_modules",
        "pull",
        "data_dir",
        "job_env",
        "data_roots",
        "engine",
        "max_concurrent_trainings",
        "training_budget",
    }
    if unknown:
        raise ValueError(
            f"{pyproject}: unknown keys in [tool.retrain]: {', '.join(sorted(unknown))}"
        )
    return Settings(
        root=root,
        policies_dir=table.get("policies_dir", "policies"),
        work_pool=table.get("work_pool", DEFAULT_WORK_POOL),
        allowed_estimator_modules=tuple(table.get("allowed_estimator_modules", ())),
        pull=tuple(table.get("pull", ())),
        data_dir=table.get("data_dir", ".retrain"),
        job_env=_job_env(pyproject, table.get("job_env", DEFAULT_JOB_ENV)),
        data_roots=_strings(table.get("data_roots", ()), pyproject, "data_roots"),
        engine=_engine(pyproject, table.get("engine", "warm")),
        max_concurrent_trainings=_count(table.get("max_concurrent_trainings"), pyproject),
        training_budget=_budget(table.get("training_budget"), pyproject),
    )


def _engine(pyproject: Path, value: Any) -> str:
    if value not in ENGINES:
        raise ValueError(
            f"{pyproject}: [tool.retrain] engine must be one of {', '.join(map(repr, ENGINES))}"
            f", not {value!r}"
        )
    return str(value)


def _count(value: Any, pyproject: Path) -> int | None:
    """`max_concurrent_trainings`: a positive whole number, or absent (unlimited)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{pyproject}: [tool.retrain] max_concurrent_trainings must be a whole number >= 1"
        )
    return value


def _budget(value: Any, pyproject: Path) -> tuple[int, timedelta] | None:
    """`training_budget = {max = 20, per = "1d"}`, or absent (unlimited)."""
    if value is None:
        return None
    from retrain_core.base.durations import parse_duration

    problem = f'{pyproject}: [tool.retrain] training_budget must be {{max = 20, per = "1d"}}'
    if not isinstance(value, dict) or set(value) != {"max", "per"}:
        raise ValueError(problem)
    count = value["max"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{problem}: max must be a whole number >= 1")
    try:
        per = parse_duration(value["per"])
    except ValueError as exc:
        raise ValueError(f"{problem}: per: {exc}") from None
    if per.total_seconds() <= 0:
        raise ValueError(f"{problem}: per must be positive")
    return count, per


def _job_env(pyproject: Path, table: Any) -> tuple[tuple[str, str], ...]:
    """`job_env` as sorted (name, value) pairs of strings; a clear error for anything else."""
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
        for k, v in table.items()
    ):
        raise ValueError(f"{pyproject}: [tool.retrain] job_env must map names to strings")
    return tuple(sorted((k, str(v)) for k, v in table.items()))


def _strings(value: Any, pyproject: Path, key: str) -> tuple[str, ...]:
    """A list of strings from [tool.retrain], or a ValueError naming the key."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{pyproject}: [tool.retrain] {key} must be a list of non-empty strings")
    return tuple(value)
