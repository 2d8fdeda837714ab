"""The report's tables (every decision that did not hold, the versions, the quarantined batches)
and how it writes moments and numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from retrain_core.report.history import CheckPoint, HeldBatch, VersionEvent
from retrain_core.report.svg import esc


def when(moment: datetime) -> str:
    """A moment on the ledger's clock, to the minute."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def number(value: float | None) -> str:
    """A signal's value: four significant digits, very small or large ones in e-notation."""
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def decision_table(checks: Sequence[CheckPoint]) -> str:
    shown = [c for c in reversed(checks) if c.verdict != "hold"]
    if not shown:
        return '<p class="note">Every check held.</p>'
    rows = "".join(
        f"<tr><td>{when(c.checked_at)}</td><td>{esc(c.verdict)}</td>"
        f"<td>{esc(c.training or '')}</td>"
        f"<td>{'<br>'.join(esc(r) for r in c.reasons)}</td></tr>"
        for c in shown
    )
    return (
        '<p class="note">Every check that did not simply hold, newest first.</p><table>'
        f"<tr><th>check</th><th>verdict</th><th>training</th><th>reasons</th></tr>{rows}</table>"
    )


def version_table(versions: Sequence[VersionEvent]) -> list[str]:
    if not versions:
        return []
    rows = "".join(
        f"<tr><td>{when(e.at)}</td><td>v{esc(e.version)}</td><td>{esc(e.event)}</td>"
        f"<td>{esc(e.reason)}</td></tr>"
        for e in sorted(versions, key=lambda e: e.at, reverse=True)
    )
    return ["<h2>Versions</h2>", "<table><tr><th>when</th><th>version</th><th>what</th>"
            f"<th>why</th></tr>{rows}</table>"]  # fmt: skip


def held_table(held: Sequence[HeldBatch]) -> list[str]:
    if not held:
        return []
    rows = "".join(
        f"<tr><td>{when(h.found_at)}</td><td>{esc(h.key)}</td><td>{esc(h.status)}</td>"
        f"<td>{esc(h.reason)}</td></tr>"
        for h in sorted(held, key=lambda h: h.found_at, reverse=True)
    )
    return ["<h2>Quarantined batches</h2>", "<table><tr><th>found</th><th>batch</th>"
            f"<th>status</th><th>why</th></tr>{rows}</table>"]  # fmt: skip
