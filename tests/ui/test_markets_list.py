"""Pilot journeys on Markets: filter by typing, sort, star (kept in the settings), the change
column's heading, a mark for a market perpdesk does not list, and a live venue listing 200
markets (a local server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets.data_table import ColumnKey

from tests.market.venue_fakes import FakeHyperliquid, extra_name, fake_hyperliquid, price_of
from tests.ui.pilot_helpers import beat, make_app
from tui.app import PerpDeskApp
from tui.engine import MarginMode, Market, PaperEngine, Side, default_markets
from tui.market import DEFAULT_SYMBOLS, HyperliquidSource
from tui.screens.main import MARKETS_KEYS, RESORT_SECONDS, STAR
from tui.settings import Settings, load_settings


def rows(app: PerpDeskApp) -> list[str]:
    return app.main.watchlist.row_ids


def subtitle(app: PerpDeskApp) -> str:
    """The line under Markets: what it shows, then "17 of 22 ↓" when some are out of view."""
    return str(app.main.watchlist.border_subtitle)


def heading(app: PerpDeskApp, key: str) -> str:
    return str(app.main.watchlist.columns[ColumnKey(key)].label)


async def type_text(pilot: Pilot[None], text: str) -> None:
    for char in text:
        await pilot.press(char)
    await pilot.pause()


async def test_typing_filters_markets_enter_keeps_it_and_esc_clears_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        assert rows(app) == list(DEFAULT_SYMBOLS)
        assert subtitle(app).startswith(MARKETS_KEYS + " · ")  # and how many are shown
        await pilot.press("f")
        focused: object = app.focused
        assert focused is app.main.market_filter.input
        await type_text(pilot, "a")
        assert rows(app) == ["ADA", "AVAX", "NEAR", "APT", "ARB", "AAVE"]  # any case
        await type_text(pilot, "v-")  # only letters and digits can be typed
        assert rows(app) == ["AVAX", "AAVE"] and app.main.market_filter.input.value == "av"
        assert app.main.watchlist.border_subtitle == "“av”: 2 of 22"
        await pilot.press("enter")
        await pilot.pause()
        assert not app.main.market_filter.display
        focused = app.focused
        assert focused is app.main.watchlist
        assert rows(app) == ["AVAX", "AAVE"]
        assert app.main.selected_market() == "AVAX"  # b and s trade what is shown
        await pilot.press("f")  # opens on the filter in force
        assert app.main.market_filter.input.value == "av"
        await pilot.press("enter", "escape")  # Esc on Markets clears the filter
        await pilot.pause()
        assert rows(app) == list(DEFAULT_SYMBOLS)
        assert subtitle(app).startswith(MARKETS_KEYS + " · ")  # and how many are shown


async def test_slash_while_filtering_opens_the_command_line_and_keeps_the_filter() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f")
        await type_text(pilot, "sol/")
        assert app.main.command_line.display and not app.main.market_filter.display
        focused: object = app.focused
        assert focused is app.main.command_line.input
        assert rows(app) == ["SOL"]
        await pilot.press("escape")  # the command line closes; Markets keeps the filter
        await pilot.pause()
        assert not app.main.command_line.display and rows(app) == ["SOL"]
        focused = app.focused
        assert focused is app.main.watchlist


async def test_esc_in_the_prompt_clears_the_filter_and_the_cursor_stays_on_its_market() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("down", "down")  # SOL
        await pilot.press("f")
        await type_text(pilot, "sol")
        assert rows(app) == ["SOL"]
        await pilot.press("escape")
        await pilot.pause()
        assert not app.main.market_filter.display
        assert rows(app) == list(DEFAULT_SYMBOLS)
        assert app.main.selected_market() == "SOL"


async def test_a_filter_matching_nothing_shows_an_empty_list_and_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("f")
        await type_text(pilot, "zzz")
        assert rows(app) == []
        assert app.main.watchlist.border_subtitle == "“zzz”: 0 of 22"
        assert app.main.selected_market() is None
        await pilot.press("enter", "b")  # nothing selected: b does nothing
        await pilot.pause()
        assert app.screen is app.main


async def test_sort_cycles_change_funding_name_and_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        session = app.session
        for i, name in enumerate(DEFAULT_SYMBOLS):  # a known change and rate per market
            start = session.launch_marks[name]
            session.on_mark(name, start * (1 + (i % 7 - 3) / 100))
            session.on_funding_rate(name, (i % 5) / 100_000)
        await beat(pilot)
        await pilot.press("greater_than_sign")
        changes = [session.change_basis(n) for n in rows(app)]
        moves = [session.engine.mark(n) / b - 1 for n, b in zip(rows(app), changes, strict=True)]  # type: ignore[operator]
        assert moves == sorted(moves, reverse=True) and moves[0] == pytest.approx(0.03)
        assert subtitle(app).startswith("by change · ")
        await pilot.press("greater_than_sign")
        rates = [session.engine.funding_rate(n) for n in rows(app)]
        assert rates == sorted(rates, reverse=True)  # type: ignore[type-var]
        await pilot.press("greater_than_sign")
        assert rows(app) == sorted(DEFAULT_SYMBOLS)
        await pilot.press("greater_than_sign")
        assert rows(app) == list(DEFAULT_SYMBOLS)
        assert subtitle(app).startswith(MARKETS_KEYS + " · ")  # and how many are shown


async def test_a_star_puts_a_market_on_top_and_is_kept_in_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my settings\n[ui]\ntheme = "nord"\n')
    app = make_app(load_settings(path).settings, config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("down", "down", "down")  # XRP
        await pilot.press("asterisk")
        await pilot.pause()
        assert rows(app)[:2] == ["XRP", "BTC"]
        assert app.main.selected_market() == "XRP"  # the cursor went with it
        assert app.main.watchlist.cells_of("XRP")[0] == STAR + "XRP"
        assert app.session.settings.ui.favourites == ("XRP",)
        assert load_settings(path).settings.ui.favourites == ("XRP",)
        assert path.read_text().startswith("# my settings\n")  # the rest of the file stands
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")  # name
        assert rows(app)[:2] == ["XRP", "AAVE"]  # starred first whatever the order
        await pilot.press("asterisk")
        await pilot.pause()
        assert rows(app)[:2] == ["AAVE", "ADA"]
        assert load_settings(path).settings.ui.favourites == ()


async def test_a_star_that_cannot_be_saved_still_stars_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "no-such-dir" / "sub" / "config.toml"
    (tmp_path / "no-such-dir").write_text("a file where a folder should be")
    app = make_app(config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("asterisk")
        await pilot.pause()
        assert rows(app)[0] == "BTC" and app.session.settings.ui.favourites == ("BTC",)
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert len(warnings) == 1 and warnings[0].startswith("Starred for now, not saved:")


async def test_favourites_from_the_settings_come_first() -> None:
    app = make_app(Settings().with_value("ui.favourites", ("SOL", "kPEPE", "ETH")))
    async with app.run_test(size=(120, 36)):
        # starred first, in the usual order among themselves; kPEPE is not listed here: no row
        assert rows(app)[:3] == ["ETH", "SOL", "BTC"]


async def test_the_change_column_says_since_launch_for_the_simulation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)):
        assert heading(app, "change") == "Session"


async def test_a_mark_for_a_market_not_listed_is_said_once() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(3):
            for i in range(20):
                app.session.on_mark("NOPE", 1.0 + i)
            await beat(pilot)
        lines = [line for line in app.main.log_widget.lines if "NOPE" in line]
        assert len(lines) == 1 and "perpdesk does not list: NOPE" in lines[0]
        assert app.session.unknown_marks == {"NOPE": 60}
        assert "NOPE" not in rows(app)


# ---------------------------------------------------------------- a whole venue, live


async def test_a_live_venue_listing_200_markets_fills_markets_with_24h_changes() -> None:
    venue = FakeHyperliquid()
    async with fake_hyperliquid(venue) as url:
        source = HyperliquidSource(None, url=url, backoff_base=0.02, backoff_cap=0.05)
        app = make_app(source=source, autostart_feed=True)
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(400):
                await beat(pilot)
                if len(rows(app)) == 200 and len(app.session.prev_day) == 200:
                    break
                await asyncio.sleep(0.02)
            assert len(rows(app)) == 200 and len(app.session.engine.markets) == 200
            assert heading(app, "change") == "24h"
            await beat(pilot)
            # M010: mark 1.10 (creeping up), 24 h ago 1.10 / 1.1 = 1.00: +10.00 %
            assert app.main.watchlist.cells_of("M010")[2][0] == "+10.00%"
            assert app.main.watchlist.cells_of("M010")[4] == "5x"
            await pilot.press("f")
            await type_text(pilot, "m00")
            assert rows(app) == [extra_name(i) for i in range(1, 10)]
            await pilot.press("enter")
            lines = [line for line in app.main.log_widget.lines if "Hyperliquid lists" in line]
            assert lines == [
                "Hyperliquid lists 200 markets; 178 added to Markets; the tables perpdesk ships "
                "still match the venue's."
            ]
            assert app.session.unknown_marks == {} and app.session.bad_marks == 0
            app.workers.cancel_group(app, "feed")


# ---------------------------------------------------------------- 200 markets, no feed


def venue_engine(total: int = 200) -> PaperEngine:
    """The 22 default markets and made-up ones (M001, ...) up to ``total``, each with a mark:
    M001 at 1.01, M002 at 1.02, ... (no feed: Markets shows every market the engine lists)."""
    markets = default_markets()
    markets += [Market(extra_name(i), max_leverage=5) for i in range(1, total - len(markets) + 1)]
    engine = PaperEngine(markets=markets)
    for market in markets:
        engine.set_mark(market.name, price_of(market.name))
    return engine


def cursor_in_view(app: PerpDeskApp) -> bool:
    table = app.main.watchlist
    top = round(table.scroll_y)
    return top <= table.cursor_row < top + table.scrollable_content_region.height - 1


async def test_with_200_markets_the_cursor_follows_its_market_through_filter_sort_and_star(
    tmp_path: Path,
) -> None:
    app = make_app(engine=venue_engine(), source=None, config_path=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        assert len(rows(app)) == 200
        await pilot.press("f")
        await type_text(pilot, "m150")
        await pilot.press("enter", "escape")  # M150 chosen, the filter cleared
        await pilot.pause()
        assert len(rows(app)) == 200 and app.main.selected_market() == "M150"
        assert app.main.watchlist.cursor_row == 22 + 149 and cursor_in_view(app)
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        await pilot.pause()
        assert subtitle(app).startswith("by name · 17 of 200 ")  # scrolled: rows above, below
        assert rows(app)[:3] == ["AAVE", "ADA", "APT"] and rows(app)[-1] == "XRP"
        assert app.main.selected_market() == "M150" and cursor_in_view(app)
        await pilot.press("asterisk")
        await pilot.pause()
        assert rows(app)[0] == "M150" and app.main.watchlist.cursor_row == 0
        assert app.main.watchlist.scroll_y == 0
        assert app.session.settings.ui.favourites == ("M150",)


async def test_sorted_by_a_moving_figure_rows_move_every_two_seconds_at_most() -> None:
    clock = [0.0]
    app = make_app(engine=venue_engine(), source=None, monotonic=lambda: clock[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("greater_than_sign")  # by change (since launch): all 0.00 %
        await pilot.pause()
        assert rows(app)[:2] == ["BTC", "ETH"]
        app.session.on_mark("M100", price_of("M100") * 1.5)  # +50 %: first when sorted
        clock[0] = RESORT_SECONDS - 0.1
        await beat(pilot)
        assert rows(app)[:2] == ["BTC", "ETH"]  # held: rows do not jump on every refresh
        assert app.main.watchlist.cells_of("M100")[2][0] == "+50.00%"  # figures still move
        clock[0] = RESORT_SECONDS
        await beat(pilot)
        assert rows(app)[:2] == ["M100", "BTC"]
        app.session.on_mark("M101", price_of("M101") * 2)
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        await pilot.press("greater_than_sign")  # a key sorts at once
        await pilot.pause()
        assert rows(app)[:2] == ["M101", "M100"]


async def test_a_view_scrolled_away_is_not_pulled_back_when_the_order_moves() -> None:
    clock = [0.0]
    app = make_app(engine=venue_engine(), source=None, monotonic=lambda: clock[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("greater_than_sign")  # by change (since launch)
        await beat(pilot)
        table = app.main.watchlist
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        bottom = table.scroll_y
        assert bottom > 0 and app.main.selected_market() == rows(app)[0]
        chosen = rows(app)[0]
        app.session.on_mark("M100", price_of("M100") * 1.5)  # M100 goes top: every row moves
        clock[0] = RESORT_SECONDS
        await beat(pilot)
        assert rows(app)[0] == "M100" and app.main.selected_market() == chosen
        assert table.scroll_y == bottom  # the wheel's view stays where it was put
        await pilot.press("down")  # the keys bring it back to the cursor
        await pilot.pause()
        assert cursor_in_view(app)


async def test_a_big_move_fits_the_change_column() -> None:
    app = make_app(engine=venue_engine(22), source=None)
    async with app.run_test(size=(120, 36)) as pilot:
        session = app.session
        for name, factor in (("BTC", 2.5), ("ETH", 13.3), ("SOL", 0.05), ("XRP", 1.0012)):
            session.on_mark(name, session.launch_marks[name] * factor)
        await beat(pilot)
        cells = {n: app.main.watchlist.cells_of(n)[2][0] for n in ("BTC", "ETH", "SOL", "XRP")}
        assert cells == {"BTC": "+150.0%", "ETH": "+1230%", "SOL": "-95.00%", "XRP": "+0.12%"}


async def test_a_market_name_from_outside_is_shown_with_its_controls_escaped() -> None:
    app = make_app(engine=venue_engine(22), source=None)
    async with app.run_test(size=(120, 36)) as pilot:
        engine = app.session.engine
        engine.add_market(Market("EVIL\x1b[2J\x07", max_leverage=5))
        app.session.on_mark("EVIL\x1b[2J\x07", 2.0)
        engine.open("EVIL\x1b[2J\x07", Side.LONG, 10, 5, MarginMode.ISOLATED)
        await beat(pilot)
        assert app.main.watchlist.cells_of("EVIL\x1b[2J\x07")[0] == "EVIL\\x1b[2J\\x07"
        assert app.main.positions_table.cells_of("EVIL\x1b[2J\x07")[0] == "EVIL\\x1b[2J\\x07"
        await pilot.press("f")
        await type_text(pilot, "evil")
        assert rows(app) == ["EVIL\x1b[2J\x07"]
