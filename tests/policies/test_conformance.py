"""One conformance suite for every registered extension, as scikit-learn checks every estimator.

Each trigger kind, source kind and notification channel found by its registry (built-in modules
and outside packages alike) runs through the same checks: its `example` validates inside a whole
policy, a wrong value is reported at its `file:line` and key, it is in the published schema and
docs, and it compiles; a trigger kind is also evaluated, decided and kept by the ledger's records.
A new entry that skips any of this fails here, not in a user's policy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain_core.base.outcome import Status
from retrain_core.base.settings import Settings
from retrain_core.decide.decision import decide
from retrain_core.decide.evaluate import evaluate
from retrain_core.kinds.context import Champion, Windows
from retrain_core.policy import docs
from retrain_core.policy.channels import CHANNELS, Channel
from retrain_core.policy.compile import render_prefect_yaml
from retrain_core.policy.loader import load_policies
from retrain_core.policy.registry import KINDS, CheckKind
from retrain_core.policy.source_kinds import SOURCE_KINDS, SourceKind
from retrain_core.store.codec import decision_tags, entry_from_tags

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
BASE: dict[str, Any] = {
    "version": 1,
    "name": "conformance",
    "model": {
        "task": "classification",
        "target": "churned",
        "features": {"numeric": ["tenure", "monthly_charges"]},
        "estimator": {"class": "sklearn.linear_model.LogisticRegression"},
    },
    "data": {
        "timestamp": "event_time",
        "reference": {"path": "data/reference.parquet"},
        "current": {"path": "data/batches/*.parquet"},
        "labels": {"path": "data/labels/*.parquet", "join_on": "customer_id"},
    },
    "schedule": {"interval": "1h"},
    "triggers": {"any": [{"new_data": {}}]},
    "gate": {"metric": "accuracy"},
}


def _policy(tmp_path: Path, **changes: Any) -> tuple[list[Any], list[str]]:
    document = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    loaded, errors = load_policies([path], Settings(root=tmp_path))
    return loaded, [str(error).replace(f"{tmp_path}/", "") for error in errors]


def _wrong(example: Any) -> Any:
    """The example with one mistake a user makes: an unknown key, or a list for a value."""
    return {**example, "no_such_key": 1} if isinstance(example, dict) else [example, example]


def _line(errors: list[str], key_path: str) -> bool:
    return any(e.startswith("p.yaml:") and f" {key_path}" in e for e in errors)


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
class TestTriggerKind:
    def test_its_example_validates_and_compiles(self, kind: CheckKind, tmp_path: Path) -> None:
        assert kind.example is not None, f"{kind.key}: set `example` on its KIND"
        loaded, errors = _policy(tmp_path, triggers__any=[{kind.key: kind.example}])
        assert errors == []
        rule = loaded[0].policy.triggers.rules[0]
        assert rule.kind == kind.key and rule.rule_id.startswith(f"{kind.key}.")
        assert "  - name: conformance\n" in render_prefect_yaml(loaded, Settings(root=tmp_path))

    def test_a_mistake_is_reported_at_its_line_and_key(
        self, kind: CheckKind, tmp_path: Path
    ) -> None:
        _, errors = _policy(tmp_path, triggers__any=[{kind.key: _wrong(kind.example)}])
        assert _line(errors, f"triggers.any.0.{kind.key}"), errors

    def test_it_is_documented(self, kind: CheckKind) -> None:
        schema = docs.policy_schema()["$defs"]["Trigger"]["properties"]
        assert schema[kind.key]["description"] == kind.description
        assert f"| `{kind.key}` |" in docs.render_readme([])

    def test_it_is_evaluated_and_decided(
        self, kind: CheckKind, tmp_path: Path, champion: Champion, windows: Windows
    ) -> None:
        loaded, _ = _policy(tmp_path, triggers__any=[{kind.key: kind.example}])
        policy = loaded[0].policy
        rule = policy.triggers.rules[0]
        outcomes = evaluate(policy, windows, champion, NOW)
        governing = [o for o in outcomes if o.check == rule.rule_id]
        assert governing and all(isinstance(o.status, Status) for o in outcomes), outcomes
        decision = decide(policy.triggers, outcomes, [], NOW, has_champion=True)
        assert decision.fired <= {rule.rule_id} and decision.reasons
        decided = replace(decision, decided_at=NOW)
        kept = entry_from_tags(decision_tags(decided, {"current": "[]"}))
        assert kept == decided.ledger_entry()  # what the ledger keeps, decide() reads back


@pytest.mark.parametrize("kind", list(SOURCE_KINDS.values()), ids=list(SOURCE_KINDS))
class TestSourceKind:
    def test_its_example_validates(self, kind: SourceKind, tmp_path: Path) -> None:
        assert kind.example is not None, f"{kind.key}: set `example` on its SOURCE"
        loaded, errors = _policy(tmp_path, data__current=kind.example)
        assert errors == []
        assert loaded[0].policy.data.current.kind == kind.key

    def test_a_mistake_is_reported_at_its_line_and_key(
        self, kind: SourceKind, tmp_path: Path
    ) -> None:
        wrong = dict(kind.example)
        wrong[kind.selector] = _wrong(wrong[kind.selector])
        _, errors = _policy(tmp_path, data__current=wrong)
        assert _line(errors, f"data.current.{kind.selector}"), errors

    def test_it_is_documented(self, kind: SourceKind) -> None:
        definitions = docs.policy_schema()["$defs"]
        assert kind.selector in definitions["CurrentSource"]["properties"]
        assert f"`{kind.selector}`" in docs.render_readme([])


@pytest.mark.parametrize("channel", list(CHANNELS.values()), ids=list(CHANNELS))
class TestChannel:
    def test_its_example_validates(self, channel: Channel, tmp_path: Path) -> None:
        assert channel.example is not None, f"{channel.key}: set `example` on its CHANNEL"
        loaded, errors = _policy(tmp_path, notify={"on": ["failed"], **channel.example})
        assert errors == []
        configured = [found.key for found, _ in loaded[0].policy.notify.channels()]
        assert configured == [channel.key]

    def test_a_mistake_is_reported_at_its_line_and_key(
        self, channel: Channel, tmp_path: Path
    ) -> None:
        key = next(iter(channel.example))
        _, errors = _policy(tmp_path, notify={"on": ["failed"], key: [1, 2]})
        assert _line(errors, f"notify.{key}"), errors

    def test_it_is_documented(self, channel: Channel) -> None:
        properties = docs.policy_schema()["$defs"]["Notify"]["properties"]
        readme = docs.render_readme([])
        for key, info in channel.model.model_fields.items():
            assert properties[key]["description"] == info.description
            assert f"`{key}`" in readme


@pytest.fixture(scope="module")
def windows() -> Windows:
    """A reference and a current window with labels, the current one shifted and newer."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)

    def frame(rows: int, shift: float, start: datetime) -> pd.DataFrame:
        tenure = rng.normal(10 + shift, 3, rows)
        return pd.DataFrame(
            {
                "tenure": tenure,
                "monthly_charges": rng.normal(50, 10, rows),
                "churned": (tenure + rng.normal(0, 2, rows) > 10).astype(int),
                "event_time": [start + timedelta(minutes=i) for i in range(rows)],
                "customer_id": range(rows),
            }
        )

    reference = frame(400, 0.0, NOW - timedelta(days=10))
    current = frame(400, 4.0, NOW - timedelta(hours=7))
    return Windows(
        reference=reference,
        current=current,
        labelled=current,
        newest=NOW - timedelta(hours=1),
        previous_rows=400,
    )


@pytest.fixture(scope="module")
def champion(windows: Windows) -> Champion:
    """A fitted model trained on the reference, serving for 40 days."""
    from sklearn.linear_model import LogisticRegression

    features = ["tenure", "monthly_charges"]
    model = LogisticRegression().fit(windows.reference[features], windows.reference["churned"])
    return Champion(
        version="1",
        created_at=NOW - timedelta(days=40),
        metrics={"accuracy": 0.9, "roc_auc": 0.95},
        model=model,
        trained_until=NOW - timedelta(days=9),
        holdout_rows=200,
    )
