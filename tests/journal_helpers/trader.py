"""Trades on a journalled account until killed: ``python trader.py DATA_DIR SEED``.

After every engine call returns (the moment the screen would report it) it prints
``DONE <last seq> <state JSON>`` and flushes stdout. The kill -9 test reads these lines, kills
the process, and checks the journal holds everything a DONE line reported.
"""

from __future__ import annotations

import json
import random
import sys
import time

from tui.engine import MarginMode, Market, OrderRejected, Side
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
    journal = Journal.open(data_dir, starting_balance=10_000, markets=MARKETS)
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
        try:
            if roll < 0.35:
                size = rng.uniform(2_000, 60_000) / mark
                side = rng.choice(list(Side))
                mode = rng.choice(list(MarginMode))
                eng.open(name, side, size, rng.choice([5, 10, 20]), mode)
            elif roll < 0.45:
                eng.close(name, None if rng.random() < 0.5 else rng.uniform(0.01, 1_000) / mark)
            elif roll < 0.5:
                eng.add_margin(name, rng.uniform(1, 500))
            elif roll < 0.55:
                eng.apply_funding(name, rng.uniform(-0.002, 0.002))
            else:
                eng.set_mark(name, mark * (1 + rng.uniform(-0.06, 0.06)))
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
