"""Engine tick speed: ``set_mark`` ticks per second with 10 and 1,000 open positions, and with
1,000 positions and 10,000 resting orders.

Beside it, in the same run, a bare Python loop that does the minimum a tick needs (a dict
update, one multiply-add, one comparison). Prints the figures and the two ratios the engine
issue asks for:

- engine at 1,000 positions vs the bare loop: must be within 6x;
- engine at 1,000 positions vs engine at 10: must be no more than 1.2x slower;
- engine at 1,000 positions and 10,000 resting orders (limits, stops, take-profits, position
  TP/SL, ten in every market, none reached by the tape) vs the bare loop: within 6x, and vs the
  same engine with no orders: no more than 1.2x slower.

Each figure is the best of several repeats (the least disturbed by a noisy machine), timed in
CPU time of this process (``time.process_time``): on a machine shared with other work, wall
time also counts the slices the scheduler gives to other processes, which says nothing about
the engine.
``--tiered`` gives every market a margin table with a tier floor at a notional of 100, which
the random walk around 100 crosses on about half the ticks: the worst case, where a cross
position re-tiers on most ticks.
Run: python bench/engine_bench.py [--ticks N] [--repeats N] [--tiered]
"""

from __future__ import annotations

import argparse
import random
import time

from tui.engine import MarginMode, MarginTier, Market, OrderType, PaperEngine, Side

TIERS = (MarginTier(0, 20), MarginTier(100, 10), MarginTier(10_000, 5))


def build(
    n_positions: int, n_markets: int = 1000, tiered: bool = False
) -> tuple[PaperEngine, list[str]]:
    tiers = TIERS if tiered else ()
    markets = [
        Market(f"M{i}", max_leverage=20, taker_fee=0.0, tiers=tiers) for i in range(n_markets)
    ]
    eng = PaperEngine(balance=1e12, markets=markets)
    names = [m.name for m in markets]
    for name in names:
        eng.set_mark(name, 100.0)
    for i, name in enumerate(names[:n_positions]):
        mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
        side = Side.LONG if i % 3 else Side.SHORT
        eng.open(name, side, size=1.0, leverage=5, mode=mode)
    return eng, names


def add_orders(eng: PaperEngine, names: list[str], per_market: int = 10) -> int:
    """``per_market`` resting orders in every market, all far from the marks the tape visits:
    limit buys below and sells above, an opening sell stop and buy stop, and on a position a
    take-profit and stop-loss. Returns how many were placed."""
    lim, trig = OrderType.LIMIT, OrderType.STOP_MARKET
    for i, name in enumerate(names):
        pos = eng.position(name)
        placed = 0
        if pos is not None:
            up, down = 110.0 + i % 7, 90.0 - i % 7
            tp, sl = (up, down) if pos.side is Side.LONG else (down, up)
            eng.set_tp_sl(name, take_profit=tp, stop_loss=sl)
            placed = 2
        k = 0
        while placed < per_market:
            buy = k % 2 == 0
            side = Side.LONG if buy else Side.SHORT
            mode = MarginMode.CROSS if k % 3 else MarginMode.ISOLATED
            if pos is not None:
                mode = pos.mode
            if k % 4 < 2:  # limit buys 95 and below, sells 105 and above
                price = 95.0 - k / 2 if buy else 105.0 + k / 2
                eng.place_order(name, side, 0.5, lim, price=price, leverage=5, mode=mode)
            else:  # stop buys above 105, stop sells below 95
                price = 106.0 + k / 2 if buy else 94.0 - k / 2
                eng.place_order(name, side, 0.5, trig, trigger_price=price, leverage=5, mode=mode)
            placed += 1
            k += 1
    return len(eng.open_orders())


def ticks(names: list[str], n: int, seed: int = 7) -> list[tuple[str, float]]:
    """Random walk marks that stay far from any liquidation (so every tick does the same work)."""
    rng = random.Random(seed)
    return [(rng.choice(names), 100.0 * (1 + rng.uniform(-0.01, 0.01))) for _ in range(n)]


def engine_rate(eng: PaperEngine, tape: list[tuple[str, float]]) -> float:
    set_mark = eng.set_mark
    start = time.process_time()
    for name, price in tape:
        set_mark(name, price)
    return len(tape) / (time.process_time() - start)


def bare_rate(names: list[str], tape: list[tuple[str, float]]) -> float:
    marks = dict.fromkeys(names, 100.0)
    acc = 0.0
    q = 1.0
    liquidated = 0
    start = time.process_time()
    for name, price in tape:
        marks[name] = price  # dict update
        acc += q * price  # one multiply-add
        if acc < -1.0:  # one comparison
            liquidated += 1
    return len(tape) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=400_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tiered", action="store_true", help="margin tables crossed by ticks")
    args = parser.parse_args()

    eng10, names = build(10, tiered=args.tiered)
    eng1000, _ = build(1000, tiered=args.tiered)
    engo, _ = build(1000, tiered=args.tiered)
    n_orders = add_orders(engo, names)
    # Both engines list the same 1,000 markets. Every tick below lands on a market that holds a
    # position, so each does the full work (move the position, check for liquidation).
    # - same tape: ticks on the 10 markets that hold a position in both engines, so the two
    #   engine figures differ only by how many positions are open;
    # - spread tape: ticks over all 1,000 markets (meaningful for the 1,000-position engine).
    #   Touching 1,000 names instead of 10 costs even the bare loop some cache misses, so the
    #   spread comparison is normalised by the bare loop on each tape.
    tape10 = ticks(names[:10], args.ticks)
    tape1000 = ticks(names, args.ticks)
    keys = ("bare10", "bare1000", "e10", "e1000same", "e1000", "orders")
    best = dict.fromkeys(keys, 0.0)
    for _ in range(args.repeats):
        best["bare10"] = max(best["bare10"], bare_rate(names, tape10))
        best["bare1000"] = max(best["bare1000"], bare_rate(names, tape1000))
        best["e10"] = max(best["e10"], engine_rate(eng10, tape10))
        best["e1000same"] = max(best["e1000same"], engine_rate(eng1000, tape10))
        best["e1000"] = max(best["e1000"], engine_rate(eng1000, tape1000))
        best["orders"] = max(best["orders"], engine_rate(engo, tape1000))
    for eng, n in ((eng10, 10), (eng1000, 1000), (engo, 1000)):
        assert eng.liquidations == [] and len(eng.positions()) == n
    assert len(engo.open_orders()) == n_orders  # the tape reached none of them

    tables = "tiered markets, ticks crossing a tier" if args.tiered else "one-tier markets"
    print(f"ticks per run: {args.ticks:,}, best of {args.repeats}, {tables}; figures in ticks/s")
    print("bare loop = dict update + one multiply-add + one comparison per tick")
    rows = (
        ("bare loop, ticks over 10 markets", best["bare10"]),
        ("bare loop, ticks over 1,000 markets", best["bare1000"]),
        ("engine, 10 positions, ticks on them", best["e10"]),
        ("engine, 1,000 positions, same 10-market tape", best["e1000same"]),
        ("engine, 1,000 positions, ticks over all 1,000", best["e1000"]),
        (f"engine, 1,000 positions + {n_orders:,} orders, same", best["orders"]),
    )
    for label, rate in rows:
        print(f"  {label:<48} {rate:>14,.0f}")
    r_bare = best["bare1000"] / best["e1000"]
    r_same = best["e10"] / best["e1000same"]
    r_spread = (best["e10"] / best["bare10"]) / (best["e1000"] / best["bare1000"])
    verdict = {True: "OK", False: "FAIL"}
    bare_ok, same_ok, spread_ok = (
        verdict[r_bare <= 6],
        verdict[r_same <= 1.2],
        verdict[r_spread <= 1.2],
    )
    print(f"bare / engine@1000 (1,000-market tape): {r_bare:.2f}x  need <= 6x    {bare_ok}")
    print(f"engine@10 / engine@1000 (same tape):   {r_same:.2f}x  need <= 1.2x  {same_ok}")
    print(f"same, each normalised by its bare loop: {r_spread:.2f}x  need <= 1.2x  {spread_ok}")
    r_obare = best["bare1000"] / best["orders"]
    r_orders = best["e1000"] / best["orders"]
    print(
        f"bare / engine@1000+orders:              {r_obare:.2f}x  need <= 6x    "
        f"{verdict[r_obare <= 6]}"
    )
    print(
        f"engine@1000 / engine@1000+orders:       {r_orders:.2f}x  need <= 1.2x  "
        f"{verdict[r_orders <= 1.2]}"
    )


if __name__ == "__main__":
    main()
