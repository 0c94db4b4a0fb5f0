"""The account journal: the paper account survives quitting, crashes and ``kill -9``.

The engine stays in memory; every change it makes is committed to a SQLite database
(``account.db``, WAL mode, ``synchronous=FULL``) from the engine's listener, *before* the engine
call returns, hence before the screen reports it. On launch the account is rebuilt from the
latest saved state of the current season and its history of records.

Layout (schema version :data:`SCHEMA_VERSION`)::

    meta(key, value)                      app, schema_version, created, last_opened
    seasons(number, started, ended, starting_balance, state, markets, updated)
    events(season, seq, time, type, payload, wallet, cross_excess)

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

Reading checks every record field's type and every number's finiteness (a size saved as a
string, a NaN, JSON nested too deeply): such a file is refused as corrupt when it is opened,
never later by a screen that formats it.

One perpdesk per account: an OS lock on ``account.lock`` (which names the process) and a
``flock`` on ``account.db`` itself, so deleting the lock file cannot let a second one in. The
data folder is created owner-only (0700), and the database, its lock and exports are 0600.

Opening never changes an unreadable or newer file: it is inspected read-only first (a bad
header is caught before SQLite sees the file) and :class:`JournalError` says what to do;
:func:`set_aside` renames it (bytes untouched, nothing deleted) when the user accepts a fresh
account.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import platformdirs

from tui.engine import (
    DEFAULT_MARKETS,
    Event,
    Fill,
    FundingPayment,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    Order,
    OrderEvent,
    OrderType,
    PaperEngine,
    Side,
    Venue,
)
from tui.engine.models import check_number
from tui.format import fmt_money
from tui.history import AccountAt, PostMortem, account_at, post_mortems
from tui.safe import safe_text

SCHEMA_VERSION: Final = 1
DB_NAME: Final = "account.db"
LOCK_NAME: Final = "account.lock"
APP_ID: Final = "perpdesk"

ErrorKind = Literal["corrupt", "newer", "unwritable", "in_use"]
Synchronous = Literal["FULL", "NORMAL", "OFF"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = """
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


def default_data_dir() -> Path:
    """Where the account is kept unless ``--data-dir`` says otherwise."""
    return platformdirs.user_data_path("perpdesk")


class JournalError(Exception):
    """The account could not be opened or saved. ``str(error)`` is for the user.

    ``kind``: ``"corrupt"`` (not a readable perpdesk account; the file is left untouched and
    :func:`set_aside` can make room for a fresh one), ``"newer"`` (written by a newer perpdesk;
    update, or set it aside), ``"unwritable"`` (the folder or disk refuses writes; choose
    another ``--data-dir``), ``"in_use"`` (another perpdesk has this account open).
    """

    def __init__(self, kind: ErrorKind, message: str, path: Path) -> None:
        super().__init__(safe_text(message))  # it quotes paths and what the file holds
        self.kind: ErrorKind = kind
        self.path = path


def _corrupt(path: Path, detail: str) -> JournalError:
    return JournalError(
        "corrupt",
        f"The paper account in {path} cannot be read ({detail}). The file has been left as it "
        f"is. perpdesk can set it aside (renamed to {path.name}.unreadable-<date>, nothing "
        "deleted) and start a fresh account.",
        path,
    )


def _unwritable(path: Path, exc: BaseException | str) -> JournalError:
    reason = exc if isinstance(exc, str) else _reason(exc)
    return JournalError(
        "unwritable",
        f"perpdesk cannot save the paper account to {path}: {reason}. Free some space or fix the "
        "folder's permissions, or choose another folder with --data-dir.",
        path,
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- records <-> JSON

_TYPES: dict[str, type[Event]] = {
    "fill": Fill,
    "liquidation": Liquidation,
    "funding": FundingPayment,
    "transfer": MarginTransfer,
    "order": OrderEvent,
}
_TYPE_NAMES = {cls: name for name, cls in _TYPES.items()}


class NonFiniteError(ValueError):
    """A record or state to be saved holds NaN or infinity: the journal never writes one."""


def _non_finite(value: Any, where: str) -> str | None:
    """Where in ``value`` the first NaN or infinity is (``"state.positions[0].entry"``)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} = {value}"
    if isinstance(value, Mapping):
        items: Iterable[tuple[object, Any]] = value.items()
        return next((f for k, v in items if (f := _non_finite(v, f"{where}.{k}"))), None)
    if isinstance(value, list | tuple):
        pairs = enumerate(value)
        return next((f for i, v in pairs if (f := _non_finite(v, f"{where}[{i}]"))), None)
    return None


def _dump(value: Any, what: str = "state") -> str:
    """Compact JSON; :class:`NonFiniteError` (naming where) for NaN or infinity anywhere."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        found = _non_finite(value, what) or what
        raise NonFiniteError(
            f"the account holds a number that is not finite ({found}), and perpdesk never saves "
            "NaN or infinity"
        ) from None


def _load(text: object, what: str) -> Any:
    """JSON from the file; ``ValueError`` for anything unreadable (too deeply nested too)."""
    if not isinstance(text, str | bytes):
        raise ValueError(f"its {what} is not text")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"its {what} is nested too deeply") from None


def encode_event(event: Event) -> tuple[str, str]:
    """``(type, JSON payload)`` of an engine record; :func:`decode_event` gives it back equal.
    :class:`NonFiniteError` if the record holds NaN or infinity."""
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    kind = _TYPE_NAMES[type(event)]
    return kind, _dump(data, f"{kind} record {event.seq}")


def _number(value: object, what: str) -> float:
    """A finite real number as saved (an int or a float, never a string or a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int of more than 308 digits
        raise ValueError(f"{what} is a number too large to hold") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    return number


LAST_MOMENT: Final = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last moment a date can be shown for (and so saved)."""


def _moment(value: object, what: str) -> float:
    """A time as saved: epoch seconds a date can be shown for (1970 to the year 9999)."""
    seconds = _number(value, what)
    if not 0.0 <= seconds <= LAST_MOMENT:
        raise ValueError(f"{what} is {value!r}, not a time between 1970 and the year 9999")
    return seconds


_TIMES = frozenset({"time", "opened_at", "created_at"})


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not a whole number")
    if abs(value) >= 2**63:  # what SQLite's INTEGER holds
        raise ValueError(f"{what} is a whole number too large to hold")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not text")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not true or false")
    return value


Convert = Callable[[object, str], Any]
_FIELD_TYPES: dict[str, Convert] = {
    "int": _whole,
    "float": _number,
    "str": _text,
    "bool": _flag,
    "Side": lambda value, what: Side(_text(value, what)),
    "MarginMode": lambda value, what: MarginMode(_text(value, what)),
    "OrderType": lambda value, what: OrderType(_text(value, what)),
    "OrderStatus": _text,  # "open", "filled", "cancelled": the engine checks which
}


def _converter(annotation: object) -> Convert:
    """How a saved field of this type annotation is checked (``float | None`` too); a type
    with no entry here is a ``KeyError`` (``test_every_saved_field_has_a_check`` sees it)."""
    names = [part.strip() for part in str(annotation).split("|")]
    (name,) = [part for part in names if part != "None"]
    convert = _FIELD_TYPES[name]
    if "None" not in names:
        return convert
    return lambda value, what: None if value is None else convert(value, what)


def _fields(value: Mapping[str, Any], cls: type, what: str) -> dict[str, Any]:
    """The fields of ``cls`` present in ``value``, each checked for its type (times must be
    dates that can be shown)."""
    checked: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in value:
            convert = _moment if f.name in _TIMES else _converter(f.type)
            checked[f.name] = convert(value[f.name], f"{what}'s {f.name}")
    return checked


def decode_event(kind: str, payload: str) -> Event:
    """The engine record saved by :func:`encode_event`. ``ValueError`` if it is not one: every
    field is checked for its type (a size or time saved as a string, a bool, NaN or infinity
    is refused here, never later by a screen that formats it)."""
    cls = _TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown record type {kind!r}")
    raw = _load(payload, f"{kind} record")
    if not isinstance(raw, dict):
        raise ValueError(f"a {kind} record is not an object")
    for f in dataclasses.fields(cls):
        if f.name not in raw and f.default is dataclasses.MISSING:
            raise ValueError(f"a {kind} record has no {f.name}")
    return cls(**_fields(raw, cls, f"a {kind} record"))


_STATE_NUMBERS = ("deposits", "wallet", "realized", "fees", "funding", "forfeited")
_POSITION_NUMBERS = ("size", "entry", "leverage", "margin", "opened_at")


def check_state(state: object) -> dict[str, Any]:
    """A saved engine state (``PaperEngine.to_state()``) with every field of the right type
    and every number finite; ``ValueError`` naming the first that is not."""
    if not isinstance(state, dict):
        raise ValueError("the saved state is not an object")
    for key in _STATE_NUMBERS:
        _number(state.get(key), f"the saved {key}")
    for key in ("seq", "group"):
        _whole(state.get(key), f"the saved {key}")
    if state.get("cooldown_until") is not None:
        _number(state["cooldown_until"], "the saved cooldown")
    if "venue" in state:
        _text(state["venue"], "the saved venue")
    if "next_order_id" in state:
        _whole(state["next_order_id"], "the saved next order id")
    orders = state.get("orders", [])
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise ValueError("the saved orders are not a list of orders")
    for i, order in enumerate(orders):
        _fields(order, Order, f"saved order {i + 1}")
    marks = state.get("marks")
    if not isinstance(marks, dict):
        raise ValueError("the saved marks are not an object")
    for name, price in marks.items():
        _number(price, f"the saved {name} mark")
    positions = state.get("positions")
    if not isinstance(positions, list):
        raise ValueError("the saved positions are not a list")
    for i, position in enumerate(positions):
        if not isinstance(position, dict):
            raise ValueError(f"saved position {i + 1} is not an object")
        for key in ("market", "side", "mode"):
            _text(position.get(key), f"saved position {i + 1}'s {key}")
        for key in _POSITION_NUMBERS:
            check = _moment if key in _TIMES else _number
            check(position.get(key), f"saved position {i + 1}'s {key}")
    return state


def _market_data(market: Market) -> dict[str, Any]:
    return dataclasses.asdict(market)


def _cross_count(state: Mapping[str, Any]) -> int:
    return sum(1 for p in state["positions"] if p["mode"] == MarginMode.CROSS.value)


# --------------------------------------------------------------------------- the lock

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


PRIVATE_FILE: Final = 0o600
"""The account database, its lock and exports: readable by their owner only (as the config)."""
PRIVATE_FOLDER: Final = 0o700
"""The data folder perpdesk creates (an existing folder, perhaps chosen with --data-dir, keeps
its permissions)."""


def _open_private(path: Path, *, create: bool = True) -> int:
    """Open (or create, owner-only) ``path`` read-write."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | (os.O_CREAT if create else 0)
    return os.open(path, flags, PRIVATE_FILE)


def _narrow(fd: int) -> None:
    """A file of ours that others could read (made by an earlier perpdesk): owner-only now."""
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)


def _in_use(folder: Path, holder: str = "") -> JournalError:
    return JournalError(
        "in_use",
        f"Another perpdesk{holder} has the paper account in {folder} open. "
        "Quit it first, or use --data-dir for a separate account.",
        folder / DB_NAME,
    )


class _Lock:
    """One perpdesk per account: an OS lock on ``account.lock``, released even by ``kill -9``,
    and (:meth:`lock_database`) one on ``account.db`` itself, so deleting ``account.lock``
    while perpdesk runs cannot let a second one write the same account.

    The database lock is ``flock``, which on Linux and the BSDs is separate from the POSIX
    record locks SQLite takes on the same file. On Windows the lock file alone is used: a file
    held open there cannot be deleted, and a byte-range lock on the database would block
    SQLite's own reads.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None
        self.db_fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = _open_private(self.path)
        except OSError as exc:
            raise _unwritable(self.path.parent, exc) from exc
        _narrow(fd)
        try:
            _try_lock(fd)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (process {int(os.read(fd, 32).decode().strip())})"
            os.close(fd)
            raise _in_use(self.path.parent, holder) from exc
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())

    def lock_database(self, path: Path, *, create: bool = True) -> None:
        """Hold an exclusive lock on the database file itself (created owner-only if absent
        and ``create``); ``JournalError("in_use")`` if another process holds it."""
        if sys.platform == "win32":  # pragma: no cover - see the class doc
            return
        try:
            fd = _open_private(path, create=create)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        try:
            _try_lock(fd)
        except OSError as exc:
            os.close(fd)
            raise _in_use(path.parent) from exc
        self.db_fd = fd

    def release(self) -> None:
        for fd in (self.db_fd, self._fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    _unlock(fd)
                os.close(fd)
        self.db_fd = self._fd = None


# --------------------------------------------------------------------------- reading


def _file_id(path: Path, fd: int | None) -> tuple[int, int]:
    """(device, inode) of the open file ``fd``, else of ``path``."""
    info = os.fstat(fd) if fd is not None else os.stat(path)
    return info.st_dev, info.st_ino


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
        if not {"meta", "seasons", "events"} <= tables:
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
        check = conn.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise _corrupt(path, f"SQLite integrity check: {check[0][0]}")
    except JournalError:
        conn.close()
        raise
    except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: text that is not UTF-8
        conn.close()
        raise _corrupt(path, str(exc)) from exc
    return conn


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


# --------------------------------------------------------------------------- seasons


@dataclass(frozen=True, slots=True)
class SeasonInfo:
    """One practice season. ``ended`` is None for the current one. ``equity`` and
    ``realized_pnl`` are the account's at its last saved state (marks as saved then)."""

    number: int
    started: float
    ended: float | None
    starting_balance: float
    equity: float
    wallet: float
    realized_pnl: float
    n_fills: int
    n_liquidations: int

    @property
    def current(self) -> bool:
        return self.ended is None


def _seasons(conn: sqlite3.Connection, path: Path) -> list[SeasonInfo]:
    try:
        counts: dict[tuple[int, str], int] = {
            (int(season), str(kind)): int(n)
            for season, kind, n in conn.execute(
                "SELECT season, type, COUNT(*) FROM events GROUP BY season, type"
            )
        }
        rows = conn.execute(
            "SELECT number, started, ended, starting_balance, state, markets FROM seasons "
            "ORDER BY number"
        ).fetchall()
        result: list[SeasonInfo] = []
        for number, started, ended, balance, state_json, markets_json in rows:
            state = check_state(_load(state_json, "saved state"))
            wallet = float(state["wallet"])
            try:
                saved = [Market(**data) for data in _load(markets_json, "market list")]
                equity = PaperEngine.from_state(state, markets=saved).account.equity
            except (ValueError, KeyError, TypeError, RecursionError):
                equity = wallet
            result.append(
                SeasonInfo(
                    number=_whole(number, "a season number"),
                    started=_moment(started, "a season's start"),
                    ended=None if ended is None else _moment(ended, "a season's end"),
                    starting_balance=_number(balance, "a starting balance"),
                    equity=equity,
                    wallet=wallet,
                    realized_pnl=float(state["realized"]),
                    n_fills=counts.get((int(number), "fill"), 0),
                    n_liquidations=counts.get((int(number), "liquidation"), 0),
                )
            )
        return result
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise _corrupt(path, f"a saved season does not add up: {exc}") from exc


def list_seasons(data_dir: str | os.PathLike[str]) -> list[SeasonInfo]:
    """Every season in the account at ``data_dir``, oldest first (read-only; ``[]`` if none).

    Works while perpdesk is running. Raises :class:`JournalError` for an unreadable file.
    """
    path = Path(data_dir).expanduser() / DB_NAME
    conn = _inspect(path)
    if conn is None:
        return []
    try:
        return _seasons(conn, path)
    finally:
        conn.close()


def _date(t: float | None) -> str:
    return "current" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def format_seasons(seasons: Sequence[SeasonInfo]) -> str:
    """The table ``perpdesk --accounts`` prints."""
    if not seasons:
        return "No paper account yet: the first launch creates one."
    head = (
        "Season",
        "Started",
        "Ended",
        "Start balance",
        "Equity",
        "Realized PnL",
        "Fills",
        "Liqs",
    )
    rows = [
        (
            f"{s.number}{' *' if s.current else ''}",
            _date(s.started),
            _date(s.ended),
            fmt_money(s.starting_balance),
            fmt_money(s.equity),
            fmt_money(s.realized_pnl, signed=True),
            str(s.n_fills),
            str(s.n_liquidations),
        )
        for s in seasons
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    left = {0, 1, 2}

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append("* current season")
    return "\n".join(out)


def set_aside(data_dir: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> Path:
    """Rename an unreadable or newer ``account.db`` (and its ``-wal``/``-shm``) out of the way.

    Call it only after the user accepted a fresh account for a :class:`JournalError` of kind
    ``"corrupt"`` or ``"newer"``. Nothing is deleted and no byte changes: the file becomes
    ``account.db.unreadable-YYYYmmdd-HHMMSS`` (``.newer-version-`` for a newer one) in the same
    folder. Returns that path; :meth:`Journal.open` then starts a fresh account. Raises
    ``ValueError`` if the account is readable (nothing to set aside).
    """
    folder = Path(data_dir).expanduser()
    path = folder / DB_NAME
    lock = _Lock(folder)
    lock.acquire()
    try:
        lock.lock_database(path, create=False)
        try:
            conn = _inspect(path)
        except JournalError as exc:
            if exc.kind not in ("corrupt", "newer"):
                raise
            label = "unreadable" if exc.kind == "corrupt" else "newer-version"
        else:
            if conn is not None:
                conn.close()
            raise ValueError(f"{path} is a readable paper account; there is nothing to set aside.")
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
        target = folder / f"{DB_NAME}.{label}-{stamp}"
        n = 1
        while any(_size(_companion(target, s)) >= 0 for s in ("", "-wal", "-shm")):
            n += 1
            target = folder / f"{DB_NAME}.{label}-{stamp}-{n}"
        try:
            # The WAL first: a stale -wal left beside a new account.db would be replayed into it.
            for suffix in ("-wal", "-shm", ""):
                source = _companion(path, suffix)
                if _size(source) >= 0:
                    os.rename(source, _companion(target, suffix))
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        return target
    finally:
        lock.release()


# --------------------------------------------------------------------------- the journal


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


def _insert_season(
    conn: sqlite3.Connection, engine: PaperEngine, balance: float, now: float
) -> int:
    cursor = conn.execute(
        "INSERT INTO seasons (started, ended, starting_balance, state, markets, updated) "
        "VALUES (?, NULL, ?, ?, '[]', ?)",
        (now, balance, _dump(engine.to_state()), now),
    )
    number = cursor.lastrowid
    assert number is not None
    return number


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


__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "SeasonInfo",
    "decode_event",
    "default_data_dir",
    "encode_event",
    "format_seasons",
    "list_seasons",
    "read_account",
    "set_aside",
]
