"""Seeded frames and policies for the training, promotion and registry tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retrain_core.policy.schema import Policy

CONTRACTS = ("month-to-month", "one-year", "two-year")


def churn_frame(n: int = 400, seed: int = 0, start: str = "2026-01-01") -> pd.DataFrame:
    """Churn rows with a learnable signal, one per hour from `start`, in shuffled order."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    contract = rng.choice(CONTRACTS, n)
    logit = 1.5 - 0.06 * tenure + 0.02 * (charges - 70) + np.where(contract == CONTRACTS[0], 1, -1)
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "event_time": pd.date_range(start, periods=n, freq="h", tz="UTC"),
            "tenure": tenure,
            "monthly_charges": charges,
            "contract": contract,
            "churned": churned,
        }
    )
    frame.loc[rng.choice(n, n // 20, replace=False), "monthly_charges"] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def house_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """House sales with a price driven by area and neighborhood."""
    rng = np.random.default_rng(seed)
    area = rng.normal(150, 40, n)
    hood = rng.choice(["north", "south", "east"], n)
    price = 1000 * area + np.where(hood == "north", 50_000, 0) + rng.normal(0, 10_000, n)
    return pd.DataFrame({"living_area": area, "neighborhood": hood, "price": price})


def churn_policy(
    estimator: str = "sklearn.linear_model.LogisticRegression",
    params: dict[str, Any] | None = None,
    gate: dict[str, Any] | None = None,
    name: str = "churn",
    **training: Any,
) -> Policy:
    """A valid churn policy; the estimator, gate and training section are the test's choice."""
    return Policy.model_validate(
        {
            "version": 1,
            "name": name,
            "model": {
                "task": "classification",
                "target": "churned",
                "features": {"numeric": ["tenure", "monthly_charges"], "categorical": ["contract"]},
                "estimator": {"class": estimator, "params": params or {}},
            },
            "data": {
                "timestamp": "event_time",
                "reference": {"path": "ref.parquet"},
                "current": {"path": "cur/*.parquet"},
            },
            "triggers": {"any": [{"max_age": "30d"}]},
            "training": {"holdout": 0.25, **training},
            "gate": gate or {"metric": "roc_auc", "min": 0.6, "min_improvement": 0.0},
        }
    )


def house_policy() -> Policy:
    """A valid regression policy without a timestamp (shuffled holdout)."""
    return Policy.model_validate(
        {
            "version": 1,
            "name": "house-prices",
            "model": {
                "task": "regression",
                "target": "price",
                "features": {"numeric": ["living_area"], "categorical": ["neighborhood"]},
                "estimator": {"class": "sklearn.linear_model.Ridge", "params": {"alpha": 1.0}},
            },
            "data": {"reference": {"path": "ref.csv"}, "current": {"path": "cur/*.csv"}},
            "triggers": {"any": [{"max_age": "30d"}]},
            "gate": {"metric": "rmse", "min": 60000},
        }
    )
