"""Decision quality on synthetic streams whose right answer is known: the shipped triggers
against the baselines, with the same batches, lag and training as bench/backtest.py.

Five streams of 30 batches of 1,000 rows, five numeric features drawn from one distribution, 10%
label noise, and a linear labelling rule that:
- stable: never changes (the right number of retrains is 0);
- abrupt: turns by 90 degrees at batch 15 (one retrain after the labels of the change pays);
- gradual: turns by 90 degrees in equal steps from batch 10 to batch 25 (a few retrains pay);
- incremental: turns slowly all along, 4 degrees a batch (116 in all): a champion decays about a
  point of accuracy a batch, so a retrain every several batches pays;
- recurring: turns by 35 degrees at batch 8, back at batch 16, again at 24 (an old concept comes
  back: accuracy falls by about 0.08 and recovers; the fall is too small for a row-level test on
  one batch but lasts 8 batches).
The inputs never move, so drift tests see nothing: only labels show the change.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python bench/synthetic.py [--json FILE] \\
        [--streams incremental recurring] [--policy FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BATCHES, ROWS, NOISE = 30, 1000, 0.1
KINDS = ("stable", "abrupt", "gradual", "incremental", "recurring")


def angle(kind: str, batch: int) -> float:
    """The labelling rule's direction (radians) at a batch."""
    if kind == "abrupt":
        return math.pi / 2 if batch >= 15 else 0.0
    if kind == "gradual":
        return math.pi / 2 * min(max(batch - 10, 0), 15) / 15
    if kind == "incremental":
        return math.radians(4) * batch
    if kind == "recurring":
        return math.radians(35) if (batch // 8) % 2 == 1 else 0.0
    return 0.0


def stream(kind: str, seed: int = 0) -> pd.DataFrame:
    """One synthetic stream: features f0..f4 and a binary label."""
    rng = np.random.default_rng(seed)
    parts = []
    for b in range(BATCHES):
        x = rng.normal(size=(ROWS, 5))
        a = angle(kind, b)
        score = math.cos(a) * x[:, 0] + math.sin(a) * x[:, 1] + 0.3 * x[:, 2]
        y = (score > 0).astype(int)
        flip = rng.random(ROWS) < NOISE
        y[flip] = 1 - y[flip]
        parts.append(pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]).assign(label=y))
    return pd.concat(parts, ignore_index=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "policies" / "churn.yaml"))
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--streams", nargs="+", default=list(KINDS), choices=KINDS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from backtest import HEADER, replay_row

    print(HEADER)
    rows = [
        replay_row(f"synthetic {kind}", stream(kind), "label", None, Path(args.policy))
        for kind in args.streams
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
