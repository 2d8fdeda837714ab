"""The requests one steady monitor check makes to the MLflow and Prefect servers, by endpoint.

A fleet's checks are paid mostly by the servers: every request a check makes is served once per
policy per check. This runs the shipped churn policy's check in process against a real `mlflow
server` (SQLite, on 127.0.0.1) and Prefect's test API, on the demo's stream: day 1 trains the
first model, day 2 warms up, day 3 is counted (the steady state: one new batch, labels of the
day before). It counts what the MLflow client sends through its REST layer (API calls; artifact
downloads go around it) and what Prefect's synchronous client sends, each with the retrain
function that asked, and prints the check's CPU seconds.

    OMP_NUM_THREADS=1 .venv/bin/python bench/check_requests.py
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from processes import TrackingServer  # noqa: E402


def caller() -> str:
    """The innermost retrain frames of the current stack (where a request came from)."""
    ours = [
        f
        for f in traceback.extract_stack()
        if str(ROOT) in f.filename and ".venv" not in f.filename and "bench" not in f.filename
    ]
    return " < ".join(f"{Path(f.filename).name}:{f.name}" for f in ours[-2:][::-1]) or "Prefect"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="retrain-requests-"))
    os.environ["RETRAIN_CACHE_DIR"] = str(tmp / "cache")
    (tmp / "mlflow").mkdir()
    server = TrackingServer(tmp / "mlflow")
    server.start()
    os.environ["MLFLOW_TRACKING_URI"] = server.url
    import httpx
    import mlflow.utils.rest_utils as rest
    from prefect.testing.utilities import prefect_test_harness

    from retrain_core.data.demo import Story, day_start, write_day, write_reference

    story = Story(rows_per_day=800, reference_rows=3000)
    write_reference(tmp, story)
    text = (ROOT / "policies" / "churn.yaml").read_text()
    (tmp / "policy.yaml").write_text(re.sub(r"(?m)^name: .*$", "name: requests", text))
    mlflow_calls: Counter[tuple[str, str, str]] = Counter()
    prefect_calls: Counter[tuple[str, str, str]] = Counter()
    counting = [False]
    http_request, send = rest.http_request, httpx.Client.send

    def counted_http_request(host_creds: Any, endpoint: str, method: str, *a: Any, **k: Any) -> Any:
        if counting[0]:
            mlflow_calls[
                (method, endpoint.split("?")[0].removeprefix("/api/2.0/mlflow"), caller())
            ] += 1
        return http_request(host_creds, endpoint, method, *a, **k)

    def counted_send(self: httpx.Client, request: httpx.Request, *a: Any, **k: Any) -> Any:
        if counting[0]:
            path = re.sub(r"[0-9a-f-]{36}", "<id>", request.url.path)
            prefect_calls[(request.method, path, caller())] += 1
        return send(self, request, *a, **k)

    rest.http_request = counted_http_request
    httpx.Client.send = counted_send  # type: ignore[method-assign]
    try:
        with prefect_test_harness():
            from flows.monitor import monitor

            for day in (1, 2, 3):
                write_day(tmp, story, day)
                counting[0] = day == 3
                cpu = time.process_time()
                state = monitor(str(tmp / "policy.yaml"), now=day_start(day) + timedelta(hours=1),
                                data_root=str(tmp), return_state=True)  # fmt: skip
                print(f"day {day}: {state.name}, {time.process_time() - cpu:.2f} CPU-s in process")
    finally:
        counting[0] = False
        server.stop()
    for title, calls in (("MLflow API", mlflow_calls), ("Prefect API", prefect_calls)):
        print(f"\n{title}: {sum(calls.values())} requests in the steady check")
        for (method, path, where), n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:2d}  {method:5s} {path:45s} {where}")


if __name__ == "__main__":
    main()
