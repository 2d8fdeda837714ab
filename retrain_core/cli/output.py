"""What a command prints: its own output, and other libraries' lines only with `--verbose`.

Set once when the command starts (`configure`), before Prefect or MLflow is imported: MLflow's
artifact progress bars and per-run URLs off, MLflow's and alembic's setup lines ("Creating
initial MLflow database tables") and Prefect's per-task INFO lines kept out of the terminal.
Prefect's console handler gets the level, not Prefect's loggers: a flow run's log lines still
reach the Prefect API, so each run's page shows its logs. `--verbose` shows the INFO lines,
`--quiet` only errors. A variable the user set in the environment is kept, unless a flag asks.
Standard library only: `retrain validate` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

QUIET, NORMAL, VERBOSE = -1, 0, 1
LEVELS = {QUIET: "ERROR", NORMAL: "WARNING", VERBOSE: "INFO"}
LIBRARY_LOGGERS = ("mlflow", "alembic")  # their setup lines, at the chosen level


def configure(verbosity: int = NORMAL) -> None:
    """Quiet the third-party output of this process (and of the processes it starts)."""
    from retrain_core.base.settings import QUIET_MLFLOW

    level = LEVELS[verbosity]
    env = {
        **QUIET_MLFLOW,
        "MLFLOW_LOGGING_LEVEL": level,
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": level,
    }
    for key, value in env.items():
        if verbosity != NORMAL and key not in QUIET_MLFLOW:
            os.environ[key] = value  # the flag asked for it
        else:
            os.environ.setdefault(key, value)
    chosen = os.environ["MLFLOW_LOGGING_LEVEL"]
    for name in LIBRARY_LOGGERS:  # already imported (in-process callers, tests): set them too
        logging.getLogger(name).setLevel(chosen)
    if "prefect" in sys.modules:  # its logging is set up already: its console handlers
        from prefect.logging.handlers import PrefectConsoleHandler

        console = os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"]
        for logger in [
            logging.getLogger(),
            *map(logging.getLogger, logging.root.manager.loggerDict),
        ]:
            for handler in logger.handlers:
                if isinstance(handler, PrefectConsoleHandler):
                    handler.setLevel(console)


def verbosity(args: object) -> int:
    """The verbosity `--verbose` / `--quiet` asked for."""
    if getattr(args, "quiet", False):
        return QUIET
    return VERBOSE if getattr(args, "verbose", False) else NORMAL


def table(*columns: str, wrap: str = "", numbers: tuple[str, ...] = ()) -> Any:
    """A rich table in the commands' style: no borders, a header; the column named `wrap` (the
    reasons) takes the room left and wraps, the others stay on one line, `numbers` on the
    right."""
    from rich.table import Table

    found = Table(box=None, pad_edge=False, show_edge=False)
    for column in columns:
        if column == wrap:
            found.add_column(column, overflow="fold", ratio=1)
        else:
            found.add_column(column, no_wrap=True, justify="right" if column in numbers else "left")
    return found


def show(renderable: Any) -> None:
    """Print a rich renderable on stdout: wrapped to a terminal's width; redirected (a file, a
    pipe, a log), as wide as it is, so that no line is broken (up to 400 columns)."""
    from rich.console import Console

    if sys.stdout.isatty():
        Console().print(renderable)
        return
    wide = Console(width=400)
    width = wide.measure(renderable).maximum
    Console(width=max(min(width, 400), 40)).print(renderable)


def progress_line(text: str, args: object, console: Any = None) -> Any:
    """One transient line on stderr while long work runs (a spinner and `text`), gone when it
    ends; nothing when stderr is not a terminal, with `--quiet`, or with `--verbose` (whose
    library lines would break it). A context manager."""
    from contextlib import nullcontext

    from rich.console import Console

    console = console or Console(stderr=True)
    if verbosity(args) != NORMAL or not console.is_terminal:
        return nullcontext()
    return console.status(text)
