"""The registry on a real MLflow store (SQLite in a temp dir): register, promote, roll back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _data import churn_frame, churn_policy

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.data.watermark import Watermark
from retrain_core.decide.promotion import PromotionDecision, decide_promotion
from retrain_core.decide.records import RetrainDecision
from retrain_core.store import Store
from retrain_core.store.lineage import gate_tags, git_commit, pip_requirements, serialization_format
from retrain_core.store.registry import Registry, RegistryError
from retrain_core.training.challenger import TrainingResult, train_challenger
from retrain_core.training.scoring import score_on

NOW = datetime(2026, 1, 18, 9, 30, tzinfo=UTC)  # the flow's logical time
GOOD = "sklearn.linear_model.LogisticRegression"
WEAK = "sklearn.dummy.DummyClassifier"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite store per module (its schema migration takes seconds), artifacts beside it."""
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    saved = tracking._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)  # (it sets MLFLOW_TRACKING_URI too)
    mlflow.MlflowClient(uri).search_experiments()  # create and migrate the schema here, once
    yield uri
    # MLflow's process-wide URI as it was, unset when it was: set to the URI get_tracking_uri()
    # returned, it outlived this module and overrode the next tests' MLFLOW_TRACKING_URI
    tracking._tracking_uri = saved[0]
    if saved[1] is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved[1]


@pytest.fixture(scope="module")
def trained() -> dict[str, TrainingResult]:
    """A good and a weak challenger, each trained once on the same seeded data."""
    frame = churn_frame(n=400)
    return {est: train_challenger(churn_policy(est), frame) for est in (GOOD, WEAK)}


@pytest.fixture
def registry(store: str) -> Registry:
    return Store(store).registry


def cycle(
    registry: Registry, name: str, result: TrainingResult, promote: bool = True
) -> tuple[str, PromotionDecision]:
    """One train-validate-register(-promote) story, as the flow tells it."""
    gate = {"metric": "roc_auc", "min": 0.4}  # low enough for the weak model to bootstrap
    policy = churn_policy(result.fitted.estimator_class, gate=gate, name=name)
    run_id = registry.log_training_run(
        policy,
        result,
        monitor_run_id="monitor-1",
        policy_hash="abc123",
        trigger=["drift on tenure"],
        now=NOW,
    )
    champion_score = None
    if registry.champion(name) is not None:
        champion = registry.load_model(name, "champion")
        champion_score = score_on(champion, result.holdout, policy.model)[policy.gate.metric]
    decision = decide_promotion(policy.gate, result.metrics[policy.gate.metric], champion_score)
    version = registry.register(run_id, name, gate_tags(decision), now=NOW)
    if decision.promote and promote:
        registry.promote(name, version, now=NOW)
    elif not decision.promote:
        registry.tag_rejected(name, version, decision.reasons, now=NOW)
    return version, decision


def test_bootstrap_registers_promotes_and_serves(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    import mlflow.pyfunc

    version, decision = cycle(registry, "boot", trained[GOOD])
    assert decision.reasons[0].startswith("no champion yet: roc_auc ")
    assert version == "1"
    assert registry.aliases("boot") == {"champion": "1"}
    info = registry.describe("boot", version)
    assert info.tags["retrain.gate"] == "passed"
    assert info.tags["retrain.decision"] == "promoted"
    assert info.tags["retrain.monitor_run_id"] == "monitor-1"
    assert info.tags["retrain.policy_hash"] == "abc123"
    assert info.tags["retrain.trigger"] == "drift on tenure"
    assert info.tags["retrain.window_end"] == "2026-01-17T15:00:00+00:00"
    assert info.tags.get("retrain.git_commit") == git_commit()
    assert info.metrics["holdout_roc_auc"] == trained[GOOD].metrics["roc_auc"]
    assert info.params["estimator"] == GOOD
    assert info.params["rows.holdout"] == "100"
    served = mlflow.pyfunc.load_model("models:/boot@champion")
    holdout = trained[GOOD].holdout
    # the signature declares numeric features as double (they may be missing; the pipeline
    # imputes them), and pyfunc refuses int64 -> double, so callers send floats (JSON is cast)
    batch = holdout[["tenure", "monthly_charges", "contract"]].astype({"tenure": "float64"})
    predictions = served.predict(batch)
    assert len(predictions) == len(holdout)
    assert set(predictions) <= {0, 1}


def test_training_run_is_tagged_and_safely_serialized(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    run_id = registry.log_training_run(
        churn_policy(name="tags"), trained[GOOD], monitor_run_id="m-9", policy_hash="h", now=NOW
    )
    run = registry.client.get_run(run_id)
    tags = run.data.tags
    assert tags["retrain.kind"] == "train"
    assert (tags["retrain.monitor_run_id"], tags["retrain.policy_hash"]) == ("m-9", "h")
    assert tags["retrain.serialization"] == "skops"
    assert run.info.status == "FINISHED"
    assert set(run.data.metrics) == {f"holdout_{m}" for m in trained[GOOD].metrics}
    experiment = registry.client.get_experiment(run.info.experiment_id)
    assert experiment.name == "tags"
    store_dir = Path(str(registry.tracking_uri).removeprefix("sqlite:///")).parent
    assert experiment.artifact_location.startswith(store_dir.as_uri())
    logged = registry.client.get_logged_model(tags["retrain.model_id"])
    assert logged.experiment_id == run.info.experiment_id  # not the Default experiment's ./mlruns
    assert logged.artifact_location.startswith(experiment.artifact_location)


def test_better_challenger_is_promoted_and_champion_becomes_previous(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    cycle(registry, "better", trained[WEAK])
    _, decision = cycle(registry, "better", trained[GOOD])
    assert decision.promote
    assert decision.reasons[-1].startswith("roc_auc ")
    assert " vs champion 0.5: +" in decision.reasons[-1]
    assert registry.aliases("better") == {"champion": "2", "previous": "1"}


def test_worse_challenger_is_registered_rejected_without_alias(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    cycle(registry, "worse", trained[GOOD])
    version, decision = cycle(registry, "worse", trained[WEAK])
    assert not decision.promote
    assert registry.aliases("worse") == {"champion": "1"}
    info = registry.describe("worse", version)
    assert info.aliases == ()
    assert info.tags["retrain.decision"] == "rejected"
    assert info.tags["retrain.gate"] == "failed"
    assert "vs champion" in info.tags["retrain.decision_reasons"]
    assert registry.unfinished("worse") == []


def test_rollback_returns_to_previous_and_drops_it(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    cycle(registry, "roll", trained[WEAK])
    cycle(registry, "roll", trained[GOOD])
    result = registry.rollback("roll", now=NOW)
    assert (result.from_version, result.to_version) == ("2", "1")
    assert registry.aliases("roll") == {"champion": "1"}
    assert registry.describe("roll", "2").tags["retrain.decision"] == "rolled_back"
    with pytest.raises(RegistryError, match="no 'previous' version"):
        registry.rollback("roll", now=NOW)


def test_crash_before_the_alias_move_keeps_the_old_champion(
    registry: Registry, trained: dict[str, TrainingResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle(registry, "crash", trained[WEAK])
    real = Registry._set_alias

    def crash(self: Registry, name: str, alias: str, version: str) -> None:
        if alias == "champion":
            raise ConnectionError("MLflow went away")
        real(self, name, alias, version)

    monkeypatch.setattr(Registry, "_set_alias", crash)
    with pytest.raises(ConnectionError):
        cycle(registry, "crash", trained[GOOD])
    assert registry.aliases("crash") == {"champion": "1", "previous": "1"}
    assert registry.unfinished("crash") == ["2"]
    monkeypatch.undo()

    run_id = registry.describe("crash", "2").run_id
    assert run_id is not None
    assert registry.register(run_id, "crash", now=NOW) == "2"  # a re-run reuses the version
    assert registry.promote("crash", "2", now=NOW) is True
    assert registry.promote("crash", "2", now=NOW) is False  # idempotent: previous stays on 1
    assert registry.aliases("crash") == {"champion": "2", "previous": "1"}
    versions = registry.client.search_model_versions("name='crash'")
    assert len(versions) == 2
    held = [registry.client.get_model_version("crash", v.version).aliases for v in versions]
    assert sorted(held) == [["champion"], ["previous"]]
    assert registry.unfinished("crash") == []


def test_champion_of_unknown_model_is_none(registry: Registry) -> None:
    assert registry.champion("nobody") is None


def test_serialization_falls_back_when_skops_cannot_vouch(
    trained: dict[str, TrainingResult],
) -> None:
    pipeline = trained[GOOD].fitted.pipeline
    fmt, types, note = serialization_format(pipeline, ("sklearn", "numpy", "scipy"))
    assert (fmt, note) == ("skops", "")
    assert types is not None and "numpy.dtype" in types
    fmt, types, note = serialization_format(pipeline, ("sklearn",))
    assert (fmt, types) == ("cloudpickle", None)
    assert "numpy.dtype" in note
    fmt, _, note = serialization_format(lambda x: x, ("sklearn",))
    assert fmt == "cloudpickle"


def test_pip_requirements_are_pinned() -> None:
    pins = pip_requirements("skops", GOOD)
    assert [p.split("==")[0] for p in pins] == ["scikit-learn", "numpy", "pandas", "skops"]
    assert all("==" in p for p in pins)


def test_a_store_uses_its_own_uri_not_mlflow_s_global_one(
    store: str, trained: dict[str, TrainingResult], tmp_path: Path
) -> None:
    """The module's store is MLflow's global URI here; another store logs, registers, loads."""
    elsewhere = Store(f"sqlite:///{tmp_path}/elsewhere.db").registry
    version, _ = cycle(elsewhere, "apart", trained[GOOD])
    assert elsewhere.aliases("apart") == {"champion": version}
    assert len(elsewhere.load_model("apart", "champion").predict(trained[GOOD].holdout)) == 100
    assert Store(store).registry.aliases("apart") == {}


def test_training_windows_are_dataset_inputs_of_the_training_run(
    registry: Registry, trained: dict[str, TrainingResult]
) -> None:
    result = trained[GOOD]
    run_id = registry.log_training_run(
        churn_policy(name="inputs"), result, monitor_run_id=None, policy_hash="h", now=NOW
    )
    inputs = registry.client.get_run(run_id).inputs.dataset_inputs
    found = {i.dataset.name: (i.tags[0].value, json.loads(i.dataset.profile)) for i in inputs}
    assert found["inputs-training"][0] == "training"
    assert found["inputs-training"][1]["num_rows"] == len(result.rows)
    assert found["inputs-holdout"][1]["window_end"] == "2026-01-17T15:00:00+00:00"


def test_a_watermark_too_long_for_a_tag_is_an_artifact_of_the_check(store: str) -> None:
    keys = [f"2026/01/batch-{i:06d}.parquet" for i in range(2_000)]
    long_mark = Watermark().after_files(keys, keys).to_json()
    short_mark = Watermark(timestamp=NOW).to_json()
    decision = RetrainDecision(False, ("no change",), (), decided_at=NOW)
    ledger = Store(store).ledger
    run_id = ledger.record("marks", decision, {"current": long_mark, "labels": short_mark}, 5)
    tags = ledger.client.get_run(run_id).data.tags
    assert tags["retrain.watermark.current"] == "artifact:watermarks/current.json"
    assert tags["retrain.watermark.labels"] == short_mark
    marks, rows = ledger.watermarks("marks")
    assert (marks, rows) == ({"current": long_mark, "labels": short_mark}, 5)
    assert Watermark.from_json(marks["current"]).files == tuple(keys)


def test_what_a_check_measured_comes_back_with_its_history(store: str) -> None:
    measured = CheckOutcome("performance.accuracy", Status.PASS, "ok", observed=0.81)
    too_few = CheckOutcome("performance.auc", Status.ERROR, "only 3 rows", observed=3.0)
    drift = CheckOutcome("drift.share", Status.FAIL, "drifted", observed=0.5)
    decision = RetrainDecision(False, ("hold",), (measured, too_few, drift), decided_at=NOW)
    ledger = Store(store).ledger
    ledger.record("measured", decision, {}, 5)
    [entry] = ledger.history("measured")
    assert entry.measured == (("performance.accuracy", 0.81),)  # an ERROR measured nothing
