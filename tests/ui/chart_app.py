"""A tiny app holding only the price chart, on candles from a seeded simulation (no real
clock): for the chart's Pilot and snapshot tests and for the bench."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult

from tui.market import SimSource
from tui.market.candles import Candle, CandleStore
from tui.widgets.chart import Level, PriceChart


class _Sink:
    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self.now = 0.0

    def on_clock(self, feed_time: float) -> None:
        self.now = feed_time

    def on_mark(self, symbol: str, price: float) -> None:
        self.store.add(symbol, price, self.now)

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_status(self, status: object) -> None:
        pass

    def on_book(self, symbol: str, bids: object, asks: object, time: float) -> None:
        pass


def seeded_candles(minutes: int = 120, seed: int = 7, symbol: str = "BTC") -> list[Candle]:
    """``minutes`` one-minute candles of a seeded simulation at 60x (deterministic)."""
    store = CandleStore(capacity=max(minutes, 1))
    source = SimSource([symbol], seed=seed, speed=60)
    sink = _Sink(store)
    source.snapshot().deliver(sink)
    for _ in range(minutes * 12):  # 12 steps of 5 s of sim time a minute
        source.step(5 / 60).deliver(sink)
    return store.candles(symbol, "1m")[-minutes:]


def levels_around(close: float) -> list[Level]:
    """A long position's levels near ``close``: entry, liquidation (far), TP, SL, an order."""
    return [
        ("Entry", close * 0.996, "entry"),
        ("Liq", close * 0.90, "liq"),
        ("TP", close * 1.012, "tp"),
        ("SL", close * 0.985, "sl"),
        ("Buy 0.1", close * 0.992, "order"),
    ]


class ChartApp(App[None]):
    """The chart alone, fed once on mount."""

    CSS: ClassVar[str] = "PriceChart { height: 1fr; }"

    def __init__(self, candles: list[Candle], levels: list[Level], title: str = "BTC · 1m"):
        super().__init__()
        self.candles = candles
        self.levels = levels
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield PriceChart(monotonic=lambda: 0.0)

    def on_mount(self) -> None:
        self.query_one(PriceChart).show(self.title_text, self.candles, self.levels)
