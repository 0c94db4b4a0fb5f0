"""Generates ``tui/market/data/sample_replay.csv``.

Run ``python -m tests.market.make_sample_replay`` from the repository root.

Twenty minutes of BTC/ETH/SOL every 10 seconds (360 rows), with a dip: BTC slides 4 % between
minutes 8 and 10, then recovers to -1 % by the end; ETH and SOL follow harder. Deterministic,
so ``test_sample_replay_is_reproducible`` can check the shipped file against this script.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from tui.market import SAMPLE_REPLAY

START = datetime(2025, 11, 20, 14, 0, tzinfo=UTC)
STEP_SECONDS = 10
STEPS = 120
YEAR = 365 * 24 * 3600
# symbol: (start price, decimals, follow of BTC's dip, annual volatility)
MARKETS = {
    "BTC": (97_250.0, 1, 1.0, 0.5),
    "ETH": (3_180.0, 2, 1.2, 0.65),
    "SOL": (142.5, 3, 1.5, 0.9),
}
DIP = ((0, 0.0), (480, 0.0), (600, -0.04), (660, -0.038), (960, -0.015), (1200, -0.01))


def dip(t: float) -> float:
    for (t0, y0), (t1, y1) in pairwise(DIP):
        if t <= t1:
            return y0 + (y1 - y0) * (t - t0) / (t1 - t0)
    return DIP[-1][1]


def sample_csv() -> str:
    rng = random.Random(20251120)
    noise = dict.fromkeys(MARKETS, 0.0)
    lines = ["timestamp,symbol,price"]
    for k in range(STEPS):
        t = k * STEP_SECONDS
        stamp = (START + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        common = rng.gauss(0.0, 1.0)
        for symbol, (ref, decimals, follow, vol) in MARKETS.items():
            if k:
                sd = vol * math.sqrt(STEP_SECONDS / YEAR)
                noise[symbol] += sd * (0.8 * common + 0.6 * rng.gauss(0.0, 1.0))
            price = ref * math.exp(follow * math.log1p(dip(t)) + noise[symbol])
            lines.append(f"{stamp},{symbol},{price:.{decimals}f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    SAMPLE_REPLAY.write_text(sample_csv(), encoding="utf-8")
    print(f"wrote {SAMPLE_REPLAY}")
