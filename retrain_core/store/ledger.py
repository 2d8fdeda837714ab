"""The ledger: one MLflow run per monitor check, read back for cooldown, hysteresis and watermarks.

Every worker on every machine reads the same history, because the history is the MLflow tracking
store. A monitor run is written whole (tags at creation, metrics in one batch, then FINISHED); the
history only reads FINISHED runs, so a crash half-way leaves nothing that counts. Each role's
watermark is a tag of the run (`retrain.watermark.<role>`); one too long for a tag is the run's
artifact `watermarks/<role>.json`, and its tag reads `artifact:watermarks/<role>.json`.
The batches a check judged are its run's dataset inputs (`judged`); the verdict keys of training
data that passed validation are a tag of the policy's experiment (`validated`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import retrain_core.store.quarantine as quarantine
from retrain_core.data.batches import Batch, Quarantined
from retrain_core.decide.records import LedgerEntry, RetrainDecision
from retrain_core.store.artifact_cache import artifact, keep_text
from retrain_core.store.backend import Part
from retrain_core.store.codec import decision_tags, entry_from_tags, signal_metrics
from retrain_core.store.quarantine import QuarantineRecord, matching
from retrain_core.store.tags import (
    CHECKED_AT,
    DECISION,
    EPOCH,
    FROM_VERSION,
    KIND,
    MONITOR,
    OUTCOME_COUNT,
    OUTCOMES,
    QUARANTINED,
    REASONS,
    ROLLBACK,
    RUN_NAME,
    STAGE,
    STAGE_ACTION,
    STAGE_EVENT,
    STAGE_ROWS,
    TO_VERSION,
    TRAINING,
    TRIGGER,
    VALIDATED,
    WATERMARK,
    metric_name,
    ms,
    parse_time,
    watermark_artifact,
    watermark_in_artifact,
    watermark_tag,
)

VALIDATED_KEPT = 8


@dataclass(frozen=True)
class CheckRecord:
    """A past monitor run as the CLI shows it."""

    run_id: str
    checked_at: datetime
    verdict: str
    reasons: tuple[str, ...]
    rows: int | None


class Ledger(Part):
    """Monitor-run records in the policy's MLflow experiment."""

    def record(
        self,
        name: str,
        decision: RetrainDecision,
        watermarks: dict[str, str],
        rows: int,
        metrics: dict[str, float] | None = None,
        prefect_run_id: str | None = None,
        before_finish: Callable[[str], None] | None = None,
        quarantined: Sequence[Quarantined] = (),
        judged: Sequence[tuple[str, Batch]] = (),
    ) -> str:
        """Write one monitor run for this decision and return its MLflow run id.

        `before_finish(run_id)` (e.g. publishing the decision artifact) runs before the run is
        FINISHED: when it fails, the run is FAILED, so it neither counts nor moves a watermark.
        The batches set aside (`quarantined`) get their own runs, finished with this one; the
        digests of the batches judged are logged as its dataset inputs.
        """
        from mlflow.entities import Metric, RunTag

        experiment_id = self.store.experiment_id(name)
        if decision.decided_at is None:
            raise ValueError("a decision is recorded at the moment it was made (decided_at)")
        checked_at = decision.decided_at
        stamp = ms(checked_at)
        tags = decision_tags(decision, watermarks, prefect_run_id)
        run = self.client.create_run(experiment_id, tags=tags, start_time=stamp)
        run_id = run.info.run_id
        held: list[str] = []
        try:
            held = quarantine.start_quarantine(
                self.client, experiment_id, quarantined, run_id, checked_at
            )
            quarantine.log_judged(self.client, run_id, judged)
            for role, text in sorted(watermarks.items()):
                if watermark_tag(role, text) != text:
                    self.client.log_text(run_id, text, watermark_artifact(role))
            values = {**(metrics or {}), **signal_metrics(decision, rows)}
            self.client.log_batch(
                run_id,
                metrics=[Metric(metric_name(k), v, stamp, 0) for k, v in sorted(values.items())],
                tags=[RunTag(OUTCOME_COUNT, str(len(decision.outcomes)))],
            )
            outcomes = _outcomes_json(decision)
            self.client.log_text(run_id, outcomes, OUTCOMES)
            if before_finish is not None:
                before_finish(run_id)
            self.client.set_terminated(run_id, "FINISHED", end_time=stamp)
        except Exception:
            self.client.set_terminated(run_id, "FAILED", end_time=stamp)
            quarantine.finish(self.client, held, stamp, "FAILED")
            raise
        # a crash before this: the batches are judged again
        quarantine.finish(self.client, held, stamp)
        keep_text(self.store.tracking_uri, (run_id, OUTCOMES), outcomes)  # the report reads it
        return str(run_id)

    def record_training(self, run_id: str, status: str) -> None:
        """Note what a check's retrain came to (promoted, rejected, failed) on its ledger run.

        `decide()` reads it back: a failed training starts no cooldown and keeps a pending
        retrain open; a rejected one spends budget but starts no cooldown.
        """
        self.client.set_tag(run_id, TRAINING, status)

    def record_event(self, name: str, kind: str, tags: dict[str, str], *, now: datetime) -> str:
        """Write a finished run for an operator action (e.g. a rollback) at `now` in the ledger."""
        experiment_id = self.store.experiment_id(name)
        all_tags = {KIND: kind, RUN_NAME: f"{kind} {now:%Y-%m-%d %H:%M}", **tags}
        run = self.client.create_run(experiment_id, tags=all_tags, start_time=ms(now))
        self.client.set_terminated(run.info.run_id, "FINISHED", end_time=ms(now))
        return str(run.info.run_id)

    def record_rollback(
        self,
        name: str,
        from_version: str | None,
        to_version: str,
        *,
        now: datetime,
        trigger: str = "",
        reasons: Sequence[str] = (),
    ) -> str:
        """Write the rollback of `name` from one version to another at `now` in the ledger.

        A rollback a check decided (`trigger`, e.g. probation) also records why and when.
        """
        tags = {FROM_VERSION: from_version or "", TO_VERSION: to_version}
        if trigger:
            tags |= {REASONS: "\n".join(reasons), TRIGGER: trigger, CHECKED_AT: now.isoformat()}
        return self.record_event(name, ROLLBACK, tags, now=now)

    def record_stage(
        self,
        name: str,
        version: str,
        stage: str,
        action: str,
        reasons: Sequence[str],
        *,
        now: datetime,
        rows: int = 0,
    ) -> str:
        """Write a stage change of `version` (entered, advanced, rejected, promoted) with its
        evidence at `now` in the ledger."""
        tags = {
            TO_VERSION: version, STAGE: stage, STAGE_ACTION: action, STAGE_ROWS: str(rows),
            REASONS: "\n".join(reasons), CHECKED_AT: now.isoformat(),
        }  # fmt: skip
        return self.record_event(name, STAGE_EVENT, tags, now=now)

    def _runs(self, name: str, limit: int) -> list[Any]:
        """Finished monitor runs of a policy, newest check first."""
        experiment_id = self.store.existing_experiment(name)
        if experiment_id is None:
            return []
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{KIND}` = '{MONITOR}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )
        return sorted(runs, key=lambda r: r.data.tags.get(CHECKED_AT, ""), reverse=True)

    def history(self, name: str, limit: int = 500) -> list[LedgerEntry]:
        """The decision history of a policy, oldest first, as `decide()` wants it."""
        entries = [entry_from_tags(run.data.tags) for run in self._runs(name, limit)]
        return [entry for entry in entries if entry is not None][::-1]

    def checks(self, name: str, limit: int = 20) -> list[CheckRecord]:
        """Recent monitor runs, newest first, for `retrain status`."""
        return [_record(run) for run in self._runs(name, limit)]

    def watermarks(self, name: str) -> tuple[dict[str, str], int | None]:
        """The watermarks and row count the newest finished check stored (empty before any)."""
        runs = self._runs(name, limit=1)
        if not runs:
            return {}, None
        run = runs[0]
        tags, rows = run.data.tags, run.data.metrics.get("rows")
        prefix = f"{WATERMARK}."
        marks = {k[len(prefix) :]: v for k, v in tags.items() if k.startswith(prefix) and v}
        for role, value in marks.items():
            if artifact := watermark_in_artifact(value):
                marks[role] = self._artifact_text(run.info.run_id, artifact)
        return marks, int(rows) if rows is not None else None

    def _artifact_text(self, run_id: str, path: str) -> str:
        """A text artifact of a run."""

        def download(folder: Path) -> str:
            return str(self.client.download_artifacts(run_id, path, str(folder)))

        with artifact(self.store.tracking_uri, (run_id, path), download) as local:
            return local.read_text(encoding="utf-8")

    def quarantined(self, name: str) -> dict[str, set[str]]:
        """The keys of the batches set aside and not released, by role (current, labels)."""
        keys: dict[str, set[str]] = {}
        for record in self.quarantine(name, QUARANTINED):
            keys.setdefault(record.role, set()).add(record.key)
        return keys

    def quarantine(self, name: str, status: str | None = None) -> list[QuarantineRecord]:
        """Quarantine records of a policy, newest first (all, or only those with `status`)."""
        return quarantine.records(self.client, self.store.existing_experiment(name), status)

    def release(self, name: str, file: str, *, now: datetime) -> list[QuarantineRecord]:
        """Release the quarantined batches named `file` at `now`; the next check judges them."""
        found = matching(self.quarantine(name, QUARANTINED), file)
        quarantine.release(self.client, found, now)
        return found

    def earlier_batch(self, name: str, digest: str) -> str | None:
        """The key of an already judged batch with this content digest, or None."""
        return quarantine.earlier_batch(self.client, self.store.existing_experiment(name), digest)

    def judged(self, name: str, policy_hash: str) -> dict[str, set[str]]:
        """The keys of the batches checks under this policy judged (passed its rules), by role.

        Only names: a judged batch is one the watermark never reads again as new, so it is not
        read again here either. Under another policy its verdict does not count.
        """
        experiment_id = self.store.existing_experiment(name)
        return quarantine.judged(self.client, experiment_id, policy_hash)

    def validated(self, name: str) -> list[str]:
        """The verdict keys of the training data that last passed validation, newest first."""
        experiment_id = self.store.existing_experiment(name)
        if experiment_id is None:
            return []
        text = self.client.get_experiment(experiment_id).tags.get(VALIDATED, "")
        return [key for key in text.split(",") if key]

    def remember_validated(self, name: str, keys: Sequence[str]) -> None:
        """Remember verdict keys of training data that passed (a few, newest first)."""
        if not keys:
            return
        known = [*keys, *self.validated(name)]
        kept = list(dict.fromkeys(known))[:VALIDATED_KEPT]
        self.client.set_experiment_tag(self.store.experiment_id(name), VALIDATED, ",".join(kept))

    def last_check(self, name: str) -> CheckRecord | None:
        """The newest finished check, or None before the first one."""
        runs = self.checks(name, limit=50)
        return runs[0] if runs else None


def _record(run: Any) -> CheckRecord:
    tags = run.data.tags
    rows = run.data.metrics.get("rows")
    return CheckRecord(
        run_id=run.info.run_id,
        checked_at=parse_time(tags.get(CHECKED_AT, EPOCH)),
        verdict=tags.get(DECISION, "?"),
        reasons=tuple(filter(None, tags.get(REASONS, "").split("\n"))),
        rows=int(rows) if rows is not None else None,
    )


def _outcomes_json(decision: RetrainDecision) -> str:
    return json.dumps([o.as_dict() for o in decision.outcomes], separators=(",", ":"))
