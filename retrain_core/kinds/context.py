"""What a trigger kind's evaluator reads: the loaded windows, the champion and the caller's clock.

The monitor (and the backtest) build these values; `decide.evaluate` hands one `Context` per rule
to the rule's kind. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from retrain_core.checks.batch_profile import BatchProfile
    from retrain_core.checks.profile import ReferenceProfile
    from retrain_core.policy.schema import Policy


@dataclass(frozen=True)
class Champion:
    """The model serving now: its registry version, age, holdout metrics and loaded pipeline."""

    version: str
    created_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    model: Any = None
    trained_until: datetime | None = None  # its newest training row: later rows are unseen
    holdout_rows: int = 0  # how many rows its holdout metrics were measured on
    run_id: str | None = None  # its training run (holds its reference sample)


@dataclass(frozen=True)
class Windows:
    """The frames one check looks at.

    `current` holds the new rows (features); `labelled` the rows whose labels arrived since the
    last check, joined with their features; `live` the earlier labelled rows the champion served
    and was not trained on, oldest first (its live baseline); `new_data` is False when a
    since-last-check window found nothing new; `problems` are bad-data findings from loading
    (they block); `findings` are facts about the loading that do not (rows left out until their
    time comes, a batch judged again because it was rewritten).
    `reference` is what drift compares with: the champion's training sample or the fixed file;
    `profile` is the reference's stored profile (`checks.profile`), when there is one.
    `swings` are the stream's usual swing between checks by performance rule, from earlier
    champions (`decide.swings`): the yardstick for a champion too new to have its own.

    `current_profile`, when set, is the whole current window as one merged batch profile
    (`checks.batch_profile`, counted over `profile`): a wide window of a file glob is judged from
    its batches' stored profiles (`monitor.profiled`), and a SQL window from its profile computed
    in the database (`monitor.sql_window`). Then `current` holds only the rows that
    arrived since the last check (what the checks that need rows read) and drift, volume,
    freshness and the expectations a profile answers judge the profile: read the window's size
    as `rows`, never `len(current)`.
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    labelled: pd.DataFrame | None = None
    newest: datetime | None = None
    previous_rows: int | None = None
    new_data: bool = True
    problems: tuple[tuple[str, str], ...] = ()
    findings: tuple[tuple[str, str], ...] = ()
    profile: ReferenceProfile | None = None
    live: pd.DataFrame | None = None
    swings: dict[str, tuple[float, ...]] = field(default_factory=dict)
    current_profile: BatchProfile | None = None

    @property
    def rows(self) -> int:
        """The current window's row count (its profile's when it is judged from one)."""
        if self.current_profile is not None:
            return self.current_profile.rows
        return len(self.current)


@dataclass(frozen=True)
class Context:
    """What an evaluator may read: the policy, the loaded windows, the champion, the caller's
    clock, and `rule_id`, the name its governing outcome must carry."""

    policy: Policy
    windows: Windows
    champion: Champion | None
    now: datetime
    rule_id: str
