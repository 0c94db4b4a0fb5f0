"""The trade ticket's figures (tui/ticket.py), hand-worked: a `$` size fixed on the market's
step, the cost of a fill and of a round trip at today's book (the book of docs/rules.md,
"Fills against the book"), an add on other terms, and the same order under both venues."""

from __future__ import annotations

import pytest

from tui.engine import (
    MarginMode,
    Market,
    OrderType,
    PaperEngine,
    Side,
    Venue,
    venue_markets,
)
from tui.ticket import (
    OrderTicket,
    add_difference,
    compare_venues,
    engine_under,
    execution,
    liquidation_text,
    order_line,
    preview_on,
    size_note,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
BIDS = [(99_990.0, 1.0), (99_980.0, 2.5)]
ASKS = [(100_010.0, 1.0), (100_020.0, 2.5)]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def book_engine(fees: bool = True, clock: Clock | None = None) -> PaperEngine:
    """The rules' book example: balance 100,000, BTC mark 100,000, the book above."""
    btc = Market(
        "BTC", max_leverage=40, taker_fee=0.00045 if fees else 0, maker_fee=0.00015 if fees else 0
    )
    eng = PaperEngine(balance=100_000, markets=[btc], clock=clock or Clock())
    eng.set_mark("BTC", 100_000)
    eng.set_book("BTC", BIDS, ASKS)
    return eng


# --------------------------------------------------------------------------- size


def test_a_usd_amount_is_fixed_in_coins_on_the_size_step_at_the_mark() -> None:
    eth = Market("ETH", max_leverage=25, size_step=0.0001)
    ticket = OrderTicket("ETH", SHORT, usd=2_000, leverage=10)
    fixed = ticket.fixed(eth, 3_498.25)
    # 2,000 / 3,498.25 = 0.571714...: 0.5717 on a 0.0001 step, whatever the mark does next.
    assert fixed.size == 0.5717 and fixed.sized_at == 3_498.25 and fixed.usd == 2_000
    assert fixed.fixed(eth, 3_600) == fixed  # fixed once: a later mark changes nothing
    assert eth.round_size(fixed.size) == fixed.size  # the engine fills exactly this


def test_a_priced_order_is_sized_at_its_own_price() -> None:
    btc = Market("BTC", max_leverage=40, size_step=0.001)
    limit = OrderTicket("BTC", LONG, usd=9_500, order_type=OrderType.LIMIT, price=95_000)
    assert limit.fixed(btc, 100_000).size == 0.1  # 9,500 / 95,000, not / 100,000
    stop = OrderTicket(
        "BTC", SHORT, usd=900, order_type=OrderType.STOP_MARKET, trigger_price=90_000
    )
    assert stop.fixed(btc, 100_000).size == 0.01


def test_a_coin_size_is_kept_as_written_and_no_price_sizes_nothing() -> None:
    btc = Market("BTC", max_leverage=40, size_step=0.001)
    coins = OrderTicket("BTC", LONG, size=0.0015)
    assert coins.fixed(btc, 100_000) is coins  # the engine rounds it; the preview says so
    usd = OrderTicket("BTC", LONG, usd=100)
    assert usd.fixed(btc, None) is usd and usd.fixed(btc, 0.0) is usd
    tiny = OrderTicket("BTC", LONG, usd=10).fixed(btc, 100_000)  # 0.0001: below half a step
    assert tiny.size == pytest.approx(0.0001)  # left unrounded: the engine says why


def test_the_size_note_says_a_fixed_or_rounded_size() -> None:
    btc = Market("BTC", max_leverage=40, size_step=0.001)
    eng = PaperEngine(balance=10_000, markets=[btc])
    eng.set_mark("BTC", 100_000)
    up = OrderTicket("BTC", LONG, size=0.0015, leverage=10)
    p = preview_on(eng, up, ISO)
    assert p.size == 0.002 and p.requested_size == 0.0015
    assert size_note(up, p, btc) == (
        "Size rounded up from 0.0015 to 0.002 BTC (BTC trades in steps of 0.001)."
    )
    down = OrderTicket("BTC", LONG, size=0.0214, leverage=10)
    assert "rounded down from 0.0214 to 0.021" in (
        size_note(down, preview_on(eng, down, ISO), btc) or ""
    )
    usd = OrderTicket("BTC", LONG, usd=2_000, leverage=10).fixed(btc, 100_000)
    note = size_note(usd, preview_on(eng, usd, ISO), btc)
    assert note is not None and note.startswith("$2,000.00 at 100,000.0 is 0.02 BTC")
    exact = OrderTicket("BTC", LONG, size=0.02, leverage=10)
    assert size_note(exact, preview_on(eng, exact, ISO), btc) is None


def test_below_the_minimum_order_the_preview_says_the_smallest_size() -> None:
    btc = Market("BTC", max_leverage=40, size_step=0.001)
    eng = PaperEngine(balance=10_000, markets=[btc])  # Hyperliquid: 10 of notional at least
    eng.set_mark("BTC", 2_000)
    p = preview_on(eng, OrderTicket("BTC", LONG, size=0.003, leverage=10), ISO)
    assert p.rejection is not None
    assert "worth 10.00; this one is worth 6.00. Order at least 0.005 BTC" in p.rejection


# --------------------------------------------------------------------------- execution


def test_the_cost_of_a_fill_and_of_a_round_trip_at_todays_book() -> None:
    eng = book_engine()
    t = OrderTicket("BTC", LONG, size=1.5, leverage=10)
    p = preview_on(eng, t, ISO)
    e = execution(eng, p, t)
    assert e is not None and e.pricing == "book" and e.how == "at today's order book"
    assert e.fill_price == approx(150_020 / 1.5)  # 100,013.33
    assert e.slippage * 10_000 == pytest.approx(1.3333333, rel=1e-6)  # bp
    assert (e.spread, e.impact, e.cost) == (approx(15), approx(5), approx(20))
    assert e.fee == approx(150_020 * 0.00045)  # 67.509
    # Out again at once: sell 1.5 into the bids, 99,986.67 on average: spread 15, impact 5,
    # fee 149,980 * 0.045 % = 67.491. In and out: 40 + 135 of fees.
    assert e.exit_cost == approx(15 + 5 + 149_980 * 0.00045)
    assert e.round_trip == approx(175)
    assert not e.part_fill


def test_a_market_order_larger_than_the_depth_within_the_limit_says_what_fills() -> None:
    eng = book_engine(fees=False)
    eng.set_execution(slippage_limit=0.00015)  # a buy may pay up to 100,015: only 1.0 is there
    t = OrderTicket("BTC", LONG, size=1.5, leverage=10)
    p = preview_on(eng, t, ISO)
    e = execution(eng, p, t)
    assert e is not None and e.part_fill and e.filled == approx(1.0) and e.size == approx(1.5)
    assert any("Only 1 of 1.5 BTC would fill" in w for w in p.warnings)


def test_without_a_book_or_with_a_stale_one_the_fill_is_at_the_mark_and_says_so() -> None:
    clock = Clock()
    eng = book_engine(fees=False, clock=clock)
    eng.clear_book("BTC")
    t = OrderTicket("BTC", LONG, size=0.5, leverage=10)
    e = execution(eng, preview_on(eng, t, ISO), t)
    assert e is not None and e.pricing == "mark" and e.how == "no order book: at the mark"
    assert e.cost == 0 and e.round_trip == 0  # frictionless: at the mark, no fees
    eng.set_book("BTC", BIDS, ASKS)
    clock.now += 60
    eng.set_mark("BTC", 100_001)  # the mark moved on; the book is a minute old
    p = preview_on(eng, t, ISO)
    e = execution(eng, p, t)
    assert e is not None and e.pricing == "stale" and "stale" in e.how
    assert any("priced at the mark instead" in w for w in p.warnings)


def test_a_resting_limit_costs_only_its_maker_fee_to_fill() -> None:
    eng = book_engine()
    t = OrderTicket("BTC", LONG, size=0.1, leverage=10, order_type=OrderType.LIMIT, price=95_000)
    p = preview_on(eng, t, ISO)
    e = execution(eng, p, t)
    assert p.rests and e is not None and e.pricing == "limit" and e.cost == 0
    assert e.fee == approx(9_500 * 0.00015)  # 1.425
    assert "as a maker" in e.how
    line = order_line(t, p)
    assert line.startswith("Limit at 95,000.0: rests until the market comes down to 95,000.0")
    assert "holding 950.00 of margin" in line


def test_a_refused_order_has_no_execution() -> None:
    eng = book_engine()
    t = OrderTicket("BTC", LONG, size=3, leverage=1)  # 300,000 of margin on 100,000
    p = preview_on(eng, t, ISO)
    assert p.rejection is not None and execution(eng, p, t) is None


def test_order_lines_say_which_way_a_trigger_fires() -> None:
    eng = book_engine(fees=False)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    stop = OrderTicket(
        "BTC",
        SHORT,
        size=0.1,
        order_type=OrderType.STOP_MARKET,
        trigger_price=95_000,
        reduce_only=True,
    )
    line = order_line(stop, preview_on(eng, stop, ISO))
    assert line.startswith("Stop market at 95,000.0: when the mark falls to 95,000.0")
    assert "Reduce-only" in line
    take = OrderTicket(
        "BTC",
        SHORT,
        size=0.1,
        order_type=OrderType.TAKE_PROFIT_MARKET,
        trigger_price=110_000,
        reduce_only=True,
    )
    assert "when the mark rises to 110,000.0" in order_line(take, preview_on(eng, take, ISO))


def test_a_resting_orders_liquidation_is_measured_from_its_own_price() -> None:
    eng = book_engine(fees=False)
    t = OrderTicket("BTC", LONG, size=0.1, leverage=10, order_type=OrderType.LIMIT, price=95_000)
    p = preview_on(eng, t, ISO)
    assert p.liquidation_price is not None
    assert liquidation_text(p, t).endswith("below its price 95,000.0)")
    m = OrderTicket("BTC", LONG, size=0.1, leverage=10)
    assert liquidation_text(preview_on(eng, m, ISO), m).endswith("below the mark)")


# --------------------------------------------------------------------------- adds


def test_an_add_on_other_terms_is_said_in_words() -> None:
    eng = book_engine(fees=False)
    eng.clear_book("BTC")
    eng.open("BTC", LONG, 0.05, 10, ISO)
    same = OrderTicket("BTC", LONG, size=0.05, leverage=10)
    assert add_difference(same, preview_on(eng, same, ISO), eng) is None
    other = OrderTicket("BTC", LONG, size=0.05, leverage=20, mode=CROSS)
    text = add_difference(other, preview_on(eng, other, ISO), eng)
    assert text == (
        "You asked for 20x Cross, but your BTC long is 10x Isolated, and an add takes the "
        "position's leverage and mode: this adds 0.05 BTC at 10x Isolated. To trade at 20x "
        "Cross, close the position first (or use L to change its leverage)."
    )
    reduce = OrderTicket("BTC", SHORT, size=0.02, leverage=20)
    assert add_difference(reduce, preview_on(eng, reduce, ISO), eng) is None


# --------------------------------------------------------------------------- two venues


def test_the_other_venue_column_is_what_a_binance_account_would_say() -> None:
    eng = PaperEngine(balance=10_000, venue=Venue.HYPERLIQUID)
    eng.set_mark("BTC", 100_000)
    t = OrderTicket("BTC", LONG, size=0.1, leverage=10)
    c = compare_venues(eng, t, ISO)
    assert (c.here, c.there, c.problem) == (Venue.HYPERLIQUID, Venue.BINANCE, None)
    native = PaperEngine(balance=10_000, venue=Venue.BINANCE)
    native.set_mark("BTC", 100_000)
    theirs = native.preview("BTC", LONG, 0.1, 10, ISO)
    rows = {r.label: r for r in c.rows}
    assert rows["Fee"].here == "4.50 (0.045 % taker)"  # 10,000 x 0.045 %
    assert rows["Fee"].there == "5.00 (0.05 % taker)" and rows["Fee"].differs
    assert rows["Initial margin"].here == rows["Initial margin"].there == "1,000.00"
    assert not rows["Initial margin"].differs
    assert rows["Maintenance"].there == f"{theirs.maintenance_margin:,.2f}"
    assert rows["Left if liquidated"].there == "0.00"  # Binance keeps it all
    assert rows["Max leverage"].there == f"{theirs.max_leverage:g}x"
    assert theirs.liquidation_price is not None
    assert rows["Liquidation"].there.startswith(f"{theirs.liquidation_price:,.1f}")


def test_the_copy_keeps_the_account_and_changes_nothing_here() -> None:
    eng = PaperEngine(balance=10_000)
    eng.set_mark("BTC", 100_000)
    eng.set_mark("HYPE", 40)
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    eng.open("HYPE", SHORT, 100, 5, CROSS)
    before = eng.to_state()
    other, kept = engine_under(eng, Venue.BINANCE)
    assert other.venue is Venue.BINANCE and kept == ["HYPE"]
    assert [p.market for p in other.positions()] == ["BTC", "HYPE"]
    assert other.account.wallet_balance == eng.account.wallet_balance
    c = compare_venues(eng, OrderTicket("BTC", LONG, size=0.1, leverage=10), CROSS)
    assert any("HYPE: not listed on Binance" in n for n in c.notes)
    assert eng.to_state() == before and eng.venue is Venue.HYPERLIQUID


def test_a_market_the_other_venue_does_not_list_is_not_compared() -> None:
    eng = PaperEngine(balance=10_000)
    eng.set_mark("HYPE", 40)
    c = compare_venues(eng, OrderTicket("HYPE", LONG, size=10, leverage=5), ISO)
    assert c.problem == "Binance does not list HYPE: there is nothing to compare." and not c.rows


def test_an_order_one_venue_refuses_says_which() -> None:
    eng = PaperEngine(balance=10_000, markets=venue_markets(Venue.HYPERLIQUID))
    eng.set_mark("BTC", 100_000)
    t = OrderTicket("BTC", LONG, size=0.01, leverage=50)  # Hyperliquid BTC: at most 40x
    c = compare_venues(eng, t, ISO)
    assert c.rejection_here is not None and "40x" in c.rejection_here
    assert c.rejection_there is None  # Binance allows 125x on a small BTC position
