"""One monitor cycle's I/O, as plain functions the flow's tasks call: load, then decide, then act.

`load_windows` reads the policy's sources (reference, the current window after the watermark,
the labels that arrived since the last check joined to their features), judging each batch file
on its own and setting aside (quarantining) the ones that cannot be judged; `load_champion` reads
the serving model; `load_training_data` the challenger's rows, never from a quarantined batch, and
`training_data_problems` validates the part of them no check judged: the quality expectations
run once per batch, by the check that judges it (training reuses its verdict).
The flow wraps each in a Prefect task; `retrain_core.monitor.settle.settle` says, once the decision
is known, which batches were judged and which are quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from retrain_core.data import (
    BadData,
    NoFiles,
    Watermark,
    check_columns,
    join_labels,
    load_reference,
    load_window,
    read_source,
    required_columns,
)
from retrain_core.data.batches import Quarantined, read_judged
from retrain_core.data.problems import batch_rules
from retrain_core.data.readers import describe
from retrain_core.data.windows import LoadedWindow, parse_timestamps
from retrain_core.decide.ledger import LedgerEntry
from retrain_core.decide.pending import Fresh, change_start
from retrain_core.decide.swings import swings
from retrain_core.kinds.context import Champion, Windows
from retrain_core.policy.schema import Policy
from retrain_core.policy.sources import Source, Window
from retrain_core.store.registry import serving_since, trained_until

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from retrain_core.store.registry import Registry

LABELS: Final = "labels"
CURRENT: Final = "current"


@dataclass(frozen=True)
class Loaded:
    """Windows ready to judge, the watermarks to store once judged, and how to describe them.

    `quarantined` are the batches set aside while loading; `loaded` the current and label
    windows by role, so `settle` can tell, once the decision is known, which batches it judged.
    """

    windows: Windows
    watermarks: dict[str, str] = field(default_factory=dict)
    description: str = ""
    quarantined: tuple[Quarantined, ...] = ()
    loaded: dict[str, LoadedWindow] = field(default_factory=dict)


Earlier = Callable[[str], str | None]


def load_windows(
    policy: Policy,
    root: Path,
    watermarks: dict[str, str],
    previous_rows: int | None = None,
    skip: dict[str, set[str]] | None = None,
    earlier: Earlier | None = None,
) -> Loaded:
    """Read the reference, the new current rows and the newly labelled rows of a policy.

    Batches in `skip` (quarantined) are not read; a batch that cannot be judged is set aside and
    named in the problems, and bad data anywhere becomes a problem (a blocked decision).
    """
    skip = skip or {}
    columns = required_columns(policy)
    problems: list[tuple[str, str]] = []
    reference = _reference(policy, root, columns, problems)
    known = reference.frame if len(reference.frame) else None
    current = _current(policy, root, columns, watermarks, skip, known, earlier, problems)
    marks = {CURRENT: _mark_text(current.watermark, watermarks.get(CURRENT))}
    loaded = {CURRENT: current}
    # Nothing new is not bad data; every new batch set aside leaves no window to check.
    nothing_new = current.frame.empty and not current.files
    new_data = not (policy.data.current.window.since_last_check and nothing_new)
    if new_data and (current.batches or not current.files):
        problems += [("current", p) for p in check_columns(current.frame, policy, "current")]
    labelled = None
    if policy.data.labels is not None:
        try:
            new_labels = _new_labels(policy, root, watermarks.get(LABELS), skip, known)
            if new_labels is not None:
                loaded[LABELS] = new_labels
                marks[LABELS] = _mark_text(new_labels.watermark, watermarks.get(LABELS))
                labelled = _with_features(policy, root, columns, new_labels.frame, skip)
        except BadData as exc:
            problems.append(("labels", str(exc)))
    quarantined = tuple(q for window in loaded.values() for q in window.quarantined)
    problems += [("quarantine", f"quarantined {q.path}: {q.reason}") for q in quarantined]
    windows = Windows(
        reference=reference.frame,
        current=current.frame,
        labelled=labelled,
        newest=current.newest,
        previous_rows=previous_rows,
        new_data=new_data or bool(labelled is not None and len(labelled)) or bool(quarantined),
        problems=tuple(problems),
    )
    marks = {role: mark for role, mark in marks.items() if mark}
    return Loaded(windows, marks, f"{current.window}: {current.source}", quarantined, loaded)


def _reference(
    policy: Policy, root: Path, columns: list[str], problems: list[tuple[str, str]]
) -> LoadedWindow:
    """The reference window; bad reference data is a problem with an empty window."""
    stamp = policy.data.timestamp
    try:
        reference = load_reference(policy.data.reference, columns, root, stamp)
    except BadData as exc:
        problems.append(("reference", str(exc)))
        return _empty(policy.data.reference, columns, "all")
    problems += [("reference", p) for p in check_columns(reference.frame, policy, "reference")]
    return reference


def _current(
    policy: Policy,
    root: Path,
    columns: list[str],
    watermarks: dict[str, str],
    skip: dict[str, set[str]],
    known: pd.DataFrame | None,
    earlier: Earlier | None,
    problems: list[tuple[str, str]],
) -> LoadedWindow:
    """The current window after the watermark; content that cannot form it is a problem."""
    rules = batch_rules(policy, CURRENT, known, earlier)
    mark = _watermark(watermarks.get(CURRENT))
    source, stamp = policy.data.current, policy.data.timestamp
    try:
        return load_window(source, columns, root, stamp, mark, skip.get(CURRENT, ()), rules)
    except BadData as exc:
        problems.append(("current", str(exc)))
        return _empty(source, columns, "unreadable")


def _empty(source: Source, columns: list[str], window: str) -> LoadedWindow:
    import pandas as pd

    return LoadedWindow(pd.DataFrame(columns=columns), describe(source), window)


def _mark_text(mark: Watermark | None, previous: str | None) -> str:
    return mark.to_json() if mark is not None else (previous or "")


def _new_labels(
    policy: Policy,
    root: Path,
    mark: str | None,
    skip: dict[str, set[str]],
    known: pd.DataFrame | None,
) -> LoadedWindow | None:
    """The label rows that arrived since the last check (None before any)."""
    labels = policy.data.labels
    assert labels is not None
    wanted = [labels.join_on, policy.model.target]
    rules = batch_rules(policy, LABELS, known)
    try:
        return load_window(
            labels, wanted, root, None, _watermark(mark), skip.get(LABELS, ()), rules,
            window=Window(since_last_check=True),
        )  # fmt: skip
    except NoFiles:
        return None


def _with_features(
    policy: Policy, root: Path, columns: list[str], labels: pd.DataFrame, skip: dict[str, set[str]]
) -> pd.DataFrame:
    """The new labels joined to their feature rows; BadData when none is usable."""
    assert policy.data.labels is not None
    target, key = policy.model.target, policy.data.labels.join_on
    if labels.empty:
        return labels
    features, _ = _every_current_row(policy, [c for c in columns if c != target], root, skip)
    # The rows with a new label, matched as join_labels matches keys (numbers and text alike).
    found = join_labels(features, labels.assign(**{target: True}), key, target)[target].notna()
    joined = join_labels(features[found.to_numpy()], labels, key, target)
    if joined.empty and skip.get(CURRENT):  # labels of quarantined batches: nothing to join
        return joined
    if joined.empty:  # not "all null": the keys are wrong, or their feature rows are missing
        raise BadData(
            f"none of the {len(labels)} labels that arrived matches a row of the current source "
            f"on {key!r}"
        )
    if joined[target].isna().all():
        raise BadData(f"the labels that arrived have no {target!r} values (all null)")
    return joined


def _every_current_row(
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


def _watermark(text: str | None) -> Watermark | None:
    return Watermark.from_json(text) if text else None


def load_champion(registry: Registry, policy: Policy) -> Champion | None:
    """The serving model with its holdout metrics, or None before the first promotion."""
    version = registry.champion(policy.name, policy.promotion.alias)
    if version is None:
        return None
    metrics: dict[str, float] = {}
    holdout_rows = 0
    if version.run_id:
        run_metrics, params = registry.run_data(version.run_id)
        prefix = "holdout_"
        metrics = {k[len(prefix) :]: v for k, v in run_metrics.items() if k.startswith(prefix)}
        holdout_rows = int(params.get("rows.holdout", 0))
    created = serving_since(version)
    model = registry.load_model(policy.name, policy.promotion.alias)
    return Champion(
        str(version.version), created, metrics, model,
        trained_until=trained_until(version), holdout_rows=holdout_rows, run_id=version.run_id,
    )  # fmt: skip


def follow_champion(
    registry: Registry, policy: Policy, data: Loaded, champion: Champion | None
) -> Loaded:
    """With `data.drift_reference: champion`, drift compares with the champion's training sample.

    The sample's profile stored with the version comes along: drift bins the current window
    against it (a version stored before profiles has none, and the checks profile the sample).
    """
    if policy.data.drift_reference != "champion" or champion is None or not champion.run_id:
        return data
    sample = registry.load_reference(champion.run_id)
    if sample is None or sample.empty:  # a version trained before samples were stored
        return data
    profile = registry.load_profile(champion.run_id)
    return replace(data, windows=replace(data.windows, reference=sample, profile=profile))


def reference_profile(registry: Registry, policy: Policy, data: Loaded, now: datetime) -> Loaded:
    """The drift reference's profile, when drift will bin against it and none came with it.

    A reference without a stored profile (the fixed file, or a champion's sample stored without
    one) is profiled once per content: the profile is stored in MLflow under its content key, and
    every later check with the same reference loads it instead of profiling again (a changed file
    has another key, so it gets a profile of its own). A process keeps it too (`cached`).
    """
    from retrain_core.checks.drift import binned
    from retrain_core.checks.profile import build_profile, cached, content_key, remember
    from retrain_core.kinds.drift import DriftTrigger

    w, features = data.windows, policy.model.features
    numeric, categorical = list(features.numeric), list(features.categorical)
    if w.profile is not None and w.profile.covers(numeric, categorical):
        return data
    if w.problems or not w.new_data or w.reference.empty or w.current.empty:
        return data  # the checks stop at the data's problems or at "no new data": no drift
    drift = [d for rule in policy.triggers.rules if (d := rule.get(DriftTrigger)) is not None]
    if not any(binned(d.method, len(w.reference), len(w.current)) for d in drift):
        return data
    key = content_key(w.reference, numeric, categorical)
    profile = cached(key)
    if profile is None:
        profile = registry.stored_profile(policy.name, key)
        if profile is None:
            profile = build_profile(w.reference, numeric, categorical, key)
            registry.store_profile(policy.name, profile, now=now)
        remember(profile)
    return replace(data, windows=replace(w, profile=profile))


def label_context(
    policy: Policy,
    root: Path,
    data: Loaded,
    champion: Champion | None,
    history: list[LedgerEntry],
    now: datetime,
    skip: dict[str, set[str]] | None = None,
) -> tuple[Loaded, Fresh | None]:
    """The champion's earlier live labelled rows, and the labelled rows from after the change.

    Live rows (newer than the champion's training data, labelled before this check) give the
    performance trigger its live baseline; `Fresh` tells `decide()` whether labels of the changed
    rows have arrived. Without late labels or a timestamp there is nothing to wait for.
    """
    data = replace(data, windows=replace(data.windows, swings=swings(history)))
    labels, stamp, w = policy.data.labels, policy.data.timestamp, data.windows
    if labels is None or stamp is None or w.problems:
        return data, None
    try:
        rows = load_training_data(policy, root, skip)
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


@dataclass(frozen=True)
class TrainingData:
    """The challenger's rows, and which of them no check has judged (one flag per row).

    Unjudged are the reference's rows (or `training.source`'s) and those of the current batches
    no check judged yet (arrived since); the others passed their check's quality expectations.
    """

    frame: pd.DataFrame
    unjudged: np.ndarray


def load_training_data(
    policy: Policy, root: Path, skip: dict[str, set[str]] | None = None
) -> pd.DataFrame:
    """The challenger's rows: `training.source`, else the reference plus every labelled row.

    Quarantined batches (`skip`, by role) and batches that fail their rules are left out.
    """
    return training_data(policy, root, skip).frame


def training_data(
    policy: Policy,
    root: Path,
    skip: dict[str, set[str]] | None = None,
    judged: dict[str, set[str]] | None = None,
) -> TrainingData:
    """`load_training_data`, telling which rows come from the current batches checks `judged`."""
    import numpy as np
    import pandas as pd

    skip = skip or {}
    columns = required_columns(policy)
    if policy.training.source is not None:
        frame = read_source(policy.training.source, columns, root)
        return TrainingData(frame, np.ones(len(frame), dtype=bool))
    frames = [read_source(policy.data.reference, columns, root)]
    unjudged = [np.ones(len(frames[0]), dtype=bool)]
    labels = policy.data.labels
    if labels is not None:
        rules = batch_rules(policy, LABELS, frames[0])
        try:
            label_rows, _ = read_judged(labels, [labels.join_on, policy.model.target], root,
                                        skip.get(LABELS, ()), rules)  # fmt: skip
        except NoFiles:  # no label has arrived yet: train on the reference alone
            label_rows = None
        if label_rows is not None and not label_rows.empty:
            seen = (judged or {}).get(CURRENT, set())
            features, checked = _every_current_row(policy, columns, root, skip, seen)
            frames.append(join_labels(features, label_rows, labels.join_on, policy.model.target))
            unjudged.append(~checked)
    frame = pd.concat(frames, ignore_index=True)
    labelled = frame[policy.model.target].notna().to_numpy()
    return TrainingData(frame[labelled].reset_index(drop=True), np.concatenate(unjudged)[labelled])


@dataclass(frozen=True)
class Validation:
    """What validating training data found: its problems, how many rows the suite read, and the
    verdict keys of the rows that passed (`verdict_key`: the same rows need no second run)."""

    problems: list[str]
    rows: int = 0
    passed: tuple[str, ...] = ()


def training_data_problems(
    policy: Policy, data: TrainingData, passed: Collection[str] = ()
) -> Validation:
    """Why these rows must not be trained on: bad columns or failed expectations.

    The expectations read only what no check judged (`_unjudged_parts`). A suite that runs
    great-expectations itself does not read rows again whose verdict key is in `passed`; the
    vectorized expectations (`fastexpect`) cost less than the key, and just run.
    """
    problems = check_columns(data.frame, policy, "reference")
    if problems or not policy.expectations:
        return Validation(problems)
    from retrain_core.base.outcome import Status
    from retrain_core.checks.fastexpect import vectorized
    from retrain_core.checks.validation import run_expectations, verdict_key

    rows, keys = 0, []
    for frame, suite in _unjudged_parts(policy, data):
        slow = not all(vectorized(name, kwargs) for name, kwargs in suite)
        key = verdict_key(frame, suite) if slow else ""
        if key and key in passed:
            continue
        rows += len(frame)
        failed = [o.reason for o in run_expectations(frame, suite) if o.status is not Status.PASS]
        problems += failed
        if key and not failed:
            keys.append(key)
    return Validation(problems, rows, tuple(keys))


def _unjudged_parts(
    policy: Policy, data: TrainingData
) -> list[tuple[pd.DataFrame, list[tuple[str, dict[str, Any]]]]]:
    """Each part of the suite with the rows it has not judged yet.

    A check judges a current batch's own columns: its verdict stands for the rows of that batch,
    but not for the labels joined to them later, which no check validated (the expectations that
    read the target of a policy with a label source read every row).
    """
    from retrain_core.checks.validation import columns_read

    if data.unjudged.all():  # nothing judged: every expectation reads every row, in one run
        return [(data.frame, policy.expectations)] if len(data.frame) else []
    target, later = policy.model.target, policy.data.labels is not None
    every_row = [e for e in policy.expectations if later and target in (columns_read([e]) or ())]
    by_batch = [e for e in policy.expectations if e not in every_row]
    unjudged = data.frame[data.unjudged].reset_index(drop=True)
    parts = [(unjudged, by_batch), (data.frame, every_row)]
    return [(frame, suite) for frame, suite in parts if suite and len(frame)]
