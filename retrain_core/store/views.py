"""A read-only view of the ledger for `retrain status`, without importing MLflow (~2 s saved).

`retrain status` must answer in about a second for a fleet: it reads what the monitor and the
training flow wrote (checks, the champion alias and its promotion time, pending approvals,
quarantined batches) straight from the store. `view_for` chooses the reader by the URI's scheme:
MLflow's SQLite file (the embedded default; opened read-only) is read with SQL, an MLflow
tracking server through its REST API, and any other store with MLflow's client (`ClientView`,
which imports MLflow). The tag names are `retrain_core.store.tags`, the writers' own;
`tests/integration/test_store_views.py` checks that every view gives the same answers.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from retrain_core.store.tags import (
    APPROVAL,
    CHECKED_AT,
    DECISION,
    EPOCH,
    KIND,
    MONITOR,
    PENDING,
    Q_STATUS,
    QUARANTINE,
    QUARANTINED,
    REASONS,
    STAGE,
    STAGE_EVIDENCE,
    STAGE_ROWS,
    approval_deadline,
    parse_time,
    serving_since,
)
from retrain_core.store.tracking import sqlite_path

MAX_QUARANTINE = 10_000


@dataclass(frozen=True)
class Check:
    """One finished monitor run: when it judged, its verdict and its reasons."""

    checked_at: datetime
    verdict: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PolicyState:
    """What `retrain status` shows of one policy."""

    checks: list[Check]  # newest first
    champion: str | None
    serving_since: datetime | None
    pending: list[tuple[str, datetime]]  # versions waiting for approval, with their deadlines
    quarantined: int
    staged: Staged | None = None  # the challenger in a rollout stage


@dataclass(frozen=True)
class Staged:
    """The challenger in a rollout stage: version, stage, rows seen, the running comparison."""

    version: str
    stage: str
    rows: int
    comparison: str


STAGE_ALIASES = ("canary", "challenger")  # `decide.stages.STAGE_ALIASES`, the later stage first


def _staged(version: str | None, tags: dict[str, str]) -> Staged | None:
    if version is None or not tags.get(STAGE):
        return None
    rows = int(tags.get(STAGE_ROWS, "0") or 0)
    return Staged(version, tags[STAGE], rows, tags.get(STAGE_EVIDENCE, ""))


class View(Protocol):
    """What `retrain status` reads of one policy from one store."""

    def state(self, name: str, alias: str, limit: int = 200) -> PolicyState:
        """The policy's checks (newest `limit`), champion, pending approvals and quarantine."""
        ...


def view_for(uri: str) -> View:
    """The reader for this tracking URI: SQL for SQLite, REST for a server, else MLflow's client."""
    path = sqlite_path(uri)
    if path is not None:
        return SqliteView(path)
    if uri.startswith(("http://", "https://")):
        return RestView(uri.rstrip("/"))
    return ClientView(uri)


def _check(tags: dict[str, str]) -> Check:
    reasons = tuple(filter(None, tags.get(REASONS, "").split("\n")))
    return Check(parse_time(tags.get(CHECKED_AT) or EPOCH), tags.get(DECISION, "?"), reasons)


def _pending(found: list[tuple[str, dict[str, str]]]) -> list[tuple[str, datetime]]:
    """The versions tagged pending with a readable deadline, and that deadline, oldest first."""
    waiting = []
    for version, tags in found:
        deadline = approval_deadline(tags)
        if tags.get(APPROVAL) == PENDING and deadline is not None:
            waiting.append((version, deadline))
    return sorted(waiting, key=lambda item: int(item[0]))


RunTags = Callable[[str, str, int], list[dict[str, str]]]


def _checks_and_held(run_tags: RunTags, name: str, limit: int) -> tuple[list[Check], int]:
    """The policy's checks, newest first, and how many of its batches are quarantined."""
    checks = sorted(
        (_check(t) for t in run_tags(name, MONITOR, limit)),
        key=lambda c: c.checked_at, reverse=True,
    )  # fmt: skip
    held = run_tags(name, QUARANTINE, MAX_QUARANTINE)
    return checks, sum(t.get(Q_STATUS) == QUARANTINED for t in held)


class SqliteView:
    """MLflow's SQLite store, opened read-only (a missing file is an empty ledger)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        try:
            db = sqlite3.connect(f"file:{urllib.parse.quote(self.path)}?mode=ro", uri=True)
        except sqlite3.OperationalError:  # no store yet
            return []
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # no tables yet
            return []
        finally:
            db.close()

    def _run_tags(self, name: str, kind: str, limit: int) -> list[dict[str, str]]:
        """Tags of the newest finished runs of one kind in the policy's experiment."""
        runs = self._rows(
            "SELECT r.run_uuid FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id"
            " JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = ? AND k.value = ?"
            " WHERE e.name = ? AND r.status = 'FINISHED' AND r.lifecycle_stage = 'active'"
            " ORDER BY r.start_time DESC LIMIT ?",
            KIND, kind, name, limit,
        )  # fmt: skip
        ids = [run for (run,) in runs]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        tags: dict[str, dict[str, str]] = {run: {} for run in ids}
        for key, value, run in self._rows(
            f"SELECT key, value, run_uuid FROM tags WHERE run_uuid IN ({marks})", *ids
        ):
            tags[run][key] = value
        return [tags[run] for run in ids]

    def _version_tags(self, name: str, version: str) -> dict[str, str]:
        rows = self._rows(
            "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
            name, int(version),
        )  # fmt: skip
        return dict(rows)

    def state(self, name: str, alias: str, limit: int = 200) -> PolicyState:
        checks, held = _checks_and_held(self._run_tags, name, limit)
        found = self._rows(
            "SELECT a.version, v.creation_time FROM registered_model_aliases a JOIN model_versions"
            " v ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?",
            name, alias,
        )  # fmt: skip
        champion, since = None, None
        if found:
            version, created = found[0]
            champion = str(version)
            since = serving_since(self._version_tags(name, version), created)
        candidates = self._rows(
            "SELECT version FROM model_version_tags WHERE name = ? AND key = ? AND value = ?",
            name, APPROVAL, PENDING,
        )  # fmt: skip
        pending = _pending([(str(v), self._version_tags(name, v)) for (v,) in candidates])
        return PolicyState(checks, champion, since, pending, held, self._stage(name))

    def _stage(self, name: str) -> Staged | None:
        for alias in STAGE_ALIASES:
            found = self._rows(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                name, alias,
            )  # fmt: skip
            if found:
                version = str(found[0][0])
                return _staged(version, self._version_tags(name, version))
        return None


class RestView:
    """An MLflow tracking server, read through its REST API (JSON over HTTP)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base}/api/2.0/mlflow/{path}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as exc:
            if exc.code in (400, 404):  # no such experiment, model or alias
                return {}
            raise

    def _run_tags(self, name: str, kind: str, limit: int) -> list[dict[str, str]]:
        query = urllib.parse.urlencode({"experiment_name": name})
        experiment = self._call(f"experiments/get-by-name?{query}").get("experiment")
        if not experiment:
            return []
        body = {
            "experiment_ids": [experiment["experiment_id"]],
            "filter": f"tags.`{KIND}` = '{kind}' and attributes.status = 'FINISHED'",
            "order_by": ["attributes.start_time DESC"],
            "max_results": limit,
        }
        runs = self._call("runs/search", body).get("runs", [])
        return [{t["key"]: t.get("value", "") for t in r["data"].get("tags", [])} for r in runs]

    def state(self, name: str, alias: str, limit: int = 200) -> PolicyState:
        checks, held = _checks_and_held(self._run_tags, name, limit)
        query = urllib.parse.urlencode({"name": name, "alias": alias})
        version = self._call(f"registered-models/alias?{query}").get("model_version")
        champion, since = None, None
        if version:
            tags = {t["key"]: t.get("value", "") for t in version.get("tags", [])}
            champion = str(version["version"])
            since = serving_since(tags, int(version.get("creation_timestamp", 0)))
        quoted = name.replace("'", "\\'")
        search = urllib.parse.urlencode(
            {"filter": f"name = '{quoted}' and tags.`{APPROVAL}` = '{PENDING}'"}
        )
        found = self._call(f"model-versions/search?{search}").get("model_versions", [])
        pending = _pending(
            [(str(v["version"]), {t["key"]: t.get("value", "") for t in v.get("tags", [])})
             for v in found]
        )  # fmt: skip
        return PolicyState(checks, champion, since, pending, held, self._stage(name))

    def _stage(self, name: str) -> Staged | None:
        for alias in STAGE_ALIASES:
            query = urllib.parse.urlencode({"name": name, "alias": alias})
            version = self._call(f"registered-models/alias?{query}").get("model_version")
            if version:
                tags = {t["key"]: t.get("value", "") for t in version.get("tags", [])}
                return _staged(str(version["version"]), tags)
        return None


class ClientView:
    """Any other store, read with MLflow's client (`Store`; importing MLflow takes ~2 s)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def state(self, name: str, alias: str, limit: int = 200) -> PolicyState:
        from retrain_core.store import Store

        store = Store(self.uri)
        checks = [
            Check(c.checked_at, c.verdict, c.reasons) for c in store.ledger.checks(name, limit)
        ]
        champion = store.registry.champion(name, alias)
        since = serving_since(champion.tags, champion.creation_timestamp) if champion else None
        aliases = store.registry.aliases(name)
        held = next((aliases[a] for a in STAGE_ALIASES if a in aliases), None)
        tags = store.registry.version_tags(name, held) if held else {}
        return PolicyState(
            checks=checks,
            champion=str(champion.version) if champion else None,
            serving_since=since,
            pending=store.registry.pending_approvals(name),
            quarantined=len(store.ledger.quarantine(name, QUARANTINED)),
            staged=_staged(held, tags),
        )
