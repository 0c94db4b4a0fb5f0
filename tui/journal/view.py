"""What the history screen reads, off the event loop: a season's history a page at a time.

:class:`HistorySource` is what a screen needs (pages newest first with ``before=`` cursors,
counts, practice stats). Two kinds:

- :class:`JournalView` (:meth:`tui.journal.Journal.history_view`): the journal's history on a
  SQLite connection of its own, so a worker thread can read it while the journal commits on
  the event loop (WAL: each read sees the last commit). Every call is a bounded query
  (:mod:`tui.journal.pages`); counts and stats come from the journal's ledger without a query
  once it is built. Calls may come from any thread, one at a time (a lock serialises them).
- :class:`MemoryView`: a session without a journal (tests, an account that could not be
  opened): the same pages cut from the engine's records in memory (the full-scan functions
  of :mod:`tui.history`; such a session holds only what it made since launch).

Both raise :class:`~tui.journal.JournalError` ("history", or "unwritable" for an account file
replaced under perpdesk) for a record that cannot be read; :meth:`close` gives the
connection back (a view is closed with the screen that opened it).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    Liquidation,
    MarginTransfer,
    Market,
    OrderEvent,
)
from tui.history import (
    AccountAt,
    ClosedPosition,
    OrderRecord,
    PostMortem,
    PracticeStats,
    closed_positions,
    order_history,
    post_mortems,
    practice_stats,
)
from tui.journal.base import _damaged_history
from tui.journal.pages import PAGE_SIZE, Page, Reader, _check_limit, _cursor

if TYPE_CHECKING:
    from tui.journal.store import HistoryCounts, Journal

T = TypeVar("T")


class HistorySource(Protocol):
    """A season's history as the history screen reads it (newest first, keyset-paged:
    pass a page's ``next`` as ``before`` for the one after it)."""

    def fills_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[Fill]: ...
    def liquidations_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[PostMortem]: ...
    def funding_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[FundingPayment]: ...
    def transfers_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[MarginTransfer]: ...
    def order_events_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[OrderEvent]: ...
    def orders_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[OrderRecord]: ...
    def closed_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[ClosedPosition]: ...
    def counts(self) -> HistoryCounts: ...
    def stats(self) -> PracticeStats: ...
    @property
    def start(self) -> tuple[float, float]:
        """The season's starting balance and when it started (the engine's clock)."""
        ...

    def fold(self, fold: Callable[[Iterator[Event]], T]) -> T:
        """``fold`` applied to every record of the season, oldest first, streamed a chunk at a
        time (never all held at once by the view); call it from a worker thread."""
        ...

    @property
    def ready(self) -> bool:
        """Are counts, stats, closed round trips and order rows complete (see
        :attr:`tui.journal.Journal.history_ready`)?"""
        ...

    @property
    def progress(self) -> float:
        """How much of the season they cover so far, from 0 to 1."""
        ...

    def close(self) -> None: ...


class JournalView:
    """The journal's history on a connection of its own (see the module's docstring)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.season = journal.season
        self._start = (journal.starting_balance, journal.started)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _call(self, read: Callable[[Reader], T]) -> T:
        journal = self._journal
        with self._lock:
            journal._reader()  # closed or replaced: say so
            if self._closed:
                raise _damaged_history(journal.path, "this view of the history was closed")
            if journal.season != self.season:  # /reset while it was open: nothing to show
                raise _damaged_history(journal.path, "a new season started")
            if self._conn is None:
                try:
                    self._conn = sqlite3.connect(
                        f"{journal.path.resolve().as_uri()}?mode=ro",
                        uri=True,
                        isolation_level=None,
                        check_same_thread=False,  # worker threads take turns (the lock)
                    )
                except sqlite3.Error as exc:
                    raise _damaged_history(journal.path, str(exc)) from exc
            return read(Reader(self._conn, self.season, journal.path))

    def fills_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[Fill]:
        return self._call(lambda r: r.page("fill", Fill, before, limit))

    def liquidations_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[PostMortem]:
        markets = dict(self._journal.engine.markets)  # a copy: the feed may list new ones
        return self._call(lambda r: r.liquidations(markets, before, limit))

    def funding_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[FundingPayment]:
        return self._call(lambda r: r.page("funding", FundingPayment, before, limit))

    def transfers_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[MarginTransfer]:
        return self._call(lambda r: r.page("transfer", MarginTransfer, before, limit))

    def order_events_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[OrderEvent]:
        return self._call(lambda r: r.page("order", OrderEvent, before, limit))

    def orders_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[OrderRecord]:
        return self._call(lambda r: r.orders(before, limit))

    def closed_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[ClosedPosition]:
        return self._call(lambda r: r.closed(before, limit))

    def counts(self) -> HistoryCounts:
        """The ledger's counts (no query once built; while it builds, counted on this view's
        connection through the index by kind)."""
        journal = self._journal
        if journal.history_ready:
            return journal.counts()
        from tui.journal.store import HistoryCounts

        ledger = journal._ledger.counts

        def count(r: Reader) -> HistoryCounts:
            return HistoryCounts(
                fills=r.count("fill"),
                liquidations=r.count("liquidation"),
                funding=r.count("funding"),
                transfers=r.count("transfer"),
                order_events=r.count("order"),
                orders=ledger["orders"],
                closed=ledger["closed"],
                complete=False,
            )

        return self._call(count)

    def stats(self) -> PracticeStats:
        return self._journal.stats()

    @property
    def start(self) -> tuple[float, float]:
        return self._start

    def fold(self, fold: Callable[[Iterator[Event]], T]) -> T:
        return self._call(lambda r: fold(r.stream_records()))

    @property
    def ready(self) -> bool:
        return self._journal.history_ready

    @property
    def progress(self) -> float:
        return self._journal.history_progress

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class MemoryView:
    """Pages cut from records held in memory (a session without a journal). ``events``
    returns the season's records so far, oldest first; ``accounts`` the account figures
    saved with them (for the post-mortems)."""

    def __init__(
        self,
        events: Callable[[], Sequence[Event]],
        markets: Callable[[], Mapping[str, Market]],
        accounts: Mapping[int, AccountAt],
        start: Callable[[], tuple[float, float]] = lambda: (10_000.0, 0.0),
    ) -> None:
        self._events = events
        self._markets = markets
        self._accounts = accounts
        self._start = start

    def _of(self, cls: type[T]) -> list[T]:
        return [e for e in list(self._events()) if isinstance(e, cls)]

    @staticmethod
    def _cut(rows: Sequence[T], seq: Callable[[T], int], before: int | None, limit: int) -> Page[T]:
        """``rows`` oldest first; the page of those numbered below ``before``, newest first."""
        limit, cursor = _check_limit(limit), _cursor(before)
        newer = [row for row in reversed(rows) if seq(row) < cursor]
        page = newer[:limit]
        return Page(
            page,
            seq(page[-1]) if len(newer) > limit else None,
            seq(page[0]) + 1 if page else None,
        )

    def fills_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[Fill]:
        return self._cut(self._of(Fill), lambda e: e.seq, before, limit)

    def liquidations_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[PostMortem]:
        events = list(self._events())
        mortems = post_mortems(events, dict(self._markets()), self._accounts)
        return self._cut(mortems, lambda m: m.liquidation.seq, before, limit)

    def funding_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[FundingPayment]:
        return self._cut(self._of(FundingPayment), lambda e: e.seq, before, limit)

    def transfers_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[MarginTransfer]:
        return self._cut(self._of(MarginTransfer), lambda e: e.seq, before, limit)

    def order_events_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[OrderEvent]:
        return self._cut(self._of(OrderEvent), lambda e: e.seq, before, limit)

    def orders_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[OrderRecord]:
        rows = order_history(list(self._events()))
        numbered = list(enumerate(rows, start=1))
        page = self._cut(numbered, lambda nr: nr[0], before, limit)
        return Page([row for _, row in page.rows], page.next, page.top)

    def closed_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[ClosedPosition]:
        numbered = list(enumerate(closed_positions(list(self._events())), start=1))
        page = self._cut(numbered, lambda nc: nc[0], before, limit)
        return Page([trip for _, trip in page.rows], page.next, page.top)

    def counts(self) -> HistoryCounts:
        from tui.journal.store import HistoryCounts

        events = list(self._events())
        return HistoryCounts(
            fills=sum(isinstance(e, Fill) for e in events),
            liquidations=sum(isinstance(e, Liquidation) for e in events),
            funding=sum(isinstance(e, FundingPayment) for e in events),
            transfers=sum(isinstance(e, MarginTransfer) for e in events),
            order_events=sum(isinstance(e, OrderEvent) for e in events),
            orders=len(order_history(events)),
            closed=len(closed_positions(events)),
        )

    def stats(self) -> PracticeStats:
        return practice_stats(list(self._events()))

    @property
    def start(self) -> tuple[float, float]:
        """``start()``: the session's starting balance and launch time."""
        return self._start()

    def fold(self, fold: Callable[[Iterator[Event]], T]) -> T:
        return fold(iter(list(self._events())))

    @property
    def ready(self) -> bool:
        return True

    @property
    def progress(self) -> float:
        return 1.0

    def close(self) -> None:
        pass
