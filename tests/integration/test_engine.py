"""The warm engine (`retrain-engine`) as a worker runs it: a real fork of a real warm process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from retrain_core.runtime.engine import code_stamp, stop_all

ENGINE = Path(sys.executable).parent / "retrain-engine"


def _engine(folder: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RETRAIN_ENGINE_DIR": str(folder), "RETRAIN_ENGINE_IDLE_SECONDS": "60"}
    env["RETRAIN_PROBE"] = "from-the-client"
    return subprocess.run(
        [str(ENGINE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text()[:60]


def test_runs_fork_from_one_warm_engine_with_the_clients_streams_and_exit_code(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "engine"
    try:
        first = _engine(folder, "not-a-flow-run-id", cwd=tmp_path)
        # prefect.engine's own answer to a bad id, on the client's stderr, with its exit code
        assert first.returncode == 1, first.stderr
        assert "Invalid flow run id" in first.stderr
        assert "no warm engine" not in first.stderr  # it was started, not bypassed
        (pid_file,) = folder.glob("engine-*.pid")
        pid = int(pid_file.read_text())
        second = _engine(folder, "still-not-an-id", cwd=tmp_path)
        assert second.returncode == 1 and "still-not-an-id" in second.stderr
        assert [int(p.read_text()) for p in folder.glob("engine-*.pid")] == [pid]  # reused
        log = next(folder.glob("engine-*.log")).read_text()
        assert "could not preload" not in log, log
    finally:
        assert stop_all(folder) == 1
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)
    assert not list(folder.glob("engine-*.sock"))


def test_without_a_usable_engine_folder_it_runs_prefects_engine_itself(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    result = _engine(blocked, "not-a-flow-run-id", cwd=tmp_path)
    assert result.returncode == 1
    assert "Invalid flow run id" in result.stderr


def test_a_changed_source_file_of_retrain_core_means_a_new_engine(tmp_path: Path) -> None:
    package = tmp_path / "retrain_core"
    shutil.copytree(Path(__file__).resolve().parents[2] / "retrain_core" / "base", package)
    (package / "__pycache__").mkdir(exist_ok=True)
    before = code_stamp(package)
    (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")  # bytecode is not source
    assert code_stamp(package) == before
    source = package / "errors.py"
    source.write_text(source.read_text() + "\n# edited\n")
    assert code_stamp(package) != before
