"""The SQLite file: its schema, opening it read-only to check it before anything is written,
and transactions.

Opening never changes an unreadable or newer file: it is inspected read-only first (a bad
header is caught before SQLite sees the file) and :class:`JournalError` says what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from tui.journal.base import APP_ID, JournalError, _corrupt, _reason

SCHEMA_VERSION: Final = 2
"""1: meta, seasons, events. 2 adds the history ledger (:mod:`tui.journal.ledger`): an index
of records by kind, ``ledger``, ``closed`` and ``orders``."""


_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seasons (
    number INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    ended REAL,
    starting_balance REAL NOT NULL,
    state TEXT NOT NULL,
    markets TEXT NOT NULL DEFAULT '[]',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    season INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    wallet REAL,
    cross_excess REAL,
    PRIMARY KEY (season, seq)
) WITHOUT ROWID;
"""
_SCHEMA_2 = """
CREATE INDEX IF NOT EXISTS events_by_type ON events (season, type, seq);
CREATE TABLE IF NOT EXISTS ledger (
    season INTEGER PRIMARY KEY,
    through INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed (
    season INTEGER NOT NULL,
    n INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (season, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
    season INTEGER NOT NULL,
    order_id INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (season, order_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_by_first ON orders (season, first_seq);
"""
_TABLES: Final = {1: {"meta", "seasons", "events"}, 2: {"ledger", "closed", "orders"}}
_CHECKED: Final = ("meta", "seasons", "ledger")
"""The tables checked whole at opening (small: one row per season). Records and history rows
are checked when they are read (SQLite reports a damaged page then), so opening costs the same
with a million records as with ten."""


_SCRIPTS: Final = (_SCHEMA_1, _SCHEMA_2)
"""``_SCRIPTS[k]`` takes a file from schema ``k`` to ``k + 1``."""


def create(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file at schema ``version`` (0: a new file) up to :data:`SCHEMA_VERSION`,
    inside the caller's transaction. From 1, the index of records by kind reads every record
    once (about 0.1 s for 100,000 records); the ledger itself is filled later, a chunk at a
    time (:meth:`tui.journal.Journal.build_history`)."""
    for script in _SCRIPTS[version:]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


def file_version(conn: sqlite3.Connection) -> int:
    """The schema version of a file :func:`_inspect` accepted."""
    (value,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(value)


def _companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _inspect(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to a valid perpdesk account, or None when there is none yet.

    Raises :class:`JournalError` ("corrupt" or "newer") and changes nothing in the file: the
    header is checked by hand first, then SQLite reads it read-only (``immutable`` when no WAL
    file exists, so not even a ``-wal`` or ``-shm`` file is created next to a damaged file).
    """
    try:
        size = _size(path)
        wal = _companion(path, "-wal")
        wal_size = _size(wal)
        if size <= 0 and wal_size <= 0:
            return None  # no file, or one created by a launch that died before its first commit
        if size > 0:
            with open(path, "rb") as handle:
                header = handle.read(100)
            if header[:16] != _SQLITE_MAGIC:
                raise _corrupt(path, "it is not a perpdesk account file")
            if len(header) == 100 and not (header[18] in (1, 2) and header[19] in (1, 2)):
                # SQLite would open it read-only: it could never be saved to again
                raise _corrupt(path, "its header names a file format SQLite cannot write")
    except OSError as exc:
        raise JournalError(
            "unwritable",
            f"perpdesk cannot read {path}: {_reason(exc)}. Fix the file's permissions or choose "
            "another folder with --data-dir.",
            path,
        ) from exc
    mode = "mode=ro" if wal_size >= 0 else "immutable=1"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise _corrupt(path, str(exc)) from exc
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not tables:
            conn.close()
            return None  # an empty database: a launch died while creating it
        if not _TABLES[1] <= tables:
            raise _corrupt(path, "it holds other data, not a perpdesk account")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != APP_ID:
            raise _corrupt(path, "it holds other data, not a perpdesk account")
        try:
            version = int(meta["schema_version"])
        except (KeyError, ValueError) as exc:
            raise _corrupt(path, "its format version is missing") from exc
        if version > SCHEMA_VERSION:
            raise JournalError(
                "newer",
                f"The paper account in {path} was saved by a newer perpdesk (account format "
                f"{version}; this perpdesk reads up to {SCHEMA_VERSION}). Update perpdesk to keep "
                "using it. The file has been left as it is; perpdesk can instead set it aside "
                f"(renamed to {path.name}.newer-version-<date>, nothing deleted) and start a "
                "fresh account.",
                path,
            )
        if version >= 2 and not _TABLES[2] <= tables:
            raise _corrupt(path, "parts of its history are missing")
        for table in _CHECKED if version >= 2 else _CHECKED[:2]:
            # meta in full (its key index too: a damaged one is what opening reads and
            # writes through, and quick_check leaves index contents unchecked); it is tiny
            pragma = "integrity_check" if table == "meta" else "quick_check"
            check = conn.execute(f"PRAGMA {pragma}({table})").fetchall()
            if check != [("ok",)]:
                raise _corrupt(path, f"SQLite integrity check: {check[0][0]}")
    except JournalError:
        conn.close()
        raise
    except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: text that is not UTF-8
        conn.close()
        raise _corrupt(path, str(exc)) from exc
    return conn


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back (and re-raised) on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
