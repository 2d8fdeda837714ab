"""A fleet on this machine: N policies' monitor runs on one Prefect server and two workers.

Reproduces the operator's run of issue 12 on real infrastructure, all on 127.0.0.1:

- PostgreSQL databases for a `prefect server start` and an `mlflow server` (dropped at the end);
- a project with N generated policies, each `extends:` one template (a copy of the shipped churn
  policy), reading one of three streams of the demo's churn data: stable, drifting (day 2 is the
  covariate shift) or bad (day 2's batch is not a parquet file, which must end as a quarantined,
  blocked decision, not a failed run);
- `retrain compile`, `prefect deploy --all`, a process work pool and W workers
  (`prefect worker start --limit L`), on a `retrain-process` pool (the warm engine);
- phase 1, the first check (day 1): every policy trains and promotes its first model;
- phase 2, the next check (day 2): the steady state, every policy checked once; drifting ones
  record a pending retrain, bad ones a quarantined batch.
In both phases every monitor run is triggered at once, and the first D policies twice at the same
moment (the deployment's concurrency limit must cancel one: nothing may train twice).

Reported per phase: wall time from trigger to the last terminal run, runs per state, machine CPU
seconds per run (all processes: servers, workers, runs; from /proc/stat), trainings per policy.
Also the machine CPU per run by process group (servers, PostgreSQL, workers, the runs). Goals
(issues 12 and 23): with 200 policies, phase 1 in under 600 s and phase 2 in under 300 s, no
FAILED or CRASHED run, no policy trained twice. Results go to bench/results/fleet.json.

    OMP_NUM_THREADS=1 .venv/bin/python bench/fleet.py [--policies 200] [--workers 2] [--limit 8]

`--limit 0` starts the workers without `--limit`, as Prefect starts them by default (the
`retrain-process` worker type then bounds itself: two runs per core).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))
from processes import free_port, stop_session  # noqa: E402

from retrain_core.data.demo import Story, write_day, write_reference  # noqa: E402
from retrain_core.runtime.engine import stop_all  # noqa: E402

GOALS = {"first check (trains)": 600.0, "next check": 300.0}  # wall seconds, 200 policies
STREAMS = {  # stream -> the story its data follows
    "stable": Story(shift_from=99, shift_until=99, concept_from=99),
    "drifting": Story(shift_from=2, shift_until=2, concept_from=99),
    "bad": Story(shift_from=99, shift_until=99, concept_from=99),
}
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def psql(*args: str) -> None:
    subprocess.run([*args, "-h", "127.0.0.1", "-U", "postgres"], check=True, capture_output=True)


def wait_http(url: str, proc: subprocess.Popen[Any], log: Path, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s\n{log.read_text()[-3000:]}")


def machine_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used (busy time from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


GROUPS = (  # process groups, by what their command line holds (first match wins)
    ("mlflow server", ("mlflow",)),
    ("prefect server", ("prefect server", "prefect.server")),
    ("postgresql", ("postgres:",)),
    ("workers", ("worker start",)),
    ("warm engine and runs", ("runtime.engine", "retrain-engine", "prefect.engine")),
)


def cpu_by_group() -> dict[str, float]:
    """CPU seconds used so far by each process group (a process belongs to the group of its
    command line, else of its nearest parent that has one; with the children it waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[str, tuple[str, str, float]] = {}  # pid -> (parent, command, cpu)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it exited meanwhile
            continue
        procs[proc.name] = (fields[1], command, sum(int(v) for v in fields[11:15]) / tick)

    def group_of(pid: str) -> str | None:
        for _ in range(20):  # up the tree
            if pid not in procs:
                return None
            parent, command, _cpu = procs[pid]
            found = next((g for g, marks in GROUPS if any(m in command for m in marks)), None)
            if found is not None:
                return found
            pid = parent
        return None

    found: dict[str, float] = {}
    for pid, (_parent, _command, cpu) in procs.items():
        group = group_of(pid)
        if group is not None:
            found[group] = found.get(group, 0.0) + cpu
    return found


def stream_of(index: int, drifting: float, bad: float) -> str:
    """Spread the streams evenly over the policies (every k-th policy drifts, ...)."""
    position = (index * 0.6180339887) % 1.0  # golden-ratio spacing: even, deterministic
    if position < bad:
        return "bad"
    return "drifting" if position < bad + drifting else "stable"


def make_project(root: Path, count: int, drifting: float, bad: float) -> dict[str, str]:
    """The deployable files, the template, `count` policies and the streams' day-0 data."""
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "flows", root / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    template = (ROOT / "policies" / "churn.yaml").read_text()
    template = re.sub(
        r"(?m)^(# yaml-language-server.*|name: .*|description: .*|arrival: .*)\n", "", template
    )
    template = re.sub(
        r"(?m)^schedule: .*$", 'schedule: {cron: "0 2 * * *", active: false}', template
    )
    (root / "policies" / "templates").mkdir(parents=True)
    (root / "policies" / "templates" / "fleet-churn.yaml").write_text(template)
    for stream, story in STREAMS.items():
        write_reference(root / "streams" / stream, story)
    streams = {}
    for i in range(count):
        name = f"fleet-{i + 1:03d}"
        stream = streams[name] = stream_of(i, drifting, bad)
        base = f"streams/{stream}/data/churn"
        (root / "policies" / f"{name}.yaml").write_text(
            f"version: 1\nextends: templates/fleet-churn.yaml\nname: {name}\n"
            f"tags: [fleet, {stream}]\n"
            f"data:\n  reference: {{path: {base}/reference.parquet}}\n"
            f'  current: {{path: "{base}/batches/*.parquet"}}\n'
            f'  labels: {{path: "{base}/labels/*.parquet"}}\n'
        )
    return streams


def land_day(root: Path, day: int) -> None:
    for stream, story in STREAMS.items():
        write_day(root / "streams" / stream, story, day)
        if stream == "bad" and day > 1:
            batch = (
                root / "streams" / stream / "data" / "churn" / "batches" / f"day-{day:02d}.parquet"
            )
            batch.write_bytes(b"PAR1 this batch was cut off in transfer")


class Fleet:
    def __init__(self, state: Path, args: argparse.Namespace) -> None:
        self.state, self.args = state, args
        self.root = state / "project"
        tag = uuid.uuid4().hex[:8]
        self.dbs = {"prefect": f"fleet_prefect_{tag}", "mlflow": f"fleet_mlflow_{tag}"}
        self.ports = {"prefect": free_port(), "mlflow": free_port()}
        self.procs: dict[str, subprocess.Popen[Any]] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
        (state / "prefect-home").mkdir(parents=True)
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            PREFECT_HOME=str(state / "prefect-home"),
            PREFECT_API_URL=f"http://127.0.0.1:{self.ports['prefect']}/api",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_DATABASE_CONNECTION_URL=(
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.dbs['prefect']}"
            ),
            PREFECT_WORKER_QUERY_SECONDS="2",
            PREFECT_CLI_COLORS="false",
            MLFLOW_TRACKING_URI=f"http://127.0.0.1:{self.ports['mlflow']}",
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",  # as docs/deploy.md starts it
            RETRAIN_ENGINE_DIR=str(state / "engine"),
            OMP_NUM_THREADS="1",
        )
        env.pop("RETRAIN_NOTIFY_URLS", None)
        self.env = env

    def start(self, name: str, *args: str) -> subprocess.Popen[Any]:
        log = (self.state / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            list(args), cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.procs[name] = proc
        return proc

    def run(self, *args: str, timeout: float = 1800.0) -> str:
        result = subprocess.run(
            list(args), cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                             f"{result.stderr[-3000:]}")  # fmt: skip
        return result.stdout

    def up(self) -> dict[str, float]:
        timings = {}
        for db in self.dbs.values():
            psql("createdb", db)
        began = time.monotonic()
        prefect = self.start(
            "prefect-server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
            "--port", str(self.ports["prefect"]), "--no-ui",
        )  # fmt: skip
        mlflow = self.start(
            "mlflow-server", str(BIN / "mlflow"), "server", "--backend-store-uri",
            f"postgresql://postgres@127.0.0.1:5432/{self.dbs['mlflow']}",
            "--artifacts-destination", str(self.state / "mlartifacts"),
            "--host", "127.0.0.1", "--port", str(self.ports["mlflow"]),
        )  # fmt: skip
        wait_http(
            f"{self.env['PREFECT_API_URL']}/health", prefect, self.state / "prefect-server.log"
        )
        wait_http(
            f"{self.env['MLFLOW_TRACKING_URI']}/health", mlflow, self.state / "mlflow-server.log"
        )
        timings["servers"] = time.monotonic() - began
        self.run(
            str(BIN / "prefect"),
            "--no-prompt",
            "work-pool",
            "create",
            "retrain",
            "--type",
            "retrain-process",
        )
        self.run(str(BIN / "retrain"), "compile")
        began = time.monotonic()
        self.run(str(BIN / "prefect"), "--no-prompt", "deploy", "--all")
        timings["deploy"] = time.monotonic() - began
        for w in range(self.args.workers):
            limit = ["--limit", str(self.args.limit)] if self.args.limit else []
            self.start(
                f"worker-{w + 1}", str(BIN / "prefect"), "worker", "start", "--pool", "retrain",
                *limit,
            )  # fmt: skip
        return timings

    def down(self) -> None:
        for name in sorted(self.procs, key=lambda n: not n.startswith("worker")):
            stop_session(self.procs[name])
        stop_all(self.state / "engine")
        for db in self.dbs.values():
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists",
                            "--force", db], capture_output=True, check=False)  # fmt: skip


def trigger_and_wait(fleet: Fleet, names: list[str], day: int, doubles: int) -> dict[str, Any]:
    """Trigger every policy's monitor run at once (the first `doubles` twice); wait for all."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime

    from retrain_core.data.demo import day_start

    # late on the stream's day `day` (day 0 is the reference period): every row of that day's
    # batch is in the past, none in the future
    now = (day_start(day) + timedelta(hours=23)).isoformat()
    with SyncPrefectClient(fleet.env["PREFECT_API_URL"]) as client:
        ids = {name: client.read_deployment_by_name(f"monitor/{name}").id for name in names}
        cpu0, groups0, began = machine_cpu_seconds(), cpu_by_group(), time.monotonic()
        started = client.read_flow_runs(limit=1)  # noqa: F841 (server warm before the clock)
        runs = []
        for i, name in enumerate(names):
            for _ in range(2 if i < doubles else 1):
                run = client.create_flow_run_from_deployment(ids[name], parameters={"now": now})
                runs.append(run.id)
        deadline = began + 3 * 3600
        while True:
            states = [client.read_flow_run(run_id) for run_id in runs]
            done = [r for r in states if r.state_type and r.state_type.value in TERMINAL]
            if len(done) == len(runs) or time.monotonic() > deadline:
                break
            for name, proc in fleet.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited with {proc.returncode}")
            time.sleep(5)
        wall, cpu = time.monotonic() - began, machine_cpu_seconds() - cpu0
        groups = {g: v - groups0.get(g, 0.0) for g, v in cpu_by_group().items()}
        groups["the rest (exited processes, this bench, others)"] = cpu - sum(groups.values())
        window = FlowRunFilter(start_time=FlowRunFilterStartTime(after_=states[0].created))
        every = []
        while batch := client.read_flow_runs(flow_run_filter=window, limit=200, offset=len(every)):
            every.extend(batch)
        trainings = Counter(r.name.split()[1] for r in every if r.name.startswith("train "))
    by_state = Counter(r.state_name for r in states)
    durations = [
        (r.end_time - r.start_time).total_seconds() for r in states if r.start_time and r.end_time
    ]
    return {
        "runs": len(runs),
        "wall_seconds": round(wall, 1),
        "states": dict(by_state),
        "machine_cpu_seconds_per_run": round(cpu / max(1, len(runs) - doubles), 2),
        "mean_run_seconds": round(sum(durations) / max(1, len(durations)), 1),
        "cpu_seconds_per_run_by_group": {
            g: round(v / max(1, len(runs) - doubles), 2) for g, v in groups.items()
        },
        "trainings": sum(trainings.values()),
        "trained_twice": sorted(n for n, c in trainings.items() if c > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--limit",
        type=int,
        default=8,
        help="flow runs per worker at once (0: no --limit, the worker type's default)",
    )
    parser.add_argument("--drifting", type=float, default=0.25, help="share of drifting policies")
    parser.add_argument("--bad", type=float, default=0.05, help="share with a bad day-2 batch")
    parser.add_argument("--doubles", type=int, default=10, help="policies triggered twice")
    parser.add_argument("--keep", action="store_true", help="keep the state folder")
    parser.add_argument("--json", default=None, help="results file (bench/results/fleet.json)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="retrain-fleet-"))
    fleet = Fleet(state, args)
    streams = make_project(fleet.root, args.policies, args.drifting, args.bad)
    names = sorted(streams)
    result: dict[str, Any] = {
        "policies": args.policies,
        "workers": args.workers,
        "limit": args.limit,
        "streams": dict(Counter(streams.values())),
    }
    try:
        result["setup_seconds"] = fleet.up()
        for phase, day in (("first check (trains)", 1), ("next check", 2)):
            land_day(fleet.root, day)
            result[phase] = trigger_and_wait(fleet, names, day, args.doubles)
            print(f"{phase}: {json.dumps(result[phase])}", flush=True)
    finally:
        fleet.down()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    print(f"\n{args.policies} policies, {args.workers} workers x {args.limit or 'default'}; "
          f"setup {result['setup_seconds']}")  # fmt: skip
    for phase, goal in GOALS.items():
        got = result[phase]
        bad_states = {s: n for s, n in got["states"].items() if s in ("Failed", "Crashed")}
        verdict = (
            "meets" if got["wall_seconds"] < goal and not bad_states
            and not got["trained_twice"] else "misses"
        )  # fmt: skip
        print(
            f"{phase}: {got['wall_seconds']:.0f} s (goal at 200 policies < {goal:.0f} s: "
            f"{verdict}), {got['machine_cpu_seconds_per_run']} machine CPU-s per run"
        )
    out = Path(args.json) if args.json else ROOT / "bench" / "results" / "fleet.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
