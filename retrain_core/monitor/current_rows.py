"""Every row of the current source with its label: what training and the backtest both read.

The rows of quarantined batches (`skip`, by role) and of batches that fail their rules are left
out, a batch seen twice adds no second row, and the labels come from the label source joined on
its key. The monitor's training data (`training_data`) and the backtest's history
(`retrain backtest`) are assembled by this one function, so the replay trains on the rows the
monitor would.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Final

from retrain_core.data import NoFiles, join_labels, required_columns
from retrain_core.data.batches import read_judged
from retrain_core.data.problems import batch_rules
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LABELS: Final = "labels"
CURRENT: Final = "current"


def labelled_current(
    policy: Policy,
    root: Path,
    reference: pd.DataFrame,
    skip: dict[str, set[str]] | None = None,
    judged: Collection[str] = (),
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Every current row with its label from the label source (None before any label arrived).

    Label batches are judged against the `reference` rows (their classes and kinds); with the
    rows, one flag per row: True when its batch is one of the `judged` (by a check). Rows whose
    label has not arrived keep their own target value, else NaN.
    """
    labels = policy.data.labels
    assert labels is not None, "the policy has no labels source"
    skip = skip or {}
    rules = batch_rules(policy, LABELS, reference)
    wanted = [labels.join_on, policy.model.target]
    try:
        label_rows, _ = read_judged(labels, wanted, root, skip.get(LABELS, ()), rules)
    except NoFiles:  # no label has arrived yet
        return None
    if label_rows.empty:
        return None
    columns = required_columns(policy)
    features, checked = every_current_row(policy, columns, root, skip, judged)
    return join_labels(features, label_rows, labels.join_on, policy.model.target), checked


def every_current_row(
    policy: Policy,
    columns: list[str],
    root: Path,
    skip: dict[str, set[str]],
    judged: Collection[str] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every row of the current source but quarantined or unreadable batches, one per key.

    With it, one flag per row: True when its batch is one of the `judged` (by a check).
    """
    import numpy as np

    rules = batch_rules(policy, CURRENT, None)
    frame, spans = read_judged(policy.data.current, columns, root, skip.get(CURRENT, ()), rules)
    seen = np.zeros(len(frame), dtype=bool)
    if spans:
        flags = [key in judged for key, _ in spans]
        seen = np.repeat(np.array(flags, dtype=bool), [rows for _, rows in spans])
    key = policy.data.labels.join_on if policy.data.labels is not None else None
    if key is not None and key in frame.columns:  # a batch seen twice adds no second row
        first = ~frame.duplicated(subset=[key], keep="first").to_numpy()
        frame, seen = frame[first].reset_index(drop=True), seen[first]
    return frame, seen
