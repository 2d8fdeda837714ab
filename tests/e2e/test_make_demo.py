"""`make demo` as a user runs it (`retrain demo` after set-up), then its "Look closer" commands.

The demo runs in a subprocess with a clean environment (no Prefect or MLflow settings of ours)
into a temp folder. Its timeline must tell the story without gaps: day 1 trains and promotes v1,
every retrain names the version it made (rejected ones too), the concept change (day 9 on) is
answered by a promoted retrain, and the champion ends the stream with good accuracy on the
changed concept. Then every command the demo prints under "Look closer" that reads the stores
(`retrain explain`, `retrain status`) runs as printed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from processes import stop_session

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
DEMO_SECONDS = 1200.0


def _run(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=timeout)
    finally:
        stop_session(proc, grace=5)
    return proc.returncode, output.decode(errors="replace")


def test_demo_tells_its_story_and_look_closer_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1")
    code, out = _run([str(BIN / "retrain"), "demo", "--dir", str(tmp_path)], env, DEMO_SECONDS)
    print(out)
    assert code == 0, out
    # the tables, the reasons and the pointers: no library's progress bars or log lines
    for noise in ("Downloading artifacts", "Creating initial MLflow", "Finished in state", "INFO"):
        assert noise not in out, noise
    assert not re.search(r"\d+%\|", out), "a tqdm progress bar"
    decisions = dict(re.findall(r"│\s*(\d+)\s*│[^\n]*?│\s*(retrain -> \w+(?: v\d+)?|hold|"
                                r"suppressed|blocked|retrain)\s*│", out))  # fmt: skip
    assert decisions.get("1") == "retrain -> promoted v1", decisions
    retrains = {int(day): text for day, text in decisions.items() if text.startswith("retrain ->")}
    assert all(re.search(r" v\d+$", text) for text in retrains.values()), retrains
    assert any(day >= 9 and "promoted" in text for day, text in retrains.items()), retrains

    closer = out[out.index("Look closer:") :]
    commands = [line.strip() for line in closer.splitlines() if "retrain " in line]
    assert any(" explain " in c for c in commands) and any(c.endswith(" status") for c in commands)
    for command in commands:
        words = shlex.split(command)
        extra = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
        argv = [w for w in words if w not in {f"{k}={v}" for k, v in extra.items()}]
        argv[0] = str(ROOT / argv[0]) if argv[0].startswith(".venv/") else argv[0]
        code, text = _run(argv, {**env, **extra}, 300.0)
        assert code == 0, f"{command}:\n{text}"
        assert "churn" in text, text
