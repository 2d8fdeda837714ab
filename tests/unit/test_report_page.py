"""The report page, pure: a made-up history in, one self-contained HTML page out (read as XML)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.report.history import (
    CheckPoint,
    HeldBatch,
    PolicyHistory,
    VersionEvent,
    drift_feature,
    metric_series,
)
from retrain_core.report.page import build_report

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 1, 1, 23, tzinfo=UTC)


def history(
    checks: int = 12, features: int = 3, retrain_at: tuple[int, ...] = (5,)
) -> PolicyHistory:
    """A policy whose accuracy falls after check 4, retrains at `retrain_at` and recovers."""
    points = []
    for i in range(checks):
        fell = 4 <= i < (retrain_at[0] if retrain_at else checks)
        signals = [
            CheckOutcome("performance.accuracy", Status.FAIL if fell else Status.PASS,
                         f"accuracy check {i}", 0.65 if fell else 0.8, 0.72),
            CheckOutcome("estimated_performance.accuracy", Status.PASS, "est", 0.78, 0.7),
            CheckOutcome("drift.share", Status.PASS, "share", 0.1, 0.3),
            *[CheckOutcome(f"drift.ks.f{n}", Status.FAIL if fell else Status.PASS,
                           f"p for f{n}", 0.3 if fell else 0.02, 0.1) for n in range(features)],
            CheckOutcome("quality.expect_column_values_to_not_be_null.f0",
                         Status.FAIL if i == 2 else Status.PASS, "nulls", 0.0),
            CheckOutcome("max_age.champion", Status.PASS, "young", 3600.0, 7776000.0),
        ]  # fmt: skip
        verdict = "retrain" if i in retrain_at else ("pending" if fell else "hold")
        reasons = (f"performance.accuracy fell at check {i} <&>",) if verdict != "hold" else ()
        training = "promoted" if verdict == "retrain" else ""
        moment = START + timedelta(days=i)
        points.append(CheckPoint(moment, verdict, reasons, 1000 + i, training, tuple(signals)))
    versions = (
        VersionEvent(START, "1", "promoted", "first model"),
        *[VersionEvent(START + timedelta(days=i), str(n + 2), "promoted", "gate passed")
          for n, i in enumerate(retrain_at)],
        VersionEvent(START + timedelta(days=3), "9", "rejected", "worse than the champion"),
    )  # fmt: skip
    held = (HeldBatch(START + timedelta(days=2), "day-03.parquet", "nulls in f0", "quarantined"),)
    return PolicyHistory("churn", tuple(points), versions, held)


def svgs(page: str) -> list[ET.Element]:
    """Every chart of the page, parsed (each must be well-formed XML)."""
    found, rest = [], page
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(rest[start:end]))
        rest = rest[end:]
    return found


def groups(page: str, cls: str) -> list[ET.Element]:
    return [g for s in svgs(page) for g in s.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def test_the_page_is_self_contained_html_with_its_charts() -> None:
    page = build_report(history())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for remote in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert remote not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), remote
    assert len(svgs(page)) >= 4
    assert "&lt;&amp;&gt;" in page and "<&>" not in page  # reasons are escaped


def test_a_series_per_metric_with_a_point_per_check_and_its_threshold() -> None:
    page = build_report(history(checks=12))
    series = {g.get("data-series"): g for g in groups(page, "series")}
    assert set(series) == {"performance.accuracy", "estimated_performance.accuracy"}
    for g in series.values():
        assert len(list(g.iter(f"{SVG}circle"))) == 12
        assert any(p.get("class") == "threshold" for p in g.iter(f"{SVG}path"))
    fired = [c for c in series["performance.accuracy"].iter(f"{SVG}circle")
             if c.get("class") == "fail"]  # fmt: skip
    assert len(fired) == 1  # check 4 fell; check 5 retrained (it fell too, then recovered)
    tips = [c.findtext(f"{SVG}title") or "" for c in fired]
    assert "accuracy check 4" in tips[0] and "threshold 0.72" in tips[0]


def test_a_mark_per_decision_with_its_reason_and_the_champion_timeline() -> None:
    page = build_report(history(checks=12, retrain_at=(5, 9)))
    (decisions,) = groups(page, "decisions")
    marks = {m.get("class"): [] for m in decisions}
    for mark in decisions:
        marks[mark.get("class")].append(mark.findtext(f"{SVG}title") or "")
    assert len(marks["mark retrain"]) == 2
    assert "retrain -> promoted" in marks["mark retrain"][0]
    assert "performance.accuracy fell at check 5 <&>" in marks["mark retrain"][0]
    assert len(marks["mark pending"]) == 1  # check 4
    (versions,) = groups(page, "versions")
    kinds = [m.get("class") for m in versions]
    assert kinds.count("mark promoted") == 3 and kinds.count("mark rejected") == 1
    (champions,) = groups(page, "champions")
    spans = [r.findtext(f"{SVG}title") or "" for r in champions.iter(f"{SVG}rect")]
    assert [s.split()[0] for s in spans] == ["v1", "v2", "v3"]


def test_the_heatmap_has_a_cell_per_feature_per_check() -> None:
    page = build_report(history(checks=7, features=4))
    rows = {g.get("data-feature"): list(g.iter(f"{SVG}rect")) for g in groups(page, "feature")}
    assert set(rows) == {"share", "f0", "f1", "f2", "f3"}
    assert all(len(cells) == 7 for cells in rows.values())
    drifted = [c for c in rows["f0"] if "fail" in c.get("class", "")]
    assert len(drifted) == 1 and "p for f0" in (drifted[0].findtext(f"{SVG}title") or "")


def test_rows_quality_and_quarantine_per_batch() -> None:
    page = build_report(history(checks=5))
    (volume,) = groups(page, "volume")
    assert len(list(volume)) == 5
    (quality,) = groups(page, "quality")
    assert [r.get("class") for r in quality] == ["ok", "ok", "bad", "ok", "ok"]
    (held,) = groups(page, "held")
    assert "day-03.parquet" in (held[0].findtext(f"{SVG}title") or "")


def test_no_checks_yet_says_so() -> None:
    page = build_report(PolicyHistory("churn", ()))
    assert "No check of this policy" in page and "<svg" not in page


def test_one_check_and_no_signals_still_draw() -> None:
    only = CheckPoint(
        START, "hold", (), 0, "", (CheckOutcome("data.no_new_data", Status.PASS, "none", 0),)
    )
    page = build_report(PolicyHistory("churn", (only,)))
    assert "No performance rule measured anything yet" in page
    assert "No drift rule measured anything yet" in page
    svgs(page)


def test_names_of_the_series() -> None:
    assert metric_series("performance.accuracy") and metric_series("estimated_performance.rmse")
    assert not metric_series("performance") and not metric_series("drift.share")
    assert not metric_series("challenger_gain.accuracy.gain")
    assert drift_feature("drift.ks.tenure") == "tenure" and drift_feature("drift.psi.a.b") == "a.b"
    assert drift_feature("drift.share") is None and drift_feature("quality.x.y") is None


def test_a_few_hundred_checks_build_well_under_a_second() -> None:
    big = history(checks=300, features=10, retrain_at=(40, 200))
    started = time.perf_counter()
    page = build_report(big)
    took = time.perf_counter() - started
    assert took < 0.5, took  # about 0.05 s on a quiet core: room for a busy machine
    assert len(groups(page, "feature")) == 11


def test_a_version_event_far_outside_the_checks_does_not_squash_the_charts() -> None:
    base = history(checks=6)
    late = VersionEvent(START + timedelta(days=365), "1", "rolled back", "by hand, wall clock")
    early = VersionEvent(START - timedelta(days=365), "0", "promoted", "long ago")
    wide = PolicyHistory("churn", base.checks, (early, *base.versions, late), base.held)

    def xs(page: str) -> list[str | None]:
        (decisions,) = groups(page, "decisions")
        return [m.get("points") for m in decisions]

    page = build_report(wide)
    assert xs(page) == xs(build_report(base))
    (champions,) = groups(page, "champions")
    spans = [float(r.get("x") or 0) for r in champions.iter(f"{SVG}rect")]
    assert min(spans) >= 190 and "v0 champion" in page  # clipped at the axis, still there
    assert "by hand, wall clock" in page  # the tables keep it
