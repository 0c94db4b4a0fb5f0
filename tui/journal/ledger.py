"""The ledger: what the history screen needs without reading a season's records, kept up to
date record by record, in the same transaction as the records themselves.

Per season, one row of ``ledger`` holds, as JSON: how many records of each kind there are,
the practice stats (:class:`~tui.history.StatsBook`, sums kept exact), and the round trips
still open (:class:`~tui.history.TripBook`). Each closed round trip is a row of ``closed``
(numbered in the order they ended), each order a row of ``orders`` (its latest state, by the
seq of its first record). ``through`` is the last record folded in: every record up to it is
counted, and none after it.

A season saved before the ledger existed (schema 1) starts with ``through = 0``; the journal
folds its records in, a chunk at a time (:meth:`tui.journal.Journal.build_history`), from
oldest to newest; new records are folded in as they are saved once it has caught up.

The ledger's own format has a version (:data:`LEDGER_VERSION`, saved in its JSON). A ledger
of an older version (one that lacks a total added since) is migrated the same way: it is not
used, and the season's records are folded again from the first into a new one (while the
account opens when the season is short, else a slice at a time on the app's timer), its
closed round trips and order rows rewritten with it. Version 2 added the fills' execution
costs (spread and impact) and the round trips won before fees.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from tui.engine import Event, Fill, FundingPayment, Liquidation, MarginTransfer, OrderEvent
from tui.history import (
    STAT_SUMS,
    ClosedPosition,
    OpenTrip,
    OrderRecord,
    RunningTally,
    StatsBook,
    TripBook,
    order_step,
)
from tui.journal.codec import (
    _dump,
    _load,
    _number,
    _whole,
    decode_fields,
    decode_row,
    encode_row,
    row_fields,
)

COUNT_KEYS: Final = (
    "fills",
    "liquidations",
    "funding",
    "transfers",
    "order_events",
    "orders",
    "closed",
)
"""The tables the history shows, as :meth:`Ledger.counts` counts them."""

_COUNTED: Final[tuple[tuple[type[Event], str], ...]] = (
    (Fill, "fills"),
    (Liquidation, "liquidations"),
    (FundingPayment, "funding"),
    (MarginTransfer, "transfers"),
    (OrderEvent, "order_events"),
)

LEDGER_VERSION: Final = 2
"""The ledger format: 1 (unversioned) counts, stats and open round trips; 2 adds the
execution costs (``spread``, ``impact`` sums) and ``gross_wins``."""


class OutdatedLedger(ValueError):
    """A ledger saved in an older format: folded again from the records (a migration)."""


OrderLookup = Callable[[int], tuple[int, OrderRecord] | None]
"""An order's saved row by its id: ``(seq of its first record, row)``, or None."""


@dataclass
class LedgerWrites:
    """What folding some records adds to the ledger's tables (besides the ledger row)."""

    closed: list[tuple[int, int, str]] = field(default_factory=list)  # (n, seq, payload)
    orders: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (first seq, row)


class Ledger:
    """One season's counts, practice stats and open round trips, folded up to ``through``."""

    def __init__(
        self,
        through: int = 0,
        counts: Mapping[str, int] | None = None,
        stats: StatsBook | None = None,
        trips: TripBook | None = None,
    ) -> None:
        self.through = through
        self.counts: dict[str, int] = {key: 0 for key in COUNT_KEYS}
        if counts is not None:
            self.counts.update(counts)
        self.stats = stats if stats is not None else StatsBook()
        self.trips = trips if trips is not None else TripBook()

    def copy(self) -> Ledger:
        """An independent copy (the journal folds into a copy and keeps it once committed)."""
        tallies = {
            key: replace(tally, sums={name: list(p) for name, p in tally.sums.items()})
            for key, tally in self.stats.tallies.items()
        }
        trips = {name: replace(trip) for name, trip in self.trips.open.items()}
        return Ledger(self.through, self.counts, StatsBook(tallies), TripBook(trips))

    def fold(self, events: Iterable[Event], order_row: OrderLookup) -> LedgerWrites:
        """Fold records (in order) into this ledger; what to write besides the ledger row.
        Records already folded (``seq <= through``) are skipped."""
        writes = LedgerWrites()
        orders: dict[int, tuple[int, OrderRecord]] = {}
        for event in events:
            if event.seq <= self.through:
                continue
            for cls, key in _COUNTED:
                if isinstance(event, cls):
                    self.counts[key] += 1
            self.stats.feed(event)
            trip = self.trips.feed(event)
            if trip is not None:
                self.stats.close(trip)
                self.counts["closed"] += 1
                n = self.counts["closed"]
                writes.closed.append((n, event.seq, encode_row(trip, f"closed round trip {n}")))
            if isinstance(event, OrderEvent):
                known = orders.get(event.order_id) or order_row(event.order_id)
                if known is None:
                    self.counts["orders"] += 1
                    first, row = event.seq, order_step(None, event)
                else:
                    first, row = known[0], order_step(known[1], event)
                orders[event.order_id] = (first, row)
            self.through = event.seq
        writes.orders = {
            order_id: (first, encode_row(row, f"order {order_id}'s row"))
            for order_id, (first, row) in orders.items()
        }
        return writes

    # ------------------------------------------------------------------ saving

    def to_json(self) -> str:
        data = {
            "version": LEDGER_VERSION,
            "counts": self.counts,
            "tallies": {key: row_fields(tally) for key, tally in self.stats.tallies.items()},
            "trips": {name: row_fields(trip) for name, trip in self.trips.open.items()},
        }
        return _dump(data, "the history ledger")

    @classmethod
    def from_json(cls, through: object, text: object) -> Ledger:
        """The ledger as saved; ``ValueError`` naming what is wrong (every field checked)."""
        data = _load(text, "history ledger")
        if not isinstance(data, dict):
            raise ValueError("the history ledger is not an object")
        version = data.get("version", 1)
        if version != LEDGER_VERSION:
            raise OutdatedLedger(
                f"the history ledger is of format {version!r}, not {LEDGER_VERSION}"
            )
        counts = data.get("counts")
        if not isinstance(counts, dict) or set(counts) != set(COUNT_KEYS):
            raise ValueError("the history ledger's counts are not the tables' counts")
        checked = {key: _whole(counts[key], f"the ledger's {key} count") for key in COUNT_KEYS}
        tallies_raw = data.get("tallies")
        if not isinstance(tallies_raw, dict) or set(tallies_raw) != set(StatsBook().tallies):
            raise ValueError("the history ledger's stats are not by margin mode")
        tallies = {
            key: _tally(value, f"the ledger's {key} stats") for key, value in tallies_raw.items()
        }
        trips_raw = data.get("trips")
        if not isinstance(trips_raw, dict):
            raise ValueError("the history ledger's open round trips are not an object")
        trips = {
            str(name): decode_fields(OpenTrip, value, f"the ledger's open {name} round trip")
            for name, value in trips_raw.items()
        }
        return cls(
            _whole(through, "the ledger's last record"),
            checked,
            StatsBook(tallies),
            TripBook(trips),
        )


def _tally(raw: object, what: str) -> RunningTally:
    if not isinstance(raw, dict):
        raise ValueError(f"{what} are not an object")
    sums = raw.get("sums")
    if not isinstance(sums, dict) or set(sums) != set(STAT_SUMS):
        raise ValueError(f"{what} do not hold their sums")
    partials: dict[str, list[float]] = {}
    for name in STAT_SUMS:
        values = sums[name]
        if not isinstance(values, list):
            raise ValueError(f"{what}' {name} is not a list of numbers")
        partials[name] = [_number(x, f"{what}' {name}") for x in values]
    last = raw.get("last_group")
    return RunningTally(
        partials,
        last_group=None if last is None else _whole(last, f"{what}' last group"),
        liquidations=_whole(raw.get("liquidations"), f"{what}' liquidations"),
        positions_liquidated=_whole(
            raw.get("positions_liquidated"), f"{what}' positions liquidated"
        ),
        closed=_whole(raw.get("closed"), f"{what}' closed count"),
        wins=_whole(raw.get("wins"), f"{what}' wins"),
        worst=_number(raw.get("worst"), f"{what}' worst result"),
        gross_wins=_whole(raw.get("gross_wins"), f"{what}' wins before fees"),
    )


# --------------------------------------------------------------------------- the tables


def order_lookup(conn: sqlite3.Connection, season: int) -> OrderLookup:
    def lookup(order_id: int) -> tuple[int, OrderRecord] | None:
        row = conn.execute(
            "SELECT first_seq, payload FROM orders WHERE season = ? AND order_id = ?",
            (season, order_id),
        ).fetchone()
        if row is None:
            return None
        what = f"order {order_id}'s saved row"
        return _whole(row[0], what), decode_row(OrderRecord, row[1], what)

    return lookup


def write(conn: sqlite3.Connection, season: int, ledger: Ledger, writes: LedgerWrites) -> None:
    """Save a fold (inside the caller's transaction)."""
    if writes.closed:
        conn.executemany(
            "INSERT OR REPLACE INTO closed (season, n, seq, payload) VALUES (?, ?, ?, ?)",
            [(season, n, seq, payload) for n, seq, payload in writes.closed],
        )
    if writes.orders:
        conn.executemany(
            "INSERT OR REPLACE INTO orders (season, order_id, first_seq, payload) "
            "VALUES (?, ?, ?, ?)",
            [(season, oid, first, payload) for oid, (first, payload) in writes.orders.items()],
        )
    conn.execute(
        "INSERT OR REPLACE INTO ledger (season, through, data) VALUES (?, ?, ?)",
        (season, ledger.through, ledger.to_json()),
    )


def reset(conn: sqlite3.Connection, season: int) -> None:
    """Forget a season's ledger and its rows (to fold its records again from the first)."""
    for table in ("closed", "orders", "ledger"):
        conn.execute(f"DELETE FROM {table} WHERE season = ?", (season,))


def decode_closed(payload: object, n: int) -> ClosedPosition:
    return decode_row(ClosedPosition, payload, f"closed round trip {n}")


def decode_order(payload: object, order_id: int) -> OrderRecord:
    return decode_row(OrderRecord, payload, f"order {order_id}'s row")
