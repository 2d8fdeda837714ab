"""Model (de)serialisation: a fitted pipeline as an MLflow LoggedModel, and back.

Only MLflow's client API on the store's own URI is used (no fluent API, no global tracking or
registry URI): the LoggedModel is created in the policy's experiment, linked to its training
run as an output, saved in the sklearn flavor (skops or cloudpickle), uploaded and finalized;
loading downloads a registered version's files through the same URIs.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.store.artifact_cache import artifact

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Metric


def log_model(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    pipeline: Any,
    *,
    params: dict[str, str],
    metrics: Sequence[Metric],
    serialization_format: str,
    trusted_types: list[str] | None,
    pip_requirements: list[str],
    input_example: Any,
) -> str:
    """Log `pipeline` as the run's model (its metrics linked to it) and return the model id."""
    import mlflow.sklearn
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.models import Model

    model = client.create_logged_model(
        experiment_id, name="model", source_run_id=run_id, params=params
    )
    model_id = model.model_id
    try:
        client.log_outputs(run_id, [LoggedModelOutput(model_id, step=0)])
        linked = [
            MlflowMetric(m.key, m.value, m.timestamp, m.step, model_id=model_id) for m in metrics
        ]
        if linked:
            client.log_batch(run_id, metrics=linked)
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            # mlflow hints that integer outputs (class labels) cannot hold NaN: not a concern here
            warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer")
            path = str(Path(folder) / "model")
            meta = Model(
                artifact_path=model.artifact_location, model_uuid=model_id, run_id=run_id,
                model_id=model_id,
            )  # fmt: skip
            mlflow.sklearn.save_model(
                pipeline, path, mlflow_model=meta, serialization_format=serialization_format,
                skops_trusted_types=trusted_types, pip_requirements=pip_requirements,
                input_example=input_example,
            )  # fmt: skip
            client.log_model_artifacts(model_id, path)
    except BaseException:
        with suppress(Exception):  # keep the original error when MLflow itself is down
            client.finalize_logged_model(model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(model_id, LoggedModelStatus.READY)
    return str(model_id)


def model_source(client: MlflowClient, model_id: str) -> str:
    """Where a LoggedModel's files are: the source of the versions registered from it.

    (A `models:/<id>` source would make MLflow's SQL registry look the model up through the
    process-wide tracking URI, not this store's.)
    """
    return str(client.get_logged_model(model_id).artifact_location)


def load_model(
    client: MlflowClient, tracking_uri: str, name: str, alias_or_version: str | int
) -> Any:
    """A registered version as a scikit-learn pipeline, by alias or version number.

    The version and its files are resolved with this store's client (a `models:/` URI would
    be resolved through the process-wide registry URI).
    """
    import mlflow.artifacts
    import mlflow.sklearn

    ref = str(alias_or_version)
    version = ref if ref.isdigit() else str(client.get_model_version_by_alias(name, ref).version)
    location = client.get_model_version_download_uri(name, version)

    def download(folder: Path) -> str:
        return str(
            mlflow.artifacts.download_artifacts(
                artifact_uri=location, dst_path=str(folder), tracking_uri=tracking_uri
            )
        )

    # a version's files never change: kept on this machine once read (artifact_cache)
    with artifact(tracking_uri, ("model", name, version, location), download) as local:
        return mlflow.sklearn.load_model(str(local))
