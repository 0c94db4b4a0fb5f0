"""Pilot journeys through the trade ticket: the order form with each order type, its flags,
TP and SL; the confirmation's cost lines, rejection, reduce card, venue comparison and the
deliberate key for an add on other terms; a `$` size that stays what was confirmed; the
leverage dialog; the command line's priced orders and /leverage."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.pilot_helpers import beat, enter_command, make_app, on_screen, text_of
from tui.app import PerpDeskApp
from tui.engine import MarginMode, OrderType, Side
from tui.screens.dialogs.leverage import LeverageScreen
from tui.screens.main import MainScreen
from tui.screens.order import OrderFormScreen, TradeConfirmScreen
from tui.screens.order.form import TYPES

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


def set_marks(app: PerpDeskApp, btc: float = 100_000) -> None:
    """Round marks (the seeded feed's first marks are not round) and no book."""
    app.session.on_mark("BTC", btc)
    app.session.on_mark("ETH", 4_000)
    app.refresh_now()


async def form(pilot: Pilot[None], key: str = "b", **fields: str) -> OrderFormScreen:
    """Press ``key`` (BTC is selected) and fill the order form's fields (by id)."""
    await pilot.press(key)
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, OrderFormScreen)
    for name, value in fields.items():
        screen.query_one(f"#{name}", Input).value = value
    await pilot.pause()
    return screen


async def review(pilot: Pilot[None]) -> TradeConfirmScreen:
    """Enter on the form: the confirmation comes up."""
    await pilot.press("enter")
    await pilot.pause()
    return on_screen(pilot.app, TradeConfirmScreen)  # type: ignore[arg-type]


def visible(screen: TradeConfirmScreen, selector: str) -> bool:
    return not screen.query_one(selector).has_class("-hidden")


# --------------------------------------------------------------------------- the form


@pytest.mark.parametrize(
    ("presses", "order_type", "label"),
    [
        (0, OrderType.MARKET, None),
        (1, OrderType.LIMIT, "Limit price"),
        (2, OrderType.STOP_MARKET, "Trigger"),
        (3, OrderType.TAKE_PROFIT_MARKET, "Trigger"),
    ],
)
async def test_t_cycles_the_order_type_and_shows_its_price_field(
    presses: int, order_type: OrderType, label: str | None
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        screen = await form(pilot)
        for _ in range(presses):
            await pilot.press("t")  # while the size field has focus: t is never typed
        await pilot.pause()
        assert screen.order_type is order_type
        assert screen.query_one("#size", Input).value == "$1000"  # untouched by the t
        price_row = screen.query_one("#price-row")
        assert price_row.has_class("-hidden") is (label is None)
        if label is not None:
            assert str(screen.query_one("#price-label").render()) == label
        await pilot.press("t")  # and on round
        assert screen.order_type is TYPES[(presses + 1) % len(TYPES)]


async def test_a_limit_from_the_form_rests_at_its_price() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        screen = await form(pilot, size="0.1", leverage="10")
        await pilot.press("t")
        assert screen.query_one("#price", Input).value == "100000.0"  # a limit starts at the mark
        screen.query_one("#price", Input).value = "95,000"
        confirm = await review(pilot)
        assert confirm.ticket.order_type is OrderType.LIMIT and confirm.ticket.price == 95_000
        line = text_of(confirm, "#order-line")
        assert line.startswith("Limit at 95,000.0: rests until the market comes down to 95,000.0")
        assert "Held while it rests 950.00" in text_of(confirm, "#summary")
        await pilot.press("enter")
        await pilot.pause()
        [order] = app.session.engine.open_orders()
        assert (order.order_type, order.price, order.size, order.leverage) == (
            OrderType.LIMIT,
            95_000,
            0.1,
            10,
        )
        assert app.session.engine.positions() == []
        assert app.main.log_widget.lines[0].startswith("Placed Limit #1 BUY 0.1 BTC @ 95,000.0")


async def test_a_stop_buy_and_a_trigger_the_mark_would_fire_at_once() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        screen = await form(pilot, size="0.01", leverage="10")
        await pilot.press("t", "t")
        screen.query_one("#price", Input).value = "95000"  # a stop buy below the mark: fires now
        confirm = await review(pilot)
        notice = text_of(confirm, "#notice")
        assert notice.startswith("Cannot place this order: This stop market buy at 95,000")
        await pilot.press("enter")  # refused: nothing happens
        assert app.screen is confirm and app.session.engine.events == []
        await pilot.press("escape")
        await pilot.pause()
        screen = await form(pilot, size="0.01", leverage="10")
        await pilot.press("t", "t")
        screen.query_one("#price", Input).value = "105000"
        confirm = await review(pilot)
        assert "when the mark rises to 105,000.0" in text_of(confirm, "#order-line")
        await pilot.press("y")
        await pilot.pause()
        [order] = app.session.engine.open_orders()
        assert order.order_type is OrderType.STOP_MARKET and order.trigger_price == 105_000


async def test_reduce_only_take_profit_from_the_form() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.1, 10, ISO)
        screen = await form(pilot, "s", size="0.1")
        await pilot.press("t", "t", "t", "r")
        assert screen.order_type is OrderType.TAKE_PROFIT_MARKET and screen.flags["reduce-only"]
        assert screen.query_one("#tp-row").has_class("-hidden")  # no TP/SL on a reduce-only
        assert screen.query_one("#leverage-row").has_class("-hidden")
        screen.query_one("#price", Input).value = "110000"
        confirm = await review(pilot)
        card = text_of(confirm, "#reduce")
        assert "Closes your LONG 0.1 BTC (Isolated 10x)" in card
        assert "Realized PnL +1,000.00 before the fee" in card  # 0.1 x (110,000 - 100,000)
        assert not visible(confirm, "#panels")
        await pilot.press("enter")
        await pilot.pause()
        [order] = app.session.engine.open_orders()
        assert order.reduce_only and order.trigger_price == 110_000


async def test_post_only_is_for_limits_only() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        screen = await form(pilot, size="0.01", leverage="10")
        await pilot.press("p")
        assert not screen.flags["post-only"]
        assert any("Post-only is for limit orders" in n.message for n in app._notifications)
        await pilot.press("t", "p")
        assert screen.flags["post-only"] and "[x] Post-only" in text_of(screen, "#flags")
        screen.query_one("#price", Input).value = "99000"
        confirm = await review(pilot)
        assert "Post-only: it never takes liquidity." in text_of(confirm, "#order-line")
        await pilot.press("enter")
        await pilot.pause()
        [order] = app.session.engine.open_orders()
        assert order.post_only
        screen = await form(pilot, size="0.01", leverage="10")
        await pilot.press("t", "p", "t")  # on, then away from Limit: off again
        assert not screen.flags["post-only"]


async def test_tp_and_sl_from_the_form_with_the_stop_warning_beside_them() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await form(pilot, size="0.1", leverage="10", tp="110000", sl="85000")
        confirm = await review(pilot)
        tpsl = text_of(confirm, "#tpsl")
        assert tpsl.startswith("When it fills: TP 110,000.0 · SL 85,000.0")
        assert "you would be liquidated before your stop fires" in tpsl  # liquidation ~91,139
        await pilot.press("enter")
        await pilot.pause()
        tp, sl = app.session.engine.tp_sl("BTC")
        assert tp is not None and sl is not None
        assert (tp.trigger_price, sl.trigger_price) == (110_000, 85_000)


async def test_bad_prices_in_the_form_are_explained() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        screen = await form(pilot, size="0.01", leverage="10", sl="0")
        assert "Stop-loss price '0' must be a price above zero." in text_of(screen, "#form-error")
        screen.query_one("#sl", Input).value = ""
        await pilot.press("t")
        screen.query_one("#price", Input).value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert "Enter the limit price" in text_of(screen, "#form-error")
        assert app.session.engine.events == []


# --------------------------------------------------------------------------- confirmation


async def test_a_dollar_size_is_fixed_while_the_mark_moves_and_is_what_fills() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app, 99_990)
        app.start_order("ETH", SHORT, usd=2_000, leverage=10)
        await pilot.pause()
        confirm = on_screen(app, TradeConfirmScreen)
        assert confirm.ticket.size == 0.5  # 2,000 / 4,000 on ETH's 0.0001 step
        assert "this size is fixed while you review" in text_of(confirm, "#notes")
        app.session.on_mark("ETH", 3_498.25)  # 0.5717 at this mark: the ticket stays 0.5
        await beat(pilot)
        assert confirm.ticket.size == 0.5 and "ETH  0.5 ETH" in text_of(confirm, "#summary")
        await pilot.press("enter")
        await pilot.pause()
        pos = app.session.engine.position("ETH")
        assert pos is not None and pos.size == 0.5
        assert app.main.log_widget.lines[0].startswith("Opened SHORT 0.5 ETH")


async def test_a_rounded_size_is_said() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await form(pilot, size="0.0100015", leverage="10")
        confirm = await review(pilot)
        assert text_of(confirm, "#notes") == (
            "Size rounded down from 0.0100015 to 0.01 BTC (BTC trades in steps of 0.00001)."
        )
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").size == 0.01  # type: ignore[union-attr]


async def test_a_refused_order_says_why_once_and_shows_no_meaningless_figures() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await form(pilot, size="5", leverage="10")
        confirm = await review(pilot)
        shown = [
            text_of(confirm, selector)
            for selector in ("#summary", "#panel-isolated", "#panel-cross", "#notice")
        ]
        assert sum(text.count("is missing") for text in shown) == 1  # said once
        assert shown[3].startswith("Cannot place this order: Not enough margin")
        for panel in shown[1:3]:
            assert "Liq. price" not in panel and "At risk" not in panel
        assert not visible(confirm, "#execution")
        assert "Enter/y confirm" not in text_of(confirm, "#confirm-keys")


async def test_below_the_minimum_order_says_the_smallest_size() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await form(pilot, size="0.00005", leverage="10")
        confirm = await review(pilot)
        assert "The smallest BTC order on Hyperliquid is worth 10.00" in text_of(confirm, "#notice")


async def test_the_fill_cost_and_round_trip_at_todays_book() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        bids = [(99_990.0, 1.0), (99_980.0, 2.5)]
        asks = [(100_010.0, 1.0), (100_020.0, 2.5)]
        app.session.on_book("BTC", bids, asks, 0.0)
        app.start_order("BTC", LONG, size=1.5, leverage=40, mode=CROSS)
        await pilot.pause()
        confirm = on_screen(app, TradeConfirmScreen)
        line = text_of(confirm, "#execution")
        assert "≈ 100,013.3 at today's order book" in line
        assert "slippage 1.3 bp, 20.00 (spread 15.00 + impact 5.00)" in line
        assert "fee 67.51" in line  # 150,020 x 0.045 %
        assert "Round trip ≈ 175.00 in and straight back out at today's book" in line  # 40 + 135
        app.session.on_book("BTC", bids, [(100_010.0, 1.0)], 0.0)  # the asks thin out
        await beat(pilot)
        assert "only 1 of 1.5 would fill now" in text_of(confirm, "#execution")
        assert "Only 1 of 1.5 BTC would fill" in text_of(confirm, "#tpsl")


async def test_without_a_book_the_fill_says_it_is_at_the_mark() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.start_order("BTC", LONG, size=0.01, leverage=10)
        await pilot.pause()
        line = text_of(on_screen(app, TradeConfirmScreen), "#execution")
        assert "no order book: at the mark" in line and "slippage" not in line


async def test_a_reduce_shows_what_it_does_not_margin_modes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.05, 10, ISO)  # margin 500
        set_marks(app, 102_000)
        app.start_order("BTC", SHORT, size=0.02)
        await pilot.pause()
        confirm = on_screen(app, TradeConfirmScreen)
        card = text_of(confirm, "#reduce")
        assert "Reduces your LONG 0.05 BTC (Isolated 10x)" in card
        assert "Left         0.03 BTC · liquidation " in card
        assert "Realized PnL +40.00 before the fee" in card  # 0.02 x 2,000
        assert "Margin back  200.00" in card  # 500 x 0.02 / 0.05
        assert not visible(confirm, "#panels") and not visible(confirm, "#toggle")
        assert not visible(confirm, "#notice")  # no mode lock message for a reduce
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").size == pytest.approx(0.03)  # type: ignore[union-attr]


async def test_an_add_on_other_terms_needs_the_a_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.01, 10, ISO)
        await enter_command(pilot, "long btc 0.01 20x cross")
        confirm = on_screen(app, TradeConfirmScreen)
        notes = text_of(confirm, "#notes")
        assert notes.startswith(
            "Not the terms you asked for. You asked for 20x Cross, but your BTC long is 10x "
            "Isolated"
        )
        assert "a: add at 10x Isolated anyway" in text_of(confirm, "#confirm-keys")
        await pilot.press("enter", "y")
        await pilot.pause()
        assert app.screen is confirm  # Enter does not place it
        assert app.session.engine.position("BTC").size == 0.01  # type: ignore[union-attr]
        assert any("Press a to add" in n.message for n in app._notifications)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.size == pytest.approx(0.02)
        assert (pos.leverage, pos.mode) == (10, ISO)


async def test_an_add_on_the_same_terms_confirms_with_enter() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.01, 10, ISO)
        await form(pilot, size="0.01")  # the leverage field starts at the position's 10x
        confirm = await review(pilot)
        assert confirm.add_difference(confirm.chosen()) is None
        await pilot.press("a")  # the deliberate key does nothing when nothing differs
        await pilot.pause()
        assert app.screen is confirm
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").size == pytest.approx(0.02)  # type: ignore[union-attr]


async def test_v_shows_the_same_order_under_both_venues() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.start_order("BTC", LONG, size=0.1, leverage=10)
        await pilot.pause()
        confirm = on_screen(app, TradeConfirmScreen)
        assert not visible(confirm, "#venues")
        await pilot.press("v")
        await pilot.pause()
        assert visible(confirm, "#venues") and not visible(confirm, "#panels")
        table = text_of(confirm, "#venues")
        assert "Hyperliquid (yours)" in table and "Binance" in table
        assert "4.50 (0.045 % taker)" in table and "5.00 (0.05 % taker)" in table
        fee_line = next(line for line in table.splitlines() if line.startswith("Fee"))
        assert fee_line.rstrip().endswith("≠")  # the difference is marked
        margin_line = next(line for line in table.splitlines() if "Initial margin" in line)
        assert not margin_line.rstrip().endswith("≠")
        await pilot.press("c")  # the comparison follows the mode
        await pilot.pause()
        assert "Cross, on this account" in text_of(confirm, "#venues")
        await pilot.press("v")
        await pilot.pause()
        assert visible(confirm, "#panels") and not visible(confirm, "#venues")
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").mode is CROSS  # type: ignore[union-attr]


async def test_v_on_a_market_the_other_venue_does_not_list() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.start_order("HYPE", LONG, size=1, leverage=5)
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert "Binance does not list HYPE" in text_of(app.screen, "#venues")


async def test_escape_cancels_the_form_and_the_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await form(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await form(pilot, size="0.1", leverage="10")
        await pilot.press("t")
        await review(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.engine.events == [] and app.session.engine.open_orders() == []


# --------------------------------------------------------------------------- command line


async def test_priced_orders_from_the_command_line_reach_the_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await enter_command(pilot, "/long btc 0.1 10x iso @95000 tp 110000 sl 90000")
        confirm = on_screen(app, TradeConfirmScreen)
        t = confirm.ticket
        assert (t.order_type, t.price, t.take_profit, t.stop_loss) == (
            OrderType.LIMIT,
            95_000,
            110_000,
            90_000,
        )
        await pilot.press("enter")
        await pilot.pause()
        await enter_command(pilot, "/short eth 1 5x stop 3800")
        await pilot.press("enter")
        await pilot.pause()
        orders = app.session.engine.open_orders()
        assert [(o.market, o.order_type) for o in orders] == [
            ("BTC", OrderType.LIMIT),
            ("ETH", OrderType.STOP_MARKET),
        ]
        assert orders[0].take_profit == 110_000 and orders[0].stop_loss == 90_000


async def test_a_reduce_only_command_without_a_position_is_refused_in_place() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await enter_command(pilot, "/short btc 0.1 @105000 ro")
        confirm = on_screen(app, TradeConfirmScreen)
        assert "There is no open BTC position for a reduce-only order" in text_of(
            confirm, "#notice"
        )
        await pilot.press("enter")
        assert app.screen is confirm and app.session.engine.events == []


# --------------------------------------------------------------------------- leverage


async def test_l_changes_the_selected_positions_leverage_after_showing_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        assert app.main.check_action("leverage", ()) is None  # no position: greyed out
        app.session.engine.open("BTC", LONG, 0.1, 10, CROSS)
        await beat(pilot)
        await pilot.press("L")
        await pilot.pause()
        dialog = on_screen(app, LeverageScreen)
        assert "Type a leverage" in text_of(dialog, "#lev-keys")
        dialog.query_one(Input).value = "20"
        await pilot.pause()
        table = text_of(dialog, "#lev-preview")
        assert "Leverage" in table and "20x" in table
        assert "Margin" in table and "1,000.00" in table and "500.00" in table  # q P / L
        assert text_of(dialog, "#lev-keys").startswith("Enter: change to 20x")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.engine.position("BTC").leverage == 20  # type: ignore[union-attr]
        assert app.main.log_widget.lines[0].startswith("BTC leverage 10x → 20x (Cross)")


async def test_a_leverage_refusal_is_shown_and_enter_does_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.1, 10, ISO)
        await enter_command(pilot, "/leverage btc 60")
        dialog = on_screen(app, LeverageScreen)
        assert "allows 1x to 40x; 60x is out of range" in text_of(dialog, "#lev-error")
        assert text_of(dialog, "#lev-preview") == ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        dialog.query_one(Input).value = "lots"
        await pilot.pause()
        assert "is not a number" in text_of(dialog, "#lev-error")
        await pilot.press("escape")
        await pilot.pause()
        assert app.session.engine.position("BTC").leverage == 10  # type: ignore[union-attr]


async def test_leverage_command_without_a_position_is_answered_in_the_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        await enter_command(pilot, "/leverage btc 20")
        assert isinstance(app.screen, MainScreen)
        assert text_of(app.main, "#command-error") == (
            "There is no open BTC position to change the leverage of."
        )


async def test_the_leverage_dialog_notices_a_liquidated_position() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        set_marks(app)
        app.session.engine.open("BTC", LONG, 0.1, 10, ISO)
        await enter_command(pilot, "/leverage btc 5")
        dialog = on_screen(app, LeverageScreen)
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.liquidation_price is not None
        app.session.on_mark("BTC", pos.liquidation_price * 0.99)
        await beat(pilot)
        assert "changed while this was open" in text_of(dialog, "#lev-error")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
