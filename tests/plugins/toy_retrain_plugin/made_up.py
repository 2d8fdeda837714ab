"""A source kind: `{made_up: {rows: N}}` reads N made-up rows, one an hour from 2026-11-01."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from retrain_core.policy.base import Strict
from retrain_core.policy.source_kinds import SourceKind

START = datetime(2026, 11, 1, tzinfo=UTC)


class MadeUpTable(Strict):
    """How many rows to make up."""

    rows: int = Field(ge=1, description="How many rows.")


class MadeUpSettings(Strict):
    made_up: MadeUpTable = Field(description="A made-up table (for tests).")


@dataclass(frozen=True)
class MadeUpReader:
    """Reads the made-up table: tenure 0, 1, 2, ..., churned alternating, ts hourly."""

    settings: MadeUpSettings
    root: Path

    def read(self, columns: Sequence[str] | None, params: dict | None = None) -> Any:
        import pandas as pd

        rows = self.settings.made_up.rows
        frame = pd.DataFrame(
            {
                "tenure": [float(i) for i in range(rows)],
                "churned": [i % 2 for i in range(rows)],
                "ts": [START + timedelta(hours=i) for i in range(rows)],
            }
        )
        return frame if columns is None else frame[[c for c in columns if c in frame]]

    def describe(self) -> str:
        return f"a made-up table of {self.settings.made_up.rows} rows"

    def watermark_kind(self, timestamp: str | None) -> Literal["files", "timestamp"]:
        return "timestamp"


SOURCE = SourceKind(key="made_up", model=MadeUpSettings, reader=MadeUpReader, label="made-up")
