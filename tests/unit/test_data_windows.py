"""Window kinds and watermarks: every batch judged exactly once, whatever order it arrives in."""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from retrain_core.data import (
    BadData,
    DataConfigError,
    LoadedWindow,
    Watermark,
    load_reference,
    load_window,
)
from retrain_core.data.batches import Rules
from retrain_core.data.sources.sql import SqlQuery
from retrain_core.policy.sources import CurrentSource, Window

T0 = datetime(2024, 1, 1, tzinfo=UTC)
COLUMNS = ["id", "x", "ts"]


def batch(start: int, rows: int = 2, day: int = 0) -> pd.DataFrame:
    """Rows with ids start.., an hourly timestamp from T0 + day, and an unused column."""
    ids = range(start, start + rows)
    stamps = [T0 + timedelta(days=day, hours=i) for i in range(rows)]
    return pd.DataFrame({"id": list(ids), "x": [float(i) for i in ids], "ts": stamps, "z": 0})


def put(root: Path, name: str, frame: pd.DataFrame) -> None:
    """Write a batch file under root/batches by extension."""
    path = root / "batches" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def since(path: str = "batches/*.parquet") -> CurrentSource:
    """A since_last_check source on a path."""
    return CurrentSource(path=path, window="since_last_check")


def check(root: Path, source: CurrentSource, mark: Watermark | None, ts: str | None = "ts"):
    """One monitor check: load, then round-trip the new watermark through its JSON (the ledger)."""
    loaded = load_window(source, COLUMNS, root, ts, mark)
    assert loaded.watermark is not None
    text = loaded.watermark.to_json()
    return loaded, Watermark.from_json(text)


def test_since_last_check_twice_sees_no_new_rows_the_second_time(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    put(tmp_path, "b2.parquet", batch(10, day=1))
    first, mark = check(tmp_path, since(), None)
    assert first.frame["id"].tolist() == [0, 1, 10, 11]
    assert list(first.frame.columns) == COLUMNS
    assert (first.rows, first.new_rows, first.files) == (4, 4, ("b1.parquet", "b2.parquet"))
    assert first.bounds == (T0, T0 + timedelta(days=1, hours=1))
    second, again = check(tmp_path, since(), mark)
    assert (second.rows, second.new_rows, second.files) == (0, 0, ())
    assert list(second.frame.columns) == COLUMNS
    assert again == mark and second.newest is None


def test_a_late_batch_with_an_older_name_is_judged_exactly_once(tmp_path: Path) -> None:
    put(tmp_path, "2024-01-02.parquet", batch(20, day=2))
    put(tmp_path, "2024-01-03.parquet", batch(30, day=3))
    _, mark = check(tmp_path, since(), None)
    put(tmp_path, "2024-01-01.parquet", batch(10, day=1))  # arrives late, sorts first
    late, mark = check(tmp_path, since(), mark)
    assert late.files == ("2024-01-01.parquet",)
    assert late.frame["id"].tolist() == [10, 11]
    put(tmp_path, "2024-01-04.parquet", batch(40, day=4))
    newest, mark = check(tmp_path, since(), mark)
    assert newest.frame["id"].tolist() == [40, 41]
    assert check(tmp_path, since(), mark)[0].rows == 0


def test_files_watermark_works_without_a_timestamp(tmp_path: Path) -> None:
    put(tmp_path, "b.csv", batch(0))
    first, mark = check(tmp_path, since("batches/*.csv"), None, ts=None)
    assert first.rows == 2 and first.newest is None
    put(tmp_path, "a.csv", batch(5))
    second, _ = check(tmp_path, since("batches/*.csv"), mark, ts=None)
    assert second.frame["id"].tolist() == [5, 6]


def test_archived_files_leave_the_watermark(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    put(tmp_path, "b2.parquet", batch(10))
    _, mark = check(tmp_path, since(), None)
    (tmp_path / "batches" / "b1.parquet").unlink()
    _, mark = check(tmp_path, since(), mark)
    assert mark.files == ("b2.parquet",)


def test_single_file_without_timestamp_is_judged_again_when_rewritten(tmp_path: Path) -> None:
    put(tmp_path, "export.csv", batch(0))
    source = since("batches/export.csv")
    first, mark = check(tmp_path, source, None, ts=None)
    assert first.rows == 2
    assert check(tmp_path, source, mark, ts=None)[0].rows == 0
    put(tmp_path, "export.csv", batch(100, rows=3))
    assert check(tmp_path, source, mark, ts=None)[0].frame["id"].tolist() == [100, 101, 102]


def test_single_file_with_timestamp_uses_a_timestamp_watermark(tmp_path: Path) -> None:
    put(tmp_path, "log.csv", batch(0, rows=3))
    source = since("batches/log.csv")
    first, mark = check(tmp_path, source, None)
    assert mark.timestamp == T0 + timedelta(hours=2) and mark.files == ()
    assert str(first.frame["ts"].dtype) == "datetime64[ns, UTC]"
    put(tmp_path, "log.csv", pd.concat([batch(0, rows=3), batch(7, rows=1, day=1)]))
    second, _ = check(tmp_path, source, mark)
    assert second.frame["id"].tolist() == [7] and second.new_rows == 1


def test_last_rows_by_timestamp_and_by_order(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0, rows=3, day=5))
    put(tmp_path, "b2.parquet", batch(10, rows=3, day=1))  # older rows in a later file
    source = CurrentSource(path="batches/*.parquet", window={"last_rows": 2})
    by_time = load_window(source, COLUMNS, tmp_path, "ts", None)
    assert by_time.frame["id"].tolist() == [1, 2]
    by_order = load_window(source, COLUMNS, tmp_path, None, None)
    assert by_order.frame["id"].tolist() == [11, 12]
    assert by_order.new_rows == 6 and by_order.window == "last_rows=2"


def test_last_duration_is_measured_from_the_newest_row(tmp_path: Path) -> None:
    for day in range(10):
        put(tmp_path, f"d{day}.parquet", batch(day * 10, rows=1, day=day))
    source = CurrentSource(path="batches/*.parquet", window={"last": "3d"})
    loaded = load_window(source, COLUMNS, tmp_path, "ts", None)
    assert loaded.frame["id"].tolist() == [70, 80, 90]
    assert loaded.bounds == (T0 + timedelta(days=7), T0 + timedelta(days=9))
    assert loaded.window == "last=3d"


def test_no_window_key_means_every_row_and_counts_the_new_ones(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    source = CurrentSource(path="batches/*.parquet", window="all")
    _, mark = check(tmp_path, source, None)
    put(tmp_path, "b2.parquet", batch(10))
    loaded, _ = check(tmp_path, source, mark)
    assert (loaded.rows, loaded.new_rows, loaded.window) == (4, 2, "all")


def test_windows_that_need_a_timestamp_say_so(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    last = CurrentSource(path="batches/*.parquet", window={"last": "7d"})
    with pytest.raises(DataConfigError, match=r"needs data\.timestamp"):
        load_window(last, COLUMNS, tmp_path, None, None)
    with pytest.raises(BadData, match="timestamp column 'when' is missing"):
        load_window(last, COLUMNS, tmp_path, "when", None)
    sql = CurrentSource(sql=SqlQuery(url="sqlite://", query="SELECT 1"))
    with pytest.raises(DataConfigError, match=r"SQL source needs data\.timestamp"):
        load_window(sql, None, tmp_path, None, None)


def test_unparseable_timestamp_is_bad_data_when_the_window_needs_it(tmp_path: Path) -> None:
    put(tmp_path, "b1.csv", batch(0).assign(ts=["soon", "later"]))
    source = CurrentSource(path="batches/b1.csv", window="since_last_check")
    with pytest.raises(BadData, match="not parseable"):
        load_window(source, COLUMNS, tmp_path, "ts", None)


@pytest.fixture
def events_db(tmp_path: Path) -> Path:
    """A SQLite table events(id, x, ts) with naive UTC ISO timestamps."""
    path = tmp_path / "events.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER, x REAL, ts TEXT)")
    return path


def insert(path: Path, frame: pd.DataFrame) -> None:
    """Append rows with timestamps as 'YYYY-MM-DD HH:MM:SS' text."""
    rows = [(int(r.id), float(r.x), r.ts.strftime("%Y-%m-%d %H:%M:%S")) for r in frame.itertuples()]
    with sqlite3.connect(path) as connection:
        connection.executemany("INSERT INTO events VALUES (?, ?, ?)", rows)


@pytest.mark.parametrize(
    "query", ["SELECT * FROM events", "SELECT * FROM events WHERE ts > :watermark ORDER BY id"]
)
def test_sql_since_last_check_with_timestamp_watermark(events_db: Path, query: str) -> None:
    source = CurrentSource(sql=SqlQuery(url=f"sqlite:///{events_db}", query=query))
    insert(events_db, batch(0, rows=3))
    first, mark = check(Path("/"), source, None)
    assert first.frame["id"].tolist() == [0, 1, 2]
    assert mark.timestamp == T0 + timedelta(hours=2)
    assert check(Path("/"), source, mark)[0].rows == 0
    insert(events_db, batch(10, rows=2, day=1))
    third, _ = check(Path("/"), source, mark)
    assert third.frame["id"].tolist() == [10, 11] and third.new_rows == 2
    assert third.source.startswith("sql on sqlite:///")


def test_a_query_read_with_keep_rows_keeps_its_newest_rows_and_counts_them_all(
    events_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first check of a large SQL source (no watermark) holds only the newest rows it keeps,
    streamed in chunks, with the same count, watermark and future rows as reading it whole."""
    from retrain_core.data.sources.sql import SqlSource

    streamed = SqlSource.stream
    chunks: list[int] = []

    def small_chunks(self: SqlSource, columns: Any, params: Any = None, rows: int = 0) -> Any:
        for chunk in streamed(self, columns, params, 64):  # several chunks, each held alone
            chunks.append(len(chunk))
            yield chunk

    frame = batch(0, rows=500, day=0)
    insert(events_db, frame.sample(frac=1.0, random_state=3))  # stored out of time order
    source = CurrentSource(
        sql=SqlQuery(url=f"sqlite:///{events_db}", query="SELECT * FROM events ORDER BY id DESC")
    )
    latest = T0 + timedelta(hours=449)  # the newest 50 rows are in the future
    rules = Rules(timestamp="ts", latest=latest)
    window = Window(since_last_check=True)
    whole = load_window(source, COLUMNS, Path("/"), "ts", None, rules=rules, window=window)
    monkeypatch.setattr(SqlSource, "stream", small_chunks)
    kept = load_window(
        source, COLUMNS, Path("/"), "ts", None, rules=rules, window=window, keep_rows=100
    )
    assert len(chunks) == 8 and sum(chunks) == 500
    assert whole.rows == 450 and kept.rows == 100
    assert sorted(kept.frame["id"]) == list(range(350, 450))  # the newest 100 not in the future
    assert (kept.new_rows, kept.future) == (whole.new_rows, whole.future) == (450, 50)
    assert kept.watermark == whole.watermark
    assert kept.watermark is not None and kept.watermark.timestamp == latest
    later = load_window(
        source, COLUMNS, Path("/"), "ts", kept.watermark, rules=replace(rules, latest=None),
        window=window, keep_rows=100,
    )  # fmt: skip
    assert sorted(later.frame["id"]) == list(range(450, 500)) and later.new_rows == 50


def test_watermark_round_trip() -> None:
    marks = [
        Watermark(),
        Watermark(timestamp=datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        Watermark(files=("b.parquet", "a.parquet", "a.parquet")),
        Watermark(files=("x/2.csv", "x/3.csv"), floor="x/1.csv"),
    ]
    for mark in marks:
        assert Watermark.from_json(mark.to_json()) == mark
    assert marks[2].files == ("a.parquet", "b.parquet")
    assert json.loads(marks[3].to_json()) == {
        "v": 1,
        "floor": "x/1.csv",
        "files": ["x/2.csv", "x/3.csv"],
    }
    naive = Watermark(timestamp=datetime(2024, 1, 1))
    assert naive.timestamp == T0
    with pytest.raises(DataConfigError, match="unreadable watermark"):
        Watermark.from_json('{"v": 99}')


def test_long_file_lists_are_kept_whole_and_old_compressed_or_folded_ones_still_read() -> None:
    many = [f"{i:06d}-{hash(str(i)) & 0xFFFFFFFF:08x}-events.parquet" for i in range(20_000)]
    whole = Watermark().after_files(many, many)
    assert whole.floor is None and len(whole.files) == len(many)  # the ledger stores it
    assert Watermark.from_json(whole.to_json()) == whole
    # written by the compressing writer (before watermarks could be artifacts): still read
    packed = base64.b64encode(zlib.compress("\n".join(many[100:]).encode(), 9)).decode()
    old = Watermark.from_json(json.dumps({"v": 1, "floor": many[99], "files_z": packed}))
    assert old.floor == many[99] and all(old.seen(name) for name in many)
    assert not old.seen("999999-new.parquet")
    assert old.after_files(many, ["999999-new.parquet"]).floor == many[99]


def test_reference_has_bounds_and_no_watermark(tmp_path: Path) -> None:
    put(tmp_path, "ref.csv", batch(0, rows=4))
    from retrain_core.policy.sources import Source

    loaded = load_reference(Source(path="batches/ref.csv"), ["id", "ts"], tmp_path, "ts")
    assert isinstance(loaded, LoadedWindow)
    assert loaded.watermark is None and loaded.new_rows is None
    assert loaded.bounds == (T0, T0 + timedelta(hours=3))
    summary = loaded.summary()
    assert json.loads(json.dumps(summary))["newest"] == "2024-01-01T03:00:00+00:00"
    assert summary["rows"] == 4 and summary["source"] == "batches/ref.csv"


def test_window_key_accepts_the_policy_shorthands() -> None:
    assert Window.model_validate("all") == Window()
    assert CurrentSource(path="x.csv").window.since_last_check


# ---- batches that cannot be judged are set aside, one file at a time ---------------------------


def rules(problems: Any = None, earlier: Any = None) -> Rules:
    """Batch rules: a column check on 'x' (numeric) unless given, no known digests."""

    def numeric_x(name: str, frame: pd.DataFrame) -> list[str]:
        if "x" not in frame.columns:
            return [f"{name} has no column 'x'"]
        return [] if pd.api.types.is_numeric_dtype(frame["x"]) else [f"{name}: 'x' is text"]

    return Rules("current", problems or numeric_x, earlier, "ts")


def test_unreadable_and_failing_batches_are_set_aside_and_the_rest_is_judged(
    tmp_path: Path,
) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    (tmp_path / "batches" / "b2.parquet").write_bytes(b"")
    (tmp_path / "batches" / "b3.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    put(tmp_path, "b4.parquet", batch(10).assign(x="text"))
    put(tmp_path, "b5.parquet", batch(20).drop(columns=["x"]))
    loaded = load_window(since(), COLUMNS, tmp_path, "ts", None, rules=rules())
    assert sorted(loaded.frame["id"]) == [0, 1]
    reasons = {q.key: q.reason for q in loaded.quarantined}
    assert set(reasons) == {"b2.parquet", "b3.parquet", "b4.parquet", "b5.parquet"}
    assert "Parquet file size is 0 bytes" in reasons["b2.parquet"]
    assert "cannot read it as parquet" in reasons["b3.parquet"]
    assert reasons["b4.parquet"] == "the batch: 'x' is text"
    assert reasons["b5.parquet"] == "the batch has no column 'x'"
    assert loaded.watermark is not None and loaded.watermark.files == ("b1.parquet",)


def test_quarantined_batches_are_skipped_and_released_ones_read_again(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    put(tmp_path, "b2.parquet", batch(10))
    skipped = load_window(since(), COLUMNS, tmp_path, "ts", None, {"b2.parquet"}, rules())
    assert sorted(skipped.frame["id"]) == [0, 1] and skipped.quarantined == ()
    mark = skipped.watermark
    released = load_window(since(), COLUMNS, tmp_path, "ts", mark, (), rules())
    assert sorted(released.frame["id"]) == [10, 11]


def test_a_batch_delivered_twice_is_recognised_by_its_content(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    (tmp_path / "batches" / "b1-copy.parquet").write_bytes(
        (tmp_path / "batches" / "b1.parquet").read_bytes()
    )
    loaded = load_window(since(), COLUMNS, tmp_path, "ts", None, rules=rules())
    ((copy,),) = [loaded.quarantined]
    assert copy.key == "b1.parquet" and "same content as the batch b1-copy.parquet" in copy.reason
    put(tmp_path, "b3.parquet", batch(30))
    known = {loaded.batches[0].digest: "b1-copy.parquet"}
    again = rules(earlier=known.get)
    (tmp_path / "batches" / "b4.parquet").write_bytes(
        (tmp_path / "batches" / "b1-copy.parquet").read_bytes()
    )
    later = load_window(since(), COLUMNS, tmp_path, "ts", loaded.watermark, {"b1.parquet"}, again)
    assert [q.key for q in later.quarantined] == ["b4.parquet"]
    assert sorted(later.frame["id"]) == [30, 31]


def test_a_csv_with_another_delimiter_names_the_real_problem(tmp_path: Path) -> None:
    path = tmp_path / "batches" / "b1.csv"
    path.parent.mkdir(parents=True)
    batch(0, rows=600).to_csv(path, index=False, sep=";")
    loaded = load_window(since("batches/*.csv"), COLUMNS, tmp_path, "ts", None, rules=rules())
    ((bad,),) = [loaded.quarantined]
    assert bad.reason.startswith("one column found; is the delimiter ','?"), bad.reason
    assert "';'-separated" in bad.reason


def test_zoned_and_naive_batches_agree_and_a_single_bad_file_is_set_aside(
    tmp_path: Path,
) -> None:
    put(tmp_path, "b1.parquet", batch(0))
    put(tmp_path, "b2.parquet", batch(10, day=1).assign(ts=lambda f: f["ts"].dt.tz_localize(None)))
    loaded = load_window(since(), COLUMNS, tmp_path, "ts", None, rules=rules())
    assert loaded.quarantined == () and len(loaded.frame) == 4
    (tmp_path / "one.parquet").write_bytes(b"")
    single = CurrentSource(path="one.parquet", window="since_last_check")
    alone = load_window(single, COLUMNS, tmp_path, "ts", None, rules=rules())
    assert alone.frame.empty and [q.key.split("@")[0] for q in alone.quarantined] == ["one.parquet"]


def test_a_batch_rewritten_in_another_row_order_is_still_a_repeat(tmp_path: Path) -> None:
    put(tmp_path, "b1.parquet", batch(0, rows=5))
    shuffled = batch(0, rows=5).iloc[::-1]
    shuffled.to_parquet(tmp_path / "batches" / "b2.parquet", compression="gzip")
    loaded = load_window(since(), COLUMNS, tmp_path, "ts", None, rules=rules())
    assert [q.key for q in loaded.quarantined] == ["b2.parquet"]
    assert "same content as the batch b1.parquet" in loaded.quarantined[0].reason
