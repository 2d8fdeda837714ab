"""A new source kind is one module: registered here, it validates, reads windows, keeps its
watermark and is documented without touching the policy models, the windows or the docs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pytest
from pydantic import Field

from retrain_core.base.settings import Settings
from retrain_core.data import load_reference, load_window, read_source
from retrain_core.data.readers import describe
from retrain_core.policy import docs
from retrain_core.policy.base import Strict
from retrain_core.policy.finding import Finding
from retrain_core.policy.loader import load_policies
from retrain_core.policy.source_kinds import SOURCE_KINDS, SourceKind, register, registered
from retrain_core.policy.yamlio import Path_

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 1, tzinfo=UTC)


class ToyTable(Strict):
    """Rows made up on the spot: one an hour from START."""

    rows: int = Field(ge=1, description="How many rows.")


class ToySettings(Strict):
    toy: ToyTable = Field(description="A made-up table.")


@dataclass(frozen=True)
class ToyReader:
    settings: ToySettings
    root: Path

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> pd.DataFrame:
        rows = self.settings.toy.rows
        frame = pd.DataFrame(
            {
                "id": range(rows),
                "tenure": [float(i) for i in range(rows)],
                "churned": [i % 2 for i in range(rows)],
                "ts": [START + timedelta(hours=i) for i in range(rows)],
            }
        )
        return frame if columns is None else frame[[c for c in columns if c in frame]]

    def describe(self) -> str:
        return f"toy table of {self.settings.toy.rows} rows"

    def watermark_kind(self, timestamp: str | None) -> Literal["files", "timestamp"]:
        return "timestamp"


def small_tables(source: dict[str, Any], settings: Settings, path: Path_) -> list[Finding]:
    rows = (source.get("toy") or {}).get("rows")
    too_many = isinstance(rows, int) and rows > 1000
    return (
        [Finding((*path, "toy", "rows"), "a toy table has at most 1000 rows")] if too_many else []
    )


TOY = SourceKind(key="toy", model=ToySettings, reader=ToyReader, label="toy", findings=small_tables)

POLICY = """\
version: 1
name: toy
model:
  task: classification
  target: churned
  features: {numeric: [tenure]}
  estimator: {class: sklearn.linear_model.LogisticRegression}
data:
  timestamp: ts
  reference: {toy: {rows: 10}}
  current: {toy: {rows: ROWS}, window: since_last_check}
schedule: {interval: 1h}
triggers:
  any:
    - new_data: {}
gate: {metric: roc_auc}
"""


@pytest.fixture
def toy() -> Iterator[SourceKind]:
    with registered(TOY) as kind:
        yield kind


def _load(tmp_path: Path, rows: str, current: str = "") -> tuple[list, list[str]]:
    path = tmp_path / "toy.yaml"
    text = POLICY.replace("ROWS", rows)
    if current:
        text = text.replace("{toy: {rows: 4}, window: since_last_check}", current)
    path.write_text(text, encoding="utf-8")
    loaded, errors = load_policies([path], Settings(root=tmp_path))
    return loaded, [str(error).replace(f"{tmp_path}/", "") for error in errors]


def test_a_toy_source_validates_and_reports_its_errors_with_lines(
    toy: SourceKind, tmp_path: Path
) -> None:
    loaded, errors = _load(tmp_path, "4")
    assert errors == [] and loaded[0].policy.data.current.kind == "toy"
    _, errors = _load(tmp_path, "0")
    assert errors == ["toy.yaml:11 data.current.toy.rows: must be >= 1, got 0"]
    _, errors = _load(tmp_path, "5000")  # the kind's own semantic check
    assert errors == ["toy.yaml:11 data.current.toy.rows: a toy table has at most 1000 rows"]


def test_a_toy_source_is_in_the_one_of_message(toy: SourceKind, tmp_path: Path) -> None:
    _, errors = _load(tmp_path, "4", current="{toy: {rows: 4}, path: x.csv}")
    assert errors == ["toy.yaml:11 data.current: set exactly one of path, sql or toy"]


def test_a_toy_source_is_read_as_windows_with_a_watermark(toy: SourceKind, tmp_path: Path) -> None:
    loaded, _ = _load(tmp_path, "4")
    data = loaded[0].policy.data
    reference = load_reference(data.reference, ["id", "ts"], tmp_path, data.timestamp)
    assert reference.rows == 10 and reference.source == "toy table of 10 rows"
    first = load_window(data.current, ["id", "ts"], tmp_path, data.timestamp)
    assert first.rows == 4 and first.new_rows == 4
    assert first.watermark is not None and first.watermark.timestamp == START + timedelta(hours=3)
    again = load_window(data.current, ["id", "ts"], tmp_path, data.timestamp, first.watermark)
    assert again.rows == 0 and again.new_rows == 0
    assert read_source(data.current, ["id"], tmp_path)["id"].tolist() == [0, 1, 2, 3]
    assert describe(data.current) == "toy table of 4 rows"


def test_a_toy_source_is_documented_and_leaves_no_trace(tmp_path: Path) -> None:
    committed = (ROOT / "policies" / docs.SCHEMA_FILE).read_text(encoding="utf-8")
    with registered(TOY):
        schema = docs.policy_schema()
        readme = docs.render_readme([])
        assert schema["$defs"]["Source"]["properties"]["toy"]["description"] == "A made-up table."
        assert "toy" in schema["$defs"]["CurrentSource"]["properties"]
        assert "rows" in schema["$defs"]["ToyTable"]["properties"]
        assert "| `toy` |" in readme and "| `rows` |" in readme
        assert docs.schema_json() != committed
    assert docs.schema_json() == committed and "toy" not in SOURCE_KINDS
    _, errors = _load(tmp_path, "4")
    assert errors[0].startswith("toy.yaml:10 data.reference.toy: unknown key 'toy'")


def test_a_source_kind_cannot_take_a_key_a_source_has() -> None:
    class Clash(Strict):
        window: str

    with pytest.raises(ValueError, match="cannot have the key 'window'"):
        register(SourceKind(key="clash", model=Clash, reader=ToyReader, label="clash"))
    assert "clash" not in SOURCE_KINDS
    assert "window" not in docs.policy_schema()["$defs"]["Source"]["properties"]
