"""One monitor cycle's I/O, as plain functions the flow's tasks call: load, then decide, then act.

`load_windows` reads the policy's sources (reference, the current window after the watermark,
the labels that arrived since the last check joined to their features); `load_champion` reads the
serving model; `run_cycle_decision` evaluates and decides. The flow wraps each in a Prefect task.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.data import (
    BadData,
    NoFiles,
    Watermark,
    check_columns,
    join_labels,
    load_labels,
    load_reference,
    load_window,
    read_source,
    required_columns,
)
from retrain_core.data.windows import EARLIEST, parse_timestamps
from retrain_core.decision import Fresh, LedgerEntry, change_start
from retrain_core.evaluate import Champion, Windows
from retrain_core.policy.schema import CurrentSource, Policy, Source, Window
from retrain_core.registry import serving_since, trained_until

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.registry import Registry

LABELS = "labels"
CURRENT = "current"


@dataclass(frozen=True)
class Loaded:
    """Windows ready to judge, the watermarks to store once judged, and how to describe them."""

    windows: Windows
    watermarks: dict[str, str] = field(default_factory=dict)
    description: str = ""


def load_windows(
    policy: Policy, root: Path, watermarks: dict[str, str], previous_rows: int | None = None
) -> Loaded:
    """Read the reference, the new current rows and the newly labelled rows of a policy."""
    columns = required_columns(policy)
    stamp = policy.data.timestamp
    reference = load_reference(policy.data.reference, columns, root, stamp)
    current = load_window(
        policy.data.current, columns, root, stamp, _watermark(watermarks.get(CURRENT))
    )
    marks = {CURRENT: current.watermark.to_json()} if current.watermark else {}
    problems = [("reference", p) for p in check_columns(reference.frame, policy, "reference")]
    # Nothing new is not bad data; a new batch file with no rows is (an empty window).
    nothing_new = current.frame.empty and not current.files
    new_data = not (policy.data.current.window.since_last_check and nothing_new)
    if new_data:
        problems += [("current", p) for p in check_columns(current.frame, policy, "current")]
    labelled = None
    if policy.data.labels is not None:
        try:
            new_labels, label_mark = _new_labels(policy, root, watermarks.get(LABELS))
            if label_mark:  # stored even when the labels are bad: each file is judged once
                marks[LABELS] = label_mark
            if new_labels is not None:
                labelled = _with_features(policy, root, columns, new_labels)
        except BadData as exc:
            problems.append(("labels", str(exc)))
    windows = Windows(
        reference=reference.frame,
        current=current.frame,
        labelled=labelled,
        newest=current.newest,
        previous_rows=previous_rows,
        new_data=new_data or bool(labelled is not None and len(labelled)),
        problems=tuple(problems),
    )
    return Loaded(windows, marks, f"{current.window}: {current.source}")


def _new_labels(policy: Policy, root: Path, mark: str | None) -> tuple[pd.DataFrame | None, str]:
    """The label rows that arrived since the last check (None before any), and the next mark."""
    labels_source = policy.data.labels
    assert labels_source is not None
    as_window = CurrentSource(
        path=labels_source.path,
        format=labels_source.format,
        sql=labels_source.sql,
        window=Window(since_last_check=True),
    )
    wanted = [labels_source.join_on, policy.model.target]
    try:
        new_labels = load_window(as_window, wanted, root, None, _watermark(mark))
    except NoFiles:
        return None, mark or ""
    next_mark = new_labels.watermark.to_json() if new_labels.watermark else (mark or "")
    return new_labels.frame, next_mark


def _with_features(
    policy: Policy, root: Path, columns: list[str], labels: pd.DataFrame
) -> pd.DataFrame:
    """The new labels joined to their feature rows; BadData when none is usable."""
    assert policy.data.labels is not None
    target, key = policy.model.target, policy.data.labels.join_on
    if labels.empty:
        return labels
    features = _every_current_row(policy, [c for c in columns if c != target], root)
    # The rows with a new label, matched as join_labels matches keys (numbers and text alike).
    found = join_labels(features, labels.assign(**{target: True}), key, target)[target].notna()
    joined = join_labels(features[found.to_numpy()], labels, key, target)
    if joined.empty:  # not "all null": the keys are wrong, or their feature rows are missing
        raise BadData(
            f"none of the {len(labels)} labels that arrived matches a row of the current source "
            f"on {key!r}"
        )
    if joined[target].isna().all():
        raise BadData(f"the labels that arrived have no {target!r} values (all null)")
    return joined


def _every_current_row(policy: Policy, columns: list[str], root: Path) -> pd.DataFrame:
    """Every row of the current source; a query's :watermark gets the earliest moment."""
    current = policy.data.current
    source = Source(path=current.path, format=current.format, sql=current.sql)
    return read_source(source, columns, root, {"watermark": EARLIEST})


def _watermark(text: str | None) -> Watermark | None:
    return Watermark.from_json(text) if text else None


def load_champion(registry: Registry, policy: Policy) -> Champion | None:
    """The serving model with its holdout metrics, or None before the first promotion."""
    version = registry.champion(policy.name, policy.promotion.alias)
    if version is None:
        return None
    metrics: dict[str, float] = {}
    if version.run_id:
        run = registry.client.get_run(version.run_id)
        prefix = "holdout_"
        metrics = {k[len(prefix) :]: v for k, v in run.data.metrics.items() if k.startswith(prefix)}
    created = serving_since(version)
    model = registry.load_model(policy.name, policy.promotion.alias)
    holdout_rows = 0
    if version.run_id:
        holdout_rows = int(
            registry.client.get_run(version.run_id).data.params.get("rows.holdout", 0)
        )
    return Champion(
        str(version.version), created, metrics, model,
        trained_until=trained_until(version), holdout_rows=holdout_rows, run_id=version.run_id,
    )  # fmt: skip


def follow_champion(
    registry: Registry, policy: Policy, data: Loaded, champion: Champion | None
) -> Loaded:
    """With `data.drift_reference: champion`, drift compares with the champion's training sample."""
    if policy.data.drift_reference != "champion" or champion is None or not champion.run_id:
        return data
    sample = registry.load_reference(champion.run_id)
    if sample is None or sample.empty:  # a version trained before samples were stored
        return data
    return replace(data, windows=replace(data.windows, reference=sample))


def label_context(
    policy: Policy,
    root: Path,
    data: Loaded,
    champion: Champion | None,
    history: list[LedgerEntry],
    now: datetime,
) -> tuple[Loaded, Fresh | None]:
    """The champion's earlier live labelled rows, and the labelled rows from after the change.

    Live rows (newer than the champion's training data, labelled before this check) give the
    performance trigger its live baseline; `Fresh` tells `decide()` whether labels of the changed
    rows have arrived. Without late labels or a timestamp there is nothing to wait for.
    """
    labels, stamp, w = policy.data.labels, policy.data.timestamp, data.windows
    if labels is None or stamp is None or w.problems:
        return data, None
    try:
        rows = load_training_data(policy, root)
    except BadData:  # an older file is bad: the checks judge this window; nothing to count by
        return data, None
    rows = rows.assign(**{stamp: parse_timestamps(rows[stamp])}).dropna(subset=[stamp])
    start = _oldest(w.current, stamp) or now
    since = change_start(history, start)
    measured = _oldest(w.labelled, stamp) if w.labelled is not None else None
    fresh = Fresh(since, int((rows[stamp] >= since).sum()), labels.lag, measured)
    if champion is None or champion.trained_until is None:
        return data, fresh
    live = rows[rows[stamp] > champion.trained_until]
    if w.labelled is not None and labels.join_on in live.columns:
        live = live[~live[labels.join_on].isin(w.labelled[labels.join_on])]
    live = live.sort_values(stamp, kind="stable").reset_index(drop=True)
    return replace(data, windows=replace(w, live=live)), fresh


def _oldest(frame: pd.DataFrame | None, stamp: str) -> datetime | None:
    """The oldest timestamp of a frame, or None when it has none."""
    if frame is None or frame.empty or stamp not in frame.columns:
        return None
    stamps = parse_timestamps(frame[stamp])
    if stamps is None or stamps.isna().all():
        return None
    return stamps.min().floor("us").to_pydatetime()


def load_training_data(policy: Policy, root: Path) -> pd.DataFrame:
    """The challenger's rows: `training.source`, else the reference plus every labelled row."""
    import pandas as pd

    columns = required_columns(policy)
    if policy.training.source is not None:
        return read_source(policy.training.source, columns, root)
    frames = [read_source(policy.data.reference, columns, root)]
    labels = policy.data.labels
    if labels is not None:
        try:
            label_rows = load_labels(labels, policy.model.target, root)
        except NoFiles:  # no label has arrived yet: train on the reference alone
            label_rows = None
        if label_rows is not None:
            features = _every_current_row(policy, columns, root)
            frames.append(join_labels(features, label_rows, labels.join_on, policy.model.target))
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame[policy.model.target].notna()].reset_index(drop=True)


def training_data_problems(policy: Policy, frame: pd.DataFrame) -> list[str]:
    """Why these rows must not be trained on: bad columns or failed expectations."""
    problems = check_columns(frame, policy, "reference")
    if problems or not policy.expectations:
        return problems
    from retrain_core.checks.outcome import Status
    from retrain_core.checks.validation import run_expectations

    outcomes = run_expectations(frame, policy.expectations)
    return [o.reason for o in outcomes if o.status is not Status.PASS]
