"""`retrain emit-arrival` refuses a local path that does not exist, before it sends anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from retrain_core.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]


def nowhere() -> Any:
    """Prefect settings pointing at an API nobody serves (settings are cached per process)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"})


def test_a_missing_local_file_is_refused_before_any_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    with nowhere():  # a configured API that nothing listens on
        code = cli.main(["emit-arrival", "churn", "data/churn/batches/no-such-day.parquet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "data/churn/batches/no-such-day.parquet does not exist" in err, err
    assert "name the file that arrived" in err


def test_a_url_is_not_checked_locally(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    with nowhere():
        code = cli.main(["emit-arrival", "churn", "s3://bucket/churn/day-05.parquet"])
    err = capsys.readouterr().err
    assert code == 1 and "does not exist" not in err  # it got as far as the (absent) server
