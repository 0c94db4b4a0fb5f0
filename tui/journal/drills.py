"""Drill attempts in the journal: each attempt's own season, its score, and per-drill best,
last and attempt counts.

Drills are played on an account of their own, ``drills/account.db`` beside the trader's
``account.db`` (the same format, lock and checks: a :class:`~tui.journal.Journal`), so the
trader's account is never written while a drill runs. Each attempt is a fresh season there
(:func:`open_drill_journal`); when it ends, :func:`save_attempt` adds a row to
``drill_attempts`` in the same file::

    drill_attempts(id, drill, season, started, ended, elapsed, setup_seq,
                   outcome, score, decided_by, samples)
        index drill_attempts_by_drill(drill, id)

``season`` and ``setup_seq`` point at the attempt's records (those up to ``setup_seq`` built the
starting book); ``samples`` is the account sampled on the feed's clock, as JSON
``{"markets": [...], "rows": [[t, equity, margin_ratio, mark..., size...], ...]}``.
:func:`attempt_run` reads an attempt back whole, so its score can be worked out again from
the journal alone.

Reading checks every field as the rest of the journal does (types, finite numbers, times,
text lengths); a damaged row is counted and left out, never shown.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tui.engine import Event, Venue
from tui.journal.base import DB_NAME, JournalError, _corrupt, _damaged_history, _unwritable
from tui.journal.codec import _dump, _load, _moment, _number, _text, _whole
from tui.journal.schema import _inspect, _transaction
from tui.journal.store import Journal, MarketsFor, _all_records
from tui.safe import safe_text

__all__ = [
    "DRILLS_FOLDER",
    "OUTCOMES",
    "Attempt",
    "DrillScore",
    "DrillScores",
    "SampleTable",
    "attempt_run",
    "attempts",
    "drill_scores",
    "open_drill_journal",
    "save_attempt",
]

DRILLS_FOLDER: Final = "drills"
"""The drills' account, inside the trader's data folder."""
OUTCOMES: Final = ("won", "lost", "quit")
MAX_SAMPLE_ROWS: Final = 5_000
MAX_MARKETS: Final = 40
MAX_TEXT: Final = 1_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS drill_attempts (
    id INTEGER PRIMARY KEY,
    drill TEXT NOT NULL,
    season INTEGER NOT NULL,
    started REAL NOT NULL,
    ended REAL NOT NULL,
    elapsed REAL NOT NULL,
    setup_seq INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    score INTEGER NOT NULL,
    decided_by TEXT NOT NULL,
    samples TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS drill_attempts_by_drill ON drill_attempts (drill, id);
"""
_COLUMNS: Final = (
    "id, drill, season, started, ended, elapsed, setup_seq, outcome, score, decided_by"
)
_VALID: Final = (
    "typeof(score) = 'integer' AND score BETWEEN 0 AND 100 "
    "AND outcome IN ('won', 'lost', 'quit') AND typeof(drill) = 'text'"
)
"""The rows whose score may count (the rest are counted as unreadable)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt at a drill: when (wall clock), how long (feed seconds), how it came out."""

    id: int
    drill: str
    season: int
    started: float
    ended: float
    elapsed: float
    setup_seq: int
    outcome: str
    score: int
    decided_by: str

    @property
    def won(self) -> bool:
        return self.outcome == "won"


@dataclass(frozen=True, slots=True)
class DrillScore:
    """One drill's record: attempts, wins, the best score, the last attempt."""

    drill: str
    attempts: int
    wins: int
    best: int | None
    last: Attempt | None


@dataclass(frozen=True, slots=True)
class DrillScores:
    """Every drill's record (by name), and how many attempt rows could not be read."""

    by_drill: dict[str, DrillScore]
    unreadable: int = 0

    def get(self, drill: str) -> DrillScore:
        return self.by_drill.get(drill, DrillScore(drill, 0, 0, None, None))


@dataclass(frozen=True, slots=True)
class SampleTable:
    """Samples as rows of numbers: ``(t, equity, margin_ratio, *marks, *sizes)`` with one
    mark and one size per market of ``markets``, in that order."""

    markets: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]


def drills_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser() / DRILLS_FOLDER


def open_drill_journal(
    data_dir: str | os.PathLike[str],
    *,
    balance: float,
    venue: Venue,
    markets_for: MarketsFor,
    clock: Callable[[], float],
) -> Journal:
    """The drills' account with a fresh season for one attempt, on ``venue`` with its
    ``markets_for(venue)`` and ``balance`` (the last attempt's season is opened on its own
    venue's markets, then archived); the engine's clock is ``clock``. Raises
    :class:`JournalError` (the drill can then run unsaved)."""
    journal = Journal.open(
        drills_dir(data_dir),
        starting_balance=balance,
        markets_for=markets_for,
        clock=clock,
        synchronous="NORMAL",
        venue=venue,
    )
    try:
        journal.new_season(balance, venue=venue, markets=list(markets_for(venue)))
    except (JournalError, ValueError):
        journal.close()
        raise
    return journal


def _encode_samples(samples: SampleTable) -> str:
    width = 3 + 2 * len(samples.markets)
    if any(len(row) != width for row in samples.rows):
        raise ValueError("a sample row does not match its markets")
    return _dump({"markets": list(samples.markets), "rows": [list(r) for r in samples.rows]})


def _decode_samples(text: object) -> SampleTable:
    data = _load(text, "samples")
    if not isinstance(data, dict) or set(data) != {"markets", "rows"}:
        raise ValueError("its samples are not a sample table")
    markets, rows = data["markets"], data["rows"]
    if (
        not isinstance(markets, list)
        or len(markets) > MAX_MARKETS
        or not all(isinstance(m, str) and 0 < len(m) <= 20 for m in markets)
    ):
        raise ValueError("its samples' markets are not a list of market names")
    if not isinstance(rows, list) or len(rows) > MAX_SAMPLE_ROWS:
        raise ValueError("its sample rows are not a list (of at most 5,000)")
    width = 3 + 2 * len(markets)
    out: list[tuple[float, ...]] = []
    last = 0.0
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise ValueError(f"sample {i + 1} is not {width} numbers")
        numbers = tuple(_number(v, f"sample {i + 1}") for v in row)
        if numbers[0] < last:
            raise ValueError(f"sample {i + 1} is earlier than the one before")
        if any(p <= 0 for p in numbers[3 : 3 + len(markets)]):
            raise ValueError(f"sample {i + 1} holds a mark that is not a price")
        last = numbers[0]
        out.append(numbers)
    return SampleTable(tuple(safe_text(m) for m in markets), tuple(out))


def save_attempt(
    journal: Journal,
    *,
    drill: str,
    started: float,
    ended: float,
    elapsed: float,
    setup_seq: int,
    outcome: str,
    score: int,
    decided_by: str,
    samples: SampleTable,
) -> int:
    """Save an attempt beside its season's records (flushed first); returns its id. Raises
    :class:`JournalError` ("unwritable") when it cannot be saved, ``ValueError`` for a figure
    that is not finite or an outcome that is not one of :data:`OUTCOMES`."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    for what, value in (("started", started), ("ended", ended), ("elapsed", elapsed)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{what} must be a finite time, not {value!r}")
    if not 0 <= score <= 100:
        raise ValueError(f"score must be 0 to 100, not {score!r}")
    payload = _encode_samples(samples)
    journal.flush()
    conn = journal._conn
    try:
        with _transaction(conn):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            cursor = conn.execute(
                "INSERT INTO drill_attempts (drill, season, started, ended, elapsed, setup_seq, "
                "outcome, score, decided_by, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    drill,
                    journal.season,
                    started,
                    ended,
                    elapsed,
                    setup_seq,
                    outcome,
                    int(score),
                    decided_by[:MAX_TEXT],
                    payload,
                ),
            )
    except sqlite3.Error as exc:
        raise _unwritable(journal.path, exc) from exc
    number = cursor.lastrowid
    assert number is not None
    return number


def _attempt(row: Sequence[Any]) -> Attempt:
    """An attempt row checked field by field (``ValueError`` naming the first bad one)."""
    number, drill, season, started, ended, elapsed, setup_seq, outcome, score, decided_by = row
    drill = _text(drill, "the drill's name")
    outcome = _text(outcome, "the outcome")
    decided = _text(decided_by, "what decided it")
    if outcome not in OUTCOMES or len(drill) > 40 or len(decided) > MAX_TEXT:
        raise ValueError("the attempt's outcome or text is not one perpdesk writes")
    points = _whole(score, "the score")
    if not 0 <= points <= 100:
        raise ValueError(f"the score is {points}, not 0 to 100")
    return Attempt(
        id=_whole(number, "the attempt's number"),
        drill=safe_text(drill),
        season=_whole(season, "the attempt's season"),
        started=_moment(started, "the attempt's start"),
        ended=_moment(ended, "the attempt's end"),
        elapsed=_number(elapsed, "the attempt's length"),
        setup_seq=_whole(setup_seq, "the attempt's first record"),
        outcome=outcome,
        score=points,
        decided_by=safe_text(decided),
    )


def _read_only(data_dir: str | os.PathLike[str]) -> tuple[sqlite3.Connection, Path] | None:
    path = drills_dir(data_dir) / DB_NAME
    conn = _inspect(path)
    if conn is None:
        return None
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if "drill_attempts" not in tables:
        conn.close()
        return None
    return conn, path


def drill_scores(data_dir: str | os.PathLike[str]) -> DrillScores:
    """Every drill's attempts, wins, best score and last attempt, read-only (works while
    perpdesk runs). Aggregated in SQL; a row that cannot be read is counted in
    ``unreadable`` and left out. Raises :class:`JournalError` for an unreadable file."""
    opened = _read_only(data_dir)
    if opened is None:
        return DrillScores({})
    conn, path = opened
    try:
        (bad,) = conn.execute(
            f"SELECT COUNT(*) FROM drill_attempts WHERE NOT ({_VALID})"
        ).fetchone()
        totals = conn.execute(
            "SELECT drill, COUNT(*), SUM(outcome = 'won'), MAX(score), MAX(id) "
            f"FROM drill_attempts WHERE {_VALID} GROUP BY drill"
        ).fetchall()
        found: dict[str, DrillScore] = {}
        for drill, count, wins, best, last_id in totals:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM drill_attempts WHERE id = ?", (last_id,)
            ).fetchone()
            try:
                last = _attempt(row)
            except ValueError:
                bad += 1
                last = None
            name = safe_text(drill)
            found[name] = DrillScore(name, int(count), int(wins or 0), int(best), last)
        return DrillScores(found, int(bad))
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    finally:
        conn.close()


def attempts(
    data_dir: str | os.PathLike[str], drill: str | None = None, limit: int = 50
) -> list[Attempt]:
    """The newest ``limit`` attempts (of ``drill`` only, when given), newest first; rows that
    cannot be read are left out."""
    opened = _read_only(data_dir)
    if opened is None:
        return []
    conn, path = opened
    try:
        where, args = ("WHERE drill = ?", (drill,)) if drill is not None else ("", ())
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM drill_attempts {where} ORDER BY id DESC LIMIT ?",
            (*args, max(0, int(limit))),
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, str(exc)) from exc
    finally:
        conn.close()
    out: list[Attempt] = []
    for row in rows:
        try:
            out.append(_attempt(row))
        except ValueError:
            continue
    return out


def attempt_run(
    data_dir: str | os.PathLike[str], attempt_id: int
) -> tuple[Attempt, list[Event], SampleTable]:
    """An attempt read back whole: the row, its season's records, its samples. Raises
    :class:`JournalError` ("history") when any of it cannot be read, ``KeyError`` when there
    is no such attempt."""
    opened = _read_only(data_dir)
    if opened is None:
        raise KeyError(attempt_id)
    conn, path = opened
    try:
        row = conn.execute(
            f"SELECT {_COLUMNS}, samples FROM drill_attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        if row is None:
            raise KeyError(attempt_id)
        try:
            attempt = _attempt(row[:-1])
            samples = _decode_samples(row[-1])
            records = _all_records(conn, attempt.season)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise _damaged_history(path, f"drill attempt {attempt_id}: {exc}") from exc
        return attempt, records, samples
    except sqlite3.DatabaseError as exc:
        raise _damaged_history(path, str(exc)) from exc
    finally:
        conn.close()
