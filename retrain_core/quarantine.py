"""Quarantined batches in the ledger: one MLflow run per batch set aside, until a person frees it.

A quarantine run is written by the monitor check that found the batch (same experiment as the
policy's ledger), RUNNING until that check's own run is FINISHED, then FINISHED: a check that
crashes half-way leaves no quarantine that counts, and the batch is judged again. Only FINISHED
runs with status `quarantined` keep a file out of windows, label joins and training data;
`retrain quarantine release` sets the status to `released`, so the next check judges the file
again. The digests of the batches a check judged are logged as MLflow dataset inputs of its run,
so a batch delivered again under another name is recognised by its content.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from retrain_core.data.batches import Batch, Quarantined

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from retrain_core.checks.outcome import CheckOutcome
    from retrain_core.monitor import Loaded

KIND = "retrain.kind"
PREFIX = "retrain.quarantine."
QUARANTINED = "quarantined"
RELEASED = "released"
DIGEST_CHARS = 32  # MLflow keeps 36 characters of a dataset digest: 128 bits of the SHA-256
MAX_TAG = 4900


@dataclass(frozen=True)
class QuarantineRecord:
    """A quarantined (or released) batch as `retrain quarantine list` shows it."""

    run_id: str
    role: str
    key: str
    path: str
    reason: str
    status: str
    found_at: str
    monitor_run_id: str


def start_quarantine(
    client: MlflowClient, experiment_id: str, items: Sequence[Quarantined], monitor_run_id: str
) -> list[str]:
    """Create one RUNNING run per batch set aside; `finish` makes them count."""
    found_at = datetime.now(UTC).isoformat()
    run_ids = []
    for item in items:
        tags = {
            KIND: "quarantine",
            "mlflow.runName": f"quarantine {item.key}"[:250],
            f"{PREFIX}role": item.role,
            f"{PREFIX}key": item.key[:MAX_TAG],
            f"{PREFIX}path": item.path[:MAX_TAG],
            f"{PREFIX}reason": _clip(item.reason),
            f"{PREFIX}digest": item.digest,
            f"{PREFIX}status": QUARANTINED,
            f"{PREFIX}found_at": found_at,
            "retrain.monitor_run_id": monitor_run_id,
        }
        run_ids.append(client.create_run(experiment_id, tags=tags).info.run_id)
    return run_ids


def finish(client: MlflowClient, run_ids: Sequence[str], status: str = "FINISHED") -> None:
    """End the quarantine runs of a check: FINISHED with the check, FAILED when it failed."""
    for run_id in run_ids:
        client.set_terminated(run_id, status)


def log_judged(client: MlflowClient, run_id: str, judged: Sequence[tuple[str, Batch]]) -> None:
    """Log each newly judged batch as a dataset input (name = its key, digest = its content)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = [
        DatasetInput(
            Dataset(
                name=batch.key[:500],
                digest=batch.digest[:DIGEST_CHARS],
                source_type="local",
                source=batch.path[:1000],
            ),
            tags=[InputTag("mlflow.data.context", role)],
        )
        for role, batch in judged
        if batch.digest
    ]
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


def earlier_batch(client: MlflowClient, experiment_id: str | None, digest: str) -> str | None:
    """The key of a batch with this content that a finished check already judged, if any."""
    if experiment_id is None:
        return None
    runs = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{KIND}` = 'monitor' and attributes.status = 'FINISHED' "
            f"and datasets.digest = '{digest[:DIGEST_CHARS]}'"
        ),
        max_results=1,
    )
    for run in runs:
        for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
            if dataset_input.dataset.digest == digest[:DIGEST_CHARS]:
                return str(dataset_input.dataset.name)
    return None


def records(client: MlflowClient, experiment_id: str | None, status: str | None = None) -> list:
    """The finished quarantine runs of a policy, newest first (only `status` when given)."""
    if experiment_id is None:
        return []
    query = f"tags.`{KIND}` = 'quarantine' and attributes.status = 'FINISHED'"
    if status is not None:
        query += f" and tags.`{PREFIX}status` = '{status}'"
    runs = client.search_runs(
        [experiment_id], filter_string=query, order_by=["attributes.start_time DESC"]
    )
    return [_record(run) for run in runs]


def release(client: MlflowClient, found: Sequence[QuarantineRecord]) -> None:
    """Mark the records released (who and when): the next check judges those files again."""
    user = _user()
    moment = datetime.now(UTC).isoformat()
    for record in found:
        client.set_tag(record.run_id, f"{PREFIX}status", RELEASED)
        client.set_tag(record.run_id, f"{PREFIX}released_by", user)
        client.set_tag(record.run_id, f"{PREFIX}released_at", moment)


def matching(found: Sequence[QuarantineRecord], file: str) -> list[QuarantineRecord]:
    """The records whose key, path or file name is `file` (a single file's key may carry @hash)."""
    wanted = file.rstrip("/")
    return [
        record
        for record in found
        if wanted
        in {record.key, record.key.split("@", 1)[0], record.path, record.path.rsplit("/", 1)[-1]}
        or record.path.endswith("/" + wanted.lstrip("./"))
    ]


def _record(run: Any) -> QuarantineRecord:
    tags = run.data.tags
    return QuarantineRecord(
        run_id=run.info.run_id,
        role=tags.get(f"{PREFIX}role", "?"),
        key=tags.get(f"{PREFIX}key", "?"),
        path=tags.get(f"{PREFIX}path", "?"),
        reason=tags.get(f"{PREFIX}reason", ""),
        status=tags.get(f"{PREFIX}status", "?"),
        found_at=tags.get(f"{PREFIX}found_at", ""),
        monitor_run_id=tags.get("retrain.monitor_run_id", ""),
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a container without /etc/passwd)
        return "unknown"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 3] + "..."


@dataclass(frozen=True)
class Settled:
    """What a check records besides its decision: watermarks, batches set aside, batches judged."""

    watermarks: dict[str, str]
    quarantined: tuple[Quarantined, ...] = ()
    judged: tuple[tuple[str, Batch], ...] = ()


def settle(data: Loaded, blockers: Sequence[CheckOutcome]) -> Settled:
    """The watermarks and quarantine a check records, once its decision is known.

    A blocked check sets aside the new batches of the window it blames (the current window for
    its column and quality checks, the labels for theirs) and judges no other new batch: those
    stay new for the next check. Otherwise every batch read is judged once.
    """
    quarantined = list(data.quarantined)
    held_back: set[str] = set()
    if blockers:
        blamed = _blamed(blockers)
        for role, window in data.loaded.items():
            for batch in window.batches:
                if not batch.digest:
                    continue  # read again for a window over old batches, not new
                held_back.add(batch.key)
                if role in blamed:
                    quarantined.append(Quarantined(role, batch.key, batch.path, blamed[role]))
    marks = dict(data.watermarks)
    judged: list[tuple[str, Batch]] = []
    for role, window in data.loaded.items():
        mark = window.watermark_without(held_back)
        if mark is not None:
            marks[role] = mark.to_json()
        judged += [(role, b) for b in window.batches if b.digest and b.key not in held_back]
    return Settled(marks, tuple(quarantined), tuple(judged))


def _blamed(blockers: Sequence[CheckOutcome]) -> dict[str, str]:
    """The window each blocking outcome is about, with the reasons, for its new batches."""
    reasons: dict[str, list[str]] = {}
    for outcome in blockers:
        role = {"data.current": "current", "data.labels": "labels"}.get(outcome.check)
        if outcome.kind == "quality":
            role = "current"
        if role is not None:
            reasons.setdefault(role, []).append(outcome.reason)
    return {role: "the window failed its checks: " + "; ".join(r) for role, r in reasons.items()}
