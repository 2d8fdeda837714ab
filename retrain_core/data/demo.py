"""A seeded churn stream with a known story, for `retrain demo` and the tests.

The generator draws customers for the shipped `policies/churn.yaml` (same columns):

- features: tenure (months), monthly_charges, total_charges, support_calls, contract,
  payment_method; key customer_id; timestamp event_time; label churned (0/1).
- the label follows a fixed logistic "concept": churn is likelier with short tenure, high
  charges, many support calls and a month-to-month contract.
- days `shift_from` .. `shift_until` carry a covariate shift: newer, pricier customers who call
  support more (a campaign: the inputs move, the concept holds), then the mix returns to normal.
- from day `concept_from` on, the concept changes: electronic-check payers churn far more and
  tenure stops protecting, so a model trained before that loses accuracy.

Features of day d arrive as `batches/day-DD.parquet`; their labels arrive one day later as
`labels/day-DD.parquet` (joined on customer_id). Same seed, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

START = datetime(2026, 1, 1, tzinfo=UTC)
CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["electronic-check", "mailed-check", "bank-transfer", "credit-card"]


@dataclass(frozen=True)
class Story:
    """Which days are clean, shifted and concept-changed."""

    days: int = 14
    rows_per_day: int = 1500
    reference_rows: int = 6000
    shift_from: int = 5
    shift_until: int = 6
    concept_from: int = 9
    seed: int = 7

    def phase(self, day: int) -> str:
        """clean, shift or concept for a 1-based day."""
        if day >= self.concept_from:
            return "concept"
        return "shift" if self.shift_from <= day <= self.shift_until else "clean"


def day_start(day: int) -> datetime:
    """Midnight UTC of a 1-based day of the stream (day 0 is the reference period)."""
    return START + timedelta(days=day)


def customers(
    rng: np.random.Generator, n: int, day: int, phase: str, first_id: int
) -> pd.DataFrame:
    """n customers seen on `day`, with labels from the phase's concept."""
    shifted = phase == "shift"
    tenure = rng.gamma(2.0, 8.0 if shifted else 14.0, n).clip(0, 72).round(1)
    monthly = rng.normal(88.0 if shifted else 65.0, 18.0, n).clip(18, 150).round(2)
    calls = rng.poisson(3.2 if shifted else 1.5, n)
    contract = rng.choice(CONTRACTS, n, p=[0.55, 0.25, 0.2])
    payment = rng.choice(PAYMENTS, n, p=[0.35, 0.2, 0.25, 0.2])
    logit = -1.2 - 0.045 * tenure + 0.02 * (monthly - 65) + 0.35 * calls
    logit += np.where(contract == "month-to-month", 1.1, -0.6)
    if phase == "concept":
        logit += 0.045 * tenure + np.where(payment == "electronic-check", 2.4, -1.6) - 0.35 * calls
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    seconds = np.sort(rng.integers(0, 86400, n))
    return pd.DataFrame(
        {
            "customer_id": np.arange(first_id, first_id + n),
            "event_time": pd.to_datetime(day_start(day)) + pd.to_timedelta(seconds, unit="s"),
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": (tenure * monthly).round(2),
            "support_calls": calls,
            "contract": contract,
            "payment_method": payment,
            "churned": churned,
        }
    )


def write_reference(root: Path, story: Story) -> pd.DataFrame:
    """Write data/churn/reference.parquet (labelled, day 0) and return it."""
    rng = np.random.default_rng(story.seed)
    frame = customers(rng, story.reference_rows, 0, "clean", first_id=1)
    folder = root / "data" / "churn"
    for sub in ("batches", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "reference.parquet", index=False)
    return frame


def write_day(root: Path, story: Story, day: int) -> pd.DataFrame:
    """Write day `day`'s feature batch and the previous day's labels; return the full day."""
    frame = rng_day(story, day)
    folder = root / "data" / "churn"
    frame.drop(columns=["churned"]).to_parquet(folder / "batches" / f"day-{day:02d}.parquet")
    if day > 1:
        labels = rng_day(story, day - 1)[["customer_id", "churned"]]
        labels.to_parquet(folder / "labels" / f"day-{day - 1:02d}.parquet", index=False)
    return frame


def rng_day(story: Story, day: int) -> pd.DataFrame:
    """Regenerate day `day` exactly (same seed), e.g. to release its labels a day later."""
    rng = np.random.default_rng([story.seed, day])
    first_id = story.reference_rows + (day - 1) * story.rows_per_day + 1
    return customers(rng, story.rows_per_day, day, story.phase(day), first_id)


NEIGHBORHOODS = ["north", "south", "east", "west", "centre"]


def houses(rng: np.random.Generator, n: int, start: datetime, days: int) -> pd.DataFrame:
    """n house sales spread over `days` days from `start`, priced by a fixed linear rule."""
    area = rng.normal(140.0, 40.0, n).clip(40, 400).round(1)
    lot = rng.normal(400.0, 150.0, n).clip(50, 2000).round(1)
    bedrooms = rng.integers(1, 6, n)
    year = rng.integers(1900, 2025, n)
    hood = rng.choice(NEIGHBORHOODS, n)
    premiums = dict(zip(NEIGHBORHOODS, [40e3, 0, 15e3, -10e3, 60e3], strict=True))
    premium = pd.Series(hood).map(premiums).to_numpy()
    price = 50e3 + 1800 * area + 60 * lot + 8e3 * bedrooms + 300 * (year - 1900) + premium
    seconds = np.sort(rng.integers(0, days * 86400, n))
    return pd.DataFrame(
        {
            "sold_at": pd.to_datetime(start) + pd.to_timedelta(seconds, unit="s"),
            "living_area": area,
            "lot_area": lot,
            "bedrooms": bedrooms,
            "year_built": year,
            "neighborhood": hood,
            "price": (price + rng.normal(0, 25e3, n)).round(0),
        }
    )


def write_house_prices(root: Path, today: datetime, weeks: int = 4, seed: int = 7) -> None:
    """Write data/house-prices/: a labelled reference and one CSV per week up to `today`."""
    rng = np.random.default_rng(seed)
    folder = root / "data" / "house-prices"
    (folder / "weekly").mkdir(parents=True, exist_ok=True)
    first = today - timedelta(weeks=weeks)
    houses(rng, 2000, first - timedelta(days=365), 365).to_csv(
        folder / "reference.csv", index=False
    )
    for week in range(weeks):
        start = first + timedelta(weeks=week)
        frame = houses(rng, 300, start, 7)
        frame.to_csv(folder / "weekly" / f"{start:%Y-%m-%d}.csv", index=False)
