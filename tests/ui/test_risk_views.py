"""Journeys through the risk views: the chart and the book following the selection, the chart
folding below 100 columns, alerts (banner, bell, log), the shock ladder, the liquidation map,
the compact ladder on the confirmation screen. Seeded feed that does not tick by itself."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import DataTable

from tests.ui.pilot_helpers import beat, enter_command, make_app, on_screen, open_order, step
from tui import actions
from tui.app import PerpDeskApp
from tui.engine import MarginMode, Side
from tui.screens.base import invoke
from tui.screens.ladder import ShockLadderScreen
from tui.screens.liqmap import LiquidationMapScreen
from tui.screens.main import MainScreen
from tui.screens.order import TradeConfirmScreen
from tui.settings import Settings
from tui.widgets.alert_banner import AlertBanner
from tui.widgets.pending_ladder import PendingLadder
from tui.widgets.plain import Plain

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


def shown(widget: Plain) -> str:
    return str(widget.render())


def bells(app: PerpDeskApp) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    return rung


async def test_the_chart_and_the_book_follow_the_selection_with_the_positions_levels() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", LONG, 0.05, 10, ISO)
        for _ in range(5):  # two and a half minutes of simulated prices: three 1 m candles
            step(app, 30)
        await pilot.pause()
        pane = app.main.market_pane
        pane.chart.flush()
        title, candles, levels, message = pane.chart.showing
        assert title == "BTC · 1m" and message is None
        assert [c.start for c in candles] == [0.0, 60.0, 120.0]
        pos = app.session.engine.position("BTC")
        assert pos is not None
        assert levels == (
            ("Entry", pos.entry_price, "entry"),
            ("Liq", pos.liquidation_price, "liq"),
        )
        assert pane.depth.showing == ("BTC book", app.session.engine.book("BTC"), None)
        assert pane.funding_text.startswith("Funding in ")

        await pilot.press("down")  # ETH: the chart follows at once, without BTC's lines
        assert pane.chart.showing[0] == "ETH · 1m" and pane.chart.showing[2] == ()
        eth_book = pane.depth.showing
        assert eth_book[0] == "ETH book" and pane.funding_text == ""
        for interval in ("5m", "1h", "1m"):
            await pilot.press("i")
            assert pane.chart.showing[0] == f"ETH · {interval}"
        assert len(pane.chart.showing[1]) == 3


async def test_below_100_columns_the_chart_folds_behind_g() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.main
        pane, log = screen.market_pane, screen.query_one("#log-box")
        assert not pane.display or pane.has_class("-hidden")
        assert not screen.chart_shown() and log.display
        assert log.border_title == "Event log · g chart"  # where the chart went
        for _ in range(10):  # five minutes of prices while the chart is folded
            step(app, 30)
        await pilot.pause()
        await pilot.press("g")  # the chart takes the event log's place, without the book
        assert screen.chart_shown() and not pane.has_class("-hidden")
        assert log.has_class("-hidden") and pane.depth.has_class("-hidden")
        assert pane.chart.showing[0] == "BTC · 1m"
        # every minute at once, not a single candle until prices move again
        minutes = app.session.candles.candles("BTC", "1m")
        assert len(minutes) >= 5 and pane.chart.showing[1] == tuple(minutes)
        await pilot.press("i")
        assert pane.chart.showing[0] == "BTC · 5m"
        await pilot.press("g")
        assert not screen.chart_shown() and not log.has_class("-hidden")
        await pilot.resize_terminal(120, 36)  # wide: on screen, with the book, log below
        await pilot.pause()
        assert screen.chart_shown() and not pane.has_class("-hidden")
        assert not log.has_class("-hidden") and not pane.depth.has_class("-hidden")
        assert log.border_title == "Event log"
        await pilot.press("g")  # wide too, g hides it
        assert pane.has_class("-hidden") and not screen.chart_shown()


async def test_the_interval_key_says_so_while_the_chart_is_folded() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        assert [n.message for n in app._notifications] == ["Chart candles: 5m (g shows the chart)."]


async def test_a_risk_alert_is_a_banner_a_toast_the_bell_and_a_log_line_once() -> None:
    app = make_app()
    rung = bells(app)
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        eng.open("SOL", LONG, 20, 20, ISO)
        await beat(pilot)
        banner = app.main.query_one(AlertBanner)
        assert not banner.has_class("-shown") and rung == []
        pos = eng.position("SOL")
        assert pos is not None and pos.liquidation_price is not None
        app.session.on_mark("SOL", pos.liquidation_price * 1.015)
        await beat(pilot)
        assert banner.has_class("-shown")
        assert "SOL isolated long is 1.48% from liquidation (alert at 2.0%)" in shown(banner)
        assert rung == [1]
        assert [n.title for n in app._notifications] == ["Risk alert"]
        assert sum("Risk alert" in line.text for line in app.session.log) == 1
        app.session.on_mark("SOL", pos.liquidation_price * 1.012)
        await beat(pilot)
        assert rung == [1]  # the same crossing: no second bell
        app.session.on_mark("SOL", pos.liquidation_price * 1.05)  # eased: the banner goes
        await beat(pilot)
        assert not banner.has_class("-shown")


async def test_bell_false_keeps_the_alert_quiet_but_shown() -> None:
    settings = Settings()
    app = make_app(replace(settings, ui=replace(settings.ui, bell=False)))
    rung = bells(app)
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        eng.open("SOL", LONG, 20, 20, ISO)
        pos = eng.position("SOL")
        assert pos is not None and pos.liquidation_price is not None
        app.session.on_mark("SOL", pos.liquidation_price * 1.01)
        await beat(pilot)
        assert app.main.query_one(AlertBanner).has_class("-shown") and rung == []


async def test_the_shock_ladder_from_its_key_the_palette_and_the_command_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        eng.open("BTC", LONG, 0.05, 10, ISO)
        eng.open("ETH", SHORT, 1.5, 5, CROSS)
        await beat(pilot)
        await pilot.press("w")
        await pilot.pause()
        ladder = on_screen(app, ShockLadderScreen)
        assert ladder.market == "BTC"
        table = ladder.query_one("#ladder", DataTable)
        assert table.row_count == 61
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "+0.0000"
        notes = shown(ladder.query_one("#ladder-text", Plain))
        assert "If prices fall, liquidations in order:" in notes
        assert "#1 at -9." in notes and "BTC Isolated long" in notes
        assert "(only its own margin)" in notes
        assert "If prices rise: no liquidation within +30 %." in notes

        await pilot.press("a")  # every market together, by beta
        await pilot.pause()
        assert ladder.market is None
        assert shown(ladder.query_one("#ladder-title", Plain)).startswith(
            "Every market moves together"
        )
        await pilot.press("right")  # one market again: the next with a position
        await pilot.pause()
        assert ladder.market == "BTC"
        await pilot.press("right")
        await pilot.pause()
        assert ladder.market == "ETH"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)

        await enter_command(pilot, "shock")
        assert on_screen(app, ShockLadderScreen).market == "BTC"
        await pilot.press("w")
        await pilot.pause()
        invoke(app, actions.BY_ID["shock"])  # the palette's way
        await pilot.pause()
        assert isinstance(app.screen, ShockLadderScreen)


async def test_a_selected_market_with_nothing_held_opens_the_every_market_ladder() -> None:
    """BTC is selected (the first row) but only ETH is held: BTC moved alone would move
    nothing the trader holds, so `w` opens on every market by beta, and `a` goes to BTC."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("ETH", SHORT, 1.5, 5, CROSS)
        await beat(pilot)
        assert app.main.selected_market() == "BTC"
        await pilot.press("w")
        await pilot.pause()
        ladder = on_screen(app, ShockLadderScreen)
        assert ladder.market is None
        title = shown(ladder.query_one("#ladder-title", Plain))
        assert title.startswith("Every market moves together") and "ETH" in title
        await pilot.press("a")
        await pilot.pause()
        assert ladder.market == "BTC"


async def test_the_shock_ladder_without_positions_says_what_there_is_to_shock() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        ladder = on_screen(app, ShockLadderScreen)
        assert ladder.query_one("#ladder", DataTable).row_count == 61  # BTC alone: no positions
        await pilot.press("a")
        await pilot.pause()
        title = shown(ladder.query_one("#ladder-title", Plain))
        assert title == "There are no open positions or orders to shock."
        assert not ladder.query("#ladder")


async def test_the_liquidation_map_from_its_key_and_the_command_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        screen = on_screen(app, LiquidationMapScreen)
        assert shown(screen.query_one("#map-axes", Plain)).startswith("No open positions")
        await pilot.press("escape")
        eng = app.session.engine
        eng.open("BTC", LONG, 0.05, 10, CROSS)
        eng.open("ETH", SHORT, 1.5, 5, CROSS)
        eng.open("SOL", LONG, 20, 20, ISO)
        await beat(pilot)
        await enter_command(pilot, "liqmap")
        screen = on_screen(app, LiquidationMapScreen)
        axes = shown(screen.query_one("#map-axes", Plain))
        for name in ("BTC cross long", "ETH cross short", "SOL iso long"):
            assert name in axes
        assert "sigma after 10 minutes of prices" in axes and "✕" in axes
        links = shown(screen.query_one("#map-links", Plain))
        assert "ETH +1 %: BTC cross long liquidation " in links
        assert "BTC +1 %: ETH cross short liquidation " in links
        funding = shown(screen.query_one("#map-funding", Plain))
        assert "SOL iso long: Funding in " in funding
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_the_confirmation_shows_the_ladder_with_and_without_the_order() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("ETH", SHORT, 1.5, 5, CROSS)
        await beat(pilot)
        await open_order(pilot, [], size="0.05", lev="20")
        confirm = on_screen(app, TradeConfirmScreen)
        lines = shown(confirm.query_one(PendingLadder)).splitlines()
        assert lines[0].startswith("What if BTC   -30%  -25%")
        assert lines[1].split()[1:] == ["0"] * 13  # BTC alone: the ETH short does not move
        assert lines[2].startswith("With order")
        assert lines[3].endswith("now: none within 30 % · with order: falls -4.0 % BTC iso")
        await pilot.press("c")  # cross: the whole cross balance stands behind it
        await pilot.pause()
        cross = shown(confirm.query_one(PendingLadder)).splitlines()
        assert cross[3].endswith("with order: none within 30 %")


async def test_a_hostile_market_name_is_shown_escaped_in_every_risk_view() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        evil = "EV\x1b[2J\u202e"
        eng.add_market(replace(eng.market("SOL"), name=evil))
        app.session.on_mark(evil, 180.0)
        eng.open(evil, LONG, 20, 20, ISO)
        pos = eng.position(evil)
        assert pos is not None and pos.liquidation_price is not None
        app.session.on_mark(evil, pos.liquidation_price * 1.01)  # an alert: the banner
        await beat(pilot)
        seen = [shown(app.main.query_one(AlertBanner))]
        await pilot.press("w")
        await pilot.pause()
        ladder = on_screen(app, ShockLadderScreen)
        assert ladder.market is None  # BTC holds nothing: every market, the name's too
        seen += [shown(ladder.query_one(s, Plain)) for s in ("#ladder-title", "#ladder-text")]
        table = ladder.query_one("#ladder", DataTable)
        seen += [str(c.label) for c in table.columns.values()]
        await pilot.press("escape")
        await pilot.press("m")
        await pilot.pause()
        liqmap = on_screen(app, LiquidationMapScreen)
        seen += [shown(liqmap.query_one(s, Plain)) for s in ("#map-axes", "#map-funding")]
        for text in seen:
            assert "\x1b" not in text and "\u202e" not in text
        assert sum("EV\\x1b[2J\\u202e" in text for text in seen) >= 5
