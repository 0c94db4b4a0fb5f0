"""What building candles costs per mark (prints figures; asserts nothing).

Run from the repository root: ``python bench/candle_bench.py [--marks N]``.

Feeds N marks over 22 markets (a new feed-time instant every 22 marks, 0.25 s apart, so a new
1 m candle starts every 240 instants) into a :class:`CandleStore` with the chart's intervals,
and compares it with the bare baseline of storing each mark in a dict. Also checks that the
cost does not grow with history: the last tenth of the marks costs what the first tenth did.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.market import DEFAULT_SYMBOLS
from tui.market.candles import CandleStore


def marks(n: int) -> list[tuple[str, float, float]]:
    symbols = list(DEFAULT_SYMBOLS)
    out = []
    for i in range(n):
        k = i // len(symbols)
        out.append((symbols[i % len(symbols)], 100.0 + (i * 7919 % 1000) / 100.0, k * 0.25))
    return out


def bare(data: list[tuple[str, float, float]]) -> float:
    last: dict[str, float] = {}
    t0 = time.perf_counter()
    for symbol, price, _ in data:
        last[symbol] = price
    return time.perf_counter() - t0


def store(data: list[tuple[str, float, float]], s: CandleStore) -> float:
    add = s.add
    t0 = time.perf_counter()
    for symbol, price, t in data:
        add(symbol, price, t)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--marks", type=int, default=1_000_000)
    args = parser.parse_args()
    data = marks(args.marks)
    base = min(bare(data) for _ in range(3))
    s = CandleStore()
    tenth = len(data) // 10
    chunks = [store(data[i * tenth : (i + 1) * tenth], s) for i in range(10)]
    built = sum(chunks)
    n = tenth * 10
    print(f"marks: {n:,} over {len(DEFAULT_SYMBOLS)} markets, {data[-1][2]:,.0f} s of feed time")
    print(f"bare dict store : {base / len(data) * 1e9:8.0f} ns/mark")
    ratio = (built / n) / (base / len(data))
    print(f"candle store    : {built / n * 1e9:8.0f} ns/mark  ({ratio:.1f}x bare)")
    print(f"  first tenth   : {chunks[0] / tenth * 1e9:8.0f} ns/mark")
    print(f"  last tenth    : {chunks[-1] / tenth * 1e9:8.0f} ns/mark  (history full: no growth)")
    print(f"marks/s one core: {n / built:,.0f}")


if __name__ == "__main__":
    main()
