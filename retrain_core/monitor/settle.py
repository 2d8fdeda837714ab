"""Quarantined batches in the ledger: one MLflow run per batch set aside, until a person frees it.

A quarantine run is written by the monitor check that found the batch (same experiment as the
policy's ledger), RUNNING until that check's own run is FINISHED, then FINISHED: a check that
crashes half-way leaves no quarantine that counts, and the batch is judged again. Only FINISHED
runs with status `quarantined` keep a file out of windows, label joins and training data;
`retrain quarantine release` sets the status to `released`, so the next check judges the file
again. The digests of the batches a check judged are logged as MLflow dataset inputs of its run,
so a batch delivered again under another name is recognised by its content.

The runs are written and read by `retrain_core.store.quarantine`; this module is what is pure:
the record, which records a file names, and what a check settles once its decision is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrain_core.data.batches import Batch, Quarantined

if TYPE_CHECKING:
    from retrain_core.base.outcome import CheckOutcome
    from retrain_core.monitor.windows import Loaded

KIND = "retrain.kind"
PREFIX = "retrain.quarantine."
QUARANTINED = "quarantined"
RELEASED = "released"


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
