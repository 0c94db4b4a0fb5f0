"""A DataTable that takes whole snapshots of its rows and repaints only what changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

# A cell is plain text, or (text, rich style) for colour.
Cell = str | tuple[str, str]
# A column: (key, label, width, justify).
Column = tuple[str, str, int, str]


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

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._spec = list(columns)
        self._visible = [c[0] for c in columns]
        self._cells: dict[str, list[Cell]] = {}

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label, width, justify in self._spec:
            if key in self._visible:
                self.add_column(_text(label, justify), width=width, key=key)

    def _shown(self, cells: Sequence[Cell]) -> list[Text]:
        return [
            _text(cell, spec[3])
            for cell, spec in zip(cells, self._spec, strict=True)
            if spec[0] in self._visible
        ]

    @property
    def row_ids(self) -> list[str]:
        return list(self._cells)

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
        self.clear(columns=True)
        self._add_columns()
        for key, cells in self._cells.items():
            self.add_row(*self._shown(cells), key=key)
        if keep is not None:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def sync(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Make the table show ``rows`` (new rows go last), touching only what changed."""
        keep = self.selected_key()
        removed = [key for key in self._cells if key not in rows]
        for key in removed:
            self.remove_row(key)
            del self._cells[key]
        for key, cells in rows.items():
            old = self._cells.get(key)
            if old is None:
                self.add_row(*self._shown(cells), key=key)
                self._cells[key] = list(cells)
                continue
            for i, cell in enumerate(cells):
                if old[i] != cell:
                    old[i] = cell
                    spec = self._spec[i]
                    if spec[0] in self._visible:
                        self.update_cell(key, spec[0], _text(cell, spec[3]))
        if removed and keep is not None and keep in self._cells:
            self.move_cursor(row=self.get_row_index(keep), animate=False)
