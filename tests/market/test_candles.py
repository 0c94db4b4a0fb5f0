"""Candles in feed time: hand-worked buckets, bounds, bad input, and the same candles whatever
the replay speed."""

from __future__ import annotations

import math
from itertools import groupby
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.market import ReplaySource
from tui.market.candles import Candle, CandleStore, interval_seconds


def feed(store: CandleStore, marks: list[tuple[float, float]], symbol: str = "BTC") -> None:
    for t, price in marks:
        assert store.add(symbol, price, t)


def test_marks_fold_into_one_minute_five_minute_and_hour_candles() -> None:
    store = CandleStore()
    feed(store, [(0, 100), (10, 105), (30, 95), (59.9, 101), (60, 102), (299, 90), (300, 91)])
    assert store.candles("BTC", "1m") == [
        Candle(0, 100, 105, 95, 101, 59.9),
        Candle(60, 102, 102, 102, 102, 60),
        Candle(240, 90, 90, 90, 90, 299),
        Candle(300, 91, 91, 91, 91, 300),
    ]
    assert store.candles("BTC", "5m") == [
        Candle(0, 100, 105, 90, 90, 299),
        Candle(300, 91, 91, 91, 91, 300),
    ]
    assert store.candles("BTC", "1h") == [Candle(0, 100, 105, 90, 91, 300)]
    assert store.last_time("BTC") == 300
    assert store.candles("BTC", "1m")[0].up and not store.candles("BTC", "5m")[0].up


def test_candles_start_on_whole_utc_minutes_and_hours_of_epoch_time() -> None:
    store = CandleStore()
    feed(store, [(1_700_000_030.0, 50.0)])
    # 1_700_000_030 / 60 = 28_333_333.83 -> 28_333_333 * 60 = 1_699_999_980 (UTC 22:13:00)
    assert store.candles("BTC", "1m")[0].start == 1_699_999_980.0
    # 1_700_000_030 / 3600 = 472_222.23 -> 472_222 * 3600 = 1_699_999_200 (UTC 22:00:00)
    assert store.candles("BTC", "1h")[0].start == 1_699_999_200.0


def test_a_quiet_stretch_leaves_a_gap_rather_than_flat_candles() -> None:
    store = CandleStore()
    feed(store, [(0, 100), (200, 110)])
    assert [c.start for c in store.candles("BTC", "1m")] == [0, 180]


def test_a_slightly_late_mark_joins_the_current_candle() -> None:
    store = CandleStore()
    feed(store, [(0, 100), (70, 101), (50, 99)])  # 50 is 20 s before the last mark
    assert store.candles("BTC", "1m") == [
        Candle(0, 100, 100, 100, 100, 0),
        Candle(60, 101, 101, 99, 99, 70),
    ]


def test_a_clock_that_starts_again_starts_the_market_afresh() -> None:
    store = CandleStore()
    feed(store, [(0, 100), (1000, 101)])
    feed(store, [(5, 50)])  # a new simulation: its clock is back at 5 s
    assert store.candles("BTC", "1m") == [Candle(0, 50, 50, 50, 50, 5)]
    assert store.candles("BTC", "1h") == [Candle(0, 50, 50, 50, 50, 5)]


def test_history_is_bounded_per_market_and_interval() -> None:
    store = CandleStore(capacity=3)
    feed(store, [(60.0 * i, 100.0 + i) for i in range(10)])
    assert [c.start for c in store.candles("BTC", "1m")] == [420, 480, 540]
    assert [c.start for c in store.candles("BTC", "5m")] == [0, 300]
    assert [c.close for c in store.candles("BTC", "1m", limit=2)] == [108, 109]
    assert store.candles("BTC", "1m", limit=0) == []
    assert store.candles("ETH", "1m") == []


def test_markets_are_kept_apart_and_can_be_cleared() -> None:
    store = CandleStore()
    feed(store, [(0, 100)], "BTC")
    feed(store, [(0, 10)], "ETH")
    assert store.symbols == ["BTC", "ETH"]
    store.clear("BTC")
    assert store.candles("BTC", "1m") == [] and store.last_time("BTC") is None
    assert store.candles("ETH", "1m")[0].close == 10
    store.clear()
    assert store.symbols == []


@pytest.mark.parametrize(
    ("price", "time"),
    [
        (math.nan, 0.0),
        (math.inf, 0.0),
        (0.0, 0.0),
        (-1.0, 0.0),
        (100.0, math.nan),
        (100.0, math.inf),
        ("100", 0.0),
        (None, 0.0),
        (100.0, "0"),
    ],
)
def test_a_bad_mark_is_ignored_and_changes_nothing(price: object, time: object) -> None:
    store = CandleStore()
    feed(store, [(0, 100)])
    before = store.candles("BTC", "1m")
    assert store.add("BTC", price, time) is False  # type: ignore[arg-type]
    assert store.candles("BTC", "1m") == before
    assert store.last_time("BTC") == 0


def test_bad_settings_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="whole multiple"):
        CandleStore(intervals=(60, 90))
    with pytest.raises(ValueError, match="must grow"):
        CandleStore(intervals=("5m", "1m"))
    with pytest.raises(ValueError, match="unknown candle interval '2m'"):
        CandleStore(intervals=("2m",))
    with pytest.raises(ValueError, match="capacity"):
        CandleStore(capacity=0)
    with pytest.raises(ValueError, match="at least one"):
        CandleStore(intervals=())
    with pytest.raises(ValueError, match="not 30 s"):
        CandleStore().candles("BTC", 30)
    assert interval_seconds(" 1H ") == 3600.0


class CandleSink:
    """What the app will do: stamp each mark with the feed time announced before it."""

    def __init__(self) -> None:
        self.store = CandleStore()
        self.now = math.nan

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


def test_a_replay_draws_the_same_candles_at_1x_and_100x(tmp_path: Path) -> None:
    rows = "".join(f"{1_700_000_000 + 7 * i},BTC,{100 + (i * 37) % 11}\n" for i in range(200))
    path = tmp_path / "rec.csv"
    path.write_text("timestamp,symbol,price\n" + rows, encoding="utf-8")
    stores = []
    for speed, dt in ((1, 0.25), (100, 1.0)):
        src = ReplaySource(path, speed=speed)
        sink = CandleSink()
        src.snapshot().deliver(sink)
        while not src.finished:
            src.step(dt).deliver(sink)
        stores.append(sink.store)
    slow, fast = stores
    assert len(slow.candles("BTC", "1m")) == 24  # 1,393 s of recording in whole minutes
    for interval in ("1m", "5m", "1h"):
        assert fast.candles("BTC", interval) == slow.candles("BTC", interval)


def reference(marks: list[tuple[float, float]], iv: float, capacity: int) -> list[Candle]:
    """The definition, spelled out: group by whole interval, first/max/min/last."""
    out = []
    for start, group in groupby(marks, key=lambda m: math.floor(m[0] / iv) * iv):
        g = list(group)
        prices = [p for _, p in g]
        out.append(Candle(start, prices[0], max(prices), min(prices), prices[-1], g[-1][0]))
    return out[-capacity:]


@given(
    steps=st.lists(
        st.tuples(st.floats(0, 400, allow_nan=False), st.floats(1, 1e6, allow_nan=False, width=32)),
        max_size=120,
    )
)
def test_the_store_matches_the_definition(steps: list[tuple[float, float]]) -> None:
    t = 0.0
    marks = []
    for dt, price in steps:
        t += dt
        marks.append((t, float(price)))
    store = CandleStore(capacity=7)
    feed(store, marks)
    for name, iv in (("1m", 60.0), ("5m", 300.0), ("1h", 3600.0)):
        assert store.candles("BTC", name) == reference(marks, iv, 7)
