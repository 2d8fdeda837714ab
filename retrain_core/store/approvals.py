"""Pending approvals on registered versions: the tags `flows/approve.py` and the checks read.

A challenger waiting for a person is tagged `retrain.approval = pending` with its deadline; the
answer (approved, rejected, expired) replaces `pending`. What a pending approval means for a
check's decision is `retrain_core.decide.approval`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from retrain_core.store.backend import Part, quoted
from retrain_core.store.tags import APPROVAL, APPROVAL_DEADLINE, PENDING, approval_deadline


class Approvals(Part):
    """The registry's approval tags (a part of `Registry`)."""

    def mark_approval_pending(self, name: str, version: str, deadline: datetime) -> None:
        """Tag the challenger as waiting for a person until `deadline`."""
        self.client.set_model_version_tag(name, version, APPROVAL_DEADLINE, deadline.isoformat())
        self.client.set_model_version_tag(name, version, APPROVAL, PENDING)

    def mark_approval_answered(self, name: str, version: str, answer: str) -> None:
        """Tag the challenger with the answer: approved, rejected or expired."""
        self.client.set_model_version_tag(name, version, APPROVAL, answer)

    def approvals(self, name: str, now: datetime) -> tuple[list[str], tuple[str, datetime] | None]:
        """Versions still tagged pending at `now`, in one registry search: those whose deadline
        is not after `now` (nobody answered; an unreadable deadline holds nothing), and the
        newest one still waiting with its deadline (or None)."""
        late, waiting = [], []
        for version, deadline in self._pending(name):
            if deadline is not None and deadline > now:
                waiting.append((version, deadline))
            else:
                late.append(version)
        newest = max(waiting, key=lambda item: int(item[0])) if waiting else None
        return sorted(late, key=int), newest

    def pending_approvals(self, name: str) -> list[tuple[str, datetime]]:
        """Every version tagged pending with a readable deadline, past or not, oldest first."""
        found = [(v, deadline) for v, deadline in self._pending(name) if deadline is not None]
        return sorted(found, key=lambda item: int(item[0]))

    def _pending(self, name: str) -> list[tuple[str, datetime | None]]:
        """The versions tagged pending and their deadlines (None when unreadable)."""
        found: list[Any] = self.client.search_model_versions(
            f"name = '{quoted(name)}' and tags.`{APPROVAL}` = '{PENDING}'"
        )
        return [(str(v.version), approval_deadline(v.tags)) for v in found]

    def approval_is_pending(self, name: str, version: str) -> bool:
        """True while `version` waits for an answer (not approved, rejected or expired yet)."""
        tags = self.client.get_model_version(name, version).tags
        return bool(tags.get(APPROVAL) == PENDING)
