"""Reading the history from SQLite a page at a time, and streaming it out.

Pages are newest first and keyset-paged: each :class:`Page` gives the ``next`` cursor to pass
as ``before`` for the page after it (older), so a page costs the same at the start of a
million records as at their end (no ``OFFSET``). Records of one kind are found through the
index of records by kind (``events_by_type``, named in the query: without statistics SQLite
would walk the primary key and skip the other kinds, thousands of rows for a page of a rare
kind); closed round trips and order rows through their own tables
(:mod:`tui.journal.ledger`).

Every row is checked as it is read, as at opening before (types, finiteness, bounds): a
damaged one raises :class:`~tui.journal.JournalError` of kind ``"history"``, naming it.

Streams (:func:`stream_records`, :func:`stream_closed`) read oldest first in chunks, for
exports and tools; they never hold more than a chunk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from tui.engine import Event, Liquidation, MarginMode, Market
from tui.history import AccountAt, ClosedPosition, OrderRecord, PostMortem, post_mortems
from tui.journal.base import _damaged_history
from tui.journal.codec import _number, _whole, decode_event
from tui.journal.ledger import decode_closed, decode_order

PAGE_SIZE: Final = 100
"""Rows in a page unless the caller asks for another number."""
CHUNK: Final = 1_000
"""Rows read at a time by a stream."""
_AFTER_ALL: Final = 2**63 - 1  # a cursor past every seq SQLite can hold

T = TypeVar("T")
E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one history table, newest first. ``next`` is the ``before`` of the following
    (older) page; None when this page reaches the oldest row. ``top`` is the ``before`` that
    reads these same rows again (its first row's cursor + 1), even after newer rows were
    saved: what a table that let the page go passes to read it back (None: no rows)."""

    rows: list[T]
    next: int | None
    top: int | None = None


def _top(first: int | None) -> int | None:
    return None if first is None else first + 1


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"A page holds at least one row, not {limit!r}.")
    return limit


def _cursor(before: int | None) -> int:
    if before is None:
        return _AFTER_ALL
    if isinstance(before, bool) or not isinstance(before, int):
        raise ValueError(f"A page cursor is a whole number, not {before!r}.")
    return before


class Reader:
    """Reads one season's history on ``conn`` (the journal's own, on the event loop, or one of
    its own in an export's thread). Every failure is a :class:`JournalError` ("history")."""

    def __init__(self, conn: sqlite3.Connection, season: int, path: Path) -> None:
        self.conn = conn
        self.season = season
        self.path = path

    # ------------------------------------------------------------------ records

    def _decode(
        self, kind: str, seq: object, payload: object, wallet: object, excess: object
    ) -> tuple[Event, AccountAt | None]:
        what = f"record {seq} of season {self.season}"
        try:
            event = decode_event(kind, payload)  # type: ignore[arg-type]
            if event.seq != seq:
                raise ValueError(f"{what} is numbered {event.seq}")
            account = None
            if wallet is not None and excess is not None:
                account = AccountAt(
                    _number(wallet, f"record {seq}'s wallet"),
                    _number(excess, f"record {seq}'s cross excess"),
                )
        except (ValueError, TypeError, RecursionError) as exc:
            raise _damaged_history(self.path, f"{what}: {exc}") from exc
        return event, account

    def _query(self, sql: str, args: tuple[object, ...]) -> list[Any]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _damaged_history(self.path, str(exc)) from exc
        except ValueError as exc:  # text that is not UTF-8
            raise _damaged_history(self.path, str(exc)) from exc

    def records(
        self, kind: str, before: int | None, limit: int
    ) -> tuple[list[tuple[Event, AccountAt | None]], int | None]:
        """Up to ``limit`` records of ``kind`` ("fill", "liquidation", ...) older than
        ``before``, newest first, with their saved account figures; and the next cursor."""
        limit = _check_limit(limit)
        rows = self._query(
            "SELECT seq, payload, wallet, cross_excess FROM events INDEXED BY events_by_type "
            "WHERE season = ? AND type = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (self.season, kind, _cursor(before), limit + 1),
        )
        more = len(rows) > limit
        found = [self._decode(kind, *row) for row in rows[:limit]]
        return found, (found[-1][0].seq if more else None)

    def page(self, kind: str, cls: type[E], before: int | None, limit: int) -> Page[E]:
        found, cursor = self.records(kind, before, limit)
        rows: list[E] = []
        for event, _ in found:
            if not isinstance(event, cls):  # a record filed under another kind
                raise _damaged_history(
                    self.path, f"record {event.seq} is filed as a {kind} but is not one"
                )
            rows.append(event)
        return Page(rows, cursor, _top(rows[0].seq if rows else None))

    def recent(self, limit: int) -> list[Event]:
        """The latest ``limit`` records of any kind, oldest first."""
        limit = _check_limit(limit)
        rows = self._query(
            "SELECT seq, type, payload, wallet, cross_excess FROM events WHERE season = ? "
            "ORDER BY seq DESC LIMIT ?",
            (self.season, limit),
        )
        return [self._decode(str(kind), seq, p, w, x)[0] for seq, kind, p, w, x in rows[::-1]]

    def account_at(self, seq: int) -> AccountAt | None:
        rows = self._query(
            "SELECT seq, type, wallet, cross_excess FROM events WHERE season = ? AND seq = ?",
            (self.season, seq),
        )
        if not rows or rows[0][2] is None or rows[0][3] is None:
            return None
        try:
            return AccountAt(
                _number(rows[0][2], f"record {seq}'s wallet"),
                _number(rows[0][3], f"record {seq}'s cross excess"),
            )
        except ValueError as exc:
            raise _damaged_history(self.path, str(exc)) from exc

    def seqs(self) -> Iterator[int]:
        """Every record's number, oldest first (a chunk at a time)."""
        after = 0
        while True:
            rows = self._query(
                "SELECT seq FROM events WHERE season = ? AND seq > ? AND wallet IS NOT NULL "
                "AND cross_excess IS NOT NULL ORDER BY seq LIMIT ?",
                (self.season, after, CHUNK),
            )
            for (seq,) in rows:
                yield int(seq)
            if len(rows) < CHUNK:
                return
            after = int(rows[-1][0])

    def count(self, kind: str | None = None) -> int:
        """Records of ``kind`` (all kinds: None) counted in the index (for a ledger still being
        built; a finished ledger knows its counts)."""
        if kind is None:
            rows = self._query("SELECT COUNT(*) FROM events WHERE season = ?", (self.season,))
        else:
            rows = self._query(
                "SELECT COUNT(*) FROM events INDEXED BY events_by_type "
                "WHERE season = ? AND type = ?",
                (self.season, kind),
            )
        return int(rows[0][0])

    # ------------------------------------------------------------------ liquidations

    def liquidations(
        self, markets: Mapping[str, Market], before: int | None, limit: int
    ) -> Page[PostMortem]:
        """A page of liquidations, each with its post-mortem. A cross liquidation's post-mortem
        needs the other positions of the same liquidation: those just past either end of the
        page are read too (a few rows: one liquidation closes at most one position a market).
        Each post-mortem uses the account figures saved with its record."""
        found, cursor = self.records("liquidation", before, limit)
        if not found:
            return Page([], None)
        extra = self._group_rest(found[-1][0], older=True)
        if before is not None:
            extra += self._group_rest(found[0][0], older=False)
        events = sorted([e for e, _ in found] + [e for e, _ in extra], key=lambda e: e.seq)
        accounts = {e.seq: a for e, a in (*found, *extra) if a is not None}
        mortems = {m.liquidation.seq: m for m in post_mortems(events, markets, accounts)}
        return Page([mortems[e.seq] for e, _ in found], cursor, _top(found[0][0].seq))

    def _group_rest(self, edge: Event, *, older: bool) -> list[tuple[Event, AccountAt | None]]:
        """The liquidations of ``edge``'s cross liquidation beyond it (in one direction)."""
        if not isinstance(edge, Liquidation) or edge.mode is not MarginMode.CROSS:
            return []
        rest: list[tuple[Event, AccountAt | None]] = []
        at = edge.seq
        while True:
            rows = self._query(
                "SELECT seq, payload, wallet, cross_excess FROM events INDEXED BY events_by_type "
                f"WHERE season = ? AND type = 'liquidation' AND seq {'<' if older else '>'} ? "
                f"ORDER BY seq {'DESC' if older else 'ASC'} LIMIT 8",
                (self.season, at),
            )
            for row in rows:
                event, account = self._decode("liquidation", *row)
                if not (
                    isinstance(event, Liquidation)
                    and event.mode is MarginMode.CROSS
                    and event.group == edge.group
                ):
                    return rest
                rest.append((event, account))
                at = event.seq
            if len(rows) < 8:
                return rest

    # ------------------------------------------------------------------ ledger tables

    def closed(self, before: int | None, limit: int) -> Page[ClosedPosition]:
        limit = _check_limit(limit)
        rows = self._query(
            "SELECT n, payload FROM closed WHERE season = ? AND n < ? ORDER BY n DESC LIMIT ?",
            (self.season, _cursor(before), limit + 1),
        )
        found = [(int(n), self._closed(n, payload)) for n, payload in rows[:limit]]
        return Page(
            [c for _, c in found],
            found[-1][0] if len(rows) > limit else None,
            _top(found[0][0] if found else None),
        )

    def _closed(self, n: object, payload: object) -> ClosedPosition:
        try:
            return decode_closed(payload, _whole(n, "a closed round trip's number"))
        except (ValueError, TypeError, RecursionError) as exc:
            raise _damaged_history(self.path, str(exc)) from exc

    def orders(self, before: int | None, limit: int) -> Page[OrderRecord]:
        limit = _check_limit(limit)
        rows = self._query(
            "SELECT order_id, first_seq, payload FROM orders "
            "WHERE season = ? AND first_seq < ? ORDER BY first_seq DESC LIMIT ?",
            (self.season, _cursor(before), limit + 1),
        )
        found: list[tuple[int, OrderRecord]] = []
        for order_id, first, payload in rows[:limit]:
            try:
                row = decode_order(payload, _whole(order_id, "an order's id"))
                found.append((_whole(first, f"order {order_id}'s first record"), row))
            except (ValueError, TypeError, RecursionError) as exc:
                raise _damaged_history(self.path, str(exc)) from exc
        return Page(
            [r for _, r in found],
            found[-1][0] if len(rows) > limit else None,
            _top(found[0][0] if found else None),
        )

    # ------------------------------------------------------------------ streams

    def after(self, seq: int, limit: int, kind: str | None = None) -> list[Event]:
        """Up to ``limit`` records (of ``kind``, or any) after record ``seq``, oldest first."""
        if kind is None:
            rows = self._query(
                "SELECT seq, type, payload, wallet, cross_excess FROM events "
                "WHERE season = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.season, seq, limit),
            )
        else:
            rows = self._query(
                "SELECT seq, type, payload, wallet, cross_excess "
                "FROM events INDEXED BY events_by_type "
                "WHERE season = ? AND type = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.season, kind, seq, limit),
            )
        return [self._decode(str(found), n, p, w, x)[0] for n, found, p, w, x in rows]

    def stream_records(self, kind: str | None = None) -> Iterator[Event]:
        """Every record (of ``kind``, or all), oldest first, a chunk at a time."""
        seq = 0
        while True:
            chunk = self.after(seq, CHUNK, kind)
            yield from chunk
            if len(chunk) < CHUNK:
                return
            seq = chunk[-1].seq

    def stream_closed(self) -> Iterator[ClosedPosition]:
        after = 0
        while True:
            rows = self._query(
                "SELECT n, payload FROM closed WHERE season = ? AND n > ? ORDER BY n LIMIT ?",
                (self.season, after, CHUNK),
            )
            for n, payload in rows:
                yield self._closed(n, payload)
            if len(rows) < CHUNK:
                return
            after = int(rows[-1][0])
