"""A new trigger kind is one module: registered here, it validates, compiles, decides and is
documented without touching the policy models, `evaluate`, `decide` or the docs generator; a kind
that reads labels says so on its entry and `decide` treats it as it treats `performance`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import Field

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.base.settings import Settings
from retrain_core.decide.decision import decide
from retrain_core.decide.evaluate import evaluate
from retrain_core.decide.pending import Fresh
from retrain_core.decide.records import LedgerEntry
from retrain_core.kinds.context import Context, Windows
from retrain_core.policy import docs
from retrain_core.policy.base import Strict
from retrain_core.policy.compile import render_prefect_yaml
from retrain_core.policy.finding import Finding
from retrain_core.policy.loader import load_policies
from retrain_core.policy.registry import KINDS, CheckKind, register, registered
from retrain_core.policy.triggers import Triggers
from retrain_core.policy.yamlio import Path_

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class ToyTrigger(Strict):
    """Too many rows with a null feature."""

    max_nulls: int = Field(ge=0, description="Fire when more rows than this have a null tenure.")


def null_rows(toy: ToyTrigger, ctx: Context) -> list[CheckOutcome]:
    nulls = int(ctx.windows.current["tenure"].isna().sum())
    status = Status.FAIL if nulls > toy.max_nulls else Status.PASS
    return [CheckOutcome(ctx.rule_id, status, f"{nulls} null rows", nulls, toy.max_nulls)]


def needs_tenure(settings: Any, data: dict[str, Any], path: Path_) -> list[Finding]:
    numeric = (data.get("model") or {}).get("features", {}).get("numeric") or []
    return [] if "tenure" in numeric else [Finding(path, "counts nulls of tenure: not a feature")]


TOY = CheckKind(
    key="toy",
    model=ToyTrigger,
    description="Null rows.",
    evaluate=null_rows,
    outcome="nulls",
    findings=needs_tenure,
)

POLICY = """\
version: 1
name: toy
model:
  task: classification
  target: churned
  features: {numeric: [tenure]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  reference: {path: data/reference.parquet}
  current: {path: "data/batches/*.parquet"}
schedule: {interval: 1h}
triggers:
  any:
    - toy: {max_nulls: MAX}
  consecutive: 2
gate: {metric: roc_auc}
"""


@pytest.fixture
def toy() -> Iterator[CheckKind]:
    with registered(TOY) as kind:
        yield kind


def _load(tmp_path: Path, max_nulls: str, feature: str = "tenure") -> tuple[list, list[str]]:
    path = tmp_path / "toy.yaml"
    text = POLICY.replace("MAX", max_nulls).replace("[tenure]", f"[{feature}]")
    path.write_text(text, encoding="utf-8")
    loaded, errors = load_policies([path], Settings(root=tmp_path))
    return loaded, [str(error).replace(f"{tmp_path}/", "") for error in errors]


def test_a_toy_kind_validates_and_reports_its_errors_with_lines(
    toy: CheckKind, tmp_path: Path
) -> None:
    loaded, errors = _load(tmp_path, "2")
    assert errors == [] and loaded[0].policy.triggers.rules[0].rule_id == "toy.nulls"
    _, errors = _load(tmp_path, "-1")
    assert errors == ["toy.yaml:14 triggers.any.0.toy.max_nulls: must be >= 0, got -1"]
    _, errors = _load(tmp_path, "2", feature="age")  # the kind's own semantic check
    assert errors == ["toy.yaml:14 triggers.any.0.toy: counts nulls of tenure: not a feature"]


def test_a_toy_kind_is_in_the_one_of_message(toy: CheckKind, tmp_path: Path) -> None:
    _, errors = _load(tmp_path, "2}\n      max_age: 7d\n    - {new_data: {}")
    assert errors[0].startswith(
        "toy.yaml:14 triggers.any.0: a trigger has exactly one of drift, performance, "
        "challenger_gain, estimated_performance, volume, freshness, new_data, max_age, toy "
        "(got max_age, toy)"
    )


def test_a_toy_kind_compiles(toy: CheckKind, tmp_path: Path) -> None:
    loaded, _ = _load(tmp_path, "2")
    rendered = render_prefect_yaml(loaded, Settings(root=tmp_path))
    assert "  - name: toy\n" in rendered and "interval: 3600" in rendered


def test_a_toy_kind_is_evaluated_and_decided_with_its_smoothing(
    toy: CheckKind, tmp_path: Path
) -> None:
    loaded, _ = _load(tmp_path, "2")
    policy = loaded[0].policy
    current = pd.DataFrame({"tenure": [None, None, None, 4.0]})
    outcomes = evaluate(policy, Windows(reference=current, current=current), None, NOW)
    assert [(o.check, o.status) for o in outcomes] == [("toy.nulls", Status.FAIL)]
    first = decide(policy.triggers, outcomes, [], NOW, has_champion=True)
    assert first.fired == {"toy.nulls"} and first.suppressed_by == "hysteresis"
    earlier = LedgerEntry(NOW.replace(hour=11), fired=frozenset({"toy.nulls"}))
    second = decide(policy.triggers, outcomes, [earlier], NOW, has_champion=True)
    assert second.retrain and second.reasons == ("toy.nulls: 3 null rows",)


def test_a_toy_kind_is_documented_and_leaves_no_trace(tmp_path: Path) -> None:
    committed = (ROOT / "policies" / docs.SCHEMA_FILE).read_text(encoding="utf-8")
    with registered(TOY):
        schema = docs.policy_schema()
        readme = docs.render_readme([])
        assert schema["$defs"]["Trigger"]["properties"]["toy"]["description"] == "Null rows."
        assert "max_nulls" in schema["$defs"]["ToyTrigger"]["properties"]
        assert "| `toy` |" in readme and "| `max_nulls` |" in readme
        assert docs.schema_json() != committed
    assert docs.schema_json() == committed
    _, errors = _load(tmp_path, "2")
    assert errors == [
        "toy.yaml:14 triggers.any.0.toy: unknown key 'toy' (expected one of: drift, performance, "
        "challenger_gain, estimated_performance, volume, freshness, new_data, max_age)"
    ]


def test_a_kind_cannot_take_a_name_the_trigger_uses() -> None:
    with pytest.raises(ValueError, match="cannot be named config"):
        register(CheckKind("config", ToyTrigger, "", null_rows, outcome="nulls"))
    assert (
        "config" not in KINDS
        and "config" not in docs.policy_schema()["$defs"]["Trigger"]["properties"]
    )


class HitTrigger(Strict):
    """The champion's hit rate on labelled rows."""

    metric: str = Field("accuracy", description="What the hit rate is reported as.")
    drop: float = Field(gt=0, description="Fire when the hit rate falls this far.")
    confidence: float | None = Field(None, description="No significance test.")


HITS = CheckKind(
    key="hits",
    model=HitTrigger,
    description="Hit rate.",
    evaluate=null_rows,  # not run: the outcomes are given
    outcome="rate",
    reads_labels=True,
)


def test_a_kind_that_reads_labels_trains_at_once_and_confirms_a_pending_retrain() -> None:
    with registered(HITS):
        triggers = Triggers.model_validate(
            {"any": [{"drift": {"min_share": 0.2}}, {"hits": {"drop": 0.05}}]}
        )
        change, measured = NOW - timedelta(hours=20), NOW - timedelta(days=2)
        fell = CheckOutcome("hits.rate", Status.FAIL, "0.6 < 0.75", observed=0.6, threshold=0.75)
        fresh = Fresh(since=change, rows=0, measured_since=measured)
        decision = decide(triggers, [fell], [], NOW, has_champion=True, fresh=fresh)
        assert decision.retrain and decision.train_since == measured
        assert decision.ledger_entry().measured == (("hits.rate", 0.6),)
        drift = CheckOutcome("drift.share", Status.FAIL, "3 of 6 features drifted")
        earlier = NOW - timedelta(days=1)
        pending = decide(triggers, [drift], [], earlier, has_champion=True, fresh=fresh)
        assert pending.verdict == "pending"
        fine = CheckOutcome("hits.rate", Status.PASS, "r", observed=0.82, threshold=0.75)
        arrived = Fresh(since=change, rows=300)
        history = [pending.ledger_entry()]
        kept = decide(triggers, [fine], history, NOW, has_champion=True, fresh=arrived)
        assert not kept.retrain and kept.reasons[-1].endswith(
            "measured accuracy 0.82 >= baseline 0.8: no harm, the pending retrain is dismissed"
        )


def test_a_label_blind_kind_cannot_read_labels() -> None:
    with pytest.raises(ValueError, match="label-blind kinds read no labels"):
        CheckKind("blind", ToyTrigger, "", null_rows, outcome="x", label_blind=True,
                  reads_labels=True)  # fmt: skip
