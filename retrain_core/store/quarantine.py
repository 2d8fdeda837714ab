"""Quarantined batches in the ledger: one MLflow run per batch set aside, until a person frees it.

A quarantine run is written by the monitor check that found the batch (same experiment as the
policy's ledger), RUNNING until that check's own run is FINISHED, then FINISHED: a check that
crashes half-way leaves no quarantine that counts, and the batch is judged again. Only FINISHED
runs with status `quarantined` keep a file out of windows, label joins and training data;
`retrain quarantine release` sets the status to `released`, so the next check judges the file
again. The digests of the batches a check judged are logged as MLflow dataset inputs of its run,
so a batch delivered again under another name is recognised by its content. What a check sets
aside and judges is decided by `retrain_core.monitor.settle`; the `Ledger` calls this module.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain_core.data.batches import Batch, Quarantined
from retrain_core.store.tags import (
    DATASET_CONTEXT,
    KIND,
    MAX_TAG,
    MONITOR,
    MONITOR_RUN_ID,
    POLICY_HASH,
    Q_DIGEST,
    Q_FOUND_AT,
    Q_KEY,
    Q_PATH,
    Q_REASON,
    Q_RELEASED_AT,
    Q_RELEASED_BY,
    Q_ROLE,
    Q_STATUS,
    QUARANTINE,
    QUARANTINED,
    RELEASED,
    REWRITTEN,
    RUN_NAME,
    clip,
    ms,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

DIGEST_CHARS = 32  # MLflow keeps 36 characters of a dataset digest: 128 bits of the SHA-256


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


def start_quarantine(
    client: MlflowClient,
    experiment_id: str,
    items: Sequence[Quarantined],
    monitor_run_id: str,
    now: datetime,
) -> list[str]:
    """Create one RUNNING run per batch set aside, found at `now`; `finish` makes them count."""
    found_at = now.isoformat()
    run_ids = []
    for item in items:
        tags = {
            KIND: QUARANTINE,
            RUN_NAME: f"quarantine {item.key}"[:250],
            Q_ROLE: item.role,
            Q_KEY: item.key[:MAX_TAG],
            Q_PATH: item.path[:MAX_TAG],
            Q_REASON: clip(item.reason, "..."),
            Q_DIGEST: item.digest,
            Q_STATUS: QUARANTINED,
            Q_FOUND_AT: found_at,
            MONITOR_RUN_ID: monitor_run_id,
        }
        run = client.create_run(experiment_id, start_time=ms(now), tags=tags)
        run_ids.append(run.info.run_id)
    return run_ids


def finish(
    client: MlflowClient, run_ids: Sequence[str], end_time: int, status: str = "FINISHED"
) -> None:
    """End the quarantine runs of a check: FINISHED with the check, FAILED when it failed."""
    for run_id in run_ids:
        client.set_terminated(run_id, status, end_time=end_time)


def log_judged(client: MlflowClient, run_id: str, judged: Sequence[tuple[str, Batch]]) -> None:
    """Log each newly judged batch as a dataset input (name = its key, digest = its content); a
    batch rewritten since an earlier check judged it is tagged so."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = [
        DatasetInput(
            Dataset(
                name=batch.key[:500],
                digest=batch.digest[:DIGEST_CHARS],
                source_type="local",
                source=batch.path[:1000],
            ),
            tags=[InputTag(DATASET_CONTEXT, role)]
            + ([InputTag(REWRITTEN, "true")] if batch.rewritten else []),
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
            f"tags.`{KIND}` = '{MONITOR}' and attributes.status = 'FINISHED' "
            f"and datasets.digest = '{digest[:DIGEST_CHARS]}'"
        ),
        max_results=1,
    )
    for run in runs:
        for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
            if dataset_input.dataset.digest == digest[:DIGEST_CHARS]:
                return str(dataset_input.dataset.name)
    return None


def judged(
    client: MlflowClient, experiment_id: str | None, policy_hash: str
) -> dict[str, set[str]]:
    """The keys of the batches finished checks under this policy judged, by role."""
    if experiment_id is None:
        return {}
    query = (
        f"tags.`{KIND}` = '{MONITOR}' and attributes.status = 'FINISHED' "
        f"and tags.`{POLICY_HASH}` = '{policy_hash}'"
    )
    keys: dict[str, set[str]] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        for run in page:
            for found in run.inputs.dataset_inputs if run.inputs else []:
                role = next((t.value for t in found.tags if t.key == DATASET_CONTEXT), "")
                keys.setdefault(role, set()).add(str(found.dataset.name))
        token = page.token
        if not token:
            return keys


def records(
    client: MlflowClient, experiment_id: str | None, status: str | None = None
) -> list[QuarantineRecord]:
    """The finished quarantine runs of a policy, newest first (only `status` when given)."""
    if experiment_id is None:
        return []
    query = f"tags.`{KIND}` = '{QUARANTINE}' and attributes.status = 'FINISHED'"
    if status is not None:
        query += f" and tags.`{Q_STATUS}` = '{status}'"
    runs = client.search_runs(
        [experiment_id], filter_string=query, order_by=["attributes.start_time DESC"]
    )
    return [_record(run) for run in runs]


def release(client: MlflowClient, found: Sequence[QuarantineRecord], now: datetime) -> None:
    """Mark the records released (who, and `now`): the next check judges those files again."""
    user = _user()
    moment = now.isoformat()
    for record in found:
        client.set_tag(record.run_id, Q_STATUS, RELEASED)
        client.set_tag(record.run_id, Q_RELEASED_BY, user)
        client.set_tag(record.run_id, Q_RELEASED_AT, moment)


def _record(run: Any) -> QuarantineRecord:
    tags = run.data.tags
    return QuarantineRecord(
        run_id=run.info.run_id,
        role=tags.get(Q_ROLE, "?"),
        key=tags.get(Q_KEY, "?"),
        path=tags.get(Q_PATH, "?"),
        reason=tags.get(Q_REASON, ""),
        status=tags.get(Q_STATUS, "?"),
        found_at=tags.get(Q_FOUND_AT, ""),
        monitor_run_id=tags.get(MONITOR_RUN_ID, ""),
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a container without /etc/passwd)
        return "unknown"
