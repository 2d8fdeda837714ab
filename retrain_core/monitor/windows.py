"""The windows one check judges: the reference, the current rows after the watermark, new labels.

`load_windows` reads the policy's sources (reference, the current window after the watermark,
the labels that arrived since the last check joined to their features), judging each batch file
on its own and setting aside (quarantining) the ones that cannot be judged. Once the decision is
known, `retrain_core.monitor.settle.settle` says which batches were judged and which are
quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrain_core.base.durations import format_duration
from retrain_core.data import (
    BadData,
    NoFiles,
    Watermark,
    check_columns,
    join_labels,
    load_reference,
    load_window,
    required_columns,
)
from retrain_core.data.batches import Quarantined
from retrain_core.data.columns import POLICY_PROBLEM, column_mismatches
from retrain_core.data.problems import batch_rules
from retrain_core.data.readers import describe
from retrain_core.data.windows import LoadedWindow
from retrain_core.kinds.context import Windows
from retrain_core.monitor.current_rows import CURRENT, LABELS, every_current_row
from retrain_core.policy.finding import Finding
from retrain_core.policy.schema import Policy
from retrain_core.policy.sources import Source, Window

if TYPE_CHECKING:
    import pandas as pd


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
FUTURE = "future"  # the finding of rows stamped in the future, left out of a window of rows
REWRITTEN = "rewritten"  # the finding of a batch judged again: its bytes changed since
Locate = Callable[[list[Finding]], list[str]]


def load_windows(
    policy: Policy,
    root: Path,
    watermarks: dict[str, str],
    previous_rows: int | None = None,
    skip: dict[str, set[str]] | None = None,
    earlier: Earlier | None = None,
    locate: Locate | None = None,
    now: datetime | None = None,
) -> Loaded:
    """Read the reference, the new current rows and the newly labelled rows of a policy.

    Batches in `skip` (quarantined) are not read; a batch that cannot be judged is set aside and
    named in the problems, and bad data anywhere becomes a problem (a blocked decision). First,
    a column the policy names that none of its data holds is the policy's mistake: the only
    problem, at the policy's line (`locate` turns findings into `file:line key: message`), and
    no batch is read, judged or set aside. Given the check's `now`, a batch holding rows stamped
    after it (plus `data.future_tolerance`) is set aside, and a source of rows leaves them out.
    """
    skip = skip or {}
    columns = required_columns(policy)
    mismatches = column_mismatches(policy, root, skip)
    if mismatches:
        return _policy_mismatch(policy, root, columns, watermarks, mismatches, locate)
    problems: list[tuple[str, str]] = []
    reference = _reference(policy, root, columns, problems)
    known = reference.frame if len(reference.frame) else None
    current = _current(policy, root, columns, watermarks, skip, known, earlier, problems, now)
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
        findings=tuple(_findings(policy, current)),
    )
    marks = {role: mark for role, mark in marks.items() if mark}
    return Loaded(windows, marks, f"{current.window}: {current.source}", quarantined, loaded)


def _findings(policy: Policy, current: LoadedWindow) -> list[tuple[str, str]]:
    """What loading the current window left out or judged again, for the decision's reasons."""
    found = []
    if current.future:
        found.append((FUTURE, (
            f"{current.future} row(s) stamped later than the check's time plus "
            f"data.future_tolerance ({format_duration(policy.data.future_tolerance)}) are left "
            "out of the window until their time comes"
        )))  # fmt: skip
    found += [
        (REWRITTEN, f"{batch.path} was rewritten after a check judged it: judged again")
        for batch in current.batches
        if batch.rewritten
    ]
    return found


def _policy_mismatch(
    policy: Policy,
    root: Path,
    columns: list[str],
    watermarks: dict[str, str],
    mismatches: list[Finding],
    locate: Locate | None,
) -> Loaded:
    """Nothing new is read: the windows are empty, the watermarks stay, the problem is the
    policy's, at its line."""
    shown = locate(mismatches) if locate else [_unlocated(f) for f in mismatches]
    problems = tuple((POLICY_PROBLEM, f"the policy names a column its data lacks: {text}")
                     for text in shown)  # fmt: skip
    try:
        reference = load_reference(policy.data.reference, columns, root, policy.data.timestamp)
    except BadData:
        reference = _empty(policy.data.reference, columns, "all")
    current = _empty(policy.data.current, columns, "not read")
    windows = Windows(reference=reference.frame, current=current.frame, problems=problems)
    marks = {role: mark for role, mark in watermarks.items() if mark}
    return Loaded(windows, marks, f"not read: {current.source}")


def _unlocated(finding: Finding) -> str:
    return f"{'.'.join(map(str, finding.path))}: {finding.message}"


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
    now: datetime | None = None,
) -> LoadedWindow:
    """The current window after the watermark; content that cannot form it is a problem."""
    rules = batch_rules(policy, CURRENT, known, earlier, now)
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
    features, _ = every_current_row(policy, [c for c in columns if c != target], root, skip)
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


def _watermark(text: str | None) -> Watermark | None:
    return Watermark.from_json(text) if text else None
