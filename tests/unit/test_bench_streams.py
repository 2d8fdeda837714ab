"""bench/streams.py: each generator is deterministic per seed and behaves as its kind claims.

Short streams (the change positions are fractions, so they keep their shape); a small
HistGradientBoosting model that never retrains (trained on the first two batches) and one
retrained before each batch on the two batches whose labels would be known (labels a batch late).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import streams

pytestmark = pytest.mark.unit

# small shapes: enough batches for each claim, few rows
SHORT: dict[str, dict[str, Any]] = {
    "abrupt": {"batches": 12, "rows": 500},
    "gradual": {"batches": 16, "rows": 500},
    "incremental": {"batches": 15, "rows": 500, "speed": 0.1},
    "recurring": {"batches": 15, "rows": 500},
    "seasonal": {"batches": 18, "rows": 400},
    "covariate": {"batches": 8, "rows": 1000},
    "label_noise": {"batches": 15, "rows": 600},
    "none": {"batches": 12, "rows": 600},
}


def _curves(s: streams.Stream) -> tuple[dict[int, float], dict[int, float]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = s.frame[s.numeric + s.categorical].copy()
    for column in s.categorical:
        x[column] = x[column].astype("category")
    y = s.frame[s.target].to_numpy()
    r = s.rows

    def fit(lo: int, hi: int) -> Any:
        model = HistGradientBoostingClassifier(
            max_iter=50, categorical_features="from_dtype", random_state=0
        )
        return model.fit(x.iloc[lo * r : hi * r], y[lo * r : hi * r])

    def accuracy(model: Any, b: int) -> float:
        return float(np.mean(model.predict(x.iloc[b * r : (b + 1) * r]) == y[b * r : (b + 1) * r]))

    first = fit(0, 2)
    never = {b: accuracy(first, b) for b in range(2, s.batches)}
    retrained = {b: accuracy(fit(max(b - 3, 0), max(b - 1, 2)), b) for b in range(2, s.batches)}
    return never, retrained


def test_every_kind_has_a_generator_and_its_own_seed() -> None:
    assert set(SHORT) == set(streams.GENERATORS)
    assert len(set(streams.SEEDS.values())) == len(streams.SEEDS)
    seeds = [s.seed for s in streams.all_streams(7)]
    assert seeds == list(range(7, 7 + len(streams.GENERATORS)))


@pytest.mark.parametrize("name", sorted(SHORT))
def test_deterministic_per_seed(name: str) -> None:
    a = streams.generate(name, 5, **SHORT[name])
    b = streams.generate(name, 5, **SHORT[name])
    c = streams.generate(name, 6, **SHORT[name])
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not a.frame[s_numeric(a)].equals(c.frame[s_numeric(c)])
    assert len(a.frame) == SHORT[name]["batches"] * SHORT[name]["rows"]
    assert a.frame["t"].is_monotonic_increasing
    assert a.describe()["shape"]["rows"] == SHORT[name]["rows"]


def s_numeric(s: streams.Stream) -> list[str]:
    return s.numeric


@pytest.mark.parametrize("name", sorted(SHORT))
def test_behaves_as_its_kind_claims(name: str) -> None:
    s = streams.generate(name, **SHORT[name])
    never, retrained = _curves(s)
    ok, line = s.check(never, retrained)
    assert ok, f"{name}: {line}"


def test_a_check_can_fail() -> None:
    """A stream with nothing changing fails the abrupt stream's claim (the checks can fail)."""
    s = streams.generate("abrupt", **SHORT["abrupt"])
    flat = {b: 0.9 for b in range(2, s.batches)}
    ok, _ = s.check(flat, flat)
    assert not ok
    ok, _ = streams.generate("covariate", **SHORT["covariate"]).check(
        {b: 0.6 for b in range(2, 8)}, {b: 0.9 for b in range(2, 8)}
    )
    assert not ok
