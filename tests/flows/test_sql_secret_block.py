"""A SQL source whose URL (credentials included) lives in a Prefect Secret block."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest

from retrain_core.data import SourceUnavailable, read_source
from retrain_core.data.readers import describe
from retrain_core.data.sources.sql import SqlQuery
from retrain_core.policy.sources import Source


def test_sql_url_from_a_prefect_secret_block(tmp_path: Path) -> None:
    from prefect.blocks.system import Secret

    database = tmp_path / "warehouse.db"
    with sqlite3.connect(database) as connection:
        pd.DataFrame({"id": [1, 2, 3]}).to_sql("t", connection, index=False)
    name = f"retrain-test-db-{uuid.uuid4().hex[:8]}"
    Secret(value=f"sqlite:///{database}").save(name)
    source = Source(sql=SqlQuery(url_secret=name, query="SELECT id FROM t"))
    assert read_source(source, None, tmp_path)["id"].tolist() == [1, 2, 3]
    assert describe(source) == f"sql on secret {name}"
    missing = Source(sql=SqlQuery(url_secret=f"{name}-missing", query="SELECT 1"))
    with pytest.raises(SourceUnavailable, match="cannot load the Secret block"):
        read_source(missing, None, tmp_path)
