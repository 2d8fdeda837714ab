"""The challenger's rows: `training.source`, else the reference plus every labelled current row.

Never from a quarantined batch; each row says whether a check already judged its batch, so
`training_validation` runs the quality expectations only on the rest (once per batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.data import read_source, required_columns
from retrain_core.monitor.current_rows import CURRENT, labelled_current
from retrain_core.policy.schema import Policy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class TrainingData:
    """The challenger's rows, and which of them no check has judged (one flag per row).

    Unjudged are the reference's rows (or `training.source`'s) and those of the current batches
    no check judged yet (arrived since); the others passed their check's quality expectations.
    """

    frame: pd.DataFrame
    unjudged: np.ndarray


def load_training_data(
    policy: Policy,
    root: Path,
    skip: dict[str, set[str]] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The challenger's rows: `training.source`, else the reference plus every labelled row.

    Quarantined batches (`skip`, by role) and batches that fail their rules are left out, and,
    given the check's `now`, rows stamped after it.
    """
    return training_data(policy, root, skip, now=now).frame


def training_data(
    policy: Policy,
    root: Path,
    skip: dict[str, set[str]] | None = None,
    judged: dict[str, set[str]] | None = None,
    now: datetime | None = None,
) -> TrainingData:
    """`load_training_data`, telling which rows come from the current batches checks `judged`.

    A row stamped after `now` is not trained on (it waits for its time): a model's training
    window, and so its "trained until", never ends after the check that trained it.
    """
    import numpy as np
    import pandas as pd

    columns = required_columns(policy)
    if policy.training.source is not None:
        frame = read_source(policy.training.source, columns, root)
        frame = frame[_not_after(frame, policy, now)].reset_index(drop=True)
        return TrainingData(frame, np.ones(len(frame), dtype=bool))
    frames = [read_source(policy.data.reference, columns, root)]
    unjudged = [np.ones(len(frames[0]), dtype=bool)]
    if policy.data.labels is not None:  # without a label source: the reference alone
        seen = (judged or {}).get(CURRENT, set())
        found = labelled_current(policy, root, frames[0], skip, seen)
        if found is not None:
            frames.append(found[0])
            unjudged.append(~found[1])
    frame = pd.concat(frames, ignore_index=True)
    keep = frame[policy.model.target].notna().to_numpy() & _not_after(frame, policy, now)
    return TrainingData(frame[keep].reset_index(drop=True), np.concatenate(unjudged)[keep])


def _not_after(frame: pd.DataFrame, policy: Policy, now: datetime | None) -> np.ndarray:
    """True for each row not stamped after `now` (every row without `now` or a timestamp)."""
    import numpy as np

    from retrain_core.data.timestamps import parse_timestamps

    stamp = policy.data.timestamp
    if now is None or stamp is None or stamp not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    stamps = parse_timestamps(frame[stamp])
    if stamps is None:
        return np.ones(len(frame), dtype=bool)
    return ~(stamps > now).to_numpy()
