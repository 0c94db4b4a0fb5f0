"""Hand-worked numbers where the venue rules meet the order rules (docs/rules.md, "Orders" and
the venue sections): maker fees, size steps and minimums of resting orders, tiered leverage at
placement and at fill, leverage changes with resting orders, partial liquidations.

Unless a test says otherwise: the engine of tests/engine/conftest.py (balance 10,000; BTC
100,000 at 40x, mmr 1.25 %; ETH 4,000; SOL 200; fees 0), or the venue's own markets.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import FakeClock, make_engine
from tui.engine import (
    Liquidation,
    MarginMode,
    OrderEvent,
    OrderRejected,
    OrderType,
    PaperEngine,
    Side,
    Venue,
)

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
LONG = Side.LONG
SHORT = Side.SHORT
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP_MARKET


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def venue_engine(venue: Venue, balance: float = 10_000) -> PaperEngine:
    """The venue's own markets (fee table, size steps, minimums), BTC 100,000, ETH 4,000."""
    eng = PaperEngine(balance=balance, venue=venue, clock=FakeClock())
    eng.set_mark("BTC", 100_000)
    eng.set_mark("ETH", 4_000)
    return eng


def records(eng: PaperEngine, action: str) -> list[OrderEvent]:
    return [e for e in eng.events if isinstance(e, OrderEvent) and e.action == action]


# ------------------------------------------------------------------ fees


@pytest.mark.parametrize(
    ("venue", "maker", "taker"),
    [(Venue.HYPERLIQUID, 1.425, 0.45), (Venue.BINANCE, 1.9, 0.5)],
)
def test_a_resting_limit_pays_the_venues_maker_fee_a_marketable_one_its_taker_fee(
    venue: Venue, maker: float, taker: float
) -> None:
    # HL maker 0.015 %, taker 0.045 %; BN maker 0.02 %, taker 0.05 % (base tiers).
    eng = venue_engine(venue)
    order = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert order.reserved_margin == approx(950)  # 0.1 * 95,000 / 10
    eng.set_mark("BTC", 94_000)
    fill = eng.fills[-1]
    assert (fill.price, fill.order_id) == (95_000, order.id)
    assert fill.fee == approx(maker)  # 9,500 * 0.015 % or 0.02 %
    assert eng.account.wallet_balance == approx(10_000 - 950 - maker)
    # A limit buy above the mark takes at once, at the mark, as a taker.
    eng.place_order("ETH", LONG, 0.25, LIMIT, price=4_100, leverage=10, mode=ISO)
    assert eng.fills[-1].price == 4_000
    assert eng.fills[-1].fee == approx(taker)  # 1,000 * 0.045 % or 0.05 %


# ------------------------------------------------------------------ size steps and minimums


def test_an_order_size_is_rounded_to_the_step_like_a_market_orders() -> None:
    eng = venue_engine(Venue.BINANCE)  # BTC step 0.001
    preview = eng.preview_order("BTC", LONG, 0.1234, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert (preview.size, preview.requested_size, preview.rounded) == (0.123, 0.1234, True)
    assert preview.reserved_margin == approx(0.123 * 95_000 / 10)  # 1,168.50
    assert eng.preview("BTC", LONG, 0.1234, 10, ISO).size == 0.123  # the same as at market
    order = eng.place_order("BTC", LONG, 0.1234, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert order.size == 0.123
    assert order.reserved_margin == approx(1_168.5)
    before = eng.to_state()
    with pytest.raises(OrderRejected, match=r"less than half of BTC's size step \(0.001 BTC\)"):
        eng.place_order("BTC", LONG, 0.0004, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert eng.to_state() == before


def test_a_resting_order_must_meet_the_minimum_at_its_price_reduce_only_exempt() -> None:
    eng = venue_engine(Venue.BINANCE)  # ETH: minimum 20, step 0.001
    before = eng.to_state()
    why = (
        "The smallest ETH order on Binance is worth 20.00; this one is worth 15.60. "
        "Order at least 0.006 ETH."  # 20 / 3,900 = 0.00513, up to the step
    )
    preview = eng.preview_order("ETH", LONG, 0.004, LIMIT, price=3_900, leverage=10, mode=ISO)
    assert preview.rejection == why
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("ETH", LONG, 0.004, LIMIT, price=3_900, leverage=10, mode=ISO)
    assert str(exc.value) == why
    assert eng.to_state() == before
    # Reduce-only is exempt: a 16.40 take on a 40.00 long rests and fills.
    eng.open("ETH", LONG, 0.01, 10, ISO)
    ro = eng.place_order("ETH", SHORT, 0.004, LIMIT, price=4_100, reduce_only=True)
    assert ro.is_open and ro.reserved_margin == 0
    eng.set_mark("ETH", 4_100)
    assert ro.status == "filled" and ro.filled_size == 0.004
    assert eng.position("ETH").size == approx(0.006)  # type: ignore[union-attr]


def test_hyperliquids_minimum_is_10_on_every_market() -> None:
    eng = venue_engine(Venue.HYPERLIQUID)  # BTC step 0.00001
    preview = eng.preview_order("BTC", LONG, 0.0001, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert preview.rejection == (
        "The smallest BTC order on Hyperliquid is worth 10.00; this one is worth 9.50. "
        "Order at least 0.00011 BTC."
    )


def test_a_stop_that_fills_a_little_below_the_minimum_after_a_gap_still_fills(
    eng: PaperEngine,
) -> None:
    # 0.000102 BTC at a trigger of 99,000 is worth 10.10 (minimum 10): placed. The mark gaps
    # to 95,000, where the fill is worth 9.69: the minimum was met when it was placed.
    stop = eng.place_order("BTC", SHORT, 0.000102, STOP, trigger_price=99_000, leverage=10)
    eng.set_mark("BTC", 95_000)
    assert stop.status == "filled" and stop.fill_price == 95_000
    assert eng.position("BTC").size == 0.000102  # type: ignore[union-attr]


# ------------------------------------------------------------------ tiered leverage


def test_an_order_whose_resulting_notional_forbids_its_leverage_is_refused_at_placement() -> None:
    # HL tiers on BTC: 40x to 10,000, 25x to 50,000, 10x to 100,000, then 5x.
    eng = make_engine(tiered=True)
    before = eng.to_state()
    why = (
        "BTC positions above 50,000.00 of notional allow at most 10x; this one would be "
        "57,000.00 at 20x, which allows up to 50,000.00 of notional. Lower the leverage to "
        "10x or the size."
    )  # 0.6 * 95,000 = 57,000, in the 10x tier
    assert (
        eng.preview_order("BTC", LONG, 0.6, LIMIT, price=95_000, leverage=20, mode=ISO).rejection
        == why
    )
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("BTC", LONG, 0.6, LIMIT, price=95_000, leverage=20, mode=ISO)
    assert str(exc.value) == why
    assert eng.to_state() == before
    order = eng.place_order("BTC", LONG, 0.6, LIMIT, price=95_000, leverage=10, mode=ISO)
    assert order.reserved_margin == approx(5_700)  # 57,000 / 10


def test_an_add_whose_tier_forbids_the_positions_leverage_at_fill_is_rejected() -> None:
    eng = make_engine(tiered=True)
    # Rests alone: 0.3 * 95,000 = 28,500 at 25x is allowed (the 25x tier); holds 1,140.
    order = eng.place_order("BTC", LONG, 0.3, LIMIT, price=95_000, leverage=25, mode=CROSS)
    eng.open("BTC", LONG, 0.3, 25, CROSS)  # 30,000 at 25x; the order now adds to it
    assert order.reserved_margin == approx(1_140)
    eng.set_mark("BTC", 95_000)  # the add would make 0.6 * 95,000 = 57,000 at 25x
    [rejected] = records(eng, "rejected")
    assert rejected.order_id == order.id
    assert rejected.reason.startswith("BTC positions above 50,000.00 of notional allow at most 10x")
    assert order.status == "cancelled" and eng.account.order_margin == 0
    assert eng.position("BTC").size == 0.3  # type: ignore[union-attr]


# ------------------------------------------------------------------ set_leverage


def test_set_leverage_moves_resting_adds_reservations_and_tp_sl_with_it(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)  # M 1,000, W 9,000
    add = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000)  # the position's 10x: 950
    tp, sl = eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=92_000)
    assert eng.account.available == approx(8_050)
    preview = eng.leverage_preview("BTC", 5)
    assert preview.top_up == approx(1_000)  # 0.1 * 100,000 / 5 = 2,000 needs 1,000 more
    assert preview.available_after == approx(8_050 - 1_000 - 950)  # the add now holds 1,900
    eng.set_leverage("BTC", 5)
    assert add.reserved_margin == approx(1_900)  # 0.1 * 95,000 / 5
    assert (tp.leverage, sl.leverage) == (5, 5)
    assert eng.account.wallet_balance == approx(8_000)
    assert eng.account.available == approx(6_100)
    eng.set_leverage("BTC", 20)  # the margin stays; the add holds 475
    assert add.reserved_margin == approx(475)
    assert eng.account.available == approx(8_000 - 475)


def test_set_leverage_is_refused_when_resting_adds_could_not_be_held() -> None:
    eng = make_engine(balance=3_000)
    eng.open("BTC", LONG, 0.1, 10, ISO)  # W 2,000
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000)  # holds 950: available 1,050
    before = eng.to_state()
    why = (
        "Not enough margin: at 5x your resting BTC orders that add to the position hold back "
        "950.00 more, and 50.00 is available. Cancel some of them, or choose a higher leverage."
    )  # the 1,000 top-up leaves 50; the add would hold 1,900 instead of 950
    assert eng.leverage_preview("BTC", 5).rejection == why
    with pytest.raises(OrderRejected) as exc:
        eng.set_leverage("BTC", 5)
    assert str(exc.value) == why
    assert eng.to_state() == before


# ------------------------------------------------------------------ partial liquidations


def test_a_partial_liquidation_cancels_the_markets_orders_at_the_first_slice() -> None:
    clock = FakeClock()
    eng = make_engine(balance=50_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)  # M 20,000; liq (100,000 - 10,000) / 0.9875 = 91,139.24
    tp, sl = eng.set_tp_sl("BTC", take_profit=120_000, stop_loss=91_000)
    ro = eng.place_order("BTC", SHORT, 1, LIMIT, price=110_000, reduce_only=True)
    add = eng.place_order("BTC", LONG, 0.5, LIMIT, price=92_000)  # the tick reaches it too
    other = eng.place_order("ETH", LONG, 1, LIMIT, price=3_000, leverage=10, mode=ISO)
    n = len(eng.events)
    eng.set_mark("BTC", 91_100)  # notional 182,200 > 100,000: a 20 % slice
    new = eng.events[n:]
    cancelled = [e for e in new if isinstance(e, OrderEvent)]
    assert sorted(e.order_id for e in cancelled) == sorted(o.id for o in (tp, sl, ro, add))
    assert all(e.action == "cancelled" and e.reason == "position liquidated" for e in cancelled)
    [liq] = [e for e in new if isinstance(e, Liquidation)]
    assert new.index(liq) > max(new.index(e) for e in cancelled)  # cancellations first
    assert (liq.outcome, liq.size, liq.remaining_size) == ("partial", 0.4, 1.6)
    assert liq.realized_pnl == approx(-3_560)  # 0.4 * (91,100 - 100,000)
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(1.6) and pos.margin == approx(16_440)
    assert other.is_open and eng.account.order_margin == approx(300)  # ETH untouched
    # Orders placed during the cooldown act on what is left, and follow it.
    [tp2] = eng.set_tp_sl("BTC", take_profit=120_000)
    assert tp2.size == approx(1.6)
    eng.close("BTC", 0.6)
    assert tp2.size == approx(1.0)
    sell = eng.place_order("BTC", SHORT, 0.5, LIMIT, price=95_000, reduce_only=True)
    eng.set_mark("BTC", 95_000)
    assert sell.status == "filled" and tp2.size == approx(0.5)
    # The rest, 0.5 * 90,800 = 45,400 of notional (not above 100,000), closes whole at market
    # (equity 5,137.50 - 4,600 = 537.50, above 2/3 of its maintenance 567.50); its TP goes
    # first.
    clock.now += 31
    eng.set_mark("BTC", 90_800)
    assert tp2.status == "cancelled" and tp2.reason == "position liquidated"
    assert eng.liquidations[-1].outcome == "market" and eng.position("BTC") is None


def test_a_cross_partial_liquidation_cancels_every_cross_markets_orders() -> None:
    eng = make_engine(balance=50_000)
    eng.open("BTC", LONG, 2, 10, CROSS)
    eng.open("SOL", LONG, 10, 5, CROSS)  # notional 2,000, MM 50
    [btc_tp] = eng.set_tp_sl("BTC", take_profit=120_000)
    [sol_tp] = eng.set_tp_sl("SOL", take_profit=250)
    eth = eng.place_order("ETH", LONG, 1, LIMIT, price=3_000, leverage=10, mode=CROSS)
    # BTC liq: C = 50,000 - 50 = 49,950, (100,000 - 24,975) / 0.9875 = 75,974.68.
    eng.set_mark("BTC", 75_900)
    assert btc_tp.status == "cancelled" and sol_tp.status == "cancelled"
    assert eth.is_open  # no ETH position: not a liquidated market
    outcomes = {x.market: (x.outcome, x.size) for x in eng.liquidations}
    assert outcomes == {"BTC": ("partial", 0.4), "SOL": ("market", 10)}
    assert eng.position("BTC").size == approx(1.6)  # type: ignore[union-attr]
    assert eng.account.wallet_balance == approx(50_000 - 0.4 * 24_100)
