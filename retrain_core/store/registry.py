"""The MLflow model registry: training runs, registered versions with lineage, and aliases.

MLflow is imported inside the methods (it costs ~2 s), so importing this module stays cheap.
The champion is an alias, so exactly one version holds it by construction; `promote` moves
`previous` first and the champion alias last, and is idempotent, so a crash at any point leaves
the old champion serving and a re-run completes the move.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.decide import approval
from retrain_core.store import models
from retrain_core.store.lineage import (
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

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from retrain_core.checks.profile import ReferenceProfile
    from retrain_core.policy.schema import Policy
    from retrain_core.store import Store
    from retrain_core.training.challenger import TrainingResult


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
PROFILE_ARTIFACT = "reference/profile.json"  # the sample's ReferenceProfile.to_dict()
PROFILE_RUN = "reference_profile"  # kind of the run holding a reference's profile by its key
PROFILE_KEY = f"{TAG}profile_key"  # that run's tags: the profile's content key and format
PROFILE_FORMAT = f"{TAG}profile_format"


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
    """Training runs, registered versions, their aliases and lineage, in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def client(self) -> MlflowClient:
        """The store's MlflowClient."""
        return self.store.client

    @property
    def tracking_uri(self) -> str:
        """The store's tracking (and registry) URI."""
        return self.store.tracking_uri

    def experiment_id(self, name: str) -> str:
        """The policy's experiment, created on first use (artifacts beside a SQLite store)."""
        return self.store.experiment_id(name)

    def log_training_run(
        self,
        policy: Policy,
        result: TrainingResult,
        *,
        monitor_run_id: str | None,
        policy_hash: str,
        trigger: Sequence[str] = (),
        allowed_modules: Iterable[str] = (),
        now: datetime,
    ) -> str:
        """Log a challenger's training run (params, holdout metrics, model) and return its id.

        The run starts and ends at `now` (the flow's logical time), as do its metrics.
        """
        from mlflow.entities import Metric, Param, RunTag

        tags = {
            f"{TAG}kind": "train",
            f"{TAG}policy": policy.name,
            f"{TAG}policy_hash": policy_hash,
            f"{TAG}monitor_run_id": monitor_run_id or "",
            f"{TAG}trigger": clip("; ".join(trigger)),
        }
        moment = _ms(now)
        run = self.client.create_run(
            self.experiment_id(policy.name),
            start_time=moment,
            tags=tags,
            run_name=f"train-{stamp(now)}",
        )
        run_id = run.info.run_id
        with self._finished(run_id, moment):
            params = training_params(policy, result)
            self.client.log_batch(
                run_id,
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in window_tags(result.window).items()],
            )
            inputs = training_inputs(policy.name, result)
            if inputs:
                self.client.log_inputs(run_id, datasets=inputs)
            metrics = [Metric(f"holdout_{k}", v, moment, 0) for k, v in result.metrics.items()]
            experiment_id = str(run.info.experiment_id)
            self._log_model(run_id, experiment_id, result, allowed_modules, params, metrics)
        return run_id

    def _log_model(
        self,
        run_id: str,
        experiment_id: str,
        result: TrainingResult,
        allowed: Iterable[str],
        params: dict[str, str],
        metrics: Sequence[Any],
    ) -> None:
        """Log the pipeline in skops when every type it needs is allow-listed, else cloudpickle."""
        pipeline = result.fitted.pipeline
        fmt, trusted, note = serialization_format(pipeline, (*SAFE_TYPE_MODULES, *allowed))
        model_id = models.log_model(
            self.client, experiment_id, run_id, pipeline, params=params, metrics=metrics,
            serialization_format=fmt, trusted_types=trusted,
            pip_requirements=pip_requirements(fmt, result.fitted.estimator_class),
            input_example=result.fitted.input_example,
        )  # fmt: skip
        self.client.set_tag(run_id, f"{TAG}model_id", model_id)
        self.client.set_tag(run_id, f"{TAG}serialization", fmt)
        if note:
            self.client.set_tag(run_id, f"{TAG}serialization_note", clip(note))

    def log_reference(
        self, run_id: str, sample: Any, profile: ReferenceProfile | None = None
    ) -> None:
        """Store a sample of the training rows with the run: the version's drift reference.

        With the sample's profile (`checks.profile`), the drift checks of every later check
        against this version bin the current window against it instead of profiling again.
        """
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(REFERENCE_ARTIFACT).name
            sample.to_parquet(path, index=False)
            self.client.log_artifact(run_id, str(path), str(Path(REFERENCE_ARTIFACT).parent))
        if profile is not None:
            self._log_profile(run_id, profile)

    def _log_profile(self, run_id: str, profile: ReferenceProfile) -> None:
        import json

        text = json.dumps(profile.to_dict(), separators=(",", ":"))
        self.client.log_text(run_id, text, PROFILE_ARTIFACT)

    def store_profile(self, name: str, profile: ReferenceProfile, *, now: datetime) -> str:
        """Keep the profile of a reference that has no version to live with (a fixed file, a
        version stored without one) in the policy's experiment, found again by its content key
        (`stored_profile`): a run of its own, FINISHED once the artifact is whole."""
        from retrain_core.checks.profile import FORMAT

        tags = {
            f"{TAG}kind": PROFILE_RUN,
            f"{TAG}policy": name,
            PROFILE_KEY: profile.key,
            PROFILE_FORMAT: str(FORMAT),
        }
        moment = _ms(now)
        run = self.client.create_run(
            self.experiment_id(name), start_time=moment, tags=tags,
            run_name=f"reference-profile-{profile.key[:12]}",
        )  # fmt: skip
        run_id = run.info.run_id
        with self._finished(run_id, moment):
            self._log_profile(run_id, profile)
        return run_id

    @contextmanager
    def _finished(self, run_id: str, moment: int) -> Iterator[None]:
        """FINISHED at `moment` when the block completes, else FAILED (the error goes on)."""
        try:
            yield
        except BaseException:
            with suppress(Exception):  # keep the original error when MLflow itself is down
                self.client.set_terminated(run_id, "FAILED", end_time=moment)
            raise
        self.client.set_terminated(run_id, "FINISHED", end_time=moment)

    def stored_profile(self, name: str, key: str) -> ReferenceProfile | None:
        """The profile `store_profile` kept for reference content `key` (in this format), or
        None when there is none."""
        from retrain_core.checks.profile import FORMAT

        experiment = self.store.existing_experiment(name)
        if experiment is None:
            return None
        query = (
            f"tags.`{TAG}kind` = '{PROFILE_RUN}' and tags.`{PROFILE_KEY}` = '{_quoted(key)}' "
            f"and tags.`{PROFILE_FORMAT}` = '{FORMAT}' and attributes.status = 'FINISHED'"
        )
        runs = self.client.search_runs([experiment], filter_string=query, max_results=1)
        return self.load_profile(runs[0].info.run_id) if runs else None

    def load_profile(self, run_id: str) -> ReferenceProfile | None:
        """The reference profile stored with a run; None when it has none (older versions)."""
        import json
        import tempfile

        from mlflow.exceptions import MlflowException

        from retrain_core.checks.profile import ReferenceProfile

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, PROFILE_ARTIFACT, folder)
            except (MlflowException, OSError):
                return None
            text = Path(path).read_text(encoding="utf-8")
        try:
            return ReferenceProfile.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):  # another format: the checks profile again
            return None

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
        return models.load_model(self.client, self.tracking_uri, name, alias_or_version)

    def register(
        self, run_id: str, name: str, tags: Mapping[str, str] | None = None, *, now: datetime
    ) -> str:
        """Register the run's model with lineage tags; a re-run for the same run reuses it."""
        from mlflow.exceptions import MlflowException

        run = self.client.get_run(run_id)
        lineage = {
            **{f"{TAG}{k}": run.data.tags.get(f"{TAG}{k}", "") for k in LINEAGE_TAGS},
            f"{TAG}training_run_id": run_id,
            f"{TAG}registered_at": stamp(now),
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
        source = models.model_source(self.client, model_id)
        created = self.client.create_model_version(
            name, source, run_id=run_id, tags=lineage, model_id=model_id
        )
        return str(created.version)

    def promote(
        self,
        name: str,
        version: str | int,
        alias: str = "champion",
        previous_alias: str = "previous",
        *,
        now: datetime,
    ) -> bool:
        """Old champion gets `previous_alias` first, `alias` moves last; False if already there.

        The version is tagged promoted, with `now` as its promotion time (`serving_since`).
        """
        version = str(version)
        current = self.champion(name, alias)
        moved = current is None or str(current.version) != version
        if current is not None and moved:
            self._set_alias(name, previous_alias, str(current.version))
        if moved:
            self._set_alias(name, alias, version)
        if self.aliases(name).get(previous_alias) == version:
            self.client.delete_registered_model_alias(name, previous_alias)
        tags = {} if moved else self.client.get_model_version(name, version).tags
        if tags.get(f"{TAG}decision") != "promoted" or PROMOTED_AT not in tags:
            self._set_decision(name, version, "promoted", None, now, {PROMOTED_AT: now.isoformat()})
        return moved

    def tag_rejected(
        self, name: str, version: str | int, reasons: Sequence[str], *, now: datetime
    ) -> None:
        """Mark a registered challenger as rejected, with the gate's reasons; it gets no alias."""
        self._set_decision(name, str(version), "rejected", reasons, now)

    def rollback(
        self,
        name: str,
        alias: str = "champion",
        previous_alias: str = "previous",
        reasons: Sequence[str] = (),
        *,
        now: datetime,
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
            self._set_decision(name, current, "rolled_back", why, now)
            self._set_alias(name, alias, target)
        self.client.delete_registered_model_alias(name, previous_alias)
        from_version = current if current != target else None
        return RollbackResult(name, alias, from_version, target)

    def describe(self, name: str, version: str | int) -> VersionInfo:
        """A version's aliases, lineage tags and training run metrics and params."""
        mv = self.client.get_model_version(name, str(version))
        metrics, params = self.run_data(mv.run_id) if mv.run_id else ({}, {})
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

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str]]:
        """A run's metrics and params."""
        run = self.client.get_run(run_id)
        return dict(run.data.metrics), dict(run.data.params)

    def run_tags(self, run_id: str) -> dict[str, str]:
        """A run's tags (e.g. a monitor run's check time and reasons, for `retrain explain`)."""
        return dict(self.client.get_run(run_id).data.tags)

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

    def mark_approval_pending(self, name: str, version: str, deadline: datetime) -> None:
        """Tag the challenger as waiting for a person until `deadline`."""
        self.client.set_model_version_tag(name, version, approval.DEADLINE, deadline.isoformat())
        self.client.set_model_version_tag(name, version, approval.APPROVAL, approval.PENDING)

    def mark_approval_answered(self, name: str, version: str, answer: str) -> None:
        """Tag the challenger with the answer: approved, rejected or expired."""
        self.client.set_model_version_tag(name, version, approval.APPROVAL, answer)

    def pending_approval(self, name: str, now: datetime) -> tuple[str, datetime] | None:
        """The version waiting for approval at `now` and its deadline, or None."""
        return self.approvals(name, now)[1]

    def approvals(self, name: str, now: datetime) -> tuple[list[str], tuple[str, datetime] | None]:
        """Versions still tagged pending at `now`, in one registry search: those whose deadline
        is not after `now` (nobody answered; an unreadable deadline holds nothing), and the
        newest one still waiting with its deadline (or None)."""
        found: list[Any] = self.client.search_model_versions(
            f"name = '{_quoted(name)}' and tags.`{approval.APPROVAL}` = '{approval.PENDING}'"
        )
        late, waiting = [], []
        for version in found:
            try:
                deadline = datetime.fromisoformat(version.tags.get(approval.DEADLINE, ""))
            except ValueError:
                late.append(str(version.version))
                continue
            if deadline > now:
                waiting.append((str(version.version), deadline))
            else:
                late.append(str(version.version))
        newest = max(waiting, key=lambda item: int(item[0])) if waiting else None
        return sorted(late, key=int), newest

    def approval_is_pending(self, name: str, version: str) -> bool:
        """True while `version` waits for an answer (not approved, rejected or expired yet)."""
        tags = self.client.get_model_version(name, version).tags
        return bool(tags.get(approval.APPROVAL) == approval.PENDING)

    def version_tags(self, name: str, version: str) -> dict[str, str]:
        """The tags of one registered version."""
        return dict(self.client.get_model_version(name, version).tags)

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
        self,
        name: str,
        version: str,
        decision: str,
        reasons: Sequence[str] | None,
        now: datetime,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """Record what happened to a version (and why, when given) at the caller's `now`."""
        tags = {f"{TAG}decision": decision, f"{TAG}decided_at": stamp(now), **(extra or {})}
        if reasons is not None:
            tags[f"{TAG}decision_reasons"] = clip("; ".join(reasons))
        for key, value in tags.items():
            self.client.set_model_version_tag(name, version, key, value)


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")


def training_inputs(name: str, result: TrainingResult) -> list[Any]:
    """The rows a challenger was fit on and scored on, as MLflow dataset inputs of its run.

    Named `<policy>-training` and `<policy>-holdout` (context `training` / `holdout`), each with
    a digest of its content and a profile holding its row count and time window.
    """
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    window = result.window or ("", "")
    found = []
    for context, frame in (("training", result.rows), ("holdout", result.holdout)):
        if frame is None:
            continue
        profile = {"num_rows": len(frame), "window_start": window[0], "window_end": window[1]}
        dataset = Dataset(
            name=f"{name}-{context}"[:500], digest=frame_digest(frame), source_type="local",
            source=json.dumps({"policy": name, "window": list(window)}),
            profile=json.dumps(profile),
        )  # fmt: skip
        found.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)]))
    return found


def frame_digest(frame: Any) -> str:
    """A digest of a frame's columns and values (not its index), as MLflow keeps it: 32 hex."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
