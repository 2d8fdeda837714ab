"""The policy's trend run: every check's signals as one metric history, so MLflow draws lines.

A ledger run logs each signal once (one point per chart). The trend run (tag `retrain.kind` =
`trend`, one per policy's experiment, named `trend <policy>`) gets each check's numbers at
`step` = the check's index and `timestamp` = its `now`, so MLflow's chart view shows each signal
as a line over logical time (x axis: step, or time). Keys put the check family before a slash
(`drift.ks.tenure` -> `drift/ks.tenure`), which MLflow's chart view groups into one section per
family; the model metric's threshold goes beside it (`performance/accuracy.threshold`). The run
counts its checks in the tag `retrain.trend_steps`, written with the metrics in one batch. Made
on a policy's first check after an upgrade, it takes the ledger's earlier checks first.

`Trend.page` is the link to its picture: the MLflow UI's metric page drawing the model metric
(measured and estimated, each with its threshold) and the share of drifted features as lines
over the checks, in one chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from retrain_core.decide.records import RetrainDecision
from retrain_core.report.history import METRIC_FAMILIES, metric_series
from retrain_core.store.backend import Part
from retrain_core.store.codec import signal_metrics
from retrain_core.store.tags import (
    CHECKED_AT,
    EPOCH,
    KIND,
    MONITOR,
    RUN_NAME,
    TREND,
    TREND_STEPS,
    metric_name,
    ms,
    parse_time,
)

BATCH = 1000  # metrics per MlflowClient.log_batch call (MLflow's limit)
BACKFILL = 5000  # at most this many earlier checks taken from the ledger
DRIFT_SHARE = "drift.share"  # the drift rule's governing outcome: the share of drifted features
THRESHOLD = ".threshold"


def trend_key(check: str) -> str:
    """A signal's metric name in the trend run: its family, a slash, the rest."""
    return metric_name(check.replace(".", "/", 1))


def trend_values(decision: RetrainDecision, rows: int) -> dict[str, float]:
    """A check's numbers for the trend run: the ledger run's metrics, and the model metric's
    threshold (it moves with the champion's baseline)."""
    values = {trend_key(k): v for k, v in signal_metrics(decision, rows).items()}
    for outcome in decision.outcomes:
        limit = outcome.threshold
        if metric_series(outcome.check) and limit is not None and abs(limit) != float("inf"):
            values[f"{trend_key(outcome.check)}.threshold"] = float(limit)
    return {k: v for k, v in values.items() if v == v}


def chart_keys(keys: Iterable[str]) -> list[str]:
    """The trend keys drawn together on the metric page: each model metric (measured, then
    estimated) followed by its threshold, then the share of drifted features (all in 0..1 for
    a score; rows and per-feature statistics have their own charts in the run's tabs). A
    threshold whose metric was never measured (an estimate without labels yet) is left out."""
    families = {family: i for i, family in enumerate((*METRIC_FAMILIES, "drift"))}

    def check(key: str) -> str:
        return key.replace("/", ".", 1).removesuffix(THRESHOLD)

    def order(key: str) -> tuple[int, str, bool]:
        return families[key.split("/")[0]], check(key), key.endswith(THRESHOLD)

    present = set(keys)
    chosen = [
        k for k in present
        if (metric_series(check(k)) or check(k) == DRIFT_SHARE)
        and k.removesuffix(THRESHOLD) in present  # a threshold beside its metric only
    ]  # fmt: skip
    return sorted(chosen, key=order)


class Trend(Part):
    """The policy's trend run in its experiment."""

    def log(self, name: str, decision: RetrainDecision, rows: int) -> tuple[str, int]:
        """Log one check's numbers at the next step; returns the trend run's id and the step."""
        if decision.decided_at is None:
            raise ValueError("a decision is logged at the moment it was made (decided_at)")
        run = self.run(name, decision.decided_at)
        step = int(run.data.tags.get(TREND_STEPS) or 0)
        self._log(run.info.run_id, [(step, decision.decided_at, trend_values(decision, rows))])
        return str(run.info.run_id), step

    def page(self, name: str, ui: str | None = None) -> str | None:
        """Where people see the policy's signals drawn as lines: the MLflow UI's metric page of
        its trend run, on `ui` (default: the tracking server, or `mlflow ui --port 5000` for a
        local store); None before the policy's first check."""
        from retrain_core.store.tracking import metric_page, ui_address

        experiment_id = self.store.existing_experiment(name)
        if experiment_id is None:
            return None
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{KIND}` = '{TREND}'", max_results=1
        )
        if not found:
            return None
        run = found[0]
        ui = ui or ui_address(self.store.tracking_uri)
        return metric_page(ui, experiment_id, run.info.run_id, chart_keys(run.data.metrics))

    def run(self, name: str, now: datetime) -> Any:
        """The policy's trend run, made (with the ledger's checks before `now`) when missing."""
        experiment_id = self.store.experiment_id(name)
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{KIND}` = '{TREND}'", max_results=1
        )
        if found:
            return found[0]
        earlier = self._earlier(experiment_id, now)
        start = min([moment for _, moment, _ in earlier] + [now])
        tags = {KIND: TREND, RUN_NAME: f"trend {name}"}
        run = self.client.create_run(experiment_id, tags=tags, start_time=ms(start))
        self.client.set_terminated(run.info.run_id, "FINISHED", end_time=ms(start))
        self._log(run.info.run_id, earlier)
        return self.client.get_run(run.info.run_id)

    def _earlier(self, experiment_id: str, now: datetime) -> list[tuple[int, datetime, Any]]:
        """The ledger's finished checks before `now`, oldest first, as steps 0, 1, ..."""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{KIND}` = '{MONITOR}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=BACKFILL,
        )
        dated = sorted(
            ((parse_time(r.data.tags.get(CHECKED_AT) or EPOCH), r) for r in runs),
            key=lambda pair: pair[0],
        )
        before = [(moment, run) for moment, run in dated if moment < now]
        return [
            (i, moment, {trend_key(k): v for k, v in run.data.metrics.items()})
            for i, (moment, run) in enumerate(before)
        ]

    def _log(self, run_id: str, checks: Sequence[tuple[int, datetime, dict[str, float]]]) -> None:
        """Each check's values at its step and moment; the step count goes with the last batch."""
        from mlflow.entities import Metric, RunTag

        metrics = [
            Metric(key, value, ms(moment), step)
            for step, moment, values in checks
            for key, value in sorted(values.items())
        ]
        count = str(checks[-1][0] + 1) if checks else None
        for start in range(0, max(len(metrics), 1), BATCH):
            last = start + BATCH >= len(metrics)
            tags = [RunTag(TREND_STEPS, count)] if last and count is not None else []
            if metrics[start : start + BATCH] or tags:
                self.client.log_batch(run_id, metrics=metrics[start : start + BATCH], tags=tags)
