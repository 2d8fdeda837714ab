"""The `retrain-process` worker type: Prefect's process worker, starting each flow run from the
warm engine (`retrain_core/runtime/engine.py`) through the worker's own interpreter.

Prefect's process worker starts a run as `<its interpreter> -m prefect.engine`, which works
wherever the worker runs (by absolute path, with a bare PATH, as a service manager starts it)
but imports everything again per run. This type differs in that one command only: `<its
interpreter> -m retrain_core.runtime.engine`, never a name looked up on PATH. Prefect finds it
through the `prefect.collections` entry point (pyproject.toml), as it finds its own integrations'
workers. A deployment's own `command` job variable still wins.

It also starts at most `default_limit()` flow runs at once (two per core) when `prefect worker
start` is not given `--limit`: Prefect's own default is no limit, and a fleet's schedule then
starts every due run at once (200 policies on two cores: 34 runs began together and the Prefect
server's database pool answered 500). `--limit N` still sets it.
"""

from __future__ import annotations

import os
from typing import Any

from prefect.utilities.processutils import command_to_string, get_sys_executable
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker

WORKER_TYPE = "retrain-process"
ENGINE_MODULE = "retrain_core.runtime.engine"


class WarmJobConfiguration(ProcessJobConfiguration):
    """A process job whose default command is the warm engine under the worker's interpreter."""

    def prepare_for_flow_run(self, *args: Any, **kwargs: Any) -> None:
        """Prefect's preparation, then the warm engine as the command unless one was set."""
        super().prepare_for_flow_run(*args, **kwargs)
        if not self._command_configured:
            self.command = command_to_string([get_sys_executable(), "-m", ENGINE_MODULE])
            self._command_configured = True


class WarmProcessWorker(ProcessWorker):
    """`prefect worker start --pool P` on a pool of type `retrain-process`."""

    type = WORKER_TYPE
    job_configuration = WarmJobConfiguration
    _description = (
        "Execute flow runs as subprocesses forked from retrain's warm engine, which imported "
        "the heavy libraries once (a process worker otherwise)."
    )
    _display_name = "Retrain warm process"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("limit") is None:  # Prefect's CLI passes limit=None without --limit
            kwargs["limit"] = default_limit()
        super().__init__(*args, **kwargs)


def default_limit() -> int:
    """How many flow runs a `retrain-process` worker started without `--limit` runs at once:
    two per core (a check waits on its stores part of the time; more only queue for the CPU)."""
    return 2 * (os.cpu_count() or 1)
