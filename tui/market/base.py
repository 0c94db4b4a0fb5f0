"""The feed interface shared by every price source (see ``tui.market`` for the overview)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Protocol, runtime_checkable

from tui.safe import safe_text

__all__ = [
    "Book",
    "EventKind",
    "FeedState",
    "FeedStatus",
    "MarkSink",
    "PriceSource",
    "StepResult",
    "SteppedSource",
    "format_clock",
    "parse_levels",
    "parse_price",
]

MAX_BOOK_LEVELS = 1_000
"""A book side with more levels than this is a feed error (venues send 20)."""


class FeedState(StrEnum):
    """Where a feed is. ``str`` values are stable, lower-case words fit for display."""

    CONNECTING = "connecting"
    """Live only: the first connection attempt is under way."""
    CONNECTED = "connected"
    """Prices are flowing (simulation/scenario/replay: running)."""
    RECONNECTING = "reconnecting"
    """Live only: the connection failed or dropped; see ``attempt`` and ``retry_in``."""
    STALE = "stale"
    """Live only: connected, but no price for ``stale_after`` seconds. No mark is invented."""
    PAUSED = "paused"
    """Stepped sources: ``paused`` is set; no marks, sim time stands still."""
    ENDED = "ended"
    """Replay: every row was played; ``run()`` has returned or is about to."""


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A snapshot of a feed's health, passed to :meth:`MarkSink.on_status` when it changes.

    ``last_update_age`` is the wall-clock age in seconds of the newest price at the time of the
    status (``None`` before the first price). ``stale_symbols`` lists configured symbols whose
    last price (or, never priced, the connection) is older than the source's ``stale_after``.
    ``attempt`` and ``retry_in`` are set while reconnecting; ``errors`` counts skipped input
    (bad frames for live sources, bad rows for a replay).
    """

    state: FeedState
    detail: str
    source: str = ""
    last_update_age: float | None = None
    stale_symbols: frozenset[str] = frozenset()
    attempt: int = 0
    retry_in: float | None = None
    errors: int = 0
    speed: float = 1.0

    @property
    def healthy(self) -> bool:
        """True when prices can be trusted right now (running and nothing stale)."""
        return self.state is FeedState.CONNECTED and not self.stale_symbols


@runtime_checkable
class MarkSink(Protocol):
    """What a source feeds. The app implements it; tests use a recorder."""

    def on_mark(self, symbol: str, price: float) -> None:
        """A new mark price (finite, > 0), in order."""

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        """The current hourly funding rate (0.0000125 = 0.00125 %/h), for display."""

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        """An hourly funding payment at ``rate_per_hour`` is due now (source time). The session
        takes it as the rate at that instant: payments follow the account's venue schedule
        on the feed's clock (``on_clock``)."""

    def on_status(self, status: FeedStatus) -> None:
        """The feed's state changed (or, while stale, its age grew)."""

    # A sink may also define ``on_clock(feed_time: float)``: called before the marks of each
    # new instant with that instant's feed time (see :attr:`PriceSource.feed_time`), so marks
    # can be placed in feed time (candles) even when a step delivers many instants at once.
    # It is optional: sources look it up with ``getattr`` and skip it when it is missing.
    # So is ``on_oracle_price(symbol, price)``: Hyperliquid's oracle price (live
    # ``activeAssetCtx.oraclePx``), which Hyperliquid funding is paid on.

    def on_book(
        self,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        time: float,
    ) -> None:
        """A new order book: ``(price, size)`` levels, best first, after the marks of the same
        moment. ``time`` is the book's own time (live: the venue's, in epoch seconds; stepped
        sources: seconds of source time). Sources look it up on the sink, so a sink written
        before books (marks only) still works."""


Book = tuple[str, list[tuple[float, float]], list[tuple[float, float]]]
"""``(symbol, bids, asks)`` as a stepped source produces it."""


class EventKind(IntEnum):
    MARK = 0
    FUNDING_RATE = 1
    FUNDING = 2
    CLOCK = 3
    """``(CLOCK, "", feed_time)``: the events that follow happen at this feed time."""


Event = tuple[EventKind, str, float]


@dataclass(slots=True)
class StepResult:
    """What one :meth:`SteppedSource.step` produced, in order.

    ``events`` holds ``(kind, symbol, value)`` tuples in the order a sink must see them
    (marks of a segment, its funding rates, then any funding payment due at its end).
    """

    events: list[Event] = field(default_factory=list)
    books: list[Book] = field(default_factory=list)
    """Order books at the end of the step (simulated ones), delivered after ``events``."""
    time: float = 0.0
    """Source time at the end of the step (the books' time)."""

    @property
    def marks(self) -> list[tuple[str, float]]:
        return [(s, v) for k, s, v in self.events if k is EventKind.MARK]

    @property
    def funding_rates(self) -> list[tuple[str, float]]:
        return [(s, v) for k, s, v in self.events if k is EventKind.FUNDING_RATE]

    @property
    def funding(self) -> list[tuple[str, float]]:
        """Funding payments due, as ``(symbol, rate_per_hour)``."""
        return [(s, v) for k, s, v in self.events if k is EventKind.FUNDING]

    def deliver(self, sink: MarkSink) -> int:
        """Call the sink for every event in order, then for every book (when the sink takes
        books); returns how many marks were delivered. Clock events go to the sink's optional
        ``on_clock`` (see :class:`MarkSink`)."""
        on_mark = sink.on_mark
        on_clock = getattr(sink, "on_clock", None)
        n = 0
        for kind, symbol, value in self.events:
            if kind is EventKind.MARK:
                on_mark(symbol, value)
                n += 1
            elif kind is EventKind.CLOCK:
                if on_clock is not None:
                    on_clock(value)
            elif kind is EventKind.FUNDING_RATE:
                sink.on_funding_rate(symbol, value)
            else:
                sink.on_funding(symbol, value)
        if self.books:
            on_book = getattr(sink, "on_book", None)
            if on_book is not None:
                when = self.time
                for symbol, bids, asks in self.books:
                    on_book(symbol, bids, asks, when)
        return n


def format_clock(seconds: float) -> str:
    """``3725.4`` -> ``'01:02:05'`` (hours grow past 99 as needed)."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(value: object, what: str) -> float:
    """A finite number from a JSON/CSV value (a decimal string or a real number), or
    ``ValueError`` with a reason such as ``"price 'abc' is not a number"``."""
    if isinstance(value, str):
        if not _NUMBER_RE.fullmatch(value):
            raise ValueError(f"{what} {value!r} is not a number")
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError(f"{what} {value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


def parse_price(value: object) -> float:
    """A mark price: a finite number greater than 0 (see :func:`parse_number`)."""
    price = parse_number(value, "price")
    if price <= 0.0:
        raise ValueError(f"price {value!r} is not positive")
    return price


def parse_levels(levels: object, bids: bool) -> list[tuple[float, float]]:
    """One side of an order book from a feed: ``[(price, size), ...]``, best first. Each level
    is a ``[price, size]`` pair or a ``{"px": ..., "sz": ...}`` object of decimal strings or
    numbers; a level of size 0 is skipped. ``ValueError`` with a reason when a price or size
    is not a finite positive number, or the side is not best first (bids falling, asks
    rising) with no price twice."""
    side = "bids" if bids else "asks"
    if not isinstance(levels, list):
        raise ValueError(f"{side} are not a list")
    if len(levels) > MAX_BOOK_LEVELS:
        raise ValueError(f"{len(levels):,} {side} is more than a book holds")
    out: list[tuple[float, float]] = []
    last = math.inf if bids else 0.0
    for level in levels:
        if isinstance(level, dict):
            px, sz = level.get("px"), level.get("sz")
        elif isinstance(level, list) and len(level) >= 2:
            px, sz = level[0], level[1]
        else:
            raise ValueError(f"a level of the {side} is not a price and a size")
        price = parse_price(px)
        size = parse_number(sz, "size")
        if size < 0.0:
            raise ValueError(f"size {sz!r} is negative")
        if (price >= last) if bids else (price <= last):
            raise ValueError(f"{side} are not best first ({px} after {last:g})")
        last = price
        if size > 0.0:
            out.append((price, size))
    return out


def check_book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
    """``ValueError`` when the best bid is not below the best ask (a crossed book)."""
    if bids and asks and bids[0][0] >= asks[0][0]:
        raise ValueError(f"crossed book: best bid {bids[0][0]:g} >= best ask {asks[0][0]:g}")


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return v


class PriceSource(ABC):
    """One place prices come from. ``await source.run(sink)`` feeds ``sink`` until the source
    ends (replay) or the task is cancelled.

    Controls, all safe to change while ``run()`` is going (same event loop):

    * ``speed`` - time acceleration; validated per source (``ValueError`` for a bad value, the
      old speed stays). Live sources ignore it (always 1).
    * ``paused`` - ``True`` stops marks and source time (sources with ``can_pause``);
      live sources ignore it (always ``False``).
    * ``sim_time`` - read-only: seconds of source time since the start (``None`` for live).
    * ``feed_time`` - read-only: the feed's clock now, in seconds: UTC epoch seconds for live
      sources (the wall clock) and replays (the recording's clock); seconds since the start for
      the simulation and scenarios (their whole hours are the funding instants). Marks carry
      it through the sink's optional ``on_clock`` (see :class:`MarkSink`).
    """

    name: str = "price source"
    """Human-readable label, e.g. ``'Simulation'`` or ``'Hyperliquid (live)'``."""
    kind: str = ""
    """Factory kind: ``sim``, ``scenario``, ``hyperliquid``, ``binance`` or ``replay``."""
    speed_options: tuple[float, ...] = (1.0,)
    """Speeds a UI can cycle through (every one of them is accepted by ``speed``)."""
    can_pause: bool = False
    provides_prev_day: bool = False
    """Whether the source reports each market's price 24 hours ago (the sink's optional
    ``on_prev_day``), so a 24 h change can be shown."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols: tuple[str, ...] = tuple(symbols)
        self._speed = 1.0
        self._paused = False
        self._status: FeedStatus | None = None

    # ---------------------------------------------------------------- controls

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._speed = self._validate_speed(value)

    def _validate_speed(self, value: object) -> float:
        """Speed-less sources ignore the request (no-op): the speed stays 1."""
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"paused must be True or False, not {value!r}")
        if self.can_pause:
            self._paused = value

    @property
    def sim_time(self) -> float | None:
        return None

    def focus(self, marks: Iterable[str] | None = None, books: Iterable[str] | None = None) -> None:
        """Tell the source which markets matter now: marks for ``marks``, order books for
        ``books`` (None: every market the source carries; symbols it does not carry are
        ignored). Live sources subscribe and unsubscribe to match, on the open connection;
        stepped sources price every market anyway and ignore it."""
        return None

    @property
    def feed_time(self) -> float:
        """The feed's clock now (see the class doc); the wall clock unless a source has its own."""
        return time.time()

    @property
    def status(self) -> FeedStatus | None:
        """The last status sent to a sink (``None`` before ``run()`` starts)."""
        return self._status

    def _emit_status(self, sink: MarkSink, status: FeedStatus) -> None:
        detail, source = safe_text(status.detail), safe_text(status.source)
        if detail != status.detail or source != status.source:  # quotes a server or a file
            status = dataclasses.replace(status, detail=detail, source=source)
        self._status = status
        sink.on_status(status)

    @abstractmethod
    async def run(self, sink: MarkSink) -> None:
        """Feed ``sink`` until the source ends or the task is cancelled."""


class SteppedSource(PriceSource):
    """A source driven by a synchronous clock: :meth:`step` advances it by wall-clock seconds
    (times ``speed``; nothing while paused) and returns what happened, deterministically.
    :meth:`run` just loops ``step`` + ``asyncio.sleep`` at ``tick_interval``."""

    can_pause = True
    max_catch_up = 1.0
    """Wall seconds one tick may cover at most (the loop stalled: do not leap ahead)."""

    def __init__(self, symbols: Sequence[str], *, tick_interval: float) -> None:
        super().__init__(symbols)
        tick = _check_number("tick_interval", tick_interval)
        if not 0.001 <= tick <= 5.0:
            raise ValueError(f"tick_interval must be between 0.001 and 5 seconds, not {tick}")
        self.tick_interval = tick
        self._sim_time = 0.0

    @property
    def sim_time(self) -> float:
        return self._sim_time

    @property
    def feed_time(self) -> float:
        return self._sim_time

    def step(self, dt_seconds: float) -> StepResult:
        """Advance by ``dt_seconds`` of wall time (source time moves ``dt * speed``)."""
        dt = _check_number("dt_seconds", dt_seconds)
        if dt < 0:
            raise ValueError(f"dt_seconds must not be negative, not {dt_seconds!r}")
        result = StepResult()
        if self._paused or dt == 0.0 or self.finished:
            return result
        self._advance(dt * self._speed, result.events)
        self._add_books(result)
        return result

    def _add_books(self, result: StepResult) -> None:
        """Hook: append the books at the end of a step (sources that simulate books)."""

    @abstractmethod
    def snapshot(self) -> StepResult:
        """What a sink needs right now without time moving (``run()`` delivers it first)."""

    @abstractmethod
    def _advance(self, sim_dt: float, out: list[Event]) -> None:
        """Move source time by ``sim_dt`` (> 0) seconds, appending events to ``out``."""

    @abstractmethod
    def _detail(self) -> str:
        """Status detail while running."""

    @property
    def finished(self) -> bool:
        """True once the source has nothing more to emit (replays end; simulations don't)."""
        return False

    def _errors(self) -> int:
        return 0

    def _next_sleep(self) -> float:
        """Wall seconds until the next tick."""
        return self.tick_interval

    def _ended_detail(self) -> str:
        return "Finished"

    def _make_status(self, state: FeedState, detail: str, age: float | None) -> FeedStatus:
        return FeedStatus(
            state=state,
            detail=detail,
            source=self.name,
            last_update_age=age,
            errors=self._errors(),
            speed=self._speed,
        )

    async def run(self, sink: MarkSink) -> None:
        loop = asyncio.get_running_loop()
        last_mark: float | None = None

        def age() -> float | None:
            return None if last_mark is None else loop.time() - last_mark

        shown: tuple[FeedState, str] | None = None

        def show() -> None:
            nonlocal shown
            if self.finished:
                key = (FeedState.ENDED, self._ended_detail())
            elif self._paused:
                key = (FeedState.PAUSED, f"Paused at {format_clock(self._sim_time)}")
            else:
                key = (FeedState.CONNECTED, self._detail())
            if key != shown:
                shown = key
                self._emit_status(sink, self._make_status(key[0], key[1], age()))

        if self.snapshot().deliver(sink):
            last_mark = loop.time()
        show()
        last = loop.time()
        while not self.finished:
            await asyncio.sleep(self._next_sleep())
            show()  # controls may have changed while asleep
            now = loop.time()
            dt = min(now - last, self.max_catch_up)
            last = now
            if self.step(dt).deliver(sink):
                last_mark = now
            show()
