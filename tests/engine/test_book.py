"""Hand-worked numbers for fills against the book (docs/rules.md, "Fills against the book").

Unless a test says otherwise: balance 100,000, fees 0, BTC mark 100,000 (40x), and the book of
issue 13: bids 99,990 x 1.0 and 99,980 x 2.5, asks 100,010 x 1.0 and 100,020 x 2.5.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.engine.conftest import FakeClock, make_engine, status
from tui.engine import (
    Fill,
    InvalidInput,
    MarginMode,
    Market,
    OrderEvent,
    OrderRejected,
    OrderType,
    PaperEngine,
    Side,
)
from tui.engine.book import walk

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
LONG = Side.LONG
SHORT = Side.SHORT
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP_MARKET
MARKET = OrderType.MARKET

BIDS = [(99_990.0, 1.0), (99_980.0, 2.5)]
ASKS = [(100_010.0, 1.0), (100_020.0, 2.5)]


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def booked(fees: bool = False, clock: FakeClock | None = None, **book: Any) -> PaperEngine:
    eng = make_engine(balance=100_000, fees=fees, clock=clock)
    eng.set_book("BTC", book.get("bids", BIDS), book.get("asks", ASKS))
    return eng


def records(eng: PaperEngine, action: str) -> list[OrderEvent]:
    return [e for e in eng.events if isinstance(e, OrderEvent) and e.action == action]


# ---------------------------------------------------------------- the book itself


def test_the_book_in_use_is_the_one_set_and_none_before() -> None:
    eng = make_engine()
    assert eng.book("BTC") is None
    eng.set_book("btc", BIDS, ASKS)
    book = eng.book("BTC")
    assert book is not None
    assert book.bids == tuple(BIDS) and book.asks == tuple(ASKS)
    assert (book.best_bid, book.best_ask, book.spread) == (99_990, 100_010, 20)
    assert book.time == 1_000_000.0 and book.mark == 100_000
    eng.clear_book("BTC")
    assert eng.book("BTC") is None


@pytest.mark.parametrize(
    ("bids", "asks", "says"),
    [
        ([(99_980.0, 1.0), (99_990.0, 1.0)], ASKS, "best (highest) first"),
        (BIDS, [(100_020.0, 1.0), (100_010.0, 1.0)], "best (lowest) first"),
        (BIDS, [(100_010.0, 1.0), (100_010.0, 2.0)], "no price twice"),
        ([(100_020.0, 1.0)], ASKS, "crossed"),
        ([(math.nan, 1.0)], ASKS, "finite"),
        ([(99_990.0, math.inf)], ASKS, "finite"),
        ([(99_990.0, -1.0)], ASKS, "more than zero"),
        ([(99_990.0, 0.0)], ASKS, "more than zero"),
        ([(-5.0, 1.0)], ASKS, "more than zero"),
        ([("99990", 1.0)], ASKS, "must be a number"),
        ([(99_990.0, True)], ASKS, "must be a number"),
        ([(99_990.0,)], ASKS, "(price, size) pair"),
        ([99_990.0], ASKS, "(price, size) pair"),
        ("99990", ASKS, "list of (price, size) levels"),
        (None, ASKS, "list of (price, size) levels"),
        ([(100_000.0 - i, 1.0) for i in range(1_001)], ASKS, "more than 1,000 bids"),
    ],
)
def test_a_bad_book_is_refused_and_the_old_one_stays(bids: Any, asks: Any, says: str) -> None:
    eng = booked()
    before = eng.book("BTC")
    with pytest.raises(InvalidInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        eng.set_book("BTC", bids, asks)
    assert eng.book("BTC") is before


def test_a_book_for_an_unknown_market_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown market"):
        make_engine().set_book("NOPE", BIDS, ASKS)


def test_walk_takes_levels_in_turn_up_to_the_worst_price() -> None:
    px, sz = (100.0, 101.0, 102.0), (1.0, 2.0, 3.0)
    assert walk(px, sz, 1, 0.5, 200.0) == (0.5, 50.0)  # inside the first level
    assert walk(px, sz, 1, 1.0, 200.0) == (1.0, 100.0)  # exactly the first level
    assert walk(px, sz, 1, 2.5, 200.0) == (2.5, 100.0 + 1.5 * 101.0)
    assert walk(px, sz, 1, 10.0, 101.0) == (3.0, 100.0 + 202.0)  # stops at the worst price
    assert walk(px, sz, 1, 10.0, 99.0) == (0.0, 0.0)  # nothing within reach
    assert walk((), (), 1, 1.0, 200.0) == (0.0, 0.0)  # empty side
    bids = (99.0, 98.0)
    assert walk(bids, (1.0, 1.0), -1, 2.0, 98.5) == (1.0, 99.0)  # a sell stops above worst


# ---------------------------------------------------------------- rule 1: market orders walk


def test_one_level_fills_at_its_price_and_pays_half_the_spread() -> None:
    eng = booked(fees=True)
    p = eng.preview("BTC", LONG, 0.5, 10, ISO)
    assert p.fill_price == 100_010
    assert p.filled_size == 0.5
    assert p.slippage == approx(0.0001)  # 10 / 100,000: one basis point
    assert p.spread_cost == approx(5.0)  # 0.5 * (100,010 - 100,000)
    assert p.impact_cost == 0.0
    assert p.fee == approx(0.5 * 100_010 * 0.00045)  # 22.50225, on the fill's notional
    assert p.pricing == "book"
    fill = eng.open("BTC", LONG, 0.5, 10, ISO)
    assert (fill.price, fill.size, fill.fee) == (100_010, 0.5, p.fee)
    assert (fill.mark_price, fill.spread_cost, fill.impact_cost) == (100_000, p.spread_cost, 0.0)
    assert fill.slippage == approx(0.0001) and fill.pricing == "book" and fill.unfilled == 0


def test_several_levels_fill_at_their_volume_weighted_average() -> None:
    eng = booked(fees=True)
    p = eng.preview("BTC", LONG, 1.5, 10, ISO)
    # 1.0 at 100,010 + 0.5 at 100,020 = 150,020 for 1.5: 100,013.33
    assert p.fill_price == approx(150_020 / 1.5)
    assert p.slippage == approx((150_020 / 1.5 - 100_000) / 100_000)  # 1.33 bp
    assert p.spread_cost == approx(15.0)  # 1.5 * 10: the half spread on every coin
    assert p.impact_cost == approx(5.0)  # 150,020 - 1.5 * 100,010: beyond the best level
    assert p.fee == approx(150_020 * 0.00045)  # 67.509
    assert p.notional == approx(150_020)
    assert p.margin_required == approx(15_002)  # 150,020 / 10
    eng.open("BTC", LONG, 1.5, 10, ISO)
    # Rule 3: PnL is on the mark, so the fill's cost shows at once as a loss of 20.
    pos = eng.position("BTC")
    assert pos is not None
    assert pos.entry_price == approx(150_020 / 1.5)
    assert pos.unrealized_pnl == approx(-20.0)
    assert pos.maintenance_margin == approx(1.5 * 100_000 * 0.0125)  # on the mark


def test_a_sell_takes_the_bids() -> None:
    eng = booked()
    p = eng.preview("BTC", SHORT, 2.0, 10, CROSS)
    # 1.0 at 99,990 + 1.0 at 99,980 = 199,970
    assert p.fill_price == approx(99_985)
    assert p.slippage == approx(0.00015)  # below the mark, against a seller: positive
    assert p.spread_cost == approx(20.0) and p.impact_cost == approx(10.0)


def test_depth_exhausted_at_the_slippage_limit_fills_in_part_and_says_so() -> None:
    eng = booked()
    eng.set_execution(slippage_limit=0.00015)  # 1.5 bp: 100,015 is the worst a buy may pay
    assert eng.slippage_limit("BTC") == 0.00015
    p = eng.preview("BTC", LONG, 1.5, 10, ISO)
    assert p.ok
    assert (p.size, p.filled_size, p.fill_price) == (1.5, 1.0, 100_010)
    assert p.margin_required == approx(10_001)  # only what fills is margined
    assert p.warnings == [
        "Only 1 of 1.5 BTC would fill: the book holds no more within 0.015 % of the mark; "
        "the other 0.5 would not be filled."
    ]
    order = eng.place_order("BTC", LONG, 1.5, MARKET, leverage=10, mode=ISO)
    assert order.status == "filled" and order.filled_size == 1.0 and order.fill_price == 100_010
    [done] = records(eng, "filled")
    assert done.filled_size == 1.0 and done.size == 1.5
    assert done.reason == (
        "1 of 1.5 filled: the book held no more within the slippage limit; the rest is not filled"
    )
    [fill] = eng.fills
    assert (fill.size, fill.unfilled) == (1.0, 0.5)
    assert eng.open_orders() == []  # immediate-or-cancel: nothing rests


def test_the_default_slippage_limit_is_8_percent_from_the_mark() -> None:
    eng = booked(asks=[(100_010.0, 1.0), (107_999.0, 1.0), (108_001.0, 5.0)])
    p = eng.preview("BTC", LONG, 3.0, 10, CROSS)
    assert p.filled_size == 2.0  # 108,001 is beyond 100,000 * 1.08
    assert p.fill_price == approx((100_010 + 107_999) / 2)


def test_a_per_market_slippage_limit() -> None:
    eng = booked()
    eng.set_execution(slippage_limit=0.00015, market="BTC")
    assert (eng.slippage_limit("BTC"), eng.slippage_limit("ETH")) == (0.00015, 0.08)
    for bad in (0, 1, 1.5, -0.1, math.nan, "8%"):
        with pytest.raises(InvalidInput):
            eng.set_execution(slippage_limit=bad)  # type: ignore[arg-type]  # "8%" on purpose
    assert eng.slippage_limit("BTC") == 0.00015


def test_an_empty_side_fills_nothing_and_changes_nothing() -> None:
    eng = booked(asks=[])
    state = eng.to_state()
    p = eng.preview("BTC", LONG, 0.1, 10, ISO)
    message = (
        "The BTC order book has no asks within 8 % of the mark 100,000: this market buy would "
        "not fill. Wait for the book to refill, or use a limit order."
    )
    assert p.rejection == message and p.filled_size == 0.0
    with pytest.raises(OrderRejected, match="has no asks within 8 %"):
        eng.open("BTC", LONG, 0.1, 10, ISO)
    assert eng.to_state() == state and eng.events == []
    assert eng.open("BTC", SHORT, 0.1, 10, ISO).price == 99_990  # the bids are still there


def test_closing_walks_the_book_and_realizes_against_it() -> None:
    eng = booked()
    eng.open("BTC", LONG, 2.0, 10, CROSS)  # 1 @ 100,010 + 1 @ 100,020: entry 100,015
    close = eng.close("BTC")
    assert close.price == approx(99_985)  # 1 @ 99,990 + 1 @ 99,980
    assert close.realized_pnl == approx(2.0 * (99_985 - 100_015))  # -60: the round trip
    assert close.spread_cost == approx(20.0) and close.impact_cost == approx(10.0)


def test_a_flip_prices_both_legs_at_one_average_and_splits_the_cost() -> None:
    eng = booked()
    eng.open("BTC", LONG, 1.0, 10, CROSS)  # at 100,010
    opening = eng.open("BTC", SHORT, 3.0, 10, CROSS)  # 1 @ 99,990 + 2 @ 99,980 = 299,950
    closing = eng.fills[-2]
    assert closing.kind == "close" and opening.kind == "open"
    assert closing.price == opening.price == approx(299_950 / 3)
    # 3 * 10 spread and 20 impact in all, shared 1 : 2 by size
    assert (closing.spread_cost, opening.spread_cost) == (approx(10.0), approx(20.0))
    assert closing.impact_cost + opening.impact_cost == approx(20.0)


def test_quote_prices_a_close_through_the_whole_book_for_a_liquidation() -> None:
    eng = booked()
    q = eng.quote("BTC", SHORT, 5.0)
    assert (q.filled, q.price) == (3.5, approx((99_990 + 2.5 * 99_980) / 3.5))
    assert q.unfilled == approx(1.5) and q.pricing == "book"
    whole = eng.quote("BTC", SHORT, 3.0, worst=0)
    assert whole.filled == 3.0
    assert eng.events == []


# ---------------------------------------------------------------- rule 2: no book, as today


def test_without_a_book_a_market_order_fills_at_the_mark_plus_fixed_slippage() -> None:
    eng = PaperEngine(balance=10_000, markets=[Market("BTC", max_leverage=40, slippage=0.001)])
    eng.set_mark("BTC", 100_000)
    p = eng.preview("BTC", LONG, 0.1, 10, ISO)
    assert (p.fill_price, p.filled_size, p.pricing) == (approx(100_100), 0.1, "mark")
    assert p.spread_cost == approx(10.0) and p.impact_cost == 0  # the fixed slippage
    fill = eng.open("BTC", LONG, 0.1, 10, ISO)
    assert (fill.price, fill.pricing, fill.mark_price) == (approx(100_100), "mark", 100_000)


# ---------------------------------------------------------------- rule 4: a stale book


def test_a_book_older_than_the_last_mark_by_more_than_the_age_is_not_used() -> None:
    clock = FakeClock()
    eng = booked(clock=clock)
    assert eng.book_max_age == 10.0
    clock.now += 5
    eng.set_mark("BTC", 100_100)
    clock.now += 5  # the book is 10 s old: still in use
    assert eng.preview("BTC", LONG, 0.5, 10, ISO).fill_price == 100_010
    clock.now += 0.5
    p = eng.preview("BTC", LONG, 0.5, 10, ISO)
    assert (p.fill_price, p.pricing, p.spread_cost) == (100_100, "stale", 0.0)  # the mark
    assert p.warnings == [
        "The BTC order book is 10 s old while the mark has moved on: priced at the mark instead."
    ]
    fill = eng.open("BTC", LONG, 0.5, 10, ISO)
    assert (fill.price, fill.pricing) == (100_100, "stale")
    eng.set_book("BTC", [(100_090.0, 1.0)], [(100_110.0, 1.0)])  # a fresh one: used again
    assert eng.preview("BTC", LONG, 0.5, 10, ISO).fill_price == 100_110


def test_a_book_stays_in_use_while_no_mark_comes_after_it() -> None:
    """A paused feed: neither marks nor books move, so the book is no older than the mark."""
    clock = FakeClock()
    eng = booked(clock=clock)
    clock.now += 3_600
    assert eng.preview("BTC", LONG, 0.5, 10, ISO).pricing == "book"
    eng.set_execution(book_max_age=0)
    assert eng.preview("BTC", LONG, 0.5, 10, ISO).pricing == "book"
    eng.set_mark("BTC", 100_001)
    assert eng.preview("BTC", LONG, 0.5, 10, ISO).pricing == "stale"


# ---------------------------------------------------------------- limits against the book


def test_a_marketable_limit_takes_several_levels_up_to_its_price() -> None:
    eng = booked()
    order = eng.place_order("BTC", LONG, 3.0, LIMIT, price=100_020, leverage=10, mode=ISO)
    # 1 @ 100,010 + 2 @ 100,020 = 300,050: a taker over two levels, never above its price
    assert order.status == "filled" and order.filled_size == 3.0
    assert order.fill_price == approx(300_050 / 3)
    [fill] = eng.fills
    assert fill.pricing == "book" and fill.impact_cost == approx(20.0)


def test_the_rest_of_a_marketable_limit_waits_at_its_price_for_the_next_book() -> None:
    eng = booked()
    p = eng.preview_order("BTC", LONG, 5.0, LIMIT, price=100_020, leverage=10, mode=ISO)
    assert (p.filled_size, p.fill_price) == (3.5, approx(350_060 / 3.5))
    assert p.reserved_margin == approx(1.5 * 100_020 / 10)  # the rest holds its margin: 15,003
    assert p.warnings == [
        "3.5 of 5 BTC would fill now, at 100,017.14 on average; the other 1.5 would wait at "
        "100,020."
    ]
    order = eng.place_order("BTC", LONG, 5.0, LIMIT, price=100_020, leverage=10, mode=ISO)
    assert (order.status, order.filled_size) == ("open", 3.5)
    assert order.reserved_margin == approx(15_003)
    assert [e.action for e in eng.events if isinstance(e, OrderEvent)] == ["partial", "placed"]
    assert eng.account.order_margin == approx(15_003)
    eng.set_mark("BTC", 100_000)  # the same book: its asks up to 100,020 are taken
    assert order.status == "open"
    eng.set_book("BTC", BIDS, [(100_015.0, 2.0)])  # a new book reaches it: filled as a maker
    assert (order.status, order.filled_size) == ("filled", 5.0)
    assert order.fill_price == approx((350_060 + 1.5 * 100_020) / 5)  # 100,018
    assert eng.fills[-1].price == 100_020 and eng.fills[-1].pricing == "limit"
    assert eng.account.order_margin == 0
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(5.0)


def test_a_resting_limit_fills_when_the_best_ask_reaches_it_not_the_mark() -> None:
    eng = booked()
    # Below the best ask (100,010), so it rests although the mark (100,000) is below it.
    order = eng.place_order("BTC", LONG, 1.0, LIMIT, price=100_005, leverage=10, mode=ISO)
    assert order.status == "open"
    eng.set_mark("BTC", 99_990)  # the mark passes it; sellers still ask 100,010
    assert order.status == "open"
    eng.set_book("BTC", [(99_980.0, 1.0)], [(100_005.0, 0.2)])  # an ask at its price
    assert status(order) == "filled" and order.fill_price == 100_005
    assert eng.fills[-1].pricing == "limit" and eng.fills[-1].spread_cost == 0


def test_a_resting_sell_limit_fills_when_the_best_bid_reaches_it() -> None:
    eng = booked()
    order = eng.place_order("BTC", SHORT, 1.0, LIMIT, price=100_100, leverage=10, mode=ISO)
    eng.set_book("BTC", [(100_090.0, 1.0)], [(100_110.0, 1.0)])
    assert order.status == "open"
    eng.set_book("BTC", [(100_100.0, 1.0)], [(100_110.0, 1.0)])
    assert status(order) == "filled" and order.fill_price == 100_100


def test_with_a_stale_book_resting_limits_go_back_to_the_mark() -> None:
    clock = FakeClock()
    eng = booked(clock=clock)
    order = eng.place_order("BTC", LONG, 1.0, LIMIT, price=99_950, leverage=10, mode=ISO)
    eng.set_mark("BTC", 99_940)  # the book (ask 100,010) is fresh and far: it waits
    assert order.status == "open"
    clock.now += 11
    eng.set_mark("BTC", 99_945)  # the book is stale now: the mark decides, as without books
    assert status(order) == "filled" and order.fill_price == 99_950


def test_post_only_is_refused_when_the_best_ask_is_at_or_below_its_price() -> None:
    eng = booked()
    with pytest.raises(OrderRejected, match="the best ask 100,010 is at or below it"):
        eng.place_order(
            "BTC", LONG, 1.0, LIMIT, price=100_010, leverage=10, mode=ISO, post_only=True
        )
    order = eng.place_order(
        "BTC", LONG, 1.0, LIMIT, price=100_005, leverage=10, mode=ISO, post_only=True
    )
    assert order.status == "open"  # above the mark, below the best ask: it rests as a maker


# ---------------------------------------------------------------- stops into a thin book


def test_a_stop_fired_into_a_thin_book_fills_what_is_there_within_the_limit() -> None:
    eng = booked()
    eng.open("BTC", LONG, 1.0, 10, ISO)  # at 100,010
    eng.set_tp_sl("BTC", stop_loss=95_000)
    # A thin book: 0.3 at 94,800 and 0.3 at 94,000; the next bid is beyond 8 % of the mark.
    eng.set_book("BTC", [(94_800.0, 0.3), (94_000.0, 0.3), (80_000.0, 5.0)], [(95_000.0, 1)])
    eng.set_mark("BTC", 94_900)  # reaches the stop
    stop_fill = eng.fills[-1]
    assert stop_fill.kind == "reduce" and stop_fill.order_id is not None
    assert stop_fill.size == approx(0.6) and stop_fill.unfilled == approx(0.4)
    assert stop_fill.price == approx((0.3 * 94_800 + 0.3 * 94_000) / 0.6)  # 94,400
    assert stop_fill.realized_pnl == approx(0.6 * (94_400 - 100_010))  # -3,366
    assert stop_fill.spread_cost == approx(0.6 * 100)  # 94,900 - 94,800 on every coin
    assert stop_fill.impact_cost == approx(0.3 * 800)
    [done] = records(eng, "filled")
    assert done.tpsl == "sl" and done.filled_size == approx(0.6)
    assert "the rest is not filled" in done.reason
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(0.4)  # still open, unprotected
    assert eng.tp_sl("BTC") == (None, None)


def test_a_book_never_moves_margin_or_liquidation_off_the_mark() -> None:
    eng = booked()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    pos = eng.position("BTC")
    assert pos is not None
    liq = pos.liquidation_price
    assert liq is not None
    # A book far below cannot liquidate: only the mark does.
    eng.set_book("BTC", [(50_000.0, 1.0)], [(50_010.0, 1.0)])
    assert eng.position("BTC") is not None and eng.liquidations == []
    eng.set_mark("BTC", liq * 0.999)
    assert eng.liquidations and eng.liquidations[0].mark_price == liq * 0.999


def test_fill_records_from_before_books_read_as_unknown_cost() -> None:
    old = Fill(1, 0.0, "BTC", LONG, 0.1, 100_000, 0.0, ISO, 10, "open")
    assert (old.mark_price, old.spread_cost, old.impact_cost, old.pricing) == (0, 0, 0, "")
    assert old.slippage == 0.0


def test_a_book_beyond_the_slippage_limit_from_the_mark_is_not_used() -> None:
    """A feed glitch (or a mark the app held back as implausible) must not price a fill: a
    best bid more than 8 % above the mark would sell far above it."""
    eng = booked(bids=[(120_000.0, 5.0)], asks=[(120_010.0, 5.0)])
    p = eng.preview("BTC", SHORT, 1.0, 10, CROSS)
    assert (p.fill_price, p.pricing) == (100_000, "far")
    assert p.warnings == [
        "The BTC order book is more than 8 % away from the mark (a feed glitch, or a mark held "
        "back): priced at the mark instead."
    ]
    eng.set_book("BTC", [(107_000.0, 5.0)], [(107_010.0, 5.0)])  # within 8 %: used
    assert eng.preview("BTC", SHORT, 1.0, 10, CROSS).fill_price == 107_000


def test_dust_within_reach_is_no_fill() -> None:
    eng = booked(asks=[(100_010.0, 1e-12), (200_000.0, 1.0)])
    assert eng.preview("BTC", LONG, 1.0, 10, ISO).rejection is not None


def test_book_levels_take_only_prices_and_sizes_the_engine_takes() -> None:
    eng = booked()
    for bids, says in (
        ([(2e9, 1.0)], "out of range"),
        ([(1e-11, 1.0)], "out of range"),
        ([(99_990.0, 1e16)], "more than the engine takes"),
        ([(10**400, 1.0)], "must be a finite number"),
    ):
        with pytest.raises(InvalidInput, match=says):
            eng.set_book("BTC", bids, ASKS)


def test_a_part_fill_stays_on_the_markets_size_step() -> None:
    """Venue books hold whole lots; a simulated one need not. What fills of a part-filled
    order is rounded down to the size step (0.001 here): 0.3337 within reach fills 0.333."""
    market = Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0, size_step=0.001)
    eng = PaperEngine(balance=100_000, markets=[market])
    eng.set_mark("BTC", 100_000)
    eng.set_book("BTC", BIDS, [(100_010.0, 0.3337), (200_000.0, 5.0)])
    p = eng.preview("BTC", LONG, 1.0, 10, ISO)
    assert (p.size, p.filled_size, p.fill_price) == (1.0, 0.333, 100_010)
    fill = eng.open("BTC", LONG, 1.0, 10, ISO)
    assert (fill.size, fill.unfilled) == (0.333, approx(0.667))
    eng.set_book("BTC", BIDS, [(100_010.0, 0.0004), (200_000.0, 5.0)])  # under one step
    assert eng.preview("BTC", LONG, 1.0, 10, ISO).rejection is not None
