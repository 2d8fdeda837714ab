"""The ledger codec: a decision as the tags of its monitor run, and those tags back as the
`LedgerEntry` that `decide()` reads. Pure (no MLflow): tag names live in `store.tags`.

A new ledger field is a field of `decide.records` plus its line in each function here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from retrain_core.decide.records import LedgerEntry, RetrainDecision, measured_values
from retrain_core.store.tags import (
    CHECKED_AT,
    DECISION,
    FIRED,
    JUDGED,
    KIND,
    MEASURED,
    MONITOR,
    PENDING_SINCE,
    POLICY_HASH,
    PREFECT_RUN_ID,
    REASONS,
    RETRAIN,
    RUN_NAME,
    SUPPRESSED_BY,
    TRAIN_SINCE,
    TRAINING,
    WATERMARK,
    WINDOW,
    clip,
    iso,
    optional_time,
    parse_time,
    watermark_tag,
)


def decision_tags(
    decision: RetrainDecision, watermarks: Mapping[str, str], prefect_run_id: str | None = None
) -> dict[str, str]:
    """The tags of the monitor run that records `decision` (it must carry `decided_at`)."""
    if decision.decided_at is None:
        raise ValueError("a decision is recorded at the moment it was made (decided_at)")
    checked_at = decision.decided_at
    return {
        KIND: MONITOR,
        RUN_NAME: f"check {checked_at:%Y-%m-%d %H:%M}",
        CHECKED_AT: checked_at.isoformat(),
        DECISION: decision.verdict,
        RETRAIN: str(decision.retrain).lower(),
        REASONS: clip("\n".join(decision.reasons), "..."),
        SUPPRESSED_BY: decision.suppressed_by or "",
        FIRED: ",".join(sorted(decision.fired)),
        JUDGED: str(decision.judged).lower(),
        PENDING_SINCE: iso(decision.pending_since),
        TRAIN_SINCE: iso(decision.train_since),
        MEASURED: json.dumps(dict(measured_values(decision.outcomes))),
        POLICY_HASH: decision.policy_hash,
        WINDOW: clip(decision.window, "..."),
        PREFECT_RUN_ID: prefect_run_id or "",
        **{
            f"{WATERMARK}.{key}": watermark_tag(key, value)
            for key, value in sorted(watermarks.items())
        },
    }


def signal_metrics(decision: RetrainDecision, rows: int) -> dict[str, float]:
    """A check's numbers as metrics: its rows, 1/0 for retrain, and each signal's observed value
    (NaN and infinities left out: MLflow refuses them)."""
    metrics: dict[str, float] = {"rows": float(rows), "decision.retrain": float(decision.retrain)}
    for outcome in decision.outcomes:
        if outcome.observed is not None:
            metrics[outcome.check] = float(outcome.observed)
    return {k: v for k, v in metrics.items() if v == v and abs(v) != float("inf")}


def entry_from_tags(tags: Mapping[str, str]) -> LedgerEntry | None:
    """What `decide()` remembers of one monitor run, None for a run that is not a check."""
    if CHECKED_AT not in tags:
        return None
    return LedgerEntry(
        checked_at=parse_time(tags[CHECKED_AT]),
        fired=frozenset(filter(None, tags.get(FIRED, "").split(","))),
        retrained=tags.get(RETRAIN) == "true",
        judged=tags.get(JUDGED) != "false",
        training=tags.get(TRAINING, ""),
        pending_since=optional_time(tags.get(PENDING_SINCE, "")),
        measured=_measured(tags.get(MEASURED, "")),
    )


def _measured(text: str) -> tuple[tuple[str, float], ...]:
    """The performance rules' measured values a check recorded (none for older checks)."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return ()
    if not isinstance(found, dict):
        return ()
    return tuple((str(k), float(v)) for k, v in found.items() if isinstance(v, int | float))
