"""Project-level settings, in one place: `[tool.retrain]` in the project's pyproject.toml."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_WORK_POOL = "retrain"
# Environment every flow run of a deployment gets (`job_env` in [tool.retrain] replaces it): one
# OpenMP/BLAS thread per run, so a worker running several flows on a small machine does not
# oversubscribe its cores (eight fits at once on two cores: ~75 s each with default threads, 3 s
# with one).
# MLflow's per-run "View run" links and artifact progress bars are noise in a fleet's flow logs
# and in a terminal (every `retrain` command sets these too: cli/output.py).
QUIET_MLFLOW = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
DEFAULT_JOB_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    **QUIET_MLFLOW,
}


TABLE = ("tool", "retrain")  # where in pyproject.toml the settings live


def _count(value: Any) -> Any:
    """`max_concurrent_trainings`: a positive whole number, or absent (unlimited)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError("must be a whole number >= 1")
    return value


def _budget(value: Any) -> Any:
    """`training_budget = {max = 20, per = "1d"}` read as (max, per); absent: unlimited."""
    if value is None or isinstance(value, tuple):  # a tuple: from Python, not from TOML
        return value
    from retrain_core.base.durations import parse_duration

    problem = 'must be {max = 20, per = "1d"}'
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


def _job_env(value: Any) -> Any:
    """`job_env` (a table of names to strings) as sorted (name, value) pairs."""
    if isinstance(value, tuple):  # pairs already: from Python, not from TOML
        return value
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ValueError("must map names to strings")
    return tuple(sorted((k, str(v)) for k, v in value.items()))


def _strings(value: Any) -> Any:
    """A list of non-empty strings."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of non-empty strings")
    return tuple(value)


class Settings(BaseSettings):
    """Settings shared by every policy of a project.

    `root` is the folder holding pyproject.toml (policy data paths are relative to it);
    `work_pool` the default Prefect work pool; `allowed_estimator_modules` the module prefixes,
    besides scikit-learn, that a policy may name an estimator from; `pull` the Prefect pull steps
    written into prefect.yaml; `data_dir` where the embedded defaults keep their state;
    `data_roots` the folders (absolute or relative to `root`) and URL prefixes (`s3://bucket/`)
    that policies may read from besides the project folder. (How a worker starts each flow run
    is the work pool's type: see retrain_core/runtime/worker.py.)

    Fleet limits span policies: `max_concurrent_trainings` trainings at once across the fleet
    (None: unlimited) and `training_budget`, at most `max` retrains per `per` across the fleet
    (None: unlimited); both are Prefect global concurrency limits (see `retrain_core.decide.fleet`).
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=True)

    root: Path
    policies_dir: str = "policies"
    work_pool: str = DEFAULT_WORK_POOL
    allowed_estimator_modules: tuple[str, ...] = ()
    pull: tuple[dict[str, Any], ...] = ()
    data_dir: str = ".retrain"
    job_env: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_job_env)] = tuple(
        sorted(DEFAULT_JOB_ENV.items())
    )
    data_roots: Annotated[tuple[str, ...], BeforeValidator(_strings)] = ()
    max_concurrent_trainings: Annotated[int | None, BeforeValidator(_count)] = None
    training_budget: Annotated[tuple[int, timedelta] | None, BeforeValidator(_budget)] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: no environment variables, no .env; `load_settings` reads the
        file, so `Settings(root=...)` is the defaults whatever the project's pyproject.toml says.
        """
        return (init_settings,)

    @property
    def policies_path(self) -> Path:
        """Absolute path of the policies folder."""
        return self.root / self.policies_dir

    @property
    def data_path(self) -> Path:
        """Absolute path of the folder for embedded state (MLflow SQLite store, demo data)."""
        return self.root / self.data_dir


class _Project(Settings):
    """Where `load_settings` finds the settings in a pyproject.toml: `[tool.retrain]`."""

    model_config = SettingsConfigDict(pyproject_toml_table_header=TABLE)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding a pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def load_settings(root: Path | None = None) -> Settings:
    """Read `[tool.retrain]` from the project's pyproject.toml; defaults when absent."""
    from pydantic_settings import PyprojectTomlConfigSettingsSource

    root = find_root(root)
    pyproject = root / "pyproject.toml"
    table = dict(PyprojectTomlConfigSettingsSource(_Project, pyproject)())
    stray = ["root"] if "root" in table else []  # the folder of pyproject.toml, never a key
    table.pop("root", None)
    try:
        settings = Settings(**table, root=root)
    except ValidationError as exc:
        raise ValueError(_problems(pyproject, exc.errors(), stray)) from None
    if stray:
        raise ValueError(_problems(pyproject, [], stray))
    return settings


def _problems(pyproject: Path, errors: list[ErrorDetails], unknown: list[str]) -> str:
    """Pydantic's errors as `pyproject.toml: [tool.retrain] key ...` lines; unknown keys alone."""
    unknown = [*unknown, *(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")]
    if unknown:
        return f"{pyproject}: unknown keys in [tool.retrain]: {', '.join(sorted(unknown))}"
    lines = []
    for error in errors:
        key = ".".join(map(str, error["loc"]))
        ours = error["type"] == "value_error"  # raised by the validators above, worded for people
        text = f" {error.get('ctx', {}).get('error')}" if ours else f": {error['msg']}"
        lines.append(f"{pyproject}: [tool.retrain] {key}{text}")
    return "\n".join(lines)
