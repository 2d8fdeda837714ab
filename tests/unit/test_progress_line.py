"""Long work shows one transient line on a terminal, and nothing in a log or with -q / -v."""

from __future__ import annotations

import io
from argparse import Namespace

from rich.console import Console

from retrain_core.cli.output import progress_line


def _shown(args: Namespace, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=60)
    with progress_line("checking churn", args, console):
        pass
    return out.getvalue()


def test_a_terminal_shows_the_line_while_the_work_runs() -> None:
    assert "checking churn" in _shown(Namespace(quiet=False, verbose=False), terminal=True)


def test_nothing_in_a_log_or_with_quiet_or_verbose() -> None:
    assert _shown(Namespace(quiet=False, verbose=False), terminal=False) == ""
    assert _shown(Namespace(quiet=True, verbose=False), terminal=True) == ""
    assert _shown(Namespace(quiet=False, verbose=True), terminal=True) == ""
