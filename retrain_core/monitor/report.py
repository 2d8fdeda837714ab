"""The policy's report after a check: read the ledger, build the page, keep it on the check's run.

The monitor writes it once the check (and its training, if any) is done, so the page shows what
the retrain came to. It reads the newest `CHECKS` checks: the page of a few hundred builds in
milliseconds; reading them takes a search and one small file per check (see `store.history`).
"""

from __future__ import annotations

from datetime import datetime

from retrain_core.report.page import build_report
from retrain_core.store import Store

CHECKS = 500  # the newest checks a report shows (as many as `decide()` reads)


def write_report(store: Store, name: str, run_id: str, now: datetime | None = None) -> str:
    """Build the report of `name` as of its ledger now and log it on the run `run_id`; returns
    where a person opens it."""
    page = build_report(store.history.read(name, CHECKS), generated=now)
    store.history.log_report(run_id, page)
    return store.history.report_url(run_id)
