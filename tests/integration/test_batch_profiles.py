"""Each batch is profiled once, streamed chunk by chunk, and its profile kept in MLflow by its
content key: a later check reads no rows of it (real Parquet and CSV files, real MLflow)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retrain_core.checks.batch_profile import profile_frame
from retrain_core.checks.profile import build_profile
from retrain_core.data.files import iter_file, list_paths
from retrain_core.monitor import batch_profiles
from retrain_core.monitor.batch_profiles import window_profile
from retrain_core.store import Store

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def batch(seed: int, rows: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=rows), "plan": rng.choice(["a", "b"], rows),
        "at": pd.Timestamp("2026-02-01", tz="UTC") + pd.to_timedelta(np.arange(rows), unit="s"),
    })  # fmt: skip


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_batches_are_profiled_once_and_a_later_check_reads_only_the_new_one(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cur"
    folder.mkdir()
    frames = [batch(i) for i in range(3)]
    for i, frame in enumerate(frames):
        if fmt == "parquet":
            frame.to_parquet(folder / f"b{i}.parquet", row_group_size=700)
        else:
            frame.to_csv(folder / f"b{i}.csv", index=False)
    files = list_paths(f"cur/*.{fmt}", fmt, tmp_path)
    reference = build_profile(batch(99, 5_000), ["x"], ["plan"])
    registry = Store(f"sqlite:///{tmp_path}/mlflow.db").registry
    chunk_rows = []
    real = batch_profiles.iter_file

    def counted(*args, **kwargs):
        for chunk in real(*args, **kwargs):
            chunk_rows.append(chunk.num_rows)
            yield chunk

    monkeypatch.setattr(batch_profiles, "iter_file", counted)
    monkeypatch.setattr(batch_profiles, "CHUNK_ROWS", 1_000)
    args = (reference, ["x"], ["plan"], "at", NOW)
    first = window_profile(registry, "p", files, files.keys[:2], *args)
    assert (first.batches, first.profiled) == (2, 2)
    assert sum(chunk_rows) == 6_000
    if fmt == "parquet":  # streamed by row group, cut to CHUNK_ROWS (a CSV by 1 MiB blocks)
        assert max(chunk_rows) <= 1_000 and len(chunk_rows) > 2
    whole = profile_frame(pd.concat(frames[:2]), reference, ["x"], ["plan"], "at")
    assert first.profile.rows == 6_000 and first.profile.counts == whole.counts
    assert np.array_equal(first.profile.bins["x"], whole.bins["x"])
    assert first.profile.newest == whole.newest

    chunk_rows.clear()
    again = Store(f"sqlite:///{tmp_path}/mlflow.db").registry  # another process, same store
    later = window_profile(again, "p", files, files.keys, *args)
    assert (later.batches, later.profiled) == (3, 1) and sum(chunk_rows) == 3_000
    assert later.profile.rows == 9_000

    other = build_profile(batch(98, 5_000), ["x"], ["plan"])  # a new reference: binned again
    assert window_profile(again, "p", files, files.keys, other, *args[1:]).profiled == 3


def test_a_file_that_is_not_parquet_is_bad_data(tmp_path: Path) -> None:
    from retrain_core.data.errors import BadData

    (tmp_path / "b.parquet").write_bytes(b"not parquet at all")
    files = list_paths("b.parquet", "parquet", tmp_path)
    with pytest.raises(BadData, match="cannot read as parquet"):
        list(iter_file(files, files.paths[0], ["x"]))
