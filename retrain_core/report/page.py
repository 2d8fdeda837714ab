"""The report of one policy as one HTML page: `build_report(history) -> str`, pure.

Over the ledger's logical time (each check's `checked_at`), on one shared time axis:

- the model's metric: each performance rule's measured and estimated metric per check, with the
  threshold each check judged it against (a step line), and a guide at each retrain;
- decisions and versions: every check that did not simply hold as a mark (retrain, pending,
  blocked, suppressed) and the champion's versions as a timeline with their promotions,
  rejections and rollbacks; each mark's reasons are its tooltip;
- drift per feature as a heatmap: one row per feature, one cell per check, coloured by the
  statistic over its threshold (1 = at the threshold), outlined where it drifted;
- the data: rows per batch, its expectations passed or failed, and the batches quarantined.

Why hand-written SVG, not a plotting library: the page must open offline from one file (no CDN,
no script), be rebuilt by the monitor after every check in milliseconds (matplotlib takes ~0.5 s
to import and as long again to draw a few hundred points, and its SVG carries no tooltips
without post-processing), and be checked by tests that read it as XML. SVG `<title>` elements are
the browser's own tooltips: every point, cell and mark says what it is and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from retrain_core.base.durations import format_duration
from retrain_core.base.outcome import CheckOutcome, Status
from retrain_core.report import svg
from retrain_core.report.history import (
    CheckPoint,
    HeldBatch,
    PolicyHistory,
    VersionEvent,
    drift_feature,
    metric_series,
)
from retrain_core.report.tables import decision_table, held_table, number, version_table, when

WIDTH, LEFT, RIGHT = 1200.0, 190.0, 1180.0
# a check's verdict -> its mark's shape (a check that holds gets none)
VERDICT_MARKS = {"retrain": "triangle", "pending": "diamond", "blocked": "square",
                 "suppressed": "circle"}  # fmt: skip
EVENT_MARKS = {"promoted": "circle", "rejected": "cross", "rolled back": "diamond"}
# the heatmap's colours: statistic / threshold from 0 to 2 (and beyond)
HEAT = ((0.0, (247, 251, 255)), (0.5, (253, 212, 158)), (1.0, (227, 74, 51)), (2.0, (127, 0, 0)))

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1220px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px}p.note{color:#555;margin:2px 0}
svg{display:block;overflow:visible}text{font-size:12px;fill:#333}.tick{fill:#666;font-size:11px}
.grid{stroke:#e6e6e6;stroke-width:1}.frame{fill:none;stroke:#bbb}.lane{fill:#fafafa;stroke:#eee}
.s0{stroke:#1f77b4;fill:#1f77b4}.s1{stroke:#9467bd;fill:#9467bd}.s2{stroke:#17becf;fill:#17becf}
.s3{stroke:#bcbd22;fill:#bcbd22}.series path.line{fill:none;stroke-width:2}
.series path.threshold{fill:none;stroke-width:1.2;stroke-dasharray:5 4}
.series circle{stroke:#fff;stroke-width:1}.series circle.fail{stroke:#d62728;stroke-width:2.5}
.key-line{stroke-width:3}.guide{stroke-width:1.5;stroke-dasharray:2 3}.guide.retrain{stroke:#d62728}
.guide.rolled-back{stroke:#e377c2}
.mark{stroke:#fff;stroke-width:1}.retrain{fill:#d62728}.pending{fill:#ff7f0e}
.blocked{fill:#8c564b}.suppressed{fill:#bcbd22}.promoted{fill:#2ca02c}.rejected{fill:#7f7f7f}
.rolled-back{fill:#e377c2}.champion{fill:#dbe9f6;stroke:#6b9bc8}.champion.rolled-back{fill:#f7d9ee}
.cell{stroke:#fff;stroke-width:.5}.cell.fail{stroke:#222;stroke-width:1.5}.cell.missing{fill:#eee}
.rows{fill:#9ecae1}.ok{fill:#74c476}.bad{fill:#d62728}.none{fill:#ddd}
.held{fill:#d62728}.held.released{fill:#aaa}
table{border-collapse:collapse;margin-top:6px}td,th{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f6f6f6}.legend span{margin-right:14px}
.key{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
"""


def build_report(history: PolicyHistory, generated: datetime | None = None) -> str:
    """The whole page: a header, the four charts, then the decisions and versions as tables."""
    checks = sorted(history.checks, key=lambda c: c.checked_at)
    head = f"<h1>{svg.esc(history.policy)}: retrain report</h1>"
    if not checks:
        body = f"{head}<p>No check of this policy is in the ledger yet.</p>"
        return _page(history.policy, body)
    scale = _scale(checks)
    parts = [
        head,
        _summary(history, checks, generated),
        *[f'<p class="note">{svg.esc(note)}</p>' for note in history.notes],
        "<h2>Model metric</h2>",
        '<p class="note">Each performance rule\'s metric per check, measured on labels (solid) '
        "or estimated without them, and the threshold it was judged against (dashed). Points "
        "ringed in red fired; dotted guides are retrains. Hover for the reason.</p>",
        _metric_chart(checks, history.versions, scale),
        "<h2>Decisions and the champion</h2>",
        _legend(),
        _decision_lanes(checks, history.versions, scale),
        "<h2>Drift per feature</h2>",
        '<p class="note">Each feature\'s drift statistic per check over its threshold (1 = at '
        "the threshold); outlined cells drifted. Hover for the statistic and the test.</p>",
        _heatmap(checks, scale),
        "<h2>Data</h2>",
        '<p class="note">Rows per check, its expectations (green: all passed, red: some '
        "failed) and the batches quarantined as bad data.</p>",
        _data_chart(checks, history.held, scale),
        "<h2>Decisions</h2>",
        decision_table(checks),
        *version_table(history.versions),
        *held_table(history.held),
    ]
    return _page(history.policy, "\n".join(parts))


def _page(policy: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{svg.esc(policy)}: retrain report</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _scale(checks: Sequence[CheckPoint]) -> svg.TimeScale:
    """The time axis: the checks, half a gap beyond (a version or a batch outside is left out
    of the charts, not the tables: a rollback by hand on the wall clock would squash them)."""
    times = [c.checked_at for c in checks]
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    pad = timedelta(seconds=max(median(gaps) / 2 if gaps else 43200.0, 1800.0))
    return svg.TimeScale(times[0] - pad, times[-1] + pad, LEFT, RIGHT)


def _summary(
    history: PolicyHistory, checks: Sequence[CheckPoint], generated: datetime | None
) -> str:
    verdicts = [c.verdict for c in checks]
    champion = _champion_spans(history.versions, checks[-1].checked_at)
    serving = f"v{champion[-1][2]}" if champion else "none"
    span = format_duration(checks[-1].checked_at - checks[0].checked_at)
    made = f"; written {when(generated)}" if generated else ""
    return (
        f'<p class="note">{len(checks)} checks from {when(checks[0].checked_at)} to '
        f"{when(checks[-1].checked_at)} ({span}): {verdicts.count('retrain')} retrain, "
        f"{verdicts.count('pending')} pending, {verdicts.count('blocked')} blocked, "
        f"{verdicts.count('hold')} hold. Champion now: {serving}{made}.</p>"
    )


def _legend() -> str:
    keys = [*VERDICT_MARKS, *EVENT_MARKS]
    spans = "".join(
        f'<span><svg width="12" height="12" style="display:inline;vertical-align:-1px">'
        f"{svg.marker(VERDICT_MARKS.get(k) or EVENT_MARKS[k], 6, 6, 5, 'mark ' + _cls(k))}</svg> "
        f"{svg.esc(k)}</span>"
        for k in keys
    )
    return f'<p class="note legend">{spans}</p>'


def _cls(name: str) -> str:
    return name.replace(" ", "-")


def _point_tip(check: CheckPoint, signal: CheckOutcome) -> str:
    return (
        f"{when(check.checked_at)}\n{signal.check} = {number(signal.observed)} "
        f"({signal.status.value}), threshold {number(signal.threshold)}\n{signal.reason}"
    )


def _metric_chart(
    checks: Sequence[CheckPoint], versions: Sequence[VersionEvent], scale: svg.TimeScale
) -> str:
    names = list(
        dict.fromkeys(s.check for c in checks for s in c.signals if metric_series(s.check))
    )
    top, bottom = 26.0, 246.0
    found = [
        (c, s) for c in checks for s in c.signals if s.check in names and s.observed is not None
    ]
    if not found:
        return '<p class="note">No performance rule measured anything yet.</p>'
    values = [s.observed for _, s in found if s.observed is not None]
    values += [s.threshold for _, s in found if s.threshold is not None]
    low, high = svg.padded(values)
    ys = svg.Linear(low, high, bottom, top)
    out = [*svg.time_axis(scale, top, bottom), *svg.value_axis(ys, LEFT, RIGHT)]
    for check in checks:
        if check.verdict == "retrain":
            x = scale.x(check.checked_at)
            tip = f"{when(check.checked_at)}: retrain"
            out.append(svg.line(x, top, x, bottom, "guide retrain", tip))
    for event in versions:
        if event.event == "rolled back" and scale.covers(event.at):
            x = scale.x(event.at)
            out.append(svg.line(x, top, x, bottom, "guide rolled-back",
                                f"{when(event.at)}: rolled back to v{event.version}"))  # fmt: skip
    for i, name in enumerate(names):
        mine = [(c, s) for c, s in found if s.check == name]
        points = [(scale.x(c.checked_at), ys.y(s.observed or 0.0)) for c, s in mine]
        marks = [(scale.x(c.checked_at), ys.y(s.threshold)) for c, s in mine
                 if s.threshold is not None]  # fmt: skip
        label = f"{name} ({'estimated' if name.startswith('estimated') else 'measured'})"
        dots = "".join(
            svg.circle(x, y, 3.5, "fail" if s.status is Status.FAIL else "pass", _point_tip(c, s))
            for (x, y), (c, s) in zip(points, mine, strict=True)
        )
        out.append(
            f'<g class="series s{i % 4}" data-series="{svg.esc(name)}">'
            + svg.path(points, "line", label)
            + svg.steps(marks, "threshold", f"threshold of {name}")
            + dots
            + "</g>"
        )
        x = LEFT + 320 * i
        out.append(svg.line(x, top - 12, x + 20, top - 12, f"s{i % 4} key-line"))
        out.append(svg.text(x + 26, top - 8, label))
    out.append(svg.rect(LEFT, top, RIGHT - LEFT, bottom - top, "frame"))
    return svg.figure(WIDTH, bottom + 24, "model metric over time", out)


def _champion_spans(
    versions: Sequence[VersionEvent], end: datetime
) -> list[tuple[datetime, datetime, str, str]]:
    """(from, until, version, how it became champion) for each stretch one version served."""
    moves = sorted((e for e in versions if e.event in ("promoted", "rolled back")),
                   key=lambda e: e.at)  # fmt: skip
    spans = []
    for i, event in enumerate(moves):
        until = moves[i + 1].at if i + 1 < len(moves) else max(end, event.at)
        spans.append((event.at, until, event.version, event.event))
    return spans


def _check_tip(check: CheckPoint) -> str:
    what = check.verdict + (f" -> {check.training}" if check.training else "")
    return "\n".join([f"{when(check.checked_at)}: {what}", *check.reasons])


def _decision_lanes(
    checks: Sequence[CheckPoint], versions: Sequence[VersionEvent], scale: svg.TimeScale
) -> str:
    lanes = (("decisions", 10.0), ("champion", 46.0))
    out = []
    for label, y in lanes:
        out.append(svg.rect(LEFT, y, RIGHT - LEFT, 28, "lane"))
        out.append(svg.text(LEFT - 8, y + 18, label, anchor="end"))
    out.extend(svg.time_axis(scale, 10.0, 74.0))
    marks = []
    for check in checks:
        shape = VERDICT_MARKS.get(check.verdict)
        if shape:
            cls = f"mark {_cls(check.verdict)}"
            marks.append(
                svg.marker(shape, scale.x(check.checked_at), 24, 7, cls, _check_tip(check))
            )
    out.append(f'<g class="marks decisions">{"".join(marks)}</g>')
    spans = []
    for start, until, version, how in _champion_spans(versions, scale.end):
        if until <= scale.start or start >= scale.end:
            continue
        x0, x1 = scale.x(max(start, scale.start)), scale.x(min(until, scale.end))
        tip = f"v{version} champion from {when(start)} ({how}) for {format_duration(until - start)}"
        spans.append(svg.rect(x0, 50, x1 - x0, 20, f"champion {_cls(how)}", tip))
        if x1 - x0 > 24:
            spans.append(svg.text(x0 + 10, 64, f"v{version}"))
    out.append(f'<g class="champions">{"".join(spans)}</g>')
    events = [
        svg.marker(EVENT_MARKS[e.event], scale.x(e.at), 60, 6, f"mark {_cls(e.event)}",
                   f"{when(e.at)}: v{e.version} {e.event}\n{e.reason}".rstrip())
        for e in sorted(versions, key=lambda e: e.at)
        if e.event in EVENT_MARKS and scale.covers(e.at)
    ]  # fmt: skip
    out.append(f'<g class="marks versions">{"".join(events)}</g>')
    return svg.figure(WIDTH, 96, "decisions and champion versions over time", out)


def _heat(ratio: float) -> str:
    """The colour of statistic / threshold (linear between the stops of HEAT)."""
    ratio = max(0.0, ratio)
    for (a, ca), (b, cb) in pairwise(HEAT):
        if ratio <= b or b == HEAT[-1][0]:
            t = min((ratio - a) / (b - a), 1.0)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True)]
            return "#" + "".join(f"{v:02x}" for v in rgb)
    return "#7f0000"  # pragma: no cover


def _cell(check: CheckPoint, row: str, signal: CheckOutcome | None, x0: float, x1: float,
          y: float) -> str:  # fmt: skip
    if signal is None or signal.observed is None:
        why = signal.reason if signal is not None else "not measured"
        return svg.rect(
            x0, y, x1 - x0, 16, "cell missing", f"{row}, {when(check.checked_at)}: {why}"
        )
    threshold = signal.threshold or 0.0
    ratio = signal.observed / threshold if threshold > 0 else (1.0 if signal.failed else 0.0)
    tip = (
        f"{row}, {when(check.checked_at)}: {number(signal.observed)} "
        f"(threshold {number(signal.threshold)}, {signal.status.value})\n{signal.reason}"
    )
    cls = "cell fail" if signal.failed else "cell"
    return svg.rect(x0, y, x1 - x0, 16, cls, tip, f"fill:{_heat(ratio)}")


def _heatmap(checks: Sequence[CheckPoint], scale: svg.TimeScale) -> str:
    features = list(dict.fromkeys(
        f for c in checks for s in c.signals if (f := drift_feature(s.check)) is not None
    ))  # fmt: skip
    if not features:
        return '<p class="note">No drift rule measured anything yet.</p>'
    has_share = any(c.signal("drift.share") for c in checks)
    rows = (["share of features"] if has_share else []) + features
    xs = [scale.x(c.checked_at) for c in checks]
    spans = svg.edges(xs, LEFT, RIGHT)
    out = []
    for r, row in enumerate(rows):
        y = 6.0 + 18 * r
        out.append(svg.text(LEFT - 8, y + 12, row, anchor="end"))
        cells = []
        for check, (x0, x1) in zip(checks, spans, strict=True):
            if row == "share of features" and has_share:
                signal = check.signal("drift.share")
            else:
                signal = next((s for s in check.signals if drift_feature(s.check) == row), None)
            cells.append(_cell(check, row, signal, x0, x1, y))
        data = "share" if row == "share of features" and has_share else row
        out.append(f'<g class="feature" data-feature="{svg.esc(data)}">{"".join(cells)}</g>')
    bottom = 6.0 + 18 * len(rows)
    out.extend(svg.time_axis(scale, bottom, bottom + 2))
    return (
        '<div class="heatmap">'
        + svg.figure(WIDTH, bottom + 22, "drift per feature", out)
        + "</div>"
    )


def _quality(check: CheckPoint) -> tuple[str, str]:
    expectations = [s for s in check.signals if s.kind == "quality"]
    if not expectations:
        return "none", f"{when(check.checked_at)}: no expectation ran"
    failed = [s for s in expectations if s.status is not Status.PASS]
    head = f"{when(check.checked_at)}: {len(expectations) - len(failed)} of {len(expectations)} "
    lines = [head + "expectations passed", *[f"{s.check}: {s.reason}" for s in failed]]
    return ("bad" if failed else "ok"), "\n".join(lines)


def _data_chart(
    checks: Sequence[CheckPoint], held: Sequence[HeldBatch], scale: svg.TimeScale
) -> str:
    top, bottom = 8.0, 108.0
    most = max([c.rows or 0 for c in checks] + [1])
    ys = svg.Linear(0.0, float(most), bottom, top)
    out = [*svg.time_axis(scale, top, 164.0), *svg.value_axis(ys, LEFT, RIGHT, ".0f")]
    xs = [scale.x(c.checked_at) for c in checks]
    spans = svg.edges(xs, LEFT, RIGHT)
    bars, quality = [], []
    for check, (x0, x1) in zip(checks, spans, strict=True):
        width = (x1 - x0) * 0.7
        x = (x0 + x1) / 2 - width / 2
        rows = check.rows or 0
        tip = f"{when(check.checked_at)}: {rows} rows"
        bars.append(svg.rect(x, ys.y(rows), width, bottom - ys.y(rows), "rows", tip))
        state, why = _quality(check)
        quality.append(svg.rect(x, 116, width, 16, state, why))
    out.append(f'<g class="volume">{"".join(bars)}</g><g class="quality">{"".join(quality)}</g>')
    out.append(svg.text(LEFT - 8, 128, "expectations", anchor="end"))
    out.append(svg.rect(LEFT, 138, RIGHT - LEFT, 22, "lane"))
    out.append(svg.text(LEFT - 8, 153, "quarantined", anchor="end"))
    marks = [
        svg.marker("cross", scale.x(h.found_at), 149, 6, f"held {h.status}",
                   f"{when(h.found_at)}: {h.key} {h.status}\n{h.reason}")
        for h in held if scale.covers(h.found_at)
    ]  # fmt: skip
    out.append(f'<g class="marks held">{"".join(marks)}</g>')
    out.append(svg.text(LEFT - 48, (top + bottom) / 2, "rows", anchor="end"))
    return svg.figure(WIDTH, 184, "data volume, quality and quarantine over time", out)
