"""Robust statistics shared by the decision and the trigger kinds (pure, no imports of ours)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median


def around_median(values: Sequence[float]) -> list[float]:
    """Each value less the median of them all."""
    level = median(values)
    return [v - level for v in values]


def ordinary(deviations: Sequence[float]) -> list[float]:
    """The deviations within 3 robust standard deviations (1.4826 MAD) of all of them."""
    spread = 1.4826 * median([abs(d) for d in deviations]) if deviations else 0.0
    return [d for d in deviations if spread == 0 or abs(d) <= 3 * spread]
