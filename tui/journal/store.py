"""The journal itself: the live account on disk (:class:`Journal`), rebuilt on launch from
the saved state alone, saved after every engine step, and read back a page at a time; and
:func:`read_account` for tools and tests."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from tui.engine import (
    DEFAULT_MARKETS,
    Event,
    Fill,
    FundingPayment,
    MarginTransfer,
    Market,
    OrderEvent,
    PaperEngine,
    Venue,
)
from tui.engine.models import check_number
from tui.history import (
    AccountAt,
    ClosedPosition,
    OrderRecord,
    PostMortem,
    PracticeStats,
    TripBook,
    account_at,
    export_row,
    export_target,
    write_csv,
)
from tui.journal import ledger as ledger_tables
from tui.journal.base import (
    APP_ID,
    DB_NAME,
    JournalError,
    _corrupt,
    _damaged_history,
    _reason,
    _unwritable,
)
from tui.journal.codec import (
    NonFiniteError,
    _dump,
    _load,
    _market_data,
    _moment,
    _number,
    _whole,
    check_state,
    decode_event,
    encode_event,
)
from tui.journal.ledger import Ledger
from tui.journal.lock import PRIVATE_FOLDER, _file_id, _Lock, _narrow, _open_private
from tui.journal.pages import PAGE_SIZE, Page, Reader
from tui.journal.schema import SCHEMA_VERSION, _inspect, _transaction, create, file_version
from tui.journal.seasons import SeasonInfo, _insert_season, _seasons
from tui.journal.view import JournalView
from tui.safe import safe_text

Synchronous = Literal["FULL", "NORMAL", "OFF"]

MarketsFor = Callable[[Venue], Iterable[Market]]
"""The markets an account on a venue trades (that venue's margin tables)."""

SYNC_HISTORY: Final = 2_000
"""A ledger this many records behind (or fewer) is caught up while the account opens (a few
tens of milliseconds); a longer one is left to :meth:`Journal.build_history`."""
HISTORY_CHUNK: Final = 250
"""Records folded into the ledger per transaction while it catches up."""


@functools.lru_cache(maxsize=64)
def _markets_json(markets: tuple[Market, ...]) -> str:
    """The saved market list (the same few lists are saved with record after record)."""
    return _dump([_market_data(market) for market in markets])


@dataclass
class _Season:
    number: int
    started: float
    starting_balance: float
    engine: PaperEngine
    last_seq: int  # the latest record saved (0: none)
    ledger: Ledger | None  # None: none saved, or one that cannot be used (built again)


def _load_season(
    conn: sqlite3.Connection,
    path: Path,
    markets: Sequence[Market] | MarketsFor,
    clock: Callable[[], float],
    *,
    version: int,
    with_records: bool = False,
) -> _Season | None:
    """The current season rebuilt from its saved state, or None if every season is archived.

    ``markets`` may be a function of the season's venue (each season trades on its own venue's
    margin tables). Its records are not read (``with_records`` reads and checks them all into
    ``engine.events``: :func:`read_account`, for tools and tests)."""
    try:
        row = conn.execute(
            "SELECT number, started, starting_balance, state, markets FROM seasons "
            "WHERE ended IS NULL ORDER BY number DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        number, started, balance, state_json, markets_json = row
        state = check_state(_load(state_json, "saved state"))
        if callable(markets):
            markets = list(markets(Venue.parse(state.get("venue", Venue.HYPERLIQUID.value))))
        known = {m.name: m for m in markets}
        saved_markets = _load(markets_json, "market list")
        if not isinstance(saved_markets, list) or not all(
            isinstance(data, dict) for data in saved_markets
        ):
            raise ValueError("its market list is not a list of markets")
        for data in saved_markets:
            market = Market(**data)
            known.setdefault(market.name, market)  # a saved position's market, no longer listed
        engine = PaperEngine.from_state(state, markets=known.values(), clock=clock)
        number = _whole(number, "the season number")
        (last,) = conn.execute("SELECT MAX(seq) FROM events WHERE season = ?", (number,)).fetchone()
        last_seq = 0 if last is None else _whole(last, "the latest record's number")
        if with_records:
            engine.events = _all_records(conn, number)
        ledger: Ledger | None = None
        if version >= 2:
            saved = conn.execute(
                "SELECT through, data FROM ledger WHERE season = ?", (number,)
            ).fetchone()
            if saved is not None:
                with contextlib.suppress(ValueError, RecursionError):
                    ledger = Ledger.from_json(*saved)  # else (damaged, or of an older
                    # format: OutdatedLedger): folded again from the first record
            if ledger is not None and ledger.through > last_seq:
                ledger = None  # it counts records that are not there: fold them again
        return _Season(
            number,
            _moment(started, "the season's start"),
            _number(balance, "the starting balance"),
            engine,
            last_seq,
            ledger,
        )
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise _corrupt(path, f"the saved account does not add up: {exc}") from exc


def _all_records(conn: sqlite3.Connection, season: int) -> list[Event]:
    """Every record of the season, each checked (``ValueError`` for the first bad one)."""
    events: list[Event] = []
    for seq, kind, payload, wallet, excess in conn.execute(
        "SELECT seq, type, payload, wallet, cross_excess FROM events WHERE season = ? ORDER BY seq",
        (season,),
    ):
        event = decode_event(kind, payload)
        if event.seq != seq:
            raise ValueError(f"record {seq} is numbered {event.seq}")
        events.append(event)
        if wallet is not None and excess is not None:
            _number(wallet, f"record {seq}'s wallet")
            _number(excess, f"record {seq}'s cross excess")
    return events


def read_account(
    data_dir: str | os.PathLike[str],
    *,
    markets: Iterable[Market] | None = None,
    clock: Callable[[], float] = time.time,
) -> PaperEngine | None:
    """The current season's account as saved, read-only (no lock, no write); None if none.
    Unlike :meth:`Journal.open` it reads and checks every record into ``engine.events``
    (a damaged one makes it raise :class:`JournalError` "corrupt").

    For tools and tests; the app uses :meth:`Journal.open`.
    """
    path = Path(data_dir).expanduser() / DB_NAME
    conn = _inspect(path)
    if conn is None:
        return None
    try:
        season = _load_season(
            conn,
            path,
            list(DEFAULT_MARKETS if markets is None else markets),
            clock,
            version=file_version(conn),
            with_records=True,
        )
    finally:
        conn.close()
    return None if season is None else season.engine


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    """Rows in each history table of the season (saved records). ``complete`` is False while
    the ledger is still being built: ``orders`` and ``closed`` then count what is built so far."""

    fills: int
    liquidations: int
    funding: int
    transfers: int
    order_events: int
    orders: int
    closed: int
    complete: bool = True


_RECORD_TYPE: Final = {
    "fills": "fill",
    "liquidations": "liquidation",
    "funding": "funding",
    "transfers": "transfer",
    "order_events": "order",
    "orders": "order",  # an export of "orders" is the order records
}


class _Accounts(Mapping[int, AccountAt]):
    """The account figures saved with each record (``wallet``, ``cross_excess``), read from
    SQLite when asked for: records made but not yet saved first, then the file."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def _unsaved(self) -> dict[int, AccountAt]:
        j = self._journal
        return {event.seq: account for event, account in (*j._pending, *j._batch)}

    def __getitem__(self, seq: int) -> AccountAt:
        unsaved = self._unsaved()
        if seq in unsaved:
            return unsaved[seq]
        found = self._journal._reader().account_at(seq)
        if found is None:
            raise KeyError(seq)
        return found

    def __iter__(self) -> Iterator[int]:
        unsaved = self._unsaved()
        for seq in self._journal._reader().seqs():
            if seq not in unsaved:
                yield seq
        yield from unsaved

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Journal:
    """The paper account on disk. Open with :meth:`Journal.open`; trade on :attr:`engine`.

    Each engine record is committed, with the engine's new state, before the engine call that
    produced it returns. After a failed write :attr:`error` holds a message for the user and the
    records wait in memory; they are written by the next change or :meth:`flush`.

    Opening reads the saved state, not the records: ``engine.events`` holds only the records
    made since. The history is read from SQLite a page at a time (:meth:`fills_page`,
    :meth:`liquidations_page`, ... newest first, keyset-paged), its counts and practice stats
    come from the ledger (:mod:`tui.journal.ledger`), and :meth:`export` streams a table to a
    CSV file. Pages, counts and stats show saved records (not those waiting after a failed
    write). A ledger left to build (an account saved before it existed) is built by
    :meth:`build_history`, a slice at a time, until :attr:`history_ready`.
    """

    def __init__(
        self,
        *,
        path: Path,
        conn: sqlite3.Connection,
        lock: _Lock | None,
        season: _Season,
        clock: Callable[[], float],
    ) -> None:
        self.path = path
        self.data_dir = path.parent
        self._conn = conn
        self._lock = lock
        self._clock = clock
        self._markets_for: MarketsFor | None = None  # set by open(): each venue's markets
        self.season = season.number
        self.started = season.started
        self.starting_balance = season.starting_balance
        self.engine = season.engine
        self.accounts: Mapping[int, AccountAt] = _Accounts(self)
        """The account figures saved with each record, by record number (read when asked)."""
        self._saved_seq = season.last_seq
        self._ledger = season.ledger if season.ledger is not None else Ledger()
        self._history_error: str | None = None
        self._synchronous: Synchronous = "FULL"
        self._batch: list[tuple[Event, AccountAt]] = []  # this operation's records so far
        self._pending: list[tuple[Event, AccountAt]] = []  # complete, not yet committed
        self._state: dict[str, Any] = self.engine.to_state()
        self._markets_json = self._markets_of(self._state)
        self._dirty = False
        self._error: str | None = None
        self._closed = False
        self._replaced = False
        self._identity = _file_id(path, None if lock is None else lock.db_fd)
        self._listener: Callable[[Event], None] = self._on_event
        self.engine.listeners.insert(0, self._listener)  # saved before anyone reports it

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        starting_balance: float = 10_000.0,
        markets: Iterable[Market] | None = None,
        clock: Callable[[], float] = time.time,
        fresh: bool = False,
        lock: bool = True,
        synchronous: Synchronous = "FULL",
        venue: Venue | str = Venue.HYPERLIQUID,
        markets_for: MarketsFor | None = None,
    ) -> Journal:
        """Open (or create) the account in ``data_dir`` and rebuild its engine.

        ``starting_balance`` funds a new account (and ``fresh=True``, which archives the current
        season first, like ``/reset``, and starts the new one on ``venue``'s rules).
        ``markets`` are the engine's markets (default: the default list); a saved position in
        a market no longer listed brings its saved market back. ``venue`` is the rules a new
        account follows (an existing season keeps its own).
        ``markets_for``, when given, chooses the markets by venue instead of ``markets``: the
        saved season's venue's, ``venue``'s for a new account, and the new venue's when
        :meth:`new_season` changes it (each season trades on its own venue's margin tables).
        ``lock=False`` skips the one-perpdesk-per-account lock (tests only).
        ``synchronous="FULL"`` makes each commit survive a power cut too, not only a killed
        process.

        Raises :class:`JournalError` (see its ``kind``); the account file is never changed by
        a failed open.
        """
        check_number("Starting balance", starting_balance)
        if synchronous not in ("FULL", "NORMAL", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
        folder = Path(data_dir).expanduser()
        path = folder / DB_NAME
        if markets_for is not None:
            market_list = list(markets_for(Venue.parse(venue)))
        else:
            market_list = list(DEFAULT_MARKETS if markets is None else markets)
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        guard = _Lock(folder) if lock else None
        conn: sqlite3.Connection | None = None
        try:
            if guard is not None:
                guard.acquire()
                guard.lock_database(path)
            else:  # tests: no locks, but the same owner-only file (SQLite's -wal/-shm follow it)
                try:
                    os.close(_open_private(path))
                except OSError as exc:
                    raise _unwritable(path, exc) from exc
            season: _Season | None = None
            version = 0
            ro = _inspect(path)
            if ro is not None:  # rebuild read-only: nothing is written before it succeeds
                try:
                    version = file_version(ro)
                    season = _load_season(
                        ro, path, markets_for or market_list, clock, version=version
                    )
                finally:
                    ro.close()
            try:
                conn = sqlite3.connect(
                    path, isolation_level=None, timeout=5.0, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                conn.execute(f"PRAGMA synchronous={synchronous}")
                now = clock()
                with _transaction(conn):
                    if version < SCHEMA_VERSION:  # a new file, or one saved by an older perpdesk
                        create(conn, version)
                    if ro is None:
                        conn.executemany(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            [("app", APP_ID), ("created", repr(now))],
                        )
                    conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_opened', ?)",
                        (repr(now),),
                    )
                    if season is None:
                        engine = PaperEngine(
                            starting_balance, market_list, clock=clock, venue=venue
                        )
                        number = _insert_season(conn, engine, float(starting_balance), now)
                        season = _Season(number, now, float(starting_balance), engine, 0, Ledger())
                    elif season.ledger is None:  # none yet, or unusable: fold from the first
                        ledger_tables.reset(conn, season.number)
            except sqlite3.Error as exc:
                raise _unwritable(path, exc) from exc
            if guard is not None and guard.db_fd is not None:
                _narrow(guard.db_fd)  # opened fine: ours, so owner-only from now on
            journal = cls(path=path, conn=conn, lock=guard, season=season, clock=clock)
            journal._markets_for = markets_for
            journal._synchronous = synchronous
            if journal._saved_seq - journal._ledger.through <= SYNC_HISTORY:
                with contextlib.suppress(JournalError):  # kept in history_error; shown there
                    journal.build_history(math.inf)
        except BaseException:
            if conn is not None:
                conn.close()
            if guard is not None:
                guard.release()
            raise
        if fresh:
            try:
                journal.new_season(starting_balance, venue=venue)
            except BaseException:
                journal.close()
                raise
        return journal

    # ------------------------------------------------------------------ status

    @property
    def error(self) -> str | None:
        """Why the latest changes are not saved, for the user; None when everything is saved."""
        return self._error

    @property
    def pending(self) -> int:
        """Records made but not yet committed (0 when everything is saved)."""
        return len(self._pending) + len(self._batch)

    @property
    def closed(self) -> bool:
        return self._closed

    def post_mortems(self) -> list[PostMortem]:
        """Every liquidation of this season with its post-mortem, oldest first (reads every
        liquidation: for tools and tests; the history screen pages them)."""
        found: list[PostMortem] = []
        cursor: int | None = None
        while True:
            page = self.liquidations_page(before=cursor, limit=1_000)
            found += page.rows
            if page.next is None:
                return found[::-1]
            cursor = page.next

    def seasons(self) -> list[SeasonInfo]:
        """Every season of this account (the current one last), as committed."""
        if self._replaced:
            raise JournalError("unwritable", self._error or "", self.path)
        return _seasons(self._conn, self.path)

    # ------------------------------------------------------------------ the history

    def _reader(self) -> Reader:
        if self._replaced:
            raise JournalError("unwritable", self._error or "", self.path)
        if self._closed:
            raise JournalError("history", "This account is closed.", self.path)
        return Reader(self._conn, self.season, self.path)

    @property
    def record_count(self) -> int:
        """Records made this season, saved or waiting to be (a count kept, not a query)."""
        return self._saved_seq + self.pending

    def recent(self, limit: int = 50) -> list[Event]:
        """The season's latest ``limit`` saved records, oldest first (one bounded query)."""
        return self._reader().recent(limit)

    def fills_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[Fill]:
        """Fills, newest first: ``limit`` of them older than the cursor ``before`` (None: the
        newest). Pass the page's ``next`` as ``before`` for the page after it."""
        return self._reader().page("fill", Fill, before, limit)

    def liquidations_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[PostMortem]:
        """Liquidations, newest first, each with its post-mortem (see :meth:`fills_page`)."""
        return self._reader().liquidations(self.engine.markets, before, limit)

    def funding_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[FundingPayment]:
        return self._reader().page("funding", FundingPayment, before, limit)

    def transfers_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[MarginTransfer]:
        return self._reader().page("transfer", MarginTransfer, before, limit)

    def order_events_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[OrderEvent]:
        """Order records (placed, triggered, filled, cancelled, rejected), newest first."""
        return self._reader().page("order", OrderEvent, before, limit)

    def orders_page(self, before: int | None = None, limit: int = PAGE_SIZE) -> Page[OrderRecord]:
        """One row per order (:func:`tui.history.order_history`), newest placed first.
        Complete once :attr:`history_ready`."""
        return self._reader().orders(before, limit)

    def closed_page(
        self, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Page[ClosedPosition]:
        """Closed round trips (:func:`tui.history.closed_positions`), latest closed first.
        Complete once :attr:`history_ready`."""
        return self._reader().closed(before, limit)

    def history_view(self) -> JournalView:
        """This season's history on a connection of its own, for a worker thread (the
        history screen's reads; :mod:`tui.journal.view`). Close it when done."""
        return JournalView(self)

    def counts(self) -> HistoryCounts:
        """How many rows each history table has (the ledger's counts: no query once it is
        built; while it builds, the records are counted through their index)."""
        counts = self._ledger.counts
        if self.history_ready:
            return HistoryCounts(
                fills=counts["fills"],
                liquidations=counts["liquidations"],
                funding=counts["funding"],
                transfers=counts["transfers"],
                order_events=counts["order_events"],
                orders=counts["orders"],
                closed=counts["closed"],
            )
        reader = self._reader()
        return HistoryCounts(
            fills=reader.count("fill"),
            liquidations=reader.count("liquidation"),
            funding=reader.count("funding"),
            transfers=reader.count("transfer"),
            order_events=reader.count("order"),
            orders=counts["orders"],
            closed=counts["closed"],
            complete=False,
        )

    def stats(self) -> PracticeStats:
        """:func:`tui.history.practice_stats` of the season's saved records, from the ledger
        (no query). Complete once :attr:`history_ready`."""
        return self._ledger.stats.stats()

    def records(self, kind: str | None = None) -> Iterator[Event]:
        """Every saved record of the season (of ``kind``: "fill", "liquidation", "funding",
        "transfer", "order"), oldest first, read a chunk at a time. A full read: for exports,
        tools and tests, never for a screen."""
        return self._reader().stream_records(kind)

    @property
    def history_ready(self) -> bool:
        """Is the ledger up to date with every saved record (counts, stats, closed round trips
        and order rows complete)?"""
        return self._history_error is None and self._ledger.through >= self._saved_seq

    @property
    def history_progress(self) -> float:
        """How much of the season the ledger has folded in, from 0 to 1."""
        if self._saved_seq <= 0:
            return 1.0
        return min(self._ledger.through / self._saved_seq, 1.0)

    @property
    def history_error(self) -> str | None:
        """Why the ledger cannot be built (a damaged record), for the user; None if it can."""
        return self._history_error

    def build_history(self, budget: float = 0.02) -> float:
        """Fold saved records into the ledger for about ``budget`` seconds (at least one chunk
        of :data:`HISTORY_CHUNK`), each chunk in its own transaction; returns
        :attr:`history_progress`. Call it from a timer until :attr:`history_ready` (the account
        trades and saves meanwhile; what is saved meanwhile is folded in too).

        Raises :class:`JournalError` ("history") if a record cannot be read: the history cannot
        be built past it (:attr:`history_error` keeps the message); trading is not affected.
        A write that fails (disk full) is tried again by the next call.
        """
        if self._closed or self._replaced:
            return self.history_progress
        if self._history_error is not None:
            raise JournalError("history", self._history_error, self.path)
        deadline = time.perf_counter() + budget
        reader = self._reader()
        if self._synchronous == "FULL":
            # The ledger can always be folded again from the records: its chunks need not
            # wait for the disk (a record's commit still does, and takes them along).
            self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            self._fold_saved(reader, deadline)
        finally:
            if self._synchronous == "FULL":
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA synchronous=FULL")
        return self.history_progress

    def _fold_saved(self, reader: Reader, deadline: float) -> None:
        while self._ledger.through < self._saved_seq:
            try:
                chunk = reader.after(self._ledger.through, HISTORY_CHUNK)
                ledger = self._ledger.copy()
                writes = ledger.fold(chunk, ledger_tables.order_lookup(self._conn, self.season))
            except (ValueError, RecursionError) as exc:  # a damaged history row
                error = _damaged_history(self.path, str(exc))
                self._history_error = str(error)
                raise error from exc
            except JournalError as exc:
                self._history_error = str(exc)
                raise
            if not chunk:
                break
            try:
                with _transaction(self._conn):
                    ledger_tables.write(self._conn, self.season, ledger, writes)
            except sqlite3.Error:
                break  # (disk full...): the next call tries again
            self._ledger = ledger
            if time.perf_counter() >= deadline:
                break

    def _fold(self, events: list[Event]) -> tuple[Ledger, ledger_tables.LedgerWrites] | None:
        """Fold records being saved into a copy of the ledger, when it is up to date (else
        :meth:`build_history` reaches them later); None when it is not, or cannot be."""
        if not self.history_ready or not events:
            return None
        ledger = self._ledger.copy()
        try:
            writes = ledger.fold(events, ledger_tables.order_lookup(self._conn, self.season))
        except (ValueError, RecursionError) as exc:  # an order row that cannot be read
            self._history_error = str(_damaged_history(self.path, str(exc)))
            return None
        return ledger, writes

    def export(
        self,
        kind: str,
        path: str | os.PathLike[str],
        progress: Callable[[int, int], object] | None = None,
    ) -> Path:
        """Write one history table (a :data:`tui.history.EXPORT_KINDS` name) as CSV, the same
        file :func:`tui.history.export_csv` writes, streaming rows from SQLite a chunk at a
        time; returns the file. ``progress(rows written, rows in all)`` is called every
        :data:`tui.history.EXPORT_CHUNK` rows (an exception it raises stops the export, and no
        file is left). Reads on a connection of its own, in one snapshot: it may run in a
        worker thread while the account trades. Raises :class:`tui.history.ExportError`,
        ``ValueError`` for an unknown ``kind``, :class:`JournalError` ("history") for a
        record that cannot be read.
        """
        target = export_target(path, kind)
        self._reader()  # closed or replaced: say so
        counts = self._ledger.counts
        total = (
            counts["order_events" if kind == "orders" else kind]
            if kind in counts or kind == "orders"
            else 0
        )
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("BEGIN")  # one snapshot of the file for the whole export
            reader = Reader(conn, self.season, self.path)
            items: Iterable[Event | ClosedPosition]
            if kind == "closed" and self.history_ready:
                items = reader.stream_closed()
            elif kind == "closed":  # the ledger is still being built: round trips as they end
                book = TripBook()
                items = (c for e in reader.stream_records() if (c := book.feed(e)) is not None)
            else:
                items = reader.stream_records(_RECORD_TYPE[kind])
            rows = (row for item in items if (row := export_row(kind, item)) is not None)
            report = None if progress is None else (lambda n: progress(n, max(total, n)))
            return write_csv(target, kind, rows, report)
        except sqlite3.DatabaseError as exc:
            raise _damaged_history(self.path, str(exc)) from exc
        finally:
            conn.close()

    # ------------------------------------------------------------------ the file itself

    def _same_file(self) -> bool:
        """Is ``account.db`` still the file this journal opened? (Checked before each write:
        a file replaced or removed under a running perpdesk must not be written into.)"""
        try:
            return _file_id(self.path, None) == self._identity
        except OSError:
            return False

    def _detach(self) -> None:
        """The file was replaced or removed: stop writing for good, and say so. What was
        committed is moved from the write-ahead log into the file this journal opened (where it
        belongs), which empties the log, so nothing of this account is read into the new file;
        then the connection closes. Records made from now on wait in memory, unsaved."""
        if not self._replaced:
            self._replaced = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        waiting = self._pending or self._batch
        since = time.strftime("%H:%M:%S", time.localtime(waiting[0][0].time)) if waiting else ""
        lost = f"Your trades since {since} are" if waiting else "The latest account state is"
        self._error = safe_text(
            f"{self.path} was replaced or removed while perpdesk was running, so perpdesk "
            f"stopped saving the account: it never writes into a file it did not open. {lost} "
            "not saved. Quit, decide which account file to keep, then start perpdesk again."
        )

    # ------------------------------------------------------------------ writing

    def _markets_of(self, state: Mapping[str, Any]) -> str:
        engine = self.engine
        held = [*state["positions"], *state.get("orders", ())]  # an order keeps its market too
        names = dict.fromkeys(p["market"] for p in held)
        return _markets_json(tuple(engine.market(name) for name in names))

    def _on_event(self, event: Event) -> None:
        """Engine listener: must never raise (the engine calls it in the middle of a change)."""
        try:
            self._batch.append((event, account_at(self.engine)))
            state = self.engine.to_state()
            if int(state["seq"]) != event.seq:
                # the operation numbered more records (a flip's second fill, the rest of a
                # cross liquidation, which the engine hands over together): wait
                return
            self._settle(state)
            self._commit()
        except Exception as exc:  # a journal problem must never break the trade in memory
            self._fail(exc)

    def _settle(self, state: dict[str, Any]) -> None:
        """The batch is a whole operation and ``state`` the engine after it."""
        self._pending.extend(self._batch)
        self._batch.clear()
        self._state = state
        self._markets_json = self._markets_of(state)
        self._dirty = True

    def _commit(self) -> bool:
        if not self._dirty:
            return True
        if self._replaced or not self._same_file():
            self._detach()
            return False
        try:
            rows = []
            for event, account in self._pending:
                kind, payload = encode_event(event)
                wallet, excess = account.wallet, account.cross_excess
                where = f"{kind} record {event.seq}"
                for name, value in (("time", event.time), ("wallet", wallet), ("excess", excess)):
                    if not math.isfinite(value):
                        raise NonFiniteError(
                            f"the account holds a number that is not finite ({where} {name} = "
                            f"{value}), and perpdesk never saves NaN or infinity"
                        )
                rows.append((self.season, event.seq, event.time, kind, payload, wallet, excess))
            state = _dump(self._state)
            folded = self._fold([event for event, _ in self._pending])
            with _transaction(self._conn):
                self._conn.executemany(
                    "INSERT OR REPLACE INTO events "
                    "(season, seq, time, type, payload, wallet, cross_excess) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._conn.execute(
                    "UPDATE seasons SET state = ?, markets = ?, updated = ? WHERE number = ?",
                    (state, self._markets_json, self._clock(), self.season),
                )
                if folded is not None:
                    ledger_tables.write(self._conn, self.season, *folded)
        except Exception as exc:  # disk full, read-only, I/O error...: keep the records, say so
            self._fail(exc)
            return False
        if self._pending:
            self._saved_seq = max(self._saved_seq, self._pending[-1][0].seq)
        if folded is not None:
            self._ledger = folded[0]
        self._pending.clear()
        self._dirty = False
        self._error = None
        return True

    def _fail(self, exc: BaseException) -> None:
        if self._replaced:
            return  # the reason stands: the file is not ours any more
        waiting = self._pending or self._batch
        if waiting:
            since = time.strftime("%H:%M:%S", time.localtime(waiting[0][0].time))
            lost = f"Your trades since {since} are not saved yet"
        else:
            lost = "The latest account state is not saved yet"
        self._error = safe_text(
            f"Could not save to {self.path}: {_reason(exc)}. {lost}; perpdesk retries on the next "
            "change."
        )

    def _take_engine_state(self) -> None:
        """Outside an engine call: everything made so far is whole, and the engine at rest."""
        self._settle(self.engine.to_state())

    def flush(self) -> bool:
        """Try again to write what is not saved; True when everything is saved.

        Call it from the app (a timer, before quitting); never from inside an engine call.
        """
        if self._closed:
            return not self._dirty and not self._batch
        if not self._dirty and not self._batch:
            return True
        self._take_engine_state()
        return self._commit()

    def checkpoint(self) -> bool:
        """Save the engine's state now, with its current marks (on quit, or now and then)."""
        if self._closed:
            return False
        self._take_engine_state()
        return self._commit()

    def new_season(
        self,
        starting_balance: float,
        *,
        venue: Venue | str | None = None,
        markets: Iterable[Market] | None = None,
    ) -> PaperEngine:
        """Archive the current season (kept with its history) and start a new account.

        The new engine has the same venue, markets, marks and funding rates unless ``venue`` or
        ``markets`` name others (a venue belongs to a season: changing it takes a new one, on
        the new venue's markets when the journal was opened with ``markets_for``), and
        becomes :attr:`engine` (the journal listens to it). A season with no record yet is
        restarted in place instead of archived. Raises ``ValueError`` for a bad balance and
        :class:`JournalError` ("unwritable") when it cannot be saved; the current season then
        goes on unchanged.
        """
        if self._closed:
            raise ValueError("This journal is closed.")
        balance = check_number("Starting balance", starting_balance)
        old = self.engine
        chosen = old.venue if venue is None else Venue.parse(venue)
        if markets is None and chosen is not old.venue and self._markets_for is not None:
            markets = self._markets_for(chosen)  # the new venue's margin tables
        new = PaperEngine(
            balance,
            old.markets.values() if markets is None else markets,
            clock=self._clock,
            venue=chosen,
        )
        listed = new.markets
        for name, price in old.marks.items():
            if name in listed:
                new.set_mark(name, price)
        for name in old.markets:
            if name not in listed:
                continue
            rate = old.funding_rate(name)
            if rate is not None:
                new.set_funding_rate(name, rate)
        if not self._same_file():
            self._detach()
        if self._replaced or not self.flush():
            if self._replaced:
                raise JournalError("unwritable", self._error or "", self.path)
            raise _unwritable(self.path, self._error or "the last changes could not be saved")
        now = self._clock()
        try:
            with _transaction(self._conn):
                if self._saved_seq:  # (flushed above: every record is saved)
                    self._conn.execute(
                        "UPDATE seasons SET ended = ?, state = ?, updated = ? WHERE number = ?",
                        (now, _dump(old.to_state()), now, self.season),
                    )
                    number = _insert_season(self._conn, new, balance, now)
                else:
                    number = self.season
                    self._conn.execute(
                        "UPDATE seasons SET started = ?, starting_balance = ?, state = ?, "
                        "markets = '[]', updated = ? WHERE number = ?",
                        (now, balance, _dump(new.to_state()), now, number),
                    )
                    ledger_tables.reset(self._conn, number)
                    ledger_tables.write(self._conn, number, Ledger(), ledger_tables.LedgerWrites())
        except sqlite3.Error as exc:
            raise _unwritable(self.path, exc) from exc
        with contextlib.suppress(ValueError):
            old.listeners.remove(self._listener)
        new.listeners.insert(0, self._listener)
        self.engine = new
        self.season = number
        self.started = now
        self.starting_balance = balance
        self._saved_seq = 0
        self._ledger = Ledger()
        self._history_error = None
        self._batch.clear()
        self._pending.clear()
        self._state = new.to_state()
        self._markets_json = "[]"
        self._dirty = False
        self._error = None
        return new

    def close(self) -> bool:
        """Save the state (with the current marks), stop listening and release the account.

        Returns False if something could not be saved (:attr:`error` says what); the app
        should warn before quitting in that case (call :meth:`flush` first to ask).
        """
        if self._closed:
            return self._error is None
        saved = self.checkpoint()
        with contextlib.suppress(ValueError):
            self.engine.listeners.remove(self._listener)
        self._closed = True
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        if self._lock is not None:
            self._lock.release()
        return saved

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
