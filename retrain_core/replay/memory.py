"""The stores of a replayed monitor, in memory: the ledger and the registry the monitor reads.

They answer the calls `retrain_core.replay.monitored` makes, as `retrain_core.store.Ledger` and
`Registry` answer them from MLflow: a decision is kept as its run's tags (`store.codec`, the
encoding the real ledger writes and reads back), watermarks are the newest check's, quarantined
and judged batches are those the checks settled, and the champion is the version promoted last.
A challenger in a rollout stage holds the one staged slot (`staged`, as `Registry.staged` reads it
from the stage aliases) until it is promoted or leaves. Only the medium differs; nothing here
decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain_core.data.batches import Batch, Quarantined
from retrain_core.decide.records import LedgerEntry, RetrainDecision
from retrain_core.kinds.context import Champion
from retrain_core.store.codec import decision_tags, entry_from_tags
from retrain_core.store.registry import StagedVersion
from retrain_core.store.tags import TRAINING

if TYPE_CHECKING:
    import pandas as pd

VALIDATED_KEPT = 20  # as the real ledger keeps a few verdict keys of validated training data


@dataclass
class Check:
    """One recorded check: its tags (as MLflow keeps them), watermarks, rows and batches."""

    tags: dict[str, str]
    watermarks: dict[str, str]
    rows: int
    judged: tuple[tuple[str, Batch], ...]


@dataclass
class MemoryLedger:
    """The ledger of one policy: checks oldest first, batches set aside, training data verdicts."""

    policy_hash: str
    checks: list[Check] = field(default_factory=list)
    held: dict[str, set[str]] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)

    def record(
        self,
        decision: RetrainDecision,
        watermarks: dict[str, str],
        rows: int,
        quarantined: Sequence[Quarantined] = (),
        judged: Sequence[tuple[str, Batch]] = (),
    ) -> int:
        """Keep one check (its decision as the ledger's tags); its index is its run id."""
        self.checks.append(
            Check(decision_tags(decision, watermarks), watermarks, rows, tuple(judged))
        )
        for batch in quarantined:
            self.held.setdefault(batch.role, set()).add(batch.key)
        return len(self.checks) - 1

    def record_training(self, run: int, status: str) -> None:
        """What a check's retrain came to, on its run (decide() reads it back)."""
        self.checks[run].tags[TRAINING] = status

    def history(self) -> list[LedgerEntry]:
        """The decisions, oldest first, decoded as the real ledger decodes its runs' tags."""
        entries = [entry_from_tags(check.tags) for check in self.checks[-500:]]
        return [entry for entry in entries if entry is not None]

    def watermarks(self) -> tuple[dict[str, str], int | None]:
        """The newest check's watermarks and row count (empty before any)."""
        if not self.checks:
            return {}, None
        return dict(self.checks[-1].watermarks), self.checks[-1].rows

    def quarantined(self) -> dict[str, set[str]]:
        """The keys of the batches set aside, by role (a replay releases none)."""
        return {role: set(keys) for role, keys in self.held.items()}

    def earlier_batch(self, digest: str) -> str | None:
        """The key of an already judged batch with this content digest, or None."""
        for check in self.checks:
            for _, batch in check.judged:
                if batch.digest == digest:
                    return batch.key
        return None

    def judged(self) -> dict[str, set[str]]:
        """The keys of the batches the checks judged, by role (one policy, one hash)."""
        keys: dict[str, set[str]] = {}
        for check in self.checks:
            for role, batch in check.judged:
                keys.setdefault(role, set()).add(batch.key)
        return keys

    def validated(self) -> list[str]:
        """The verdict keys of the training data that last passed validation, newest first."""
        return list(self.passed)

    def remember_validated(self, keys: Sequence[str]) -> None:
        """Remember verdict keys of training data that passed (a few, newest first)."""
        self.passed = list(dict.fromkeys([*keys, *self.passed]))[:VALIDATED_KEPT]


@dataclass
class MemoryRegistry:
    """The versions of one policy: the champion, the staged challenger (with its model), each
    version's drift sample and its profile, and the profiles of the batches judged."""

    champion: Champion | None = None
    trial: tuple[StagedVersion, Champion] | None = None  # the staged slot
    versions: int = 0
    samples: dict[str, tuple[pd.DataFrame, Any]] = field(default_factory=dict)
    profiles: dict[str, Any] = field(default_factory=dict)
    batches: dict[str, Any] = field(default_factory=dict)  # batch profiles by content key

    def register(self) -> str:
        """The next version number (every challenger gets one, promoted or not)."""
        self.versions += 1
        return str(self.versions)

    def log_reference(self, run_id: str, sample: pd.DataFrame, profile: Any) -> None:
        """Keep a version's drift reference sample and its profile."""
        self.samples[run_id] = (sample, profile)

    def promote(self, champion: Champion) -> None:
        """Move the alias: `champion` serves from now on."""
        self.champion = champion

    def staged(self) -> StagedVersion | None:
        """The challenger in a stage, or None."""
        return self.trial[0] if self.trial is not None else None

    def staged_model(self) -> Champion | None:
        """The staged challenger as the model it would serve (its pipeline, metrics, run)."""
        return self.trial[1] if self.trial is not None else None

    def enter_stage(self, stage: str, now: datetime, challenger: Champion | None = None) -> None:
        """Put `challenger` (None: the one already staged) in `stage` since `now`."""
        model = challenger or self.staged_model()
        assert model is not None, "no challenger to stage"
        self.trial = (StagedVersion(model.version, stage, now, model.trained_until), model)

    def leave_stage(self) -> None:
        """The staged challenger goes (rejected, or promoted)."""
        self.trial = None

    def promote_staged(self, now: datetime) -> Champion:
        """The staged challenger becomes the champion, serving since `now`; the slot empties."""
        model = self.staged_model()
        assert model is not None, "no staged challenger to promote"
        self.champion = replace(model, created_at=now)
        self.leave_stage()
        return self.champion

    def load_reference(self, run_id: str) -> pd.DataFrame | None:
        """A version's drift reference sample."""
        found = self.samples.get(run_id)
        return found[0] if found else None

    def load_profile(self, run_id: str) -> Any:
        """The profile stored with a version's sample."""
        found = self.samples.get(run_id)
        return found[1] if found else None

    def stored_profile(self, name: str, key: str) -> Any:
        """A reference profile stored under its content key."""
        return self.profiles.get(key)

    def store_profile(self, name: str, profile: Any, *, now: datetime) -> None:
        """Store a reference profile under its content key."""
        self.profiles[profile.key] = profile

    def store_batch_profiles(self, name: str, profiles: list[Any], *, now: datetime) -> None:
        """Keep each batch's profile under its content key."""
        self.batches.update({profile.key: profile for profile in profiles})

    def batch_profiles(self, name: str, keys: list[str]) -> dict[str, Any]:
        """The stored batch profiles of these content keys (a key without one is left out)."""
        return {key: self.batches[key] for key in keys if key in self.batches}
