"""Late labels: read the label rows and join them onto a window by key, and name the classes in
them that a model never saw."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.data.errors import BadData
from retrain_core.data.readers import read_source
from retrain_core.policy.sources import LabelSource

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.policy.schema import Policy

NEW_CLASS = "data.new_class"  # the check of a class the model never saw: `data.new_class.<class>`


def load_labels(labels: LabelSource, target: str, root: Path) -> pd.DataFrame:
    """Every label row, with only the join key and the target column."""
    return read_source(labels, [labels.join_on, target], root)


def join_labels(
    frame: pd.DataFrame, labels: pd.DataFrame, join_on: str, target: str
) -> pd.DataFrame:
    """The window with `target` filled from the labels: a left join on `join_on`, rows kept.

    Rows whose key has no label keep the window's own target value when it has one, else NaN
    (labels may lag: that is not an error). When a key has several labels the last one in source
    order wins (a later file corrects an earlier one); label rows without a key are ignored. Keys
    of different kinds (numbers in one source, text in the other) are compared as text. A missing
    key or target column raises `BadData`, which the monitor records as a blocked decision.
    """
    if join_on not in frame.columns:
        raise BadData(f"the current window has no column {join_on!r} to join the labels on")
    for column in (join_on, target):
        if column not in labels.columns:
            raise BadData(f"the label source has no column {column!r}")
    known = labels.dropna(subset=[join_on]).drop_duplicates(subset=[join_on], keep="last")
    keys, label_keys = _comparable(frame[join_on], known[join_on])
    values = keys.map(dict(zip(label_keys, known[target], strict=True)))
    joined = frame.copy()
    if target in frame.columns:
        values = values.where(values.notna(), frame[target])
    joined[target] = values
    return joined


def _comparable(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The two key columns as they are, or both as text when one is numeric and one is not."""
    from pandas.api import types

    if types.is_numeric_dtype(left) == types.is_numeric_dtype(right):
        return left, right
    return _as_text(left), _as_text(right)


def _as_text(values: pd.Series) -> pd.Series:
    """Keys as text; whole floats (integer keys with gaps) lose their ``.0`` first."""
    from pandas.api import types

    if types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")
    return values.astype("string")


def known_classes(model: Any, reference: pd.DataFrame | None, target: str) -> list[str] | None:
    """The classes a model knows (its `classes_`, from its training window), else the classes of
    the reference rows; None when neither says (a regressor, no labelled reference)."""
    import pandas as pd

    from retrain_core.data.problems import class_names

    classes = getattr(model, "classes_", None) if model is not None else None
    if classes is not None:
        return class_names(pd.Series(list(classes), dtype=object))
    if reference is None or target not in reference.columns:
        return None
    return class_names(reference[target]) or None


def new_class_outcomes(
    policy: Policy, rows: pd.DataFrame | None, known: Collection[str] | None, who: str
) -> list[CheckOutcome]:
    """One finding per class among the labelled `rows` that is not `known` (`who`, e.g. "the
    champion (v3)", is what does not know it): its rows and a sentence.

    A finding, not bad data and not an error: the check is judged as usual (status FAIL so it is
    listed first, but no trigger reads it, so it never blocks or fires by itself); the champion
    cannot predict these rows, the performance triggers count them as its errors, and the next
    training learns the class. A policy with a closed set (`data.labels.classes`) sets such
    batches aside before this point.
    """
    from retrain_core.data.problems import class_name, class_names

    target = policy.model.target
    if policy.model.task != "classification" or rows is None or target not in rows.columns:
        return []
    if known is None:
        return []
    values = rows[target].dropna()
    if values.empty:
        return []
    names = class_names(values)
    unseen = [name for name in names if name not in set(known)]
    if not unseen:
        return []
    as_text = values.map(class_name)
    shown = ", ".join(sorted(known))
    outcomes = []
    for name in unseen:
        count = int((as_text == name).sum())
        reason = (
            f"new class {name!r} in {target!r}: {count} of {len(values)} labelled rows, a class "
            f"{who} never saw (it knows {shown}); it cannot predict them, and the next training "
            "learns the class"
        )
        outcomes.append(
            CheckOutcome(f"{NEW_CLASS}.{name}", Status.FAIL, reason, observed=float(count))
        )
    return outcomes
