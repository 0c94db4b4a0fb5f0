"""Places, cancels and fills orders on a journalled account until killed:
``python order_trader.py DATA_DIR SEED``.

After every engine call returns it prints ``DONE <last seq> <state JSON>`` and flushes stdout;
the kill -9 test checks the journal holds the book every DONE line reported.
"""

from __future__ import annotations

import json
import random
import sys
import time

from tui.engine import MarginMode, Market, OrderRejected, OrderType, Side
from tui.journal import Journal

MARKETS = [
    Market("BTC", max_leverage=40),
    Market("ETH", max_leverage=25),
    Market("SOL", max_leverage=20),
]
START = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0}


def main() -> int:
    data_dir, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    journal = Journal.open(data_dir, starting_balance=100_000, markets=MARKETS)
    eng = journal.engine
    for name, price in START.items():
        eng.set_mark(name, price)
    print("READY", flush=True)
    deadline = time.monotonic() + 30  # never outlive a broken test
    while time.monotonic() < deadline:
        name = rng.choice(list(START))
        mark = eng.mark(name)
        assert mark is not None
        roll = rng.random()
        side = rng.choice(list(Side))
        away = rng.uniform(0.002, 0.04)
        try:
            if roll < 0.3:
                otype = rng.choice([OrderType.LIMIT, OrderType.STOP_MARKET])
                down = (side is Side.LONG) != (otype is OrderType.STOP_MARKET)
                level = mark * (1 - away if down else 1 + away)
                key = "price" if otype is OrderType.LIMIT else "trigger_price"
                eng.place_order(
                    name,
                    side,
                    rng.uniform(1_000, 20_000) / mark,
                    otype,
                    leverage=rng.choice([5, 10]),
                    mode=rng.choice(list(MarginMode)),
                    **{key: level},  # type: ignore[arg-type]  # price= or trigger_price=
                )
            elif roll < 0.4:
                pos = eng.position(name)
                up = 1 if pos is None or pos.side is Side.LONG else -1
                eng.set_tp_sl(
                    name, take_profit=mark * (1 + up * away), stop_loss=mark * (1 - up * away)
                )
            elif roll < 0.45:
                mine = eng.open_orders(name)
                if mine:
                    eng.cancel_order(rng.choice(mine).id)
            elif roll < 0.55:
                eng.open(name, side, rng.uniform(1_000, 20_000) / mark, 5, MarginMode.CROSS)
            else:
                eng.set_mark(name, mark * (1 + rng.uniform(-0.03, 0.03)))
        except OrderRejected:
            pass
        if journal.error:
            print(f"ERROR {journal.error}", flush=True)
            return 3
        last = eng.events[-1].seq if eng.events else 0
        print(f"DONE {last} {json.dumps(eng.to_state())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
