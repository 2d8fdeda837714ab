"""A batch's verdict belongs to its content: fingerprints in the files watermark.

A file is hashed once per content (its size and modification time say when to hash again); a
file rewritten in place after its check is judged again, a file only touched is not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _data import churn_frame, churn_policy

from retrain_core.data import batches
from retrain_core.data.files import list_paths
from retrain_core.data.prints import fingerprints
from retrain_core.data.watermark import Watermark
from retrain_core.data.windows import load_window


def test_prints_round_trip_and_follow_their_keys() -> None:
    mark = Watermark(files=("a", "b"), prints={"a": "1|2#x", "b": "3|4#y", "gone": "5|6#z"})
    assert mark.prints == {"a": "1|2#x", "b": "3|4#y"}  # only judged keys keep one
    assert Watermark.from_json(mark.to_json()) == mark
    after = mark.after_files(["a", "c"], ["c"], {"c": "7|8#w"})
    assert after.files == ("a", "c") and after.prints == {"a": "1|2#x", "c": "7|8#w"}
    assert Watermark.from_json('{"v":1,"files":["a"]}').prints == {}  # older watermarks


def test_a_file_is_hashed_once_per_content(tmp_path: Path, monkeypatch) -> None:
    churn_frame(20).to_parquet(tmp_path / "a.parquet")
    files = list_paths("*.parquet", "parquet", tmp_path)
    marks = {key: key for key in files.keys}
    first = fingerprints(files, marks, files.keys, {})
    assert first.rewritten == frozenset()

    def no_hash(*args: object) -> str:
        raise AssertionError("hashed a file whose size and time are unchanged")

    monkeypatch.setattr("retrain_core.data.prints.content_digest", no_hash)
    assert fingerprints(files, marks, files.keys, first.now).now == first.now
    monkeypatch.undo()

    stat = (tmp_path / "a.parquet").stat()
    os.utime(tmp_path / "a.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = list_paths("*.parquet", "parquet", tmp_path)
    assert fingerprints(touched, marks, touched.keys, first.now).rewritten == frozenset()
    churn_frame(20, seed=1).to_parquet(tmp_path / "a.parquet")
    rewritten = list_paths("*.parquet", "parquet", tmp_path)
    assert fingerprints(rewritten, marks, rewritten.keys, first.now).rewritten == {"a.parquet"}


@pytest.mark.parametrize("same_rows", [False, True])
def test_a_rewritten_batch_is_read_again(tmp_path: Path, same_rows: bool) -> None:
    """Even rewritten with its own rows (another encoding), it is not a second delivery."""
    policy = churn_policy()
    (tmp_path / "cur").mkdir()
    path = tmp_path / "cur" / "a.parquet"
    churn_frame(30).to_parquet(path)
    source = policy.data.current
    first = load_window(source, None, tmp_path, "event_time")
    assert first.rows == 30 and first.watermark is not None
    assert load_window(source, None, tmp_path, "event_time", first.watermark).rows == 0
    churn_frame(30, seed=0 if same_rows else 5).to_parquet(path, compression="gzip")
    again = load_window(source, None, tmp_path, "event_time", first.watermark)
    assert again.rows == 30 and [b.rewritten for b in again.batches] == [True]
    assert again.quarantined == ()
    assert batches.data_digest(again.frame) == batches.data_digest(first.frame) or not same_rows
