"""The registry of trigger kinds: what each kind of trigger is, in one entry.

A kind is the key of one trigger in a policy (`drift`, `performance`, ...). Its entry declares
the policy model of its settings, the outcome that governs it (its rule id), the evaluator that
produces that outcome, whether `consecutive` smooths it, whether it is blind to labels or reads
them, and the metrics it may be configured with. The policy models (`policy.triggers.Trigger`),
`evaluate`, `decide` and the generated schema and docs all read this registry.

Entries are found, not listed: every module of `retrain_core.kinds` that defines `KIND`, then
every entry point of the group `retrain.kinds` (an outside package), in the order of
`CheckKind.order` (the order the docs list them). Adding a kind is one module (see
`retrain_core.kinds.new_data` for the smallest one); `register` adds one at run time (tests).

The rule id is made here, once, and handed to the evaluator (`Context.rule_id`), which names its
governing outcome with it: a rule id and the outcome that fires it cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from retrain_core.base.outcome import CheckOutcome
from retrain_core.base.plugins import Registry

if TYPE_CHECKING:
    from retrain_core.policy.finding import Finding
    from retrain_core.policy.yamlio import Path_


# (the trigger's settings, its `retrain_core.kinds.context.Context`) -> outcomes
Evaluator = Callable[[Any, Any], list[CheckOutcome]]
# (the trigger's raw settings, the raw policy document, the settings' key path) -> findings
SemanticCheck = Callable[[Any, dict[str, Any], "Path_"], list["Finding"]]


class LabelMetric(Protocol):
    """The settings of a kind that reads labels: the metric it measures on labelled rows, the
    fall from the champion's baseline that fires it (None: fixed bounds only), and the
    confidence that fall must reach (None: the point values decide)."""

    @property
    def metric(self) -> str: ...

    @property
    def drop(self) -> float | None: ...

    @property
    def confidence(self) -> float | None: ...


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
    `reads_labels`: the signal is the champion's metric measured on labelled rows, so a fall
    shows in them: a retrain it calls for trains at once, on rows from the oldest it measured;
    the ledger keeps what it measured (the stream's usual swing); it confirms or dismisses a
    pending retrain; probation and `retrain tune` use it. Its settings are a `LabelMetric`, and
    its outcome carries the metric in `observed`, the baseline less `drop` in `threshold` (plus
    `drop` for a lower-is-better metric) and the fall's p-value in `p_value`.
    `example`: a valid value of its settings as a policy writes it (the docs and the
    conformance suite use it).
    `order`: where the kind comes in the docs and the schema (lower first).
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
    reads_labels: bool = False
    metrics: tuple[str, ...] = ()
    findings: SemanticCheck | None = None
    order: int = 1000
    example: Any = None

    def __post_init__(self) -> None:
        if (self.outcome is None) == (not self.metrics):
            raise ValueError(f"check kind {self.key!r}: set exactly one of outcome or metrics")
        if self.label_blind and self.reads_labels:
            raise ValueError(f"check kind {self.key!r}: label-blind kinds read no labels")

    def rule_id(self, config: Any) -> str:
        """The id of a rule of this kind: its governing outcome's name (also its ledger id)."""
        if self.outcome is not None:
            return f"{self.key}.{self.outcome}"
        metric = str(config.metric)
        if metric not in self.metrics:  # the settings' model admits only these
            raise ValueError(f"{self.key} does not measure {metric!r}")
        return f"{self.key}.{metric}"

    def measures(self, config: Any) -> LabelMetric | None:
        """A rule's settings when this kind reads labels (the metric it measures), else None."""
        return config if self.reads_labels else None


KINDS: Registry[CheckKind] = Registry("trigger kind", "retrain_core.kinds", "KIND", "retrain.kinds")
on_change = KINDS.on_change
register = KINDS.register
unregister = KINDS.unregister
registered = KINDS.registered


def kind_of(key: str) -> CheckKind:
    """The registered kind with this key."""
    return KINDS[key]


def reads_labels(key: str) -> bool:
    """True when `key` names a registered kind that reads labels (an outcome family such as
    "data" or "quality" names no kind)."""
    return key in KINDS and KINDS[key].reads_labels
