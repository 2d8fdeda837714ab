"""Training runs: a challenger's params, holdout metrics, data inputs and model in MLflow.

One run per training in the policy's experiment, started and finished at the flow's logical
time; the model is a LoggedModel of the run (`retrain_core.store.models`), in skops when every
type it needs is allow-listed, else cloudpickle (`retrain_core.store.lineage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import retrain_core.store.models as models
from retrain_core.store.backend import Part, finished
from retrain_core.store.lineage import (
    SAFE_TYPE_MODULES,
    pip_requirements,
    serialization_format,
    training_params,
    window_tags,
)
from retrain_core.store.tags import (
    DATASET_CONTEXT,
    KIND,
    MODEL_ID,
    MONITOR_RUN_ID,
    POLICY,
    POLICY_HASH,
    SERIALIZATION,
    SERIALIZATION_NOTE,
    TRAIN,
    TRIGGER,
    clip,
    ms,
    stamp,
)

if TYPE_CHECKING:
    from retrain_core.policy.schema import Policy
    from retrain_core.training.challenger import TrainingResult


class TrainingRuns(Part):
    """The registry's training runs (a part of `Registry`)."""

    def log_training_run(
        self,
        policy: Policy,
        result: TrainingResult,
        *,
        monitor_run_id: str | None,
        policy_hash: str,
        trigger: Sequence[str] = (),
        allowed_modules: Iterable[str] = (),
        now: datetime,
    ) -> str:
        """Log a challenger's training run (params, holdout metrics, model) and return its id.

        The run starts and ends at `now` (the flow's logical time), as do its metrics.
        """
        from mlflow.entities import Metric, Param, RunTag

        tags = {
            KIND: TRAIN,
            POLICY: policy.name,
            POLICY_HASH: policy_hash,
            MONITOR_RUN_ID: monitor_run_id or "",
            TRIGGER: clip("; ".join(trigger)),
        }
        moment = ms(now)
        run = self.client.create_run(
            self.store.experiment_id(policy.name),
            start_time=moment,
            tags=tags,
            run_name=f"train-{stamp(now)}",
        )
        run_id = run.info.run_id
        with finished(self.client, run_id, moment):
            params = training_params(policy, result)
            self.client.log_batch(
                run_id,
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in window_tags(result.window).items()],
            )
            inputs = training_inputs(policy.name, result)
            if inputs:
                self.client.log_inputs(run_id, datasets=inputs)
            metrics = [Metric(f"holdout_{k}", v, moment, 0) for k, v in result.metrics.items()]
            experiment_id = str(run.info.experiment_id)
            self._log_model(run_id, experiment_id, result, allowed_modules, params, metrics)
        return run_id

    def _log_model(
        self,
        run_id: str,
        experiment_id: str,
        result: TrainingResult,
        allowed: Iterable[str],
        params: dict[str, str],
        metrics: Sequence[Any],
    ) -> None:
        """Log the pipeline in skops when every type it needs is allow-listed, else cloudpickle."""
        pipeline = result.fitted.pipeline
        fmt, trusted, note = serialization_format(pipeline, (*SAFE_TYPE_MODULES, *allowed))
        model_id = models.log_model(
            self.client, experiment_id, run_id, pipeline, params=params, metrics=metrics,
            serialization_format=fmt, trusted_types=trusted,
            pip_requirements=pip_requirements(fmt, result.fitted.estimator_class),
            input_example=result.fitted.input_example,
        )  # fmt: skip
        self.client.set_tag(run_id, MODEL_ID, model_id)
        self.client.set_tag(run_id, SERIALIZATION, fmt)
        if note:
            self.client.set_tag(run_id, SERIALIZATION_NOTE, clip(note))


def training_inputs(name: str, result: TrainingResult) -> list[Any]:
    """The rows a challenger was fit on and scored on, as MLflow dataset inputs of its run.

    Named `<policy>-training` and `<policy>-holdout` (context `training` / `holdout`), each with
    a digest of its content and a profile holding its row count and time window.
    """
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    window = result.window or ("", "")
    found = []
    for context, frame in (("training", result.rows), ("holdout", result.holdout)):
        if frame is None:
            continue
        profile = {"num_rows": len(frame), "window_start": window[0], "window_end": window[1]}
        dataset = Dataset(
            name=f"{name}-{context}"[:500], digest=frame_digest(frame), source_type="local",
            source=json.dumps({"policy": name, "window": list(window)}),
            profile=json.dumps(profile),
        )  # fmt: skip
        found.append(DatasetInput(dataset, tags=[InputTag(DATASET_CONTEXT, context)]))
    return found


def frame_digest(frame: Any) -> str:
    """A digest of a frame's columns and values (not its index), as MLflow keeps it: 32 hex."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]
