"""Every tag retrain writes in MLflow, and how its values are encoded: the ledger's format.

Like MLflow's own `mlflow.utils.mlflow_tags`, one module names every `retrain.*` tag of a run,
a registered version and an experiment, the values the readers compare against, MLflow's size
limit and the time encodings. The writers (`ledger`, `quarantine`, `registry` and its parts) and
the fast readers (`views`) use these names; nothing else spells a tag. No MLflow import here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

MAX_TAG = 4900  # MLflow tag values hold 5000 characters (8000 on newer stores)
EPOCH = "1970-01-01T00:00:00+00:00"

# MLflow's own tags that retrain sets
RUN_NAME = "mlflow.runName"
DATASET_CONTEXT = "mlflow.data.context"  # a dataset input's role (current, training, holdout)
REWRITTEN = "retrain.rewritten"  # a judged batch's input tag: rewritten since a check judged it
# an experiment's kind: the MLflow UI opens a custom model's experiment on its runs (a GenAI
# one, the kind it infers for an experiment without runs of models, on its traces)
EXPERIMENT_KIND = "mlflow.experimentKind"
CUSTOM_MODEL = "custom_model_development"

# Every run: what it is
KIND = "retrain.kind"
MONITOR = "monitor"  # one check's decision (`Ledger.record`)
QUARANTINE = "quarantine"  # one batch set aside (`quarantine.start_quarantine`)
TRAIN = "train"  # one challenger's training (`TrainingRuns.log_training_run`)
PROFILE_RUN = "reference_profile"  # a reference profile without a version (`Profiles`)
BATCH_PROFILES = "batch_profiles"  # the policy's one run holding its batches' profiles
ROLLBACK = "rollback"  # an operator event (`Ledger.record_rollback`)
STAGE_EVENT = "stage"  # a challenger entered, advanced in or left a stage (`Ledger.record_stage`)
TREND = "trend"  # the policy's one run of every check's signals over time (`Trend.log`)
ROUTER_RUN = "router"  # the canary router's files, one run per canary (`router.register_router`)

# A monitor run (and the rollback event, which reuses its names)
CHECKED_AT = "retrain.checked_at"
DECISION = "retrain.decision"  # also a version's decision (promoted, rejected, rolled_back)
RETRAIN = "retrain.retrain"
REASONS = "retrain.reasons"
SUPPRESSED_BY = "retrain.suppressed_by"
FIRED = "retrain.fired"
JUDGED = "retrain.judged"
PENDING_SINCE = "retrain.pending_since"
TRAIN_SINCE = "retrain.train_since"
MEASURED = "retrain.measured"
POLICY_HASH = "retrain.policy_hash"
WINDOW = "retrain.window"
PREFECT_RUN_ID = "retrain.prefect_run_id"
WATERMARK = "retrain.watermark"  # `retrain.watermark.<role>`: that window's watermark
MARK_IN_TAG = 4000  # a longer watermark is an artifact of the run, its tag points there
MARK_ARTIFACT = "artifact:"  # tag value prefix: the watermark is this artifact of the run
OUTCOME_COUNT = "retrain.outcome_count"
TRAINING = "retrain.training"  # what the check's retrain came to (promoted, rejected, failed)
FROM_VERSION = "retrain.from_version"
TO_VERSION = "retrain.to_version"
TREND_STEPS = "retrain.trend_steps"  # the trend run: how many checks it holds (the next step)

# A quarantine run and the check that found it
Q_ROLE = "retrain.quarantine.role"  # current or labels
Q_KEY = "retrain.quarantine.key"
Q_PATH = "retrain.quarantine.path"
Q_REASON = "retrain.quarantine.reason"
Q_DIGEST = "retrain.quarantine.digest"
Q_STATUS = "retrain.quarantine.status"
Q_FOUND_AT = "retrain.quarantine.found_at"
Q_RELEASED_BY = "retrain.quarantine.released_by"
Q_RELEASED_AT = "retrain.quarantine.released_at"
QUARANTINED = "quarantined"  # Q_STATUS values
RELEASED = "released"
MONITOR_RUN_ID = "retrain.monitor_run_id"  # also a training run's and a version's lineage

# A training run, copied onto the version registered from it
POLICY = "retrain.policy"
TRIGGER = "retrain.trigger"
WINDOW_START = "retrain.window_start"
WINDOW_END = "retrain.window_end"
LINEAGE = (TRIGGER, MONITOR_RUN_ID, POLICY_HASH, WINDOW_START, WINDOW_END)
MODEL_ID = "retrain.model_id"
SERIALIZATION = "retrain.serialization"
SERIALIZATION_NOTE = "retrain.serialization_note"
PROFILE_KEY = "retrain.profile_key"  # a profile run's content key and format
PROFILE_FORMAT = "retrain.profile_format"

# A registered version
TRAINING_RUN_ID = "retrain.training_run_id"
REGISTERED_AT = "retrain.registered_at"
GIT_COMMIT = "retrain.git_commit"
GATE = "retrain.gate"  # passed / failed
GATE_METRIC = "retrain.gate_metric"
GATE_REASONS = "retrain.gate_reasons"
CHALLENGER_SCORE = "retrain.challenger_score"
CHAMPION_SCORE = "retrain.champion_score"
DECIDED_AT = "retrain.decided_at"
DECISION_REASONS = "retrain.decision_reasons"
PROMOTED_AT = "retrain.promoted_at"
APPROVAL = "retrain.approval"  # pending, then approved / rejected / expired
APPROVAL_DEADLINE = "retrain.approval_deadline"
PENDING = "pending"
EXPIRED = "expired"
STAGE = "retrain.stage"  # shadow / canary while in a stage (a stage event's too)
STAGE_SINCE = "retrain.stage_since"  # when it entered that stage
STAGE_EVIDENCE = "retrain.stage_evidence"  # the latest check's comparison, in words
STAGE_ROWS = "retrain.stage_rows"  # the labelled rows behind it
STAGE_ACTION = "retrain.stage_action"  # a stage event: entered, advanced, rejected, promoted
STAGED = "staged"  # a version's decision while it is in a stage
ROUTER_SUFFIX = "-serving"  # the canary router is registered as <name>-serving, alias `serving`
SERVING = "serving"

# A policy's experiment
VALIDATED = "retrain.validated"  # verdict keys of training data that passed validation


def clip(text: str, more: str = "…") -> str:
    """Keep a tag value inside MLflow's limit, ending in `more` when cut."""
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - len(more)] + more


def metric_name(name: str) -> str:
    """A name MLflow accepts for a metric or an artifact: letters, digits, _ - . / and spaces."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def watermark_artifact(role: str) -> str:
    """Where a check's run keeps a watermark too long for its tag."""
    return f"watermarks/{metric_name(role)}.json"


def watermark_tag(role: str, text: str) -> str:
    """The watermark's tag value: the watermark itself, or where the run keeps it when too long."""
    return text if len(text) <= MARK_IN_TAG else MARK_ARTIFACT + watermark_artifact(role)


def watermark_in_artifact(value: str) -> str | None:
    """The artifact a watermark tag points to, or None when the tag holds the watermark."""
    return value[len(MARK_ARTIFACT) :] if value.startswith(MARK_ARTIFACT) else None


def ms(moment: datetime) -> int:
    """A moment as MLflow's run and metric times: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def stamp(moment: datetime) -> str:
    """A moment (the caller's `now`) in UTC, ISO 8601 to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def iso(moment: datetime | None) -> str:
    """A moment as a tag value: ISO 8601, empty for none."""
    return moment.isoformat() if moment is not None else ""


def parse_time(text: str) -> datetime:
    """A tag's ISO 8601 moment; one written without a zone is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_time(text: str) -> datetime | None:
    """A tag's moment, None for an empty tag."""
    return parse_time(text) if text else None


def serving_since(tags: Mapping[str, str], created_ms: int) -> datetime:
    """When a version became champion (the flow's logical time), else when it was registered."""
    promoted = tags.get(PROMOTED_AT)
    if promoted:
        return parse_time(promoted)
    return datetime.fromtimestamp(int(created_ms) / 1000, tz=UTC)


def approval_deadline(tags: Mapping[str, str]) -> datetime | None:
    """Until when a pending version waits for a person; None when unreadable (it holds nothing)."""
    try:
        return optional_time(tags.get(APPROVAL_DEADLINE, ""))
    except ValueError:
        return None


OUTCOMES = "decision.json"  # the artifact of a check run with its outcomes (`Ledger.record`)
