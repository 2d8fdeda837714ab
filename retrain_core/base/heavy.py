"""The heavy libraries, in one place: what validation never imports and what a run preloads."""

from __future__ import annotations

# Validation stays fast and side-effect free: it never imports these, and estimators never come
# from them (importing one costs seconds and starts their machinery).
HEAVY_PACKAGES = ("great_expectations", "mlflow", "prefect", "alibi_detect")

# `retrain validate` leaves scikit-learn unimported too: its estimators are checked against a
# generated table (retrain_core/policy/sklearn_estimators.py), while a policy may name one.
NOT_IMPORTED_TO_VALIDATE = (*HEAVY_PACKAGES, "sklearn")

# Imported by the warm engine before it serves (retrain_core/runtime/engine.py): what a monitor
# or training run would import. scikit-learn and skops first: skops scans every loaded module
# when it is imported.
PRELOAD = (
    "numpy",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "skops.io",
    "pandas",
    "pyarrow.parquet",
    "scipy.stats",
    "sqlalchemy",
    "prefect",
    "prefect.flow_engine",
    "prefect.concurrency.sync",
    "prefect.client.orchestration",
    "mlflow",
    "mlflow.sklearn",
    "mlflow.tracking",
    # imported lazily on a run's first use: Prefect's task-graph helpers (graphviz) and task
    # engine, the pandas backend of narwhals (scikit-learn's input checks), Parquet datasets,
    # cron schedules, MLflow's request headers, SQLite, anyio's event loop
    "prefect.utilities.visualization",
    "prefect.task_engine",
    "narwhals._pandas_like.namespace",
    "pyarrow.dataset",
    "croniter",
    "mlflow.tracking.request_header.registry",
    "sqlite3",
    "anyio._backends._asyncio",
)
