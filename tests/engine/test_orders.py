"""Hand-worked numbers for every order rule of docs/rules.md, "Orders" (fees 0 unless stated).

The engine of tests/engine/conftest.py: balance 10,000; BTC 100,000 (40x, mmr 1.25 %),
ETH 4,000 (25x, mmr 2 %), SOL 200 (20x, mmr 2.5 %).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from tests.engine.conftest import make_engine, status
from tui.engine import (
    Event,
    Fill,
    InvalidInput,
    Liquidation,
    MarginMode,
    Market,
    Order,
    OrderEvent,
    OrderRejected,
    OrderType,
    PaperEngine,
    Side,
)

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
LONG = Side.LONG
SHORT = Side.SHORT
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP_MARKET
TP = OrderType.TAKE_PROFIT_MARKET
MARKET = OrderType.MARKET


def approx(x: float) -> Any:
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def order_events(eng: PaperEngine, action: str | None = None) -> list[OrderEvent]:
    found = [e for e in eng.events if isinstance(e, OrderEvent)]
    return [e for e in found if action is None or e.action == action]


def kinds(events: list[Event]) -> list[str]:
    """Each record as a short word: fill:open, order:placed, liquidation, ..."""
    out = []
    for e in events:
        if isinstance(e, Fill):
            out.append(f"fill:{e.kind}")
        elif isinstance(e, OrderEvent):
            out.append(f"{e.action}:{e.order_id}")
        elif isinstance(e, Liquidation):
            out.append("liquidation")
        else:
            out.append(type(e).__name__)
    return out


def unchanged(eng: PaperEngine) -> tuple[Any, int]:
    return eng.to_state(), len(eng.events)


# --------------------------------------------------------------------------- the issue's API


def test_the_api_of_the_issue(eng: PaperEngine) -> None:
    o = eng.place_order(
        "BTC",
        Side.LONG,
        size=0.1,
        order_type=OrderType.LIMIT,
        price=95_000,
        leverage=10,
        mode=MarginMode.ISOLATED,
        reduce_only=False,
        post_only=False,
        take_profit=None,
        stop_loss=None,
    )
    assert isinstance(o, Order)
    assert (o.id, o.market, o.side, o.size, o.order_type, o.price, o.trigger_price) == (
        1,
        "BTC",
        LONG,
        0.1,
        LIMIT,
        95_000,
        None,
    )
    assert (o.leverage, o.mode, o.reduce_only, o.post_only, o.status, o.filled_size) == (
        10,
        ISO,
        False,
        False,
        "open",
        0.0,
    )
    m = eng.place_order("BTC", Side.LONG, size=0.1, order_type=OrderType.MARKET, leverage=10)
    assert m.status == "filled" and m.filled_size == 0.1 and m.id == 2
    s = eng.place_order(
        "BTC", Side.SHORT, size=0.1, order_type=OrderType.STOP_MARKET, trigger_price=90_000,
        reduce_only=True,
    )  # fmt: skip
    t = eng.place_order(
        "BTC", Side.SHORT, size=0.1, order_type=OrderType.TAKE_PROFIT_MARKET,
        trigger_price=110_000, reduce_only=True,
    )  # fmt: skip
    assert eng.open_orders() == [o, s, t]  # oldest first
    assert eng.open_orders("BTC") == [o, s, t] and eng.open_orders("ETH") == []
    assert eng.cancel_order(o.id) is o and o.status == "cancelled"
    with pytest.raises(OrderRejected, match="not open"):
        eng.cancel_order(o.id)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=92_000)
    tp, sl = eng.tp_sl("BTC")
    assert tp is not None and sl is not None
    preview = eng.preview_order("BTC", Side.LONG, 0.1, OrderType.LIMIT, price=95_000, leverage=10)
    assert preview.ok and preview.warnings == []


def test_a_market_order_is_the_same_as_open() -> None:
    a, b = make_engine(fees=True), make_engine(fees=True)
    fill = a.open("ETH", SHORT, 2, 5, CROSS)
    order = b.place_order("ETH", SHORT, 2, MARKET, leverage=5, mode=CROSS)
    assert order.status == "filled" and order.fill_price == fill.price
    assert a.position("ETH") == b.position("ETH")
    assert a.account == b.account
    [b_fill] = b.fills
    assert dataclasses.replace(b_fill, order_id=None) == fill and b_fill.order_id == order.id


def test_orders_cannot_be_changed_by_the_caller(eng: PaperEngine) -> None:
    o = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.price = 1.0  # type: ignore[misc]
    seen, before = {o}, hash(o)
    eng.cancel_order(o.id)  # the engine changes it in place: it stays findable in a set
    assert o.status == "cancelled" and hash(o) == before and o in seen


# --------------------------------------------------------------------------- rule 2: limits


def test_a_marketable_limit_fills_at_once_as_a_taker_at_the_mark() -> None:
    eng = make_engine(fees=True)
    o = eng.place_order("BTC", LONG, 0.1, LIMIT, price=100_500, leverage=10)
    assert o.status == "filled" and o.fill_price == 100_000
    [fill] = eng.fills
    assert fill.price == 100_000 and fill.fee == approx(0.1 * 100_000 * 0.00045)  # 4.50
    assert fill.order_id == o.id
    assert [e.action for e in order_events(eng)] == ["filled"]  # it never rested
    assert eng.open_orders() == []


def test_a_marketable_limit_never_fills_worse_than_its_price() -> None:
    markets = [Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0, slippage=0.01)]
    eng = PaperEngine(balance=10_000, markets=markets)
    eng.set_mark("BTC", 100_000)
    # a market buy would pay 101,000 (1 % slippage); the limit caps it at 100,500
    o = eng.place_order("BTC", LONG, 0.01, LIMIT, price=100_500, leverage=10)
    assert o.fill_price == 100_500
    o = eng.place_order("BTC", LONG, 0.01, LIMIT, price=102_000, leverage=10)
    assert o.fill_price == 101_000


def test_a_post_only_limit_that_would_take_is_refused(eng: PaperEngine) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="would take liquidity"):
        eng.place_order("BTC", LONG, 0.1, LIMIT, price=100_000, leverage=10, post_only=True)
    with pytest.raises(OrderRejected, match="would take liquidity"):
        eng.place_order("BTC", SHORT, 0.1, LIMIT, price=99_000, leverage=10, post_only=True)
    assert unchanged(eng) == before
    rests = eng.place_order("BTC", LONG, 0.1, LIMIT, price=99_999, leverage=10, post_only=True)
    assert rests.status == "open"


def test_a_resting_limit_buy_fills_whole_at_its_own_price_with_the_maker_fee() -> None:
    eng = make_engine(fees=True)
    o = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    eng.set_mark("BTC", 95_001)
    assert o.status == "open" and eng.fills == []
    eng.set_mark("BTC", 94_000)  # gapped through: still its own price
    assert status(o) == "filled" and o.filled_size == 0.1 and o.fill_price == 95_000
    [fill] = eng.fills
    assert fill.price == 95_000 and fill.fee == approx(0.1 * 95_000 * 0.00015)  # 1.425
    pos = eng.position("BTC")
    assert pos is not None and pos.entry_price == 95_000 and pos.size == 0.1
    assert pos.margin == approx(950)  # 0.1 * 95,000 / 10
    assert eng.account.wallet_balance == approx(10_000 - 950 - 1.425)
    assert pos.unrealized_pnl == approx(-100)  # bought at 95,000, marked at 94,000


def test_a_resting_limit_sell_fills_when_the_mark_reaches_its_price(eng: PaperEngine) -> None:
    o = eng.place_order("ETH", SHORT, 2, LIMIT, price=4_200, leverage=5)
    eng.set_mark("ETH", 4_199.99)
    assert o.status == "open"
    eng.set_mark("ETH", 4_200)  # at its price: fills
    assert status(o) == "filled" and o.fill_price == 4_200
    pos = eng.position("ETH")
    assert pos is not None and pos.side is SHORT and pos.entry_price == 4_200
    assert pos.margin == approx(2 * 4_200 / 5)  # 1,680


# --------------------------------------------------------------------------- rule 3: triggers


@pytest.mark.parametrize(
    ("otype", "side", "trigger", "quiet", "fires"),
    [
        (STOP, SHORT, 98_000, 98_000.01, 98_000),  # stop sell: at or below
        (STOP, LONG, 102_000, 101_999.99, 102_000),  # stop buy: at or above
        (TP, SHORT, 102_000, 101_999.99, 102_000),  # take-profit sell: at or above
        (TP, LONG, 98_000, 98_000.01, 98_000),  # take-profit buy: at or below
    ],
)
def test_triggers_fire_when_the_mark_reaches_them_and_fill_as_takers_at_that_mark(
    otype: OrderType, side: Side, trigger: float, quiet: float, fires: float
) -> None:
    eng = make_engine(fees=True)
    o = eng.place_order("BTC", side, 0.1, otype, trigger_price=trigger, leverage=5)
    assert o.reserved_margin == approx(0.1 * trigger / 5)  # 1,960 or 2,040
    eng.set_mark("BTC", quiet)
    assert o.status == "open" and eng.fills == []
    eng.set_mark("BTC", fires)
    assert status(o) == "filled" and o.fill_price == fires
    [fill] = eng.fills
    assert fill.fee == approx(0.1 * fires * 0.00045)  # the taker fee
    assert [e.action for e in order_events(eng)] == ["placed", "triggered", "filled"]
    pos = eng.position("BTC")
    assert pos is not None and pos.side is side and pos.entry_price == fires


def test_a_trigger_fills_at_the_mark_that_set_it_off_even_through_a_gap(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    o = eng.place_order("BTC", SHORT, 0.1, STOP, trigger_price=98_000, reduce_only=True)
    eng.set_mark("BTC", 97_000)
    assert o.fill_price == 97_000
    [_, close] = eng.fills
    assert close.realized_pnl == approx(0.1 * (97_000 - 100_000))  # -300


def test_a_triggered_order_takes_the_markets_slippage() -> None:
    markets = [Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0, slippage=0.001)]
    eng = PaperEngine(balance=10_000, markets=markets)
    eng.set_mark("BTC", 100_000)
    o = eng.place_order("BTC", LONG, 0.01, STOP, trigger_price=101_000, leverage=10)
    eng.set_mark("BTC", 101_000)
    assert o.fill_price == approx(101_000 * 1.001)  # a market buy at that mark


@pytest.mark.parametrize(
    ("otype", "side", "trigger", "hint"),
    [
        (STOP, SHORT, 100_000, "below"),  # a stop sell at or above the mark
        (STOP, SHORT, 101_000, "below"),
        (STOP, LONG, 100_000, "above"),  # a stop buy at or below the mark
        (STOP, LONG, 99_000, "above"),
        (TP, SHORT, 99_000, "above"),  # a take-profit sell at or below the mark
        (TP, LONG, 100_000, "below"),  # a take-profit buy at or above the mark
    ],
)
def test_a_trigger_the_mark_would_fire_at_once_is_refused(
    eng: PaperEngine, otype: OrderType, side: Side, trigger: float, hint: str
) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="would fire at once") as info:
        eng.place_order("BTC", side, 0.1, otype, trigger_price=trigger, leverage=10)
    assert f"Put its trigger {hint} the mark" in str(info.value)
    assert unchanged(eng) == before


# --------------------------------------------------------------------------- rule 4: margin


def test_a_resting_order_reserves_its_initial_margin_and_gives_it_back(eng: PaperEngine) -> None:
    o = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    assert o.reserved_margin == approx(950)  # 0.1 * 95,000 / 10, at its own price
    a = eng.account
    assert a.available == approx(9_050) and a.order_margin == approx(950)
    assert a.wallet_balance == 10_000 and a.equity == 10_000  # nothing is spent
    eng.cancel_order(o.id)
    assert eng.account.available == approx(10_000) and eng.account.order_margin == 0
    assert o.reserved_margin == 0


def test_a_fill_turns_the_reservation_into_the_positions_margin(eng: PaperEngine) -> None:
    eng.place_order("ETH", SHORT, 2, STOP, trigger_price=3_200, leverage=5, mode=CROSS)
    assert eng.account.available == approx(10_000 - 2 * 3_200 / 5)  # 1,280 held back
    eng.set_mark("ETH", 3_200)
    a = eng.account
    assert a.order_margin == 0
    assert a.cross_margin_used == approx(1_280)  # the cross position's q * P / L
    assert a.available == approx(10_000 - 1_280)


def test_an_order_the_account_cannot_margin_is_refused(eng: PaperEngine) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="Not enough margin"):  # needs 19,000
        eng.place_order("BTC", LONG, 1, LIMIT, price=95_000, leverage=5)
    assert unchanged(eng) == before
    eng.place_order("BTC", LONG, 1, LIMIT, price=95_000, leverage=10)  # 9,500 held back
    with pytest.raises(OrderRejected, match="Not enough margin"):  # 500 left
        eng.place_order("ETH", LONG, 1, LIMIT, price=3_000, leverage=5)  # needs 600
    with pytest.raises(OrderRejected, match="Not enough margin"):  # a market order sees it too
        eng.open("SOL", LONG, 10, 2, ISO)  # needs 1,000
    eng.open("SOL", LONG, 4, 2, ISO)  # needs 400: fits


def test_only_the_opening_part_is_reserved_and_it_follows_the_position(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    o = eng.place_order("BTC", SHORT, 0.3, LIMIT, price=105_000, leverage=10)
    assert o.reserved_margin == approx(0.2 * 105_000 / 10)  # 0.1 closes the long, 0.2 opens
    add = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=20)
    assert add.reserved_margin == approx(0.1 * 95_000 / 10)  # an add keeps the position's 10x
    eng.close("BTC")
    assert o.reserved_margin == approx(0.3 * 105_000 / 10)  # now all of it opens
    assert add.reserved_margin == approx(0.1 * 95_000 / 20)  # and this one opens at its own 20x
    assert eng.account.order_margin == approx(3_150 + 475)


def test_an_add_the_position_could_not_survive_says_why(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)  # liquidated at 91,139.24
    before = unchanged(eng)
    # at 90,000 even with the add's margin (0.11 BTC, entry 99,090.91, margin 1,090) the long
    # is liquidated at 90,309.78: refused, saying the position goes first
    with pytest.raises(OrderRejected, match=r"liquidated at 91,139\.2, before the mark"):
        eng.place_order("BTC", LONG, 0.01, LIMIT, price=90_000, leverage=10)
    assert unchanged(eng) == before
    # at 91,000 the add's margin would carry it (liquidation 90,393.21): it may rest, and a
    # trader who adds margin before then sees it fill
    eng.place_order("BTC", LONG, 0.01, LIMIT, price=91_000, leverage=10)


def test_a_limit_add_keeps_the_positions_leverage(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=20)
    eng.set_mark("BTC", 95_000)
    pos = eng.position("BTC")
    assert pos is not None and pos.leverage == 10 and pos.size == approx(0.2)
    assert pos.margin == approx(1_000 + 950)
    assert pos.entry_price == approx(97_500)


# --------------------------------------------------------------------------- rule 5: reduce-only


def test_reduce_only_needs_a_position_to_reduce_on_the_other_side(eng: PaperEngine) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="no open BTC position"):
        eng.place_order("BTC", SHORT, 0.1, LIMIT, price=105_000, reduce_only=True)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="would add to your BTC long"):
        eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, reduce_only=True)
    with pytest.raises(OrderRejected, match="not to a reduce-only order"):
        eng.place_order(
            "BTC", SHORT, 0.1, LIMIT, price=105_000, reduce_only=True, take_profit=110_000
        )
    assert unchanged(eng) == before


def test_reduce_only_reserves_nothing_and_is_cut_to_the_position(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    o = eng.place_order("BTC", SHORT, 0.3, LIMIT, price=105_000, reduce_only=True)
    assert o.reserved_margin == 0 and eng.account.order_margin == 0
    assert o.leverage == 10 and o.mode is ISO  # the position's
    eng.set_mark("BTC", 105_000)
    assert o.status == "filled" and o.filled_size == approx(0.1)  # cut: never flips
    assert eng.position("BTC") is None
    [_, close] = eng.fills
    assert close.kind == "close" and close.size == approx(0.1)
    assert close.realized_pnl == approx(0.1 * 5_000)


def test_a_reduce_only_market_order_is_cut_at_once(eng: PaperEngine) -> None:
    eng.open("ETH", SHORT, 2, 5, CROSS)
    o = eng.place_order("ETH", LONG, 5, MARKET, reduce_only=True)
    assert o.filled_size == 2 and eng.position("ETH") is None


def test_reduce_only_orders_go_when_the_position_closes_or_flips(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    a = eng.place_order("BTC", SHORT, 0.1, STOP, trigger_price=95_000, reduce_only=True)
    b = eng.place_order("BTC", SHORT, 0.1, LIMIT, price=105_000, reduce_only=True)
    keep = eng.place_order("BTC", LONG, 0.1, LIMIT, price=90_000, leverage=10)
    eng.close("BTC")
    assert (a.status, a.reason) == ("cancelled", "position closed")
    assert b.status == "cancelled" and keep.status == "open"
    eng.open("BTC", LONG, 0.1, 10, ISO)
    c = eng.place_order("BTC", SHORT, 0.1, STOP, trigger_price=95_000, reduce_only=True)
    eng.open("BTC", SHORT, 0.3, 10, ISO)  # flip to a short: a reduce-only sell would add
    assert (c.status, c.reason) == ("cancelled", "position flipped")
    assert keep.status == "open"  # an ordinary order stays; it now reduces the short


def test_a_reduce_only_order_with_nothing_left_is_cancelled_at_fill(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    first = eng.place_order("BTC", SHORT, 0.1, LIMIT, price=105_000, reduce_only=True)
    second = eng.place_order("BTC", SHORT, 0.1, LIMIT, price=106_000, reduce_only=True)
    eng.set_mark("BTC", 107_000)
    assert first.status == "filled"  # the nearest first
    assert second.status == "cancelled" and eng.position("BTC") is None
    assert not any(f.kind == "open" for f in eng.fills[1:])


# --------------------------------------------------------------------------- rule 6: TP / SL


def test_take_profit_and_stop_loss_close_the_whole_position_one_cancels_other(
    eng: PaperEngine,
) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    tp, sl = eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    assert (tp.tpsl, tp.order_type, tp.side, tp.trigger_price) == ("tp", TP, SHORT, 110_000)
    assert (sl.tpsl, sl.order_type, sl.side, sl.trigger_price) == ("sl", STOP, SHORT, 95_000)
    assert tp.reduce_only and sl.reduce_only and tp.size == 0.1
    assert eng.account.order_margin == 0
    eng.open("BTC", LONG, 0.1, 10, ISO)  # the position grows: so do its TP and SL
    assert tp.size == approx(0.2) and sl.size == approx(0.2)
    eng.set_mark("BTC", 110_000)
    assert tp.status == "filled" and tp.filled_size == approx(0.2)
    assert sl.status == "cancelled" and sl.reason == "its take-profit fired"
    assert eng.position("BTC") is None and eng.open_orders() == []
    assert kinds(eng.events[-4:]) == ["triggered:1", "cancelled:2", "fill:close", "filled:1"]


def test_set_tp_sl_replaces_clears_and_keeps(eng: PaperEngine) -> None:
    eng.open("BTC", SHORT, 0.1, 10, CROSS)
    tp, sl = eng.set_tp_sl("BTC", take_profit=90_000, stop_loss=105_000)
    assert (tp.side, sl.side) == (LONG, LONG)
    [tp2, sl2] = eng.set_tp_sl("BTC", take_profit=92_000)  # SL left out: kept
    assert tp.status == "cancelled" and tp.reason == "replaced" and tp2.trigger_price == 92_000
    assert sl2 is sl and sl.status == "open"
    assert eng.set_tp_sl("BTC", stop_loss=None) == [tp2]  # None clears it
    assert status(sl) == "cancelled" and sl.reason == "cleared"
    assert eng.tp_sl("BTC") == (tp2, None)


def test_set_tp_sl_is_refused_without_a_position_or_when_it_would_fire(eng: PaperEngine) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="no open BTC position"):
        eng.set_tp_sl("BTC", take_profit=110_000)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match=r"would fire at once: .* Put it below the mark"):
        eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=100_000)
    with pytest.raises(OrderRejected, match=r"would fire at once: .* Put it above the mark"):
        eng.set_tp_sl("BTC", take_profit=99_000)
    with pytest.raises(InvalidInput, match="Stop-loss price"):
        eng.set_tp_sl("BTC", stop_loss=math.nan)
    assert unchanged(eng) == before  # the valid take-profit was not set either


def test_closing_the_position_cancels_its_tp_and_sl(eng: PaperEngine) -> None:
    eng.open("SOL", LONG, 10, 5, ISO)
    tp, sl = eng.set_tp_sl("SOL", take_profit=220, stop_loss=190)
    eng.close("SOL", 4)  # a partial close: they follow the size
    assert tp.size == approx(6) and tp.status == "open"
    eng.close("SOL")
    assert (tp.status, sl.status) == ("cancelled", "cancelled")
    assert tp.reason == sl.reason == "position closed"


def test_tp_and_sl_given_with_an_order_attach_when_it_fills(eng: PaperEngine) -> None:
    o = eng.place_order(
        "BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, take_profit=110_000, stop_loss=92_000
    )
    assert o.take_profit == 110_000 and o.stop_loss == 92_000
    assert eng.tp_sl("BTC") == (None, None)  # nothing until it fills
    eng.set_mark("BTC", 95_000)
    tp, sl = eng.tp_sl("BTC")
    assert tp is not None and sl is not None
    assert (tp.trigger_price, sl.trigger_price, tp.size, sl.size) == (110_000, 92_000, 0.1, 0.1)
    assert kinds(eng.events) == ["placed:1", "fill:open", "filled:1", "placed:2", "placed:3"]
    eng.set_mark("BTC", 92_000)
    assert sl.status == "filled" and eng.position("BTC") is None


def test_an_attached_stop_a_gap_already_passed_fires_on_the_same_tick(eng: PaperEngine) -> None:
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, stop_loss=94_000)
    eng.set_mark("BTC", 93_000)  # fills the limit at 95,000; the mark is already past 94,000
    assert eng.position("BTC") is None
    assert [f.kind for f in eng.fills] == ["open", "close"]
    assert eng.fills[-1].price == 93_000


def test_attached_tp_and_sl_must_sit_on_the_right_side_of_the_fill(eng: PaperEngine) -> None:
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="take-profit on a long must be above"):
        eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, take_profit=94_000)
    with pytest.raises(OrderRejected, match="stop-loss on a short must be above"):
        eng.place_order("BTC", SHORT, 0.1, MARKET, leverage=10, stop_loss=99_000)
    eng.open("BTC", LONG, 0.2, 10, ISO)
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match="only reduces"):
        eng.place_order("BTC", SHORT, 0.1, MARKET, leverage=10, stop_loss=101_000)
    assert unchanged(eng) == before


# --------------------------------------------------------------------------- rule 7: liquidation


def test_an_isolated_liquidation_cancels_that_markets_orders_only(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)  # liquidation 91,139.24
    eng.set_tp_sl("BTC", stop_loss=91_000)  # beyond the liquidation price
    limit = eng.place_order("BTC", LONG, 0.1, LIMIT, price=91_100, leverage=10)
    other = eng.place_order("ETH", LONG, 1, LIMIT, price=3_500, leverage=10)
    eng.set_mark("BTC", 91_100)  # liquidation first: the limit never fills, the stop never fires
    [liq] = eng.liquidations
    assert liq.market == "BTC"
    assert limit.status == "cancelled" and limit.reason == "position liquidated"
    assert other.status == "open"
    assert eng.account.order_margin == approx(350)
    assert kinds(eng.events[-3:]) == ["cancelled:1", "cancelled:2", "liquidation"]
    assert eng.position("BTC") is None and eng.fills[-1].kind == "open"


def test_a_cross_liquidation_cancels_the_orders_of_every_cross_market(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.5, 10, CROSS)  # liquidation 81,012.66
    eng.open("ETH", SHORT, 1, 10, CROSS)
    eng.open("SOL", LONG, 10, 5, ISO)
    btc = eng.place_order("BTC", SHORT, 0.5, STOP, trigger_price=80_000, reduce_only=True)
    eth = eng.place_order("ETH", SHORT, 1, LIMIT, price=4_400, leverage=10)
    sol = eng.place_order("SOL", SHORT, 10, TP, trigger_price=250, reduce_only=True)
    eng.set_mark("BTC", 70_000)
    assert {x.market for x in eng.liquidations} == {"BTC", "ETH"}
    assert btc.status == eth.status == "cancelled" and sol.status == "open"
    assert eng.account.order_margin == 0 and eng.account.wallet_balance == 0


# --------------------------------------------------------------------------- rule 1: order


def test_a_tick_fires_triggers_before_it_fills_limits(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    stop = eng.place_order("BTC", SHORT, 0.1, STOP, trigger_price=95_000, reduce_only=True)
    limit = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    eng.set_mark("BTC", 94_500)
    assert stop.status == limit.status == "filled"
    tail = kinds(eng.events)[3:]
    assert tail == ["triggered:1", "fill:close", "filled:1", "fill:open", "filled:2"]
    pos = eng.position("BTC")
    assert pos is not None and pos.entry_price == 95_000  # the old long closed at 94,500 first
    assert eng.fills[1].price == 94_500


def test_after_the_fills_the_liquidation_check_runs_again() -> None:
    # X: taker fee 1 %, maintenance 0.01 %: closing it costs more fee than it frees margin.
    markets = [
        Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0),
        Market("X", max_leverage=10, taker_fee=0.01, maker_fee=0, maintenance_margin_rate=0.0001),
    ]
    eng = PaperEngine(balance=1_000, markets=markets)
    eng.set_mark("BTC", 100_000)
    eng.set_mark("X", 100)
    eng.open("BTC", LONG, 0.1, 20, CROSS)
    eng.open("X", LONG, 40, 10, CROSS)  # fee 40: W = 960
    eng.set_tp_sl("X", take_profit=100.5)
    # BTC at 91,650: u - MM = -835 - 114.5625; X: -0.4. W + sum = 960 - 949.5625 - 0.4 = 10.04
    eng.set_mark("BTC", 91_650)
    assert eng.liquidations == []
    # X at 100.5: W + sum = 960 - 949.5625 + (20 - 0.402) = 30.04 > 0, no liquidation; the
    # take-profit fills (+20, fee 40.2): W = 939.8 and W + sum = 939.8 - 949.5625 = -9.76 <= 0
    eng.set_mark("X", 100.5)
    assert kinds(eng.events[-4:]) == ["triggered:1", "fill:close", "filled:1", "liquidation"]
    assert eng.fills[-1].fee == approx(40.2) and eng.liquidations[0].market == "BTC"


def test_several_orders_reached_at_once_go_nearest_first(eng: PaperEngine) -> None:
    far = eng.place_order("BTC", LONG, 0.01, LIMIT, price=90_000, leverage=2)
    near = eng.place_order("BTC", LONG, 0.01, LIMIT, price=99_000, leverage=2)
    mid_old = eng.place_order("BTC", LONG, 0.01, LIMIT, price=95_000, leverage=2)
    mid_new = eng.place_order("BTC", LONG, 0.01, LIMIT, price=95_000, leverage=2)
    eng.set_mark("BTC", 89_000)
    order = [e.order_id for e in order_events(eng, "filled")]
    assert order == [near.id, mid_old.id, mid_new.id, far.id]


@pytest.mark.parametrize("with_position", [False, True])
def test_a_mark_that_reaches_no_order_never_looks_at_the_orders(
    monkeypatch: pytest.MonkeyPatch, with_position: bool
) -> None:
    eng = make_engine(balance=1_000_000)
    if with_position:  # the tick then reads the edges from the position
        eng.open("BTC", LONG, 0.1, 2, CROSS)
    for i in range(200):
        eng.place_order("BTC", LONG, 0.001, LIMIT, price=90_000 - i, leverage=10)
        eng.place_order("BTC", SHORT, 0.001, STOP, trigger_price=80_000 - i, leverage=10)
        eng.place_order("BTC", SHORT, 0.001, LIMIT, price=110_000 + i, leverage=10)

    def boom(*args: object) -> None:
        raise AssertionError("the desk was asked")

    monkeypatch.setattr(eng._desk, "tick", boom)
    for price in (95_000, 109_999, 90_000.5, 100_000):
        eng.set_mark("BTC", price)
    eng.set_mark("ETH", 3_000)  # a market without orders
    with pytest.raises(AssertionError):
        eng.set_mark("BTC", 90_000)


# --------------------------------------------------------------------------- rule 8: warnings


def test_a_stop_at_or_beyond_the_liquidation_price_is_warned_about(eng: PaperEngine) -> None:
    # long 0.1 BTC at 100,000, 10x isolated: liquidation (100,000 - 10,000) / 0.9875 = 91,139.24
    p = eng.preview_order("BTC", LONG, 0.1, MARKET, leverage=10, stop_loss=91_000)
    assert p.ok and p.liquidation_price == approx(90_000 / 0.9875)
    [warning] = p.warnings
    assert "you would be liquidated before your stop fires" in warning
    assert "91,139.2" in warning
    assert eng.preview_order("BTC", LONG, 0.1, MARKET, leverage=10, stop_loss=92_000).warnings == []
    eng.open("BTC", LONG, 0.1, 10, ISO)
    liq = 90_000 / 0.9875
    assert eng.stop_warnings("BTC", liq) != []  # at it: warned
    assert eng.stop_warnings("BTC", liq + 1) == []
    p = eng.preview_order("BTC", SHORT, 0.1, STOP, trigger_price=91_000, reduce_only=True)
    assert p.ok and len(p.warnings) == 1
    # a short: 110,000 / 1.0125 = 108,641.98; a stop at or above it is too late
    p = eng.preview_order("ETH", SHORT, 1, LIMIT, price=4_000.5, leverage=10, stop_loss=4_400)
    assert p.liquidation_price == approx((4_000.5 + 400.05) / 1.02)
    assert p.warnings and "liquidated before your stop" in p.warnings[0]


def test_a_cross_stop_is_warned_to_depend_on_the_other_cross_positions(eng: PaperEngine) -> None:
    p = eng.preview_order("BTC", LONG, 0.1, MARKET, leverage=10, mode=CROSS, stop_loss=95_000)
    assert p.warnings == []  # the only cross position: nothing else moves it
    eng.open("ETH", SHORT, 1, 10, CROSS)
    p = eng.preview_order("BTC", LONG, 0.1, MARKET, leverage=10, mode=CROSS, stop_loss=95_000)
    [warning] = p.warnings
    assert "Cross position" in warning and "ETH" in warning
    iso = eng.preview_order("BTC", LONG, 0.1, MARKET, leverage=10, stop_loss=95_000)
    assert iso.warnings == []


def test_preview_order_shows_a_resting_order_as_filled_and_changes_nothing() -> None:
    eng = make_engine(fees=True)
    before = unchanged(eng)
    p = eng.preview_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    assert unchanged(eng) == before
    assert p.rests and p.order_type is LIMIT and p.fill_price == 95_000
    assert p.margin_required == approx(950) and p.reserved_margin == approx(950)
    assert p.fee == approx(0.1 * 95_000 * 0.00015)  # maker
    assert p.liquidation_price == approx((95_000 - 9_500) / 0.9875)  # 86,582.28
    assert p.available_before == approx(10_000) and p.available_after == approx(9_050)
    assert p.mark_price == 100_000
    s = eng.preview_order("BTC", SHORT, 0.1, STOP, trigger_price=98_000, leverage=10)
    assert s.rests and s.fee == approx(0.1 * 98_000 * 0.00045)  # a taker when it fires
    assert unchanged(eng) == before


def test_preview_order_says_what_place_order_would_refuse(eng: PaperEngine) -> None:
    cases: list[dict[str, Any]] = [
        {"order_type": LIMIT, "price": 100_000, "leverage": 10, "post_only": True},
        {"order_type": STOP, "trigger_price": 101_000, "leverage": 10},
        {"order_type": LIMIT, "price": math.nan, "leverage": 10},
        {"order_type": MARKET, "leverage": 50},
        {"order_type": "limit", "price": 1e9, "leverage": 10, "reduce_only": True},
        {"order_type": "bogus"},
    ]
    for kw in cases:
        p = eng.preview_order("BTC", SHORT, 0.1, **kw)
        with pytest.raises(OrderRejected) as exc:
            eng.place_order("BTC", SHORT, 0.1, **kw)
        assert p.rejection == str(exc.value)
    assert eng.events == [] and eng.open_orders() == []


# --------------------------------------------------------------------------- rule 9: events


def test_every_order_event_is_an_engine_event_heard_by_listeners(eng: PaperEngine) -> None:
    heard: list[Event] = []
    eng.listeners.append(heard.append)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_tp_sl("BTC", stop_loss=95_000)
    cancel_me = eng.place_order("ETH", LONG, 1, LIMIT, price=3_500, leverage=10)
    eng.cancel_order(cancel_me.id)
    eng.set_mark("BTC", 95_000)
    assert heard == eng.events
    assert [e.action for e in order_events(eng)] == [
        "placed",
        "placed",
        "cancelled",
        "triggered",
        "filled",
    ]
    assert all(e.seq == i + 1 for i, e in enumerate(eng.events))


def test_an_order_the_engine_refuses_when_it_comes_to_fill_is_rejected(eng: PaperEngine) -> None:
    o = eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, mode=CROSS)
    eng.open("BTC", LONG, 0.01, 10, ISO)  # the market is now held in Isolated
    eng.set_mark("BTC", 95_000)
    assert o.status == "cancelled" and "Isolated mode" in o.reason
    [rejected] = order_events(eng, "rejected")
    assert rejected.order_id == o.id and rejected.mark_price == 95_000
    assert eng.account.order_margin == 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"size": math.nan}, "Size must be a finite number"),
        ({"size": -1}, "Size must be more than zero"),
        ({"order_type": "twap"}, "Order type must be"),
        ({"order_type": MARKET, "price": 95_000}, "give it no price"),
        ({"price": None}, "Limit price must be a number"),
        ({"trigger_price": 95_000}, "not a trigger price"),
        ({"order_type": STOP, "price": None, "trigger_price": math.inf}, "Trigger price"),
        ({"order_type": STOP, "trigger_price": 90_000}, "takes a trigger price, not a limit"),
        ({"order_type": STOP, "price": None, "trigger_price": 9e4, "post_only": True}, "Post"),
        ({"post_only": "yes"}, "post_only must be True or False"),
        ({"reduce_only": 1}, "reduce_only must be True or False"),
        ({"market": "DOGE"}, "Unknown market"),
        ({"side": "up"}, "Side must be long or short"),
        ({"leverage": None}, "Give this BTC order a leverage"),
        ({"leverage": 0}, "Leverage must be more than zero"),
        ({"leverage": 41}, "between 1x and 40x"),
        ({"mode": "both"}, "Margin mode must be"),
        ({"take_profit": -5}, "Take-profit price must be more than zero"),
    ],
)
def test_bad_orders_get_a_clear_message_and_change_nothing(
    eng: PaperEngine, kw: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "market": "BTC",
        "side": LONG,
        "size": 0.1,
        "order_type": LIMIT,
        "price": 95_000,
        "leverage": 10,
    }
    args.update(kw)
    before = unchanged(eng)
    with pytest.raises(OrderRejected, match=message):
        eng.place_order(**args)
    assert unchanged(eng) == before


def test_a_market_without_a_price_takes_no_orders() -> None:
    eng = PaperEngine(balance=1_000, markets=[Market("BTC")])
    with pytest.raises(OrderRejected, match="no price yet"):
        eng.place_order("BTC", LONG, 0.1, LIMIT, price=1, leverage=2)


def test_cancel_says_what_is_wrong(eng: PaperEngine) -> None:
    with pytest.raises(OrderRejected, match="There is no order 7"):
        eng.cancel_order(7)
    with pytest.raises(InvalidInput, match="whole number"):
        eng.cancel_order(True)
    with pytest.raises(InvalidInput, match="whole number"):
        eng.cancel_order("1")  # type: ignore[arg-type]
    m = eng.place_order("BTC", LONG, 0.01, MARKET, leverage=10)
    with pytest.raises(OrderRejected, match="Order 1 is not open"):
        eng.cancel_order(m.id)
    assert eng.cancel_orders() == []


def test_cancel_orders_in_one_market_or_all(eng: PaperEngine) -> None:
    a = eng.place_order("BTC", LONG, 0.01, LIMIT, price=90_000, leverage=10)
    b = eng.place_order("ETH", LONG, 0.1, LIMIT, price=3_000, leverage=10)
    c = eng.place_order("BTC", SHORT, 0.01, LIMIT, price=110_000, leverage=10)
    assert eng.cancel_orders("btc") == [a, c]
    assert eng.open_orders() == [b]
    assert eng.cancel_orders() == [b] and eng.account.order_margin == 0


# --------------------------------------------------------------------------- state


def test_open_orders_survive_to_state_and_from_state(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    eng.place_order("ETH", SHORT, 1, LIMIT, price=4_400, leverage=5, post_only=True)
    eng.place_order("SOL", LONG, 10, STOP, trigger_price=210, leverage=5, mode=CROSS)
    eng.place_order("ETH", LONG, 1, TP, trigger_price=3_600, leverage=5, stop_loss=3_000)
    cancelled = eng.place_order("BTC", SHORT, 0.1, LIMIT, price=120_000, leverage=5)
    eng.cancel_order(cancelled.id)
    copy = PaperEngine.from_state(eng.to_state(), markets=eng.markets.values())
    assert copy.open_orders() == eng.open_orders()
    assert copy.account == eng.account
    assert copy.tp_sl("BTC") == eng.tp_sl("BTC")
    assert copy.to_state() == eng.to_state()
    nxt = copy.place_order("BTC", LONG, 0.01, LIMIT, price=92_000, leverage=10)
    assert nxt.id == cancelled.id + 1  # ids go on where they stopped
    copy.set_mark("BTC", 110_000)  # and the restored orders still work
    assert copy.position("BTC") is None


def test_a_state_from_before_orders_loads(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    state = eng.to_state()
    del state["orders"], state["next_order_id"]
    copy = PaperEngine.from_state(state, markets=eng.markets.values())
    assert (
        copy.open_orders() == []
        and copy.place_order("BTC", SHORT, 0.1, LIMIT, price=105_000, reduce_only=True).id == 1
    )


@pytest.mark.parametrize(
    "damage",
    [
        {"price": None},
        {"size": float("nan")},
        {"order_type": "market"},
        {"market": "NOPE"},
        {"status": "filled"},
        {"tpsl": "xx"},
        {"id": 0},
    ],
)
def test_a_damaged_saved_order_is_refused(eng: PaperEngine, damage: dict[str, Any]) -> None:
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)
    state = eng.to_state()
    state["orders"][0].update(damage)
    with pytest.raises(OrderRejected):
        PaperEngine.from_state(state, markets=eng.markets.values())
