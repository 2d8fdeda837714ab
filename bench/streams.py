"""Synthetic drift streams, one per kind of drift, generated with numpy (no river).

Each generator returns a `Stream`: a frame of `batches` x `rows` rows (features, a binary `label`
and a timestamp `t`: batch b is logical day b, its rows spread over that day), the feature lists,
the seed and every shape parameter (also written to the benchmark's JSON). Positions of changes
are fractions of the stream's length, so a short stream keeps its shape. `generate(name, seed,
**shape)` makes one; `DEFAULTS` holds each stream's own seed and shape:

- abrupt (seed 101, Agrawal-like loan approval: age, salary, loan, categorical elevel and region,
  5% label noise): the approval rule is replaced by another at `change` = 0.5 of the stream.
- gradual (seed 102, five normal features and a categorical channel, 5% noise): from `start` 0.3
  to `end` 0.7 each row follows the new rule with a probability rising linearly from 0 to 1.
- incremental (seed 103, rotating hyperplane in six normal features, 5% noise): the rule's normal
  turns by `speed` = 0.05 radians per batch in the (x0, x1) plane, all the time.
- recurring (seed 104, SEA: three uniform [0, 10] features, 10% noise): label = x0 + x1 <= theta;
  theta is 7, becomes 10 from `change` = 0.4, and goes back to 7 from `back` = 0.7.
- seasonal (seed 105, weather-like: a batch is one MONTH of 1,000 station readings, `period` = 12
  batches a year, so 25 batches are two years and a month): temperature, humidity, pressure and
  wind follow the year, and whether it rains the next day depends on falling pressure in winter
  and on heat and humidity in summer, mixed by the season; a categorical station. The concept
  comes back each year.
- covariate (seed 106, benign covariate shift, 10% noise): the first rows cover the whole input
  square [-3, 3]^2 (plus two irrelevant features, a categorical segment), later batches are
  narrow clouds (sd `spread` = 0.8) whose centre circles at `radius` = 1.5 inside it; the rule
  (label = x0 * x1 + 0.5 sin(2 x0) > 0) never changes: drift tests fire, a retrain does not help.
- label_noise (seed 107, a fixed linear rule with a categorical effect): label noise is `low` =
  0.05, rises to `high` = 0.3 from `start` = 0.4 to `end` = 0.7, then falls back: the accuracy
  falls, and a model trained on the noisy rows is no better.
- none (seed 108, a fixed rule, 10% noise, one distribution): nothing changes.

Every stream has 25 batches of 1,000 rows (the first two train the first model; 25 keeps a full
run of bench/backtest.py near 10 minutes on a loaded 2-core machine, where the hindsight ceiling's
scoring of every model on every later batch costs the most). Categorical features have few levels:
the project's pipeline one-hot encodes them with scikit-learn's defaults, so when fewer than 30%
of the encoded entries are non-zero the matrix is sparse and HistGradientBoosting refuses it (a
first `abrupt` with a 9-level region could not train its first model). `--seed N` in
bench/backtest.py gives stream i the seed N + i (its own, reproducible).
`Stream.check(never, retrained)` says whether a model that never retrains and one that is
retrained behave as the kind claims (per-batch accuracy keyed by batch index): bench/backtest.py
prints it for each stream, tests/unit/test_bench_streams.py asserts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

START = datetime(2020, 1, 1, tzinfo=UTC)
Curve = Mapping[int, float]  # batch index -> accuracy on that batch


@dataclass(frozen=True)
class Stream:
    """One generated stream and how it was made."""

    name: str
    kind: str
    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    seed: int
    shape: dict[str, Any]
    target: str = "label"
    check_fn: Callable[[Stream, Curve, Curve], tuple[bool, str]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def rows(self) -> int:
        return int(self.shape["rows"])

    @property
    def batches(self) -> int:
        return int(self.shape["batches"])

    def at(self, fraction: float) -> int:
        """The batch index a fraction of the stream falls on."""
        return round(fraction * self.batches)

    def check(self, never: Curve, retrained: Curve) -> tuple[bool, str]:
        """Whether the stream behaves as its kind claims, and a one-line account."""
        assert self.check_fn is not None
        return self.check_fn(self, never, retrained)

    def describe(self) -> dict[str, Any]:
        """JSON-safe: name, kind, seed, shape, features."""
        return {
            "name": self.name, "kind": self.kind, "seed": self.seed, "shape": self.shape,
            "numeric": self.numeric, "categorical": self.categorical,
        }  # fmt: skip


def _mean(curve: Curve, lo: int, hi: int) -> float:
    """Mean accuracy over batches lo <= b < hi that were scored (NaN when none)."""
    values = [v for b, v in curve.items() if lo <= b < hi and v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def _stamp(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """Batch b on logical day b, its rows spread evenly over the day."""
    index = np.arange(len(frame))
    seconds = (index // rows) * 86400 + (index % rows) * (86400 / rows)
    frame["t"] = pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")
    return frame


def _flip(rng: np.random.Generator, y: np.ndarray, noise: float | np.ndarray) -> np.ndarray:
    flip = rng.random(len(y)) < noise
    return np.where(flip, 1 - y, y).astype(int)


def _batch_ids(batches: int, rows: int) -> np.ndarray:
    return np.repeat(np.arange(batches), rows)


# --- abrupt: Agrawal-like loan approval, one rule replaced by another ---------------------------


def abrupt(seed: int, batches: int = 25, rows: int = 1000, change: float = 0.5,
           noise: float = 0.05) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    age = rng.uniform(20, 80, n)
    salary = rng.uniform(20_000, 150_000, n)
    loan = rng.uniform(0, 500_000, n)
    elevel = rng.integers(0, 5, n)
    region = rng.integers(0, 3, n)  # few levels (see the docstring)
    first = (
        ((age < 40) & (salary >= 50_000) & (salary <= 100_000))
        | ((age >= 40) & (age < 60) & (salary >= 75_000) & (salary <= 125_000))
        | ((age >= 60) & (salary >= 25_000) & (salary <= 75_000))
    )
    second = 0.67 * salary + 10_000 * elevel - 0.2 * loan - 20_000 > 0
    cut = round(change * batches)
    y = _flip(rng, np.where(b >= cut, second, first).astype(int), noise)
    frame = pd.DataFrame({
        "age": age, "salary": salary, "loan": loan,
        "elevel": [f"e{v}" for v in elevel], "region": [f"r{v}" for v in region], "label": y,
    })  # fmt: skip
    shape = {"batches": batches, "rows": rows, "change": change, "noise": noise}
    return Stream("abrupt", "abrupt concept change (Agrawal-like)", _stamp(frame, rows),
                  ["age", "salary", "loan"], ["elevel", "region"], seed, shape,
                  check_fn=_check_abrupt)  # fmt: skip


def _check_abrupt(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    cut = s.at(s.shape["change"])
    before, after = _mean(never, 0, cut), _mean(never, cut + 1, s.batches)
    fixed = _mean(retrained, cut + 3, s.batches)
    ok = after < before - 0.1 and fixed > after + 0.05
    return ok, (f"never {before:.3f} before the change at batch {cut}, {after:.3f} after; "
                f"retrained {fixed:.3f} after")  # fmt: skip


# --- gradual: rows follow the new rule with a rising probability --------------------------------


def gradual(seed: int, batches: int = 25, rows: int = 1000, start: float = 0.3, end: float = 0.7,
            noise: float = 0.05) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    x = rng.normal(size=(n, 5))
    channel = rng.integers(0, 3, n)
    offset = np.array([-0.5, 0.0, 0.5])[channel]
    old = x[:, 0] + 0.5 * x[:, 1] + offset > 0
    new = -x[:, 0] + x[:, 2] - offset > 0
    lo, hi = round(start * batches), round(end * batches)
    p_new = np.clip((b - lo + 1) / max(hi - lo, 1), 0.0, 1.0)
    y = _flip(rng, np.where(rng.random(n) < p_new, new, old).astype(int), noise)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    frame["channel"] = np.array(["web", "store", "phone"])[channel]
    frame["label"] = y
    shape = {"batches": batches, "rows": rows, "start": start, "end": end, "noise": noise}
    return Stream("gradual", "gradual concept change (mixture of two rules)", _stamp(frame, rows),
                  [f"x{i}" for i in range(5)], ["channel"], seed, shape,
                  check_fn=_check_gradual)  # fmt: skip


def _check_gradual(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    lo, hi = s.at(s.shape["start"]), s.at(s.shape["end"])
    before, during, after = _mean(never, 0, lo), _mean(never, lo, hi), _mean(never, hi, s.batches)
    fixed = _mean(retrained, hi + 2, s.batches)
    ok = after < before - 0.1 and after + 0.03 < during < before - 0.03 and fixed > after + 0.05
    return ok, (f"never {before:.3f} before batch {lo}, {during:.3f} during, {after:.3f} after "
                f"batch {hi}; retrained {fixed:.3f} after")  # fmt: skip


# --- incremental: a hyperplane that keeps turning -----------------------------------------------


def incremental(seed: int, batches: int = 25, rows: int = 1000, speed: float = 0.05,
                noise: float = 0.05) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    x = rng.normal(size=(n, 6))
    angle = speed * (b + np.arange(n) % rows / rows)  # turns within a batch too
    score = np.cos(angle) * x[:, 0] + np.sin(angle) * x[:, 1] + 0.3 * x[:, 2] - 0.2 * x[:, 3]
    y = _flip(rng, (score > 0).astype(int), noise)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(label=y)
    shape = {"batches": batches, "rows": rows, "speed": speed, "noise": noise}
    return Stream("incremental", "incremental drift (rotating hyperplane)", _stamp(frame, rows),
                  [f"x{i}" for i in range(6)], [], seed, shape,
                  check_fn=_check_incremental)  # fmt: skip


def _check_incremental(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    third = s.batches // 3
    first, middle = _mean(never, 0, third), _mean(never, third, 2 * third)
    last = _mean(never, 2 * third, s.batches)
    fixed = _mean(retrained, 2 * third, s.batches)
    ok = last + 0.03 < middle < first - 0.03 and fixed > last + 0.05
    return ok, (f"never {first:.3f} / {middle:.3f} / {last:.3f} by thirds; "
                f"retrained {fixed:.3f} in the last third")  # fmt: skip


# --- recurring: SEA, a threshold that changes and changes back ----------------------------------


def recurring(seed: int, batches: int = 25, rows: int = 1000, change: float = 0.4,
              back: float = 0.7, theta: float = 7.0, other: float = 10.0,
              noise: float = 0.1) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    x = rng.uniform(0, 10, size=(n, 3))
    lo, hi = round(change * batches), round(back * batches)
    limit = np.where((b >= lo) & (b < hi), other, theta)
    y = _flip(rng, (x[:, 0] + x[:, 1] <= limit).astype(int), noise)
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"]).assign(label=y)
    shape = {"batches": batches, "rows": rows, "change": change, "back": back, "theta": theta,
             "other": other, "noise": noise}  # fmt: skip
    return Stream("recurring", "recurring concept (SEA: changes, then changes back)",
                  _stamp(frame, rows), ["x0", "x1", "x2"], [], seed, shape,
                  check_fn=_check_recurring)  # fmt: skip


def _check_recurring(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    lo, hi = s.at(s.shape["change"]), s.at(s.shape["back"])
    first, other, back = _mean(never, 0, lo), _mean(never, lo + 1, hi), _mean(never, hi + 1, 10**6)
    fixed = _mean(retrained, lo + 3, hi)
    ok = other < first - 0.1 and abs(back - first) < 0.03 and fixed > other + 0.05
    return ok, (f"never {first:.3f}, {other:.3f} in batches {lo}-{hi - 1}, {back:.3f} after; "
                f"retrained {fixed:.3f} in the changed stretch")  # fmt: skip


# --- seasonal: weather-like, a yearly cycle of inputs and of the rule ---------------------------


def seasonal(seed: int, batches: int = 25, rows: int = 1000, period: int = 12,
             noise: float = 0.08) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    phase = 2 * np.pi * (b + np.arange(n) % rows / rows) / period
    winter = (1 + np.cos(phase)) / 2  # 1 in mid-winter, 0 in mid-summer
    station = rng.integers(0, 3, n)
    climate = np.array([-2.0, 0.0, 3.0])[station]
    temperature = 14 - 10 * np.cos(phase) + climate + rng.normal(0, 4, n)
    humidity = np.clip(70 + 10 * np.cos(phase) + rng.normal(0, 12, n), 10, 100)
    pressure = 1013 + rng.normal(0, 8, n)
    change = rng.normal(0, 3, n)  # pressure change since yesterday
    wind = np.abs(rng.normal(4 + 2 * winter, 3, n))
    frontal = -(change / 2.5) - (pressure - 1013) / 10 + (wind - 5) / 6
    convective = (temperature - 16) / 4 + (humidity - 62) / 9
    score = winter * frontal + (1 - winter) * convective
    y = _flip(rng, (score > 0).astype(int), noise)
    frame = pd.DataFrame({
        "temperature": temperature, "humidity": humidity, "pressure": pressure,
        "pressure_change": change, "wind": wind,
        "station": np.array(["north", "coast", "inland"])[station], "label": y,
    })  # fmt: skip
    shape = {"batches": batches, "rows": rows, "period": period, "noise": noise}
    return Stream("seasonal", "seasonal concept (weather-like; a batch is a month, 12 a year)",
                  _stamp(frame, rows),
                  ["temperature", "humidity", "pressure", "pressure_change", "wind"], ["station"],
                  seed, shape, check_fn=_check_seasonal)  # fmt: skip


def _check_seasonal(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    period = int(s.shape["period"])
    scored = {b: v for b, v in never.items() if v is not None and math.isfinite(v)}
    low, high = min(scored.values()), max(scored.values())
    pairs = [abs(scored[b] - scored[b + period]) for b in scored if b + period in scored]
    repeat = float(np.mean(pairs)) if pairs else math.nan
    kept, fixed = _mean(never, 0, 10**6), _mean(retrained, 3, 10**6)
    ok = high - low > 0.1 and repeat < 0.05  # a retrain helps only if fresh enough: not checked
    return ok, (f"never {low:.3f}-{high:.3f} over a year, {repeat:.3f} apart a year later; "
                f"mean never {kept:.3f}, retrained {fixed:.3f}")  # fmt: skip


# --- covariate: inputs move inside the region the rule covers -----------------------------------


def covariate(seed: int, batches: int = 25, rows: int = 1000, reference: int = 2,
              radius: float = 1.5, spread: float = 0.8, noise: float = 0.1) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    parts = []
    for batch in range(batches):
        if batch < reference:  # the first model's rows cover the whole square
            x = rng.uniform(-3, 3, size=(rows, 2))
            segment = rng.integers(0, 3, rows)
        else:
            turn = 2 * np.pi * (batch - reference) / max(batches - reference, 1)
            centre = radius * np.array([np.cos(turn), np.sin(turn)])
            x = np.clip(centre + rng.normal(0, spread, size=(rows, 2)), -3, 3)
            segment = rng.choice(3, rows, p=[0.6, 0.3, 0.1] if batch % 2 else [0.1, 0.3, 0.6])
        extra = rng.normal(size=(rows, 2))
        y = _flip(rng, (x[:, 0] * x[:, 1] + 0.5 * np.sin(2 * x[:, 0]) > 0).astype(int), noise)
        parts.append(pd.DataFrame({
            "x0": x[:, 0], "x1": x[:, 1], "x2": extra[:, 0], "x3": extra[:, 1],
            "segment": np.array(["a", "b", "c"])[segment], "label": y,
        }))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    shape = {"batches": batches, "rows": rows, "reference": reference, "radius": radius,
             "spread": spread, "noise": noise}  # fmt: skip
    return Stream("covariate", "covariate shift that does not hurt (inputs move inside the rule)",
                  _stamp(frame, rows), ["x0", "x1", "x2", "x3"], ["segment"], seed, shape,
                  check_fn=_check_covariate)  # fmt: skip


def _check_covariate(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    ref = int(s.shape["reference"])
    x0 = s.frame["x0"].to_numpy()
    moved = max(
        abs(x0[b * s.rows : (b + 1) * s.rows].mean()) for b in range(ref, s.batches)
    )  # the reference's mean is 0
    level = 1 - float(s.shape["noise"])
    kept, fixed = _mean(never, ref, 10**6), _mean(retrained, ref + 3, 10**6)
    worst = min(v for b, v in never.items() if b >= ref)
    half = (ref + s.batches) // 2
    trend = _mean(never, half, 10**6) - _mean(never, ref, half)
    ok = (moved > 0.8 and kept > level - 0.08 and worst > level - 0.12 and abs(trend) < 0.04
          and fixed < kept + 0.01)  # fmt: skip
    return ok, (f"x0's batch mean moves by up to {moved:.2f} sd; never {kept:.3f} "
                f"(worst batch {worst:.3f}, second half {trend:+.3f}, ceiling {level:.2f}); "
                f"retrained {fixed:.3f}")  # fmt: skip


# --- label noise: noise rises for a while, then falls ---------------------------------------------


def label_noise(seed: int, batches: int = 25, rows: int = 1000, start: float = 0.4,
                end: float = 0.7, low: float = 0.05, high: float = 0.3) -> Stream:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = batches * rows
    b = _batch_ids(batches, rows)
    x = rng.normal(size=(n, 4))
    kind = rng.integers(0, 4, n)
    score = x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] + np.array([-0.6, -0.2, 0.2, 0.6])[kind]
    lo, hi = round(start * batches), round(end * batches)
    noise = np.where((b >= lo) & (b < hi), high, low)
    y = _flip(rng, (score > 0).astype(int), noise)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(4)])
    frame["plan"] = np.array(["basic", "plus", "pro", "team"])[kind]
    frame["label"] = y
    shape = {"batches": batches, "rows": rows, "start": start, "end": end, "low": low,
             "high": high}  # fmt: skip
    return Stream("label_noise", "label noise rises for a while (retraining does not help)",
                  _stamp(frame, rows), [f"x{i}" for i in range(4)], ["plan"], seed, shape,
                  check_fn=_check_label_noise)  # fmt: skip


def _check_label_noise(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    lo, hi = s.at(s.shape["start"]), s.at(s.shape["end"])
    before, during, after = _mean(never, 0, lo), _mean(never, lo, hi), _mean(never, hi, 10**6)
    fixed = _mean(retrained, lo, hi)
    ok = during < before - 0.1 and abs(after - before) < 0.03 and fixed < during + 0.015
    return ok, (f"never {before:.3f}, {during:.3f} in noisy batches {lo}-{hi - 1}, {after:.3f} "
                f"after; retrained {fixed:.3f} in the noisy batches")  # fmt: skip


# --- none: nothing changes ------------------------------------------------------------------------


def none(seed: int, batches: int = 25, rows: int = 1000, noise: float = 0.1) -> Stream:
    rng = np.random.default_rng(seed)
    n = batches * rows
    x = rng.normal(size=(n, 5))
    tier = rng.integers(0, 3, n)
    score = x[:, 0] - 0.7 * x[:, 1] + 0.4 * x[:, 2] * x[:, 3] + np.array([-0.4, 0, 0.4])[tier]
    y = _flip(rng, (score > 0).astype(int), noise)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    frame["tier"] = np.array(["bronze", "silver", "gold"])[tier]
    frame["label"] = y
    shape = {"batches": batches, "rows": rows, "noise": noise}
    return Stream("none", "no drift", _stamp(frame, rows), [f"x{i}" for i in range(5)], ["tier"],
                  seed, shape, check_fn=_check_none)  # fmt: skip


def _check_none(s: Stream, never: Curve, retrained: Curve) -> tuple[bool, str]:
    half = s.batches // 2
    first, second = _mean(never, 0, half), _mean(never, half, 10**6)
    kept, fixed = _mean(never, 3, 10**6), _mean(retrained, 3, 10**6)
    ok = abs(first - second) < 0.02 and fixed < kept + 0.015
    return ok, (f"never {first:.3f} in the first half, {second:.3f} in the second; "
                f"retrained {fixed:.3f}")  # fmt: skip


GENERATORS: dict[str, Callable[..., Stream]] = {
    "abrupt": abrupt, "gradual": gradual, "incremental": incremental, "recurring": recurring,
    "seasonal": seasonal, "covariate": covariate, "label_noise": label_noise, "none": none,
}  # fmt: skip
SEEDS = {name: 101 + i for i, name in enumerate(GENERATORS)}  # each stream's own default seed


def generate(name: str, seed: int | None = None, **shape: Any) -> Stream:
    """The stream `name` with its own default seed (or `seed`) and shape (or the given one)."""
    return GENERATORS[name](SEEDS[name] if seed is None else seed, **shape)


def all_streams(base_seed: int | None = None) -> list[Stream]:
    """Every synthetic stream; with `base_seed`, stream i gets seed base_seed + i."""
    return [
        generate(name, None if base_seed is None else base_seed + i)
        for i, name in enumerate(GENERATORS)
    ]
