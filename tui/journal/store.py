"""The journal itself: the live account on disk (:class:`Journal`), rebuilt on launch and
saved after every engine step, and :func:`read_account` for tools and tests."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.engine import (
    DEFAULT_MARKETS,
    Event,
    Liquidation,
    MarginMode,
    Market,
    PaperEngine,
    Venue,
)
from tui.engine.models import check_number
from tui.history import AccountAt, PostMortem, account_at, post_mortems
from tui.journal.base import APP_ID, DB_NAME, JournalError, _corrupt, _reason, _unwritable
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
from tui.journal.lock import PRIVATE_FOLDER, _file_id, _Lock, _narrow, _open_private
from tui.journal.schema import _SCHEMA, SCHEMA_VERSION, _inspect, _transaction
from tui.journal.seasons import SeasonInfo, _insert_season, _seasons
from tui.safe import safe_text

Synchronous = Literal["FULL", "NORMAL", "OFF"]


def _cross_count(state: Mapping[str, Any]) -> int:
    return sum(1 for p in state["positions"] if p["mode"] == MarginMode.CROSS.value)


@dataclass
class _Season:
    number: int
    started: float
    starting_balance: float
    engine: PaperEngine
    accounts: dict[int, AccountAt]


def _load_season(
    conn: sqlite3.Connection,
    path: Path,
    markets: Sequence[Market],
    clock: Callable[[], float],
) -> _Season | None:
    """The current season rebuilt, or None if every season is archived."""
    try:
        row = conn.execute(
            "SELECT number, started, starting_balance, state, markets FROM seasons "
            "WHERE ended IS NULL ORDER BY number DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        number, started, balance, state_json, markets_json = row
        state = check_state(_load(state_json, "saved state"))
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
        events: list[Event] = []
        accounts: dict[int, AccountAt] = {}
        for seq, kind, payload, wallet, excess in conn.execute(
            "SELECT seq, type, payload, wallet, cross_excess FROM events "
            "WHERE season = ? ORDER BY seq",
            (number,),
        ):
            event = decode_event(kind, payload)
            if event.seq != seq:
                raise ValueError(f"record {seq} is numbered {event.seq}")
            events.append(event)
            if wallet is not None and excess is not None:
                accounts[seq] = AccountAt(
                    _number(wallet, f"record {seq}'s wallet"),
                    _number(excess, f"record {seq}'s cross excess"),
                )
        engine.events = events
        return _Season(
            _whole(number, "the season number"),
            _moment(started, "the season's start"),
            _number(balance, "the starting balance"),
            engine,
            accounts,
        )
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise _corrupt(path, f"the saved account does not add up: {exc}") from exc


def read_account(
    data_dir: str | os.PathLike[str],
    *,
    markets: Iterable[Market] | None = None,
    clock: Callable[[], float] = time.time,
) -> PaperEngine | None:
    """The current season's account as saved, read-only (no lock, no write); None if none.

    For tools and tests; the app uses :meth:`Journal.open`.
    """
    path = Path(data_dir).expanduser() / DB_NAME
    conn = _inspect(path)
    if conn is None:
        return None
    try:
        season = _load_season(
            conn, path, list(DEFAULT_MARKETS if markets is None else markets), clock
        )
    finally:
        conn.close()
    return None if season is None else season.engine


class Journal:
    """The paper account on disk. Open with :meth:`Journal.open`; trade on :attr:`engine`.

    Each engine record is committed, with the engine's new state, before the engine call that
    produced it returns. After a failed write :attr:`error` holds a message for the user and the
    records wait in memory; they are written by the next change or :meth:`flush`.
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
        self.season = season.number
        self.started = season.started
        self.starting_balance = season.starting_balance
        self.engine = season.engine
        self.accounts: dict[int, AccountAt] = season.accounts
        self._batch: list[tuple[Event, AccountAt]] = []  # this operation's records so far
        self._pending: list[tuple[Event, AccountAt]] = []  # complete, not yet committed
        self._state: dict[str, Any] = self.engine.to_state()
        self._markets_json = self._markets_of(self._state)
        self._dirty = False
        self._cross_open = _cross_count(self._state)
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
    ) -> Journal:
        """Open (or create) the account in ``data_dir`` and rebuild its engine.

        ``starting_balance`` funds a new account (and ``fresh=True``, which archives the current
        season first, like ``/reset``). ``markets`` are the engine's markets (default: the
        default list); a saved position in a market no longer listed brings its saved market
        back. ``venue`` is the rules a new account follows (an existing season keeps its own).
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
            ro = _inspect(path)
            if ro is not None:  # rebuild read-only: nothing is written before it succeeds
                try:
                    season = _load_season(ro, path, market_list, clock)
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
                    if ro is None:
                        for statement in _SCHEMA.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.executemany(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            [
                                ("app", APP_ID),
                                ("schema_version", str(SCHEMA_VERSION)),
                                ("created", repr(now)),
                            ],
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
                        season = _Season(number, now, float(starting_balance), engine, {})
            except sqlite3.Error as exc:
                raise _unwritable(path, exc) from exc
            if guard is not None and guard.db_fd is not None:
                _narrow(guard.db_fd)  # opened fine: ours, so owner-only from now on
            journal = cls(path=path, conn=conn, lock=guard, season=season, clock=clock)
        except BaseException:
            if conn is not None:
                conn.close()
            if guard is not None:
                guard.release()
            raise
        if fresh:
            try:
                journal.new_season(starting_balance)
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
        """:func:`tui.history.post_mortems` of this season, with the saved account context."""
        return post_mortems(self.engine.events, self.engine.markets, self.accounts)

    def seasons(self) -> list[SeasonInfo]:
        """Every season of this account (the current one last), as committed."""
        if self._replaced:
            raise JournalError("unwritable", self._error or "", self.path)
        return _seasons(self._conn, self.path)

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
        return _dump([_market_data(engine.market(name)) for name in names])

    def _on_event(self, event: Event) -> None:
        """Engine listener: must never raise (the engine calls it in the middle of a change)."""
        try:
            account = account_at(self.engine)
            self.accounts[event.seq] = account
            self._batch.append((event, account))
            state = self.engine.to_state()
            if int(state["seq"]) != event.seq:
                return  # the operation numbered more records (a flip's second fill): wait
            if isinstance(event, Liquidation) and event.mode is MarginMode.CROSS:
                closed = sum(
                    1
                    for e, _ in self._batch
                    if isinstance(e, Liquidation)
                    and e.mode is MarginMode.CROSS
                    and e.group == event.group
                )
                if closed < self._cross_open:
                    return  # the rest of this cross liquidation follows at once: wait
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
        self._cross_open = _cross_count(state)
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
        except Exception as exc:  # disk full, read-only, I/O error...: keep the records, say so
            self._fail(exc)
            return False
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
        ``markets`` name others (a venue belongs to a season: changing it takes a new one), and
        becomes :attr:`engine` (the journal listens to it). A season with no record yet is
        restarted in place instead of archived. Raises ``ValueError`` for a bad balance and
        :class:`JournalError` ("unwritable") when it cannot be saved; the current season then
        goes on unchanged.
        """
        if self._closed:
            raise ValueError("This journal is closed.")
        balance = check_number("Starting balance", starting_balance)
        old = self.engine
        new = PaperEngine(
            balance,
            old.markets.values() if markets is None else markets,
            clock=self._clock,
            venue=old.venue if venue is None else venue,
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
                if old.events:
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
        except sqlite3.Error as exc:
            raise _unwritable(self.path, exc) from exc
        with contextlib.suppress(ValueError):
            old.listeners.remove(self._listener)
        new.listeners.insert(0, self._listener)
        self.engine = new
        self.season = number
        self.started = now
        self.starting_balance = balance
        self.accounts = {}
        self._batch.clear()
        self._pending.clear()
        self._state = new.to_state()
        self._markets_json = "[]"
        self._cross_open = 0
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
