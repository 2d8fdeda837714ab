"""The machine-local copy of artifacts that never change (retrain_core/store/artifact_cache.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrain_core.store.artifact_cache import artifact

SERVER = "http://127.0.0.1:5000"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("RETRAIN_CACHE_DIR", str(folder))
    return folder


class Server:
    """Stands in for a tracking server's download: writes the artifact, counts the calls."""

    def __init__(self, text: str = "payload") -> None:
        self.calls = 0
        self.text = text

    def file(self, folder: Path) -> str:
        self.calls += 1
        (folder / "decision.json").write_text(self.text)
        return str(folder / "decision.json")

    def folder(self, folder: Path) -> str:
        self.calls += 1
        (folder / "model").mkdir()
        for name in ("MLmodel", "model.skops"):
            (folder / "model" / name).write_text(f"{name} {self.text}")
        return str(folder / "model")


def test_a_tracking_server_s_artifact_is_downloaded_once_then_read_from_the_copy() -> None:
    server = Server()
    for _ in range(3):
        with artifact(SERVER, ("run-1", "decision.json"), server.file) as path:
            assert path.read_text() == "payload"
    assert server.calls == 1
    for _ in range(2):
        with artifact(SERVER, ("model", "churn", "3", "runs:/x/model"), server.folder) as path:
            assert (path / "MLmodel").read_text() == "MLmodel payload"
    assert server.calls == 2
    other = Server("other run")  # another key, another server: another copy
    with artifact(SERVER, ("run-2", "decision.json"), other.file) as path:
        assert path.read_text() == "other run"
    with artifact("https://elsewhere", ("run-1", "decision.json"), other.file) as path:
        assert path.read_text() == "other run"
    assert other.calls == 2


def test_a_local_store_s_artifact_is_never_kept(cache: Path) -> None:
    server = Server()
    for _ in range(2):
        with artifact("sqlite:///mlflow.db", ("run-1", "decision.json"), server.file) as path:
            assert path.read_text() == "payload"
        assert not path.exists()  # its temporary folder is gone
    assert server.calls == 2
    assert not cache.exists()


def test_a_failed_download_keeps_nothing_and_the_next_read_tries_again(cache: Path) -> None:
    def broken(folder: Path) -> str:
        (folder / "half").write_text("half a file")
        raise OSError("connection reset")

    with (
        pytest.raises(OSError, match="connection reset"),
        artifact(SERVER, ("run-1", "decision.json"), broken),
    ):
        pass
    assert [p for p in cache.rglob("*") if p.is_file()] == []
    server = Server()
    with artifact(SERVER, ("run-1", "decision.json"), server.file) as path:
        assert path.read_text() == "payload"
    assert server.calls == 1


def test_past_its_size_limit_the_oldest_copies_go(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRAIN_CACHE_MB", str(2.5 / 1024))  # 2.5 KiB: two 1 KiB copies fit
    big = Server("x" * 1024)
    for run in ("run-1", "run-2", "run-3"):
        with artifact(SERVER, (run, "decision.json"), big.file):
            pass
        for place in cache.glob("*/*"):  # make the order of the copies unambiguous
            os.utime(place, (place.stat().st_mtime - 10,) * 2)
    assert big.calls == 3
    with artifact(SERVER, ("run-3", "decision.json"), big.file):
        pass
    with artifact(SERVER, ("run-2", "decision.json"), big.file):
        pass
    assert big.calls == 3  # the two newest stayed
    with artifact(SERVER, ("run-1", "decision.json"), big.file):
        pass
    assert big.calls == 4  # the oldest was removed
