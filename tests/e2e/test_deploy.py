"""The loop as users deploy it: server, work pool, compile, deploy, worker, events, the UI.

Against the stack of `deployed` (conftest.py): the seeded churn stream's clean days 1-4 land and
`prefect deployment run monitor/churn` trains the first champion; then the shifted days 5-6 land
and a run shows the drift and holds; on day 11, the second check to see the changed concept's
labels, a run must retrain in its train-validate-promote subflow, publish the decision artifact
and move the `champion` alias to the new version. `retrain emit-arrival` must then start exactly
one monitor run, of churn only. Last, headless Chromium screenshots the flow run page (Artifacts
tab) into test-output/flow-run.png and the decision artifact's page into
test-output/decision-artifact.png, then the runs list, the fleet artifact, the MLflow UI's page of
the champion version and its metric page of churn's trend run, whose lines over the checks are
checked in the DOM and in the picture (test-output/mlflow-metrics.png, also docs/); all skipped,
and only that, without Chromium.

Time is passed as the `now` parameter (23:00 of the data's day), as `retrain demo` does: the
runs are days apart, as the policy's cooldown and the labels' lag expect.
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from processes import MLFLOW_HOST

from retrain_core.data.demo import day_start
from retrain_core.decide.report import artifact_key
from retrain_core.policy.compile import policy_resource_id

if TYPE_CHECKING:
    from conftest import Deployed  # the `deployed` fixture's type (tests/e2e/conftest.py)

pytestmark = pytest.mark.e2e

POLICY = "churn"
OTHER = "house-prices"
RUN_SECONDS = 300.0
ARRIVAL_SECONDS = 90.0
SETTLE_SECONDS = 10.0  # after the first triggered run: time for a wrong second one to appear
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"  # git-ignored
SCREENSHOT = OUTPUT / "flow-run.png"
DECISION_SCREENSHOT = OUTPUT / "decision-artifact.png"
BROWSER_SECONDS = 90.0  # one chromium screenshot (it takes 5-30 s)
# What the Prefect UI shows instead of a page: unknown run or route, API down, crash.
ERROR_TEXT = (
    "Not Found",
    "Something went wrong",
    "Can't connect",
    "Unable to connect",
    "Failed to fetch",
)


def at(day: int) -> str:
    """23:00 UTC of a day of the stream, as the monitor's `now` parameter."""
    return (day_start(day) + timedelta(hours=23)).isoformat()


def champion_version(uri: str, alias: str = "champion") -> int:
    """The registered version of churn that `alias` points at."""
    from mlflow import MlflowClient

    return int(MlflowClient(tracking_uri=uri).get_model_version_by_alias(POLICY, alias).version)


def completed(run: Any) -> bool:
    """Whether a flow run ended COMPLETED."""
    return run.state is not None and bool(run.state.is_completed())


def run_monitor(deployed: Deployed, day: int) -> Any:
    """Run monitor/churn as of 23:00 on `day`, wait for it, and require COMPLETED."""
    run_id = deployed.run_deployment(f"monitor/{POLICY}", now=at(day))
    run = deployed.wait_for_run(run_id, RUN_SECONDS)
    assert completed(run), f"monitor run {run.name} ended {run.state}\n" + deployed.tail(
        "worker", 120
    )
    return run


@pytest.fixture(scope="module")
def drift_run(deployed: Deployed) -> dict[str, Any]:
    """The demo's story through the deployments: a first champion from clean days 1-4; a check
    over the shifted days 5-6 that holds (the inputs drifted and accuracy fell, but a challenger
    trained on them is no better); a quiet check on day 9; on days 10 and 11 the labels of the
    changed concept show a sustained fall and a better challenger, two checks in a row: the
    second retrains."""
    story = deployed.story
    phases = [story.phase(d) for d in range(1, 12)]
    assert phases == ["clean"] * 4 + ["shift"] * 2 + ["clean"] * 2 + ["concept"] * 3, phases
    for day in range(1, 5):
        deployed.write_day(day)
    began = time.monotonic()
    seed = run_monitor(deployed, 4)
    first = champion_version(deployed.tracking_uri)
    seed_seconds = time.monotonic() - began
    for day in (5, 6):
        deployed.write_day(day)
    shift = run_monitor(deployed, 7)
    for day in (7, 8, 9):
        deployed.write_day(day)
    run_monitor(deployed, 9)
    deployed.write_day(10)
    run_monitor(deployed, 10)
    deployed.write_day(11)
    began = time.monotonic()
    run = run_monitor(deployed, 11)
    print(
        f"\ne2e: seed run {seed.name} {seed_seconds:.0f} s (champion v{first}); concept run "
        f"{run.name} {time.monotonic() - began:.0f} s"
    )
    return {"seed": seed, "first_version": first, "shift": shift, "run": run}


def test_schedule_creates_a_run_that_a_worker_completes(deployed: Deployed) -> None:
    """The server's scheduler creates `churn-scheduled`'s runs; the worker completes one.

    The worker has no MLFLOW_TRACKING_URI of its own: the check lands in the deployer's store.
    The deployment is paused afterwards, so its every-minute runs stop competing for the worker.
    """
    from mlflow import MlflowClient

    with deployed.client() as client:
        deployment = client.read_deployment_by_name(f"monitor/{deployed.scheduled}")
        try:
            run = _first_completed_scheduled_run(deployed, deployment.id)
        finally:
            client.pause_deployment(deployment.id)
    assert run.auto_scheduled and run.created_by is not None, run  # made by the scheduler
    assert run.created_by.type == "SCHEDULE", run.created_by
    store = MlflowClient(tracking_uri=deployed.tracking_uri)
    experiment = store.get_experiment_by_name(deployed.scheduled)
    assert experiment is not None, "the scheduled check wrote no ledger entry to the store"
    assert not (deployed.root / ".retrain" / "mlflow.db").exists(), "a run used the embedded store"


def _first_completed_scheduled_run(deployed: Deployed, deployment_id: UUID) -> Any:
    """Wait (bounded) for an auto-scheduled run of the deployment to complete; fail on a failure."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    deadline = time.monotonic() + RUN_SECONDS + 60
    runs_filter = FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]))
    with deployed.client() as client:
        while True:
            runs = [
                r for r in client.read_flow_runs(flow_run_filter=runs_filter) if r.auto_scheduled
            ]
            bad = [r for r in runs if r.state and (r.state.is_failed() or r.state.is_crashed())]
            assert not bad, f"{bad[0].name} ended {bad[0].state}\n{deployed.tail('worker')}"
            done = [r for r in runs if completed(r)]
            if done:
                return done[0]
            states = [(r.name, r.state_name) for r in runs]
            assert time.monotonic() < deadline, f"no completed scheduled run: {states}"
            deployed.assert_alive()
            time.sleep(2.0)


def test_deploy_registers_monitor_and_train_deployments(deployed: Deployed) -> None:
    """`prefect deploy --all` created what prefect.yaml says: pool, schedule, arrival trigger."""
    with deployed.client() as client:
        monitor = client.read_deployment_by_name(f"monitor/{POLICY}")
        train = client.read_deployment_by_name(f"train-validate-promote/{POLICY}")
        client.read_deployment_by_name(f"monitor/{OTHER}")
        approve = client.read_deployment_by_name(f"approve/{OTHER}")  # manual approval only
        automations = client.read_automations_by_name(f"{POLICY}: data arrived")
    assert monitor.work_pool_name == train.work_pool_name == approve.work_pool_name == "retrain"
    assert monitor.parameters == {"policy_path": f"policies/{POLICY}.yaml"}
    assert [s.schedule.cron for s in monitor.schedules] == ["0 2 * * *"]  # type: ignore[union-attr]
    assert monitor.global_concurrency_limit is not None
    assert monitor.global_concurrency_limit.limit == 1
    assert len(automations) == 1 and automations[0].enabled
    trigger = automations[0].trigger
    assert trigger.expect == {"retrain.data.arrived"}  # type: ignore[union-attr]
    assert trigger.match.model_dump() == {  # type: ignore[union-attr]
        "prefect.resource.id": policy_resource_id(POLICY)
    }


def test_shifted_inputs_are_shown_and_held(deployed: Deployed, drift_run: dict[str, Any]) -> None:
    """The shift's check: drift FAIL in its decision artifact, watched; no retrain."""
    (artifact,) = _decision_artifacts(deployed, drift_run["shift"].id)
    markdown = str(artifact.data)
    assert markdown.startswith(f"# {POLICY}: ") and "Retrain" not in markdown[:300], markdown[:300]
    assert re.search(r"\| `drift\.share` \| \*\*FAIL\*\* \|[^\n]*watched", markdown), markdown


def test_changed_concept_retrains_and_promotes(
    deployed: Deployed, drift_run: dict[str, Any]
) -> None:
    """Monitor COMPLETED, its subflow COMPLETED, the decision artifact, the alias moved."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    run = drift_run["run"]
    with deployed.client() as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id])
            )
        )
        flows = {child.id: client.read_flow(child.flow_id).name for child in children}
    artifacts = _decision_artifacts(deployed, run.id)
    subflows = [child for child in children if flows[child.id] == "train-validate-promote"]
    assert len(subflows) == 1, f"expected one train-validate-promote subflow, got {flows}"
    assert completed(subflows[0]), subflows[0].state
    assert len(artifacts) == 1, "no retrain-decision-churn artifact on the monitor run"
    markdown = str(artifacts[0].data)
    assert markdown.startswith(f"# {POLICY}: Retrain"), markdown[:300]
    assert "| `challenger_gain.accuracy` | **FAIL**" in markdown, markdown[:2000]
    assert "| `performance.accuracy` | **FAIL**" in markdown, markdown[:2000]

    newest = _newest_version(deployed.tracking_uri)
    first = drift_run["first_version"]
    assert newest > first
    assert champion_version(deployed.tracking_uri) == newest
    assert champion_version(deployed.tracking_uri, "previous") == first
    # the worker (bare PATH) started these runs through its interpreter, forked from one warm engine
    logs = [log.read_text() for log in (deployed.state / "engine").glob("engine-*.log")]
    assert len(logs) == 1 and "serving on" in logs[0], logs


def _decision_artifacts(deployed: Deployed, run_id: UUID) -> list[Any]:
    """The `retrain-decision-churn` artifacts a flow run published."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with deployed.client() as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[artifact_key(POLICY)]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
            )
        )


def _newest_version(uri: str) -> int:
    from mlflow import MlflowClient

    versions = MlflowClient(tracking_uri=uri).search_model_versions(f"name='{POLICY}'")
    return max(int(v.version) for v in versions)


def _runs_by_deployment(deployed: Deployed, deployment_ids: list[UUID]) -> dict[UUID, UUID]:
    """Flow run id -> deployment id, for every run of these deployments that no schedule made.

    `churn-scheduled` runs every minute, so the scheduler's own runs are left out: they are not
    what an arrival event starts.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    with deployed.client() as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=deployment_ids)
            )
        )
    return {
        run.id: run.deployment_id
        for run in runs
        if run.deployment_id is not None and not run.auto_scheduled
    }


def test_arrival_event_starts_one_monitor_run(
    deployed: Deployed, drift_run: dict[str, Any]
) -> None:
    """`retrain emit-arrival churn PATH` starts exactly one run: of monitor/churn, by automation."""
    with deployed.client() as client:
        names = {
            d.id: f"{client.read_flow(d.flow_id).name}/{d.name}" for d in client.read_deployments()
        }
    # monitor and train-validate-promote of the five policies, approve of the manual one
    assert len(names) == 11, names
    ids = list(names)
    before = _runs_by_deployment(deployed, ids)
    deployed.write_day(12)
    output = deployed.retrain("emit-arrival", POLICY, "data/churn/batches/day-12.parquet")
    assert policy_resource_id(POLICY) in output and "retrain.data.arrived" in output, output

    deadline = time.monotonic() + ARRIVAL_SECONDS
    new: dict[UUID, UUID] = {}
    while not new and time.monotonic() < deadline:
        time.sleep(1.0)
        new = {k: v for k, v in _runs_by_deployment(deployed, ids).items() if k not in before}
    assert new, f"no flow run {ARRIVAL_SECONDS:.0f} s after the event\n{deployed.tail('server')}"
    time.sleep(SETTLE_SECONDS)
    new = {k: v for k, v in _runs_by_deployment(deployed, ids).items() if k not in before}
    started = [names[deployment] for deployment in new.values()]
    assert started == [f"monitor/{POLICY}"], f"expected one monitor/{POLICY} run, got {started}"

    run_id = next(iter(new))
    with deployed.client() as client:
        created_by = client.read_flow_run(run_id).created_by
    assert created_by is not None and created_by.type == "AUTOMATION", created_by
    finished = deployed.wait_for_run(run_id, RUN_SECONDS)
    assert completed(finished), finished.state


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _visible_text(dom: str) -> str:
    """What a person sees of a dumped DOM: no scripts, styles or tags, spaces collapsed."""
    dom = re.sub(r"(?s)<(script|style)\b[^>]*>.*?</\1>", " ", dom)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def _browse(
    deployed: Deployed,
    chromium: str,
    url: str,
    png: Path,
    size: tuple[int, int] = (1400, 1000),
    dom: list[str] | None = None,
) -> str:
    """Screenshot `url` into `png` and return the rendered page's visible text (and append the
    dumped DOM to `dom`). The host `MLFLOW_HOST` resolves to 127.0.0.1.

    Headless chromium with a virtual time budget now and then never exits on a busy machine
    after the page and its requests are done (seen on the first page of a cold MLflow UI, which
    the test warms first): a second chromium, with a fresh profile, gets one more try."""
    common = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=15000",
        f"--host-resolver-rules=MAP {MLFLOW_HOST} 127.0.0.1",
    ]  # fmt: skip
    for attempt in (1, 2):
        profile = deployed.state / f"chromium-{png.stem}-{attempt}"
        png.unlink(missing_ok=True)
        try:
            code, page = deployed.capture(
                *common, f"--user-data-dir={profile}", f"--screenshot={png}", "--dump-dom", url,
                timeout=BROWSER_SECONDS,
            )  # fmt: skip
            break
        except AssertionError as hung:  # bounded(): "... did not finish in N s"
            if attempt == 2 or "did not finish" not in str(hung):
                raise
    assert code == 0 and png.is_file(), f"chromium exited {code} without a screenshot of {url}"
    data = png.read_bytes()
    assert _png_size(data) == size
    assert len(data) > 30_000, f"{png} is only {len(data)} bytes: a blank page?"
    text = _visible_text(page)
    found = [phrase for phrase in ERROR_TEXT if phrase in text]
    assert not found, f"{url} shows {found}: {text[:2000]}"
    if dom is not None:
        dom.append(page)
    return text


def test_flow_run_page_screenshot(deployed: Deployed, drift_run: dict[str, Any]) -> None:
    """Headless Chromium renders the monitor run's page and its decision artifact (Prefect UI)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip(
            "chromium is not installed (apt-get install chromium; .ci/run does): "
            "screenshot step skipped, every other end-to-end step ran"
        )
    run = drift_run["run"]
    SCREENSHOT.parent.mkdir(exist_ok=True)
    url = f"{deployed.url}/v2/runs/flow-run/{run.id}?tab=Artifacts"
    text = _browse(deployed, chromium, url, SCREENSHOT)
    assert run.name in text and "monitor" in text, f"{url} does not show the run: {text[:2000]}"
    assert "Retrained" in text, f"{url} does not show the run's verdict: {text[:2000]}"
    assert artifact_key(POLICY) in text, f"{url} does not list the decision artifact"

    (artifact,) = _decision_artifacts(deployed, run.id)
    url = f"{deployed.url}/v2/artifacts/artifact/{artifact.id}"
    text = _browse(deployed, chromium, url, DECISION_SCREENSHOT, size=(1800, 1300))
    assert f"{POLICY}: Retrain" in text and "challenger_gain." in text, f"{url}: {text[:2000]}"
    print(f"\ne2e: screenshots in {SCREENSHOT} and {DECISION_SCREENSHOT}")


def test_the_uis_show_verdicts_the_fleet_why_and_trends(
    deployed: Deployed, drift_run: dict[str, Any]
) -> None:
    """Headless Chromium: the Prefect runs list names each check by its verdict, the fleet
    artifact lists every policy, the MLflow UI's page of the retrained version says why it
    exists, and its metric page of churn's trend run draws the measured and estimated accuracy,
    their thresholds and the drift share as lines over the checks (screenshots in
    test-output/)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed: the UI screenshots are skipped")
    OUTPUT.mkdir(exist_ok=True)
    with deployed.client() as client:
        states = {r.state_name for r in client.read_flow_runs(limit=200)}
    assert {"Retrained", "Held"} <= states, states
    text = _browse(deployed, chromium, f"{deployed.url}/v2/runs", OUTPUT / "runs.png")
    assert "Retrained" in text, f"the runs list does not name the verdicts: {text[:2000]}"

    fleet = _latest_artifact(deployed, "retrain-fleet")
    url = f"{deployed.url}/v2/artifacts/artifact/{fleet.id}"
    text = _browse(deployed, chromium, url, OUTPUT / "fleet.png", size=(1600, 900))
    for name in (POLICY, OTHER, deployed.scheduled):
        assert name in text, f"the fleet artifact does not list {name}: {text[:2000]}"

    port = deployed.tracking.port  # the tracking server serves its UI, also as MLFLOW_HOST
    ui = f"http://{MLFLOW_HOST}:{port}"
    # Warm: a cold server's first page load is slow, and chromium then often never exited.
    for path in ("/", "/ajax-api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/ui-telemetry"):
        address = f"http://127.0.0.1:{port}{path}"
        assert _answers(address, host=f"{MLFLOW_HOST}:{port}"), address
    version = champion_version(deployed.tracking_uri)
    url = f"{ui}/#/models/{POLICY}/versions/{version}"
    text = _browse(deployed, chromium, url, OUTPUT / "mlflow-version.png")
    assert "decision" in text and "challenger_gain" in text and "gate" in text, text[:3000]

    # the link `retrain report` prints: the trend run's metric page, one line per signal
    from retrain_core.store import Store

    chart = Store(deployed.tracking_uri).trend.page(POLICY, ui=ui)
    assert chart is not None, "no trend run for churn"
    dom: list[str] = []
    png = OUTPUT / "mlflow-metrics.png"
    text = _browse(deployed, chromium, chart, png, size=(1600, 900), dom=dom)
    keys = ("performance/accuracy", "estimated_performance/accuracy", "drift/share")
    assert all(f"trend {POLICY} ({key})" in text for key in keys), f"{chart}: {text[:3000]}"
    lines = _drawn_lines(dom[0])
    assert len(lines) >= len(keys) and all(len(points) >= 2 for _, points in lines), lines
    assert any(len(points) >= 3 for _, points in lines), f"no line changes over the checks: {lines}"
    colours = {colour for colour, _ in lines}
    assert _pixels_of(png, colours) > 1000, f"{png} does not draw its lines in {colours}"
    print(f"\ne2e: MLflow's chart of {POLICY}'s signals: {chart}")


def _drawn_lines(dom: str) -> list[tuple[tuple[int, int, int], list[str]]]:
    """Plotly's drawn lines in a dumped DOM: each opaque line's colour and its path's points
    (plotly drops the middle points of a straight stretch: a flat line has two)."""
    found = []
    for path, style in re.findall(r'<path class="js-line" d="([^"]*)" style="([^"]*)"', dom):
        colour = re.search(r"stroke: rgb\((\d+), (\d+), (\d+)\)", style)
        if colour and "stroke-opacity: 1;" in style:
            red, green, blue = (int(c) for c in colour.groups())
            found.append(((red, green, blue), re.findall(r"[ML][\d.]+,[\d.]+", path)))
    return found


def _pixels_of(png: Path, colours: set[tuple[int, int, int]], near: int = 24) -> int:
    """How many pixels of the screenshot are (about) one of `colours`."""
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        counts = rgb.getcolors(rgb.width * rgb.height) or []
    return sum(
        count for count, (r, g, b) in counts
        if any(abs(r - cr) <= near and abs(g - cg) <= near and abs(b - cb) <= near
               for cr, cg, cb in colours)
    )  # fmt: skip


def _latest_artifact(deployed: Deployed, key: str) -> Any:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with deployed.client() as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC, limit=1,
        )  # fmt: skip
    assert found, f"no {key} artifact"
    return found[0]


def _answers(url: str, host: str | None = None) -> bool:
    """True when `url` answers 200 (sent with the Host header `host`, when given)."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30 if host else 2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
