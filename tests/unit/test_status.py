"""`retrain status` for a fleet: filters, order and the summary (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retrain_core.cli.status import _filtered, _sorted, _summary, summary_line
from retrain_core.store.overview import Row, next_action

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def row(name: str, **fields: object) -> Row:
    base: dict[str, object] = dict(
        policy=name, tags=[], champion="v1", champion_age_s=3600.0, last_check=NOW,
        verdict="hold", why=None, last_retrain=None, retrains_last_day=0,
        pending_approval=None, quarantined=0, past_max_age=False, next_action="next check",
    )  # fmt: skip
    base.update(fields)
    return Row(**base)  # type: ignore[arg-type]


FLEET = [
    row("a", tags=["growth"], verdict="retrain", retrains_last_day=1),
    row(
        "b",
        tags=["growth", "tier-1"],
        verdict="blocked",
        quarantined=2,
        last_check=NOW - timedelta(days=3),
    ),
    row("c", champion=None, champion_age_s=None, last_check=None, verdict=None),
    row("d", champion_age_s=90 * 86400.0, past_max_age=True, pending_approval="v4"),
]


def test_filters_combine_tags_verdicts_and_staleness() -> None:
    assert [r.policy for r in _filtered(FLEET, ["growth"], [], None, NOW)] == ["a", "b"]
    assert [r.policy for r in _filtered(FLEET, ["growth", "tier-1"], [], None, NOW)] == ["b"]
    assert [r.policy for r in _filtered(FLEET, [], ["blocked", "never"], None, NOW)] == ["b", "c"]
    stale = _filtered(FLEET, [], [], timedelta(days=2), NOW)
    assert [r.policy for r in stale] == ["b", "c"]  # never checked counts as stale


def test_orders() -> None:
    def order(key: str) -> list[str]:
        return [r.policy for r in _sorted(FLEET, key)]

    assert order("name") == ["a", "b", "c", "d"]
    assert order("last-check") == ["d", "a", "b", "c"]  # newest first, never checked last
    assert order("age") == ["d", "a", "b", "c"]  # oldest champion first, none last
    assert order("verdict") == ["b", "d", "a", "c"]  # blocked, hold, retrain, never


def test_summary_counts_the_fleet() -> None:
    assert _summary(FLEET) == {
        "policies": 4, "retrains_last_day": 1, "blocked": 1, "pending_approvals": 1,
        "quarantined_batches": 2, "past_max_age": 1, "never_checked": 1,
    }  # fmt: skip


def test_the_summary_line_counts_in_words() -> None:
    line = summary_line(_summary(FLEET[:1]))
    assert line.startswith("1 policy: 1 retrain in the last day, 0 blocked"), line
    assert "0 quarantined batches, 0 champions past max_age" in line
    assert summary_line(_summary(FLEET)).startswith("4 policies: 1 retrain in the last day")


def test_what_is_next_for_a_policy() -> None:
    assert next_action("a", "hold", "v4", 0, False).startswith("approve or reject v4")
    assert next_action("a", "blocked", None, 2, False) == (
        "look at the quarantined batches: retrain quarantine list a"
    )
    assert next_action("a", None, None, 0, False) == "first check"
    assert next_action("a", "pending", None, 0, False) == "waiting for labels of the changed rows"
    assert next_action("a", "hold", None, 0, True).startswith("retrain due")
    assert next_action("a", "hold", None, 0, False) == "next check"


def test_the_fleet_lists_policies_never_checked_by_their_name_line(tmp_path) -> None:
    from retrain_core.policy.loader import policy_names
    from retrain_core.runtime.publish import never_checked

    (tmp_path / "a.yaml").write_text("# comment\nversion: 1\nname: churn  # the model\n")
    (tmp_path / "b.yml").write_text("name: 'house-prices'\n")
    (tmp_path / "c.yaml").write_text("extends: base.yaml\n")  # no name line: left out
    (tmp_path / "notes.txt").write_text("name: nope\n")
    assert policy_names(tmp_path) == ["churn", "house-prices"]
    assert never_checked("churn")["last check"] == "never"
