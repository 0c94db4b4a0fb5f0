"""Pilot journeys on the trading desk: the open-orders table and its keys, a position's
TP/SL, the live close dialog, keys that say why, the Footer and the layout at each size, the
header, and the command-line words for orders."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.ui.pilot_helpers import beat, enter_command, make_app, on_screen, text_of
from tui.app import PerpDeskApp
from tui.engine import MarginMode, OrderType, Side
from tui.screens.dialogs.close import ClosePositionScreen
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.dialogs.modify import ModifyOrderScreen
from tui.screens.dialogs.tpsl import TpSlScreen
from tui.screens.help import HelpScreen, ModesScreen
from tui.screens.main import (
    ORDER_COLUMNS,
    ORDER_IMPORTANCE,
    POSITION_COLUMNS,
    POSITION_IMPORTANCE,
    MainScreen,
    fit_columns,
    flagged,
)
from tui.widgets.footer import DeskFooter

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LIMIT = OrderType.LIMIT


def rest_orders(app: PerpDeskApp) -> list[int]:
    """Two BTC buy limits and an ETH sell limit resting (marks 100,000 and 4,000)."""
    eng = app.session.engine
    app.session.on_mark("BTC", 100_000)
    app.session.on_mark("ETH", 4_000)
    ids = [
        eng.place_order("BTC", Side.LONG, 0.01, LIMIT, price=95_000, leverage=10, mode=ISO).id,
        eng.place_order("BTC", Side.LONG, 0.02, LIMIT, price=94_000, leverage=10, mode=ISO).id,
        eng.place_order("ETH", Side.SHORT, 1, LIMIT, price=4_400, leverage=5, mode=ISO).id,
    ]
    app.refresh_now()
    return ids


def messages(app: PerpDeskApp) -> list[str]:
    return [n.message for n in app._notifications]


async def show_orders(pilot: Pilot[None]) -> MainScreen:
    await pilot.press("o")
    await pilot.pause()
    main = pilot.app.screen
    assert isinstance(main, MainScreen) and main.tab == "orders"
    return main


# ------------------------------------------------------------------ the orders table


async def test_o_switches_to_the_open_orders_and_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await beat(pilot)
        box = app.main.query_one("#trades")
        assert "Positions 0" in str(box.border_title) and "Orders 3" in str(box.border_title)
        main = await show_orders(pilot)
        assert main.orders_table.row_ids == [str(i) for i in ids]
        assert main.focused is main.orders_table
        first = main.orders_table._cells[str(ids[0])]
        # #1, BTC, BUY, Limit, 0.01 at 95,000.0, 5 % under the mark, 95.00 held (0.01 x 95k/10)
        assert first[0] == "#1" and first[1] == "BTC" and first[3] == "Limit"
        assert first[5] == "95,000.0" and first[6] == "-5.00%" and first[8] == "95.00"
        assert main.footer_description("switch_tab") == "Positions"
        await pilot.press("o")
        await pilot.pause()
        assert main.tab == "positions" and main.focused is main.positions_table


async def test_delete_cancels_the_selected_order_and_the_log_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        main = await show_orders(pilot)
        await pilot.press("delete")
        await beat(pilot)
        assert [o.id for o in app.session.engine.open_orders()] == ids[1:]
        assert main.orders_table.row_ids == [str(i) for i in ids[1:]]
        assert main.log_widget.lines[0].startswith(f"Cancelled Limit #{ids[0]} BUY 0.01 BTC")


async def test_shift_c_cancels_the_markets_orders_after_asking() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await show_orders(pilot)
        await pilot.press("C")
        await pilot.pause()
        question = on_screen(app, ConfirmScreen)
        assert question.title_text == "Cancel BTC orders"
        # 0.01 x 95,000 / 10 + 0.02 x 94,000 / 10 = 95 + 188
        assert question.body.startswith("Cancel 2 open BTC orders? The 283.00 of margin")
        await pilot.press("y")
        await pilot.pause()
        assert [o.id for o in app.session.engine.open_orders()] == [ids[2]]


async def test_e_modifies_an_order_by_cancel_and_replace() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await show_orders(pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = on_screen(app, ModifyOrderScreen)
        assert "new number" in text_of(dialog, "#modify-note")
        dialog.query_one("#price", Input).value = "96000"
        await pilot.pause()
        assert text_of(dialog, "#price-hint").startswith("-4.00% from the mark")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        new = app.session.engine.open_orders("BTC")[-1]
        assert app.session.engine.order(ids[0]) is None and new.price == 96_000
        assert new.size == 0.01 and new.id == 4


async def test_the_modify_dialog_blocks_once_the_order_is_gone() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await show_orders(pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = on_screen(app, ModifyOrderScreen)
        app.session.on_mark("BTC", 94_900)  # the limit at 95,000 fills meanwhile
        await beat(pilot)
        assert "not open any more" in text_of(dialog, "#modify-error")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog  # nothing replaced
        assert [o.id for o in app.session.engine.open_orders()] == ids[1:]


async def test_orders_command_shows_one_markets_orders() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await enter_command(pilot, "orders eth")
        main = app.main
        assert main.tab == "orders" and main.orders_table.row_ids == [str(ids[2])]
        assert "ETH orders 1 of 3" in str(main.query_one("#trades").border_title)
        await enter_command(pilot, "orders sol")
        assert text_of(main, "#command-error") == "There are no open SOL orders."


async def test_cancel_command_one_market_and_all() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        await enter_command(pilot, f"cancel #{ids[1]}")
        assert [o.id for o in app.session.engine.open_orders()] == [ids[0], ids[2]]
        await enter_command(pilot, "cancel 99")
        assert text_of(app.main, "#command-error") == (
            "There is no open order #99; /orders lists them."
        )
        await pilot.press("escape")
        await enter_command(pilot, "cancel all")
        on_screen(app, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app.session.engine.open_orders() == []


# ------------------------------------------------------------------ TP / SL


async def test_t_sets_a_positions_tp_and_sl_with_the_liquidation_warning() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)  # liquidation 91,139.2
        await beat(pilot)
        await pilot.press("tab", "t")  # the positions table, then TP/SL
        await pilot.pause()
        dialog = on_screen(app, TpSlScreen)
        dialog.query_one("#tp", Input).value = "110000"
        dialog.query_one("#sl", Input).value = "90000"
        await pilot.pause()
        assert text_of(dialog, "#tp-hint") == "+10.00% from the mark · PnL about +100.00"
        assert text_of(dialog, "#sl-hint") == "-10.00% from the mark · PnL about -100.00"
        warning = text_of(dialog, "#tpsl-warnings")
        assert warning.startswith("⚠ Your stop at 90,000 is at or beyond this long's liquidation")
        assert "you would be liquidated before your stop fires" in warning
        await pilot.press("enter")
        await beat(pilot)
        tp, sl = app.session.engine.tp_sl("BTC")
        assert tp is not None and tp.trigger_price == 110_000
        assert sl is not None and sl.trigger_price == 90_000
        cells = app.main.positions_table._cells["BTC"]
        # the TP and SL columns; the stop the liquidation beats is flagged in the error colour
        assert cells[-2] == "110,000.0"
        assert cells[-1] == ("⚠ 90,000.0", app.main.number_styles()["error"])
        assert "tp" in app.main.positions_table._visible  # shown now that one is set
        # ... and said on the line above the tables while it holds
        tip = text_of(app.main, "#tip")
        assert tip.startswith("⚠ BTC stop 90,000.0 is past its Liq. price 91,139.2")
        assert app.main.query_one("#tip").has_class("-warning")
        await pilot.press("o")  # the orders tab flags it too
        await beat(pilot)
        row = app.main.orders_table._cells[str(sl.id)]
        assert ("⚠ 90,000.0", app.main.number_styles()["error"]) in row
        await enter_command(pilot, "sl btc 92000")  # above the liquidation: no flag, no line
        await beat(pilot)
        assert app.main.positions_table._cells["BTC"][-1] == "92,000.0"
        assert app.main.query_one("#tip").has_class("-hidden")


async def test_a_tp_the_mark_has_passed_is_refused_in_the_dialog() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await pilot.press("t")
        await pilot.pause()
        dialog = on_screen(app, TpSlScreen)
        dialog.query_one("#tp", Input).value = "99000"
        await pilot.pause()
        assert "would fire at once" in text_of(dialog, "#tpsl-error")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and app.session.engine.tp_sl("BTC") == (None, None)


async def test_the_tp_sl_dialog_blocks_when_the_position_is_liquidated() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.01, 40, ISO)
        await pilot.press("t")
        await pilot.pause()
        dialog = on_screen(app, TpSlScreen)
        dialog.query_one("#sl", Input).value = "98000"
        app.session.on_mark("BTC", 97_000)  # liquidated meanwhile
        await beat(pilot)
        assert "is gone" in text_of(dialog, "#tpsl-error")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog


async def test_tp_and_sl_from_the_command_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        await enter_command(pilot, "tp btc 110000")
        assert text_of(app.main, "#command-error").startswith("There is no open BTC position")
        await pilot.press("escape")
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await enter_command(pilot, "sl btc 90000")
        await enter_command(pilot, "tp btc 110000")
        tp, sl = app.session.engine.tp_sl("BTC")
        assert tp is not None and sl is not None and sl.trigger_price == 90_000
        await beat(pilot)
        assert any(
            "liquidated before your stop fires" in line for line in app.main.log_widget.lines
        )
        await enter_command(pilot, "sl btc off")
        assert app.session.engine.tp_sl("BTC")[1] is None
        await enter_command(pilot, "tp btc 95000")  # below the mark of a long: at once
        assert "would fire at once" in text_of(app.main, "#command-error")


# ------------------------------------------------------------------ closing


async def test_the_close_dialog_is_live_and_offers_shares() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.04, 10, ISO)
        await pilot.press("tab", "x")
        await pilot.pause()
        dialog = on_screen(app, ClosePositionScreen)
        await pilot.press("1")  # 25 %
        app.session.on_mark("BTC", 101_000)
        await beat(pilot)
        figures = text_of(dialog, "#close-figures")
        assert "Closes 0.01 BTC, 0.03 BTC stays open" in figures
        assert "Realized PnL +10.00 before the fee" in figures  # (101,000 - 100,000) x 0.01
        assert "Margin released 100.00" in figures  # a quarter of 400
        await pilot.press("y")
        await pilot.pause()
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.size == pytest.approx(0.03)


async def test_the_close_dialog_blocks_when_the_position_changes_or_goes() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        app.session.on_mark("BTC", 100_000)
        eng.open("BTC", Side.LONG, 0.01, 40, ISO)
        await pilot.press("tab", "x")
        await pilot.pause()
        dialog = on_screen(app, ClosePositionScreen)
        eng.open("BTC", Side.LONG, 0.01, 40, ISO)  # an add from elsewhere
        await beat(pilot)
        assert "changed while this was open" in text_of(dialog, "#close-notice")
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is dialog and eng.position("BTC").size == 0.02  # type: ignore[union-attr]
        app.session.on_mark("BTC", 90_000)  # liquidated
        await beat(pilot)
        assert "is gone" in text_of(dialog, "#close-notice")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_close_from_the_command_line_offers_the_size_given() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.04, 10, ISO)
        await enter_command(pilot, "close btc 0.015")
        dialog = on_screen(app, ClosePositionScreen)
        assert "[ 0.015 BTC ]" in text_of(dialog, "#close-choices")
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC").size == pytest.approx(0.025)  # type: ignore[union-attr]


# ------------------------------------------------------------------ keys that say why


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("x", "Select an open position first (Tab moves to the positions table)."),
        ("t", "There is no open BTC position to give a take-profit or stop-loss"),
        ("plus", "Select an open isolated position first."),
        ("delete", "Cancel works on the open orders: press o to show them."),
    ],
)
async def test_a_key_that_does_not_apply_says_why(key: str, why: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.main.check_action("close_position", ()) is None  # still greyed
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert messages(app)[-1].startswith(why)


async def test_plus_on_a_cross_position_says_it_has_no_margin_of_its_own() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("ETH", Side.SHORT, 1, 5, CROSS)
        await beat(pilot)
        await pilot.press("tab", "plus")
        await pilot.pause()
        assert messages(app)[-1].startswith("ETH is a Cross position")


async def test_faster_at_the_top_speed_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(6):
            await pilot.press("right_square_bracket")
        await pilot.pause()
        assert messages(app)[-1].startswith("Already at the top speed")


async def test_ctrl_c_says_how_to_quit_in_plain_words() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert messages(app)[-1] == "Press q to quit perpdesk."


# ------------------------------------------------------------------ the command line


async def test_keys_typed_in_one_burst_after_slash_all_reach_the_line() -> None:
    """A terminal delivers "/close btc⏎" typed fast in one read: every key is queued before the
    first runs. "/" must open the line before the table sees the next keys (they were lost,
    and the s of "close" opened a short)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        await beat(pilot)
        for char in "/close btc":
            app.post_message(events.Key({"/": "slash", " ": "space"}.get(char, char), char))
        app.post_message(events.Key("enter", "\r"))
        for _ in range(100):  # the line runs, then the app pushes the dialog: a few idle turns
            await pilot.pause(0.05)
            if not isinstance(app.screen, MainScreen):
                break
        assert isinstance(app.screen, ClosePositionScreen) and app.screen.market == "BTC"


async def test_slash_pressed_as_the_app_starts_keeps_the_focus_on_the_line() -> None:
    """The "/" key has priority: it can run before the trading screen's on_mount, which must then
    not take the focus back to the markets (the Enter after it went to the table)."""
    app = make_app()
    seen: list[object] = []

    async def straight_away(pilot: Pilot[object]) -> None:
        await pilot.press("slash")  # no wait for the first frame, as a fast typist (or serve)
        seen.append(app.focused is app.main.command_line.input)
        app.exit()

    await app.run_async(headless=True, size=(120, 36), auto_pilot=straight_away)
    assert seen == [True]


async def test_completion_offers_open_order_numbers_after_cancel() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        ids = rest_orders(app)
        line = app.main.command_line
        assert list(line.order_ids()) == ids  # what the suggester completes /cancel with
        await pilot.press("slash", *"cancel ")
        await pilot.pause(0.2)
        await pilot.press("right")  # accept the suggestion
        assert line.input.value == "cancel all"


# ------------------------------------------------------------------ layout and header


def test_position_columns_are_kept_by_importance() -> None:
    no_tp_sl = frozenset({"tp", "sl"})
    at_80 = fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, 80 - 3, no_tp_sl)
    assert at_80 == ["market", "side", "size", "entry", "upnl", "roe", "liq", "dist"]
    at_120 = fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, 120 - 3, no_tp_sl)
    assert at_120 == [c[0] for c in POSITION_COLUMNS if c[0] not in no_tp_sl]
    with_tp_sl = fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, 120 - 3)
    assert {"tp", "sl", "entry", "roe", "mode"} <= set(with_tp_sl)
    assert "mark" not in with_tp_sl  # the markets table shows it
    # at 80 columns a stop-loss comes before the entry: it is what should beat the liquidation
    assert (flagged("80,000.0"), flagged("100,000.0")) == ("⚠ 80,000.0", "⚠100,000.0")  # 10 cells
    sl_at_80 = fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, 80 - 3, frozenset({"tp"}))
    assert sl_at_80 == ["market", "side", "size", "upnl", "roe", "liq", "dist", "sl"]
    # a stop-loss alone takes the room of one column, not two: the margin keeps its place
    sl_only = fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, 120 - 3, frozenset({"tp"}))
    assert {"sl", "mode", "margin"} <= set(sl_only) and "tp" not in sl_only


async def test_at_80_columns_the_footer_keeps_settings_and_cuts_whole_keys() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.main.query_one(DeskFooter)
        assert footer.shown_keys[:7] == ["b", "s", "x", "/", "?", "q", ","]
        used = sum(len(k) for k in footer.shown_keys)
        assert used < 80
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert "h" in app.main.query_one(DeskFooter).shown_keys


async def test_hidden_markets_are_hinted_and_a_wide_terminal_shows_every_column() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        hint = str(app.main.watchlist.border_subtitle)
        assert hint.endswith("of 22 ↓")
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
        app.session.engine.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
        await beat(pilot)
        assert "of 22" not in str(app.main.watchlist.border_subtitle)  # all 22 fit
        assert app.main.positions_table._visible == [c[0] for c in POSITION_COLUMNS]


async def test_the_change_column_says_it_is_since_launch() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        table = app.main.watchlist
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[:3] == ["Market", "Mark", "Session"]  # not "Chg": it is not 24 h
        assert "since perpdesk started" in str(table.tooltip)
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = " ".join(str(p.render()) for p in app.screen.query(Static))
        assert "Session is how far each mark moved since perpdesk started" in help_text


async def test_the_header_names_the_venue_and_the_fills() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        assert app.title == "perpdesk · Hyperliquid · fills at the mark"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await beat(pilot)
        assert app.title == "Hyperliquid"  # the feed's state and speed keep their room


async def test_available_never_shows_negative() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.5, 10, CROSS)  # fee 22.50
        # At 85,000: wallet 9,977.50, uPnL -7,500, margin in use 0.5 x 85,000 / 10 = 4,250:
        # available 9,977.50 - 7,500 - 4,250 = -1,772.50; maintenance 531.25 is still met.
        app.session.on_mark("BTC", 85_000)
        await beat(pilot)
        account = app.session.engine.account
        assert account.available == pytest.approx(-1_772.5)
        strip = str(app.main.query_one("#account", Static).render())
        assert "Available 0.00 (margin in use > equity)" in strip
        assert "-" not in strip.split("Available ")[1].split(" ")[0]


async def test_help_lists_the_other_screens_keys_and_the_suggestion_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = on_screen(app, HelpScreen)
        titles = [title for title, _ in help_screen.screen_rows]
        assert titles == [
            "On the command line ( / )",
            "On the order form (b / s)",
            "On the confirmation screen",
            "Closing a position (x)",
            "On the history screen (h)",
        ]
        line_keys = dict(help_screen.screen_rows[0][1])
        assert line_keys["→"] == "Accept the greyed-out suggestion"
        confirm = dict(help_screen.screen_rows[2][1])
        assert confirm["⏎ / y"] == "Confirm" and confirm["?"] == "Explain modes"
        history = dict(help_screen.screen_rows[4][1])
        assert history["e"] == "Export CSV"
        commands = [usage for usage, _ in help_screen.command_rows]
        for word in ("/tp", "/sl", "/cancel", "/orders", "/close", "/margin", "/reset"):
            assert any(usage.startswith(word) for usage in commands), word


async def test_the_modes_explainer_scrolls_to_the_cross_adjust_row_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.start_order("BTC", Side.LONG, size=0.01, leverage=10)
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        box = on_screen(app, ModesScreen).query_one("#modes")
        assert box.max_scroll_y > 0 and box.show_vertical_scrollbar
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y


async def test_changing_the_venue_in_settings_offers_a_fresh_season(tmp_path: Path) -> None:
    app = make_app(config_path=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        app.apply_settings(app.session.settings.with_value("account.venue", "binance"))
        await pilot.pause()
        question = on_screen(app, ConfirmScreen)
        assert question.title_text == "Trade on Binance rules?"
        await pilot.press("y")
        await beat(pilot)
        assert app.session.engine.venue.value == "binance"
        assert app.title == "perpdesk · Binance · fills at the mark"


def test_the_orders_table_fits_80_columns_leaving_out_the_margin_held() -> None:
    keys = fit_columns(ORDER_COLUMNS, ORDER_IMPORTANCE, 80 - 3)
    assert keys == [c[0] for c in ORDER_COLUMNS if c[0] != "margin"]
    assert fit_columns(ORDER_COLUMNS, ORDER_IMPORTANCE, 120 - 3) == [c[0] for c in ORDER_COLUMNS]
