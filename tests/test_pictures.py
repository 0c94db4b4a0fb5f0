"""The pictures of a season, hand-worked: bounded time buckets, the equity curve and its
drawdown from records, and a liquidation's path (mark, liquidation price, margin ratio).
Engine as in tests/engine: no fees unless asked; BTC 40x (maintenance 1.25 %) at 100,000."""

from __future__ import annotations

import math

import pytest

from tests.engine.conftest import FakeClock, make_engine
from tui.engine import MarginMode, PositionView, Side
from tui.engine.models import Event, Fill, FundingPayment, Liquidation, MarginTransfer
from tui.market.candles import Candle
from tui.pictures import (
    RATIO_CAP,
    EquityCurve,
    TimeBuckets,
    TraceBook,
    balance_change,
    equity_curve,
    position_ratio,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


# ------------------------------------------------------------------ buckets


def test_buckets_hold_first_high_low_last_and_halve_when_full() -> None:
    b = TimeBuckets(0.0, capacity=4, first_span=1.0)
    for t, v in ((0.0, 10), (0.5, 12), (1.2, 9), (3.9, 11)):
        assert b.add(t, v)
    assert b.candles() == (
        Candle(0.0, 10, 12, 10, 12, 0.5),
        Candle(1.0, 9, 9, 9, 9, 1.2),
        Candle(3.0, 11, 11, 11, 11, 3.9),  # bucket 2 saw nothing: a gap, not a flat bucket
    )
    # 4.1 s falls in bucket 4 of 4: the span doubles to 2 s, buckets 0+1 and 2+3 merge
    assert b.add(4.1, 8)
    assert b.span == 2.0
    assert b.candles() == (
        Candle(0.0, 10, 12, 9, 9, 1.2),
        Candle(2.0, 11, 11, 11, 11, 3.9),
        Candle(4.0, 8, 8, 8, 8, 4.1),
    )
    # a time far ahead halves as often as it takes: 100 s with 4 buckets -> span 32 s
    assert b.add(100.0, 7)
    assert b.span == 32.0 and len(b) == 2
    assert b.candles()[-1] == Candle(96.0, 7, 7, 7, 7, 100.0)
    assert b.candles()[0] == Candle(0.0, 10, 12, 8, 8, 4.1)
    assert b.last == 7


def test_buckets_ignore_bad_values_and_a_clock_stepped_back() -> None:
    b = TimeBuckets(10.0, capacity=4)
    assert not b.add(11.0, math.nan) and not b.add(math.inf, 1.0) and len(b) == 0
    assert b.add(5.0, 3.0)  # before t0: counted at t0
    assert b.add(12.5, 4.0)
    assert b.add(11.0, 5.0)  # stepped back: joins the last bucket
    assert b.candles() == (Candle(10.0, 3, 3, 3, 3, 5.0), Candle(12.0, 4, 5, 4, 5, 12.5))
    with pytest.raises(ValueError, match="capacity"):
        TimeBuckets(0.0, capacity=1)
    with pytest.raises(ValueError, match="first_span"):
        TimeBuckets(0.0, first_span=0.0)


def test_buckets_stay_bounded_over_a_long_series() -> None:
    b = TimeBuckets(0.0, capacity=64)
    for i in range(100_000):
        b.add(float(i), float(i % 97))
    assert len(b) <= 64
    # every value is inside some bucket: the extremes survive the merging
    assert max(c.high for c in b.candles()) == 96 and min(c.low for c in b.candles()) == 0


# ------------------------------------------------------------------ equity


def fill(seq: int, time: float, realized: float, fee: float) -> Fill:
    return Fill(seq, time, "BTC", LONG, 0.1, 100_000, fee, ISO, 10, "close", realized)


def test_each_record_moves_the_realized_equity_by_what_it_did() -> None:
    assert balance_change(fill(1, 0, 300, 5)) == 295
    payment = FundingPayment(2, 0, "BTC", LONG, 0.1, 100_000, 0.0001, 10, ISO)
    received = FundingPayment(3, 0, "BTC", SHORT, 0.1, 100_000, 0.0001, -4, ISO)
    assert balance_change(payment) == -10 and balance_change(received) == 4
    liq = Liquidation(
        4, 0, "BTC", LONG, 0.1, 100_000, 91_000, ISO, 10, 1_000, -900, 100, 1, 0, "forfeit"
    )
    assert balance_change(liq) == -1_000  # -900 realized and the 100 left forfeited
    assert balance_change(MarginTransfer(5, 0, "BTC", 250)) == 0


def test_the_equity_curve_its_peak_and_its_largest_drawdown() -> None:
    """10,000 -> 9,995 (fee) -> 10,290 (+300 - 5: the peak) -> 10,280 (funding 10) -> 9,780
    (a liquidation: -400 realized, 100 forfeited; 510 below the peak, 4.96 % of it) ->
    9,780 (a margin transfer moves nothing) -> 10,780 (+1,000: a new peak)."""
    curve = EquityCurve(10_000, 0.0)
    events: list[Event] = [
        fill(1, 1.0, 0, 5),
        fill(2, 2.0, 300, 5),
        FundingPayment(3, 3.0, "BTC", LONG, 0.1, 100_000, 0.0001, 10, ISO),
        Liquidation(
            4, 4.0, "BTC", LONG, 0.1, 100_000, 96_000, ISO, 10, 500, -400, 100, 1, 0, "forfeit"
        ),
        MarginTransfer(5, 5.0, "ETH", 100),
    ]
    seen = []
    for event in events:
        curve.feed(event)
        seen.append((curve.equity, curve.peak, curve.drawdown))
    assert seen == [
        (9_995, 10_000, 5),
        (10_290, 10_290, 0),
        (10_280, 10_290, 10),
        (9_780, 10_290, 510),
        (9_780, 10_290, 510),
    ]
    assert curve.max_drawdown == 510 and curve.max_drawdown_at == 4.0
    assert curve.max_drawdown_share == pytest.approx(510 / 10_290)  # 4.96 %
    curve.feed(fill(6, 6.0, 1_000, 0))
    assert (curve.equity, curve.peak, curve.drawdown) == (10_780, 10_780, 0)
    assert curve.max_drawdown == 510  # the largest stays
    assert curve.records == 5  # the margin transfer moved nothing
    assert [c.close for c in curve.series.candles()] == [
        10_000,
        9_995,
        10_290,
        10_280,
        9_780,
        10_780,
    ]
    assert [c.close for c in curve.drawdowns.candles()] == [0, 5, 0, 10, 510, 0]


def test_the_curve_ends_at_the_engines_equity_once_everything_is_closed() -> None:
    """A season on an engine with fees: a win, a funding payment, an isolated liquidation and
    a cross round trip. With nothing open, the curve's last figure is the account's equity."""
    clock = FakeClock(0.0)
    eng = make_engine(fees=True, clock=clock)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    clock.now = 60.0
    eng.set_mark("BTC", 103_000)
    eng.close("BTC")
    eng.open("ETH", SHORT, 2, 5, CROSS)
    eng.set_funding_rate("ETH", -0.0002)  # shorts pay
    clock.now = 3_600.0
    eng.set_mark("ETH", 4_050)
    eng.close("ETH")
    eng.open("SOL", LONG, 10, 20, ISO)
    clock.now = 4_000.0
    eng.set_mark("SOL", 150)  # far past its liquidation price
    assert eng.positions() == []
    curve = equity_curve(eng.events, 10_000, 0.0)
    assert curve.equity == pytest.approx(eng.account.equity, abs=1e-9)
    assert curve.peak > 10_000 and curve.max_drawdown > 0


# ------------------------------------------------------------------ post-mortems


def test_a_liquidations_picture_is_the_path_that_led_to_it() -> None:
    """0.1 BTC long at 10x isolated: margin 1,000, maintenance 1.25 % of the notional. At
    100,000 the ratio is 125 / 1,000 = 12.5 %; at 95,000, 118.75 / (1,000 - 500) = 23.75 %.
    Its liquidation price, (100,000 - 1,000 / 0.1) / 0.9875 = 91,139.24, is met at 91,000:
    the picture ends there, with the ratio at 100 % or more."""
    clock = FakeClock(0.0)
    eng = make_engine(clock=clock)
    book = TraceBook(capacity=16)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    book.sample(clock(), eng.account, eng.positions())
    clock.now = 1.0
    eng.set_mark("BTC", 95_000)
    book.sample(clock(), eng.account, eng.positions())
    assert book.open_traces == 1
    clock.now = 2.0
    eng.set_mark("BTC", 91_000)
    (liq,) = [e for e in eng.events if isinstance(e, Liquidation)]
    picture = book.liquidated(liq)
    assert [c.close for c in picture.marks] == [100_000, 95_000, 91_000]
    assert [c.start for c in picture.marks] == [0.0, 1.0, 2.0]
    assert [c.close for c in picture.ratios] == pytest.approx([0.125, 0.2375, 1.0])
    assert picture.liquidation_price == pytest.approx(90_000 / 0.9875)
    assert picture.peak_ratio == pytest.approx(1.0) and picture.ratio_name == "position"
    assert book.picture(liq.seq) is picture and book.pictures == [picture]
    assert book.open_traces == 0
    book.sample(clock(), eng.account, eng.positions())
    assert book.picture(liq.seq + 1) is None


def test_a_cross_positions_ratio_is_the_accounts_and_closed_positions_are_forgotten() -> None:
    clock = FakeClock(0.0)
    eng = make_engine(clock=clock)
    book = TraceBook(keep=1)
    eng.open("ETH", LONG, 10, 10, CROSS)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    book.sample(clock(), eng.account, eng.positions())
    assert book.open_traces == 2
    eng.close("BTC")
    clock.now = 1.0
    book.sample(clock(), eng.account, eng.positions())
    assert book.open_traces == 1  # BTC's path went with it
    # ETH's 40,000 of notional at 2 % maintenance = 800, over the cross account value:
    # 9,000 while BTC's isolated 1,000 was out of it, 10,000 once BTC was closed
    assert eng.account.margin_ratio == pytest.approx(0.08)
    trace_ratio = [c.close for c in book.liquidated(_eth_liquidation()).ratios]
    assert trace_ratio[:2] == pytest.approx([800 / 9_000, 800 / 10_000])


def _eth_liquidation() -> Liquidation:
    """A liquidation record of the open ETH cross position (made up: only its key matters)."""
    return Liquidation(
        99, 2.0, "ETH", LONG, 10, 4_000, 3_100, CROSS, 10, 9_000, -9_000, 0, 1, 0.0, "market"
    )


def test_pictures_are_bounded_and_a_ratio_with_nothing_left_is_capped() -> None:
    book = TraceBook(keep=2)
    for seq in range(5):
        liq = Liquidation(
            seq, float(seq), "SOL", LONG, 1, 200, 180, ISO, 10, 20, -20, 0, seq, 0.0, "market"
        )
        book.liquidated(liq)
    assert [p.liquidation.seq for p in book.pictures] == [3, 4]
    never_sampled = book.pictures[-1]  # liquidated before a heartbeat saw it
    assert [c.close for c in never_sampled.marks] == [180] and never_sampled.ratios[-1].close == 1
    with pytest.raises(ValueError, match="keep"):
        TraceBook(keep=0)
    eng = make_engine()
    account = eng.account
    gone = PositionView("SOL", LONG, 1, 200, 150, ISO, 10, 20, -50, 1.875, 190.0, 0.0)
    assert position_ratio(gone, account) == RATIO_CAP  # 1.875 / (20 - 50): nothing left
    held = PositionView("SOL", LONG, 1, 200, 195, ISO, 10, 20, -5, 4.875, 190.0, 0.0)
    assert position_ratio(held, account) == pytest.approx(4.875 / 15)
