"""`retrain run`'s early ephemeral API: started before Prefect's server module is imported, it is
the API the first flow call uses, and the flow run is recorded in Prefect's new database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from prefect import flow, get_client
from prefect.server.api.server import SubprocessASGIServer
from retrain_core.cli.run import start_api_early, wait_for_api

server = start_api_early()
assert server is not None, "no early API"
early = {"port": server.port, "pid": server.server_process.pid}
wait_for_api(server)

@flow
def hello() -> str:
    return "hi"

state = hello(return_state=True)
reused = SubprocessASGIServer()
with get_client(sync_client=True) as client:
    runs = client.read_flow_runs()
print(json.dumps({
    "early": early, "state": state.type.value, "result": state.result(),
    "used": {"port": reused.port, "pid": reused.server_process.pid},
    "runs": [str(run.id) for run in runs], "run": str(state.state_details.flow_run_id),
}))
"""


def test_the_early_api_is_the_one_the_first_flow_uses_and_records_its_run(
    tmp_path: Path,
) -> None:
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="0")
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["state"] == "COMPLETED" and seen["result"] == "hi"
    assert seen["used"] == seen["early"], "the flow started another API process"
    assert seen["runs"] == [seen["run"]]
    assert (home / "prefect.db").exists(), "the run was not recorded in PREFECT_HOME's database"
