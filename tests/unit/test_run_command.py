"""`retrain run`'s start-up helpers: the API command Prefect would build, the collector pauses."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from retrain_core.cli.run import api_command, imports_without_gc

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration  # imports Prefect's whole API server (~3 CPU s)
def test_api_command_is_the_one_prefect_builds_for_its_ephemeral_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Prefect upgrade that changes how it starts its ephemeral API fails here."""
    import prefect.server.api.server as server_module

    launched: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(*args: Any, **kwargs: Any) -> None:
        launched.append((args, kwargs))

    # only that module's name for subprocess is replaced: nothing is started
    monkeypatch.setattr(server_module, "subprocess", types.SimpleNamespace(Popen=record))
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "123")  # a set one
    server = server_module.SubprocessASGIServer(port=8765)
    server.port = 8765
    try:
        server._run_uvicorn_command()
    finally:
        server.stop()
    ((positional, keywords),) = launched
    command, env = api_command(8765)
    assert positional == () and set(keywords) == {"args", "env"}, launched
    assert keywords["args"] == command
    assert keywords["env"] == env
    # a setting set for this process reaches the API process (its value: the settings in force,
    # which a surrounding test harness may have set too)
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in env


def test_imports_without_gc_pauses_the_collector_and_freezes_what_was_made() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with imports_without_gc():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]  # tracked objects, alive after the block
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
        gc.disable()
        with imports_without_gc():
            pass
        assert not gc.isenabled(), "a collector the caller disabled was turned on"
    finally:
        gc.unfreeze()
        gc.enable()


def test_fast_exit_freezes_the_heap_after_the_other_exit_handlers() -> None:
    script = (
        "import atexit, gc\n"
        "from retrain_core.cli.run import fast_exit\n"
        # registered first, so it runs last: after fast_exit's freeze
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 1000))\n"
        "fast_exit()\n"
        "atexit.register(lambda: print('frozen before:', gc.get_freeze_count() > 1000))\n"
        "heap = [[i] for i in range(5000)]\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["frozen before: False", "frozen at exit: True"]
