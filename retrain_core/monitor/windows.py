"""The windows one check judges: the reference, the current rows after the watermark, new labels.

`load_windows` reads the policy's sources (reference, the current window after the watermark,
the labels that arrived since the last check joined to their features), judging each batch file
on its own and setting aside (quarantining) the ones that cannot be judged. Once the decision is
known, `retrain_core.monitor.settle.settle` says which batches were judged and which are
quarantined.

A wide window (`all`, `last: 30d`) of a glob of files with `data.current.profiles: auto` reads
only its new batches here, as since_last_check does (keeping at most ``NEW_ROWS_KEPT`` of their
rows in memory), and says in `Loaded.plan` which batches judged before it holds:
`retrain_core.monitor.profiled` judges the window from their stored profiles. A wide window of a
SQL source with a timestamp reads only its rows after the watermark too; its plan is
`in_database` and `retrain_core.monitor.sql_window` has the database profile the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from retrain_core.data.files import has_wildcard
from retrain_core.data.prints import SEP
from retrain_core.data.problems import batch_rules
from retrain_core.data.readers import describe
from retrain_core.data.windows import LoadedWindow, describe_window
from retrain_core.kinds.context import Windows
from retrain_core.monitor.current_rows import CURRENT, LABELS, every_current_row
from retrain_core.policy.finding import Finding
from retrain_core.policy.schema import Policy
from retrain_core.policy.sources import Source, Window

if TYPE_CHECKING:
    import pandas as pd


NEW_ROWS_KEPT = 1_000_000  # rows of new batches a profiled window keeps for the row checks


@dataclass(frozen=True)
class ProfilePlan:
    """A wide window of a file glob judged from its batches' profiles: which batches judged by
    earlier checks it holds (`old`, watermark keys, not read now), each listed batch's content
    digest (`digests`, from the watermark's fingerprints: a profile's content key), and the
    window (`all` or `last`) to cut the merged profile to. A SQL window is profiled in the
    database instead (`in_database`, `monitor.sql_window`) from the `previous` watermark."""

    window: Window
    old: tuple[str, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)
    in_database: bool = False
    previous: Watermark | None = None


@dataclass(frozen=True)
class Counts:
    """How a profiled window was judged: its batches, those read and profiled this check
    (`profiled`: new ones, ones binned again against a new reference, one a `last` window cuts
    through) and those whose stored profile was loaded instead of their rows (`loaded`). A SQL
    window has no batches: the rows read into this process (`rows_read`) and whether the
    database counted the window (`pushed_down`)."""

    batches: int = 0
    profiled: int = 0
    loaded: int = 0
    rows_read: int | None = None
    pushed_down: bool | None = None

    def as_dict(self) -> dict[str, int]:
        """For the check's summary and its ledger run's metrics."""
        if self.rows_read is not None:  # a SQL window (`monitor.sql_window`)
            return {"rows_read": self.rows_read, "pushed_down": bool(self.pushed_down)}
        return {"batches": self.batches, "profiled": self.profiled, "loaded": self.loaded}


@dataclass(frozen=True)
class Loaded:
    """Windows ready to judge, the watermarks to store once judged, and how to describe them.

    `quarantined` are the batches set aside while loading; `loaded` the current and label
    windows by role, so `settle` can tell, once the decision is known, which batches it judged.
    `plan` is set when the current window is judged from batch profiles (`monitor.profiled`),
    which fills `counts` and, until the check settles, `built` (the profiles made this check, by
    batch key, stored for the batches the check judged).
    """

    windows: Windows
    watermarks: dict[str, str] = field(default_factory=dict)
    description: str = ""
    quarantined: tuple[Quarantined, ...] = ()
    loaded: dict[str, LoadedWindow] = field(default_factory=dict)
    plan: ProfilePlan | None = None
    counts: Counts | None = None
    built: dict[str, Any] = field(default_factory=dict)


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
    profiled = profiled_window(policy)
    reference = _reference(policy, root, columns, problems, categories=profiled)
    known = reference.frame if len(reference.frame) else None
    current = _current(
        policy, root, columns, watermarks, skip, known, earlier, problems, now, profiled
    )
    plan = _plan(policy, current, skip.get(CURRENT, set()), watermarks) if profiled else None
    marks = {CURRENT: _mark_text(current.watermark, watermarks.get(CURRENT))}
    loaded = {CURRENT: current}
    # Nothing new is not bad data; every new batch set aside leaves no window to check.
    nothing_new = current.frame.empty and not current.files
    new_data = not (policy.data.current.window.since_last_check and nothing_new)
    # A profiled window's new rows are checked; its older batches were when they arrived.
    unread = not current.files and not (plan and plan.old)
    unread = unread and not (plan and plan.in_database and current.frame.empty)
    if new_data and (current.batches or unread):
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
    shown = describe_window(plan.window) if plan else current.window
    return Loaded(windows, marks, f"{shown}: {current.source}", quarantined, loaded, plan)


def profiled_window(policy: Policy) -> bool:
    """True when the current window is judged from its batches' profiles: `profiles: auto`, a
    glob of files (or a SQL source with data.timestamp: profiled in the database,
    `monitor.sql_window`), a window of `all` or `last`, and no drift test that needs rows (cvm)."""
    from retrain_core.kinds.drift import DriftTrigger

    source = policy.data.current
    window = source.window
    if source.profiles != "auto" or window.since_last_check or window.last_rows is not None:
        return False
    in_database = source.kind == "sql" and policy.data.timestamp is not None
    glob = source.source_kind.lists_files and has_wildcard(str(source.path))
    if not (glob or in_database):
        return False
    drift = [d for rule in policy.triggers.evaluated if (d := rule.get(DriftTrigger)) is not None]
    return all(d.method != "cvm" for d in drift)


def _plan(
    policy: Policy, current: LoadedWindow, skip: set[str], marks: dict[str, str]
) -> ProfilePlan | None:
    """The batches judged before that the window holds, and every batch's content digest; a
    SQL window's previous watermark."""
    if policy.data.current.kind == "sql":
        window = policy.data.current.window
        return ProfilePlan(window, in_database=True, previous=_watermark(marks.get(CURRENT)))
    if current.previous is None:  # the window could not be read: its problem says why
        return None
    read = set(current.files)
    old = tuple(
        m for m in current.present if m not in read and m not in skip and current.previous.seen(m)
    )
    digests = {m: text.rpartition(SEP)[2] for m, text in current.prints.items()}
    return ProfilePlan(policy.data.current.window, old, digests)


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
    policy: Policy,
    root: Path,
    columns: list[str],
    problems: list[tuple[str, str]],
    categories: bool = False,
) -> LoadedWindow:
    """The reference window; bad reference data is a problem with an empty window. A profiled
    window's checks read text as categoricals (`data.files.read_files`)."""
    stamp = policy.data.timestamp
    try:
        reference = load_reference(policy.data.reference, columns, root, stamp, categories)
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
    profiled: bool = False,
) -> LoadedWindow:
    """The current window after the watermark; content that cannot form it is a problem. A
    profiled window reads its new batches only, keeping at most ``NEW_ROWS_KEPT`` of their rows."""
    rules = replace(batch_rules(policy, CURRENT, known, earlier, now), categories=profiled)
    mark = _watermark(watermarks.get(CURRENT))
    source, stamp = policy.data.current, policy.data.timestamp
    window = Window(since_last_check=True) if profiled else None
    keep = NEW_ROWS_KEPT if profiled else None
    try:
        return load_window(
            source, columns, root, stamp, mark, skip.get(CURRENT, ()), rules, window, keep
        )
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
