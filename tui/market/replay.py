"""Replay recorded prices from a CSV file, streamed: the file is never read into memory whole.

The file needs a header naming the columns ``timestamp``, ``symbol`` and ``price`` (any
order, any case, extra columns ignored). Timestamps are ISO-8601 (``2025-11-20T14:00:00Z``;
without a zone they are UTC) or epoch seconds (values of 1e11 and above are taken as epoch
milliseconds), from 1970 to the year 9999. Rows are paced by their timestamp gaps divided by
``speed``.

Streaming, and what it keeps of the old whole-file features:

* **Time order.** Rows play in time order through a reorder window of :data:`REORDER_ROWS`
  rows: a row that many rows late or less is put back in its place (equal times keep file
  order). A row later than that, earlier than rows already played, is reported and skipped.
* **Outliers.** A row alone in time (further than the gap limit from the rows on both sides of
  it, such as one stray timestamp 0 or year-9000 row in a 2025 recording) is reported and
  skipped. A gap longer than the limit between two runs of rows is not waited out: the replay
  clock jumps it, and says so. The gap limit is :data:`MIN_GAP_LIMIT` (1 h), or 1,000 times the
  typical gap of the first rows when that is longer (hourly data), at most a day. A stray row
  therefore never stalls the replay for months of feed time.
* **Known up front** (a bounded first pass, :data:`REORDER_ROWS` rows, plus the file's last
  64 KiB): the first rows and so the start time, the symbols of those rows (``symbols``; a
  symbol first seen later is added when it plays), the bad rows among them (``errors``), and
  the recording's length (``duration``, from the tail: ``None`` when the tail holds no usable
  row). Bad rows found later are counted as they are read (the feed status shows the count).

A row that does not parse is skipped and described by line number in ``errors``
(``"line 7: price 'abc' is not a number"``; text from the file is shown with control
characters escaped); the file as a whole is refused with ``ValueError`` when it is missing,
unreadable, has no usable header or no valid row.
"""

from __future__ import annotations

import csv
import heapq
import io
import math
import os
import re
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
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
REORDER_ROWS = 1024
"""Rows read ahead of the one playing: the reorder window, and the bounded first pass."""
MIN_GAP_LIMIT = 3600.0
"""Seconds: a gap between rows longer than this (or 1,000 typical gaps) is not waited out."""
MAX_GAP_LIMIT = 86_400.0
"""Seconds: the gap limit is never more than a day, however sparse the file."""
MAX_LINE_CHARS = 64 * 1024
"""A longer line is reported and skipped without being held in memory."""
LAST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: the last moment a datetime can show
_TAIL_BYTES = 64 * 1024
_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape made of a bad byte
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
    """What :func:`read_replay` read: the rows in the order a replay plays them."""

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
        seconds = seconds / 1000.0 if seconds >= 1e11 else seconds
        if seconds > LAST_TIME:
            raise ValueError(f"timestamp {text!r} is after the year 9999")
        return seconds
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


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    """``90061`` -> ``'1 d 1 h'``: a gap, roughly, for messages."""
    if seconds >= 10 * 86_400:
        return f"{seconds / 86_400:,.0f} d"
    if seconds >= 86_400:
        days, hours = divmod(round(seconds / 3600), 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:g} s"


class _Report:
    """Problems found in the file so far: the first :data:`MAX_ERRORS_KEPT`, and a count."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(safe_text(f"line {line}: {message}"))


def _lines(handle: io.TextIOBase, report: _Report) -> Iterator[str]:
    """The file's lines, each at most :data:`MAX_LINE_CHARS` long: a longer one is reported
    and replaced by an empty line (skipped), its rest read and dropped piece by piece."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := handle.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
            report.add(number, f"longer than {MAX_LINE_CHARS:,} characters")
            line = "\n"
        yield line


class _Rows:
    """The valid rows of a replay CSV in file order, read one at a time; problems go in
    ``report``. Opening reads the header (``ValueError`` when the file cannot be used)."""

    def __init__(self, path: Path, wanted: frozenset[str] | None, report: _Report) -> None:
        self.path = path
        self.wanted = wanted
        self.report = report
        self.other_symbols = 0
        self.problem: str | None = None  # why reading stopped early (a bad byte, an I/O error)
        try:
            self._handle: io.TextIOBase | None = path.open(
                newline="", encoding="utf-8-sig", errors="surrogateescape"
            )  # a bad byte spoils its own row only (reported), not the rest of the file
        except OSError as exc:
            raise _open_error(path, exc) from None
        self._reader = csv.reader(_lines(self._handle, report))
        try:
            self._header()
        except BaseException:
            self.close()
            raise

    def _header(self) -> None:
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                raise _refuse(
                    f"Replay file {self.path} is empty; expected a header: timestamp,symbol,price"
                ) from None
            except csv.Error as exc:
                raise _refuse(f"Replay file {self.path} is not valid CSV: {exc}") from None
            except OSError as exc:
                raise _open_error(self.path, exc) from None
            if fields and any(f.strip() for f in fields):
                break
        header = [f.strip().lower() for f in fields]
        missing = [c for c in _COLUMNS if c not in header]
        if missing:
            raise _refuse(
                f"Replay file {self.path}: the header must name the columns "
                f"timestamp, symbol, price (missing: {', '.join(missing)}; "
                f"line {self._reader.line_num} is {','.join(fields)[:60]!r})"
            )
        self.header = header
        self._index = [header.index(c) for c in _COLUMNS]

    def read(self) -> ReplayRow | None:
        """The next valid row for the wanted symbols, or None at the end of the file."""
        reader, report, width = self._reader, self.report, len(self.header)
        at_time, at_symbol, at_price = self._index
        while self._handle is not None:
            try:
                fields = next(reader)
            except StopIteration:
                self.close()
                return None
            except csv.Error as exc:
                report.add(reader.line_num, f"not valid CSV ({exc})")
                continue
            except OSError as exc:  # the disk, not the data: nothing more can be read
                line = reader.line_num + 1
                self.problem = f"unreadable from line {line} on ({exc.strerror or exc})"
                report.add(line, f"the file is {self.problem}; the rest was not played")
                self.close()
                return None
            line = reader.line_num
            if len(fields) != width:
                if not fields or all(not f.strip() for f in fields):
                    continue
                report.add(line, f"expected {width} fields ({','.join(self.header)}), got "
                           f"{len(fields)}")  # fmt: skip
                continue
            try:
                when = parse_timestamp(fields[at_time])
                symbol = normalize_symbols([fields[at_symbol]], known_only=False)[0]
                price = parse_price(fields[at_price].strip())
            except ValueError as exc:
                bad_bytes = any(_UNDECODED.search(f) for f in fields)
                report.add(line, "the row is not UTF-8 text" if bad_bytes else str(exc))
                continue
            if self.wanted is not None and symbol not in self.wanted:
                self.other_symbols += 1
                continue
            return ReplayRow(when, symbol, price, line)
        return None

    def tail_times(self) -> list[float]:
        """The timestamps of the rows in the file's last 64 KiB (cheap: one seek)."""
        index = self._index[0]
        try:
            with self.path.open("rb") as raw:
                size = raw.seek(0, os.SEEK_END)
                raw.seek(max(0, size - _TAIL_BYTES))
                chunk = raw.read(_TAIL_BYTES).decode("utf-8", "replace")
        except OSError:
            return []
        lines = chunk.splitlines()[1 if size > _TAIL_BYTES else 0 :]
        times: list[float] = []
        for fields in csv.reader(lines):
            if len(fields) == len(self.header):
                try:
                    times.append(parse_timestamp(fields[index]))
                except ValueError:
                    continue
        return times

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


class _Timeline:
    """Rows in play order with their play offsets (seconds since the first played row, with
    long gaps taken out): the reorder window, the outlier and gap rules of the module doc."""

    def __init__(self, rows: _Rows) -> None:
        self.rows = rows
        self.report = rows.report
        self._heap: list[tuple[float, int, ReplayRow]] = []
        self._read = 0
        self._fill()  # the bounded first pass
        times = sorted(t for t, _, _ in self._heap)
        gaps = [b - a for a, b in pairwise(times) if b > a]
        typical = statistics.median(gaps) if gaps else 0.0
        self.gap_limit = min(max(MIN_GAP_LIMIT, 1000.0 * typical), MAX_GAP_LIMIT)
        self.first_rows = [row for _, _, row in sorted(self._heap)]
        self.start: float | None = None
        self.last: float | None = None
        self.skipped_time = 0.0  # recording seconds the clock jumped over
        self.gaps = 0
        self.largest_gap = 0.0

    def _fill(self) -> None:
        heap, rows = self._heap, self.rows
        while len(heap) < REORDER_ROWS:
            row = rows.read()
            if row is None:
                return
            self._read += 1
            heapq.heappush(heap, (row.time, self._read, row))

    def next(self) -> tuple[ReplayRow, float] | None:
        """The next row to play and its offset, or None when the file is played out."""
        heap = self._heap
        while True:
            self._fill()
            if not heap:
                return None
            row = heapq.heappop(heap)[2]
            self._fill()
            last = self.last
            if last is not None and row.time < last:
                self.report.add(
                    row.line,
                    f"timestamp {_when(row.time)} is {_span(last - row.time)} before rows "
                    "already played (rows must be in time order); skipped",
                )
                continue
            before = math.inf if last is None else row.time - last
            after = heap[0][0] - row.time if heap else math.inf
            limit = self.gap_limit
            if before > limit and after > limit and (last is not None or heap):
                near = min(before, after)
                self.report.add(
                    row.line,
                    f"timestamp {_when(row.time)} is {_span(near)} away from every other row; "
                    "skipped as a stray",
                )
                continue
            if self.start is None:
                self.start = row.time
            elif before > limit:  # a long gap between two runs of rows: jump it
                self.skipped_time += before
                self.gaps += 1
                self.largest_gap = max(self.largest_gap, before)
            self.last = row.time
            return row, row.time - self.start - self.skipped_time


def _last_time(times: list[float], limit: float) -> float | None:
    """The latest of ``times`` that is not a stray (one with another within ``limit``)."""
    ordered = sorted(times)
    if len(ordered) < 2:
        return ordered[-1] if ordered else None
    for i in range(len(ordered) - 1, -1, -1):
        near = [ordered[j] for j in (i - 1, i + 1) if 0 <= j < len(ordered)]
        if any(abs(ordered[i] - t) <= limit for t in near):
            return ordered[i]
    return None


def read_replay(path: str | os.PathLike[str], symbols: Iterable[str] | None = None) -> ReplayData:
    """Read a whole replay CSV, as a replay would play it (for tools and tests: the app
    streams it with :class:`ReplaySource`). Keeps only ``symbols`` when given. Raises
    ``ValueError`` for a file that cannot be used at all."""
    timeline = _open_timeline(Path(path).expanduser(), symbols)
    data = ReplayData()
    while (played := timeline.next()) is not None:
        data.rows.append(played[0])
    data.errors = timeline.report.errors
    data.error_count = timeline.report.count
    data.other_symbols = timeline.rows.other_symbols
    return data


def _open_timeline(file: Path, symbols: Iterable[str] | None) -> _Timeline:
    wanted = None if symbols is None else frozenset(normalize_symbols(symbols, known_only=False))
    rows = _Rows(file, wanted, _Report())
    timeline = _Timeline(rows)
    if not timeline.first_rows:
        rows.close()
        if rows.other_symbols:
            raise _refuse(
                f"Replay file {file} has no rows for the configured markets "
                f"({', '.join(sorted(wanted or ()))})"
            )
        report = timeline.report
        first = f" (first problem: {report.errors[0]})" if report.errors else ""
        raise _refuse(f"Replay file {file} has no valid rows{first}")
    return timeline


class ReplaySource(SteppedSource):
    """Plays a CSV recording, streamed (see module doc). ``symbols=None`` plays every symbol
    in the file (those of its first rows, in order of first appearance; one first seen later
    joins when it plays). Speed 1 to 100; pausing stops the replay clock. ``run()`` returns
    once every row was played, after an ``ended`` status.

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
        self.path = Path(path).expanduser()
        timeline = _open_timeline(self.path, symbols)
        if symbols is None:
            syms = tuple(dict.fromkeys(r.symbol for r in timeline.first_rows))
        else:
            syms = normalize_symbols(symbols, known_only=False)
        super().__init__(syms, tick_interval=tick_interval)
        self._own_symbols = symbols is None
        self._file_name = safe_text(self.path.name)  # shown in every status: made safe once
        self.name = f"Replay: {self._file_name}"
        self._timeline = timeline
        self._report = timeline.report
        self._next = timeline.next()
        self.start_time = self._next[0].time if self._next is not None else 0.0
        last = _last_time(timeline.rows.tail_times(), timeline.gap_limit)
        self.duration: float | None = None if last is None else max(0.0, last - self.start_time)
        """Seconds of recording from the first row to the last (read from the file's tail
        when opened; None when it holds no usable row). Long gaps count in full."""
        self._clock_sent = math.nan  # the feed time of the last clock event emitted
        self.marks_emitted = 0
        self.execution = execution.strip().lower()
        self._books = None if style is None else BookMaker(syms, style, 0)
        self._stress: dict[str, Stress] = {}
        self._moved: dict[str, float] = {}  # symbol -> its last mark in this step
        self._stress_time = 0.0
        self.speed = speed

    # ---------------------------------------------------------------- what was found so far

    @property
    def errors(self) -> list[str]:
        """The first :data:`MAX_ERRORS_KEPT` problems found so far, ``"line N: ..."``."""
        return self._report.errors

    @property
    def error_count(self) -> int:
        """Rows skipped so far (bad, out of order, stray)."""
        return self._report.count

    @property
    def gaps_skipped(self) -> int:
        """Long gaps between runs of rows the replay clock jumped (see module doc)."""
        return self._timeline.gaps

    def close(self) -> None:
        """Close the file (the replay plays nothing more)."""
        self._timeline.rows.close()
        self._next = None

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
    def replay_time(self) -> datetime:
        """The recording's clock at the current position (UTC)."""
        return datetime.fromtimestamp(min(self.feed_time, LAST_TIME), UTC)

    @property
    def feed_time(self) -> float:
        """The recording's clock at the current position (UTC epoch seconds; long gaps the
        replay jumped count in full)."""
        return self.start_time + self._sim_time + self._timeline.skipped_time

    @property
    def finished(self) -> bool:
        return self._next is None

    def _emit_due(self, out: list[Event]) -> None:
        now, timeline = self._sim_time, self._timeline
        mark, clock = EventKind.MARK, EventKind.CLOCK
        moved = self._moved if self._books is not None else None
        played = self._next
        n = 0
        while played is not None and played[1] <= now:
            row = played[0]
            if row.time != self._clock_sent:
                self._clock_sent = row.time
                out.append((clock, "", row.time))
            out.append((mark, row.symbol, row.price))
            if moved is not None:
                moved[row.symbol] = row.price
            n += 1
            if self._own_symbols and row.symbol not in self.symbols:
                self.symbols += (row.symbol,)
            played = timeline.next()
        self._next = played
        self.marks_emitted += n

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
        if self._next is None or self._paused:
            return self.tick_interval
        due = (self._next[1] - self._sim_time) / self._speed
        return min(self.tick_interval, max(0.005, due))

    def _errors(self) -> int:
        return self._report.count

    def _skipped(self) -> str:
        n = self._report.count
        text = f"{n:,} bad row{'s' if n != 1 else ''} skipped" if n else ""
        gaps = self._timeline.gaps
        if gaps:
            jumped = f"{gaps:,} long gap{'s' if gaps != 1 else ''} jumped"
            text = f"{text}, {jumped}" if text else jumped
            text += f" (longest {_span(self._timeline.largest_gap)})"
        return text

    def _detail(self) -> str:
        detail = f"Replaying {self._file_name} · {self._speed:g}x"
        skipped = self._skipped()
        if skipped:
            detail += f" · {skipped}"
        if self.errors:
            detail += f" (first: {self.errors[0]})"
        if self._timeline.rows.problem:
            detail += f" · the file is {self._timeline.rows.problem}"
        return detail

    def _ended_detail(self) -> str:
        detail = f"Replay finished: {self.marks_emitted:,} marks from {self._file_name}"
        skipped = self._skipped()
        if skipped:
            detail += f" ({skipped})"
        return detail
