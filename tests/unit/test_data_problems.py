"""Bad data as problems (not exceptions), the columns a policy needs, and late labels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain_core.data import (
    BadData,
    check_columns,
    expected_columns,
    join_labels,
    load_labels,
    required_columns,
)
from retrain_core.data.problems import batch_rules, class_names, label_problems
from retrain_core.policy.schema import Policy


def policy(**data: Any) -> Policy:
    """A churn-like policy; keyword arguments replace keys of its data section."""
    section: dict[str, Any] = {
        "timestamp": "ts",
        "reference": {"path": "ref.parquet"},
        "current": {"path": "batches/*.parquet"},
        "labels": {"path": "labels/*.parquet", "join_on": "customer_id"},
        **data,
    }
    return Policy.model_validate(
        {
            "version": 1,
            "name": "churn",
            "model": {
                "task": "classification",
                "target": "churned",
                "features": {"numeric": ["tenure"], "categorical": ["plan"]},
                "estimator": {"class": "sklearn.linear_model.LogisticRegression"},
            },
            "data": section,
            "triggers": {"any": [{"max_age": "30d"}]},
            "gate": {"metric": "roc_auc"},
        }
    )


def window(**overrides: Any) -> pd.DataFrame:
    """A clean current window of three customers."""
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "tenure": [1.0, 2.0, 3.0],
            "plan": ["a", "b", "a"],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            "churned": [0, 1, 0],
        }
    )
    return frame.assign(**overrides)


def test_required_columns_cover_features_target_time_and_key() -> None:
    assert required_columns(policy()) == ["tenure", "plan", "churned", "ts", "customer_id"]
    assert required_columns(policy(timestamp=None, labels=None)) == ["tenure", "plan", "churned"]
    assert expected_columns(policy(), "current") == ["tenure", "plan", "ts", "customer_id"]
    assert expected_columns(policy(), "reference") == ["tenure", "plan", "churned", "ts"]
    assert expected_columns(policy(), "labels") == ["customer_id", "churned"]


def test_clean_windows_have_no_problems() -> None:
    assert check_columns(window(), policy()) == []
    assert check_columns(window(), policy(), "reference") == []
    assert check_columns(window().drop(columns="churned"), policy()) == []  # labels come later
    assert check_columns(window(ts=["2024-01-01T00:00:00Z"] * 3), policy()) == []


def test_empty_window() -> None:
    assert check_columns(window().iloc[0:0], policy()) == ["the current window is empty"]


def test_missing_columns_are_named() -> None:
    problems = check_columns(window().drop(columns=["plan", "customer_id"]), policy())
    assert problems == [
        "the current window has no column 'plan'",
        "the current window has no column 'customer_id'",
    ]
    reference = check_columns(window().drop(columns="churned"), policy(), "reference")
    assert reference == ["the reference window has no column 'churned'"]


def test_wrong_types_are_named_with_an_example() -> None:
    problems = check_columns(window(tenure=["1", "two", "3"]), policy())
    assert problems == [
        "the current window: column 'tenure' should be numeric but holds object values "
        "such as 'two'"
    ]
    stamps = check_columns(window(ts=["2024-01-01", "yesterday", None]), policy())
    assert len(stamps) == 1 and "timestamp column 'ts' is not parseable" in stamps[0]
    assert "not parseable" in check_columns(window(ts=[1, 2, 3]), policy())[0]


def test_regression_target_must_be_numeric() -> None:
    regression = policy().model_copy(
        update={"model": policy().model.model_copy(update={"task": "regression"})}
    )
    problems = check_columns(window(churned=["x", "y", "z"]), regression, "reference")
    assert problems == [
        "the reference window: column 'churned' should be numeric but holds object values "
        "such as 'x'"
    ]


def test_all_null_labels_block_but_unlabelled_current_rows_do_not() -> None:
    labels = pd.DataFrame({"customer_id": [1, 2], "churned": [None, None]})
    assert check_columns(labels, policy(), "labels") == [
        "the label source has no labels: every 'churned' value is null"
    ]
    reference = check_columns(window(churned=np.nan), policy(), "reference")
    assert reference == ["the reference window has no labels: every 'churned' value is null"]
    assert check_columns(window(churned=np.nan), policy()) == []


def test_join_labels_is_a_left_join_where_the_last_label_wins() -> None:
    frame = window().drop(columns="churned")
    labels = pd.DataFrame({"customer_id": [2, 1, 2, None], "churned": [0, 1, 1, 0]})
    joined = join_labels(frame, labels, "customer_id", "churned")
    assert joined["customer_id"].tolist() == [1, 2, 3]
    assert joined["churned"].tolist()[:2] == [1, 1]
    assert np.isnan(joined["churned"].iloc[2])
    assert "churned" not in frame  # the input is not modified


def test_join_labels_fills_the_window_target_and_matches_keys_across_types() -> None:
    frame = window(churned=[0, np.nan, np.nan])
    labels = pd.DataFrame({"customer_id": ["2"], "churned": [1]})
    joined = join_labels(frame, labels, "customer_id", "churned")
    assert joined["churned"].tolist()[:2] == [0, 1] and np.isnan(joined["churned"].iloc[2])


def test_join_labels_without_key_or_target_is_bad_data() -> None:
    labels = pd.DataFrame({"customer_id": [1], "churned": [1]})
    with pytest.raises(BadData, match="no column 'customer_id' to join"):
        join_labels(window().drop(columns="customer_id"), labels, "customer_id", "churned")
    with pytest.raises(BadData, match="the label source has no column 'churned'"):
        join_labels(window(), labels.drop(columns="churned"), "customer_id", "churned")


def test_load_labels_reads_only_key_and_target(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    for name, ids in [("l2.parquet", [2, 3]), ("l1.parquet", [1, 2])]:
        labels = pd.DataFrame({"customer_id": ids, "churned": [1, 0], "note": "x"})
        labels.to_parquet(tmp_path / "labels" / name, index=False)
    source = policy().data.labels
    assert source is not None
    loaded = load_labels(source, "churned", tmp_path)
    assert list(loaded.columns) == ["customer_id", "churned"]
    assert loaded["customer_id"].tolist() == [1, 2, 2, 3]
    joined = join_labels(window().drop(columns="churned"), loaded, "customer_id", "churned")
    assert joined["churned"].tolist() == [1, 1, 0]  # l2's label for customer 2 came last


def test_time_columns_stay_comparable_after_checks() -> None:
    frame = window()
    check_columns(frame, policy())
    assert frame["ts"].max() == datetime(2024, 1, 3, tzinfo=UTC)


def test_conflicting_labels_for_one_key_and_unseen_classes_are_named() -> None:
    rules = policy()
    clean = window()
    assert label_problems(clean, rules, "the batch", ["0", "1"]) == []
    clashing = pd.concat([clean, clean.head(1).assign(churned=1)])
    (problem,) = label_problems(clashing, rules, "the batch", ["0", "1"])
    assert problem == (
        "the batch: 1 'customer_id' values carry conflicting 'churned' labels, "
        "such as 1 with 0 and 1"
    )
    same_twice = pd.concat([clean, clean.head(1)])
    assert label_problems(same_twice, rules, "the batch", ["0", "1"]) == []
    unseen = clean.assign(churned=[0.0, 1.0, 2.0])
    (problem,) = label_problems(unseen, rules, "the batch", class_names(clean["churned"]))
    assert "a class outside the closed set data.labels.classes: '2'" in problem
    assert label_problems(unseen, rules, "the batch", None) == []  # no closed set: a finding


def test_text_timestamps_that_mix_zoned_and_naive_values_are_named() -> None:
    stamps = ["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00", "2024-01-03T00:00:00Z"]
    (problem,) = check_columns(window(ts=stamps), policy(), "current", "the batch")
    assert problem.startswith("the batch: the timestamp column 'ts' mixes times with and without")
    zoned = ["2024-01-01T00:00:00+00:00", "2024-01-02T05:00:00+05:00", "2024-01-03T00:00:00Z"]
    assert check_columns(window(ts=zoned), policy(), "current") == []


def test_values_that_poison_a_model_are_named() -> None:
    reference = window()
    rules = batch_rules(policy(), "current", reference)
    assert rules.problems is not None
    assert rules.problems("the batch", window()) == []
    (inf,) = rules.problems("the batch", window(tenure=[1.0, np.inf, 3.0]))
    assert inf == "the batch: column 'tenure' holds infinite values (1 of 3)"
    (empty,) = rules.problems("the batch", window(plan=[None, None, None]))
    assert empty == "the batch: column 'plan' has no values (all null)"
    (kind,) = rules.problems("the batch", window(plan=[1, 2, 1]))
    assert kind == "the batch: column 'plan' holds number values where the reference has text"
    (mixed,) = rules.problems("the batch", window(plan=["a", 2, "b"]))
    assert "column 'plan' mixes kinds of values" in mixed
    assert rules.problems("the batch", window(churned=[0, 1, 5])) == []  # a new class: judged


def test_a_closed_set_of_classes_keeps_the_quarantine_of_a_batch_with_another_class() -> None:
    labels = {"path": "labels/*.parquet", "join_on": "customer_id", "classes": [0, 1]}
    closed = policy(labels=labels)
    for role in ("current", "labels"):
        rules = batch_rules(closed, role, window())
        assert rules.problems is not None
        assert rules.problems("the batch", window(churned=[0.0, 1.0, 1.0])) == []
        (unseen,) = rules.problems("the batch", window(churned=[0, 1, 5]))
        assert unseen == (
            "the batch: 'churned' holds a class outside the closed set data.labels.classes: '5' "
            "(known: 0, 1)"
        )
