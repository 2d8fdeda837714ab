"""The canary router, as MLflow loads it: a pyfunc model that loads the champion and the canary
by alias when it is loaded and routes each row by a stable hash of the key column.

Only `store.router` imports this module (inside its functions): it imports MLflow at the top,
as a `PythonModel` must. `mlflow models serve -m models:/<name>-serving@serving` serves it as it
is; its answer has one row per request row: `prediction`, the `version` that answered and its
`alias`. The aliases are read at load time: after a stage change, restart (or reload) serving.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

from retrain_core.decide.stages import to_canary


class CanaryRouter(PythonModel):
    """Champion and canary behind one model; the split is `to_canary`, as the monitor's.

    Each version is its scikit-learn pipeline, given the policy's feature columns: the request
    also holds the key, which no version's signature names."""

    def load_context(self, context: Any) -> None:
        config = context.model_config
        self.name, self.key = str(config["name"]), str(config["key"])
        self.share = float(config["share"])
        self.features = [str(column) for column in config["features"]]
        self.models: dict[str, tuple[str, Any, str]] = {}
        client = MlflowClient()
        for role in ("champion", "canary"):
            alias = str(config[f"{role}_alias"])
            try:
                version = str(client.get_model_version_by_alias(self.name, alias).version)
            except MlflowException:  # no canary now: the champion answers every row
                continue
            model = mlflow.sklearn.load_model(f"models:/{self.name}/{version}")
            self.models[role] = (version, model, alias)

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        import pandas as pd

        if self.key not in model_input.columns:
            raise ValueError(f"each row needs the key column {self.key!r} (it routes the row)")
        routed = pd.Series(False, index=model_input.index)
        if "canary" in self.models:
            routed[:] = to_canary(model_input[self.key], self.share)
        parts = []
        for role, rows in (("champion", ~routed), ("canary", routed)):
            if not rows.any():
                continue
            version, model, alias = self.models[role]
            predicted = pd.Series(
                list(model.predict(model_input.loc[rows, self.features])), index=rows[rows].index
            )
            parts.append(
                pd.DataFrame({"prediction": predicted, "version": version, "alias": alias})
            )
        return pd.concat(parts).loc[model_input.index].reset_index(drop=True)
