"""What a check settles once its decision is known: watermarks, batches set aside, batches judged.

A blocked check quarantines the new batches of the window it blames; otherwise every new batch
is judged once. The ledger records the result with the check's run (`Ledger.record`, and
`retrain_core.store.quarantine` for the quarantine runs and their lifecycle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrain_core.data.batches import Batch, Quarantined

if TYPE_CHECKING:
    from retrain_core.base.outcome import CheckOutcome
    from retrain_core.monitor.windows import Loaded


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
                    reason = blamed[role]
                    if batch.rewritten:
                        reason = f"rewritten after a check judged it, and now {reason}"
                    quarantined.append(Quarantined(role, batch.key, batch.path, reason))
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
