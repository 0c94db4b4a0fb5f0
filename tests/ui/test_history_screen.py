"""The history screen: each tab, paging as the trader scrolls, new records while it is open,
exports in a worker with their progress, and the feed going on while a large account's
history opens."""

from __future__ import annotations

import asyncio
import csv
import gc
import importlib
import io
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import ProgressBar, Static

from tests.ui.pilot_helpers import beat, make_app, on_screen
from tui.app import PerpDeskApp
from tui.engine import MarginMode, OrderType, Side
from tui.journal import Journal, JournalView
from tui.market import PriceSource
from tui.market.base import MarkSink
from tui.screens.history import TABS, HistoryScreen
from tui.screens.history.pane import TablePane
from tui.screens.history.stats import StatsPane
from tui.screens.history.tables import FillsPane, LiquidationsPane
from tui.screens.main import MainScreen
from tui.widgets.paged_table import PagedTable

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
BENCH = Path(__file__).resolve().parents[2] / "bench"


def some_history(app: PerpDeskApp) -> None:
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


def text_of(widget: Widget, selector: str) -> str:
    """What the Static at ``selector`` shows (text, or a Rich table), as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.query_one(selector, Static).content)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def read(table: PagedTable[Any]) -> bool:
    return table.started and not table.reading


async def settle(pilot: Pilot[None], screen: HistoryScreen, tab: str | None = None) -> Any:
    """Wait until the tab (default: the one shown) has read what it shows."""
    for _ in range(200):
        await pilot.pause()
        pane = screen.panes.get(tab or screen.active_tab)
        if isinstance(pane, TablePane) and pane.count is not None and read(pane.table):
            return pane
        if isinstance(pane, StatsPane) and "Loading" not in text_of(pane, "#stats-table"):
            return pane
        await asyncio.sleep(0.01)
    raise AssertionError(f"the {tab or screen.active_tab} tab never finished loading")


def cells(pane: TablePane[Any], row: int) -> dict[str, str]:
    """The row's cells by column title, as plain text."""
    values = pane.table.get_row_at(row)
    return {
        title: str(getattr(v, "plain", v)).strip()
        for title, v in zip(pane.table.shown_columns, values, strict=True)
    }


async def open_history(pilot: Pilot[None]) -> HistoryScreen:
    await pilot.press("h")
    screen = on_screen(pilot.app, HistoryScreen)  # type: ignore[arg-type]
    await settle(pilot, screen)
    return screen


async def no_toasts(pilot: Pilot[None]) -> None:
    """Snapshots: the liquidation's toast would cover the tables."""
    pilot.app.clear_notifications()
    await pilot.pause(0.1)


# --------------------------------------------------------------------------- each tab


async def test_each_tab_shows_its_table_built_when_first_shown(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(160, 40)) as pilot:
        some_history(app)
        eng = app.session.engine
        eng.open("SOL", Side.LONG, 10, 5, ISO)
        eng.add_margin("SOL", 50)  # a margin move
        order = eng.place_order("ETH", Side.LONG, 1, OrderType.LIMIT, price=3_000, leverage=5)
        eng.cancel_order(order.id)
        app.refresh_now()
        screen = await open_history(pilot)
        assert list(screen.panes) == ["fills"]  # the other tabs are not built yet
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        assert fills.table.row_count == 6  # 4 opens, 2 closes (a liquidation is not a fill)
        assert cells(fills, 2)["Action"] == "close short"
        assert cells(fills, 2)["Realized PnL"] == "-100.00"
        assert cells(fills, 4)["Realized PnL"] == "+100.00"
        assert cells(fills, 4)["Slippage"] == "0.0 bp"  # at the mark: no book, no slippage
        assert "6 of 6 fills" in text_of(fills, ".status")

        await pilot.press("2")
        liqs = await settle(pilot, screen)
        assert isinstance(liqs, LiquidationsPane) and liqs.table.row_count == 1
        assert cells(liqs, 0)["Margin lost"] == "125.75"
        post = text_of(liqs, "#postmortem-text")
        assert post.startswith("Post-mortem: BTC long 0.05 at 40x") and "Cross would have" in post

        await pilot.press("3")
        funding = await settle(pilot, screen)
        signs = [cells(funding, r)["+Received/-Paid"] for r in range(2)]
        assert signs == ["-0.51", "+0.40"]  # paid by the BTC long, received by the ETH short

        await pilot.press("4")
        transfers = await settle(pilot, screen)
        assert cells(transfers, 0) == {
            "Time": cells(transfers, 0)["Time"],
            "Market": "SOL",
            "Moved": "wallet → margin",
            "Amount": "50.00",
        }

        await pilot.press("5")
        closed = await settle(pilot, screen)
        assert closed.table.row_count == 3
        assert cells(closed, 0)["Result"] == "LIQUIDATED"
        assert [cells(closed, r)["Net"] for r in (1, 2)] == ["-103.24", "+90.95"]

        await pilot.press("6")
        orders = await settle(pilot, screen)
        assert orders.table.row_count == 1
        row = cells(orders, 0)
        assert (row["Type"], row["Status"], row["Price"]) == ("Limit", "cancelled", "3,000.00")

        await pilot.press("7")
        stats = await settle(pilot, screen)
        text = text_of(stats, "#stats-table")
        assert "Net result (after fees)" in text and "Realized PnL (before fees)" in text
        assert "Funding received" in text and "Funding paid" in text
        assert "Execution cost" in text and "Impact (walking the book)" in text
        liquidated = next(line for line in text.splitlines() if "positions they closed" in line)
        assert liquidated.split()[-3:] == ["1", "1", "0"]
        shown = ("fills", "liquidations", "funding", "transfers", "closed", "orders", "stats")
        assert set(screen.panes) == set(shown) <= {tab.id for tab in TABS}  # built when shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_stats_say_net_of_fees_and_show_the_gross(tmp_path: Path) -> None:
    """Long 0.1 BTC at 100,000, closed at 100,030: +3.00 before fees, 9.00 of fees: a loss
    net, a win before fees, and the stats say both."""
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        eng.set_mark("BTC", 100_000)
        eng.open("BTC", Side.LONG, 0.1, 10, ISO)
        eng.set_mark("BTC", 100_030)
        eng.close("BTC")
        screen = await open_history(pilot)
        await pilot.press("7")
        stats = await settle(pilot, screen)
        lines = {
            line[:27].strip(): line[27:].split()
            for line in text_of(stats, "#stats-table").splitlines()
        }
        assert lines["Net result (after fees)"][0] == "-6.00"
        assert lines["Realized PnL (before fees)"][0] == "+3.00"
        assert lines["Round trips closed"][0] == "1"
        assert lines["won, net of fees"][0] == "0%"
        assert lines["won before fees"][0] == "100%"
        summary = text_of(screen, "#summary")
        assert summary.startswith("Net -6.00 after fees · gross +3.00")


def test_the_summary_line_groups_thousands_and_keeps_what_fits() -> None:
    from tui.history import Stats
    from tui.screens.history.stats import summary

    stats = Stats(
        realized_pnl=-10_300_947.59,
        fees_paid=2_176_155.40,
        closed_positions=14_380,
        wins=4_085,
        liquidations=432,
        positions_liquidated=440,
    )
    line = summary(stats, 200)
    assert line == (
        "Net -12,477,102.99 after fees · gross -10,300,947.59 · 4,085 of 14,380 round trips"
        " won · 432 liquidations · execution cost 2,176,155.40"
    )
    assert summary(stats, 60) == "Net -12,477,102.99 after fees · gross -10,300,947.59"


async def test_fills_through_a_book_show_slippage_and_their_cost_split(tmp_path: Path) -> None:
    """Long 0.3 BTC into asks 100,010 x 0.2 and 100,020 x 0.1 at a mark of 100,000: VWAP
    100,013.33, slippage 1.3 bp, spread 3.00, impact 1.00; the stats add them up."""
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(160, 40)) as pilot:
        eng = app.session.engine
        eng.set_mark("BTC", 100_000)
        eng.set_book("BTC", [(99_990.0, 1.0)], [(100_010.0, 0.2), (100_020.0, 0.1)])
        eng.open("BTC", Side.LONG, 0.3, 10, ISO)
        screen = await open_history(pilot)
        row = cells(screen.panes["fills"], 0)  # type: ignore[arg-type]
        assert (row["Slippage"], row["Spread"], row["Impact"]) == ("+1.3 bp", "3.00", "1.00")
        await pilot.press("7")
        stats = await settle(pilot, screen)
        text = text_of(stats, "#stats-table")
        spread = next(line for line in text.splitlines() if "Spread" in line)
        assert spread.split()[1:] == ["3.00", "3.00", "0.00"]


async def test_80_columns_keep_whole_titles_by_importance(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(80, 24)) as pilot:
        some_history(app)
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        shown = fills.table.shown_columns
        assert shown == ["Time", "Market", "Action", "Size", "Price", "Fee", "Realized PnL"]
        widths = [c.get_render_width(fills.table) for c in fills.table.ordered_columns]
        assert sum(widths) <= fills.table.size.width  # nothing cut, nothing off screen
        assert all(w >= len(t) + 2 for w, t in zip(widths, shown, strict=True))
    async with make_app(data_dir=tmp_path / "data").run_test(size=(200, 40)) as pilot:
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        assert [c.title for c in fills.columns] == fills.table.shown_columns  # all of them


# --------------------------------------------------------------------------- paging


def journaled_app(data_dir: Path) -> PerpDeskApp:
    journal = Journal.open(data_dir, lock=False, synchronous="OFF")
    return make_app(journal=journal, data_dir=data_dir)


def many_fills(data_dir: Path, n: int) -> None:
    journal = Journal.open(data_dir, lock=False, synchronous="OFF")
    eng = journal.engine
    eng.set_mark("BTC", 100_000)
    for i in range(n):
        eng.open("BTC", Side.LONG if i % 2 == 0 else Side.SHORT, 0.001, 5, ISO)
    journal.close()


async def test_pages_are_read_as_the_cursor_nears_the_end(tmp_path: Path) -> None:
    many_fills(tmp_path / "data", 250)
    app = journaled_app(tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        assert fills.table.row_count == 100  # one page
        assert "100 of 250 fills, newest first · more as you scroll" in text_of(fills, ".status")
        fills.table.move_cursor(row=75)  # still 25 rows from the end: nothing read
        await settle(pilot, screen)
        assert fills.table.row_count == 100
        fills.table.move_cursor(row=85)  # within 20 rows of the end: the next page
        await settle(pilot, screen)
        assert fills.table.row_count == 200
        await pilot.press("ctrl+end")  # the last row loaded: the last page
        await settle(pilot, screen)
        assert fills.table.row_count == 250 and fills.table.complete
        assert [f.seq for f in fills.table.items] == list(range(250, 0, -1))
        assert text_of(fills, ".status") == "250 of 250 fills, newest first"


async def test_scrolling_the_view_reads_the_next_page_too(tmp_path: Path) -> None:
    many_fills(tmp_path / "data", 150)
    app = make_app(
        journal=Journal.open(tmp_path / "data", lock=False, synchronous="OFF"),
        data_dir=tmp_path / "data",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        table = screen.panes["fills"].table  # type: ignore[attr-defined]
        assert table.row_count == 100 and table.cursor_row == 0
        table.scroll_to(y=90, animate=False)  # the wheel moves the view, not the cursor
        await settle(pilot, screen)
        assert table.row_count == 150 and table.cursor_row == 0


def held(table: PagedTable[Any]) -> list[int]:
    return [f.seq for f in table.items]


def under_cursor(table: PagedTable[Any]) -> tuple[int, float]:
    """The fill the cursor is on, and the line of the view it is on."""
    return table.items[table.cursor_row].seq, table.cursor_row - table.scroll_y


async def test_far_down_the_table_holds_a_window_and_reads_pages_back_going_up(
    tmp_path: Path,
) -> None:
    """700 fills, a window of 300 rows: paging to the oldest lets the newest pages go, and
    going back up reads them again, the rows always one unbroken run, the cursor on the same
    fill at the same place on screen when pages come and go."""
    many_fills(tmp_path / "data", 700)
    app = journaled_app(tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        table = fills.table
        table.window = 300
        moved = 0
        for _ in range(20):
            await pilot.press("ctrl+end")
            await settle(pilot, screen)
            assert table.row_count == len(table.items) <= 300
            top = held(table)[0]
            assert held(table) == list(range(top, top - len(table.items), -1))  # no gap
            if table.rows_above and not moved:  # the first time pages were let go
                moved = table.rows_above
            if table.next is None:
                break
        assert moved and table.rows_above + len(table.items) == 700
        assert held(table)[-1] == 1 and not table.complete  # the oldest, the newest let go
        first = table.rows_above + 1
        assert text_of(fills, ".status") == f"{first:,}-700 of 700 fills, newest first"

        await pilot.press("ctrl+end")
        assert under_cursor(table)[0] == 1  # the oldest fill
        app.session.engine.open("BTC", Side.LONG, 0.001, 5, ISO)  # new meanwhile: they wait
        await beat(pilot)
        await settle(pilot, screen)
        assert "1 new: press r to show them" in text_of(fills, ".status")
        for _ in range(20):
            await pilot.press("ctrl+home")  # the first row held: the page above is read back
            await settle(pilot, screen)
            assert table.row_count == len(table.items) <= 300
            top = held(table)[0]
            assert held(table) == list(range(top, top - len(table.items), -1))
            if not table.rows_above:
                break
        assert held(table)[0] == 700  # as it was read: the new fill waits for r
        assert table.next is not None  # the oldest were let go in turn
        await pilot.press("r")
        await settle(pilot, screen)
        assert held(table)[:2] == [701, 700] and table.row_count == 100


async def test_pages_let_go_keep_the_cursor_on_its_fill(tmp_path: Path) -> None:
    many_fills(tmp_path / "data", 500)
    app = journaled_app(tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        table = screen.panes["fills"].table  # type: ignore[attr-defined]
        table.window = 300
        for _ in range(2):  # 300 rows held
            await pilot.press("ctrl+end")
            await settle(pilot, screen)
        assert table.row_count == 300 and not table.rows_above
        table.move_cursor(row=270)
        table.scroll_to(y=240, animate=False, immediate=True)  # the cursor mid-view
        await settle(pilot, screen)
        assert table.row_count == 300  # 30 rows from the end: nothing read
        gate, real = threading.Event(), table.fetch
        table.fetch = lambda before, limit: gate.wait(10) and real(before, limit)
        table.move_cursor(row=285)  # 15 from the end: the next page is read
        await pilot.pause()
        assert table.reading and table.row_count == 300
        before = under_cursor(table)
        assert before[0] == 500 - 285
        gate.set()
        await settle(pilot, screen)
        await pilot.pause()
        assert table.rows_above == 200 and table.row_count == 200  # 400 read, 200 held
        assert under_cursor(table) == before  # the same fill, on the same line


# --------------------------------------------------------------------------- new records


async def test_new_records_join_the_newest_page_and_keep_the_row_selected(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        await pilot.press("down")  # the second newest fill
        chosen = fills.table.coordinate_to_cell_key(fills.table.cursor_coordinate).row_key
        eng = app.session.engine
        eng.open("ETH", Side.LONG, 1, 5, CROSS)  # a new fill while history is open
        eng.apply_funding("ETH", 0.0001)
        await beat(pilot)
        await settle(pilot, screen)
        assert fills.table.row_count == 6
        assert fills.table.coordinate_to_cell_key(fills.table.cursor_coordinate).row_key == chosen
        assert fills.table.cursor_row == 2  # the same fill, one row lower
        await pilot.press("3")
        funding = await settle(pilot, screen)
        assert funding.table.row_count == 3


async def test_records_while_a_count_is_out_are_counted_once_more_not_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_fills(tmp_path / "data", 5)
    real = JournalView.counts
    calls: list[int] = []
    gate = threading.Event()

    def counts(self: JournalView) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the first count after a new record: held
            assert gate.wait(10), "the test never let the count through"
        return real(self)

    monkeypatch.setattr(JournalView, "counts", counts)
    app = journaled_app(tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane) and len(calls) == 1
        eng = app.session.engine
        for _ in range(3):  # three heartbeats with new fills while the count is held
            eng.open("BTC", Side.LONG, 0.001, 5, ISO)
            await beat(pilot)
        assert len(calls) == 2
        gate.set()
        for _ in range(200):
            await pilot.pause(0.01)
            if fills.table.row_count == 8 and not fills.table.reading:
                break
        await settle(pilot, screen)
        await pilot.pause()
        assert len(calls) == 3  # the held one, then one for the fills saved meanwhile
        assert [f.seq for f in fills.table.items[:3]] == [8, 7, 6]
        assert text_of(fills, ".status") == "8 of 8 fills, newest first"


async def test_scrolled_down_new_records_wait_for_r(tmp_path: Path) -> None:
    many_fills(tmp_path / "data", 150)
    app = make_app(
        journal=Journal.open(tmp_path / "data", lock=False, synchronous="OFF"),
        data_dir=tmp_path / "data",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        await pilot.press("ctrl+end")
        await settle(pilot, screen)
        assert fills.table.row_count == 150
        await pilot.press("ctrl+end")
        assert fills.table.cursor_row == 149
        app.session.engine.open("BTC", Side.LONG, 0.001, 5, ISO)
        app.session.engine.open("BTC", Side.LONG, 0.001, 5, ISO)
        await beat(pilot)
        await settle(pilot, screen)
        assert fills.table.row_count == 150 and fills.table.cursor_row == 149  # not moved
        assert "2 new: press r to show them" in text_of(fills, ".status")
        await pilot.press("r")
        await settle(pilot, screen)
        assert fills.table.row_count == 100 and fills.table.cursor_row == 0
        assert fills.table.items[0].seq == 152
        assert "press r" not in text_of(fills, ".status")


async def test_a_new_season_while_history_is_open_shows_the_new_one(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        screen = await open_history(pilot)
        app.session.reset()
        await beat(pilot)
        await settle(pilot, screen)
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        assert fills.table.row_count == 0 and "No fills yet." in text_of(fills, ".status")


# --------------------------------------------------------------------------- export


async def test_export_runs_in_a_worker_with_its_progress_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_fills(tmp_path / "data", 30)
    monkeypatch.setattr("tui.history.EXPORT_CHUNK", 10)
    gate, reached = threading.Event(), threading.Event()
    real_export = Journal.export

    def held(self: Journal, kind: str, path: Any, progress: Any = None) -> Path:
        def step(written: int, total: int) -> None:
            progress(written, total)
            if written == 10:
                reached.set()
                assert gate.wait(10), "the test never let the export go on"

        return real_export(self, kind, path, step)

    monkeypatch.setattr(Journal, "export", held)
    app = make_app(
        journal=Journal.open(tmp_path / "data", lock=False, synchronous="OFF"),
        data_dir=tmp_path / "data",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("e")
        for _ in range(500):
            await pilot.pause(0.01)
            if reached.is_set():
                break
        await beat(pilot)
        assert text_of(screen, "#export-text") == "Exporting fills: 10 of 30 rows"
        assert screen.query_one("#export").has_class("-running")
        bar = screen.query_one("#export-bar", ProgressBar)
        assert (bar.progress, bar.total) == (10, 30)
        await pilot.press("e")  # a second export waits for the first
        await pilot.pause()
        assert any("still running, 33% written" in n.message for n in app._notifications)
        gate.set()
        for _ in range(500):
            await pilot.pause(0.01)
            if app.session.export_job is None:
                break
        await beat(pilot)
        assert not screen.query_one("#export").has_class("-running")
        [file] = (tmp_path / "data" / "exports").glob("*.csv")
        assert "fills" in file.name and len(file.read_text().splitlines()) == 31
        assert app.main.log_widget.lines[0] == f"Exported fills to {file}"


async def test_the_orders_tab_exports_every_order_record(tmp_path: Path) -> None:
    app = make_app(data_dir=tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        eng = app.session.engine
        eng.set_mark("SOL", 200)
        order = eng.place_order("SOL", Side.LONG, 5, OrderType.LIMIT, price=190, leverage=5)
        eng.cancel_order(order.id)
        screen = await open_history(pilot)
        await pilot.press("6")
        await settle(pilot, screen)
        await pilot.press("e")
        for _ in range(500):
            await pilot.pause(0.01)
            if list((tmp_path / "data" / "exports").glob("*.csv")):
                break
        [file] = (tmp_path / "data" / "exports").glob("*.csv")
        with file.open() as handle:
            rows = list(csv.DictReader(handle))
        assert [(r["order_id"], r["action"]) for r in rows] == [
            (str(order.id), "placed"),
            (str(order.id), "cancelled"),
        ]


async def test_export_failure_is_reported_and_stats_have_nothing_to_export(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    app = make_app(data_dir=blocker)
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        screen = await open_history(pilot)
        await pilot.press("e")
        for _ in range(200):
            await pilot.pause(0.01)
            if any(n.severity == "error" for n in app._notifications):
                break
        assert any(n.severity == "error" for n in app._notifications)
        assert app.session.export_job is None and app.screen is screen
        await pilot.press("7", "e")
        await pilot.pause()
        assert any("stats are not a table" in n.message for n in app._notifications)


async def test_empty_history_says_so() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        assert "No fills yet." in text_of(screen.panes["fills"], ".status")
        await pilot.press("2")
        liqs = await settle(pilot, screen)
        assert text_of(liqs, "#postmortem-text") == "No liquidations yet. Keep it that way."


# --------------------------------------------------------------------------- large account


QUIET = "ARB"  # a market the bench's trader never trades


class TickingSource(PriceSource):
    """A feed that sends an ARB mark every few milliseconds, counting them, sliding down
    0.01 % a tick from 1.0 (so a long position at high leverage is soon liquidated)."""

    name = "ticking"

    def __init__(self) -> None:
        super().__init__([QUIET])
        self.ticks = 0

    async def run(self, sink: MarkSink) -> None:
        while True:
            self.ticks += 1
            sink.on_mark(QUIET, 1.0 * (1 - 0.0001 * self.ticks))
            await asyncio.sleep(0.005)


@pytest.fixture(scope="module")
def large_account(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2,000 records through the bench's own builder (fills, liquidations, funding,
    margin moves and orders)."""
    sys.path.insert(0, str(BENCH))
    try:
        build = importlib.import_module("journal_bench_build").build
    finally:
        sys.path.remove(str(BENCH))
    folder = tmp_path_factory.mktemp("large") / "account"
    assert build(folder, 2_000) >= 2_000
    return folder


async def test_the_feed_and_liquidations_go_on_while_history_opens_on_a_large_account(
    large_account: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page is held in its worker thread until the test has seen the feed tick,
    the heartbeat run and a position be liquidated: none of that waits for history."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(large_account, data)
    gate, reading = threading.Event(), threading.Event()
    real = JournalView.fills_page

    def slow_page(self: JournalView, before: int | None = None, limit: int = 100) -> Any:
        reading.set()
        assert gate.wait(20), "the test never let the page through"
        return real(self, before, limit)

    monkeypatch.setattr(JournalView, "fills_page", slow_page)
    journal = Journal.open(data, lock=False, synchronous="OFF")
    source = TickingSource()
    app = make_app(journal=journal, data_dir=data, source=source, autostart_feed=True)
    beats: list[int] = []
    async with app.run_test(size=(120, 36)) as pilot:
        app.heartbeat.subscribe(app, lambda beat: beats.append(source.ticks))
        eng = app.session.engine
        eng.set_mark(QUIET, 1.0)
        eng.open(QUIET, Side.LONG, 100, eng.market(QUIET).max_leverage, ISO)
        await pilot.press("h")
        screen = on_screen(app, HistoryScreen)
        for _ in range(1000):  # until the read is under way (in its thread)
            await asyncio.sleep(0.005)
            if reading.is_set():
                break
        ticks, heartbeats = source.ticks, len(beats)
        for _ in range(2000):  # the feed goes on meanwhile, until the position is gone
            await asyncio.sleep(0.005)
            if eng.position(QUIET) is None and len(beats) > heartbeats + 3:
                break
        fills = screen.panes["fills"]
        assert isinstance(fills, FillsPane)
        assert fills.table.row_count == 0 and fills.table.reading  # still reading
        assert source.ticks > ticks + 10 and len(beats) > heartbeats + 3
        assert eng.position(QUIET) is None  # liquidated while history opened
        gate.set()
        await settle(pilot, screen)
        assert fills.table.row_count == 100  # the first page, and only it


async def test_closing_history_gives_its_view_and_rows_back(tmp_path: Path) -> None:
    many_fills(tmp_path / "data", 120)
    app = make_app(
        journal=Journal.open(tmp_path / "data", lock=False, synchronous="OFF"),
        data_dir=tmp_path / "data",
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        view = screen.source
        assert isinstance(view, JournalView)
        gone = weakref.ref(screen.panes["fills"])
        await pilot.press("escape")
        await pilot.pause()
        assert view._conn is None and view._closed  # its connection closed
        del screen
        for _ in range(5):
            await pilot.pause()
            gc.collect()
        assert gone() is None  # the table and its rows are garbage


# --------------------------------------------------------------------------- snapshots


def test_history_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        some_history(pilot.app)  # type: ignore[arg-type]
        screen = await open_history(pilot)
        await settle(pilot, screen)
        await no_toasts(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)


def test_history_liquidations_small_terminal_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        some_history(pilot.app)  # type: ignore[arg-type]
        screen = await open_history(pilot)
        await pilot.press("2")
        await settle(pilot, screen)
        await no_toasts(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_history_fills_small_terminal_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        some_history(pilot.app)  # type: ignore[arg-type]
        await open_history(pilot)
        await no_toasts(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_history_stats_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        some_history(pilot.app)  # type: ignore[arg-type]
        screen = await open_history(pilot)
        await pilot.press("7")
        await settle(pilot, screen)
        await no_toasts(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
