"""A DataTable that takes whole snapshots of its rows and repaints only what changed.

The dolphie model (STYLE.md): every refresh hands :meth:`LiveTable.sync` the rows as they are
now; the table compares them with what it shows and touches only the differences. Three
levels keep a refresh cheap when little changed:

1. **Values.** A row may hold raw values (a price, a side, a PnL) with a formatter per column
   (``formats``): a cell is formatted only when its value changed, so the cost of a refresh
   does not grow with the cells that stayed the same.
2. **Cells.** A formatted cell equal to the one on screen is not touched. Changed cells are
   written into the table in one step, and only their rows are repainted (DataTable's own
   ``update_cell`` repaints the whole table once per cell).
3. **Renders.** A cell whose text, width and highlight are unchanged is not rendered again
   (DataTable renders every visible cell anew after any update), and a one-line cell is
   rendered straight to its three segments (padding, text, padding) instead of through Rich's
   layout of a padded, styled renderable: the same segments (tests/ui/test_live_table.py
   compares them with DataTable's own), at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

# A cell is plain text, or (text, rich style) for colour.
Cell = str | tuple[str, str]
# A column: (key, label, width, justify).
Column = tuple[str, str, int, str]
Formatter = Callable[[Any], Cell]
"""Turns a column's raw value into its cell (see :meth:`LiveTable.sync`)."""

REPAINT_ROWS = 8
"""Up to this many changed rows are repainted one by one; more repaint the whole table."""


def _text(cell: Cell, justify: str) -> Text:
    if isinstance(cell, tuple):
        return Text(cell[0], style=cell[1], justify=justify)  # type: ignore[arg-type]
    return Text(cell, justify=justify)  # type: ignore[arg-type]


class LiveTable(DataTable[Text]):
    """Rows are keyed; :meth:`sync` adds, removes and updates cells in place.

    Never ``clear()``s on an update and never resizes columns, so the cursor and the scroll
    position stay where the person left them. :meth:`show_columns` picks which of the columns
    are on screen (narrow terminals show fewer); rows always carry every column's cell.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
        formats: Mapping[str, Formatter] | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._spec = list(columns)
        self._visible = [c[0] for c in columns]
        self._formats: list[Formatter | None] = [(formats or {}).get(c[0]) for c in columns]
        self._values: dict[str, list[object]] = {}
        self._cells: dict[str, list[Cell]] = {}
        self._order: list[str] = []  # the rows' keys top to bottom
        self._rendered: dict[tuple[object, object], tuple[tuple[object, ...], object, Any]] = {}
        self.cells_formatted = 0
        """Cells formatted since the table was made (the cost :meth:`sync` keeps low)."""

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, width, justify in self._spec:
            if key in self._visible:
                self.add_column(_text(label, justify), width=width, key=key)

    def _cell(self, index: int, value: object) -> Cell:
        fmt = self._formats[index]
        if fmt is None:
            return value  # type: ignore[return-value]  # a column without a formatter: a cell
        self.cells_formatted += 1
        return fmt(value)

    def _shown(self, cells: Sequence[Cell]) -> list[Text]:
        return [
            _text(cell, spec[3])
            for cell, spec in zip(cells, self._spec, strict=True)
            if spec[0] in self._visible
        ]

    @property
    def row_ids(self) -> list[str]:
        """The rows' keys, top to bottom."""
        return list(self._order)

    def cells_of(self, key: str) -> list[Cell]:
        """The cells of row ``key`` as formatted (every column's, shown or not)."""
        return list(self._cells[key])

    def selected_key(self) -> str | None:
        if not self._cells or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show_columns(self, keys: Sequence[str]) -> None:
        """Show only the columns in ``keys`` (rebuilds the table once; keeps the cursor)."""
        if list(keys) == self._visible:
            return
        keep = self.selected_key()
        self._visible = list(keys)
        self._rebuild(keep)

    def _rebuild(self, keep: str | None) -> None:
        self.clear(columns=True)
        self._rendered.clear()
        self._add_columns()
        for key in self._order:
            self.add_row(*self._shown(self._cells[key]), key=key)
        if keep is not None and keep in self._cells:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def reformat(self) -> None:
        """Format every cell again at the next :meth:`sync` (the formatters' styles changed,
        e.g. a new theme)."""
        for values in self._values.values():
            values[:] = [_STALE] * len(values)

    def sync(self, rows: Mapping[str, Sequence[object]]) -> None:
        """Make the table show ``rows``, in their order, touching only what changed.

        A row holds one value per column: for a column with a formatter, any value that
        compares equal when the cell would read the same (it is formatted only when it
        changes); for the others, the cell itself (text, or (text, style)). The cursor stays
        on its row's key when rows come, go or move.
        """
        keep = self.selected_key()
        follow = keep is not None and self._cursor_in_view()
        removed = [key for key in self._cells if key not in rows]
        for key in removed:
            self.remove_row(key)
            del self._cells[key]
            del self._values[key]
        if removed:
            self._order = [key for key in self._order if key in rows]
        fast = self._fast()
        changed: list[str] = []
        spec, visible = self._spec, self._visible
        for key, values in rows.items():
            old = self._values.get(key)
            if old is None:
                cells = [self._cell(i, v) for i, v in enumerate(values)]
                self.add_row(*self._shown(cells), key=key)
                self._cells[key] = cells
                self._values[key] = list(values)
                self._order.append(key)
                continue
            if old == values:
                continue  # nothing changed in this row (one comparison, most rows, most beats)
            cells = self._cells[key]
            touched = False
            for i, value in enumerate(values):
                was = old[i]
                if was is value or was == value:
                    continue
                old[i] = value
                cell = self._cell(i, value)
                if cells[i] == cell:
                    continue
                cells[i] = cell
                column = spec[i]
                if column[0] not in visible:
                    continue
                text = _text(cell, column[3])
                if fast:
                    self._data[key][column[0]] = text  # type: ignore[index]
                    touched = True
                else:
                    self.update_cell(key, column[0], text)
            if touched:
                changed.append(key)
        if changed:
            self._repaint(changed)
        moved = len(rows) == len(self._order) and any(
            a != b for a, b in zip(rows, self._order, strict=True)
        )
        if moved:
            self._reorder(list(rows))
        if (removed or moved) and keep is not None and keep in self._cells:
            # The cursor stays on its row; the view follows it if it showed it. A view
            # scrolled elsewhere (the wheel) is not pulled back on every refresh: the cursor
            # is put on its row without DataTable's watcher, which would scroll to it.
            row = self.get_row_index(keep)
            if follow:
                self.move_cursor(row=row, animate=False)
            else:
                at = Coordinate(row, self.cursor_coordinate.column)
                self.set_reactive(DataTable.cursor_coordinate, at)
                self.refresh()

    def _cursor_in_view(self) -> bool:
        """Whether the cursor's row is on screen (rows here are one line high)."""
        shown = self.scrollable_content_region.height - (
            self.header_height if self.show_header else 0
        )
        top = round(self.scroll_y)
        return top <= self.cursor_row < top + max(1, shown)

    def _reorder(self, keys: list[str]) -> None:
        """Put the rows in the order of ``keys`` (DataTable's sort, by each row's place)."""
        first = self._visible[0]
        place = {id(self.get_cell(key, first)): i for i, key in enumerate(keys)}
        self.sort(first, key=lambda cell: place[id(cell)])
        self._order = keys

    def _fast(self) -> bool:
        """Whether cells can be written into DataTable's storage directly (checked against the
        installed Textual; otherwise its public ``update_cell``)."""
        return isinstance(getattr(self, "_data", None), dict) and isinstance(
            getattr(self, "_update_count", None), int
        )

    def _repaint(self, keys: list[str]) -> None:
        """What ``update_cell`` does after writing a cell, once for all of them, repainting
        only the rows that changed and are on screen (a row out of view is drawn afresh when
        it comes into view: the update count keys DataTable's line caches)."""
        self._update_count += 1
        top = round(self.scroll_y)
        bottom = top + self.scrollable_content_region.height  # a line to spare: the header
        rows = [i for i in map(self.get_row_index, keys) if top - 1 <= i <= bottom]
        if len(rows) > REPAINT_ROWS:
            self.refresh()
            return
        for row in rows:
            self.refresh_row(row)

    # ------------------------------------------------------------------ rendering

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's cell render, kept per cell while its text and looks stay the same."""
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        column_key = self._column_locations.get_key(column_index) if column_index >= 0 else None
        if row_key is None or column_key is None:  # the header row and row labels
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value = self._data.get(row_key, {}).get(column_key)
        looks = (
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        slot = (row_key, column_key)
        hit = self._rendered.get(slot)
        if hit is not None and hit[1] is value and hit[0] == looks:
            lines: list[list[Segment]] = hit[2]
            return lines
        fast = self._render_simple(row_index, column_index, base_style, width, cursor, hover)
        if fast is None:
            fast = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._rendered[slot] = (looks, value, fast)
        return fast

    def _render_simple(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> list[list[Segment]] | None:
        """A one-line cell of plain, single-width text (what this table holds) as DataTable
        renders it: ``[pad, text justified in the rest, pad]``, each in the cell's style. None
        for anything else (DataTable's own render takes those)."""
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None or self.rows[row_key].height != 1:
            return None
        value = self._data[row_key][column_key]
        pad = self.cell_padding
        if not isinstance(value, Text) or value.spans or pad <= 0:
            return None
        plain = value.plain
        inner = width - 2 * pad
        if not plain or "\n" in plain or cell_len(plain) != len(plain) or len(plain) > inner:
            return None
        if value.justify == "right":
            plain = plain.rjust(inner)
        elif value.justify == "left":
            plain = plain.ljust(inner)
        else:
            return None
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            row_index < self.fixed_rows or column_index < self.fixed_columns,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pre = pre + component
        text_style = pre + self.app.console.get_style(value.style, default=Style.null())
        edge = pre
        if post:
            text_style, edge = text_style + post, pre + post
        space = " " * pad
        return [[Segment(space, edge), Segment(plain, text_style), Segment(space, edge)]]

    def notify_style_update(self) -> None:
        self._rendered.clear()
        super().notify_style_update()


_STALE = object()
"""A value no real value equals: the cell is formatted again at the next sync."""
