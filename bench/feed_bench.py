"""How fast the feed layer can push marks into the engine (prints figures; asserts nothing).

Run from the repository root: ``python bench/feed_bench.py [--steps N] [--rows N]``.

1. Simulation: ``SimSource.step()`` alone, then step + ``StepResult.deliver()`` into a sink
   that calls the engine (``PaperEngine.set_mark`` / ``set_funding_rate`` / ``apply_funding``,
   with open isolated and cross positions so every mark runs the liquidation check).
2. Replay: parsing a generated CSV (rows/s), then playing it into the same kind of sink.
3. Books: the simulation at its fastest (60x) with realistic books for all 22 markets, every
   book into ``PaperEngine.set_book`` and every mark into ``set_mark`` in the same run; and
   walking one 20-level side (``tui.engine.book.walk``) and a whole market-order quote.

Requirements: at least 5,000 marks/s into the engine; with books, at least 2,000 books/s while
marks stay at or above 5,000/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.market import DEFAULT_SYMBOLS, MARKETS, FeedStatus, ReplaySource, SimSource
from tui.market.replay import read_replay

REQUIRED = 5_000.0
REQUIRED_BOOKS = 2_000.0

# ---------------------------------------------------------------------------------------------
# Engine hook: use the real engine when ``tui.engine`` provides PaperEngine; otherwise a stub
# that does comparable per-mark work (store the mark, check a liquidation price).
try:
    from tui.engine import PaperEngine
except ImportError:  # the engine is not there yet
    PaperEngine = None  # type: ignore[assignment,misc]
# ---------------------------------------------------------------------------------------------


class StubEngine:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.rates: dict[str, float] = {}
        self.liq = {"BTC": 50_000.0}

    def set_mark(self, symbol: str, price: float) -> None:
        if not (price > 0.0):
            raise ValueError("bad price")
        self.marks[symbol] = price
        liq = self.liq.get(symbol)
        if liq is not None and price <= liq:
            del self.liq[symbol]

    def set_funding_rate(self, symbol: str, rate: float) -> None:
        self.rates[symbol] = rate

    def apply_funding(self, symbol: str, rate: float | None = None) -> float:
        return 0.0


def make_engine() -> tuple[Any, str]:
    if PaperEngine is None:
        return StubEngine(), "stub engine (tui.engine.PaperEngine not importable)"
    eng = PaperEngine(balance=1_000_000.0)
    for symbol in DEFAULT_SYMBOLS:
        eng.set_mark(symbol, MARKETS[symbol].ref_price)
    note = "tui.engine.PaperEngine"
    try:
        from tui.engine import MarginMode, Side

        eng.open("BTC", Side.LONG, size=0.5, leverage=5, mode=MarginMode.ISOLATED)
        eng.open("ETH", Side.SHORT, size=5.0, leverage=5, mode=MarginMode.CROSS)
        eng.open("SOL", Side.LONG, size=50.0, leverage=3, mode=MarginMode.CROSS)
        note += " with 1 isolated + 2 cross positions open"
    except Exception as exc:  # the engine API may still be moving: bench marks anyway
        note += f" (could not open positions: {exc})"
    return eng, note


class EngineSink:
    """The MarkSink the app will be: marks and funding straight into the engine."""

    def __init__(self, engine: Any) -> None:
        self.on_mark = engine.set_mark  # bound method: the app's hot path
        self._engine = engine
        self.marks = 0
        self.books = 0

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        self._engine.set_funding_rate(symbol, rate_per_hour)

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        self._engine.apply_funding(symbol, rate_per_hour)

    def on_status(self, status: FeedStatus) -> None:
        pass

    def on_book(self, symbol: str, bids: Any, asks: Any, time: float) -> None:
        self._engine.set_book(symbol, bids, asks)
        self.books += 1


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:>12,.0f}/s"


def bench_sim(steps: int) -> float:
    src = SimSource(seed=1, speed=60)
    t0 = time.perf_counter()
    marks = sum(len(src.step(0.22).marks) for _ in range(steps))
    raw = time.perf_counter() - t0
    print(f"sim step() only          {marks:>9,} marks {rate(marks, raw)}")

    engine, note = make_engine()
    sink = EngineSink(engine)
    src = SimSource(seed=1, speed=60)
    src.snapshot().deliver(sink)
    t0 = time.perf_counter()
    marks = 0
    for _ in range(steps):
        marks += src.step(0.22).deliver(sink)
    took = time.perf_counter() - t0
    hours = src.sim_time / 3600
    print(f"sim step() -> engine     {marks:>9,} marks {rate(marks, took)}  [{note}]")
    print(f"    ({steps:,} ticks = {hours:,.1f} sim hours at 60x, funding paid hourly)")
    return marks / took


def bench_books(steps: int) -> tuple[float, float]:
    """(books/s, marks/s) of the simulation at 60x with realistic books, into the engine."""
    engine, note = make_engine()
    if not hasattr(engine, "set_book"):
        print("books: the engine takes no books")
        return 0.0, 0.0
    sink = EngineSink(engine)
    src = SimSource(seed=1, speed=60, execution="realistic")
    src.snapshot().deliver(sink)
    sink.books = 0
    t0 = time.perf_counter()
    marks = 0
    for _ in range(steps):
        marks += src.step(0.22).deliver(sink)
    took = time.perf_counter() - t0
    books = sink.books
    print(f"sim + books -> engine    {books:>9,} books {rate(books, took)}  (same run)")
    print(f"                         {marks:>9,} marks {rate(marks, took)}  [{note}]")

    from tui.engine import Side
    from tui.engine.book import walk

    book = engine.book("BTC")
    assert book is not None
    prices, sizes = book.ask_prices, book.ask_sizes
    whole = sum(sizes)
    n = 20_000
    t0 = time.perf_counter()
    for _ in range(n):
        walk(prices, sizes, 1, whole, 1e18)
    walked = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        engine.quote("BTC", Side.LONG, whole)
    quoted = (time.perf_counter() - t0) / n
    print(f"walk all {len(prices)} levels of a side   {walked * 1e6:>8.2f} us")
    print(f"quote a market order over them {quoted * 1e6:>6.2f} us  (engine.quote: checks + walk)")
    return books / took, marks / took


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(5)
    start = datetime(2025, 11, 20, tzinfo=UTC)
    symbols = list(DEFAULT_SYMBOLS)
    prices = {s: MARKETS[s].ref_price for s in symbols}
    lines = ["timestamp,symbol,price"]
    for i in range(rows):
        symbol = symbols[i % len(symbols)]
        prices[symbol] *= 1.0 + rng.gauss(0.0, 0.0005)
        stamp = (start + timedelta(seconds=i // len(symbols))).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{stamp},{symbol},{prices[symbol]:.{MARKETS[symbol].decimals}f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bench_replay(rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        write_csv(path, rows)
        t0 = time.perf_counter()
        data = read_replay(path)
        took = time.perf_counter() - t0
        print(f"replay parse (ISO times) {len(data.rows):>9,} rows  {rate(len(data.rows), took)}")

        engine, note = make_engine()
        sink = EngineSink(engine)
        src = ReplaySource(path, speed=100)
        t0 = time.perf_counter()
        marks = src.snapshot().deliver(sink)
        while not src.finished:
            marks += src.step(1.0).deliver(sink)
        took = time.perf_counter() - t0
        print(f"replay play -> engine    {marks:>9,} marks {rate(marks, took)}  [{note}]")
        return marks / took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="simulation ticks")
    parser.add_argument("--rows", type=int, default=200_000, help="replay rows to generate")
    parser.add_argument("--book-steps", type=int, default=2_000, help="simulation ticks with books")
    args = parser.parse_args(argv)
    print(f"feed bench: {len(DEFAULT_SYMBOLS)} markets, Python {sys.version.split()[0]}")
    sim = bench_sim(args.steps)
    replay = bench_replay(args.rows)
    books, marks_with_books = bench_books(args.book_steps)
    worst = min(sim, replay)
    verdict = "meets" if worst >= REQUIRED else "MISSES"
    print(f"slowest path into the engine: {worst:,.0f} marks/s - {verdict} {REQUIRED:,.0f}/s")
    ok = books >= REQUIRED_BOOKS and marks_with_books >= REQUIRED
    print(
        f"with books: {books:,.0f} books/s and {marks_with_books:,.0f} marks/s - "
        f"{'meets' if ok else 'MISSES'} {REQUIRED_BOOKS:,.0f} books/s with {REQUIRED:,.0f} marks/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
