"""What every history tab is: a pane built the first time it is shown, that reads the
season's history off the event loop and follows new records.

:class:`HistoryPane` is the contract the screen uses (``start`` once, ``records_changed`` on
new records, ``reload`` on ``r``, ``export`` for ``e``); :class:`TablePane` is a pane that is a
:class:`~tui.widgets.paged_table.PagedTable` of one history table with a status line under
it. A new tab is a pane class plus one entry in ``TABS`` (``tui/screens/history/__init__.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from tui.engine import Side
from tui.format import fmt_money
from tui.journal import HistoryCounts, HistorySource, Page
from tui.safe import safe_text
from tui.widgets.paged_table import Column, PagedTable, Row, right
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles

T = TypeVar("T")


class HistoryPane(Vertical):
    """One tab of the history screen. ``source`` is the season's history (read it in a
    worker: ``asyncio.to_thread``); ``colours`` the theme's colours for figures."""

    export: ClassVar[str | None] = None
    """The table ``e`` writes to CSV while this tab is shown (None: ``e`` says there is none)."""

    DEFAULT_CSS = """
    HistoryPane { height: 1fr; }
    HistoryPane .status { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, source: HistorySource, colours: NumberStyles, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.colours = colours
        self.started = False

    def signed(self, x: float) -> Text:
        """Money in or out, signed, in the theme's gain or loss colour."""
        return right(fmt_money(x, signed=True), self.colours["up" if x >= 0 else "down"])

    def side(self, side: Side) -> Text:
        """LONG or SHORT, coloured as a gain or a loss."""
        return Text(side.value.upper(), style=self.colours["up" if side is Side.LONG else "down"])

    def start(self) -> None:
        """The tab is shown for the first time: read what it shows."""
        self.started = True

    def records_changed(self) -> None:
        """New records were saved (called while the tab is shown, or when it is shown again
        after records came while it was hidden)."""

    def reload(self) -> None:
        """``r``: show the newest records from the top."""

    def focus_content(self) -> None:
        """Give the keys to what the tab shows (its table)."""


class TablePane(HistoryPane, Generic[T]):
    """A history table, newest first, a page at a time, with a status line: how many rows of
    how many are loaded, and new records arrived while the trader was scrolled down."""

    noun: ClassVar[str] = "rows"
    """What the rows are, plural ("fills")."""
    count_of: ClassVar[str] = ""
    """The :class:`~tui.journal.HistoryCounts` field that counts the rows."""
    changes_with: ClassVar[str] = ""
    """The count that moves whenever a row is added or changes (default: ``count_of``; an
    order's row changes with each of its records)."""
    ledger_table: ClassVar[bool] = False
    """Its rows are built by the ledger (closed round trips, orders): incomplete while an
    older account's ledger is still being built."""
    columns: ClassVar[Sequence[Column]] = ()

    def fetch(self, before: int | None, limit: int) -> Page[T]:
        raise NotImplementedError

    def row(self, item: T) -> Row:
        raise NotImplementedError

    def __init__(self, source: HistorySource, colours: NumberStyles, **kwargs: Any) -> None:
        super().__init__(source, colours, **kwargs)
        self.table: PagedTable[T] = PagedTable(self.columns, self.fetch, self.row)
        self.count: int | None = None  # rows in the table, as last counted
        self._moves: int | None = None  # the ``changes_with`` count, as last counted
        self.new = 0  # rows saved since the table was read (while scrolled down)
        self.changed = False  # rows changed since then (while scrolled down)
        self.ready = True  # the count was complete (the ledger built)
        self.status = Plain("", classes="status")
        self._counting = False  # a count is on its way (one at a time)
        self._follow_again = False  # records came meanwhile: count again when it is back

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.status

    def start(self) -> None:
        super().start()
        self.status.update("Loading…")
        self.table.load()
        self._start_count(follow=False)

    def focus_content(self) -> None:
        self.table.focus()

    def _start_count(self, *, follow: bool) -> None:
        """Count in a worker thread; one count at a time (while an older account's ledger is
        built, a count is a query: records saved meanwhile are counted by one more count
        when it is back, not by a query each)."""
        if self._counting:
            self._follow_again = self._follow_again or follow
            return
        self._counting = True
        self.run_worker(self._count(follow), group="count", exit_on_error=False)

    async def _count(self, follow: bool = False) -> None:
        """Count the rows (the ledger's counts: no query once built). With ``follow``, a
        new record came: read the newest page again when the trader is looking at it (only
        its first page is loaded), else say how many are new."""
        try:
            counts: HistoryCounts = await asyncio.to_thread(self.source.counts)
            ready = self.source.ready
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.status.update(safe_text(f"Could not count the {self.noun}: {exc}"))
            return
        finally:
            self._counting = False
            if self._follow_again:
                self._follow_again = False
                self.call_later(self._start_count, follow=True)
        count = int(getattr(counts, self.count_of))
        moves = int(getattr(counts, self.changes_with or self.count_of))
        before, self.count, self.ready = self.count, count, ready
        moved, self._moves = self._moves != moves, moves
        if follow and before is not None and moved:
            table = self.table
            if table.at_newest and not (self.new or self.changed):
                table.load(keep_cursor=True)  # one page, bounded: the table follows
            else:
                self.new += max(count - before, 0)
                self.changed = True
        self.show_status()

    def records_changed(self) -> None:
        if self.started:
            self._start_count(follow=True)

    def reload(self) -> None:
        if not self.started:
            return
        self.new, self.changed = 0, False
        self.table.load(keep_cursor=False)
        self.show_status()

    def on_paged_table_loaded(self, event: PagedTable.Loaded) -> None:
        self.show_status()

    def on_paged_table_failed(self, event: PagedTable.Failed) -> None:
        self.status.update(safe_text(f"Could not read the {self.noun}: {event.reason}"))

    def show_status(self) -> None:
        table = self.table
        if table.error is not None:
            return
        shown = len(table.items)
        if table.reading and not shown:
            self.status.update("Loading…")
            return
        total = self.count
        above = table.rows_above
        if total is not None and shown == 0 and table.complete:
            text = f"No {self.noun} yet." if self.ready else f"No {self.noun} built yet."
        elif total is None:
            text = f"{shown:,} {self.noun}"
        elif above:  # a window of rows further down: which ones
            last = above + shown
            text = f"{above + 1:,}-{last:,} of {max(total, last):,} {self.noun}, newest first"
            if table.next is not None:
                text += " · more as you scroll"
        else:
            text = f"{shown:,} of {max(total, shown):,} {self.noun}, newest first"
            if not table.complete:
                text += " · more as you scroll"
        if not self.ready and self.ledger_table:
            text += f" · still being built from older records ({self.source.progress:.0%})"
        if self.new:
            text += f" · {self.new:,} new: press r to show them"
        elif self.changed:
            text += " · changed since: press r to show the newest"
        self.status.update(text)
