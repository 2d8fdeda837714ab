"""A bounded sample of a training window: `training.max_rows`, stratified by class and time.

The window's labelled rows are cut into strata, one per class (classification) and per tenth of
the window's time (by row count, when there is a timestamp); each stratum keeps its share of
`max_rows` (largest remainders, so the sample has exactly `max_rows` rows), drawn without
replacement with the policy's seed. The sample keeps the rows' order, so every later step (the
change, the newest-rows holdout) sees the window as it was, only thinner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

TIME_STRATA = 10


def bounded_sample(
    frame: pd.DataFrame,
    max_rows: int | None,
    target: str | None,
    timestamp: str | None,
    seed: int,
) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`, stratified by `target`'s classes and by time."""
    import pandas as pd

    n = len(frame)
    if max_rows is None or n <= max_rows:
        return frame
    strata = np.zeros(n, dtype=np.int64)
    if timestamp is not None and timestamp in frame.columns:
        order = np.argsort(frame[timestamp].to_numpy(), kind="stable")
        tenth = np.empty(n, dtype=np.int64)
        tenth[order] = np.arange(n) * TIME_STRATA // n
        strata = tenth
    if target is not None and target in frame.columns:
        classes = pd.factorize(frame[target])[0].astype(np.int64)
        strata = strata * (int(classes.max()) + 2) + classes + 1
    labels, inverse, sizes = np.unique(strata, return_inverse=True, return_counts=True)
    share = sizes * (max_rows / n)
    take = np.floor(share).astype(np.int64)
    short = max_rows - int(take.sum())
    take[np.argsort(-(share - take), kind="stable")[:short]] += 1
    rng = np.random.default_rng(seed)
    by_stratum = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [
        rng.choice(by_stratum[starts[i] : starts[i + 1]], size=int(take[i]), replace=False)
        for i in range(labels.size)
    ]
    return frame.iloc[np.sort(np.concatenate(chosen))]
