"""The MLflow model registry: training runs, registered versions with lineage, and aliases.

MLflow is imported inside the methods (it costs ~2 s), so importing this module stays cheap.
The champion is an alias, so exactly one version holds it by construction; `promote` moves
`previous` first and the champion alias last, and is idempotent, so a crash at any point leaves
the old champion serving and a re-run completes the move.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.lineage import (
    LINEAGE_TAGS,
    SAFE_TYPE_MODULES,
    TAG,
    clip,
    git_commit,
    pip_requirements,
    serialization_format,
    stamp,
    training_params,
    window_tags,
)
from retrain_core.tracking import artifact_root, ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from retrain_core.policy.schema import Policy
    from retrain_core.training import TrainingResult


_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


PROMOTED_AT = f"{TAG}promoted_at"


def serving_since(version: ModelVersion) -> datetime:
    """When a version became champion (the flow's logical time), else when it was registered."""
    stamp = version.tags.get(PROMOTED_AT)
    if stamp:
        return datetime.fromisoformat(stamp)
    return datetime.fromtimestamp(int(version.creation_timestamp) / 1000, tz=UTC)


def trained_until(version: ModelVersion) -> datetime | None:
    """The newest row a version was trained on (its training window's end), when recorded."""
    stamp = version.tags.get(f"{TAG}window_end")
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


REFERENCE_ARTIFACT = "reference/training_sample.parquet"


class RegistryError(RuntimeError):
    """The registry is not in a state that allows the requested change."""


@dataclass(frozen=True)
class RollbackResult:
    """Which version the alias left (None if an earlier rollback was interrupted) and reached."""

    name: str
    alias: str
    from_version: str | None
    to_version: str


@dataclass(frozen=True)
class VersionInfo:
    """One registered version with its lineage and its training run, for `retrain explain`."""

    name: str
    version: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    run_id: str | None
    created: datetime
    metrics: dict[str, float]
    params: dict[str, str]


class Registry:
    """The one place that talks to MLflow's tracking store and model registry."""

    def __init__(self, tracking_uri: str | None = None, artifact_root: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        """The MlflowClient for this store, created on first use."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def experiment_id(self, name: str) -> str:
        """The policy's experiment, created on first use (artifacts beside a SQLite store)."""
        root = Path(self.artifact_root) if self.artifact_root else None
        if root is None and self.tracking_uri is not None:
            root = artifact_root(self.tracking_uri)
        return ensure_experiment(self.client, name, root)

    def log_training_run(
        self,
        policy: Policy,
        result: TrainingResult,
        *,
        monitor_run_id: str | None,
        policy_hash: str,
        trigger: Sequence[str] = (),
        allowed_modules: Iterable[str] = (),
    ) -> str:
        """Log a challenger's training run (params, holdout metrics, model) and return its id."""
        from mlflow.entities import Metric, Param, RunTag

        tags = {
            f"{TAG}kind": "train",
            f"{TAG}policy": policy.name,
            f"{TAG}policy_hash": policy_hash,
            f"{TAG}monitor_run_id": monitor_run_id or "",
            f"{TAG}trigger": clip("; ".join(trigger)),
        }
        run = self.client.create_run(
            self.experiment_id(policy.name), tags=tags, run_name=f"train-{stamp()}"
        )
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            self.client.log_batch(
                run_id,
                metrics=[Metric(f"holdout_{k}", v, now, 0) for k, v in result.metrics.items()],
                params=[Param(k, v) for k, v in training_params(policy, result).items()],
                tags=[RunTag(k, v) for k, v in window_tags(result.window).items()],
            )
            self._log_model(run_id, result, allowed_modules)
        except BaseException:
            with suppress(Exception):  # keep the original error when MLflow itself is down
                self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def _log_model(self, run_id: str, result: TrainingResult, allowed: Iterable[str]) -> None:
        """Log the pipeline in skops when every type it needs is allow-listed, else cloudpickle."""
        import mlflow.sklearn

        pipeline = result.fitted.pipeline
        fmt, trusted, note = serialization_format(pipeline, (*SAFE_TYPE_MODULES, *allowed))
        # The run must be active: otherwise mlflow files the logged model (and its artifacts)
        # under the Default experiment, i.e. ./mlruns of whatever folder the worker runs in.
        with (
            _tracking(self.tracking_uri),
            mlflow.start_run(run_id=run_id, log_system_metrics=False),
            warnings.catch_warnings(),
        ):
            # mlflow hints that integer outputs (class labels) cannot hold NaN: not a concern here
            warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer")
            info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                serialization_format=fmt,
                skops_trusted_types=trusted,
                pip_requirements=pip_requirements(fmt, result.fitted.estimator_class),
                input_example=result.fitted.input_example,
            )
        self.client.set_tag(run_id, f"{TAG}model_id", info.model_id)
        self.client.set_tag(run_id, f"{TAG}serialization", fmt)
        if note:
            self.client.set_tag(run_id, f"{TAG}serialization_note", clip(note))

    def log_reference(self, run_id: str, sample: Any) -> None:
        """Store a sample of the training rows with the run: the version's drift reference."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(REFERENCE_ARTIFACT).name
            sample.to_parquet(path, index=False)
            self.client.log_artifact(run_id, str(path), str(Path(REFERENCE_ARTIFACT).parent))

    def load_reference(self, run_id: str) -> Any:
        """The training sample stored with a run, or None when the run has none."""
        import pandas as pd
        from mlflow.exceptions import MlflowException

        try:
            path = self.client.download_artifacts(run_id, REFERENCE_ARTIFACT)
        except (MlflowException, OSError):
            return None
        return pd.read_parquet(path)

    def champion(self, name: str, alias: str = "champion") -> ModelVersion | None:
        """The version holding `alias`, or None when the model or the alias does not exist."""
        version = self.aliases(name).get(alias)
        return self.client.get_model_version(name, version) if version is not None else None

    def load_model(self, name: str, alias_or_version: str | int = "champion") -> Any:
        """Load a registered version as a scikit-learn pipeline, by alias or version number."""
        import mlflow.sklearn

        ref = str(alias_or_version)
        uri = f"models:/{name}/{ref}" if ref.isdigit() else f"models:/{name}@{ref}"
        with _tracking(self.tracking_uri):
            return mlflow.sklearn.load_model(uri)

    def register(self, run_id: str, name: str, tags: Mapping[str, str] | None = None) -> str:
        """Register the run's model with lineage tags; a re-run for the same run reuses it."""
        from mlflow.exceptions import MlflowException

        run = self.client.get_run(run_id)
        lineage = {
            **{f"{TAG}{k}": run.data.tags.get(f"{TAG}{k}", "") for k in LINEAGE_TAGS},
            f"{TAG}training_run_id": run_id,
            f"{TAG}registered_at": stamp(),
            **({f"{TAG}git_commit": commit} if (commit := git_commit()) else {}),
            **{k: clip(v) for k, v in (tags or {}).items()},
        }
        existing = self.client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
        if existing:
            version = str(existing[0].version)
            for key, value in lineage.items():
                self.client.set_model_version_tag(name, version, key, value)
            return version
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
        model_id = run.data.tags[f"{TAG}model_id"]
        # mlflow's SQL registry looks the logged model up through the global tracking URI
        with _tracking(self.tracking_uri):
            created = self.client.create_model_version(
                name, f"models:/{model_id}", run_id=run_id, tags=lineage, model_id=model_id
            )
        return str(created.version)

    def promote(
        self,
        name: str,
        version: str | int,
        alias: str = "champion",
        previous_alias: str = "previous",
    ) -> bool:
        """Old champion gets `previous_alias` first, `alias` moves last; False if already there."""
        version = str(version)
        current = self.champion(name, alias)
        moved = current is None or str(current.version) != version
        if current is not None and moved:
            self._set_alias(name, previous_alias, str(current.version))
        if moved:
            self._set_alias(name, alias, version)
        if self.aliases(name).get(previous_alias) == version:
            self.client.delete_registered_model_alias(name, previous_alias)
        if moved or self.client.get_model_version(name, version).tags.get(f"{TAG}decision") != (
            "promoted"
        ):
            self._set_decision(name, version, "promoted", None)
        return moved

    def tag_rejected(self, name: str, version: str | int, reasons: Sequence[str]) -> None:
        """Mark a registered challenger as rejected, with the gate's reasons; it gets no alias."""
        self._set_decision(name, str(version), "rejected", reasons)

    def rollback(
        self,
        name: str,
        alias: str = "champion",
        previous_alias: str = "previous",
        reasons: Sequence[str] = (),
    ) -> RollbackResult:
        """Move `alias` back to the `previous_alias` version and drop `previous_alias`.

        The withdrawn champion does not become `previous`: it is tagged rolled_back and holds no
        alias, so a second rollback fails clearly instead of re-serving the model just withdrawn
        (promote it explicitly to undo). Order: tag, move the alias, drop `previous`; a re-run
        after a crash between the last two finds both aliases on one version and drops `previous`.
        """
        aliases = self.aliases(name)
        target, current = aliases.get(previous_alias), aliases.get(alias)
        if target is None:
            raise RegistryError(f"{name} has no {previous_alias!r} version to roll back to")
        if current is not None and current != target:
            why = [f"{alias} rolled back to {target}", *reasons]
            self._set_decision(name, current, "rolled_back", why)
            self._set_alias(name, alias, target)
        self.client.delete_registered_model_alias(name, previous_alias)
        from_version = current if current != target else None
        return RollbackResult(name, alias, from_version, target)

    def describe(self, name: str, version: str | int) -> VersionInfo:
        """A version's aliases, lineage tags and training run metrics and params."""
        mv = self.client.get_model_version(name, str(version))
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        if mv.run_id:
            run = self.client.get_run(mv.run_id)
            metrics, params = dict(run.data.metrics), dict(run.data.params)
        return VersionInfo(
            name=name,
            version=str(mv.version),
            aliases=tuple(mv.aliases),
            tags=dict(mv.tags),
            run_id=mv.run_id,
            created=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
            metrics=metrics,
            params=params,
        )

    def unfinished(self, name: str, alias: str = "champion") -> list[str]:
        """Versions newer than the champion that passed the gate but never got a decision."""
        champion = self.champion(name, alias)
        floor = int(champion.version) if champion is not None else 0
        versions = self.client.search_model_versions(f"name='{name}'")
        return sorted(
            (
                str(v.version)
                for v in versions
                if int(v.version) > floor
                and v.tags.get(f"{TAG}gate") == "passed"
                and f"{TAG}decision" not in v.tags
            ),
            key=int,
        )

    def aliases(self, name: str) -> dict[str, str]:
        """The registered model's alias -> version map; empty when the model does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise
        return {alias: str(version) for alias, version in model.aliases.items()}

    def _set_alias(self, name: str, alias: str, version: str) -> None:
        """Point `alias` at `version` (the single place aliases move; tests inject crashes here)."""
        self.client.set_registered_model_alias(name, alias, version)

    def _set_decision(
        self, name: str, version: str, decision: str, reasons: Sequence[str] | None
    ) -> None:
        """Record what happened to a version (and why, when given), with a UTC timestamp."""
        tags = {f"{TAG}decision": decision, f"{TAG}decided_at": stamp()}
        if reasons is not None:
            tags[f"{TAG}decision_reasons"] = clip("; ".join(reasons))
        for key, value in tags.items():
            self.client.set_model_version_tag(name, version, key, value)


@contextmanager
def _tracking(uri: str | None) -> Iterator[None]:
    """Point MLflow's fluent API (used by log_model/load_model) at `uri`, then restore it exactly.

    `mlflow.set_tracking_uri`/`set_registry_uri` also write MLFLOW_TRACKING_URI and
    MLFLOW_REGISTRY_URI into os.environ and set module globals that outrank the environment, so
    restoring through them would pin this store for the rest of the process (a later
    MLFLOW_TRACKING_URI, or another store's Registry, would silently log here). The globals and
    the variables are saved and put back as they were instead.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    if uri is None:
        yield
        return
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    environ = {name: os.environ.get(name) for name in _URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for name, value in environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
