"""The policy: one YAML file per model, validated by these pydantic models (no I/O here).

The sections with a module of their own: `data` (`policy.sources`, its source keys from the
source kinds), `schedule` and `arrival` (`policy.schedule`) and `triggers` (`policy.triggers`,
its keys from the trigger kinds).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from retrain_core.base.durations import Duration, PositiveDuration, at_most
from retrain_core.policy.base import MetricName, ParamValue, Strict, Task
from retrain_core.policy.notify import REBUILD_WITH_NOTIFY, Notify
from retrain_core.policy.schedule import Arrival, Schedule
from retrain_core.policy.sources import REBUILD_WITH_SOURCES, Data, Source
from retrain_core.policy.stages import Stage, check_order
from retrain_core.policy.triggers import REBUILD_WITH_TRIGGERS, Triggers

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"


class Features(Strict):
    """The model's input columns, by kind."""

    numeric: list[str] = Field(default_factory=list, description="Numeric input columns.")
    categorical: list[str] = Field(default_factory=list, description="Categorical input columns.")

    @property
    def all(self) -> list[str]:
        """Every feature, numeric first."""
        return [*self.numeric, *self.categorical]


class Estimator(Strict):
    """A scikit-learn estimator by import path, with constructor parameters as plain values."""

    class_: str = Field(
        alias="class",
        pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$",
        description="Import path of the estimator class; scikit-learn estimators and the "
        "modules listed in [tool.retrain] allowed_estimator_modules only.",
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict, description="Constructor keyword arguments (plain YAML values)."
    )


class Model(Strict):
    """What the model predicts and how it is built."""

    task: Task = Field(description="classification or regression.")
    target: str = Field(description="Column holding the label.")
    features: Features = Field(description="Input columns.")
    estimator: Estimator = Field(description="The scikit-learn estimator to train.")

    @model_validator(mode="after")
    def _features_are_sound(self) -> Model:
        if not self.features.all:
            raise ValueError("list at least one feature under features.numeric or .categorical")
        return self


class Training(Strict):
    """How a challenger is trained."""

    source: Source | None = Field(
        None, description="Training data; default: the reference plus labelled current rows."
    )
    window: PositiveDuration | None = Field(
        None, description="Train on rows within this duration of the newest (needs timestamp)."
    )
    holdout: float = Field(
        0.2, ge=0.05, le=0.5, description="Share of rows held out for the gate (0.05 to 0.5)."
    )
    retries: int = Field(2, ge=0, le=10, description="Retries of I/O tasks, with backoff.")
    retry_delay: Annotated[Duration, at_most(timedelta(hours=1))] = Field(
        "10s", validate_default=True, description="First retry delay (at most 1h)."
    )
    work_pool: str | None = Field(
        None, description="Train on this work pool through the train deployment (default: inline)."
    )
    random_state: int = Field(
        0, ge=0, le=2**32 - 1, description="Seed for the holdout split and the estimator."
    )
    from_change: bool = Field(
        True,
        description="A retrain answering a change (a measured drop, or drift once its labels "
        "arrived) trains only on rows from the change on when at least `min_change_rows` of "
        "them are labelled, so the old behaviour does not outvote the new one (a candidate on "
        "the whole window competes on the holdout, which is then the newest `holdout` share of "
        "the rows from the change on, when at least `gate.min_rows` of them are held out); "
        "false always trains on the whole window.",
    )
    min_change_rows: int = Field(
        100, ge=2, description="Labelled rows from after a change needed to train on them alone."
    )
    max_rows: int | None = Field(
        None,
        ge=100,
        description="Use at most this many labelled rows of the window (train and holdout): a "
        "sample stratified by class and by time, drawn with `random_state` and recorded in the "
        "version's lineage; default: every row.",
    )


class Gate(Strict):
    """What a challenger must reach to be promoted, on the same holdout as the champion."""

    metric: MetricName = Field(description="Metric compared on the holdout.")
    min: float | None = Field(None, description="Absolute floor (ceiling for rmse/mae/log_loss).")
    min_improvement: float = Field(
        0.0, description="Required improvement over the champion (absolute; 0 = at least as good)."
    )
    min_rows: int = Field(
        100,
        ge=1,
        description="Challenger and champion are compared on the holdout rows neither was "
        "trained on (newer than the champion's training data) when at least this many exist; "
        "otherwise on the whole holdout, which can only favour the champion.",
    )


class Probation(Strict):
    """A new champion on watch: rolled back when it serves significantly worse than its
    predecessor did."""

    period: Annotated[PositiveDuration, at_most(timedelta(days=365))] = Field(
        description="How long after its promotion a champion is watched (e.g. 7d)."
    )
    metric: MetricName | None = Field(
        None,
        description="Metric compared on live labelled rows; default: the performance trigger's, "
        "else accuracy (classification) or rmse (regression).",
    )
    min_rows: int = Field(
        200, ge=10, description="Labelled rows each model must have served before a comparison."
    )
    drop: float = Field(
        0.0, ge=0, description="Largest allowed fall from the previous champion's live metric."
    )
    confidence: float = Field(
        0.95, gt=0.5, lt=1, description="A fall counts only when significant at this confidence."
    )


class Promotion(Strict):
    """How a passing challenger goes live."""

    alias: str = Field("champion", pattern=NAME_PATTERN, description="Registry alias to move.")
    previous_alias: str = Field(
        "previous", pattern=NAME_PATTERN, description="Alias kept on the old champion (rollback)."
    )
    approval: Literal["auto", "manual"] = Field(
        "auto", description="manual: a person approves in the Prefect UI before the alias moves."
    )
    approval_timeout: Annotated[PositiveDuration, at_most(timedelta(days=30))] = Field(
        "24h",
        validate_default=True,
        description="A manual approval not given by then rejects (at most 30d).",
    )
    probation: Probation | None = Field(
        None,
        description="Watch a new champion's live labelled performance for a period; roll back "
        "to the previous version when it is significantly worse than that version was live.",
    )
    stages: list[Stage] = Field(
        default_factory=list,
        exclude_if=lambda stages: not stages,  # no stages: the policy's hash as before them
        description="Live stages before the alias moves, in order: [{shadow: {...}}, "
        "{canary: {...}}]; a challenger advances when significantly not worse than the champion "
        "on labelled rows, and is rejected when worse or undecided after max_period. None: "
        "promoted at once.",
    )

    @field_validator("stages")
    @classmethod
    def _stage_order(cls, value: list[Stage]) -> list[Stage]:
        return check_order(value)

    @model_validator(mode="after")
    def _two_aliases(self) -> Promotion:
        if self.alias == self.previous_alias:
            raise ValueError(
                f"alias and previous_alias are both {self.alias!r}: moving the old champion to "
                "previous_alias would take the alias off the new one"
            )
        return self


class Policy(Strict):
    """One model's retraining policy."""

    version: Literal[1] = Field(description="Policy format version; always 1.")
    extends: str | None = Field(
        None,
        exclude=True,  # resolved by the loader before validation; not part of the policy's hash
        description="A template to take defaults from, relative to this file's folder, e.g. "
        "templates/classifier.yaml: mappings merge key by key (this file wins), other values "
        "replace the template's. Templates live under the policies folder.",
    )
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Deployment, experiment and registered model name (lowercase, - and _).",
    )
    description: str = Field("", description="Shown on the Prefect deployment.")
    tags: list[str] = Field(default_factory=list, description="Extra Prefect deployment tags.")
    model: Model = Field(description="What is predicted and how it is built.")
    data: Data = Field(description="Where the data comes from.")
    schedule: Schedule | None = Field(None, description="When the monitor runs.")
    arrival: Arrival | None = Field(None, description="Also run when data arrives (an event).")
    validation: list[dict[str, dict[str, ParamValue]]] = Field(
        default_factory=list,
        description="great-expectations expectations by name with their keyword arguments; "
        "a failure blocks retraining.",
    )
    triggers: Triggers = Field(description="When to retrain.")
    training: Training = Field(default_factory=Training, description="How to train.")
    gate: Gate = Field(description="What a challenger must reach.")
    promotion: Promotion = Field(default_factory=Promotion, description="How it goes live.")
    notify: Notify = Field(default_factory=Notify, description="Notifications.")

    @field_validator("validation")
    @classmethod
    def _one_expectation_each(
        cls, value: list[dict[str, dict[str, ParamValue]]]
    ) -> list[dict[str, dict[str, ParamValue]]]:
        for item in value:
            if len(item) != 1:
                raise ValueError("each validation item is one expectation: {name: {kwargs}}")
        return value

    @property
    def expectations(self) -> list[tuple[str, dict[str, Any]]]:
        """The validation list as (expectation name, kwargs) pairs."""
        return [next(iter(item.items())) for item in self.validation]


REBUILD_WITH_TRIGGERS.append(lambda: Policy.model_rebuild(force=True))
REBUILD_WITH_NOTIFY.append(lambda: Policy.model_rebuild(force=True))
REBUILD_WITH_SOURCES.append(lambda: Training.model_rebuild(force=True))
REBUILD_WITH_SOURCES.append(lambda: Policy.model_rebuild(force=True))
