"""decide(): composition, hysteresis, cooldown, budget and blocking, with `now` as an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.decide.decision import decide
from retrain_core.decide.pending import Fresh
from retrain_core.decide.records import LedgerEntry
from retrain_core.policy.triggers import Triggers

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def rules(**extra: object) -> Triggers:
    base = {
        "any": [
            {"drift": {"min_share": 0.2}},
            {"performance": {"metric": "accuracy", "drop": 0.05}},
            {"max_age": "30d"},
        ]
    }
    return Triggers.model_validate({**base, **extra})


def out(check: str, status: Status, reason: str = "r") -> CheckOutcome:
    return CheckOutcome(check=check, status=status, reason=reason, observed=0.5, threshold=0.2)


DRIFT = out("drift.share", Status.FAIL, "3 of 6 features drifted: a, b, c")
CLEAN = [out("drift.share", Status.PASS), out("performance.accuracy", Status.PASS)]


def test_first_model_is_trained_without_any_signal() -> None:
    decision = decide(rules(), CLEAN, [], NOW, has_champion=False)
    assert decision.retrain and decision.first_model
    assert decision.reasons == ("no champion yet: training the first model",)


def test_clean_window_holds() -> None:
    decision = decide(rules(), CLEAN, [], NOW, has_champion=True)
    assert not decision.retrain
    assert decision.verdict == "hold"
    assert decision.reasons == ("no trigger fired",)


def test_drift_retrains_and_names_the_signal() -> None:
    decision = decide(rules(), [DRIFT], [], NOW, has_champion=True)
    assert decision.retrain
    assert decision.fired == frozenset({"drift.share"})
    assert decision.reasons == ("drift.share: 3 of 6 features drifted: a, b, c",)


@pytest.mark.parametrize(
    "bad",
    [
        out("data.missing_column.tenure", Status.ERROR, "missing column tenure"),
        out("quality.expect_column_values_to_not_be_null.tenure", Status.FAIL, "12 nulls"),
        out("quality.expect_column_values_to_be_between.x", Status.ERROR, "no column x"),
    ],
)
def test_bad_data_blocks_even_the_first_model(bad: CheckOutcome) -> None:
    decision = decide(rules(), [DRIFT, bad], [], NOW, has_champion=False)
    assert not decision.retrain
    assert decision.blocked and decision.suppressed_by == "data-quality"
    assert bad.reason in decision.reasons


def test_an_error_in_a_signal_never_triggers() -> None:
    error = out("drift.share", Status.ERROR, "could not compute")
    assert not decide(rules(), [error], [], NOW, has_champion=True).retrain


def test_no_new_data_says_so() -> None:
    nothing = out("data.no_new_data", Status.PASS, "no new data since the last check")
    decision = decide(rules(), [nothing], [], NOW, has_champion=True)
    assert not decision.retrain
    assert decision.reasons == ("no new data since the last check",)


def test_consecutive_waits_for_the_streak() -> None:
    triggers = rules(consecutive=3)
    first = decide(triggers, [DRIFT], [], NOW, has_champion=True)
    assert not first.retrain and first.suppressed_by == "hysteresis"
    assert "drift.share fired on 1 of 3 consecutive checks: waiting" in first.reasons
    history = [
        LedgerEntry(NOW - 2 * DAY, frozenset({"drift.share"})),
        LedgerEntry(NOW - DAY, frozenset({"drift.share"})),
    ]
    assert decide(triggers, [DRIFT], history, NOW, has_champion=True).retrain


def test_consecutive_streak_is_broken_by_a_clean_check_and_by_a_retrain() -> None:
    triggers = rules(consecutive=2)
    gap = [LedgerEntry(NOW - 2 * DAY, frozenset({"drift.share"})), LedgerEntry(NOW - DAY)]
    assert not decide(triggers, [DRIFT], gap, NOW, has_champion=True).retrain
    retrained = [LedgerEntry(NOW - DAY, frozenset({"drift.share"}), retrained=True)]
    assert not decide(triggers, [DRIFT], retrained, NOW, has_champion=True).retrain


def test_max_age_is_a_fact_not_smoothed() -> None:
    old = out("max_age.champion", Status.FAIL, "champion is 31d old")
    assert decide(rules(consecutive=3), [old], [], NOW, has_champion=True).retrain


def test_cooldown_suppresses_until_it_expires() -> None:
    triggers = rules(cooldown="2d")
    history = [LedgerEntry(NOW - DAY, frozenset({"drift.share"}), retrained=True)]
    held = decide(triggers, [DRIFT], history, NOW, has_champion=True)
    assert not held.retrain and held.suppressed_by == "cooldown"
    assert held.reasons[-1] == (
        "cooldown: last retrain 1d ago, next allowed after 2026-11-24 12:00 UTC"
    )
    assert decide(triggers, [DRIFT], history, NOW + DAY, has_champion=True).retrain


def test_budget_counts_retrains_in_the_sliding_window() -> None:
    triggers = rules(budget={"max": 2, "per": "7d"})
    history = [
        LedgerEntry(NOW - 6 * DAY, retrained=True),
        LedgerEntry(NOW - 3 * DAY, retrained=True),
    ]
    held = decide(triggers, [DRIFT], history, NOW, has_champion=True)
    assert held.suppressed_by == "budget"
    assert held.reasons[-1] == "budget: 2 retrains in the last 7d (max 2)"
    assert decide(triggers, [DRIFT], history, NOW + DAY, has_champion=True).retrain


def test_all_needs_every_rule() -> None:
    triggers = Triggers.model_validate(
        {"all": [{"drift": {}}, {"performance": {"metric": "roc_auc", "below": 0.8}}]}
    )
    only_drift = decide(triggers, [DRIFT], [], NOW, has_champion=True)
    assert not only_drift.retrain
    assert only_drift.reasons[-1] == "not every trigger fired: performance.roc_auc did not"
    both = [DRIFT, out("performance.roc_auc", Status.FAIL, "0.71 < 0.8")]
    assert decide(triggers, both, [], NOW, has_champion=True).retrain


def test_under_all_a_decisive_signal_decides_alone_after_its_streak() -> None:
    """A challenger gain past `decisive_gain` retrains without the performance fall `all` asks
    for; a gain short of it (its `.decisive` outcome PASS) stays one vote; `consecutive` holds."""
    triggers = Triggers.model_validate(
        {
            "all": [
                {"performance": {"metric": "accuracy", "drop": 0.05}},
                {"challenger_gain": {"metric": "accuracy", "decisive_gain": 0.1}},
            ],
            "consecutive": 2,
        }
    )
    gain = out("challenger_gain.accuracy", Status.FAIL, "gain +0.15, p=1e-9")
    no_fall = out("performance.accuracy", Status.PASS, "no fall")
    strong = [no_fall, gain, out("challenger_gain.accuracy.decisive", Status.FAIL, "decides")]
    weak = [no_fall, gain, out("challenger_gain.accuracy.decisive", Status.PASS, "one vote")]
    fired_before = [LedgerEntry(NOW - DAY, fired=frozenset({"challenger_gain.accuracy"}))]

    assert decide(triggers, strong, [], NOW, has_champion=True).suppressed_by == "hysteresis"
    decision = decide(triggers, strong, fired_before, NOW, has_champion=True)
    assert decision.retrain
    assert decision.reasons == (
        "challenger_gain.accuracy: gain +0.15, p=1e-9",
        "challenger_gain.accuracy.decisive: decides",
    )
    held = decide(triggers, weak, fired_before, NOW, has_champion=True)
    assert not held.retrain
    assert held.reasons[-1] == "not every trigger fired: performance.accuracy did not"


def test_a_failed_first_model_waits_for_the_cooldown() -> None:
    history = [LedgerEntry(NOW - DAY, retrained=True)]
    held = decide(rules(cooldown="2d"), CLEAN, history, NOW, has_champion=False)
    assert not held.retrain and held.suppressed_by == "cooldown"
    assert held.reasons[0] == "no champion yet: training the first model"
    again = decide(rules(cooldown="2d"), CLEAN, history, NOW + DAY, has_champion=False)
    assert again.retrain and again.first_model


def test_checks_with_nothing_to_judge_neither_extend_nor_break_a_streak() -> None:
    triggers = rules(consecutive=2)
    history = [
        LedgerEntry(NOW - 2 * DAY, frozenset({"drift.share"})),
        LedgerEntry(NOW - DAY, judged=False),  # no new data that day
    ]
    assert decide(triggers, [DRIFT], history, NOW, has_champion=True).retrain
    nothing = out("data.no_new_data", Status.PASS, "no new data since the last check")
    quiet = decide(triggers, [nothing], [], NOW, has_champion=True)
    assert not quiet.judged
    assert decide(triggers, [DRIFT], [], NOW, has_champion=True).judged


def test_checks_recorded_after_now_are_ignored() -> None:
    later = [LedgerEntry(NOW + DAY, retrained=True)]
    assert decide(rules(cooldown="7d"), [DRIFT], later, NOW, has_champion=True).retrain


# ---- label-aware decisions and training outcomes --------------------------------------------

CHANGE = NOW - timedelta(hours=20)


def labels(rows: int, measured: datetime | None = None) -> Fresh:
    return Fresh(since=CHANGE, rows=rows, lag=DAY, measured_since=measured)


def test_drift_before_labels_of_the_change_is_a_pending_retrain() -> None:
    decision = decide(rules(), [DRIFT], [], NOW, has_champion=True, fresh=labels(0))
    assert not decision.retrain and decision.verdict == "pending"
    assert decision.suppressed_by == "awaiting-labels"
    assert decision.pending_since == CHANGE
    assert decision.reasons[-1].startswith("pending retrain: waiting for 200 labelled rows")
    assert "labels arrive about 1d late" in decision.reasons[-1]
    assert decision.ledger_entry().pending_since == CHANGE


def test_a_pending_retrain_trains_when_the_labels_arrive_even_if_drift_went_quiet() -> None:
    pending = decide(rules(), [DRIFT], [], NOW - DAY, has_champion=True, fresh=labels(0))
    history = [pending.ledger_entry()]
    quiet = [out("drift.share", Status.PASS)]  # and no performance measured to confirm with
    decision = decide(rules(), quiet, history, NOW, has_champion=True, fresh=labels(300))
    assert decision.retrain
    assert decision.train_since == CHANGE
    assert "300 labelled rows from after" in decision.reasons[-1]
    still = decide(rules(), quiet, history, NOW, has_champion=True, fresh=labels(10))
    assert still.verdict == "pending"


def test_without_late_labels_drift_trains_at_once() -> None:
    assert decide(rules(), [DRIFT], [], NOW, has_champion=True).retrain
    no_wait = rules(await_labels=0)
    assert decide(no_wait, [DRIFT], [], NOW, has_champion=True, fresh=labels(0)).retrain


def test_a_measured_drop_trains_at_once_on_the_rows_that_showed_it() -> None:
    drop = out("performance.accuracy", Status.FAIL, "accuracy=0.6 < 0.7")
    measured = NOW - 2 * DAY
    decision = decide(rules(), [drop], [], NOW, has_champion=True, fresh=labels(0, measured))
    assert decision.retrain and decision.train_since == measured


def test_a_failed_training_starts_no_cooldown_and_keeps_the_pending_retrain() -> None:
    triggers = rules(cooldown="3d")
    pending = decide(triggers, [DRIFT], [], NOW - 2 * DAY, has_champion=True, fresh=labels(0))
    retrain = decide(
        triggers, [DRIFT], [pending.ledger_entry()], NOW - DAY, has_champion=True,
        fresh=labels(500),
    )  # fmt: skip
    assert retrain.retrain
    history = [pending.ledger_entry(), retrain.ledger_entry("failed")]
    assert history[-1].pending_since == CHANGE and not history[-1].trained
    quiet = [out("drift.share", Status.PASS)]
    again = decide(triggers, quiet, history, NOW, has_champion=True, fresh=labels(900))
    assert again.retrain  # no cooldown from the failure, the change still unanswered
    promoted = [*history[:1], retrain.ledger_entry("promoted")]
    assert decide(triggers, [DRIFT], promoted, NOW, has_champion=True).suppressed_by == "cooldown"


def test_a_rejected_challenger_spends_budget_but_starts_no_cooldown() -> None:
    triggers = rules(cooldown="3d", budget={"max": 1, "per": "7d"})
    rejected = [LedgerEntry(NOW - DAY, frozenset({"drift.share"}), True, training="rejected")]
    held = decide(triggers, [DRIFT], rejected, NOW, has_champion=True)
    assert held.suppressed_by == "budget"
    roomy = rules(cooldown="3d", budget={"max": 2, "per": "7d"})
    assert decide(roomy, [DRIFT], rejected, NOW, has_champion=True).retrain


def test_a_confirmation_needs_a_significant_fall() -> None:
    pending = decide(rules(), [DRIFT], [], NOW - DAY, has_champion=True, fresh=labels(0))
    history = [pending.ledger_entry()]
    chance = CheckOutcome(
        "performance.accuracy", Status.PASS, "r", observed=0.78, threshold=0.75, p_value=0.2
    )
    kept = decide(rules(), [chance], history, NOW, has_champion=True, fresh=labels(300))
    assert not kept.retrain and kept.pending_since is None
    assert "within chance (p=0.2 >= 0.01)" in kept.reasons[-1]
    real = CheckOutcome(
        "performance.accuracy", Status.PASS, "r", observed=0.78, threshold=0.75, p_value=0.001
    )
    assert decide(rules(), [real], history, NOW, has_champion=True, fresh=labels(300)).retrain


def perf(observed: float, status: Status = Status.PASS) -> CheckOutcome:
    """A performance outcome whose baseline is 0.80 (threshold 0.75 + drop 0.05)."""
    return CheckOutcome("performance.accuracy", status, "r", observed=observed, threshold=0.75)


def test_awaited_labels_that_show_no_harm_dismiss_the_pending_retrain() -> None:
    pending = decide(rules(), [DRIFT], [], NOW - DAY, has_champion=True, fresh=labels(0))
    history = [pending.ledger_entry()]
    fine = decide(rules(), [perf(0.82)], history, NOW, has_champion=True, fresh=labels(300))
    assert not fine.retrain and fine.pending_since is None and fine.verdict == "hold"
    assert fine.reasons[-1].endswith(
        "measured accuracy 0.82 >= baseline 0.8: no harm, the pending retrain is dismissed"
    )
    worse = decide(rules(), [perf(0.78)], history, NOW, has_champion=True, fresh=labels(300))
    assert worse.retrain and "measured accuracy 0.78 < baseline 0.8" in worse.reasons
    blind = rules(confirm_with_labels=False)
    assert decide(blind, [perf(0.82)], history, NOW, has_champion=True, fresh=labels(300)).retrain


def test_a_watched_signal_is_recorded_but_never_votes() -> None:
    triggers = Triggers.model_validate(
        {"all": [{"performance": {"metric": "accuracy", "drop": 0.05}}], "watch": [{"drift": {}}]}
    )
    decision = decide(triggers, [DRIFT], [], NOW, has_champion=True)
    assert not decision.retrain and decision.fired == frozenset()
    assert DRIFT in decision.outcomes  # recorded with the decision, shown in its table
    assert decision.reasons == ("no trigger fired",)


def test_a_signal_is_either_voting_or_watched() -> None:
    with pytest.raises(ValueError, match="two triggers watch the same signal"):
        Triggers.model_validate({"any": [{"drift": {}}], "watch": [{"drift": {}}]})
