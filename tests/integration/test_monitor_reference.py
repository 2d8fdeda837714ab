"""The monitor's view of the champion: its stored training sample as the drift reference, its
live labelled rows, and the labelled rows from after a change (real files, real MLflow)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from _data import churn_frame, churn_policy

from retrain_core.checks.binned import EXACT_MAX_ROWS
from retrain_core.checks.profile import builds, forget, profile_from_frame
from retrain_core.decide.evaluate import evaluate
from retrain_core.decide.records import LedgerEntry
from retrain_core.kinds.context import Champion, Windows
from retrain_core.monitor.drift_reference import follow_champion, reference_profile
from retrain_core.monitor.late_labels import label_context
from retrain_core.monitor.windows import Loaded, load_windows
from retrain_core.policy.schema import Policy
from retrain_core.store import Store
from retrain_core.store.tags import PROFILE_KEY, PROFILE_RUN
from retrain_core.training.challenger import reference_sample, train_challenger


def labelled_policy(**data: object) -> Policy:
    spec = churn_policy().model_dump(by_alias=True, exclude_none=True)
    spec["data"] = {
        "timestamp": "event_time",
        "reference": {"path": "ref.parquet"},
        "current": {"path": "cur/*.parquet"},
        "labels": {"path": "labels/*.parquet", "join_on": "id", "lag": "1d"},
        **data,
    }
    return Policy.model_validate(spec)


def test_the_champion_s_training_sample_becomes_the_drift_reference(tmp_path: Path) -> None:
    registry = Store(f"sqlite:///{tmp_path}/mlflow.db").registry
    policy = labelled_policy()
    result = train_challenger(policy, churn_frame(300))
    now = datetime(2026, 1, 18, tzinfo=UTC)
    run_id = registry.log_training_run(
        policy, result, monitor_run_id=None, policy_hash="h", now=now
    )
    registry.log_reference(run_id, reference_sample(policy, result.rows))
    assert registry.load_profile(run_id) is None  # stored without one: the checks profile it
    fixed = pd.DataFrame({"tenure": [1.0]})
    data = Loaded(Windows(reference=fixed, current=fixed))
    champion = Champion("1", datetime.now(UTC), run_id=run_id)
    followed = follow_champion(registry, policy, data, champion)
    assert len(followed.windows.reference) == result.n_train
    assert set(followed.windows.reference.columns) >= {"tenure", "churned", "event_time"}
    pinned = labelled_policy(drift_reference="reference")
    assert follow_champion(registry, pinned, data, champion).windows.reference is fixed
    assert follow_champion(registry, policy, data, None).windows.reference is fixed


def test_drift_against_the_stored_profile_equals_drift_against_the_sample(tmp_path: Path) -> None:
    """The profile stored with a version gives the verdicts the sample itself gives (1M-row
    windows are binned against a profile either way; only where it comes from differs)."""
    registry = Store(f"sqlite:///{tmp_path}/mlflow.db").registry
    spec = labelled_policy().model_dump(by_alias=True, exclude_none=True)
    spec["triggers"] = {"any": [{"drift": {"method": "ks", "min_effect": 0.1}}]}
    policy = Policy.model_validate(spec)
    result = train_challenger(policy, churn_frame(300))
    now = datetime(2026, 1, 18, tzinfo=UTC)
    run_id = registry.log_training_run(
        policy, result, monitor_run_id=None, policy_hash="h", now=now
    )
    sample = reference_sample(policy, result.rows)
    registry.log_reference(run_id, sample, profile_from_frame(sample, policy))
    stored = registry.load_profile(run_id)
    assert stored is not None and stored.key == profile_from_frame(sample, policy).key
    current = sample.sample(EXACT_MAX_ROWS + 1, replace=True, random_state=1)
    current = current.assign(tenure=current["tenure"] * 2 + 10).reset_index(drop=True)
    data = Loaded(Windows(reference=current.head(1), current=current))
    champion = Champion("1", now, run_id=run_id)
    followed = follow_champion(registry, policy, data, champion)
    assert followed.windows.profile is not None
    with_stored = evaluate(policy, followed.windows, None, now)
    recomputed = evaluate(policy, replace(followed.windows, profile=None), None, now)
    assert [o.as_dict() for o in with_stored] == [o.as_dict() for o in recomputed]
    failed = [o.check for o in with_stored if o.status.value == "fail"]
    assert failed == ["drift.ks.tenure", "drift.share"], with_stored


def drift_policy(method: str = "ks") -> Policy:
    """The labelled churn policy with a drift trigger, always against the fixed reference."""
    spec = labelled_policy(drift_reference="reference").model_dump(by_alias=True, exclude_none=True)
    spec["data"].pop("labels")
    spec["triggers"] = {"any": [{"drift": {"method": method, "min_effect": 0.1}}]}
    return Policy.model_validate(spec)


def test_a_fixed_reference_s_profile_is_stored_once_and_loaded_by_later_checks(
    tmp_path: Path,
) -> None:
    """The first check profiles the fixed reference and stores the profile in MLflow; a check in
    a new process (nothing kept in memory) loads it without profiling; a changed file gets its
    own profile. Drift against the stored profile says what drift against the file says."""
    store = Store(f"sqlite:///{tmp_path}/mlflow.db")
    registry, policy = store.registry, drift_policy()
    now = datetime(2026, 1, 18, tzinfo=UTC)
    (tmp_path / "cur").mkdir()
    churn_frame(EXACT_MAX_ROWS + 1).to_parquet(tmp_path / "ref.parquet")
    current = churn_frame(2000, seed=1)
    current.assign(tenure=current["tenure"] * 2 + 10).to_parquet(tmp_path / "cur" / "d0.parquet")

    def check() -> Loaded:
        return reference_profile(registry, policy, load_windows(policy, tmp_path, {}), now)

    def stored() -> dict[str, str]:
        query = f"tags.`retrain.kind` = '{PROFILE_RUN}'"
        runs = store.client.search_runs([store.experiment_id(policy.name)], query)
        return {run.data.tags[PROFILE_KEY]: run.info.run_id for run in runs}

    forget()
    built = builds()
    first = check()
    profile = first.windows.profile
    assert profile is not None and builds() == built + 1
    assert list(stored()) == [profile.key]
    assert registry.load_profile(stored()[profile.key]) is not None  # the artifact itself

    assert check().windows.profile is profile  # the same process keeps it: nothing is read
    forget()  # a new process: nothing in memory
    second = check().windows.profile
    assert second is not None and second is not profile
    assert builds() == built + 1  # loaded from MLflow, not profiled again
    assert second.to_dict() == profile.to_dict()
    assert list(stored()) == [profile.key]  # still one stored profile

    outcomes = evaluate(policy, first.windows, None, now)
    rebuilt = evaluate(policy, replace(first.windows, profile=None), None, now)
    assert [o.as_dict() for o in outcomes] == [o.as_dict() for o in rebuilt]
    assert [o.check for o in outcomes if o.failed] == ["drift.ks.tenure", "drift.share"]

    changed = churn_frame(EXACT_MAX_ROWS + 1, seed=2)
    changed.to_parquet(tmp_path / "ref.parquet")
    forget()
    third = check().windows.profile
    assert third is not None and third.key != profile.key
    assert builds() == built + 2  # a changed reference is profiled, and stored
    assert set(stored()) == {profile.key, third.key}


def test_no_profile_is_stored_when_drift_does_not_bin(tmp_path: Path) -> None:
    """cvm tests rows, and small windows are tested exactly: nothing to profile or store."""
    registry = Store(f"sqlite:///{tmp_path}/mlflow.db").registry
    now = datetime(2026, 1, 18, tzinfo=UTC)
    reference = churn_frame(EXACT_MAX_ROWS + 1)
    small = Loaded(Windows(reference=reference.head(500), current=reference.tail(500)))
    large = Loaded(Windows(reference=reference, current=reference.tail(500)))
    assert reference_profile(registry, drift_policy(), small, now) is small
    assert reference_profile(registry, drift_policy("cvm"), large, now) is large
    assert registry.store.existing_experiment("churn") is None  # nothing was written


@pytest.fixture()
def stream(tmp_path: Path) -> Path:
    """Three days of rows (files per day) with labels for the first two."""
    frame = churn_frame(72, start="2026-01-01").sort_values("event_time").reset_index(drop=True)
    frame["id"] = range(len(frame))
    for sub in ("cur", "labels"):
        (tmp_path / sub).mkdir()
    frame.head(10).to_parquet(tmp_path / "ref.parquet")
    for day in range(3):
        rows = frame[frame["event_time"].dt.day == day + 1]
        rows.drop(columns=["churned"]).to_parquet(tmp_path / "cur" / f"d{day}.parquet")
        if day < 2:
            rows[["id", "churned"]].to_parquet(tmp_path / "labels" / f"d{day}.parquet")
    return tmp_path


def test_label_context_counts_labels_after_the_change_and_finds_live_rows(stream: Path) -> None:
    policy = labelled_policy()
    day2 = datetime(2026, 1, 2, tzinfo=UTC)
    current = pd.read_parquet(stream / "cur" / "d2.parquet")
    newly = pd.read_parquet(stream / "cur" / "d1.parquet")
    data = Loaded(Windows(reference=current, current=current, labelled=newly))
    champion = Champion("1", day2, trained_until=day2 - timedelta(hours=12))
    now = datetime(2026, 1, 3, 23, tzinfo=UTC)
    pending = [LedgerEntry(now - timedelta(days=1), pending_since=day2)]
    with_live, fresh = label_context(policy, stream, data, champion, pending, now)
    assert fresh is not None and fresh.since == day2
    assert fresh.rows == 24  # day 2's labelled rows (day 3 has no labels yet)
    assert fresh.lag == timedelta(days=1)
    assert fresh.measured_since == newly["event_time"].min().to_pydatetime()
    live = with_live.windows.live
    assert live is not None and len(live) == 11  # day 1 after 12:00, not this check's labels
    assert live["event_time"].is_monotonic_increasing
    _, no_pending = label_context(policy, stream, data, champion, [], now)
    assert no_pending is not None and no_pending.since == current["event_time"].min()
    assert no_pending.rows == 0
