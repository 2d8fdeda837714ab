"""Cold `retrain run` on the demo's day-1 batch: time to a decision, three ways, in one run.

Each repetition makes a fresh project (the shipped churn policy, `retrain sample-data --days 1`,
an empty MLflow store and an empty PREFECT_HOME) and times `retrain run` as a new process:

- ephemeral:       no server; the first flow call starts Prefect's ephemeral API (baseline)
- local server:    PREFECT_API_URL points at a `prefect server start` that was already running

(Warming the heavy imports in a thread while the ephemeral API starts was measured too and
gained nothing: 60.9 s against 57.4 s, so `retrain run` does not do it.)

The variants alternate within each repetition. The first day trains the first model, so the
time covers reading, checking, deciding, training, registering and promoting.
Goal (issue 10): < 20 s to a decision on a quiet 2-core machine.

    OMP_NUM_THREADS=1 .venv/bin/python bench/cold_run.py [--reps 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL_SECONDS = 20.0


def project(folder: Path) -> Path:
    """A fresh project with the shipped churn policy and the demo's day 1."""
    (folder / "policies").mkdir(parents=True)
    shutil.copy2(ROOT / "policies" / "churn.yaml", folder / "policies" / "churn.yaml")
    shutil.copy2(ROOT / "pyproject.toml", folder / "pyproject.toml")
    env = clean_env(folder)
    subprocess.run([str(BIN / "retrain"), "-C", str(folder), "sample-data", "--days", "1"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return folder


def clean_env(folder: Path, api: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    (folder / "prefect-home").mkdir(parents=True, exist_ok=True)  # Prefect does not create it
    env.update(PREFECT_HOME=str(folder / "prefect-home"), OMP_NUM_THREADS="1")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if api:
        env["PREFECT_API_URL"] = api
    return env


def timed_run(folder: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "retrain"), "-C", str(folder), "run", str(folder / "policies" / "churn.yaml"),
         "--now", "2026-01-01T23:00"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if result.returncode != 0 or "RETRAIN" not in result.stdout:
        raise SystemExit(f"retrain run failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(state: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = clean_env(state)
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--no-ui"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2):
                return server, api
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the local Prefect server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"ephemeral": [], "local server": []}
    with tempfile.TemporaryDirectory() as tmp:
        server, api = start_server(Path(tmp) / "server")
        try:
            for rep in range(args.reps):
                for variant in times:
                    folder = project(Path(tmp) / f"{rep}-{variant.replace(' ', '-')}")
                    env = clean_env(folder, api if variant == "local server" else None)
                    times[variant].append(timed_run(folder, env))
        finally:
            os.killpg(server.pid, 15)
    base = statistics.median(times["ephemeral"])
    print(f"cold `retrain run`, demo day 1 (median of {args.reps}); goal < {GOAL_SECONDS:.0f} s")
    for variant, values in times.items():
        median = statistics.median(values)
        verdict = "meets" if median < GOAL_SECONDS else "misses"
        print(f"  {variant:<15} {median:6.1f} s  ratio {median / base:4.2f}  {verdict} the goal")
    out = ROOT / "bench" / "results" / "cold_run.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seconds": times, "goal_seconds": GOAL_SECONDS}, indent=2))


if __name__ == "__main__":
    main()
