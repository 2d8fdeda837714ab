"""Benchmark how fast the CLI starts: `retrain validate` of 100 policies and `retrain status`.

    .venv/bin/python bench/cli_start.py [--repeats 3]

Each command runs in a fresh process in a throwaway project (100 copies of the shipped policies
under new names; an embedded MLflow store under .retrain/), interleaved with the baseline
`retrain --help` (Python start plus the CLI's own imports). Prints the best wall time and CPU time
of each, the ratio to the baseline, the peak resident memory of the process, and the goal.
Writes bench/results/cli_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "cli_start.json"
COUNT = 100
CASES = [
    ("retrain --help (baseline)", ["--help"], None),
    (f"retrain validate ({COUNT} policies)", ["validate", "policies"], 1.0),
    ("retrain status", ["status"], 1.5),
]


def make_project(folder: Path) -> None:
    """100 valid policies: the shipped ones copied under new names."""
    (folder / "pyproject.toml").write_text(
        '[tool.retrain]\npolicies_dir = "policies"\ndata_dir = ".retrain"\n'
    )
    policies = folder / "policies"
    policies.mkdir()
    shipped = sorted((ROOT / "policies").glob("*.yaml"))
    for i in range(COUNT):
        source = shipped[i % len(shipped)]
        name = f"{source.stem}-{i:03d}"
        text = source.read_text(encoding="utf-8")
        text = text.replace(f"\nname: {source.stem}\n", f"\nname: {name}\n")
        (policies / f"{name}.yaml").write_text(text, encoding="utf-8")


def run_once(project: Path, argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one `python -m retrain_core.cli.main ...`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "retrain_core.cli.main", *argv],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(
            f"{argv} failed: {process.stderr.read().decode() if process.stderr else ''}"
        )
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        make_project(project)
        run_once(project, ["status"])  # creates the embedded store once, outside the timing
        best: dict[str, tuple[float, float, float]] = {}
        for _ in range(args.repeats):
            for label, command, _goal in CASES:
                wall, cpu, rss = run_once(project, command)
                old = best.get(label)
                best[label] = (min(wall, old[0]), min(cpu, old[1]), max(rss, old[2])) if old else (
                    wall, cpu, rss,
                )  # fmt: skip
    base = best[CASES[0][0]][0]
    rows: list[dict[str, Any]] = []
    for label, _command, goal in CASES:
        wall, cpu, rss = best[label]
        rows.append(
            {"case": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
             "ratio_to_help": round(wall / base, 1), "peak_rss_mb": round(rss), "goal_s": goal}
        )  # fmt: skip
    lines = [
        "| command | wall s | CPU s | x `--help` | peak RSS MB | goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        goal = f"< {r['goal_s']} s" if r["goal_s"] else "-"
        lines.append(
            f"| {r['case']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['ratio_to_help']:.1f} "
            f"| {r['peak_rss_mb']} | {goal} |"
        )
    table = "\n".join(lines)
    print(table)
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "repeats": args.repeats,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"meta": meta, "results": rows, "table": table}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
