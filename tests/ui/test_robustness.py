"""Races and repeated keys that must not crash the app or change what was confirmed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.ui.pilot_helpers import beat, enter_command, liquidation_price, make_app
from tui.engine import MarginMode, Side
from tui.market import SimSource
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.dialogs.margin import MarginScreen
from tui.screens.main import MainScreen
from tui.screens.order import OrderFormScreen, TradeConfirmScreen
from tui.screens.settings import SettingsScreen
from tui.settings import Settings, load_settings

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS


async def test_an_order_whose_position_was_liquidated_meanwhile_cannot_be_confirmed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 20, ISO)
        app.start_order("BTC", Side.SHORT, size=0.005, leverage=20)  # a reduce
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TradeConfirmScreen)
        liq = liquidation_price(app, "BTC")
        app.session.on_mark("BTC", liq * 0.99)
        await pilot.pause(0.3)
        assert app.session.engine.position("BTC") is None
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC") is None  # no short appeared in its place
        assert "changed while this screen was open" in str(screen.query_one("#notice").render())


async def test_remove_margin_from_the_palette_on_a_cross_position_does_not_crash() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, CROSS)
        await beat(pilot)
        app.main.action_margin(-1)  # what the palette calls, bypassing check_action
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("Cross position" in n.message for n in app._notifications)


async def test_double_enter_on_the_margin_screen_moves_margin_once() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await beat(pilot)
        await pilot.press("plus")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MarginScreen)
        field = screen.query_one("#amount", Input)
        field.value = "50"
        field.post_message(Input.Submitted(field, "50"))
        field.post_message(Input.Submitted(field, "50"))
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)
        assert app.session.engine.position("BTC").margin == 150  # type: ignore[union-attr]


async def test_double_enter_on_the_order_form_opens_one_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        size = form.query_one("#size", Input)
        size.value = "0.01"
        size.post_message(Input.Submitted(size, "0.01"))
        size.post_message(Input.Submitted(size, "0.01"))
        await pilot.pause(0.2)
        assert isinstance(app.screen, TradeConfirmScreen)
        assert len(app.screen_stack) == 2
        assert app.session.engine.fills == []  # nothing is confirmed unseen


async def test_double_enter_on_the_command_line_makes_one_order() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash")
        line = app.main.query_one("#command", Input)
        line.value = "long btc 0.01 10x iso"
        line.post_message(Input.Submitted(line, line.value))
        line.post_message(Input.Submitted(line, line.value))
        await pilot.pause(0.2)
        assert len(app.screen_stack) == 2
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.session.engine.fills) == 1


async def test_an_unknown_theme_in_the_config_is_reported_not_fatal() -> None:
    settings = replace(Settings(), ui=replace(Settings().ui, theme="no-such-theme"))
    app = make_app(settings)
    async with app.run_test(size=(120, 36)):
        assert any("Unknown theme 'no-such-theme'" in line for line in app.main.log_widget.lines)


async def test_close_all_asks_once_and_closes_everything() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        app.session.engine.open("ETH", Side.SHORT, 0.5, 5, CROSS)
        await enter_command(pilot, "close all")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app.session.engine.positions() == []


async def test_a_position_the_feed_does_not_price_is_flagged() -> None:
    app = make_app(source=SimSource(["BTC"], seed=1))
    app.session.engine.set_mark("ETH", 3_000)
    app.session.engine.open("ETH", Side.LONG, 1, 5, ISO)
    async with app.run_test(size=(120, 36)):
        assert "ETH" in app.main.watchlist.row_ids
        assert any("does not price" in line for line in app.main.log_widget.lines)


async def test_saving_settings_keeps_hand_edits_made_while_running(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ui]\ntheme = "nord"\n')
    loaded = load_settings(path).settings
    app = make_app(loaded, config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("comma")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        path.write_text('[ui]\ntheme = "nord"\n\n[market]\nmarkets = ["BTC", "ETH"]\n')
        lev = app.screen.query_one("#default-leverage", Input)
        lev.value = "7"
        await pilot.press("ctrl+s")
        await pilot.pause()
    text = path.read_text()
    assert 'markets = ["BTC", "ETH"]' in text and "default_leverage = 7" in text


async def test_command_line_suggests_commands_and_markets() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash", *"long b")
        await pilot.pause(0.2)
        await pilot.press("right")  # accept the suggestion
        assert app.main.query_one("#command", Input).value == "long BTC"


async def test_text_that_looks_like_markup_is_shown_not_parsed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, "[/x] [bold")
        await pilot.pause()
        assert '"/[/x]"' in str(app.main.query_one("#command-error").render())
        await pilot.press("escape", "b")
        await pilot.pause()
        app.screen.query_one("#size", Input).value = "[/b]"
        await pilot.press("enter")
        await pilot.pause()
        assert "'[/b]' is not a number" in str(app.screen.query_one("#form-error").render())


async def test_double_enter_on_the_scenario_picker_switches_once() -> None:
    from textual.widgets import OptionList

    from tui.screens.dialogs.scenario import ScenarioScreen

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.action_scenario()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        options = screen.query_one(OptionList)
        option = options.get_option_at_index(3)
        options.post_message(OptionList.OptionSelected(options, option, 3))
        options.post_message(OptionList.OptionSelected(options, option, 3))
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen) and len(app.screen_stack) == 1
        assert app.session.feed.scenario.name == "flash-crash"  # type: ignore[union-attr]


async def test_an_error_in_a_screens_heartbeat_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A Signal logs and drops a subscriber's exception; perpdesk's screens re-raise it, so a
    # broken repaint fails loudly (in tests, and as Textual's crash report) instead of freezing.
    def broken(self: MainScreen) -> None:
        raise RuntimeError("repaint broke")

    app = make_app()
    with pytest.raises(RuntimeError, match="repaint broke"):
        async with app.run_test(size=(120, 36)) as pilot:
            monkeypatch.setattr(MainScreen, "refresh_view", broken)
            app.session.on_mark("BTC", 100_100.0)
            await beat(pilot)
