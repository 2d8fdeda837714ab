"""The monitor on the demo stream with a covariate shift injected on days 5-6.

One story, checked day by day as a scheduler would: the first model, a second run with no new
data, three clean days that hold, then the shifted day, whose drift names the shifted features
and opens a pending retrain (its labels arrive a day later), and the next day, when they have
arrived, trains. Along the way: the ledger (one MLflow run per check, tags and a metric per signal),
the watermark (each batch judged once) and the decision artifact in the Prefect API.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import Project
from test_monitor_support import (
    SHIFTED,
    UNSHIFTED,
    at,
    champion,
    check,
    decision_artifact,
    drifted_features,
    fast,
    ledger,
    versions,
)

from retrain_core.checks.binned import EXACT_MAX_ROWS
from retrain_core.checks.profile import builds, content_key, forget
from retrain_core.cli.main import main
from retrain_core.data.demo import write_reference
from retrain_core.store import Store
from retrain_core.store.tags import PROFILE_KEY, PROFILE_RUN

ROWS = 800  # conftest's Story(rows_per_day=800)


def test_drift_on_the_shifted_day_waits_for_its_labels_then_retrains_and_clean_days_hold(
    project: Project, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fast(project, confirm_with_labels=False)  # train when the labels arrive, whatever they show
    name = project.name
    project.write_day(1)
    first = check(project, at(1))
    assert first["verdict"] == "retrain"
    assert first["reasons"] == ["no champion yet: training the first model"]
    assert first["training"]["status"] == "promoted"
    assert versions(tracking_uri, name) == ["1"] and champion(tracking_uri, name) == "1"

    # `retrain run` twice in a row: the second run sees no new data and says so.
    root = str(project.root)
    argv = ["run", str(project.policy_path), "--data-root", root, "--now", at(1, 2).isoformat()]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "HOLD" in out and "no new data since the last check" in out
    again = ledger(tracking_uri, name)[-1]
    assert again.data.tags["retrain.decision"] == "hold"
    assert again.data.metrics["rows"] == 0

    for day in (2, 3, 4):
        project.write_day(day)
        clean = check(project, at(day))
        assert clean["verdict"] == "hold", (day, clean["reasons"])
        assert clean["reasons"] == ["no trigger fired"]
        assert clean["rows"] == ROWS  # only the new batch: earlier ones are never judged again
        share = next(o for o in clean["outcomes"] if o["check"] == "drift.share")
        assert share["status"] == "pass" and share["observed"] < 0.3, share

    project.write_day(5)
    drifted = check(project, at(5))
    assert drifted["verdict"] == "pending", drifted["reasons"]
    assert drifted["reasons"][-1].startswith("pending retrain: waiting for 200 labelled rows")
    assert "training" not in drifted
    assert drifted["rows"] == ROWS
    share_reason = next(r for r in drifted["reasons"] if r.startswith("drift.share:"))
    assert drifted_features(share_reason) == set(SHIFTED), share_reason
    assert "4 of 6 features drifted" in share_reason
    by_check = {o["check"]: o for o in drifted["outcomes"]}
    for feature in SHIFTED:
        assert by_check[f"drift.ks.{feature}"]["status"] == "fail"
    for feature in UNSHIFTED:
        assert by_check[f"drift.ks.{feature}"]["status"] == "pass"
        assert feature not in share_reason
    assert versions(tracking_uri, name) == ["1"]

    # The ledger: one finished monitor run per check, the decision as tags, signals as metrics.
    runs = ledger(tracking_uri, name)
    assert [r.data.tags["retrain.decision"] for r in runs] == [
        "retrain", "hold", "hold", "hold", "hold", "pending",
    ]  # fmt: skip
    assert [r.data.metrics["rows"] for r in runs] == [ROWS, 0, ROWS, ROWS, ROWS, ROWS]
    last = runs[-1]
    assert last.info.run_id == drifted["monitor_run_id"]
    tags, metrics = last.data.tags, last.data.metrics
    assert tags["retrain.retrain"] == "false"
    assert tags["retrain.fired"].split(",")[0] == "drift.share"
    assert "drift.share" in tags["retrain.reasons"]
    assert tags["retrain.suppressed_by"] == "awaiting-labels"
    assert tags["retrain.pending_since"].startswith("2026-01-06")
    assert len(tags["retrain.policy_hash"]) >= 8
    assert tags["retrain.window"].startswith("since_last_check")
    assert '"day-05.parquet"' in tags["retrain.watermark.current"]
    assert metrics["decision.retrain"] == 0.0
    assert metrics["drift.share"] == pytest.approx(4 / 6)
    for feature in SHIFTED:
        assert metrics[f"drift.ks.{feature}"] >= 0.1  # the KS statistic D, above min_effect
    for feature in UNSHIFTED:
        assert f"drift.ks.{feature}" in metrics
    assert "quality.expect_column_values_to_not_be_null.tenure" in str(sorted(metrics))

    # The Prefect artifact with the stable key: the verdict, its reasons and the check table.
    artifact = decision_artifact(name)
    assert str(artifact.flow_run_id) == tags["retrain.prefect_run_id"]
    markdown = str(artifact.data)
    assert markdown.startswith(f"# {name}: Retrain pending: waiting for labels of the changed data")
    assert "| check | status | observed | threshold | reason |" in markdown
    assert "| `drift.share` | **FAIL** |" in markdown
    for feature in SHIFTED:
        assert f"| `drift.ks.{feature}` | **FAIL** |" in markdown
    for feature in UNSHIFTED:
        assert f"| `drift.ks.{feature}` | pass |" in markdown
    assert drifted["monitor_run_id"] in markdown

    # Day 6: the shifted day's labels have arrived, so the pending retrain trains now, on the
    # rows from the change on (whether the labels show harm is tested in test_decision.py).
    project.write_day(6)
    labelled = check(project, at(6))
    assert labelled["verdict"] == "retrain", labelled["reasons"]
    assert any("labelled rows from after 2026-01-06" in r for r in labelled["reasons"])
    assert labelled["training"]["status"] in {"promoted", "rejected"}
    assert versions(tracking_uri, name) == ["1", "2"]
    assert ledger(tracking_uri, name)[-1].data.tags["retrain.training"] in {"promoted", "rejected"}


def test_a_fixed_reference_s_profile_is_stored_by_one_check_and_loaded_by_the_next(
    project: Project, tracking_uri: str
) -> None:
    """With drift against the fixed reference and a reference large enough to bin against, the
    first check stores the reference's profile in MLflow; the next check, in a new process (no
    profile in memory), loads it instead of profiling the reference again."""
    fast(project)
    project.edit(data={"drift_reference": "reference"})
    project.story = replace(project.story, reference_rows=EXACT_MAX_ROWS + 1)
    reference = write_reference(project.root, project.story)
    store = Store(tracking_uri)

    def stored() -> list[str]:
        query = f"tags.`retrain.kind` = '{PROFILE_RUN}' and attributes.status = 'FINISHED'"
        runs = store.client.search_runs([store.experiment_id(project.name)], query)
        return [run.data.tags[PROFILE_KEY] for run in runs]

    forget()
    project.write_day(1)
    assert check(project, at(1))["verdict"] == "retrain"  # the first model
    numeric = ["tenure", "monthly_charges", "total_charges", "support_calls"]
    assert stored() == [content_key(reference, numeric, ["contract", "payment_method"])]

    forget()  # a new process
    built = builds()
    project.write_day(2)
    clean = check(project, at(2))
    assert clean["verdict"] == "hold", clean["reasons"]
    assert any(o["check"] == "drift.share" and o["status"] == "pass" for o in clean["outcomes"])
    assert builds() == built  # the stored profile was loaded, not built
    assert len(stored()) == 1
