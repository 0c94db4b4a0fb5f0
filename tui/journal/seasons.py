"""Seasons: every practice season of an account (the current one and those archived by
``/reset``), the ``perpdesk --accounts`` listing, and :func:`set_aside` for an unreadable file."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.engine import Market, PaperEngine
from tui.format import fmt_money
from tui.journal.base import DB_NAME, JournalError, _corrupt, _unwritable
from tui.journal.codec import _dump, _load, _moment, _number, _whole, check_state
from tui.journal.ledger import Ledger
from tui.journal.lock import _Lock
from tui.journal.schema import _companion, _inspect, _size


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
                    **_fill_and_liquidation_counts(conn, int(number)),
                )
            )
        return result
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise _corrupt(path, f"a saved season does not add up: {exc}") from exc


def _fill_and_liquidation_counts(conn: sqlite3.Connection, season: int) -> dict[str, int]:
    """A season's fills and liquidations: its ledger's counts when it is up to date with the
    season's records (no count of records), else counted (through the index by kind, when
    the file has it)."""
    (last,) = conn.execute("SELECT MAX(seq) FROM events WHERE season = ?", (season,)).fetchone()
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if "ledger" in tables:
        saved = conn.execute(
            "SELECT through, data FROM ledger WHERE season = ?", (season,)
        ).fetchone()
        if saved is not None and saved[0] == (last or 0):
            with contextlib.suppress(ValueError, RecursionError):
                counts = Ledger.from_json(*saved).counts
                return {"n_fills": counts["fills"], "n_liquidations": counts["liquidations"]}
    found: dict[str, int] = {}
    for kind, key in (("fill", "n_fills"), ("liquidation", "n_liquidations")):
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM events WHERE season = ? AND type = ?", (season, kind)
        ).fetchone()
        found[key] = int(n)
    return found


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
    conn.execute(  # its ledger (the history's counts and stats): empty, up to date
        "INSERT OR REPLACE INTO ledger (season, through, data) VALUES (?, 0, ?)",
        (number, Ledger().to_json()),
    )
    return number
