"""The history screen: tabs, practice stats, post-mortems, CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent

from tests.ui.pilot_helpers import beat, make_app
from tui.engine import MarginMode, Side
from tui.screens.history import HistoryScreen
from tui.screens.main import MainScreen

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS


def plain(widget: Static) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=118, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def some_history(app) -> None:  # type: ignore[no-untyped-def]
    """A win, a loss, funding both ways, and an isolated liquidation."""
    eng = app.session.engine
    eng.set_mark("BTC", 100_000)
    eng.set_mark("ETH", 4_000)
    eng.open("BTC", Side.LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 101_000)
    eng.close("BTC")  # +100
    eng.open("ETH", Side.SHORT, 1, 5, CROSS)
    eng.apply_funding("ETH", 0.0001)  # a short receives 0.40
    eng.set_mark("ETH", 4_100)
    eng.close("ETH")  # -100
    eng.open("BTC", Side.LONG, 0.05, 40, ISO)
    eng.apply_funding("BTC", 0.0001)  # pays 0.505
    eng.set_mark("BTC", 98_000)  # liquidated
    app.refresh_now()


async def test_history_shows_every_tab_and_the_stats(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        await pilot.press("h")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        fills = screen.query_one("#table-fills", DataTable)
        assert fills.row_count == 5  # 3 opens, 2 closes (the liquidation is not a fill)
        assert screen.query_one("#table-liquidations", DataTable).row_count == 1
        assert screen.query_one("#table-funding", DataTable).row_count == 2
        closed = screen.query_one("#table-closed", DataTable)
        assert closed.row_count == 3
        assert "LIQUIDATED" in str(closed.get_row_at(0)[-1])
        stats = plain(screen.query_one("#stats", Static))
        assert "Practice stats" in stats
        lines = {line.split()[0]: line.split()[1:] for line in stats.splitlines()[2:5]}
        assert lines["All"][0] == "-0.00" or lines["All"][0].startswith(("+", "-"))
        assert lines["Isolated"][-1] == "1" and lines["Cross"][-1] == "0"  # liquidations
        assert lines["Cross"][6] == "0%"  # the ETH short lost: win rate 0 %
        net = app.session.engine.account  # the "All" net result is what trading did to the wallet
        assert lines["All"][0] == f"{net.wallet_balance + net.isolated_margin - 10_000:+,.2f}"
        post = str(screen.query_one("#postmortem-text", Static).render())
        assert "BTC long" in post and "Cross would have" in post
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == "tab-liquidations"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_history_follows_new_records_and_keeps_the_row_selected(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        await pilot.press("h")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        fills = screen.query_one("#table-fills", DataTable)
        fills.focus()
        await pilot.press("down")  # the second newest fill
        chosen = fills.coordinate_to_cell_key(fills.cursor_coordinate).row_key
        eng = app.session.engine
        eng.open("ETH", Side.LONG, 1, 5, CROSS)  # a new fill while history is open
        eng.apply_funding("ETH", 0.0001)
        await beat(pilot)
        assert fills.row_count == 6
        assert screen.query_one("#table-funding", DataTable).row_count == 3
        assert fills.coordinate_to_cell_key(fills.cursor_coordinate).row_key == chosen
        assert fills.cursor_row == 2  # the same fill, one row lower


async def test_export_writes_the_tab_shown_to_a_path_it_names(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("4", "e")
        await pilot.pause()
        files = list((tmp_path / "data" / "exports").glob("*.csv"))
        assert len(files) == 1 and "closed" in files[0].name
        with files[0].open() as handle:
            rows = list(csv.reader(handle))
        assert len(rows) == 4  # header + 3 round trips
        assert any(files[0].name in n.message for n in app._notifications)
        assert app.main.log_widget.lines[0] == f"Exported closed to {files[0]}"


async def test_export_failure_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    app = make_app(data_dir=blocker)
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert any(n.severity == "error" for n in app._notifications)


async def test_empty_history_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        post = str(app.screen.query_one("#postmortem-text", Static).render())
        assert "No liquidations yet" in post


def test_history_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        some_history(pilot.app)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)
