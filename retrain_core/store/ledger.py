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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.data.batches import Batch, Quarantined
from retrain_core.decide.ledger import LedgerEntry, RetrainDecision, measured_values
from retrain_core.monitor.settle import QUARANTINED, QuarantineRecord, matching
from retrain_core.store import quarantine

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from retrain_core.store import Store

KIND = "retrain.kind"
WATERMARK = "retrain.watermark"
TRAINING = "retrain.training"
MAX_TAG = 4900  # MLflow tag values hold 5000 characters (8000 on newer stores)
MARK_IN_TAG = 4000  # a longer watermark is an artifact of the run, its tag points there
MARK_ARTIFACT = "artifact:"  # tag value prefix: the watermark is this artifact of the run
VALIDATED = "retrain.validated"  # experiment tag: verdict keys of training data that passed
VALIDATED_KEPT = 8


@dataclass(frozen=True)
class CheckRecord:
    """A past monitor run as the CLI shows it."""

    run_id: str
    checked_at: datetime
    verdict: str
    reasons: tuple[str, ...]
    rows: int | None


class Ledger:
    """Monitor-run records in the policy's MLflow experiment."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def client(self) -> MlflowClient:
        """The store's MlflowClient."""
        return self.store.client

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
        stamp = _ms(checked_at)
        tags = {
            KIND: "monitor",
            "mlflow.runName": f"check {checked_at:%Y-%m-%d %H:%M}",
            "retrain.checked_at": checked_at.isoformat(),
            "retrain.decision": decision.verdict,
            "retrain.retrain": str(decision.retrain).lower(),
            "retrain.reasons": _clip("\n".join(decision.reasons)),
            "retrain.suppressed_by": decision.suppressed_by or "",
            "retrain.fired": ",".join(sorted(decision.fired)),
            "retrain.judged": str(decision.judged).lower(),
            "retrain.pending_since": _iso(decision.pending_since),
            "retrain.train_since": _iso(decision.train_since),
            "retrain.measured": json.dumps(dict(measured_values(decision.outcomes))),
            "retrain.policy_hash": decision.policy_hash,
            "retrain.window": _clip(decision.window),
            "retrain.prefect_run_id": prefect_run_id or "",
            **{
                f"{WATERMARK}.{key}": _mark_tag(key, value)
                for key, value in sorted(watermarks.items())
            },
        }
        run = self.client.create_run(experiment_id, tags=tags, start_time=stamp)
        run_id = run.info.run_id
        held: list[str] = []
        try:
            held = quarantine.start_quarantine(
                self.client, experiment_id, quarantined, run_id, checked_at
            )
            quarantine.log_judged(self.client, run_id, judged)
            for role, text in sorted(watermarks.items()):
                if _mark_tag(role, text) != text:
                    self.client.log_text(run_id, text, _mark_path(role))
            values = {"rows": float(rows), **(metrics or {}), **_outcome_metrics(decision)}
            self.client.log_batch(
                run_id,
                metrics=[Metric(_metric_name(k), v, stamp, 0) for k, v in sorted(values.items())],
                tags=[RunTag("retrain.outcome_count", str(len(decision.outcomes)))],
            )
            self.client.log_text(run_id, _outcomes_json(decision), "decision.json")
            if before_finish is not None:
                before_finish(run_id)
            self.client.set_terminated(run_id, "FINISHED", end_time=stamp)
        except Exception:
            self.client.set_terminated(run_id, "FAILED", end_time=stamp)
            quarantine.finish(self.client, held, stamp, "FAILED")
            raise
        # a crash before this: the batches are judged again
        quarantine.finish(self.client, held, stamp)
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
        all_tags = {KIND: kind, "mlflow.runName": f"{kind} {now:%Y-%m-%d %H:%M}", **tags}
        run = self.client.create_run(experiment_id, tags=all_tags, start_time=_ms(now))
        self.client.set_terminated(run.info.run_id, "FINISHED", end_time=_ms(now))
        return str(run.info.run_id)

    def _runs(self, name: str, limit: int) -> list[Any]:
        """Finished monitor runs of a policy, newest check first."""
        experiment_id = self.store.existing_experiment(name)
        if experiment_id is None:
            return []
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{KIND}` = 'monitor' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )
        return sorted(runs, key=lambda r: r.data.tags.get("retrain.checked_at", ""), reverse=True)

    def history(self, name: str, limit: int = 500) -> list[LedgerEntry]:
        """The decision history of a policy, oldest first, as `decide()` wants it."""
        entries = [
            LedgerEntry(
                checked_at=_parse_time(run.data.tags["retrain.checked_at"]),
                fired=frozenset(filter(None, run.data.tags.get("retrain.fired", "").split(","))),
                retrained=run.data.tags.get("retrain.retrain") == "true",
                judged=run.data.tags.get("retrain.judged") != "false",
                training=run.data.tags.get(TRAINING, ""),
                pending_since=_optional_time(run.data.tags.get("retrain.pending_since", "")),
                measured=_measured(run.data.tags.get("retrain.measured", "")),
            )
            for run in self._runs(name, limit)
            if "retrain.checked_at" in run.data.tags
        ]
        return entries[::-1]

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
            if value.startswith(MARK_ARTIFACT):
                marks[role] = self._artifact_text(run.info.run_id, value[len(MARK_ARTIFACT) :])
        return marks, int(rows) if rows is not None else None

    def _artifact_text(self, run_id: str, path: str) -> str:
        """A text artifact of a run."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            local = self.client.download_artifacts(run_id, path, folder)
            return Path(local).read_text(encoding="utf-8")

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


def _mark_path(role: str) -> str:
    return f"watermarks/{_metric_name(role)}.json"


def _mark_tag(role: str, text: str) -> str:
    """The watermark's tag: the watermark itself, or where the run keeps it when too long."""
    return text if len(text) <= MARK_IN_TAG else MARK_ARTIFACT + _mark_path(role)


def _record(run: Any) -> CheckRecord:
    tags = run.data.tags
    rows = run.data.metrics.get("rows")
    return CheckRecord(
        run_id=run.info.run_id,
        checked_at=_parse_time(tags.get("retrain.checked_at", "1970-01-01T00:00:00+00:00")),
        verdict=tags.get("retrain.decision", "?"),
        reasons=tuple(filter(None, tags.get("retrain.reasons", "").split("\n"))),
        rows=int(rows) if rows is not None else None,
    )


def _outcome_metrics(decision: RetrainDecision) -> dict[str, float]:
    """Each signal's observed value as a metric, plus 1/0 for failed."""
    metrics: dict[str, float] = {"decision.retrain": float(decision.retrain)}
    for outcome in decision.outcomes:
        if outcome.observed is not None:
            metrics[outcome.check] = float(outcome.observed)
    return {k: v for k, v in metrics.items() if v == v and abs(v) != float("inf")}


def _measured(text: str) -> tuple[tuple[str, float], ...]:
    """The performance rules' measured values a check recorded (none for older checks)."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return ()
    if not isinstance(found, dict):
        return ()
    return tuple((str(k), float(v)) for k, v in found.items() if isinstance(v, int | float))


def _outcomes_json(decision: RetrainDecision) -> str:
    return json.dumps([o.as_dict() for o in decision.outcomes], separators=(",", ":"))


def _metric_name(name: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 3] + "..."


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _optional_time(text: str) -> datetime | None:
    return _parse_time(text) if text else None


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
