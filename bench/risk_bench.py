"""What the risk views cost with 20 open positions (prints figures; asserts nothing).

Run from the repository root: ``python bench/risk_bench.py [--positions N] [--runs N]``.

An account with N positions (default 20) over the default markets, alternately isolated and
cross, long and short, at 5-10x. Each figure is the median CPU time of ``--runs`` calls, next
to the bare baseline of copying the engine once (``copy_engine``), measured in the same run:

* ``shock_ladder(market=...)``: the full ladder, 61 moves of 1 %, one market shocked;
* ``shock_ladder()``: the same with every market moved by its beta (N markets a sub-step);
* ``compare_pending``: the confirmation screen's 13-move ladder without and with an order;
* ``liquidation_map``: with a 0.1 % bump of each cross market on its own copy;
* ``funding_outlook``: 24 hourly payments of each position on one copy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.engine import DEFAULT_MARKETS, MarginMode, PaperEngine, Side
from tui.market import MARKETS
from tui.risk import (
    compare_pending,
    copy_engine,
    funding_outlook,
    liquidation_map,
    market_order,
    shock_ladder,
)


def account(n: int) -> PaperEngine:
    names = [m.name for m in DEFAULT_MARKETS if m.name in MARKETS][:n]
    eng = PaperEngine(balance=1_000_000, markets=DEFAULT_MARKETS, clock=lambda: 0.0)
    for name in names:
        eng.set_mark(name, MARKETS[name].ref_price)
        eng.set_funding_rate(name, 0.0000125)
    for i, name in enumerate(names):
        mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
        side = Side.SHORT if i % 4 in (2, 3) else Side.LONG
        lev = min(5 + i % 6, eng.market(name).max_leverage)
        size = 20_000 / MARKETS[name].ref_price
        eng.open(name, side, size, lev, mode)
    return eng


def cpu(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    eng = account(args.positions)
    first = eng.positions()[0].market
    order = market_order("BTC", Side.LONG, 0.05, 10, MarginMode.CROSS)
    base = cpu(lambda: copy_engine(eng), args.runs)
    cases: dict[str, Callable[[], object]] = {
        "shock_ladder(market) 61 moves": lambda: shock_ladder(eng, market=first),
        "shock_ladder(all, beta) 61 moves": lambda: shock_ladder(eng),
        "compare_pending 13 moves x 2": lambda: compare_pending(eng, order),
        "liquidation_map": lambda: liquidation_map(eng),
        "funding_outlook 24 h": lambda: funding_outlook(eng, 1_000.0),
    }
    print(f"{len(eng.positions())} positions; median CPU of {args.runs} runs")
    print(f"  {'bare: copy_engine once':34s} {base * 1e3:7.2f} ms")
    for name, fn in cases.items():
        t = cpu(fn, args.runs)
        print(f"  {name:34s} {t * 1e3:7.2f} ms  ({t / base:5.1f}x a copy)")


if __name__ == "__main__":
    main()
