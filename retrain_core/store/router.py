"""The canary router's registration: `<name>-serving`, a model of its own with alias `serving`.

It is registered apart from the policy's model so that its versions never mix with the
challengers' (the gate, `unfinished` and `retrain models` count those). Each canary stage
registers a version holding the policy's split (the share, the key column and the aliases) and
moves `serving` to it; the router resolves `champion` and `canary` when it is loaded and again
every `RETRAIN_ROUTER_REFRESH_SECONDS` while it serves (`store.serving_model`), and answers with
the champion alone when there is no canary.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.store.tags import KIND, ROUTER_RUN, ROUTER_SUFFIX, RUN_NAME, SERVING

if TYPE_CHECKING:
    from mlflow import MlflowClient


def router_name(name: str) -> str:
    """The registered model that serves a policy's traffic split, e.g. churn-serving."""
    return name + ROUTER_SUFFIX


def register_router(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    split: dict[str, str | float | list[str]],
) -> str:
    """Log the router with `split` (key, share, features, champion_alias, canary_alias) in a
    run of its own, register it as `<name>-serving` and move its `serving` alias to the new
    version (its number is returned).

    The version names its run and its logged model, as a challenger's does: a tracking server
    accepts a source in its artifact store only from the run or model that holds it, and MLflow's
    SQL registry, given the model alone, would look it up through the process-wide tracking URI.
    """
    import mlflow
    import mlflow.pyfunc
    from mlflow.entities import LoggedModelStatus
    from mlflow.exceptions import MlflowException

    from retrain_core.store.serving_model import CanaryRouter

    tags = {KIND: ROUTER_RUN, RUN_NAME: f"router {router_name(name)}"}
    run_id = client.create_run(experiment_id, tags=tags).info.run_id
    model = client.create_logged_model(experiment_id, name="serving", source_run_id=run_id)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "router")
        mlflow.pyfunc.save_model(
            path, python_model=CanaryRouter(), model_config={"name": name, **split},
            pip_requirements=[f"mlflow=={mlflow.__version__}"],
        )  # fmt: skip
        client.log_model_artifacts(model.model_id, path)
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    client.set_terminated(run_id, "FINISHED")
    serving = router_name(name)
    try:
        client.create_registered_model(serving)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    location = str(client.get_logged_model(model.model_id).artifact_location)
    version = client.create_model_version(serving, location, run_id=run_id, model_id=model.model_id)
    client.set_registered_model_alias(serving, SERVING, str(version.version))
    return str(version.version)
