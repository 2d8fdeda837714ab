"""The report and the trend run after the demo's story, checked day by day by the real monitor.

A shortened demo stream: a first model, a clean day, a two-day covariate shift (drift, then the
labels of the shifted rows: a retrain), a clean day, then a concept change (the champion's
measured accuracy falls: a retrain) and a day to recover. The report the monitor kept on the last
check's run and the one `retrain report` writes are the same page; its charts show all of it:
a series per metric with a point per check that measured it, a mark per retrain with its reasons,
a heatmap cell per feature per check (the shifted features outlined on the shifted days), and the
trend run's metric history has one point per check, which `retrain report` links. With chromium
installed, the page is also screenshotted into test-output/report.png.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, Project
from mlflow import MlflowClient
from test_monitor_support import SHIFTED, at, check, decision_artifact, fast

from retrain_core.cli.main import main
from retrain_core.store import Store
from retrain_core.store.tags import KIND, TREND
from retrain_core.store.trend import trend_key

SVG = "{http://www.w3.org/2000/svg}"
DAYS = 8  # 1 first model, 2 clean, 3-4 shift, 5 clean, 6-8 concept


def charts(page: str) -> list[ET.Element]:
    found, rest = [], page
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(rest[start:end]))
        rest = rest[end:]
    return found


def groups(page: str, cls: str) -> list[ET.Element]:
    return [g for s in charts(page) for g in s.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def tip(element: ET.Element) -> str:
    return element.findtext(f"{SVG}title") or ""


def test_the_report_shows_the_shift_the_concept_change_the_retrains_and_the_recovery(
    project: Project, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast(project)
    project.story = replace(project.story, shift_from=3, shift_until=4, concept_from=6)
    summaries = []
    for day in range(1, DAYS + 1):
        project.write_day(day)
        summaries.append(check(project, at(day, 23)))
    verdicts = [s["verdict"] for s in summaries]
    retrains = [i for i, v in enumerate(verdicts) if v == "retrain"]
    assert len(retrains) >= 3, verdicts  # the first model, the shift, the concept change
    name = project.name

    # the page the monitor kept on the last check's run, and the one the command writes
    store = Store(tracking_uri)
    last = summaries[-1]["monitor_run_id"]
    kept = Path(store.history.report_url(last).removeprefix("file://")).read_text()
    out = tmp_path / "report.html"
    assert main(["report", str(project.policy_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{DAYS} checks -> {out}" in printed
    page = out.read_text()
    link = store.history.report_url(last)
    assert f"Report: `{link}`" in str(decision_artifact(name).data)  # a local file: in words
    assert page == kept.replace(f"; written {_when(at(DAYS, 23))}", "")
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    # a series per metric, a point per check that measured it
    series = {g.get("data-series"): g for g in groups(page, "series")}
    assert set(series) == {"performance.accuracy", "estimated_performance.accuracy"}
    for metric, g in series.items():
        measured = [o for s in summaries for o in s["outcomes"]
                    if o["check"] == metric and o["observed"] is not None]  # fmt: skip
        points = list(g.iter(f"{SVG}circle"))
        assert len(points) == len(measured) >= DAYS - 2, metric
    accuracy = list(series["performance.accuracy"].iter(f"{SVG}circle"))
    fell = [p for p in accuracy if p.get("class") == "fail"]
    assert fell, "the concept change shows as a fall below the threshold"
    assert accuracy[-1].get("class") == "pass", "and the last check has recovered"

    # a mark per retrain, with its reasons
    (decisions,) = groups(page, "decisions")
    marks = [m for m in decisions if m.get("class") == "mark retrain"]
    assert len(marks) == len(retrains)
    for mark, i in zip(marks, retrains, strict=True):
        assert summaries[i]["reasons"][0] in tip(mark)
    (champions,) = groups(page, "champions")
    assert len(list(champions.iter(f"{SVG}rect"))) == sum(
        s.get("training", {}).get("status") == "promoted" for s in summaries
    )

    # a heatmap cell per feature per check; the shift outlined on its days
    rows = {g.get("data-feature"): list(g.iter(f"{SVG}rect")) for g in groups(page, "feature")}
    assert set(SHIFTED) <= set(rows) and "share" in rows
    assert all(len(cells) == DAYS for cells in rows.values())
    for feature in SHIFTED[:2]:
        assert "fail" in rows[feature][2].get("class", ""), (feature, tip(rows[feature][2]))
    assert "fail" not in rows["tenure"][1].get("class", "")  # a clean day

    # MLflow's own chart: the trend run has one point per check, at its step and moment
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    (trend,) = client.search_runs([experiment.experiment_id], f"tags.`{KIND}` = '{TREND}'")
    history = client.get_metric_history(trend.info.run_id, "rows")
    assert [m.step for m in history] == list(range(DAYS))
    assert [m.timestamp for m in history] == [int(at(d, 23).timestamp() * 1000)
                                              for d in range(1, DAYS + 1)]  # fmt: skip
    drift = client.get_metric_history(trend.info.run_id, trend_key("drift.ks.tenure"))
    assert len(drift) == DAYS
    # ... and `retrain report` links its chart (e2e/test_deploy.py opens that page in chromium)
    chart = f"http://127.0.0.1:5000/#/metric?runs=%5B%22{trend.info.run_id}%22%5D&metric="
    assert f"In MLflow, its signals as lines over the checks: {chart}" in printed, printed
    assert f"mlflow ui --backend-store-uri {tracking_uri} --port 5000" in printed

    if shutil.which("chromium"):  # the picture for people (and the README), when it can be made
        shot = ROOT / "test-output" / "report.png"
        shot.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={shot}", "--window-size=1400,1000", out.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        assert shot.stat().st_size > 10_000


def _when(moment: object) -> str:
    from retrain_core.report.tables import when

    return when(moment)  # type: ignore[arg-type]
