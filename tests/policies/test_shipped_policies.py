"""Every shipped policy loads cleanly, round-trips through dump_policy, and hashes stably."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrain_core.policy.loader import dump_policy, load_policies, load_policy

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "policies").glob("*.yaml"))


def test_there_are_shipped_policies_of_both_tasks() -> None:
    loaded, errors = load_policies([ROOT / "policies"])
    assert errors == []
    assert {policy.policy.model.task for policy in loaded} == {"classification", "regression"}
    assert len({policy.policy.name for policy in loaded}) == len(SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_policy_round_trips(path: Path, tmp_path: Path) -> None:
    loaded = load_policy(path)
    dumped = tmp_path / path.name
    dumped.write_text(dump_policy(loaded.policy))
    again = load_policy(dumped)
    assert again.policy == loaded.policy
    assert again.policy_hash == loaded.policy_hash
    assert dump_policy(again.policy) == dump_policy(loaded.policy)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_policy_hash_ignores_comments_and_formatting(path: Path, tmp_path: Path) -> None:
    loaded = load_policy(path)
    assert len(loaded.policy_hash) == 12
    commented = tmp_path / path.name
    lines = [line for line in loaded.text.splitlines() if not line.startswith("#")]
    commented.write_text("# a new comment\n\n" + "\n".join(f"{line}  # note" for line in lines))
    assert load_policy(commented).policy_hash == loaded.policy_hash


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_policy_hash_changes_with_the_policy(path: Path, tmp_path: Path) -> None:
    loaded = load_policy(path)
    changed = tmp_path / path.name
    changed.write_text(loaded.text.replace("holdout: 0.2", "holdout: 0.3"))
    assert load_policy(changed).policy_hash != loaded.policy_hash
