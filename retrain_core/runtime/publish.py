"""What a check shows in Prefect: its verdict as the run's state name and tags, its decision as
artifacts, and the fleet overview artifact (one row per policy) it updates.

Each uses Prefect's own mechanism: a flow returning `Completed(name=...)` names its final state;
`update_flow_run(tags=...)` tags the running flow run; markdown and table artifacts with stable
keys make one timeline per policy, and `retrain-fleet` one table for the fleet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from retrain_core.base.durations import format_duration
from retrain_core.decide.records import RetrainDecision
from retrain_core.decide.report import (
    artifact_key,
    check_rows,
    decision_markdown,
    headline,
    state_name,
)
from retrain_core.runtime.limits import slot
from retrain_core.store.overview import Row

if TYPE_CHECKING:
    from prefect.states import State

FLEET_KEY = "retrain-fleet"  # the Prefect artifact listing every policy
FLEET_LOCK = "retrain-fleet-artifact"  # one check at a time reads, changes and writes it
FLEET_WAIT_SECONDS = 60.0


def tag_run(tags: Iterable[str]) -> None:
    """Add `tags` to the running flow run's tags (kept: the ones it has); outside a flow run,
    nothing. Tags are a view: one that cannot be written is logged, never a failed check."""
    from uuid import UUID

    from prefect import get_client, get_run_logger
    from prefect.runtime import flow_run

    tags = list(tags)
    run_id = flow_run.id
    if not run_id:
        return
    had = _TAGS.get(run_id)
    if had is None:  # the tags it started with (its deployment's), as the engine read them
        had = list(flow_run.tags)
    merged = list(dict.fromkeys([*had, *tags]))
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(run_id), tags=merged)
        _TAGS[run_id] = merged
    except Exception as exc:
        get_run_logger().warning("the run was not tagged %s: %s", ", ".join(tags), exc)


_TAGS: dict[str, list[str]] = {}  # flow run id -> the tags this process gave it


def verdict_state(summary: dict[str, Any]) -> State[Any]:
    """The check's final state: Completed, named by its verdict (Held, Retrained, Blocked,
    Pending, Suppressed), its reasons as the message (and what a staged challenger did), the
    summary as its result."""
    from prefect.states import Completed

    message = "; ".join(summary["reasons"])
    if summary.get("stage"):
        message += f" -> staged challenger: {summary['stage']}"
    training = summary.get("training")
    if training:
        version = f" v{training['version']}" if training.get("version") else ""
        message += f" -> training {training.get('status')}{version}"
    from prefect.runtime import flow_run

    if flow_run.id:  # this process's copy, for `summary_of` (bounded: the newest 64 checks)
        _SUMMARIES[str(flow_run.id)] = summary
        while len(_SUMMARIES) > 64:
            _SUMMARIES.pop(next(iter(_SUMMARIES)))
    return Completed(name=state_name(summary["verdict"]), message=message, data=summary)


_SUMMARIES: dict[str, dict[str, Any]] = {}


def summary_of(state: State[Any]) -> dict[str, Any]:
    """A completed check's summary, from its final state or, when that state came back from
    the API without its data, from this process's copy. (When the API rejects a proposed state,
    Prefect's engine keeps the API's copy, which has no result without result persistence: seen
    once, on a completed check under load; likely a resent final transition.)"""
    from prefect.exceptions import MissingResult

    try:
        return cast(dict[str, Any], state.result())
    except MissingResult:
        kept = _SUMMARIES.get(str(state.state_details.flow_run_id))
        if kept is None:
            raise
        return kept


def publish_decision(
    name: str, decision: RetrainDecision, rows: int, links: Mapping[str, str]
) -> None:
    """The decision as a markdown artifact (verdict, reasons, checks, links) and its checks as a
    table artifact, each under the policy's own key."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    about = f"retrain decision for {name}: {decision.verdict}"
    markdown = decision_markdown(name, decision, rows, links)
    create_markdown_artifact(markdown=markdown, key=artifact_key(name), description=about)
    table = check_rows(decision.outcomes) or [{"check": "-", "reason": headline(decision)}]
    create_table_artifact(table=table, key=artifact_key(name, "checks"), description=about)


def fleet_row(row: Row) -> dict[str, str]:
    """A policy's row of the fleet artifact, in people's units."""
    age = row.champion_age_s
    return {
        "policy": row.policy,
        "champion": row.champion or "-",
        "age": "-" if age is None else format_duration(timedelta(seconds=age)),
        "last check": f"{row.last_check:%Y-%m-%d %H:%M}" if row.last_check else "never",
        "last verdict": row.verdict or "-",
        "next action": row.next_action,
        "quarantined": str(row.quarantined),
    }


def never_checked(name: str) -> dict[str, str]:
    """The fleet row of a policy of the project that no check has run for yet."""
    empty = dict.fromkeys(("champion", "age", "last verdict"), "-")
    return {
        "policy": name, **empty, "last check": "never",
        "next action": "its first check trains the first model", "quarantined": "0",
    }  # fmt: skip


def update_fleet(row: Row, others: Iterable[str] = ()) -> None:
    """Replace the policy's row of the fleet artifact (`retrain-fleet`), keeping the others;
    `others`, the project's other policies, get a row saying they were never checked.

    One check at a time reads and writes it (a Prefect concurrency limit); an artifact that
    cannot be updated is logged, never a failed check.
    """
    from prefect import get_client
    from prefect.artifacts import create_table_artifact
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    try:
        with slot(FLEET_LOCK, FLEET_WAIT_SECONDS, "waiting to update the fleet artifact", 1):
            with get_client(sync_client=True) as client:
                found = client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[FLEET_KEY])),
                    sort=ArtifactSort.CREATED_DESC, limit=1,
                )  # fmt: skip
            rows = {r["policy"]: r for r in _rows(found[0].data if found else None)}
            rows[row.policy] = fleet_row(row)
            for name in others:
                rows.setdefault(name, never_checked(name))
            create_table_artifact(
                table=[rows[name] for name in sorted(rows)], key=FLEET_KEY,
                description=f"retrain fleet: {len(rows)} policies, each as of its last check",
            )  # fmt: skip
    except Exception as exc:  # the overview is a view: the check stands without it
        from prefect import get_run_logger

        get_run_logger().warning("the fleet artifact %s was not updated: %s", FLEET_KEY, exc)


def _rows(data: Any) -> list[dict[str, str]]:
    """The rows of a stored table artifact (its data is the table as JSON), or none."""
    try:
        table = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        return []
    if not isinstance(table, list):
        return []
    return [r for r in table if isinstance(r, dict) and isinstance(r.get("policy"), str)]
