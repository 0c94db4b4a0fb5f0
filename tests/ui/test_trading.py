"""Pilot journeys on the trading screen: order entry, the Isolated/Cross confirmation, closing,
margin transfers, liquidations, the command line."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import Input

from tests.ui.pilot_helpers import (
    beat,
    enter_command,
    liquidation_price,
    make_app,
    on_screen,
    open_order,
    text_of,
)
from tui.engine import MarginMode, Side
from tui.screens.dialogs.close import ClosePositionScreen
from tui.screens.dialogs.margin import MarginScreen
from tui.screens.help import HelpScreen, ModesScreen
from tui.screens.main import MainScreen
from tui.screens.order import LOCKED_MESSAGE, OrderFormScreen, TradeConfirmScreen
from tui.settings import Settings

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS


async def test_open_isolated_from_the_keyboard() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, [])
        screen = on_screen(app, TradeConfirmScreen)
        assert screen.margin_mode is ISO  # the default in settings
        assert "Only its own margin" in text_of(screen, "#panel-isolated")
        assert "Your whole cross balance" in text_of(screen, "#panel-cross")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.mode is ISO and pos.size == 0.01 and pos.leverage == 10
        assert app.main.positions_table.row_ids == ["BTC"]
        assert app.main.log_widget.lines[0].startswith("Opened LONG 0.01 BTC")


async def test_open_cross_with_cross_as_default() -> None:
    settings = Settings()
    settings = replace(settings, trading=replace(settings.trading, default_margin_mode="cross"))
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, [])
        assert on_screen(app, TradeConfirmScreen).margin_mode is CROSS
        await pilot.press("y")
        await pilot.pause()
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.mode is CROSS


@pytest.mark.parametrize("key", ["tab", "right", "left", "m"])
async def test_toggle_before_confirming(key: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, [key])
        screen = on_screen(app, TradeConfirmScreen)
        assert screen.margin_mode is CROSS
        assert screen.query_one("#panel-cross").has_class("-selected")
        assert not screen.query_one("#panel-isolated").has_class("-selected")
        await pilot.press(key)
        assert screen.margin_mode is ISO
        await pilot.press(key, "enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").mode is CROSS  # type: ignore[union-attr]


async def test_override_the_default_mode_for_one_trade_only() -> None:
    settings = Settings()
    settings = replace(settings, trading=replace(settings.trading, default_margin_mode="cross"))
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, ["i", "enter"])
        assert app.session.engine.position("BTC").mode is ISO  # type: ignore[union-attr]
        # The next order starts at the default again.
        await pilot.press("down")  # ETH
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert on_screen(app, TradeConfirmScreen).margin_mode is CROSS


async def test_mode_is_locked_on_an_existing_position() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await open_order(pilot, ["c"])
        screen = on_screen(app, TradeConfirmScreen)
        assert screen.margin_mode is ISO
        assert LOCKED_MESSAGE in text_of(screen, "#notice")
        assert "Not available" in text_of(screen, "#panel-cross")
        assert any(n.message == LOCKED_MESSAGE for n in app._notifications)  # said when tried
        await pilot.press("tab")
        assert screen.margin_mode is ISO
        await pilot.press("enter")
        await pilot.pause()
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.size == pytest.approx(0.02) and pos.mode is ISO


async def test_rejection_is_shown_and_confirming_is_impossible() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, [], size="5", lev="10")  # 500k notional on 10k
        screen = on_screen(app, TradeConfirmScreen)
        notice = text_of(screen, "#notice")
        assert "Cannot place this order" in notice and "is missing" in notice
        await pilot.press("enter", "y")
        await pilot.pause()
        assert isinstance(app.screen, TradeConfirmScreen)
        assert app.session.engine.positions() == []
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_cancel_leaves_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await open_order(pilot, ["n"])
        assert isinstance(app.screen, MainScreen)
        assert app.session.engine.positions() == [] and app.session.engine.events == []
        assert app.session.engine.account.wallet_balance == 10_000


async def test_enter_pressed_twice_makes_one_fill() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, [])
        await pilot.press("enter", "enter", "y")
        await pilot.pause()
        assert len(app.session.engine.fills) == 1


async def test_bad_form_input_is_explained_and_changes_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        form = app.screen
        form.query_one("#size", Input).value = "lots"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OrderFormScreen)
        assert "is not a number" in text_of(form, "#form-error")
        form.query_one("#size", Input).value = "0.01"
        form.query_one("#leverage", Input).value = "100"
        await pilot.press("enter")
        await pilot.pause()
        assert "between 1x and 40x" in text_of(form, "#form-error")
        assert app.session.engine.events == []


async def test_usd_notional_order() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_order(pilot, ["enter"], size="$1000", lev="5")
        pos = app.session.engine.position("BTC")
        assert pos is not None
        assert pos.size * pos.entry_price == pytest.approx(1000, rel=1e-4)


async def test_close_selected_position_after_confirming() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await beat(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ClosePositionScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.session.engine.position("BTC") is not None
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.session.engine.position("BTC") is None
        assert app.main.positions_table.row_ids == []
        assert app.main.log_widget.lines[0].startswith("Closed LONG 0.01 BTC")


async def test_close_is_greyed_out_without_a_position() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.main.check_action("close_position", ()) is None  # greyed out
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_add_and_remove_isolated_margin() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await beat(pilot)
        before = liquidation_price(app, "BTC")
        await pilot.press("plus")
        await pilot.pause()
        assert isinstance(app.screen, MarginScreen)
        await pilot.press(*"50", "enter")
        await pilot.pause()
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.margin == pytest.approx(150)
        assert liquidation_price(app, "BTC") < before
        await pilot.press("minus")
        await pilot.pause()
        await pilot.press(*"5000", "enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").margin == pytest.approx(150)  # type: ignore[union-attr]
        assert "Rejected: You can remove at most" in app.main.log_widget.lines[0]
        await pilot.press("minus")
        await pilot.pause()
        await pilot.press(*"30", "enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").margin == pytest.approx(120)  # type: ignore[union-attr]


async def test_a_liquidation_is_impossible_to_miss() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 40, ISO)
        await beat(pilot)
        assert app.main.positions_table.row_ids == ["BTC"]
        liq = liquidation_price(app, "BTC")
        app.session.on_mark("BTC", liq * 0.999)
        await pilot.pause(0.3)
        assert app.main.positions_table.row_ids == []
        assert app.main.log_widget.lines[0].startswith("LIQUIDATED LONG 0.01 BTC (Isolated)")
        assert any("LIQUIDATED" in n.message for n in app._notifications)


async def test_command_line_order_goes_through_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, "short eth 0.5 5x cross")
        screen = app.screen
        assert isinstance(screen, TradeConfirmScreen)
        assert screen.margin_mode is CROSS and screen.ticket.side is Side.SHORT
        await pilot.press("enter")
        await pilot.pause()
        pos = app.session.engine.position("ETH")
        assert pos is not None and pos.side is Side.SHORT and pos.mode is CROSS
        assert pos.size == 0.5 and pos.leverage == 5


async def test_command_line_explains_garbage_in_one_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        await pilot.press(*"lng btc 1", "enter")
        await pilot.pause()
        error = text_of(app.main, "#command-error")
        assert "Unknown command" in error and "\n" not in error
        assert app.session.engine.events == []
        await pilot.press("escape")
        await pilot.pause()
        assert not app.main.query_one("#command-box").has_class("-open")


async def test_command_line_close_and_margin() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("SOL", Side.LONG, 10, 5, ISO)
        await enter_command(pilot, "margin sol +100")
        assert app.session.engine.position("SOL").margin == pytest.approx(460)  # type: ignore[union-attr]
        await enter_command(pilot, "close sol 50%")
        assert isinstance(app.screen, ClosePositionScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app.session.engine.position("SOL").size == pytest.approx(5)  # type: ignore[union-attr]


async def test_help_lists_keys_and_commands_and_modes_explainer() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.key_rows)
        assert keys["b"] == "Long: Open a long on the selected market"
        assert keys["x"] == "Close: Close the selected position"
        await pilot.press("escape")
        await open_order(pilot, ["question_mark"])
        assert isinstance(app.screen, ModesScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TradeConfirmScreen)


async def test_first_run_tip_until_the_first_trade() -> None:
    app = make_app(first_run=True)
    async with app.run_test(size=(120, 36)) as pilot:
        tip = text_of(app.main, "#tip")
        assert "new to perpetuals? Start with Isolated" in tip
        await open_order(pilot, ["enter"])
        assert app.main.query_one("#tip").has_class("-hidden")


async def test_keymap_from_settings_remaps_a_binding() -> None:
    settings = replace(Settings(), keymap={"buy": "f2"})
    app = make_app(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, OrderFormScreen)


async def test_selection_and_cursor_survive_refreshes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        for name in ("BTC", "ETH", "SOL"):
            app.session.engine.open(name, Side.LONG, 10 / app.session.engine.mark(name), 5, ISO)  # type: ignore[operator]
        await beat(pilot)
        table = app.main.positions_table
        table.focus()
        await pilot.press("down")
        assert table.selected_key() == "ETH"
        app.session.engine.close("BTC")
        await beat(pilot)
        assert table.selected_key() == "ETH"
        app.session.on_mark("ETH", 3_600)
        await beat(pilot)
        assert table.selected_key() == "ETH"
