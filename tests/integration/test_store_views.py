"""The fast views of `retrain status` give MLflow's client's answers, on a real SQLite store.

`SqliteView` reads MLflow's tables with SQL; `ClientView` asks MLflow's client (the `Store`).
Both read one store written by the ledger and the registry: checks, a champion promoted at a
logical time, pending approvals (one past its deadline, one unreadable) and quarantined batches
(one released), and each answer is also compared with MLflow's client queried directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retrain_core.data.batches import Quarantined
from retrain_core.decide.records import RetrainDecision
from retrain_core.store import Store
from retrain_core.store.tags import APPROVAL, APPROVAL_DEADLINE, KIND, PENDING, Q_STATUS
from retrain_core.store.views import ClientView, RestView, SqliteView, view_for

NOW = datetime(2026, 1, 18, 9, 30, tzinfo=UTC)
NAME = "views"


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite store with a policy's checks, versions, approvals and quarantine."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    store = Store(uri)
    for day, verdict in enumerate(("retrain", "hold", "blocked")):
        decision = RetrainDecision(
            verdict == "retrain", (f"{verdict} on day {day}", "second reason"), (),
            suppressed_by="data-quality" if verdict == "blocked" else None,
            decided_at=NOW + timedelta(days=day),
        )  # fmt: skip
        held = [
            Quarantined("current", f"day-{day}-{i}.parquet", f"d/{day}-{i}", "bad") for i in (0, 1)
        ]
        store.ledger.record(NAME, decision, {}, 10, quarantined=held if day == 2 else ())
    store.ledger.release(NAME, "day-2-0.parquet", now=NOW)
    run = store.client.create_run(store.experiment_id(NAME))
    store.client.create_registered_model(NAME)
    for version in ("1", "2", "3", "4"):
        store.client.create_model_version(NAME, f"file:///nowhere/{version}", run.info.run_id)
    store.registry.promote(NAME, "1", now=NOW - timedelta(days=3))
    store.registry.promote(NAME, "2", now=NOW - timedelta(hours=5))
    store.registry.mark_approval_pending(NAME, "3", NOW + timedelta(hours=1))
    store.registry.mark_approval_pending(NAME, "4", NOW - timedelta(hours=1))
    store.client.set_model_version_tag(NAME, "1", APPROVAL, PENDING)  # no readable deadline
    yield uri


def test_the_view_is_chosen_by_the_uri_s_scheme() -> None:
    sqlite = view_for("sqlite:////tmp/x/mlflow.db")
    assert isinstance(sqlite, SqliteView) and sqlite.path == "/tmp/x/mlflow.db"
    assert isinstance(view_for("http://127.0.0.1:5000/"), RestView)
    assert isinstance(view_for("https://mlflow.example.com"), RestView)
    assert isinstance(view_for("postgresql://u:p@db/mlflow"), ClientView)


def test_sql_and_mlflow_s_client_give_the_same_state(uri: str) -> None:
    fast = view_for(uri).state(NAME, "champion")
    slow = ClientView(uri).state(NAME, "champion")
    assert fast == slow
    assert fast.champion == "2" and fast.serving_since == NOW - timedelta(hours=5)
    assert [c.verdict for c in fast.checks] == ["blocked", "hold", "retrain"]
    assert fast.checks[0].reasons == ("blocked on day 2", "second reason")


def test_pending_approvals_match_a_registry_search(uri: str) -> None:
    client = Store(uri).client
    found = client.search_model_versions(f"name = '{NAME}' and tags.`{APPROVAL}` = '{PENDING}'")
    readable = {
        (str(v.version), datetime.fromisoformat(v.tags[APPROVAL_DEADLINE]))
        for v in found
        if APPROVAL_DEADLINE in v.tags
    }
    assert len(found) == 3 and len(readable) == 2  # v1 has no deadline: it holds nothing
    assert set(view_for(uri).state(NAME, "champion").pending) == readable
    assert set(ClientView(uri).state(NAME, "champion").pending) == readable
    late, waiting = Store(uri).registry.approvals(NAME, NOW)
    assert (late, waiting) == (["1", "4"], ("3", NOW + timedelta(hours=1)))


def test_quarantine_counts_match_mlflow_s_runs(uri: str) -> None:
    store = Store(uri)
    runs = store.client.search_runs(
        [store.experiment_id(NAME)],
        f"tags.`{KIND}` = 'quarantine' and tags.`{Q_STATUS}` = 'quarantined'",
    )
    assert len(runs) == 1  # two set aside, one released
    assert view_for(uri).state(NAME, "champion").quarantined == len(runs)
    assert ClientView(uri).state(NAME, "champion").quarantined == len(runs)
    assert len(store.ledger.quarantine(NAME)) == 2


def test_checks_match_the_ledger(uri: str) -> None:
    checks = Store(uri).ledger.checks(NAME)
    found = view_for(uri).state(NAME, "champion", limit=2).checks
    assert [(c.checked_at, c.verdict, c.reasons) for c in checks[:2]] == [
        (c.checked_at, c.verdict, c.reasons) for c in found
    ]


def test_an_unknown_policy_reads_as_empty_everywhere(uri: str, tmp_path: Path) -> None:
    for view in (view_for(uri), ClientView(uri)):
        state = view.state("nobody", "champion")
        assert (state.checks, state.champion, state.pending, state.quarantined) == ([], None, [], 0)
    missing = view_for(f"sqlite:///{tmp_path}/none.db").state(NAME, "champion")
    assert (missing.checks, missing.champion) == ([], None)


def test_a_rollback_is_recorded_with_its_versions_and_why(uri: str) -> None:
    ledger = Store(uri).ledger
    by_hand = ledger.record_rollback("rolled", "2", "1", now=NOW)
    by_check = ledger.record_rollback(
        "rolled", "3", "2", now=NOW, trigger="probation", reasons=("worse", "significant")
    )
    hand = ledger.client.get_run(by_hand).data.tags
    check = ledger.client.get_run(by_check).data.tags
    assert (hand["retrain.kind"], hand["retrain.from_version"], hand["retrain.to_version"]) == (
        "rollback", "2", "1",
    )  # fmt: skip
    assert "retrain.trigger" not in hand and "retrain.reasons" not in hand
    assert (
        check["retrain.trigger"] == "probation" and check["retrain.reasons"] == "worse\nsignificant"
    )
    assert check["retrain.checked_at"] == NOW.isoformat()
