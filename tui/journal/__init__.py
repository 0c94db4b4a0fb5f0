"""The account journal (package): the paper account survives quitting, crashes and ``kill -9``.

The engine stays in memory; every change it makes is committed to a SQLite database
(``account.db``, WAL mode, ``synchronous=FULL``) from the engine's listener, *before* the engine
call returns, hence before the screen reports it. On launch the account is rebuilt from the
latest saved state of the current season alone: the records stay in SQLite, and the history
reads them a page at a time (:mod:`~tui.journal.pages`), so launch costs the same with a
million records as with ten.

Layout (schema version :data:`SCHEMA_VERSION`)::

    meta(key, value)                      app, schema_version, created, last_opened
    seasons(number, started, ended, starting_balance, state, markets, updated)
    events(season, seq, time, type, payload, wallet, cross_excess)
        index events_by_type(season, type, seq)
    ledger(season, through, data)         counts, practice stats, open round trips (JSON)
    closed(season, n, seq, payload)       closed round trips, in the order they ended
    orders(season, order_id, first_seq, payload)   one row per order, its latest state
        index orders_by_first(season, first_seq)

``wallet`` and ``cross_excess`` are the account just after each record (what a post-mortem
needs), saved with it rather than recomputed. The ledger and its rows are updated in the same
transaction as the records they count (:mod:`~tui.journal.ledger`). A file of schema 1 (before
the ledger) gets the index by kind when it is first opened, and its ledger is folded from its
records a slice at a time (:meth:`Journal.build_history`; while the account opens when it is
short).

``seasons.state`` is ``engine.to_state()`` as JSON, rewritten in the same transaction as the
records it follows, so the saved state and history always agree. The records of one engine
step are committed together: a flip's two fills, every position of one cross liquidation (the
listener sees the engine's state already past the first record, and waits for the rest). A
killed process leaves the journal at the end of a step, never inside one. (A step that sets off
a liquidation, such as a funding payment, is two steps, each saved whole.) Marks alone are not
records: they are saved with the next record and by :meth:`Journal.checkpoint` / ``close``.

A write that fails (disk full, read-only file, I/O error) never raises into the engine: the
records wait in memory, :attr:`Journal.error` says what is not saved, and the next change (or
:meth:`Journal.flush`) tries again. NaN or infinity anywhere in a record or the state is never
written (:class:`NonFiniteError`, reported the same way). Before each write the journal checks
that ``account.db`` is still the file it opened (device and inode); a file replaced or removed
under it stops all writing for good, with a message, rather than writing into someone else's.

Reading checks every field's type, every number's finiteness and every time's range (a size
saved as a string, a NaN, JSON nested too deeply). A damaged state, market list or meta table
is refused as corrupt when the account is opened (those tables are checked whole); a damaged
record or history row when the history reads it (:class:`JournalError` of kind ``"history"``,
naming it), never later by a screen that formats it: the account itself opens and trades.
:func:`read_account` (tools, tests) reads and checks every record.

One perpdesk per account: an OS lock on ``account.lock`` (which names the process) and a
``flock`` on ``account.db`` itself, so deleting the lock file cannot let a second one in. The
data folder is created owner-only (0700), and the database, its lock and exports are 0600.

Opening never changes an unreadable or newer file: it is inspected read-only first (a bad
header is caught before SQLite sees the file) and :class:`JournalError` says what to do;
:func:`set_aside` renames it (bytes untouched, nothing deleted) when the user accepts a fresh
account.

Modules: :mod:`~tui.journal.base` (names, :class:`JournalError`), :mod:`~tui.journal.codec`
(records and state to JSON and back, every field checked), :mod:`~tui.journal.lock` (one
perpdesk per account), :mod:`~tui.journal.schema` (the SQLite file, its schema, read-only
inspection, migrations, transactions), :mod:`~tui.journal.seasons` (seasons,
``--accounts``, :func:`set_aside`), :mod:`~tui.journal.ledger` (counts, stats, closed round
trips and order rows kept record by record), :mod:`~tui.journal.pages` (pages, streams),
:mod:`~tui.journal.store` (:class:`Journal`: rebuild, writes, durability, the history API)
and :mod:`~tui.journal.view` (the history as a screen reads it, from a worker thread).
"""

from __future__ import annotations

from tui.journal.base import DB_NAME, LOCK_NAME, JournalError, default_data_dir
from tui.journal.codec import (
    _TYPES,
    LAST_MOMENT,
    NonFiniteError,
    _converter,
    check_state,
    decode_event,
    encode_event,
)
from tui.journal.lock import PRIVATE_FILE, PRIVATE_FOLDER
from tui.journal.pages import PAGE_SIZE, Page
from tui.journal.schema import SCHEMA_VERSION
from tui.journal.seasons import SeasonInfo, format_seasons, list_seasons, set_aside
from tui.journal.store import HistoryCounts, Journal, Synchronous, read_account
from tui.journal.view import HistorySource, JournalView, MemoryView

__all__ = [
    "DB_NAME",
    "LAST_MOMENT",
    "LOCK_NAME",
    "PAGE_SIZE",
    "PRIVATE_FILE",
    "PRIVATE_FOLDER",
    "SCHEMA_VERSION",
    "_TYPES",
    "HistoryCounts",
    "HistorySource",
    "Journal",
    "JournalError",
    "JournalView",
    "MemoryView",
    "NonFiniteError",
    "Page",
    "SeasonInfo",
    "Synchronous",
    "_converter",
    "check_state",
    "decode_event",
    "default_data_dir",
    "encode_event",
    "format_seasons",
    "list_seasons",
    "read_account",
    "set_aside",
]
