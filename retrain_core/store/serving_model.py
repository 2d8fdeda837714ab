"""The canary router, as MLflow loads it: a pyfunc model that loads the champion and the canary
by alias and routes each row by a stable hash of the key column.

Only `store.router` imports this module (inside its functions): it imports MLflow at the top,
as a `PythonModel` must. `mlflow models serve -m models:/<name>-serving@serving` serves it as it
is; its answer has one row per request row: `prediction`, the `version` that answered and its
`alias`.

The aliases are read when it is loaded and again every `RETRAIN_ROUTER_REFRESH_SECONDS` (30 by
default; 0: only when loaded) by a background thread, so a stage change reaches a running server
without a restart: a promoted canary answers as the champion, a rejected one stops answering, a
new canary gets its share. Requests never wait for the registry: a version that is new to the
router is loaded before it answers, and a registry that does not answer leaves the versions
serving as they were (a warning in the server's log). The split itself (key, share, features) is
the router version's own: a changed split serves once `serving` is reloaded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any

import mlflow.pyfunc
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.pyfunc import PythonModel

from retrain_core.decide.stages import to_canary

REFRESH_ENV = "RETRAIN_ROUTER_REFRESH_SECONDS"
DEFAULT_REFRESH_SECONDS = 30.0
ROLES = ("champion", "canary")
logger = logging.getLogger(__name__)


def refresh_seconds(environ: Any = os.environ) -> float:
    """How often a loaded router reads the aliases again (0: never after loading)."""
    text = str(environ.get(REFRESH_ENV, "")).strip()
    try:
        seconds = float(text) if text else DEFAULT_REFRESH_SECONDS
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise ValueError(f"{REFRESH_ENV} must be a number of seconds >= 0, got {text!r}")
    return seconds


class CanaryRouter(PythonModel):
    """Champion and canary behind one model; the split is `to_canary`, as the monitor's.

    Each version is its scikit-learn pipeline, given the policy's feature columns: the request
    also holds the key, which no version's signature names."""

    def load_context(self, context: Any) -> None:
        config = context.model_config
        self.name, self.key = str(config["name"]), str(config["key"])
        self.share = float(config["share"])
        self.features = [str(column) for column in config["features"]]
        self.aliases = {role: str(config[f"{role}_alias"]) for role in ROLES}
        self.client = MlflowClient()  # the registry of the environment it is loaded in
        self.loaded: dict[str, Any] = {}  # version -> its pipeline
        self.models = self.resolve()
        every = refresh_seconds()
        if every > 0:
            thread = threading.Thread(
                target=_refresh_every, args=(weakref.ref(self), every),
                name=f"retrain-router-{self.name}", daemon=True,
            )  # fmt: skip
            thread.start()

    def resolve(self) -> dict[str, tuple[str, Any, str]]:
        """Role -> (version, pipeline, alias) as the registry's aliases say now (no canary
        alias: the champion answers every row). Raises when the registry does not answer."""
        found = self.client.get_registered_model(self.name).aliases
        models = {}
        for role, alias in self.aliases.items():
            version = found.get(alias)
            if version is None:
                continue
            version = str(version)
            if version not in self.loaded:
                self.loaded[version] = mlflow.sklearn.load_model(f"models:/{self.name}/{version}")
            models[role] = (version, self.loaded[version], alias)
        return models

    def refresh(self) -> None:
        """Read the aliases again and switch to them; keep the current versions on failure."""
        try:
            models = self.resolve()
        except Exception as exc:  # the registry is down or slow: serve as before, try again
            logger.warning("router %s: aliases not read (%s); serving as before", self.name, exc)
            return
        before, after = _versions(self.models), _versions(models)
        self.models = models  # one assignment: a request sees the old split or the new one
        if before != after:
            logger.warning("router %s: now %s (was %s)", self.name, after, before)
        in_use = {version for version, _, _ in models.values()}
        self.loaded = {v: m for v, m in self.loaded.items() if v in in_use}

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        import pandas as pd

        if self.key not in model_input.columns:
            raise ValueError(f"each row needs the key column {self.key!r} (it routes the row)")
        models = self.models  # this request's split, whatever a refresh does meanwhile
        routed = pd.Series(False, index=model_input.index)
        if "canary" in models:
            routed[:] = to_canary(model_input[self.key], self.share)
        parts = []
        for role, rows in (("champion", ~routed), ("canary", routed)):
            if not rows.any():
                continue
            version, model, alias = models[role]
            predicted = pd.Series(
                list(model.predict(model_input.loc[rows, self.features])), index=rows[rows].index
            )
            parts.append(
                pd.DataFrame({"prediction": predicted, "version": version, "alias": alias})
            )
        return pd.concat(parts).loc[model_input.index].reset_index(drop=True)


def _versions(models: dict[str, tuple[str, Any, str]]) -> str:
    """e.g. "champion v2, canary v3", for the server's log."""
    return ", ".join(f"{role} v{models[role][0]}" for role in ROLES if role in models) or "none"


def _refresh_every(router: weakref.ref[CanaryRouter], seconds: float) -> None:
    """Refresh the router every `seconds` while it exists (a weak reference: the thread does not
    keep a router that nothing else uses alive)."""
    while True:
        time.sleep(seconds)
        found = router()
        if found is None:
            return
        found.refresh()
        del found
