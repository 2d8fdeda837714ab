"""The registry of check kinds: what each trigger kind is, in one entry.

A kind is the key of one trigger in a policy (`drift`, `performance`, ...). Its entry declares
the policy model of its settings, the outcome that governs it (its rule id), the evaluator that
produces that outcome, whether `consecutive` smooths it, whether it is blind to labels, and the
metrics it may be configured with. The policy models (`policy.triggers.Trigger`), `evaluate`,
`decide` and the generated schema and docs all read this registry, so adding a kind is one module
that calls `register` (see `retrain_core.kinds.new_data` for the smallest one).

The rule id is made here, once, and handed to the evaluator (`Context.rule_id`), which names its
governing outcome with it: a rule id and the outcome that fires it cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from retrain_core.checks.outcome import CheckOutcome

if TYPE_CHECKING:
    from retrain_core.evaluate import Champion, Windows
    from retrain_core.policy.findings import Finding
    from retrain_core.policy.schema import Policy
    from retrain_core.policy.yamlio import Path_


@dataclass(frozen=True)
class Context:
    """What an evaluator may read: the policy, the loaded windows, the champion, the caller's
    clock, and `rule_id`, the name its governing outcome must carry."""

    policy: Policy
    windows: Windows
    champion: Champion | None
    now: datetime
    rule_id: str


Evaluator = Callable[[Any, Context], list[CheckOutcome]]
# (the trigger's raw settings, the raw policy document, the settings' key path) -> findings
SemanticCheck = Callable[[Any, dict[str, Any], "Path_"], list["Finding"]]


@dataclass(frozen=True)
class CheckKind:
    """One trigger kind.

    `key` is the policy key and the outcome family; `model` the type of its settings (a policy
    model, or a plain type such as a duration); `description` the key's line in the docs.
    The governing outcome is ``<key>.<outcome>``, or, for a kind configured with one of
    `metrics` (the metric names its settings accept; set one of the two), ``<key>.<metric>``.
    `smoothed`: `consecutive` applies (a noisy signal); False for facts that count at once.
    `label_blind`: the signal says the data changed without any label of the changed rows (a
    retrain waits for them).
    `findings`: checks of its settings against the rest of the policy that pydantic cannot do
    (run by `retrain validate` on the raw YAML, tolerating any shape; see `policy.semantics`).
    """

    key: str
    model: Any
    description: str
    evaluate: Evaluator
    outcome: str | None = None
    smoothed: bool = True
    label_blind: bool = False
    metrics: tuple[str, ...] = ()
    findings: SemanticCheck | None = None

    def __post_init__(self) -> None:
        if (self.outcome is None) == (not self.metrics):
            raise ValueError(f"check kind {self.key!r}: set exactly one of outcome or metrics")

    def rule_id(self, config: Any) -> str:
        """The id of a rule of this kind: its governing outcome's name (also its ledger id)."""
        if self.outcome is not None:
            return f"{self.key}.{self.outcome}"
        metric = str(config.metric)
        if metric not in self.metrics:  # the settings' model admits only these
            raise ValueError(f"{self.key} does not measure {metric!r}")
        return f"{self.key}.{metric}"


_KINDS: dict[str, CheckKind] = {}
KINDS: Mapping[str, CheckKind] = MappingProxyType(_KINDS)  # in registration order


def register(kind: CheckKind) -> CheckKind:
    """Add a kind (its key must be new); the policy models take it up at once."""
    if kind.key in _KINDS:
        raise ValueError(f"check kind {kind.key!r} is already registered")
    _KINDS[kind.key] = kind
    try:
        _rebuild_policy_models()
    except Exception:
        del _KINDS[kind.key]
        _rebuild_policy_models()
        raise
    return kind


def unregister(key: str) -> None:
    """Remove a kind (tests that register their own)."""
    del _KINDS[key]
    _rebuild_policy_models()


@contextmanager
def registered(kind: CheckKind) -> Iterator[CheckKind]:
    """A kind registered for the duration of a `with` block."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.key)


def kind_of(key: str) -> CheckKind:
    """The registered kind with this key."""
    return _KINDS[key]


def _rebuild_policy_models() -> None:
    """Let the policy models pick up the registered kinds (once they exist)."""
    import sys

    triggers = sys.modules.get("retrain_core.policy.triggers")
    if triggers is not None and hasattr(triggers, "sync_kinds"):
        triggers.sync_kinds()
