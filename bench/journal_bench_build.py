"""Builds paper accounts of a given number of records through the real journal and engine
(used by ``bench/journal_bench.py``; run alone: ``python bench/journal_bench_build.py DIR N``).

A seeded trader, like ``tests/journal_helpers/trader.py`` but for hours of practice: market
orders in both modes at various leverages, partial and full closes, margin moved, funding
paid and received, limit / stop / TP-SL orders placed, cancelled and filled, and marks that
mostly wander but sometimes jump, setting off isolated and cross liquidations. About 245
records make a day of heavy practice; the clock moves accordingly.

Fees alone would drain any account over a million records, and a cross liquidation takes the
whole wallet: so the account starts with a large reserve parked as the margin of a tiny
isolated position on a market whose mark never moves (PARK), and the trader works with about
100,000 USD in the wallet, topped up from the reserve (a margin transfer) when it runs low.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.engine import MarginMode, OrderRejected, OrderType, Side, default_markets
from tui.journal import Journal

START_BALANCE = 1e9  # a reserve that outlasts a million records of fees
WORKING = 100_000.0  # what the trader trades with; the rest is parked
ISOLATED = MarginMode.ISOLATED
PARK = "TON"  # never moved by the trader: money parked there keeps its value
ACTIVE = ["BTC", "ETH", "SOL", "XRP", "DOGE", "LINK", "AVAX", "HYPE"]
START_MARKS = {
    "BTC": 100_000.0,
    "ETH": 4_000.0,
    "SOL": 200.0,
    "XRP": 2.5,
    "DOGE": 0.3,
    "LINK": 20.0,
    "AVAX": 30.0,
    "HYPE": 40.0,
    PARK: 5.0,
}


class Clock:
    """Bench time: every reading moves on, about a day per 245 records."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 40.0
        return self.now


def _last_seq(journal: Journal) -> int:
    return int(journal.engine.to_state()["seq"])


def build(folder: Path, records: int, *, seed: int = 1, report: bool = False) -> int:
    """Trade on a fresh account in ``folder`` until it holds at least ``records`` records in
    its one season; returns how many it holds."""
    rng = random.Random(seed)
    markets = default_markets()
    journal = Journal.open(
        folder,
        starting_balance=START_BALANCE,
        markets=markets,
        clock=Clock(),
        synchronous="OFF",  # the bench's own build: speed, not power-cut safety
    )
    eng = journal.engine
    max_lev = {m.name: m.max_leverage for m in markets}
    for name, price in START_MARKS.items():
        eng.set_mark(name, price)
    started = time.monotonic()
    seq = 0
    step = 0
    stuck_since = 0
    while seq < records:
        step += 1
        _step(eng, rng, max_lev)
        if journal.error:
            raise SystemExit(f"the journal failed: {journal.error}")
        if step % 512 == 0:
            eng.events.clear()  # the builder's engine never needs them; keep memory flat
            accounts = getattr(journal, "accounts", None)
            if isinstance(accounts, dict):
                accounts.clear()
            now = _last_seq(journal)
            if now == seq and step - stuck_since > 50_000:
                raise SystemExit(f"the bench trader is stuck at {seq:,} records")
            if now != seq:
                stuck_since = step
            seq = now
            if report and step % 65_536 == 0:
                rate = seq / (time.monotonic() - started)
                print(f"  ... {seq:,} records ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    journal.close()
    return _last_seq_of(folder)


def _last_seq_of(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "account.db") as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    return int(n)


def _step(eng: object, rng: random.Random, max_lev: dict[str, float]) -> None:
    from tui.engine import PaperEngine

    assert isinstance(eng, PaperEngine)
    account = eng.account
    park = eng.position(PARK)
    if park is None:  # the reserve: a tiny 1x position holding most of the money as margin
        if _try(lambda: eng.open(PARK, Side.LONG, 200.0, 1, ISOLATED)):
            _try(lambda: eng.add_margin(PARK, eng.account.available - WORKING))
        return
    wallet = account.available
    if wallet < 0.5 * WORKING:  # fees, losses, a cross liquidation: top the wallet up
        if _try(lambda: eng.remove_margin(PARK, min(WORKING - wallet, eng.removable_margin(PARK)))):
            return
    elif wallet > 2 * WORKING:  # profits go back to the reserve
        _try(lambda: eng.add_margin(PARK, wallet - WORKING))
        return
    name = rng.choice(ACTIVE)
    mark = eng.mark(name)
    assert mark is not None
    pos = eng.position(name)
    roll = rng.random()
    budget = max(min(account.available, WORKING), 0.0)
    if roll < 0.22:
        side = rng.choice(list(Side))
        mode = MarginMode.CROSS if rng.random() < 0.3 else MarginMode.ISOLATED
        if pos is not None:
            mode = pos.mode
        lev = min(rng.choice([3, 5, 10, 20, 40]), max_lev[name])
        share = rng.uniform(0.02, 0.1)
        if mode is MarginMode.CROSS and rng.random() < 0.2:
            share = rng.uniform(0.5, 0.9)  # a bold cross trade: a jump can take the wallet
        notional = budget * share * lev
        _try(lambda: eng.open(name, side, notional / mark, lev, mode))
    elif roll < 0.34:
        if pos is not None:
            part = None if rng.random() < 0.6 else pos.size * rng.uniform(0.2, 0.8)
            _try(lambda: eng.close(name, part))
    elif roll < 0.38:
        if pos is not None and pos.mode is MarginMode.ISOLATED:
            if rng.random() < 0.6:
                _try(lambda: eng.add_margin(name, budget * rng.uniform(0.002, 0.01)))
            else:
                _try(lambda: eng.remove_margin(name, eng.removable_margin(name) * 0.5))
    elif roll < 0.46:
        if pos is not None:
            _try(lambda: eng.apply_funding(name, rng.uniform(-0.0005, 0.0005)))
    elif roll < 0.55:
        mine = eng.open_orders()
        if len(mine) >= 8:  # a trader keeps a handful working, not hundreds
            _try(lambda: eng.cancel_order(mine[0].id))
            return
        side = rng.choice(list(Side))
        away = rng.uniform(0.002, 0.03)
        otype = rng.choice([OrderType.LIMIT, OrderType.LIMIT, OrderType.STOP_MARKET])
        down = (side is Side.LONG) != (otype is OrderType.STOP_MARKET)
        level = mark * (1 - away if down else 1 + away)
        lev = min(rng.choice([3, 5, 10]), max_lev[name])
        size = budget * rng.uniform(0.02, 0.06) * lev / mark
        if otype is OrderType.LIMIT:
            _try(lambda: eng.place_order(name, side, size, otype, price=level, leverage=lev))
        else:
            _try(
                lambda: eng.place_order(name, side, size, otype, trigger_price=level, leverage=lev)
            )
    elif roll < 0.58:
        if pos is not None:
            up = 1 if pos.side is Side.LONG else -1
            away = rng.uniform(0.005, 0.04)
            _try(
                lambda: eng.set_tp_sl(
                    name, take_profit=mark * (1 + up * away), stop_loss=mark * (1 - up * away)
                )
            )
    elif roll < 0.61:
        mine = eng.open_orders(name)
        if mine:
            _try(lambda: eng.cancel_order(rng.choice(mine).id))
    else:
        if rng.random() < 0.01:  # now and then a crash where cross positions are heaviest
            cross = [p for p in eng.positions() if p.mode is MarginMode.CROSS]
            if cross:
                worst = max(cross, key=lambda p: p.notional)
                name, pos = worst.market, worst
                mark = eng.mark(name)
                assert mark is not None
        move = rng.gauss(0.0, 0.004)
        if pos is not None:
            lean = 1 if pos.side is Side.LONG else -1
            if rng.random() < 0.02:  # now and then a jump against the position
                move = -lean * rng.uniform(0.04, 0.12)
        new = min(max(mark * (1 + move), START_MARKS[name] * 0.2), START_MARKS[name] * 5)
        _try(lambda: eng.set_mark(name, new))


def _try(call: object) -> bool:
    assert callable(call)
    try:
        call()
    except (OrderRejected, ValueError):
        return False
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1])
    n = int(sys.argv[2])
    t0 = time.perf_counter()
    got = build(target, n, report=True)
    print(f"{got:,} records in {time.perf_counter() - t0:.1f} s")
