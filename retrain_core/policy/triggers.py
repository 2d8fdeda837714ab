"""The `triggers` section: which signals call for a retrain, and what holds a retrain back.

A trigger's kinds are not written here: `Trigger` has one optional field per kind in the registry
(`retrain_core.policy.registry`), in the registry's order, and takes up a kind registered later
at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo

from retrain_core.base.durations import Duration, PositiveDuration
from retrain_core.policy.base import Strict
from retrain_core.policy.registry import KINDS, CheckKind, kind_of, on_change

T = TypeVar("T")
AWAIT_LABELS = (
    "When only label-blind signals fire ({kinds}) and the policy has late labels, the retrain "
    "waits (pending) until this many labelled rows from after the change exist, then trains: a "
    "model trained before then has not seen the change. 0 trains at once."
)


class Trigger(Strict):
    """One signal: exactly one of the keys below."""

    # One optional field per registered kind (`retrain_core.policy.registry`), set by `sync_kinds`.

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        kinds = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"a trigger has exactly one of {', '.join(type(self).model_fields)} "
                f"(got {', '.join(kinds) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        """The trigger's key, e.g. "drift"."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def check_kind(self) -> CheckKind:
        """The registry entry of this trigger's kind."""
        return kind_of(self.kind)

    @property
    def config(self) -> Any:
        """The trigger's settings: the value under its key."""
        return getattr(self, self.kind)

    def get(self, model: type[T]) -> T | None:
        """The settings when they are of type `model` (e.g. DriftTrigger), else None."""
        config = self.config
        return config if isinstance(config, model) else None

    @property
    def rule_id(self) -> str:
        """The check whose FAIL means this trigger fired, e.g. drift.share (its ledger id too)."""
        return self.check_kind.rule_id(self.config)

    @property
    def smoothed(self) -> bool:
        """True when `consecutive` applies to this trigger (a noisy signal, not a fact)."""
        return self.check_kind.smoothed

    @property
    def label_blind(self) -> bool:
        """True when the signal carries no label of the changed rows."""
        return self.check_kind.label_blind


class Budget(Strict):
    """At most `max` retrains in any sliding window of length `per`."""

    max: int = Field(ge=1, description="Most retrains allowed in the window.")
    per: PositiveDuration = Field(description="Length of the sliding window, e.g. 7d.")


class Triggers(Strict):
    """How signals combine into a retrain, and what suppresses one."""

    any: list[Trigger] | None = Field(None, description="Retrain when any of these fires.")
    all: list[Trigger] | None = Field(None, description="Retrain only when all of these fire.")
    watch: list[Trigger] = Field(
        default_factory=list,
        description="Signals checked, recorded and shown on every check that never call for a "
        "retrain themselves (e.g. drift, to see the inputs move while the decision waits for "
        "measured harm).",
    )
    cooldown: Duration | None = Field(
        None, description="No retrain within this long after the last one (e.g. 24h)."
    )
    consecutive: int = Field(
        1, ge=1, description="A signal must hold on this many checks in a row before it counts."
    )
    budget: Budget | None = Field(None, description="Cap on retrains per sliding window.")
    await_labels: int = Field(
        200,
        ge=0,
        description="",  # AWAIT_LABELS with the label-blind kinds, set by `sync_kinds`
    )
    confirm_with_labels: bool = Field(
        True,
        description="When the awaited labels arrive and the policy measures performance, train "
        "only if the champion measures worse than its baseline on them (a fall of any size, not "
        "just `drop`, but significant at the performance rule's `confidence`, for the sample "
        "size and the champion's usual swing between batches); otherwise the pending retrain is "
        "dismissed: the inputs moved, the model copes. false trains whenever the labels arrive.",
    )

    @model_validator(mode="after")
    def _any_or_all(self) -> Triggers:
        if (self.any is None) == (self.all is None):
            raise ValueError("set exactly one of any or all")
        if not (self.any or self.all):
            raise ValueError("list at least one trigger")
        ids = [rule.rule_id for rule in self.evaluated]
        repeated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if repeated:
            raise ValueError(
                f"two triggers watch the same signal ({', '.join(repeated)}): keep one of them"
            )
        return self

    @property
    def combine(self) -> Literal["any", "all"]:
        """Either "any" or "all"."""
        return "any" if self.any is not None else "all"

    @property
    def rules(self) -> list[Trigger]:
        """The listed triggers, whichever way they combine."""
        return list(self.any or self.all or [])

    @property
    def evaluated(self) -> list[Trigger]:
        """Every trigger checked on each check: the voting ones, then the watched ones."""
        return [*self.rules, *self.watch]

    @property
    def cooldown_or_zero(self) -> timedelta:
        """The cooldown, zero when none is set."""
        return self.cooldown or timedelta(0)


def sync_kinds() -> None:
    """Give `Trigger` one optional field per registered kind (and `await_labels` the list of the
    label-blind ones), then rebuild the models using them."""
    taken = [key for key in KINDS if not key.isidentifier() or hasattr(Trigger, key)]
    if taken:
        raise ValueError(f"a check kind cannot be named {', '.join(taken)}")
    fields = Trigger.__pydantic_fields__
    fields.clear()
    for key, kind in KINDS.items():
        fields[key] = FieldInfo.from_annotated_attribute(
            kind.model | None,
            Field(None, description=kind.description),
        )
    blind = ", ".join(key for key, kind in KINDS.items() if kind.label_blind)
    Triggers.__pydantic_fields__["await_labels"].description = AWAIT_LABELS.format(kinds=blind)
    Trigger.model_rebuild(force=True)
    Triggers.model_rebuild(force=True)
    for listener in REBUILD_WITH_TRIGGERS:
        listener()


# Rebuilds of the models that hold a `Triggers` (`policy.schema.Policy` adds its own).
REBUILD_WITH_TRIGGERS: list[Any] = []


sync_kinds()
on_change(sync_kinds)
