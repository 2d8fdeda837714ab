"""A wide window of a SQL source judged from its profile, computed where its rows are.

With `data.current.profiles: auto` (the default), a `sql` current source with a window of `all`
or `last: 30d` is loaded as since_last_check loads (`monitor.windows`: only the rows stamped
after the stored watermark, which the checks that need rows and the expectations that need rows
judge). `profile_sql_window` then gives the checks the whole window as one profile
(`Windows.current_profile`) from `checks.sql_profile.sql_window_profile`: PostgreSQL counts it
(the window's rows never leave the database), SQLite streams it in bounded chunks. Drift, volume,
freshness and the expectations a profile answers judge that profile.

A window of at most `EXACT_MAX_ROWS` rows with a reference as small is read as rows instead, as
the file path does (`monitor.profiled`): drift tests such windows exactly, so verdicts do not
change with the setting. The profile gives the window's row count (a few hundred rows of
aggregates on PostgreSQL), so the window is read only when it is that small.

The watermark stays the one of the rows read (`settle` stores it as for any SQL window: the
newest stamp not in the future); nothing is stored per batch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from retrain_core.data import check_columns, load_window, required_columns
from retrain_core.data.errors import BadData
from retrain_core.data.problems import batch_rules
from retrain_core.monitor.current_rows import CURRENT
from retrain_core.monitor.windows import Counts, Loaded
from retrain_core.policy.schema import Policy


def profile_sql_window(policy: Policy, root: Path, data: Loaded, now: datetime) -> Loaded:
    """The SQL current window as its profile (`Windows.current_profile`), the rows since the last
    check kept for the row checks; `counts` says how many rows were read here and whether the
    database counted. Unchanged without a plan or when the checks stop at the data's problems."""
    from retrain_core.checks.binned import EXACT_MAX_ROWS
    from retrain_core.checks.sql_profile import sql_window_profile

    plan, w = data.plan, data.windows
    if plan is None or w.problems:
        return data
    if w.profile is None:  # no reference to bin against (an empty reference): rows, as before
        return _as_rows(policy, root, data, now)
    features, stamp = policy.model.features, policy.data.timestamp
    try:
        found = sql_window_profile(
            policy.data.current, root, w.profile, features.numeric, features.categorical,
            timestamp=stamp, window=plan.window, watermark=plan.previous, now=now,
            future_tolerance=policy.data.future_tolerance,
        )  # fmt: skip
    except BadData as exc:
        return _unmoved(data, str(exc))
    read = len(data.loaded[CURRENT].frame)
    counts = Counts(rows_read=read, pushed_down=found.pushed_down)
    if max(found.rows, len(w.reference)) <= EXACT_MAX_ROWS:
        small = _as_rows(policy, root, data, now)
        return replace(small, counts=replace(counts, rows_read=read + small.windows.rows))
    if found.rows == 0:  # as a window of rows that holds none
        empty = check_columns(data.loaded[CURRENT].frame.iloc[:0], policy, "current")
        return replace(data, windows=replace(w, problems=tuple(("current", p) for p in empty)))
    windows = replace(w, current_profile=found.profile, newest=found.newest or w.newest)
    return replace(data, windows=windows, counts=counts)


def _as_rows(policy: Policy, root: Path, data: Loaded, now: datetime) -> Loaded:
    """The whole window read as rows (the policy's window, the query gets the earliest time):
    for a window small enough for drift's exact tests, or with no reference profile."""
    plan, w = data.plan, data.windows
    assert plan is not None
    rules = batch_rules(policy, CURRENT, w.reference if len(w.reference) else None, now=now)
    try:
        whole = load_window(
            policy.data.current, required_columns(policy), root, policy.data.timestamp,
            plan.previous, rules=rules, window=plan.window,
        )  # fmt: skip
    except BadData as exc:
        return _unmoved(data, str(exc))
    problems = tuple(("current", p) for p in check_columns(whole.frame, policy, "current"))
    windows = replace(w, current=whole.frame, newest=whole.newest, problems=problems)
    return replace(data, windows=windows)


def _unmoved(data: Loaded, problem: str) -> Loaded:
    """A window that could not be judged: its problem blocks the check and the current watermark
    stays the previous one (its rows are read again by the next check)."""
    plan = data.plan
    assert plan is not None
    marks = {role: mark for role, mark in data.watermarks.items() if role != CURRENT}
    if plan.previous is not None:
        marks[CURRENT] = plan.previous.to_json()
    current = replace(data.loaded[CURRENT], watermark=plan.previous)
    windows = replace(data.windows, problems=(("current", problem),))
    return replace(
        data, windows=windows, watermarks=marks, loaded={**data.loaded, CURRENT: current}
    )
