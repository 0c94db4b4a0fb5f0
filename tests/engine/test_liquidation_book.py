"""Hyperliquid liquidations through the order book (docs/rules.md, "What a liquidation takes"):
hand-worked numbers, fees 0, BTC one tier at 40x (maintenance 1.25 %), no size step.

A liquidation order is a market order on the side that closes the position. It walks the book
no further than the slippage limit (8 %) nor than the equity at stake covers (the position's
bankruptcy price), never takes liquidity it already took from the same book, and what the book
cannot take stays open: it waits for the next mark or book, unless equity is below two thirds
of maintenance, when the backstop takes it.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import FakeClock, liq_price, make_engine
from tui.engine import Liquidation, MarginMode, PaperEngine, Side, Venue

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


def approx(x: float, rel: float = 1e-9) -> object:
    return pytest.approx(x, rel=rel, abs=1e-9)


def bids(eng: PaperEngine, *levels: tuple[float, float]) -> None:
    """A book with these bids and no asks (a long's liquidation sells into the bids)."""
    eng.set_book("BTC", bids=list(levels), asks=[])


def liquidations(eng: PaperEngine) -> list[Liquidation]:
    return list(eng.liquidations)


def test_isolated_closes_through_the_book_and_the_rest_of_the_margin_goes_back() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000, wallet 9,000, liquidation 91,139.24
    bids(eng, (91_090, 0.05), (91_080, 0.05))
    eng.set_mark("BTC", 91_100)
    # Equity 110 <= maintenance 113.875: a market sell of 0.1, no lower than the bankruptcy
    # price 91,100 - 110 / 0.1 = 90,000: 0.05 at 91,090 and 0.05 at 91,080, 91,085 on average.
    # Realized 0.1 * (91,085 - 100,000) = -891.50; 108.50 goes back (110 at the mark, less the
    # 1.50 the book cost against it).
    [liq] = liquidations(eng)
    assert (liq.outcome, liq.pricing, liq.size, liq.remaining_size) == ("market", "book", 0.1, 0)
    assert liq.fill_price == approx(91_085) and liq.exit_price == approx(91_085)
    assert liq.realized_pnl == approx(-891.5) and liq.returned == approx(108.5)
    assert liq.margin_lost == approx(891.5) and liq.execution_cost == approx(1.5)
    assert liq.margin == 1_000 and liq.liquidation_price == approx(90_000 / 0.9875)
    assert eng.account.wallet_balance == approx(9_108.5)
    assert eng.position("BTC") is None


def test_what_the_book_cannot_take_stays_open_and_the_next_book_closes_it() -> None:
    eng = make_engine(balance=20_000)
    eng.open("BTC", LONG, 1, 10, ISO)  # margin 10,000, wallet 10,000
    bids(eng, (90_990, 0.05))
    eng.set_mark("BTC", 91_000)
    # Equity 10,000 - 9,000 = 1,000; maintenance 1,137.50, two thirds 758.33. The book holds
    # 0.05 at 90,990: realized 0.05 * -9,010 = -450.50 from the margin (9,549.50 left). The
    # 0.95 left: equity 9,549.50 - 0.95 * 9,000 = 999.50 against maintenance 1,080.625: still
    # below, but above two thirds (720.42): it waits.
    [first] = liquidations(eng)
    assert (first.outcome, first.size, first.remaining_size) == ("market", 0.05, approx(0.95))
    assert first.unfilled == approx(0.95) and first.fill_price == 90_990
    assert first.realized_pnl == approx(-450.5) and first.returned == 0
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(0.95) and pos.margin == approx(9_549.5)
    assert eng.account.wallet_balance == approx(10_000)
    # The same book again: its 0.05 was taken, so a new mark finds nothing more in it.
    eng.set_mark("BTC", 91_000)
    assert len(eng.liquidations) == 1
    # A new book is tried at once: 0.95 at 90,980, realized 0.95 * -9,020 = -8,569;
    # 9,549.50 - 8,569 = 980.50 goes back.
    bids(eng, (90_980, 2.0))
    last = eng.liquidations[-1]
    assert (last.outcome, last.size, last.remaining_size) == ("market", approx(0.95), 0)
    assert last.realized_pnl == approx(-8_569) and last.returned == approx(980.5)
    assert eng.account.wallet_balance == approx(10_980.5)
    assert eng.position("BTC") is None


def test_the_backstop_takes_what_the_book_leaves_below_two_thirds() -> None:
    eng = make_engine(balance=20_000)
    eng.open("BTC", LONG, 1, 10, ISO)
    bids(eng, (90_690, 0.01))
    eng.set_mark("BTC", 90_700)
    # Equity 700, below two thirds of maintenance (755.83): with a book, it is tried first.
    # 0.01 at 90,690: realized -93.10, margin 9,906.90. The 0.99 left: equity 9,906.90 -
    # 9,207 = 699.90 < two thirds of 1,122.41 (748.28): the backstop takes the rest and its
    # margin: realized -9,207, forfeited 699.90.
    market, backstop = liquidations(eng)
    assert (market.outcome, market.size, market.remaining_size) == ("market", 0.01, approx(0.99))
    assert market.realized_pnl == approx(-93.1)
    assert (backstop.outcome, backstop.size) == ("backstop", approx(0.99))
    assert backstop.margin_lost == approx(9_906.9) and backstop.forfeited == approx(699.9)
    assert backstop.margin == approx(9_906.9)
    assert eng.account.wallet_balance == approx(10_000)


def test_nothing_within_the_bankruptcy_price_is_a_backstop() -> None:
    eng = make_engine(balance=20_000)
    eng.open("BTC", LONG, 1, 10, ISO)
    bids(eng, (89_000, 5.0))  # all of it below the bankruptcy price 90,700 - 700 = 90,000
    eng.set_mark("BTC", 90_700)
    [liq] = liquidations(eng)
    assert liq.outcome == "backstop" and liq.forfeited == approx(700)


def test_nothing_within_reach_above_the_backstop_waits_for_the_next_mark() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    bids(eng, (89_000, 5.0))  # below the bankruptcy price 90,000
    eng.set_mark("BTC", 91_100)  # equity 110, two thirds of maintenance 75.92: it waits
    assert eng.liquidations == [] and eng.position("BTC") is not None
    # Without a book the mark prices it, as before books: closed at 91,100, 110 back.
    eng.clear_book("BTC")
    eng.set_mark("BTC", 91_100)
    [liq] = liquidations(eng)
    assert (liq.outcome, liq.pricing, liq.fill_price) == ("market", "mark", 91_100)
    assert liq.returned == approx(110)


def test_a_stale_book_is_not_used_the_mark_prices_the_liquidation() -> None:
    clock = FakeClock()
    eng = make_engine(clock=clock)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    bids(eng, (91_000, 1.0))
    clock.now += 11  # older than the 10 s a book may be, and the mark moves on
    eng.set_mark("BTC", 91_100)
    [liq] = liquidations(eng)
    assert (liq.pricing, liq.fill_price, liq.returned) == ("stale", 91_100, approx(110))


def test_a_slice_walks_the_book_then_the_cooldown_takes_the_rest_through_the_next() -> None:
    clock = FakeClock()
    eng = make_engine(balance=50_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)  # margin 20,000, wallet 30,000
    bids(eng, (91_090, 0.2), (91_080, 1.0))
    eng.set_mark("BTC", 91_100)
    # Equity 2,200 <= 2,277.50 and 182,200 of notional: a slice of 0.4, 0.2 at 91,090 and 0.2
    # at 91,080 (91,085): realized -3,566, margin 16,434. Equity 16,434 - 14,240 = 2,194 (the
    # 6 the book cost) against maintenance 1,822: back above.
    [part] = liquidations(eng)
    assert (part.outcome, part.size, part.remaining_size) == ("partial", 0.4, approx(1.6))
    assert part.fill_price == approx(91_085) and part.realized_pnl == approx(-3_566)
    assert part.unfilled == 0 and part.execution_cost == approx(6)
    assert eng.position("BTC").margin == approx(16_434)  # type: ignore[union-attr]
    clock.now += 29  # in the cooldown: the whole position goes
    bids(eng, (90_790, 1.0), (90_780, 1.0))
    eng.set_mark("BTC", 90_800)
    # Equity 16,434 - 14,720 = 1,714 < 1,816: 1.0 at 90,790 and 0.6 at 90,780 (90,786.25):
    # realized 1.6 * -9,213.75 = -14,742; 1,692 goes back.
    full = eng.liquidations[-1]
    assert (full.outcome, full.size, full.remaining_size) == ("market", approx(1.6), 0)
    assert full.fill_price == approx(90_786.25) and full.returned == approx(1_692)
    assert eng.account.wallet_balance == approx(31_692)


def test_a_short_buys_from_the_asks() -> None:
    eng = make_engine()
    eng.open("BTC", SHORT, 0.1, 10, ISO)  # liquidation 110,000 / 1.0125 = 108,641.98
    eng.set_book("BTC", bids=[], asks=[(108_710, 0.1)])
    eng.set_mark("BTC", 108_700)
    # Equity 1,000 - 870 = 130 <= maintenance 135.875: buy 0.1 at 108,710 (no higher than
    # 108,700 + 130 / 0.1 = 110,000): realized -871, 129 back.
    [liq] = liquidations(eng)
    assert liq.fill_price == 108_710 and liq.returned == approx(129)
    assert liq.execution_cost == approx(1)


def test_cross_closes_through_the_book_and_keeps_what_is_left() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.5, 10, CROSS)  # liquidation 81,012.66
    bids(eng, (80_990, 0.3), (80_980, 0.3))
    eng.set_mark("BTC", 81_000)
    # V = 500 <= R = 506.25: sell 0.5, 0.3 at 80,990 and 0.2 at 80,980 (80,986), no lower
    # than 81,000 - 500 / 0.5 = 80,000: realized -9,507, W = 493.
    [liq] = liquidations(eng)
    assert (liq.outcome, liq.mode, liq.fill_price) == ("market", CROSS, approx(80_986))
    assert liq.returned == approx(493) and eng.account.wallet_balance == approx(493)
    assert liq.margin == approx(500) and liq.liquidation_price == approx(80_000 / 0.9875)


def test_cross_rest_waits_then_the_next_book_closes_it() -> None:
    eng = make_engine(balance=20_000)
    eng.open("BTC", LONG, 1, 10, CROSS)  # liquidation 80,000 / 0.9875 = 81,012.66
    assert liq_price(eng, "BTC") == approx(80_000 / 0.9875)
    bids(eng, (80_940, 0.02))
    eng.set_mark("BTC", 80_950)
    # V = 950 <= R = 1,011.875 (two thirds 674.58). 0.02 at 80,940: realized -381.20, W =
    # 19,618.80; the 0.98 left: V = 19,618.80 - 18,669 = 949.80 < R = 991.64: it waits.
    [first] = liquidations(eng)
    assert (first.outcome, first.size, first.remaining_size) == ("market", 0.02, approx(0.98))
    assert eng.account.wallet_balance == approx(19_618.8)
    assert eng.account.cross_account_value == approx(949.8)
    bids(eng, (80_940, 2.0))  # a new book: 0.98 at 80,940, realized -18,678.80, W = 940
    last = eng.liquidations[-1]
    assert (last.size, last.remaining_size, last.returned) == (approx(0.98), 0, approx(940))
    assert eng.account.wallet_balance == approx(940) and eng.positions() == []


def test_binance_forfeits_at_the_mark_with_a_book() -> None:
    eng = make_engine(venue=Venue.BINANCE)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    bids(eng, (91_090, 1.0))
    eng.set_mark("BTC", 91_100)
    [liq] = liquidations(eng)
    assert (liq.outcome, liq.pricing, liq.fill_price) == ("forfeit", "mark", 91_100)
    assert liq.margin_lost == 1_000 and eng.account.wallet_balance == approx(9_000)
