"""The challenger-gain trigger: its paired tests and its evaluator on real fits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from retrain_core.base.outcome import Status
from retrain_core.checks.paired import compare, mcnemar_exact, paired_loss_test
from retrain_core.kinds.challenger_gain import ChallengerGainTrigger, evaluate
from retrain_core.kinds.context import Champion, Context, Windows
from retrain_core.policy.schema import Policy
from retrain_core.training.fit import fit

pytestmark = pytest.mark.unit

START = datetime(2026, 1, 1, tzinfo=UTC)
RULE = "challenger_gain.accuracy"


class TestMcNemar:
    def test_counts_only_the_discordant_rows(self) -> None:
        champion = [True] * 50 + [True] * 3 + [False] * 10
        challenger = [True] * 50 + [False] * 3 + [True] * 10
        wins, losses, p = mcnemar_exact(champion, challenger)
        assert (wins, losses) == (10, 3)
        # P(X >= 10) for X ~ Binomial(13, 1/2), by hand
        expected = sum(math.comb(13, k) for k in range(10, 14)) / 2**13
        assert p == pytest.approx(expected)

    def test_no_discordant_rows_is_no_evidence(self) -> None:
        assert mcnemar_exact([True, False], [True, False]) == (0, 0, 1.0)

    def test_one_sided(self) -> None:
        _, _, better = mcnemar_exact([False] * 30, [True] * 30)
        _, _, worse = mcnemar_exact([True] * 30, [False] * 30)
        assert better < 1e-8 and worse == pytest.approx(1.0)

    def test_rows_must_pair(self) -> None:
        with pytest.raises(ValueError, match="same rows"):
            mcnemar_exact([True], [True, False])


class TestPairedLoss:
    def test_a_lower_loss_on_the_same_rows_is_significant(self) -> None:
        rng = np.random.default_rng(0)
        champion = rng.exponential(1.0, 300) + 0.3
        challenger = champion - 0.3 + rng.normal(0, 0.05, 300)
        assert paired_loss_test(champion, challenger) < 1e-6
        assert paired_loss_test(challenger, champion) > 0.99

    def test_rmse_gain_is_in_the_metric_units(self) -> None:
        y = np.zeros(4)
        result = compare("rmse", y, (np.full(4, 2.0), None, None), (np.ones(4), None, None))
        assert (result.champion, result.challenger, result.gain) == (2.0, 1.0, 1.0)
        assert result.p_value == 0.0  # every row better by the same amount

    def test_a_metric_not_computed_per_row_is_refused(self) -> None:
        with pytest.raises(ValueError, match="per-row"):
            compare("roc_auc", [0, 1], ([0, 1], None, None), ([0, 1], None, None))


def _policy(task_window: str | None = "2d") -> Policy:
    training = {"holdout": 0.2} | ({"window": task_window} if task_window else {})
    return Policy.model_validate({
        "version": 1, "name": "gain",
        "model": {
            "task": "classification", "target": "y",
            "features": {"numeric": ["a", "b"]},
            "estimator": {"class": "sklearn.linear_model.LogisticRegression"},
        },
        "data": {
            "timestamp": "t", "reference": {"path": "r.parquet"},
            "current": {"path": "c/*.parquet"}, "labels": {"path": "l/*.parquet", "join_on": "id"},
        },
        "schedule": {"interval": "1d"},
        "triggers": {"any": [{"challenger_gain": {"metric": "accuracy"}}]},
        "training": training,
        "gate": {"metric": "accuracy"},
    })  # fmt: skip


def _batch(day: int, rule: str, rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One day of rows; `rule` says which feature decides the label (10% label noise)."""
    rng = np.random.default_rng(seed + day)
    x = rng.normal(size=(rows, 2))
    y = (x[:, 0 if rule == "a" else 1] > 0).astype(int)
    flip = rng.random(rows) < 0.1
    y[flip] = 1 - y[flip]
    stamps = [START + timedelta(days=day, seconds=int(s)) for s in np.linspace(0, 86000, rows)]
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y, "t": stamps})


def _context(labelled: pd.DataFrame, *, live_rule: str = "a", settings: str = RULE) -> Context:
    policy = _policy()
    reference = pd.concat([_batch(0, "a"), _batch(1, "a")], ignore_index=True)
    champion_model = fit(policy.model, reference, random_state=0).pipeline
    champion = Champion(
        "1", START, model=champion_model, trained_until=reference["t"].max().to_pydatetime()
    )
    windows = Windows(
        reference=reference,
        current=labelled.drop(columns=["y"]),
        labelled=labelled,
        live=_batch(2, live_rule),
    )
    return Context(policy, windows, champion, START + timedelta(days=5), settings)


class TestEvaluator:
    def test_fires_when_the_concept_changed(self) -> None:
        gain = ChallengerGainTrigger(metric="accuracy")
        outcomes = evaluate(gain, _context(_batch(3, "b")))
        governing = outcomes[0]
        assert governing.check == RULE and governing.status is Status.FAIL, governing.reason
        assert governing.p_value is not None and governing.p_value < 0.01
        by_check = {o.check: o for o in outcomes}
        assert by_check[f"{RULE}.gain"].observed > 0.1  # type: ignore[operator]
        assert by_check[f"{RULE}.rows"].observed == 500  # the newest half of 1,000 new rows
        # the champion's metric in observed, the challenger's less min_gain in threshold
        assert governing.threshold == pytest.approx(
            governing.observed + by_check[f"{RULE}.gain"].observed - 0.02  # type: ignore[operator]
        )

    def test_a_gain_past_decisive_gain_says_it_decides_alone(self) -> None:
        outcomes = {o.check: o for o in evaluate(
            ChallengerGainTrigger(metric="accuracy", decisive_gain=0.1), _context(_batch(3, "b"))
        )}  # fmt: skip
        decisive = outcomes[f"{RULE}.decisive"]
        assert decisive.status is Status.FAIL, decisive.reason
        assert decisive.observed == outcomes[f"{RULE}.gain"].observed
        assert decisive.reason.endswith("decides alone")
        beyond = ChallengerGainTrigger(metric="accuracy", decisive_gain=0.99)
        outcomes = {o.check: o for o in evaluate(beyond, _context(_batch(3, "b")))}
        assert outcomes[RULE].status is Status.FAIL  # still one vote
        assert outcomes[f"{RULE}.decisive"].status is Status.PASS

    def test_decisive_gain_below_min_gain_is_refused(self) -> None:
        with pytest.raises(ValueError, match="decisive_gain must be at least min_gain"):
            ChallengerGainTrigger(metric="accuracy", min_gain=0.05, decisive_gain=0.02)

    def test_holds_on_a_stable_stream(self) -> None:
        gain = ChallengerGainTrigger(metric="accuracy")
        outcomes = evaluate(gain, _context(_batch(3, "a")))
        assert outcomes[0].status is Status.PASS, outcomes[0].reason
        assert "gain" in outcomes[0].reason and "McNemar" in outcomes[0].reason

    def test_a_gain_below_min_gain_does_not_fire(self) -> None:
        gain = ChallengerGainTrigger(metric="accuracy", min_gain=0.9)
        outcomes = evaluate(gain, _context(_batch(3, "b")))
        assert outcomes[0].status is Status.PASS and "< 0.9" in outcomes[0].reason

    def test_too_few_new_labelled_rows_is_an_error(self) -> None:
        gain = ChallengerGainTrigger(metric="accuracy", min_rows=100)
        outcomes = evaluate(gain, _context(_batch(3, "b", rows=60)))
        assert [o.status for o in outcomes] == [Status.ERROR]
        assert "too few to judge" in outcomes[0].reason and outcomes[0].observed == 60

    def test_no_labels_is_an_error(self) -> None:
        context = _context(_batch(3, "b").iloc[:0])
        outcomes = evaluate(ChallengerGainTrigger(metric="accuracy"), context)
        assert outcomes[0].status is Status.ERROR and "no labels" in outcomes[0].reason

    def test_the_sample_caps_the_training_rows(self) -> None:
        gain = ChallengerGainTrigger(metric="accuracy", sample=300)
        outcomes = evaluate(gain, _context(_batch(3, "b")))
        rows = {o.check: o for o in outcomes}[f"{RULE}.rows"]
        assert rows.threshold == 300  # trained on the newest 300 rows only


def test_a_watched_rule_is_evaluated_and_marked_as_watched() -> None:
    from retrain_core.decide.evaluate import WATCHED, evaluate

    spec = _policy().model_dump(by_alias=True, exclude_none=True)
    spec["triggers"] = {
        "any": [{"max_age": "90d"}],
        "watch": [{"challenger_gain": {"metric": "accuracy", "confidence": 0.95}}],
    }
    policy = Policy.model_validate(spec)
    context = _context(pd.concat([_batch(3, "b"), _batch(4, "b")], ignore_index=True))
    outcomes = {o.check: o for o in evaluate(policy, context.windows, context.champion, START)}
    gain = outcomes["challenger_gain.accuracy"]
    assert gain.status is Status.FAIL and gain.reason.startswith(WATCHED), gain
    assert not outcomes["challenger_gain.accuracy.gain"].reason.startswith(WATCHED)
