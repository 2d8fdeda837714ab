"""The ledger over time, for the report: every check with its signals, the versions, the quarantine.

`History.read(name)` reads in a few queries: the finished monitor runs (tags and metrics in one
search), each check's `decision.json` (its outcomes with status, threshold and reason: straight
from disk for a local artifact store, else downloaded a few at a time), the registered versions,
the rollback events and the quarantine runs; it returns `report.history.PolicyHistory`, which
`report.page` draws. `log_report` keeps the page as the check run's artifact `report.html`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import retrain_core.store.quarantine as quarantine
from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.report.history import CheckPoint, HeldBatch, PolicyHistory, VersionEvent
from retrain_core.store.artifact_cache import artifact
from retrain_core.store.backend import Part, local_dir, quoted
from retrain_core.store.tags import (
    CHECKED_AT,
    DECIDED_AT,
    DECISION,
    DECISION_REASONS,
    EPOCH,
    FIRED,
    FROM_VERSION,
    GATE_REASONS,
    KIND,
    MONITOR,
    OUTCOMES,
    PROMOTED_AT,
    REASONS,
    ROLLBACK,
    TO_VERSION,
    TRAINING,
    optional_time,
    parse_time,
)

REPORT = "report.html"  # a check run's report (`History.log_report`)
READERS = 8  # downloads at once from a remote artifact store


class History(Part):
    """What the report reads of one policy, and where it keeps the page."""

    def read(self, name: str, limit: int = 500) -> PolicyHistory:
        """The newest `limit` checks of the policy (oldest first), its versions and quarantine."""
        experiment_id = self.store.existing_experiment(name)
        if experiment_id is None:
            return PolicyHistory(name, ())
        runs = self._finished(experiment_id, MONITOR, limit)
        texts = self._outcomes([run.info for run in runs])
        checks = tuple(sorted((_check(r, t) for r, t in zip(runs, texts, strict=True)),
                              key=lambda c: c.checked_at))  # fmt: skip
        notes = (f"Only the newest {limit} checks are shown.",) if len(runs) >= limit else ()
        held = tuple(
            HeldBatch(optional_time(r.found_at) or parse_time(EPOCH), r.key, r.reason, r.status)
            for r in quarantine.records(self.client, experiment_id)
        )
        versions = (*self._versions(name), *self._rollbacks(experiment_id, limit))
        return PolicyHistory(name, checks, versions, held, notes)

    def log_report(self, run_id: str, page: str) -> None:
        """Keep the report as the artifact `report.html` of the check's run."""
        self.client.log_text(run_id, page, REPORT)

    def report_url(self, run_id: str) -> str:
        """Where a person opens a check run's report: the MLflow UI's artifact view of a server,
        else the file's own URI (a local artifact store)."""
        from retrain_core.store.tracking import run_page

        run = self.client.get_run(run_id)
        uri = self.store.tracking_uri
        if uri.startswith(("http://", "https://")):  # the run's page (no password in it)
            return f"{run_page(uri, run.info.experiment_id, run_id)}/artifactPath/{REPORT}"
        return f"{run.info.artifact_uri.rstrip('/')}/{REPORT}"

    def _finished(self, experiment_id: str, kind: str, limit: int) -> list[Any]:
        return list(
            self.client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{KIND}` = '{kind}' and attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=limit,
            )
        )

    def _outcomes(self, infos: list[Any]) -> list[str | None]:
        """Each run's `decision.json` (None where it cannot be read)."""
        local = [local_dir(info.artifact_uri) for info in infos]
        if all(folder is not None for folder in local):
            return [_read(folder / OUTCOMES) for folder in local if folder is not None]
        with ThreadPoolExecutor(READERS) as pool:
            return list(pool.map(self._download, [info.run_id for info in infos]))

    def _download(self, run_id: str) -> str | None:
        def download(folder: Path) -> str:
            return str(self.client.download_artifacts(run_id, OUTCOMES, str(folder)))

        try:  # a finished run's decision: kept on this machine once read (artifact_cache)
            with artifact(self.store.tracking_uri, (run_id, OUTCOMES), download) as path:
                return _read(path)
        except Exception:  # an older run, or an artifact store that lost it: metrics only
            return None

    def _versions(self, name: str) -> list[VersionEvent]:
        """Each version's promotion and rejection, with the gate's reasons."""
        found = self.client.search_model_versions(f"name = '{quoted(name)}'")
        events = []
        for version in found:
            tags = version.tags
            why = tags.get(DECISION_REASONS) or tags.get(GATE_REASONS, "")
            if promoted := optional_time(tags.get(PROMOTED_AT, "")):
                events.append(VersionEvent(promoted, str(version.version), "promoted", why))
            decided = optional_time(tags.get(DECIDED_AT, ""))
            if tags.get(DECISION) == "rejected" and decided is not None:
                events.append(VersionEvent(decided, str(version.version), "rejected", why))
        return events

    def _rollbacks(self, experiment_id: str, limit: int) -> list[VersionEvent]:
        """Each rollback of the champion alias, to the version it restored."""
        events = []
        for run in self._finished(experiment_id, ROLLBACK, limit):
            tags = run.data.tags
            at = optional_time(tags.get(CHECKED_AT, ""))
            at = at or datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC)
            why = tags.get(REASONS, "").replace("\n", "; ") or "by hand"
            why = f"from v{tags.get(FROM_VERSION) or '?'}: {why}"
            events.append(VersionEvent(at, tags.get(TO_VERSION, "?"), "rolled back", why))
        return events


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _check(run: Any, outcomes: str | None) -> CheckPoint:
    tags, metrics = run.data.tags, run.data.metrics
    rows = metrics.get("rows")
    return CheckPoint(
        checked_at=parse_time(tags.get(CHECKED_AT) or EPOCH),
        verdict=tags.get(DECISION, "?"),
        reasons=tuple(filter(None, tags.get(REASONS, "").split("\n"))),
        rows=int(rows) if rows is not None else None,
        training=tags.get(TRAINING, ""),
        signals=_signals(outcomes, metrics, tags.get(FIRED, "")),
        run_id=run.info.run_id,
    )


def _signals(text: str | None, metrics: dict[str, float], fired: str) -> tuple[CheckOutcome, ...]:
    """The check's outcomes from its `decision.json`; without it, its metrics (no thresholds)."""
    try:
        found = json.loads(text) if text else None
        return tuple(
            CheckOutcome(
                o["check"],
                Status(o["status"]),
                o.get("reason", ""),
                o.get("observed"),
                o.get("threshold"),
            )
            for o in found or ()
        ) or _from_metrics(metrics, fired)
    except (ValueError, KeyError, TypeError):
        return _from_metrics(metrics, fired)


def _from_metrics(metrics: dict[str, float], fired: str) -> tuple[CheckOutcome, ...]:
    failed = set(fired.split(","))
    return tuple(
        CheckOutcome(key, Status.FAIL if key in failed else Status.PASS, "", value)
        for key, value in sorted(metrics.items())
        if key not in ("rows", "decision.retrain")
    )
