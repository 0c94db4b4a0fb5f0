"""The live table's update mechanics: values formatted only when they change, changed cells
written and repainted in one step, rows kept in the order given, and the one-line cell render
giving exactly the segments DataTable's own render gives."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tests.ui.pilot_helpers import beat, make_app
from tui.engine import MarginMode, Side
from tui.widgets.live_table import Cell, LiveTable

COLUMNS = [("name", "Name", 6, "left"), ("price", "Price", 9, "right")]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.formatted: list[object] = []

    def compose(self) -> ComposeResult:
        def price(value: Any) -> Cell:
            self.formatted.append(value)
            return (f"{value:,.2f}", "green" if value >= 100 else "red")

        yield LiveTable(COLUMNS, id="t", formats={"price": price})

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)


def shown(table: LiveTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row(key)] for key in table.row_ids]


async def test_values_are_formatted_only_when_they_change() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.table
        table.sync({"a": ["A", 100.0], "b": ["B", 99.5]})
        assert app.formatted == [100.0, 99.5]
        table.sync({"a": ["A", 100.0], "b": ["B", 99.5]})
        assert app.formatted == [100.0, 99.5]  # nothing changed: nothing formatted
        table.sync({"a": ["A", 101.0], "b": ["B", 99.5]})
        assert app.formatted == [100.0, 99.5, 101.0]
        await pilot.pause()
        assert shown(table) == [["A", "101.00"], ["B", "99.50"]]
        assert table.cells_of("a") == ["A", ("101.00", "green")]
        table.reformat()  # new colours: every value once more
        table.sync({"a": ["A", 101.0], "b": ["B", 99.5]})
        assert app.formatted[3:] == [101.0, 99.5]


async def test_rows_follow_the_order_given_and_the_cursor_its_row() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.table
        table.sync({k: [k.upper(), float(i)] for i, k in enumerate("abcd")})
        table.move_cursor(row=2)  # c
        await pilot.pause()
        table.sync({k: [k.upper(), float(i)] for i, k in enumerate("dcba")})
        await pilot.pause()
        assert table.row_ids == ["d", "c", "b", "a"]
        assert [str(table.get_row_at(i)[0]) for i in range(4)] == ["D", "C", "B", "A"]
        assert table.selected_key() == "c"
        table.sync({"c": ["C", 2.0], "b": ["B", 1.0]})  # two go
        await pilot.pause()
        assert table.row_ids == ["c", "b"] and table.selected_key() == "c"
        table.sync({"a": ["A", 0.0], "b": ["B", 1.0], "c": ["C", 2.0]})  # one comes back first
        await pilot.pause()
        assert table.row_ids == ["a", "b", "c"] and table.selected_key() == "c"


async def test_the_quick_cell_render_is_datatables_own() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        engine = app.session.engine
        engine.open("BTC", Side.LONG, 0.05, 10, MarginMode.ISOLATED)
        engine.open("SOL", Side.SHORT, 20, 5, MarginMode.CROSS)
        app.session.on_mark("SOL", 170.0)
        await beat(pilot)
        await pilot.press("down")  # the cursor on ETH: a highlighted row
        compared = 0
        for table in (app.main.watchlist, app.main.positions_table):
            cursor = table.cursor_coordinate
            for row in range(table.row_count):
                style = table._get_row_style(row, table.rich_style)
                for column, col in enumerate(table.ordered_columns):
                    width = col.get_render_width(table)
                    on_cursor = table._should_highlight(
                        cursor, Coordinate(row, column), table.cursor_type
                    )
                    quick = table._render_simple(row, column, style, width, on_cursor, False)
                    assert quick is not None, (table.id, row, column)
                    own = DataTable._render_cell(table, row, column, style, width, on_cursor)
                    assert quick == own, (table.id, row, column)
                    compared += 1
        assert compared == 22 * 5 + 2 * 11  # Markets' 5 columns, Positions' 11 at 120 wide


async def test_a_mark_formats_only_the_cells_it_moves_in_markets() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        table = app.main.watchlist
        before = table.cells_formatted
        app.session.on_mark("ETH", 3_500.0)  # the mark it had: nothing moves
        await beat(pilot)
        assert table.cells_formatted == before
        app.session.on_mark("BTC", 100_500.0)
        await beat(pilot)
        # BTC's mark (flashing up) and its change; its funding and max, and every other
        # market's cells, are not formatted again.
        assert table.cells_formatted - before == 2
        assert table.cells_of("BTC")[1][0] == "100,500.0"


async def test_rows_changed_out_of_view_are_not_repainted_until_they_come_into_view() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.table
        table.sync({f"r{i}": [f"R{i}", float(i)] for i in range(60)})
        await pilot.pause()
        painted: list[object] = []

        def refresh_row(row_index: int) -> LiveTable:
            painted.append(row_index)
            return table

        def refresh(*args: Any, **kwargs: Any) -> LiveTable:
            painted.append("all")
            return table

        table.refresh_row = refresh_row  # type: ignore[method-assign]
        table.refresh = refresh  # type: ignore[method-assign]
        table.sync({f"r{i}": [f"R{i}", float(i) + (0.5 if i >= 40 else 0)] for i in range(60)})
        assert painted == []  # twenty rows changed, none of them on screen
        table.sync({f"r{i}": [f"R{i}", float(i) + (1.5 if i in (1, 50) else 0.5 * (i >= 40))]
                    for i in range(60)})  # fmt: skip
        assert painted == [1]  # r1 is on screen, r50 is not
        del table.refresh_row, table.refresh
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert any("R50" in line and "51.50" in line for line in lines)  # drawn afresh
        assert any("R59" in line and "59.50" in line for line in lines)
