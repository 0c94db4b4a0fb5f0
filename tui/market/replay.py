"""Replay recorded prices from a CSV file.

The file needs a header naming the columns ``timestamp``, ``symbol`` and ``price`` (any
order, any case, extra columns ignored). Timestamps are ISO-8601 (``2025-11-20T14:00:00Z``;
without a zone they are UTC) or epoch seconds (values of 1e11 and above are taken as epoch
milliseconds). Rows are played in time order (a stable sort, so equal times keep file order),
paced by the timestamp gaps divided by ``speed``.

A row that does not parse is skipped and described by line number in ``errors``
(``"line 7: price 'abc' is not a number"``); the file as a whole is refused with
``ValueError`` when it is missing, unreadable, has no usable header or no valid row.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tui.market.base import Event, EventKind, SteppedSource, StepResult, parse_number, parse_price
from tui.market.books import BookMaker, Stress, book_style
from tui.market.markets import MARKETS, normalize_symbols
from tui.safe import safe_text

__all__ = [
    "REPLAY_SPEED_RANGE",
    "ReplayData",
    "ReplayRow",
    "ReplaySource",
    "parse_timestamp",
    "read_replay",
]

REPLAY_SPEED_RANGE = (1.0, 100.0)
MAX_ERRORS_KEPT = 200
_COLUMNS = ("timestamp", "symbol", "price")


@dataclass(frozen=True, slots=True)
class ReplayRow:
    time: float
    """UTC epoch seconds."""
    symbol: str
    price: float
    line: int


@dataclass(slots=True)
class ReplayData:
    rows: list[ReplayRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """The first :data:`MAX_ERRORS_KEPT` problems, ``"line N: ..."``."""
    error_count: int = 0
    other_symbols: int = 0
    """Valid rows skipped because their symbol is not configured."""


def parse_timestamp(text: str) -> float:
    """UTC epoch seconds from ISO-8601 or epoch seconds/milliseconds; ``ValueError`` if not."""
    value = text.strip()
    if not value:
        raise ValueError("timestamp is empty")
    try:
        seconds: float | None = parse_number(value, "timestamp")
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds < 0:
            raise ValueError(f"timestamp {text!r} is before 1970")
        return seconds / 1000.0 if seconds >= 1e11 else seconds
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not ISO-8601 or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _refuse(message: str) -> ValueError:
    """The file cannot be played: a message that may quote its path and contents, made safe."""
    return ValueError(safe_text(message))


def _open_error(path: Path, exc: OSError) -> ValueError:
    if isinstance(exc, FileNotFoundError):
        return _refuse(f"Replay file not found: {path}")
    if isinstance(exc, IsADirectoryError):
        return _refuse(f"Replay file {path} is a directory, not a CSV file")
    return _refuse(f"Replay file {path} could not be read: {exc.strerror or exc}")


def read_replay(path: str | os.PathLike[str], symbols: Iterable[str] | None = None) -> ReplayData:
    """Parse a replay CSV. Keeps only ``symbols`` when given. Raises ``ValueError`` for a file
    that cannot be used at all; row problems are collected in ``ReplayData.errors``."""
    file = Path(path).expanduser()
    wanted = None if symbols is None else frozenset(normalize_symbols(symbols, known_only=False))
    data = ReplayData()

    def error(line: int, message: str) -> None:
        data.error_count += 1
        if len(data.errors) < MAX_ERRORS_KEPT:
            data.errors.append(safe_text(f"line {line}: {message}"))

    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header: list[str] | None = None
            index: dict[str, int] = {}
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    if header is None:
                        raise _refuse(f"Replay file {file} is not valid CSV: {exc}") from None
                    error(reader.line_num, f"not valid CSV ({exc})")
                    continue
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue
                if header is None:
                    header = [f.strip().lower() for f in fields]
                    missing = [c for c in _COLUMNS if c not in header]
                    if missing:
                        raise _refuse(
                            f"Replay file {file}: the header must name the columns "
                            f"timestamp, symbol, price (missing: {', '.join(missing)}; "
                            f"line {line} is {','.join(fields)[:60]!r})"
                        )
                    index = {c: header.index(c) for c in _COLUMNS}
                    continue
                if len(fields) != len(header):
                    wanted_fields = f"{len(header)} fields ({','.join(header)})"
                    error(line, f"expected {wanted_fields}, got {len(fields)}")
                    continue
                try:
                    when = parse_timestamp(fields[index["timestamp"]])
                    symbol = normalize_symbols([fields[index["symbol"]]], known_only=False)[0]
                    price = parse_price(fields[index["price"]].strip())
                except ValueError as exc:
                    error(line, str(exc))
                    continue
                if wanted is not None and symbol not in wanted:
                    data.other_symbols += 1
                    continue
                data.rows.append(ReplayRow(when, symbol, price, line))
    except UnicodeDecodeError:
        raise _refuse(f"Replay file {file} is not UTF-8 text") from None
    except OSError as exc:
        raise _open_error(file, exc) from None
    if header is None:
        raise _refuse(f"Replay file {file} is empty; expected a header: timestamp,symbol,price")
    if not data.rows:
        if data.other_symbols:
            raise _refuse(
                f"Replay file {file} has no rows for the configured markets "
                f"({', '.join(sorted(wanted or ()))})"
            )
        first = f" (first problem: {data.errors[0]})" if data.errors else ""
        raise _refuse(f"Replay file {file} has no valid rows{first}")
    data.rows.sort(key=lambda r: r.time)
    return data


class ReplaySource(SteppedSource):
    """Plays a CSV recording (see module doc). ``symbols=None`` plays every symbol in the
    file (in order of first appearance). Speed 1 to 100; pausing stops the replay clock.
    ``run()`` returns once every row was played, after an ``ended`` status.

    A recording holds marks only. With an ``execution`` preset other than ``"frictionless"``
    each step also carries a synthetic order book around the last mark of every market that
    moved in it (tui/market/books.py), widening when the recording moves fast."""

    kind = "replay"
    speed_options = (1.0, 10.0, 60.0, 100.0)

    def __init__(
        self,
        path: str | os.PathLike[str],
        symbols: Iterable[str] | None = None,
        *,
        speed: float = 1,
        tick_interval: float = 0.25,
        execution: str = "frictionless",
    ) -> None:
        style = book_style(execution)
        data = read_replay(path, symbols)
        if symbols is None:
            syms = tuple(dict.fromkeys(r.symbol for r in data.rows))
        else:
            syms = normalize_symbols(symbols, known_only=False)
        super().__init__(syms, tick_interval=tick_interval)
        self.path = Path(path).expanduser()
        self.name = safe_text(f"Replay: {self.path.name}")
        self.errors: list[str] = data.errors
        self.error_count = data.error_count
        self.rows: list[ReplayRow] = data.rows
        self.start_time = data.rows[0].time
        self._offsets = [r.time - self.start_time for r in data.rows]
        self._index = 0
        self._clock_sent = math.nan  # the feed time of the last clock event emitted
        self.marks_emitted = 0
        self.execution = execution.strip().lower()
        self._books = None if style is None else BookMaker(syms, style, 0)
        self._stress: dict[str, Stress] = {}
        self._moved: dict[str, float] = {}  # symbol -> its last mark in this step
        self._stress_time = 0.0
        self.speed = speed

    def _validate_speed(self, value: object) -> float:
        low, high = REPLAY_SPEED_RANGE
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise ValueError(f"replay speed must be between {low:g} and {high:g} (got {value!r})")
        return float(value)

    @property
    def duration(self) -> float:
        """Seconds of recorded time from the first row to the last."""
        return self._offsets[-1]

    @property
    def replay_time(self) -> datetime:
        """The recording's clock at the current position (UTC)."""
        return datetime.fromtimestamp(self.start_time + self._sim_time, UTC)

    @property
    def feed_time(self) -> float:
        """The recording's clock at the current position (UTC epoch seconds)."""
        return self.start_time + self._sim_time

    @property
    def finished(self) -> bool:
        return self._index >= len(self.rows)

    def _emit_due(self, out: list[Event]) -> None:
        rows, offsets, now = self.rows, self._offsets, self._sim_time
        i, n = self._index, len(rows)
        mark, clock = EventKind.MARK, EventKind.CLOCK
        moved = self._moved if self._books is not None else None
        while i < n and offsets[i] <= now:
            row = rows[i]
            if row.time != self._clock_sent:
                self._clock_sent = row.time
                out.append((clock, "", row.time))
            out.append((mark, row.symbol, row.price))
            if moved is not None:
                moved[row.symbol] = row.price
            i += 1
        self.marks_emitted += i - self._index
        self._index = i

    def snapshot(self) -> StepResult:
        """The rows due at the current position that were not played yet (at the start: the
        rows sharing the first timestamp)."""
        result = StepResult()
        self._emit_due(result.events)
        self._add_books(result)
        return result

    def _advance(self, sim_dt: float, out: list[Event]) -> None:
        self._sim_time += sim_dt
        self._emit_due(out)

    def _add_books(self, result: StepResult) -> None:
        maker = self._books
        if maker is None or not self._moved:
            return
        dt = self._sim_time - self._stress_time
        self._stress_time = self._sim_time
        result.time = self._sim_time
        for symbol, price in self._moved.items():
            stress = self._stress.get(symbol)
            if stress is None:
                params = MARKETS.get(symbol)
                stress = self._stress[symbol] = Stress(params.annual_vol if params else 1.0)
            level = stress.update(math.log(price), dt)
            result.books.append((symbol, *maker.book(symbol, price, level)))
        self._moved = {}

    def _next_sleep(self) -> float:
        if self.finished or self._paused:
            return self.tick_interval
        due = (self._offsets[self._index] - self._sim_time) / self._speed
        return min(self.tick_interval, max(0.005, due))

    def _errors(self) -> int:
        return self.error_count

    def _skipped(self) -> str:
        n = self.error_count
        return f"{n:,} bad row{'s' if n != 1 else ''} skipped" if n else ""

    def _detail(self) -> str:
        detail = f"Replaying {self.path.name} · {self._speed:g}x"
        if self.error_count:
            detail += f" · {self._skipped()} (first: {self.errors[0]})"
        return detail

    def _ended_detail(self) -> str:
        detail = f"Replay finished: {self.marks_emitted:,} marks from {self.path.name}"
        if self.error_count:
            detail += f" ({self._skipped()})"
        return detail
