"""`retrain run` twice, `status`, `explain` and `rollback`, through the CLI's main()."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import Project

from retrain_core.cli import main as cli
from retrain_core.store.views import ClientView, view_for


def run(project: Project, *extra: str) -> int:
    argv = ["run", str(project.policy_path), "--data-root", str(project.root), *extra]
    return cli.main(argv)


def test_run_twice_then_status_explain_and_rollback(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_day(1)  # its rows are stamped on 2026-01-02: checked that evening
    assert run(project, "--now", "2026-01-02T23:00") == 0
    first = capsys.readouterr().out
    assert f"{project.name}: RETRAIN" in first
    assert "no champion yet: training the first model" in first
    assert "training: promoted v1" in first

    assert run(project, "--now", "2026-01-03T01:00") == 0
    second = capsys.readouterr().out
    assert f"{project.name}: HOLD" in second
    assert "no new data since the last check" in second

    assert cli.main(["status", project.name]) == 0
    status = capsys.readouterr().out
    assert project.name in status and "v1" in status and "hold" in status
    assert status.startswith(f"store: {os.environ['MLFLOW_TRACKING_URI']}\n")
    # the age is counted on the ledger's clock (the last check, 2026-01-03 01:00), not the wall's
    assert re.search(rf"{project.name}\s+v1\s+2h\s", status), status
    assert "1 policy: 1 retrain in the last day, 0 blocked" in status
    assert "next: next check" in status

    assert cli.main(["status", "no-such-policy"]) == 1  # one line, not a row that says "never"
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("retrain status: no policy named 'no-such-policy' in "), line

    assert cli.main(["status", project.name, "--json", "--verdict", "hold", "--sort", "age"]) == 0
    fleet = json.loads(capsys.readouterr().out)
    [row] = [r for r in fleet["policies"] if r["policy"] == project.name]
    assert (row["champion"], row["verdict"], row["champion_age_s"]) == ("v1", "hold", 7200.0)
    assert row["last_check"] == "2026-01-03T01:00:00+00:00" and row["quarantined"] == 0
    assert fleet["summary"]["retrains_last_day"] >= 1
    assert cli.main(["status", project.name, "--json", "--verdict", "blocked"]) == 0
    assert json.loads(capsys.readouterr().out)["policies"] == []

    # status reads the SQLite store directly (no MLflow import): the same state as MLflow's client
    uri = os.environ["MLFLOW_TRACKING_URI"]
    view = view_for(uri)
    assert view is not None
    assert view.state(project.name, "champion") == ClientView(uri).state(project.name, "champion")

    assert cli.main(["explain", project.name, "1"]) == 0
    explained = capsys.readouterr().out
    assert "decision:  promoted" in explained
    assert "no champion yet" in explained

    # No previous version yet: rollback refuses clearly and changes nothing.
    assert cli.main(["rollback", project.name]) == 1
    assert "no 'previous' version" in capsys.readouterr().err


def test_run_reports_a_failed_run(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.edit(data={"reference": {"path": "data/churn/missing.parquet"}},
                 training={"retries": 0})  # fmt: skip
    assert run(project) == 1
    assert "missing.parquet" in capsys.readouterr().err


def test_run_without_the_policy_data_says_so_in_one_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh clone has no data/: one line naming the path and how to get data, exit 1."""
    import shutil

    shutil.rmtree(project.root / "data")
    assert run(project) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    prefix = f"retrain run: {project.policy_path}:"
    assert line.startswith(prefix) and " data.reference.path: no data at " in line, line
    assert "data/churn/reference.parquet" in line
    assert "`retrain sample-data` writes the demo's stream there" in line
    assert "edit the data paths in" in line and "Traceback" not in captured.out + captured.err
    assert cli.main(["run", str(project.root / "no-such-policy.yaml")]) == 1
    assert "no policy file" in capsys.readouterr().err


def test_run_with_a_typo_in_a_data_path_names_the_path_it_may_mean(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not `retrain sample-data`: the policy's line, the missing folder and the one it may mean."""
    project.write_day(1)
    project.edit(data={"current": {"path": "data/chrun/batches/*.parquet"}})
    line_no = next(
        i for i, text in enumerate(project.policy_path.read_text().splitlines(), 1)
        if "data/chrun/batches" in text
    )  # fmt: skip
    assert run(project) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"retrain run: {project.policy_path}:{line_no} data.current.path: no folder "
        f"'data/chrun' under {project.root} (did you mean 'data/churn/batches/*.parquet'?)"
    )


QUIET_ENV = (
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
    "MLFLOW_LOGGING_LEVEL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL",
)  # fmt: skip


def test_run_prints_the_decision_and_no_library_lines_unless_verbose(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """No MLflow setup lines or progress bars, no Prefect task lines; `--verbose` shows them and
    `--quiet` prints the verdict line only."""
    from retrain_core.cli import output

    for key in QUIET_ENV:  # what the command sets is undone after the test
        monkeypatch.delenv(key, raising=False)
    fresh = tmp_path / "fresh"  # a new store: the first run creates its tables
    fresh.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{fresh / 'mlflow.db'}")
    project.write_day(1)
    assert run(project, "--now", "2026-01-02T23:00") == 0
    project.write_day(2)
    assert run(project, "--now", "2026-01-03T23:00") == 0  # loads the champion's files
    out, err = capfd.readouterr()
    for noise in ("Downloading artifacts", "Creating initial MLflow", "Finished in state", "INFO"):
        assert noise not in out + err, out + err
    assert not re.search(r"\d+%\|", out + err), out + err  # no tqdm bar
    assert f"{project.name}: HOLD" in out and "reason" in out.splitlines()[3], out
    try:
        assert run(project, "--quiet", "--now", "2026-01-03T23:10") == 0
        assert capfd.readouterr().out == f"{project.name}: hold: no new data since the last check\n"
        assert run(project, "--verbose", "--now", "2026-01-03T23:20") == 0
        assert "Finished in state Held(" in capfd.readouterr().err
    finally:
        for key in QUIET_ENV:
            monkeypatch.delenv(key, raising=False)
        output.configure(output.NORMAL)
