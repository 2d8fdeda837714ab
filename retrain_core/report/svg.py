"""SVG by hand: scales, axes and shapes with a `<title>` (the browser's own tooltip) each.

Pure string building, no plotting library: the page must render offline with nothing but the
file (no CDN, no script), build in milliseconds for hundreds of checks after every check, and be
easy to test (the tests parse it as XML). Every number is rounded to 0.1 px; every text escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from retrain_core.base.durations import parse_duration

# Tick spacings of the time axis, shortest first: the first that leaves at most MAX_TICKS wins.
TICK_STEPS = tuple(parse_duration(s) for s in ("1h", "3h", "6h", "12h", "1d", "2d", "7d", "14d"))
MAX_TICKS = 12


def esc(text: object) -> str:
    """Text safe inside an element or an attribute."""
    return html.escape(str(text), quote=True)


def px(value: float) -> str:
    """A coordinate, to 0.1 px."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def title(text: str) -> str:
    """The tooltip child of a shape."""
    return f"<title>{esc(text)}</title>" if text else ""


@dataclass(frozen=True)
class TimeScale:
    """Moments from `start` to `end` onto x pixels from `left` to `right`."""

    start: datetime
    end: datetime
    left: float
    right: float

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return self.left + share * (self.right - self.left)

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def ticks(self) -> list[tuple[float, str]]:
        """Round moments along the axis (midnights, whole hours) and their labels."""
        span = self.end - self.start
        step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), None)
        if step is None:
            step = timedelta(days=-(-span.days // MAX_TICKS) or 1)
        unit = step if step < timedelta(days=1) else timedelta(days=1)
        first = self.start.replace(minute=0, second=0, microsecond=0)
        if unit >= timedelta(days=1):
            first = first.replace(hour=0)
        while first < self.start:
            first += unit
        form = "%m-%d %H:%M" if step < timedelta(days=1) else "%Y-%m-%d"
        found, moment = [], first
        while moment <= self.end:
            found.append((self.x(moment), f"{moment:{form}}"))
            moment += step
        return found


@dataclass(frozen=True)
class Linear:
    """Values from `low` to `high` onto y pixels from `bottom` up to `top`."""

    low: float
    high: float
    bottom: float
    top: float

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.bottom - (value - self.low) / span * (self.bottom - self.top)

    def ticks(self, count: int = 5) -> list[float]:
        """About `count` round values between low and high."""
        span = (self.high - self.low) or 1.0
        raw = span / count
        magnitude = 10 ** _floor_log10(raw)
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = -(-self.low // step) * step
        return [first + i * step for i in range(int((self.high - first) / step + 1e-9) + 1)]


def _floor_log10(value: float) -> int:
    exponent = 0
    while value >= 10:
        value, exponent = value / 10, exponent + 1
    while value < 1:
        value, exponent = value * 10, exponent - 1
    return exponent


def padded(values: Iterable[float], share: float = 0.08) -> tuple[float, float]:
    """The range of `values`, widened by `share` on each side (a flat range by 1 %)."""
    found = list(values)
    low, high = min(found), max(found)
    pad = (high - low) * share or abs(high) * 0.01 or 1.0
    return low - pad, high + pad


def edges(xs: Sequence[float], left: float, right: float) -> list[tuple[float, float]]:
    """Each point's span: halfway to its neighbours (the ends stop at `left` and `right`)."""
    cuts = [left, *((a + b) / 2 for a, b in pairwise(xs)), right]
    return [(cuts[i], cuts[i + 1]) for i in range(len(xs))]


def figure(width: float, height: float, label: str, body: Iterable[str]) -> str:
    """One `<svg>` with a label for screen readers."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px(width)}" height="{px(height)}" '
        f'viewBox="0 0 {px(width)} {px(height)}" role="img" aria-label="{esc(label)}">'
        + "".join(body)
        + "</svg>"
    )


def line(x1: float, y1: float, x2: float, y2: float, cls: str, tip: str = "") -> str:
    close = f">{title(tip)}</line>" if tip else "/>"
    return f'<line x1="{px(x1)}" y1="{px(y1)}" x2="{px(x2)}" y2="{px(y2)}" class="{cls}"{close}'


def rect(x: float, y: float, w: float, h: float, cls: str, tip: str = "", style: str = "") -> str:
    styled = f' style="{style}"' if style else ""
    return (
        f'<rect x="{px(x)}" y="{px(y)}" width="{px(max(w, 0.5))}" height="{px(max(h, 0.5))}" '
        f'class="{cls}"{styled}>{title(tip)}</rect>'
    )


def circle(x: float, y: float, r: float, cls: str, tip: str = "") -> str:
    return f'<circle cx="{px(x)}" cy="{px(y)}" r="{px(r)}" class="{cls}">{title(tip)}</circle>'


def path(points: Sequence[tuple[float, float]], cls: str, tip: str = "") -> str:
    """An open polyline through `points` (nothing for fewer than two)."""
    if len(points) < 2:
        return ""
    d = "M" + " L".join(f"{px(x)},{px(y)}" for x, y in points)
    return f'<path d="{d}" class="{cls}">{title(tip)}</path>'


def steps(points: Sequence[tuple[float, float]], cls: str, tip: str = "") -> str:
    """A step line: each value holds until the next point (a threshold as the check saw it)."""
    held: list[tuple[float, float]] = []
    for i, (x, y) in enumerate(points):
        if i:
            held.append((x, held[-1][1]))
        held.append((x, y))
    return path(held, cls, tip)


def marker(shape: str, x: float, y: float, size: float, cls: str, tip: str = "") -> str:
    """A decision's mark: triangle, diamond, square, cross or circle, centred on (x, y)."""
    s = size
    shapes = {
        "triangle": [(x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8)],
        "diamond": [(x, y - s), (x + s, y), (x, y + s), (x - s, y)],
        "square": [(x - s * 0.8, y - s * 0.8), (x + s * 0.8, y - s * 0.8),
                   (x + s * 0.8, y + s * 0.8), (x - s * 0.8, y + s * 0.8)],
        "cross": [(x - s, y - s * 0.4), (x - s * 0.4, y - s), (x, y - s * 0.6),
                  (x + s * 0.4, y - s), (x + s, y - s * 0.4), (x + s * 0.6, y),
                  (x + s, y + s * 0.4), (x + s * 0.4, y + s), (x, y + s * 0.6),
                  (x - s * 0.4, y + s), (x - s, y + s * 0.4), (x - s * 0.6, y)],
    }  # fmt: skip
    if shape not in shapes:
        return circle(x, y, s * 0.8, cls, tip)
    points = " ".join(f"{px(a)},{px(b)}" for a, b in shapes[shape])
    return f'<polygon points="{points}" class="{cls}">{title(tip)}</polygon>'


def text(x: float, y: float, content: str, cls: str = "", anchor: str = "start") -> str:
    styled = f' class="{cls}"' if cls else ""
    return f'<text x="{px(x)}" y="{px(y)}" text-anchor="{anchor}"{styled}>{esc(content)}</text>'


def time_axis(scale: TimeScale, top: float, bottom: float) -> list[str]:
    """Grid lines at round moments from `top` to `bottom`, labelled under `bottom`."""
    out = []
    for x, label in scale.ticks():
        out.append(line(x, top, x, bottom, "grid"))
        out.append(text(x, bottom + 14, label, "tick", "middle"))
    return out


def value_axis(scale: Linear, left: float, right: float, form: str = ".3g") -> list[str]:
    """Grid lines at round values from `left` to `right`, labelled left of `left`."""
    out = []
    for value in scale.ticks():
        y = scale.y(value)
        out.append(line(left, y, right, y, "grid"))
        out.append(text(left - 6, y + 4, f"{value:{form}}", "tick", "end"))
    return out
