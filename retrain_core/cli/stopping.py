"""How `retrain run` stops: SIGTERM and Ctrl-C unwind the run in seconds, and the embedded API
it starts early stays out of the terminal's Ctrl-C and ends with it."""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def stop_on_signals() -> None:
    """SIGTERM and Ctrl-C (SIGINT, to the whole process group) stop the command: the run
    unwinds (its lock released, an MLflow run in progress marked FAILED, Prefect's embedded API
    stopped) and exits 143 or 130 in seconds.

    Inside a flow Prefect's handler raises first, then passes the signal on to this one. The
    first raise can be lost: CPython drops an exception a signal handler raises while a
    finalizer runs (a SQLAlchemy weakref callback, seen in tests). So the signal is also noted
    below Python, on a wakeup fd, and a watcher thread raises it again each second until this
    handler has run, and again when its raise was dropped (`sys.unraisablehook` sees it); after
    STOP_SECONDS it ends the process (a lock it held is given back:
    runtime/leases.py; an MLflow run left unfinished counts for nothing).
    """
    import signal
    import threading

    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()
        raise SystemExit(128 + signum)

    def dropped(info: Any, previous: Any = sys.unraisablehook) -> None:
        if isinstance(info.exc_value, SystemExit) and stopping.is_set():
            stopping.clear()  # raised inside a finalizer and dropped: the watcher raises again
        previous(info)

    sys.unraisablehook = dropped

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch_signals, args=(read, stopping), daemon=True).start()


STOP_SECONDS = 30.0


def _watch_signals(fd: int, stopping: Any) -> None:
    """Wait for a SIGTERM or SIGINT on the wakeup fd; raise it again in the main thread each
    second until `stopping` is set; end the process STOP_SECONDS after the signal."""
    import _thread
    import signal

    wanted = {signal.SIGTERM, signal.SIGINT}
    while not (got := wanted.intersection(os.read(fd, 512))):
        pass
    signum = min(got)
    deadline = time.monotonic() + STOP_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        if not stopping.is_set():  # not yet handled, or its raise was dropped (unraisablehook)
            _thread.interrupt_main(signum)
    os._exit(128 + signum)


def apart_from_ctrl_c() -> dict[str, Any]:
    """Popen options that keep the API out of the terminal's Ctrl-C (its own process group),
    so that the run, not the API, gets it and unwinds through the API before stopping it (an API
    stopped first left the run's last calls retrying for half a minute), and that end the API
    with its parent on Linux even when the parent is killed (no API left behind)."""
    if sys.platform != "linux":
        return {}

    def die_with_parent() -> None:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return {"process_group": 0, "preexec_fn": die_with_parent}
