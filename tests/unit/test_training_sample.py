"""training.max_rows: a bounded sample, stratified by class and time, seeded, in lineage."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _data import churn_frame, churn_policy

from retrain_core.policy.schema import Policy
from retrain_core.store.lineage import training_params
from retrain_core.training.challenger import train_challenger
from retrain_core.training.sample import bounded_sample


def skewed(n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    minutes = rng.permutation(n)
    at = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    late = minutes >= n // 2
    y = np.where(late, rng.random(n) < 0.4, rng.random(n) < 0.05)  # the change: more positives
    return pd.DataFrame({"x": rng.normal(size=n), "y": y.astype(int), "at": at})


def test_the_sample_keeps_each_class_and_time_share_and_the_rows_order() -> None:
    frame = skewed()
    sample = bounded_sample(frame, 2_000, "y", "at", seed=7)
    assert len(sample) == 2_000 and sample.index.is_monotonic_increasing
    late = frame["at"] >= frame["at"].median()
    for half in (late, ~late):
        whole = frame[half]["y"].mean()
        assert abs(sample[half.loc[sample.index]]["y"].mean() - whole) < 0.01
        assert abs(half.loc[sample.index].mean() - half.mean()) < 0.01
    assert sample.index.equals(bounded_sample(frame, 2_000, "y", "at", seed=7).index)
    assert not sample.index.equals(bounded_sample(frame, 2_000, "y", "at", seed=8).index)
    assert bounded_sample(frame, None, "y", "at", 0) is frame
    assert bounded_sample(frame, 50_000, "y", "at", 0) is frame
    assert len(bounded_sample(frame, 999, None, None, 0)) == 999  # regression, no timestamp


def test_training_uses_at_most_max_rows_and_says_so_in_lineage() -> None:
    spec = churn_policy().model_dump(by_alias=True, exclude_none=True)
    spec["training"] = {**spec.get("training", {}), "max_rows": 300}
    policy = Policy.model_validate(spec)
    result = train_challenger(policy, churn_frame(1_200))
    assert result.n_train + result.n_holdout <= 300 and result.n_window == 1_200
    params = training_params(policy, result)
    assert params["training.max_rows"] == "300" and params["rows.window"] == "1200"
    again = train_challenger(policy, churn_frame(1_200))
    assert again.rows is not None and result.rows is not None
    assert again.rows.index.equals(result.rows.index)  # seeded: the same sample every time
