"""A table that reads its rows a page at a time, off the event loop, holds a window of them,
and shows the columns that fit by importance.

:class:`PagedTable` asks ``fetch(before, limit)`` for a :class:`~tui.journal.Page` in a worker
thread (a SQLite read never holds up the feed or the heartbeat), shows it, and asks for the
next (older) page when the cursor or the scroll position comes within :data:`LOAD_AHEAD` rows
of the end. It holds at most :data:`WINDOW` rows: scrolled further, it lets the pages at the
far end go (keeping the cursor ``before`` that reads each again, :attr:`Page.top`) and reads
them back when the trader scrolls back to them. Memory and the cost of a page stay the same
at the millionth row as at the first; nothing reads or renders more than a window.

Each :class:`Column` has a width and a rank (0: keep it longest). The table shows the columns
whose widths fit its own width, most important first, in their own order: at 80 columns a
history table drops the less important columns whole, never cutting a title or a figure. A
value wider than its column widens it (so no figure is cut either).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from tui.journal import PAGE_SIZE, Page
from tui.safe import safe_text

T = TypeVar("T")

LOAD_AHEAD = 20
"""The next page is read when the cursor or the view comes this close to the last row (or,
with pages let go above, to the first)."""

WINDOW = 1_000
"""Rows held at most. Past it, the pages at the far end are let go while at least half of it
stays (so the window moves once every few pages, each move a rebuild of at most this many
rows, and the rows around the cursor stay)."""

Cell = str | Text
Row = tuple[str, Sequence[Cell]]
"""A row's key (unique in the table) and its cells, one per :class:`Column`."""


@dataclass(frozen=True, slots=True)
class Column:
    """``width``: the widest value it usually shows (and at least its title); ``rank``:
    0 for the columns kept at any width, higher for those dropped first; ``figure``: its
    values are right-aligned figures (their title too)."""

    title: str
    width: int
    rank: int = 0
    figure: bool = False

    def __post_init__(self) -> None:
        if self.width < len(self.title):
            raise ValueError(f"column {self.title!r} is narrower than its title")


def right(text: str, style: str = "") -> Text:
    """A figure, right-aligned in its column."""
    return Text(text, style=style, justify="right")


def plain_row(row: Row) -> Row:
    """Text cells never read as markup, control characters shown escaped (a market's name or
    an order's reason may come from outside: a venue's listing)."""
    key, cells = row
    return key, tuple(Text(safe_text(c)) if isinstance(c, str) else _safe_text(c) for c in cells)


def _safe_text(cell: Text) -> Text:
    plain = cell.plain
    escaped = safe_text(plain)
    if escaped == plain:
        return cell
    return Text(escaped, style=cell.style, justify=cell.justify)


def fitting(columns: Sequence[Column], width: int, padding: int = 1) -> list[int]:
    """The indices of the columns that fit in ``width`` cells (each takes its width plus
    ``padding`` on either side), most important first, returned in their own order. The
    most important column is always kept."""
    order = sorted(range(len(columns)), key=lambda i: (columns[i].rank, i))
    chosen: list[int] = []
    used = 0
    for i in order:
        need = columns[i].width + 2 * padding
        if chosen and used + need > width:
            continue
        chosen.append(i)
        used += need
    return sorted(chosen)


class _Read(Enum):
    NEWEST = "newest"  # the newest page, in place of what is held
    OLDER = "older"  # the page after the last one held
    NEWER = "newer"  # the page before the first one held (let go earlier)


@dataclass(frozen=True, slots=True)
class _Span:
    """A page held, or let go: the cursor that reads it (again), and its rows."""

    before: int | None
    size: int


class PagedTable(DataTable[Cell], Generic[T]):
    """Rows of ``fetch``, newest first, a page at a time, a window of them held (see the
    module's docstring). ``cells(item)`` gives an item's row. :attr:`items` holds the rows
    held, in row order; :attr:`rows_above` counts the rows let go above them."""

    DEFAULT_CSS = """
    PagedTable { height: 1fr; scrollbar-size-vertical: 1; }
    """

    class Loaded(Message):
        """A page arrived (or the table was emptied for a reload)."""

        def __init__(self, table: PagedTable[Any]) -> None:
            super().__init__()
            self.table = table

    class Failed(Message):
        """A page could not be read; ``reason`` says why, for the trader."""

        def __init__(self, table: PagedTable[Any], reason: str) -> None:
            super().__init__()
            self.table = table
            self.reason = reason

    def __init__(
        self,
        columns: Sequence[Column],
        fetch: Callable[[int | None, int], Page[T]],
        cells: Callable[[T], Row],
        *,
        page_size: int = PAGE_SIZE,
        window: int = WINDOW,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.spec = list(columns)
        self.widths = [c.width for c in columns]
        self.fetch = fetch
        self.cells = cells
        self.page_size = page_size
        self.window = max(window, 3 * page_size)
        self.items: list[T] = []
        self._rows: list[Row] = []
        self._keys: set[str] = set()
        self._spans: list[_Span] = []  # the pages held, in row order
        self._above: list[_Span] = []  # pages let go above them (the nearest last)
        self._adding = False  # rows going in: the cursor moves, nothing to ask for yet
        self.next: int | None = None
        self.started = False  # the first page was asked for
        self.reading = False  # a page is on its way (not Textual's ``loading``: that would
        # cover the rows with a spinner for each page, a widget made and dropped each time)
        self.error: str | None = None
        self._shown: list[int] = []

    # ------------------------------------------------------------------ state

    @property
    def complete(self) -> bool:
        """Every row is loaded (the oldest page has arrived)."""
        return (
            self.started
            and not self.reading
            and self.next is None
            and not self._above
            and self.error is None
        )

    @property
    def keep(self) -> int:
        """Rows kept when the window moves (half of it: the rows around the cursor)."""
        return self.window // 2

    @property
    def rows_above(self) -> int:
        """Rows let go above the ones held (0 when the newest are held)."""
        return sum(span.size for span in self._above)

    @property
    def at_newest(self) -> bool:
        """Only the newest page is held: reading it again shows every new row."""
        return not self._above and len(self._spans) <= 1

    @property
    def shown_columns(self) -> list[str]:
        return [self.spec[i].title for i in self._shown]

    # ------------------------------------------------------------------ reading

    def load(self, *, keep_cursor: bool = True) -> None:
        """Read the newest page again (the first time: the first page) and show it in place
        of what is held; the cursor stays on its row if that row is still in it."""
        self.started = True
        self.reading = True
        self.run_worker(
            self._read(None, _Read.NEWEST, keep_cursor),
            group="page",
            exclusive=True,
            exit_on_error=False,
        )

    def load_more(self) -> None:
        """Read the next (older) page, unless one is on its way or none is left."""
        if not self._may_read() or self.next is None:
            return
        self.reading = True
        self.run_worker(self._read(self.next, _Read.OLDER), group="page", exit_on_error=False)

    def load_newer(self) -> None:
        """Read back the page let go just above the first row held, if any."""
        if not self._may_read() or not self._above:
            return
        self.reading = True
        before = self._above[-1].before
        self.run_worker(self._read(before, _Read.NEWER), group="page", exit_on_error=False)

    def _may_read(self) -> bool:
        return self.started and not self.reading and self.error is None

    async def _read(self, before: int | None, how: _Read, keep_cursor: bool = False) -> None:
        try:
            page = await asyncio.to_thread(self.fetch, before, self.page_size)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a damaged record, a closed account: said, never raised
            self.reading = False
            self.error = str(exc) or type(exc).__name__
            self.post_message(self.Failed(self, self.error))
            return
        self.reading = False
        self.error = None
        self._adding = True
        try:
            rows = [plain_row(self.cells(item)) for item in page.rows]
            if how is _Read.NEWEST:
                self._replace(page, rows, keep_cursor)
            elif how is _Read.OLDER:
                self._append(page, rows, before)
            else:
                self._prepend(page, rows)
        except Exception as exc:  # a row that cannot be shown: said, never raised
            self.error = f"{type(exc).__name__}: {exc}"
            self.post_message(self.Failed(self, self.error))
            return
        finally:
            self._adding = False
        self.post_message(self.Loaded(self))
        if how is _Read.NEWER:
            self.check_near_top()
        else:
            self.check_near_end()

    def _replace(self, page: Page[T], rows: list[Row], keep_cursor: bool) -> None:
        keep = None
        if keep_cursor and self.row_count and self.is_valid_row_index(self.cursor_row):
            keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.items, self._rows, self._keys = [], [], set()
        self._spans, self._above = [], []
        self.clear()
        self._append(page, rows, None)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False, scroll=True)
        else:
            self.move_cursor(row=0, animate=False)
            self.scroll_home(animate=False)

    def _append(self, page: Page[T], rows: list[Row], before: int | None) -> None:
        """The page after the last one held (or the first): below the rows held; the pages
        at the top let go if the window is full."""
        rows = [self._unique(row) for row in rows]
        self.items += page.rows
        self._rows += rows
        self._spans.append(_Span(before if page.top is None else page.top, len(rows)))
        self.next = page.next
        let_go = 0
        if len(self._rows) > self.window:
            while len(self._spans) > 1 and len(self._rows) - self._spans[0].size >= self.keep:
                span = self._spans.pop(0)
                self._above.append(span)
                self._forget(0, span.size)
                let_go += span.size
        if let_go:
            self._shift(-let_go)
        elif self._widen(rows) or not self._shown:
            self._choose_columns(rebuild=True)
        else:
            for key, cells in rows:
                self.add_row(*(cells[i] for i in self._shown), key=key)

    def _prepend(self, page: Page[T], rows: list[Row]) -> None:
        """The page let go just above the rows held, read back: above them; the pages at the
        bottom let go if the window is full (the next older page is then the first of them)."""
        span = self._above.pop()
        rows = [self._unique(row) for row in rows]
        self.items[:0] = page.rows
        self._rows[:0] = rows
        self._spans.insert(0, _Span(span.before, len(rows)))
        if len(self._rows) > self.window:
            while len(self._spans) > 1 and len(self._rows) - self._spans[-1].size >= self.keep:
                last = self._spans.pop()
                self.next = last.before
                self._forget(len(self._rows) - last.size, last.size)
        self._shift(len(rows))

    def _forget(self, start: int, count: int) -> None:
        for key, _ in self._rows[start : start + count]:
            self._keys.discard(key)
        del self._rows[start : start + count]
        del self.items[start : start + count]

    def _shift(self, by: int) -> None:
        """Show the rows held again, the cursor and the view moved ``by`` rows (the rows
        above them changed), so the trader sees the same rows where they were."""
        cursor, top = self.cursor_row + by, round(self.scroll_y) + by
        self._widen(self._rows)
        self._choose_columns(rebuild=True, cursor=max(cursor, top, 0))
        self.scroll_to(y=max(top, 0), animate=False, immediate=True)
        self.call_after_refresh(self._settle_scroll, max(top, 0))

    def _settle_scroll(self, y: int) -> None:
        """Once the table has measured its new rows: the view where :meth:`_shift` put it."""
        self._adding = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._adding = False

    def _unique(self, row: Row) -> Row:
        """Two rows with the same key (two round trips alike to the second) get distinct
        ones, numbered in the order they were read."""
        key, cells = row
        if key not in self._keys:
            self._keys.add(key)
            return row
        n = 2
        while f"{key}#{n}" in self._keys:
            n += 1
        self._keys.add(f"{key}#{n}")
        return f"{key}#{n}", cells

    def check_near_end(self) -> None:
        """Ask for the next page when the cursor, or the bottom of the view, is near the end."""
        if self.next is None or self.reading or self._adding or not self.row_count:
            return
        near = self.row_count - LOAD_AHEAD
        bottom = int(self.scroll_y) + self.scrollable_content_region.height  # 0 before layout
        if self.cursor_row >= near or bottom >= near:
            self.load_more()

    def check_near_top(self) -> None:
        """Read back the page let go above when the cursor, or the top of the view, is near
        the first row held."""
        if not self._above or self.reading or self._adding or not self.row_count:
            return
        if self.cursor_row < LOAD_AHEAD or int(self.scroll_y) < LOAD_AHEAD:
            self.load_newer()

    # ------------------------------------------------------------------ columns

    def _widen(self, rows: Sequence[Row]) -> bool:
        """Widen a column for a value wider than it; True if any was widened."""
        wider = False
        for _, cells in rows:
            for i, cell in enumerate(cells):
                n = cell.cell_len if isinstance(cell, Text) else len(cell)
                if n > self.widths[i]:
                    self.widths[i] = n
                    wider = True
        return wider

    def _choose_columns(self, *, rebuild: bool = False, cursor: int | None = None) -> None:
        width = self.size.width or self.app.size.width
        width -= self.styles.scrollbar_size_vertical
        cols = [
            Column(c.title, w, c.rank, c.figure)
            for c, w in zip(self.spec, self.widths, strict=True)
        ]
        shown = fitting(cols, width, self.cell_padding)
        if shown == self._shown and not rebuild:
            return
        self._shown = shown
        keep = self.cursor_row if cursor is None else cursor
        self.clear(columns=True)
        for i in shown:
            column = self.spec[i]
            label = Text(column.title, justify="right" if column.figure else "left")
            self.add_column(label, width=cols[i].width, key=str(i))
        for key, cells in self._rows:
            self.add_row(*(cells[i] for i in shown), key=key)
        if self.row_count:
            self.move_cursor(row=min(keep, self.row_count - 1), animate=False, scroll=False)

    def on_resize(self, event: events.Resize) -> None:
        self._choose_columns()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value:
            self.check_near_end()
        elif new_value < old_value:
            self.check_near_top()

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if new.row > old.row:
            self.check_near_end()
        elif new.row < old.row:
            self.check_near_top()
