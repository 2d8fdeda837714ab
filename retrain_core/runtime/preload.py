"""What a run imports before it starts (retrain_core.base.heavy's PRELOAD, and retrain_core
itself for the warm engine), and how the cyclic garbage collector is kept off those modules.

Used by the warm engine (`runtime/engine.py`) and by `retrain run` (`cli/run.py`). Standard
library only at import time: the engine's client imports this module too.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import warnings
from typing import Any

from retrain_core.base.heavy import PRELOAD


def preload(project: bool = False) -> dict[str, Exception]:
    """Import PRELOAD (what a run would import) and, with `project`, every module of retrain_core
    but its CLI; the modules that failed, with why.

    A run imports what it needs itself and reports its own problems.
    """
    import pkgutil

    import retrain_core

    names = list(PRELOAD)
    if project:
        modules = pkgutil.walk_packages(retrain_core.__path__, "retrain_core.")
        names += sorted(m.name for m in modules if not m.name.startswith("retrain_core.cli"))
    failed: dict[str, Exception] = {}
    with warnings.catch_warnings():  # import-time notes (MLflow's on a PythonModel's type hints)
        warnings.simplefilter("ignore")
        for name in names:
            try:
                __import__(name)
            except Exception as exc:
                failed[name] = exc
    return failed


@contextlib.contextmanager
def imports_without_gc() -> Any:
    """Pause the cyclic garbage collector while the run imports its libraries, then freeze them.

    A run imports ~1 GB of modules: the collector's full passes over that growing heap took
    ~2 CPU-seconds during the imports, and would take as long again at the interpreter's exit.
    Imports make almost no cyclic garbage; what they made is frozen (exempt from later passes,
    freed by reference counting as usual), so the collector resumes on the run's own objects.
    Only imports go in here: work that makes garbage cycles (MLflow's migrations) runs after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def fast_exit() -> None:
    """At exit, freeze what is left so that the interpreter's final collections skip it.

    Without it the interpreter's shutdown spends ~2 s in full collections of the run's heap
    before the process ends; the memory goes with the process either way (only `__del__` of
    objects left in reference cycles, which Python does not promise to call at exit, is
    skipped). Registered with atexit before the run starts, so it runs after the exit handlers
    registered later (Prefect's log and event flush, the API process's stop).
    """
    atexit.register(gc.freeze)
