"""Quarantine runs in the ledger's experiment: written by a check, released by a person.

See `retrain_core.monitor.settle` for the lifecycle; this module is its MLflow side.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain_core.data.batches import Batch, Quarantined
from retrain_core.monitor.settle import KIND, PREFIX, QUARANTINED, RELEASED, QuarantineRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

CONTEXT = "mlflow.data.context"  # a judged batch's dataset input tag: its role
DIGEST_CHARS = 32  # MLflow keeps 36 characters of a dataset digest: 128 bits of the SHA-256
MAX_TAG = 4900


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
        run = client.create_run(experiment_id, start_time=_ms(now), tags=tags)
        run_ids.append(run.info.run_id)
    return run_ids


def finish(
    client: MlflowClient, run_ids: Sequence[str], end_time: int, status: str = "FINISHED"
) -> None:
    """End the quarantine runs of a check: FINISHED with the check, FAILED when it failed."""
    for run_id in run_ids:
        client.set_terminated(run_id, status, end_time=end_time)


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
            tags=[InputTag(CONTEXT, role)],
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


def judged(
    client: MlflowClient, experiment_id: str | None, policy_hash: str
) -> dict[str, set[str]]:
    """The keys of the batches finished checks under this policy judged, by role."""
    if experiment_id is None:
        return {}
    query = (
        f"tags.`{KIND}` = 'monitor' and attributes.status = 'FINISHED' "
        f"and tags.`retrain.policy_hash` = '{policy_hash}'"
    )
    keys: dict[str, set[str]] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        for run in page:
            for found in run.inputs.dataset_inputs if run.inputs else []:
                role = next((t.value for t in found.tags if t.key == CONTEXT), "")
                keys.setdefault(role, set()).add(str(found.dataset.name))
        token = page.token
        if not token:
            return keys


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


def release(client: MlflowClient, found: Sequence[QuarantineRecord], now: datetime) -> None:
    """Mark the records released (who, and `now`): the next check judges those files again."""
    user = _user()
    moment = now.isoformat()
    for record in found:
        client.set_tag(record.run_id, f"{PREFIX}status", RELEASED)
        client.set_tag(record.run_id, f"{PREFIX}released_by", user)
        client.set_tag(record.run_id, f"{PREFIX}released_at", moment)


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


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 3] + "..."
