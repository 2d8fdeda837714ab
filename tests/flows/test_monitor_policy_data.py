"""The policy is checked against its data before the data is judged, and the data stays sane.

Real components: the session's Prefect API, a fresh MLflow store, the demo stream written as
files, rewritten and misdated on disk. A policy that names a column none of its data has blocks
the check as the policy's mistake, at its line, and sets no batch aside; the batches are judged
as soon as the policy is fixed.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import Project
from test_monitor_support import at, check, fast

from retrain_core.store import Store


def _rename_feature(project: Project, old: str, new: str) -> int:
    """Rename a feature in the policy file; the line it is on (1-based)."""
    text = project.policy_path.read_text()
    policy = yaml.safe_load(text)
    numeric = policy["model"]["features"]["numeric"]
    numeric[numeric.index(old)] = new
    project.policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    lines = project.policy_path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == f"- {new}")


@pytest.mark.parametrize("where", ["feature", "expectation"])
def test_a_column_typo_in_the_policy_blocks_at_its_line_and_quarantines_nothing(
    project: Project, tracking_uri: str, where: str
) -> None:
    fast(project)
    for day in (1, 2, 3):
        project.write_day(day)  # batches and the labels of days 1 and 2
    if where == "feature":
        line = _rename_feature(project, "monthly_charges", "monthly_charge")
        key = "model.features.numeric.1"
    else:
        project.edit(validation=[{"expect_column_values_to_not_be_null": {"column": "tenur"}}])
        lines = project.policy_path.read_text().splitlines()
        line = next(i for i, text in enumerate(lines, 1) if "column: tenur" in text)
        key = "validation.0.expect_column_values_to_not_be_null.column"

    blocked = check(project, at(3))
    assert blocked["verdict"] == "blocked", blocked["reasons"]
    assert blocked["reasons"][0].startswith("retraining blocked: the policy does not match")
    text = "\n".join(blocked["reasons"])
    assert f"{project.policy_path}:{line} {key}: no column" in text, text
    assert "did you mean" in text and ("'monthly_charges'" in text or "'tenure'" in text), text
    assert "quarantined" not in text and "none of the" not in text, text
    assert Store(tracking_uri).ledger.quarantined(project.name) == {}

    # The policy is fixed: every batch is judged, none was lost.
    policy = yaml.safe_load(project.policy_path.read_text())
    policy["model"]["features"]["numeric"] = [
        "tenure",
        "monthly_charges",
        "total_charges",
        "support_calls",
    ]
    policy["validation"] = []
    project.policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
    fixed = check(project, at(3, hours=2))
    assert fixed["verdict"] != "blocked", fixed["reasons"]
    assert fixed["rows"] == 3 * 800


def test_a_column_one_batch_lacks_is_still_that_batchs_fault(
    project: Project, tracking_uri: str
) -> None:
    """The reference and the other batches have it: the batch differs from the data the policy
    was written for, and is quarantined."""
    fast(project)
    project.write_day(1)
    batches = project.root / "data" / "churn" / "batches"
    import pandas as pd

    frame = pd.read_parquet(batches / "day-01.parquet").drop(columns=["tenure"])
    frame.to_parquet(batches / "day-01-b.parquet")
    blocked = check(project, at(1))
    assert blocked["verdict"] == "blocked"
    assert "the data failed its checks" in blocked["reasons"][0]
    held = Store(tracking_uri).ledger.quarantined(project.name)
    assert held == {"current": {"day-01-b.parquet"}}


def test_a_batch_stamped_in_the_future_is_set_aside_and_no_model_trains_into_it(
    project: Project, tracking_uri: str
) -> None:
    """A misdated batch (2095) is quarantined with its reason; the champion trained next is
    trained until no later than the check that trained it, so later gates keep their holdout."""
    import pandas as pd

    from retrain_core.data.demo import rng_day
    from retrain_core.store.registry import trained_until

    fast(project)
    project.write_day(1)
    batches = project.root / "data" / "churn" / "batches"
    misdated = rng_day(project.story, 2).assign(event_time=pd.Timestamp("2095-06-01", tz="UTC"))
    misdated.to_parquet(batches / "day-02-misdated.parquet")  # labelled rows: trainable

    blocked = check(project, at(1))
    assert blocked["verdict"] == "blocked", blocked["reasons"]
    (reason,) = [r for r in blocked["reasons"] if "day-02-misdated.parquet" in r]
    assert "800 of 800 rows are stamped in the future (up to 2095-06-01" in reason, reason
    store = Store(tracking_uri)
    assert store.ledger.quarantined(project.name) == {"current": {"day-02-misdated.parquet"}}

    now = at(1, hours=2)
    first = check(project, now)
    assert first["verdict"] == "retrain" and first["rows"] == 800, first["reasons"]
    version = store.registry.champion(project.name, "champion")
    assert version is not None
    until = trained_until(version)
    assert until is not None and until <= now, until


def test_a_batch_rewritten_after_its_check_is_judged_again(
    project: Project, tracking_uri: str
) -> None:
    """A batch that passed, rewritten in place with values the policy's validation forbids, is
    judged again by the next check: blocked, quarantined, never trained on; the ledger says it
    was rewritten. A batch only touched (same bytes) keeps its verdict."""
    import os

    from mlflow import MlflowClient
    from test_monitor_bad_input import features, negative_charges
    from test_monitor_support import ledger

    from retrain_core.monitor import training_data
    from retrain_core.policy.loader import load_policy

    fast(project)
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"
    project.write_day(2)
    judged = check(project, at(2))
    assert judged["verdict"] != "blocked" and judged["rows"] == 800, judged["reasons"]

    batch = project.root / "data" / "churn" / "batches" / "day-02.parquet"
    stat = batch.stat()
    os.utime(batch, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, same bytes
    assert check(project, at(2, hours=2))["rows"] == 0

    negative_charges(features(project, 2)).to_parquet(batch)  # rewritten: 12 negative charges
    blocked = check(project, at(2, hours=3))
    assert blocked["verdict"] == "blocked", blocked["reasons"]
    text = "\n".join(blocked["reasons"])
    assert "monthly_charges" in text and "12 of 800 values unexpected" in text, text
    assert "day-02.parquet was rewritten after a check judged it: judged again" in text, text
    store = Store(tracking_uri)
    assert store.ledger.quarantined(project.name) == {"current": {"day-02.parquet"}}
    (held,) = store.ledger.quarantine(project.name)
    assert held.reason.startswith("rewritten after a check judged it, and now"), held.reason

    # Rewritten with rows that pass: judged again, and the check's ledger run says so.
    day1 = project.root / "data" / "churn" / "batches" / "day-01.parquet"
    features(project, 1).head(790).to_parquet(day1)
    again = check(project, at(2, hours=4))
    assert again["verdict"] != "blocked" and again["rows"] == 790, again["reasons"]
    run = ledger(tracking_uri, project.name)[-1]
    inputs = MlflowClient(tracking_uri).get_run(run.info.run_id).inputs.dataset_inputs
    tags = {t.key: t.value for i in inputs for t in i.tags if i.dataset.name == "day-01.parquet"}
    assert tags.get("retrain.rewritten") == "true", tags

    # Training never sees the rewritten rows.
    policy = load_policy(project.policy_path).policy
    frame = training_data.load_training_data(
        policy, project.root, store.ledger.quarantined(project.name)
    )
    assert (frame["monthly_charges"].dropna() >= 0).all()
