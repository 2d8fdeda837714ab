"""The MLflow model registry: registered versions with lineage, their aliases and decisions.

`Registry` is one object with four parts, each its own module: training runs (`runs`), drift
references (`profiles`), approvals (`approvals`), and here the versions and aliases. MLflow is
imported inside the methods (it costs ~2 s), so importing this module stays cheap. The champion
is an alias, so exactly one version holds it by construction; `promote` moves `previous` first
and the champion alias last, and is idempotent, so a crash at any point leaves the old champion
serving and a re-run completes the move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import retrain_core.store.models as models
from retrain_core.store.approvals import Approvals
from retrain_core.store.explain import Explanation, VersionInfo, as_markdown
from retrain_core.store.lineage import git_commit
from retrain_core.store.profiles import Profiles
from retrain_core.store.runs import TrainingRuns
from retrain_core.store.tags import (
    DECIDED_AT,
    DECISION,
    DECISION_REASONS,
    GATE,
    GIT_COMMIT,
    LINEAGE,
    MODEL_ID,
    MONITOR_RUN_ID,
    PROMOTED_AT,
    REGISTERED_AT,
    STAGE,
    STAGE_EVIDENCE,
    STAGE_ROWS,
    STAGE_SINCE,
    STAGED,
    TRAINING_RUN_ID,
    WINDOW_END,
    clip,
    optional_time,
    stamp,
)
from retrain_core.store.tags import serving_since as _serving_since

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


def serving_since(version: ModelVersion) -> datetime:
    """When a version became champion (the flow's logical time), else when it was registered."""
    return _serving_since(version.tags, int(version.creation_timestamp))


def trained_until(version: ModelVersion) -> datetime | None:
    """The newest row a version was trained on (its training window's end), when recorded."""
    return optional_time(version.tags.get(WINDOW_END, ""))


@dataclass(frozen=True)
class StagedVersion:
    """The challenger in a stage: its version, the stage, since when, and its training's end."""

    version: str
    stage: str
    since: datetime
    trained_until: datetime | None
    interrupted: bool = False  # tagged for `stage` while the alias still shows the one before


class RegistryError(RuntimeError):
    """The registry is not in a state that allows the requested change."""


@dataclass(frozen=True)
class RollbackResult:
    """Which version the alias left (None if an earlier rollback was interrupted) and reached."""

    name: str
    alias: str
    from_version: str | None
    to_version: str


class Registry(TrainingRuns, Profiles, Approvals):
    """Training runs, registered versions, their aliases and lineage, in one store."""

    @property
    def tracking_uri(self) -> str:
        """The store's tracking (and registry) URI."""
        return self.store.tracking_uri

    def experiment_id(self, name: str) -> str:
        """The policy's experiment, created on first use (artifacts beside a SQLite store)."""
        return self.store.experiment_id(name)

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
            **{key: run.data.tags.get(key, "") for key in LINEAGE},
            TRAINING_RUN_ID: run_id,
            REGISTERED_AT: stamp(now),
            **({GIT_COMMIT: commit} if (commit := git_commit()) else {}),
            **{k: clip(v) for k, v in (tags or {}).items()},
        }
        existing = self.client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
        if existing:
            version = str(existing[0].version)
            for key, value in lineage.items():
                self.client.set_model_version_tag(name, version, key, value)
            self.write_description(name, version)
            return version
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
        model_id = run.data.tags[MODEL_ID]
        source = models.model_source(self.client, model_id)
        created = self.client.create_model_version(
            name, source, run_id=run_id, tags=lineage, model_id=model_id
        )
        self.write_description(name, str(created.version))
        return str(created.version)

    def promote(
        self,
        name: str,
        version: str | int,
        alias: str = "champion",
        previous_alias: str = "previous",
        *,
        now: datetime,
        reasons: Sequence[str] | None = None,
    ) -> bool:
        """Old champion gets `previous_alias` first, `alias` moves last; False if already there.

        The version is tagged promoted (with `reasons` when given, e.g. its last stage's), with
        `now` as its promotion time (`serving_since`).
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
        found = {} if moved else self.client.get_model_version(name, version).tags
        if found.get(DECISION) != "promoted" or PROMOTED_AT not in found:
            self._set_decision(
                name, version, "promoted", reasons, now, {PROMOTED_AT: now.isoformat()}
            )
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

    def staged(self, name: str) -> StagedVersion | None:
        """The challenger in a stage (the version holding `canary`, else `challenger`), or None.

        A stage alias left on a version decided since (a crash after its decision, before the
        alias was dropped) is dropped here: the decision stands, the alias goes. A version tagged
        for a later stage than its alias shows was interrupted while entering it (`interrupted`:
        the caller completes the move).
        """
        from retrain_core.decide.stages import STAGE_ALIASES

        aliases = self.aliases(name)
        for stage in ("canary", "shadow"):
            version = aliases.get(STAGE_ALIASES[stage])
            if version is None:
                continue
            mv = self.client.get_model_version(name, version)
            if mv.tags.get(DECISION) != STAGED:
                self.leave_stage(name, version)
                return None
            since = optional_time(mv.tags.get(STAGE_SINCE, "")) or serving_since(mv)
            tagged = mv.tags.get(STAGE, stage)
            return StagedVersion(version, tagged, since, trained_until(mv), tagged != stage)
        return None

    def enter_stage(
        self, name: str, version: str, stage: str, reasons: Sequence[str], *, now: datetime
    ) -> None:
        """Tag `version` in `stage` since `now`, then move the stage's alias to it (last), then
        drop its earlier stage's alias. The champion keeps serving throughout."""
        from retrain_core.decide.stages import STAGE_ALIASES

        self.client.set_model_version_tag(name, version, STAGE, stage)
        self.client.set_model_version_tag(name, version, STAGE_SINCE, stamp(now))
        self.client.set_model_version_tag(name, version, STAGE_EVIDENCE, "no check yet")
        self.client.set_model_version_tag(name, version, STAGE_ROWS, "0")
        self._set_decision(name, version, STAGED, reasons, now)
        self._set_alias(name, STAGE_ALIASES[stage], version)
        self.leave_stage(name, version, keep=STAGE_ALIASES[stage])

    def note_stage(self, name: str, version: str, evidence: str, rows: int) -> None:
        """The latest check's comparison of a staged version, for status and explain."""
        self.client.set_model_version_tag(name, version, STAGE_EVIDENCE, clip(evidence))
        self.client.set_model_version_tag(name, version, STAGE_ROWS, str(rows))
        self.write_description(name, version)

    def leave_stage(self, name: str, version: str, keep: str = "") -> None:
        """Drop the stage aliases `version` holds (but `keep`)."""
        from retrain_core.decide.stages import STAGE_ALIASES

        for alias, held in self.aliases(name).items():
            if held == version and alias in STAGE_ALIASES.values() and alias != keep:
                self.client.delete_registered_model_alias(name, alias)

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

    def explain(self, name: str, version: str | int) -> Explanation:
        """Why a version exists: its lineage and the check that asked for it."""
        info = self.describe(name, version)
        monitor_run = info.tags.get(MONITOR_RUN_ID)
        if not monitor_run:
            return Explanation(info)
        try:
            return Explanation(info, self.run_tags(monitor_run))
        except Exception as exc:  # the version's own lineage is still worth telling
            return Explanation(info, check_problem=str(exc))

    def write_description(self, name: str, version: str) -> None:
        """Set the version's MLflow description to why it exists (`retrain explain`, markdown):
        on registration, and again when it is promoted, rejected or rolled back."""
        found = self.explain(name, version)
        self.client.update_model_version(name, version, description=as_markdown(found))

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str]]:
        """A run's metrics and params."""
        run = self.client.get_run(run_id)
        return dict(run.data.metrics), dict(run.data.params)

    def run_tags(self, run_id: str) -> dict[str, str]:
        """A run's tags (e.g. a monitor run's check time and reasons, for `retrain explain`)."""
        return dict(self.client.get_run(run_id).data.tags)

    def unfinished(self, name: str, alias: str = "champion") -> list[str]:
        """Versions newer than the champion that passed the gate but never got a decision (or
        were tagged for their first stage without getting its alias: a crash in between)."""
        champion = self.champion(name, alias)
        floor = int(champion.version) if champion is not None else 0
        versions = self.client.search_model_versions(f"name='{name}'")
        return sorted(
            (
                str(v.version)
                for v in versions
                if int(v.version) > floor
                and v.tags.get(GATE) == "passed"
                and (DECISION not in v.tags or (v.tags[DECISION] == STAGED and not v.aliases))
            ),
            key=int,
        )

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
        found = {DECISION: decision, DECIDED_AT: stamp(now), **(extra or {})}
        if reasons is not None:
            found[DECISION_REASONS] = clip("; ".join(reasons))
        for key, value in found.items():
            self.client.set_model_version_tag(name, version, key, value)
        self.write_description(name, version)
