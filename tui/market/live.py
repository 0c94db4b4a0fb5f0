"""Live public prices over websockets (optional extra ``perpdesk[live]``).

``websockets`` is imported only here and only when a live source is built or run; without it
construction raises :class:`LiveExtraMissingError` with an install hint.

Both sources reconnect forever with exponential backoff and jitter, report ``stale`` (overall
and per symbol) instead of inventing prices, and count every malformed or unexpected frame in
``bad_frames`` without raising. A mark is only sent when a symbol's price changes (repeats
still refresh its age). A funding payment (``on_funding``) is due at every whole UTC hour of
wall time, at the last rate received; hours missed while disconnected are not charged later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import re
import socket
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tui.engine.markets import (
    markets_from_binance_brackets,
    markets_from_hyperliquid_meta,
    venue_data,
)
from tui.engine.models import Market
from tui.market.base import (
    FeedState,
    FeedStatus,
    MarkSink,
    PriceSource,
    _check_number,
    check_book,
    parse_levels,
    parse_number,
    parse_price,
)
from tui.market.hl_info import NOT_OURS, PostError, info_data, post_request, read_answer
from tui.market.markets import normalize_symbols
from tui.safe import safe_text

__all__ = [
    "LIVE_EXTRA_MESSAGE",
    "BinanceSource",
    "Frame",
    "HyperliquidSource",
    "LiveExtraMissingError",
    "LiveSource",
    "backoff_delay",
]

LIVE_EXTRA_MESSAGE = "Live prices need the optional extra: pip install 'perpdesk[live]'"

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())  # never let websockets' logging reach the terminal

MAX_ABS_FUNDING = 0.1
"""A reported hourly funding rate beyond +-10 %/h is treated as garbage."""


class LiveExtraMissingError(ImportError):
    """``websockets`` (the ``live`` extra) is not installed."""


def _require_websockets() -> None:
    try:
        import websockets  # noqa: F401
        from websockets.asyncio.client import connect  # noqa: F401
    except ImportError as exc:
        raise LiveExtraMissingError(LIVE_EXTRA_MESSAGE) from exc


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before reconnect ``attempt`` (1, 2, ...): ``base * 2**(attempt-1)``
    capped at ``cap``, then jittered to between half and all of that."""
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 60))
    return ceiling * (0.5 + 0.5 * rng.random())


@dataclass(slots=True)
class Frame:
    """One decoded websocket message: marks and funding rates for configured symbols, and
    ``problem`` (why part or all of it was skipped) when it was bad."""

    marks: list[tuple[str, float]] = field(default_factory=list)
    rates: list[tuple[str, float]] = field(default_factory=list)
    books: list[LiveBook] = field(default_factory=list)
    problem: str | None = None
    oracles: list[tuple[str, float]] = field(default_factory=list)
    """Hyperliquid's oracle prices (``oraclePx``), which its funding is paid on."""
    prev_day: list[tuple[str, float]] = field(default_factory=list)
    """``(symbol, price)``: the market's price 24 hours ago, as the venue reports it."""
    markets: list[Market] | None = None
    """The markets the venue lists (its answer to a market-list request), when this is one."""
    left_out: list[str] = field(default_factory=list)
    """With ``markets``: the entries of the venue's list that could not be read, with why."""


LiveBook = tuple[str, list[tuple[float, float]], list[tuple[float, float]], float]
"""``(symbol, bids, asks, time)``: a book from a venue, ``time`` in epoch seconds."""


def _book(symbol: str, bids: object, asks: object, when: float) -> LiveBook:
    """A checked book (``ValueError`` with a reason if it is not one)."""
    bid_levels = parse_levels(bids, bids=True)
    ask_levels = parse_levels(asks, bids=False)
    check_book(bid_levels, ask_levels)
    return symbol, bid_levels, ask_levels, when


def _epoch(value: object, fallback: float) -> float:
    """Milliseconds since 1970 from a venue, as seconds (``fallback`` when it is not one)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e15:
        return float(value) / 1000.0
    return fallback


def _bad(reason: str) -> Frame:
    return Frame(problem=reason)


def _decode(raw: str | bytes) -> tuple[Any, str | None]:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "binary frame that is not UTF-8 text"
    try:
        return json.loads(raw), None
    except ValueError:
        return None, f"not JSON: {raw[:40]!r}"


def _rate(value: object) -> float:
    rate = parse_number(value, "funding rate")
    if abs(rate) > MAX_ABS_FUNDING:
        raise ValueError(f"funding rate {value!r} is out of range")
    return rate


def _describe(exc: BaseException) -> str:
    """Why a connection failed, in words a trader can act on (what the server sent, such as a
    handshake header, is quoted with its control characters escaped)."""
    text = safe_text(exc).strip()
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "cannot resolve the server's name (offline?)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect: {exc.strerror.lower()}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise ValueError(f"url must be a string such as 'wss://host/ws', not {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"url {url!r} is not a websocket address (ws://... or wss://...)")
    return url


class LiveSource(PriceSource):
    """Base of the live sources: connection, backoff, staleness, funding payments.

    ``stale_after``: seconds without a price before the feed (or a symbol) is stale.
    ``backoff_base`` / ``backoff_cap``: reconnect delays (see :func:`backoff_delay`).
    ``ping_interval``: seconds between application-level pings (where the venue has them).
    ``jitter_seed`` makes the backoff jitter reproducible; ``wall_clock`` (UTC epoch seconds)
    decides when the hourly funding payment is due. ``books=True`` also streams order books
    (``on_book``). :meth:`focus` narrows both to the markets that matter (the app: marks for
    what is on screen or held, books for the selected market and those with a position or a
    resting order); by default every configured symbol.
    """

    venue = "venue"
    default_url = ""

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        *,
        url: str | None = None,
        stale_after: float = 10.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        ping_interval: float = 20.0,
        open_timeout: float = 10.0,
        jitter_seed: int | None = None,
        wall_clock: Callable[[], float] = time.time,
        books: bool = False,
    ) -> None:
        _require_websockets()
        syms = normalize_symbols(symbols, known_only=False)
        self.url = _check_url(self.default_url if url is None else url)
        numbers = {
            "stale_after": stale_after,
            "backoff_base": backoff_base,
            "backoff_cap": backoff_cap,
            "ping_interval": ping_interval,
            "open_timeout": open_timeout,
        }
        for key, value in numbers.items():
            if _check_number(key, value) <= 0:
                raise ValueError(f"{key} must be greater than 0, not {value!r}")
        if backoff_cap < backoff_base:
            raise ValueError(
                f"backoff_cap ({backoff_cap}) must not be below backoff_base ({backoff_base})"
            )
        super().__init__(syms)
        self.stale_after = float(stale_after)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.ping_interval = float(ping_interval)
        self.open_timeout = float(open_timeout)
        self._jitter = random.Random(jitter_seed)
        self._wall = wall_clock
        self._wanted = frozenset(syms)
        self.books = bool(books)
        self._mark_request: frozenset[str] | None = None  # what focus() asked for (None: all)
        self._book_request: frozenset[str] | None = None
        self._mark_focus: frozenset[str] = self._wanted
        self._book_focus: frozenset[str] = self._wanted if self.books else frozenset()
        self.lists_markets = False
        """Whether the source carries every market the venue lists (no symbols were named):
        its symbols then follow the venue's list, and marks of markets it does not list are
        passed on too, for the sink to explain."""
        self._subscribed: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self.books_received = 0
        """Order books passed on to the sink."""
        self.bad_frames = 0
        """Frames skipped in whole or part (not JSON, wrong shape, bad numbers, ...)."""
        self.last_problem: str | None = None
        self.connections = 0
        self._prices: dict[str, float] = {}
        self._seen: dict[str, float] = {}
        self._rates: dict[str, float] = {}
        self._prev_day: dict[str, float] = {}
        self._last_any: float | None = None
        self._run_started = 0.0
        self._connected_at: float | None = None
        self._got_prices = False
        self._shown: tuple[FeedState, frozenset[str], int] | None = None
        self._shown_at = 0.0
        self._checked_at = -math.inf
        self._next_funding = 0.0

    # ---------------------------------------------------------------- venue specifics

    def subscribe_messages(self) -> list[str]:
        """Text frames to send right after connecting: subscriptions for the current focus."""
        return self.subscription_messages(self._mark_focus, self._book_focus, subscribe=True)

    @abstractmethod
    def subscription_messages(
        self, marks: frozenset[str], books: frozenset[str], *, subscribe: bool
    ) -> list[str]:
        """Frames that subscribe (or unsubscribe) marks of ``marks`` and books of ``books``."""

    @property
    def mark_focus(self) -> frozenset[str]:
        """The symbols whose marks the source passes on (see :meth:`focus`)."""
        return self._mark_focus

    @property
    def book_focus(self) -> frozenset[str]:
        """The symbols whose books the source streams (empty without ``books=True``)."""
        return self._book_focus

    def focus(self, marks: Iterable[str] | None = None, books: Iterable[str] | None = None) -> None:
        self._mark_request = None if marks is None else frozenset(marks)
        self._book_request = None if books is None else frozenset(books)
        self._apply_focus()

    def _apply_focus(self) -> None:
        wanted = self._wanted
        marks, books = self._mark_request, self._book_request
        self._mark_focus = wanted if marks is None else wanted & marks
        if not self.books:
            self._book_focus = frozenset()
        else:
            self._book_focus = wanted if books is None else wanted & books

    def on_connected(self, sink: MarkSink) -> list[str]:
        """Called on each connection, once subscribed: returns requests to send (the venue's
        market list, for a sink that takes markets: their answers come back as frames like any
        other); a source whose market list ships with perpdesk passes it on here."""
        return []

    def _deliver_markets(
        self, sink: MarkSink, markets: list[Market], left_out: Sequence[str] = ()
    ) -> None:
        self._listed(markets)
        on_markets = getattr(sink, "on_markets", None)
        if on_markets is not None:
            on_markets(self.kind, markets, left_out=list(left_out))

    def _listed(self, markets: Sequence[Market]) -> None:
        """The venue's market list arrived: a source that carries every market now carries
        these (the connection subscribes to the new ones and drops those no longer listed)."""
        if not self.lists_markets or not markets:
            return
        names = tuple(m.name for m in markets)
        self.symbols = names
        self._wanted = frozenset(names)
        self._apply_focus()

    def _changes(self) -> list[str]:
        """Frames that move the connection's subscriptions to the current focus."""
        had_marks, had_books = self._subscribed
        marks, books = self._mark_focus, self._book_focus
        self._subscribed = (marks, books)
        return [
            *self.subscription_messages(had_marks - marks, had_books - books, subscribe=False),
            *self.subscription_messages(marks - had_marks, books - had_books, subscribe=True),
        ]

    def ping_message(self) -> str | None:
        """Application-level ping to send every ``ping_interval`` (``None``: none)."""
        return None

    def due_messages(self, sink: MarkSink, now: float) -> list[str]:
        """Requests due at ``now`` (event-loop time) on an open connection (none here)."""
        return []

    @abstractmethod
    def parse(self, raw: str | bytes) -> Frame:
        """Decode one frame; never raises (problems go in ``Frame.problem``)."""

    # ---------------------------------------------------------------- state

    @property
    def prices(self) -> dict[str, float]:
        """Last price received per symbol."""
        return dict(self._prices)

    @property
    def funding_rates(self) -> dict[str, float]:
        return dict(self._rates)

    @property
    def feed_time(self) -> float:
        """Live prices happen now: the wall clock (UTC epoch seconds)."""
        return self._wall()

    def stale_symbols(self, now: float) -> frozenset[str]:
        """Configured symbols without a price in the last ``stale_after`` seconds (``now`` is
        event-loop time; a symbol never priced counts from the start of ``run()``)."""
        limit = now - self.stale_after
        never_priced_is_stale = self._run_started < limit
        stale: set[str] = set()
        focus = self._mark_focus
        for symbol in self.symbols:
            if symbol not in focus:
                continue
            seen = self._seen.get(symbol)
            if (never_priced_is_stale and seen is None) or (seen is not None and seen < limit):
                stale.add(symbol)
        return frozenset(stale)

    def _handle(self, raw: str | bytes, sink: MarkSink, now: float) -> None:
        try:
            frame = self.parse(raw)
        except Exception as exc:  # parse() must never take the feed down
            frame = _bad(f"unreadable frame ({type(exc).__name__})")
        if frame.problem is not None:
            self.bad_frames += 1
            self.last_problem = safe_text(frame.problem)
        prices = self._prices
        on_clock = getattr(sink, "on_clock", None) if frame.marks else None
        if on_clock is not None:  # live marks happen now, on the wall clock
            on_clock(self._wall())
        focus = self._mark_focus
        marked = False
        for symbol, price in frame.marks:
            if symbol not in focus:
                # Unsubscribed a moment ago: no longer wanted. A market the venue prices but
                # does not list for us goes on to the sink, which explains it once.
                unlisted = self.lists_markets and symbol not in self._wanted
                if unlisted and prices.get(symbol) != price:
                    prices[symbol] = price
                    sink.on_mark(symbol, price)
                continue
            marked = True
            self._seen[symbol] = now
            if self._shown is not None and symbol in self._shown[1]:
                self._checked_at = -math.inf  # a stale market is fresh again: say so at once
            if prices.get(symbol) != price:
                prices[symbol] = price
                sink.on_mark(symbol, price)
        if marked:
            self._last_any = now
            self._got_prices = True
        if frame.oracles:  # a sink that pays Hyperliquid funding on the oracle price takes them
            on_oracle = getattr(sink, "on_oracle_price", None)
            if on_oracle is not None:
                for symbol, price in frame.oracles:
                    if symbol in focus:
                        on_oracle(symbol, price)
        for symbol, rate in frame.rates:
            if symbol in self._wanted and self._rates.get(symbol) != rate:
                self._rates[symbol] = rate
                sink.on_funding_rate(symbol, rate)
        if frame.prev_day:
            on_prev_day = getattr(sink, "on_prev_day", None)
            for symbol, price in frame.prev_day:
                if symbol in self._wanted and self._prev_day.get(symbol) != price:
                    self._prev_day[symbol] = price
                    if on_prev_day is not None:
                        on_prev_day(symbol, price)
        if frame.markets is not None:
            self._deliver_markets(sink, frame.markets, frame.left_out)
        if frame.books:
            on_book = getattr(sink, "on_book", None)
            books = self._book_focus
            for symbol, bids, asks, when in frame.books:
                if on_book is not None and symbol in books:
                    self.books_received += 1
                    on_book(symbol, bids, asks, when)

    def _make_status(self, state: FeedState, detail: str, now: float, **extra: Any) -> FeedStatus:
        return FeedStatus(
            state=state,
            detail=detail,
            source=self.name,
            last_update_age=None if self._last_any is None else now - self._last_any,
            stale_symbols=self.stale_symbols(now),
            errors=self.bad_frames,
            **extra,
        )

    def _refresh(self, sink: MarkSink, now: float, *, force: bool = False) -> None:
        """Send a status when the state or the stale set changes; while stale (or after bad
        frames) at most once a second so the age and counters stay current."""
        since = max(
            -math.inf if self._last_any is None else self._last_any,
            -math.inf if self._connected_at is None else self._connected_at,
        )
        stale_feed = now - since > self.stale_after
        state = FeedState.STALE if stale_feed else FeedState.CONNECTED
        shown = self._shown
        if (
            not force
            and state is FeedState.CONNECTED
            and shown is not None
            and shown[0] is FeedState.CONNECTED
            and now - self._checked_at < min(0.25, self.stale_after / 4.0)
        ):
            return  # many markets, many frames: look for stale ones a few times a second
        self._checked_at = now
        stale = self.stale_symbols(now)
        key = (state, stale, self.bad_frames)
        if not force and self._shown is not None and key[:2] == self._shown[:2]:
            periodic = state is FeedState.STALE or key[2] != self._shown[2]
            if not periodic or now - self._shown_at < 1.0:
                return
        self._shown, self._shown_at = key, now
        if state is FeedState.STALE:
            quiet = f"{now - since:.0f} s"
            if self._last_any is None or self._last_any < (self._connected_at or 0.0):
                detail = f"Connected to {self.venue}, but no prices for {quiet}"
            else:
                detail = f"No price update from {self.venue} for {quiet}"
        else:
            detail = f"Live prices from {self.venue}"
            if stale:
                names = sorted(stale)
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                detail += f" · no recent price for {', '.join(names[:5])}{more}"
        if self.bad_frames:
            detail += f" · {self.bad_frames} bad frame{'s' if self.bad_frames != 1 else ''} skipped"
        self._emit_status(sink, self._make_status(state, detail, now))

    def _pay_funding(self, sink: MarkSink) -> None:
        wall = self._wall()
        if wall < self._next_funding:
            return
        self._next_funding = (math.floor(wall / 3600.0) + 1.0) * 3600.0
        for symbol in self.symbols:
            rate = self._rates.get(symbol)
            if rate is not None:
                sink.on_funding(symbol, rate)

    # ---------------------------------------------------------------- run loop

    async def run(self, sink: MarkSink) -> None:
        _require_websockets()
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        loop = asyncio.get_running_loop()
        self._run_started = loop.time()
        self._next_funding = (math.floor(self._wall() / 3600.0) + 1.0) * 3600.0
        self._emit_status(
            sink, self._make_status(FeedState.CONNECTING, f"Connecting to {self.url}", loop.time())
        )
        attempt = 0
        while True:
            self._got_prices = False
            try:
                async with connect(
                    self.url,
                    open_timeout=self.open_timeout,
                    close_timeout=1.0,
                    max_size=8 * 2**20,
                    logger=_LOG,
                ) as ws:
                    self._subscribed = (frozenset(), frozenset())
                    for message in self._changes():
                        await ws.send(message)
                    for message in self.on_connected(sink):
                        await ws.send(message)
                    self.connections += 1
                    self._connected_at = loop.time()
                    if self._wall() >= self._next_funding:  # hours missed while away: skip
                        self._next_funding = (math.floor(self._wall() / 3600.0) + 1.0) * 3600.0
                    self._refresh(sink, loop.time(), force=True)
                    reason = await self._session(ws, sink, loop)
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = _describe(exc)
            self._connected_at = None
            attempt = 1 if self._got_prices else attempt + 1
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, self._jitter)
            now = loop.time()
            detail = f"{reason} · retry {attempt} in {delay:.1f} s"
            self._shown = None
            status = self._make_status(
                FeedState.RECONNECTING, detail, now, attempt=attempt, retry_in=delay
            )
            self._emit_status(sink, status)
            await asyncio.sleep(delay)

    async def _session(self, ws: Any, sink: MarkSink, loop: asyncio.AbstractEventLoop) -> str:
        """Read frames until the connection closes; returns why it closed. Waiting uses
        ``asyncio.wait`` on one long-lived ``recv()`` task, so a timeout never cancels a read
        that just completed."""
        from websockets.exceptions import ConnectionClosed

        ping = self.ping_message()
        next_ping = loop.time() + self.ping_interval if ping is not None else math.inf
        check = min(0.25, self.stale_after / 4.0)
        reader: asyncio.Task[str | bytes] | None = None
        try:
            while True:
                if reader is None:
                    reader = asyncio.ensure_future(ws.recv())
                wait = max(0.001, min(check, next_ping - loop.time()))
                done, _ = await asyncio.wait((reader,), timeout=wait)
                now = loop.time()
                if done:
                    raw = reader.result()  # raises ConnectionClosed when the connection ends
                    reader = None
                    self._handle(raw, sink, now)
                if ping is not None and now >= next_ping:
                    await ws.send(ping)
                    next_ping = now + self.ping_interval
                for message in self.due_messages(sink, now):
                    await ws.send(message)
                if self._subscribed != (self._mark_focus, self._book_focus):
                    for message in self._changes():  # focus() moved: follow it
                        await ws.send(message)
                self._pay_funding(sink)
                self._refresh(sink, now)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            return "Connection lost" if code is None else f"Server closed the connection ({code})"
        finally:
            if reader is not None:
                if not reader.done():
                    reader.cancel()  # websockets: cancelling recv() loses no data
                elif not reader.cancelled():
                    reader.exception()  # retrieved: no "never retrieved" warning


class HyperliquidSource(LiveSource):
    """Hyperliquid's own mark prices (``activeAssetCtx``: ``markPx``, the price Hyperliquid
    margins and liquidates on, ``prevDayPx``, and with ``funding=True`` the hourly funding
    rate; one subscription per symbol) and with ``books=True`` its order books (``l2Book``, 20
    levels a side). :meth:`focus` chooses the symbols of each.

    For a sink that takes markets (``on_markets``), the source asks for the venue's market list
    (the ``meta`` info request, sent as a websocket ``post``) on every connection, and again
    every ``relist_every`` seconds while connected (a market listed today, a table the venue
    changed), and passes the markets on with their max leverage and margin tables. Without
    ``symbols`` it starts with the default markets and then carries every market the list
    holds.
    """

    kind = "hyperliquid"
    name = "Hyperliquid (live)"
    venue = "Hyperliquid"
    default_url = "wss://api.hyperliquid.xyz/ws"
    provides_prev_day = True

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        *,
        funding: bool = True,
        relist_every: float = 600.0,
        **options: Any,
    ) -> None:
        super().__init__(symbols, **options)
        if _check_number("relist_every", relist_every) <= 0:
            raise ValueError(f"relist_every must be greater than 0, not {relist_every!r}")
        self.funding = funding
        self.relist_every = float(relist_every)
        self.lists_markets = symbols is None
        self._requests = 0
        self._meta_request: int | None = None  # the id of the market-list request in flight
        self._next_list: float | None = None  # when to ask again (event-loop time)

    def on_connected(self, sink: MarkSink) -> list[str]:
        self._next_list = None  # counted from the first look at the new connection
        if getattr(sink, "on_markets", None) is None:
            return []
        return [self._meta_message()]

    def _meta_message(self) -> str:
        self._requests += 1
        self._meta_request = self._requests
        return post_request(self._requests, {"type": "meta"})

    def due_messages(self, sink: MarkSink, now: float) -> list[str]:
        if self._next_list is None:
            self._next_list = now + self.relist_every
        if now < self._next_list or getattr(sink, "on_markets", None) is None:
            return []
        self._next_list = now + self.relist_every
        return [self._meta_message()]  # (one never answered is asked again)

    def _meta_answer(self, msg: Mapping[str, Any]) -> Frame | None:
        """The frame answering the market-list request, or None when ``msg`` is not it."""
        assert self._meta_request is not None
        try:
            payload = read_answer(msg, self._meta_request)
        except PostError as exc:
            self._meta_request = None
            return _bad(f"{self.venue} did not send its market list: {exc.text}")
        if payload is NOT_OURS:
            return None
        self._meta_request = None
        markets, problems = hyperliquid_markets(
            info_data(payload), None if self.lists_markets else self.symbols
        )
        frame = Frame(markets=markets, left_out=problems)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            frame.problem = "market list: " + "; ".join(problems[:3]) + more
        return frame

    def subscription_messages(
        self, marks: frozenset[str], books: frozenset[str], *, subscribe: bool
    ) -> list[str]:
        method = "subscribe" if subscribe else "unsubscribe"
        subs: list[dict[str, Any]] = [
            *({"type": "activeAssetCtx", "coin": s} for s in self.symbols if s in marks),
            *({"type": "l2Book", "coin": s} for s in self.symbols if s in books),
        ]
        return [json.dumps({"method": method, "subscription": sub}) for sub in subs]

    def ping_message(self) -> str:
        return json.dumps({"method": "ping"})

    def parse(self, raw: str | bytes) -> Frame:
        msg, problem = _decode(raw)
        if problem is not None:
            return _bad(problem)
        if not isinstance(msg, dict):
            return _bad(f"expected a JSON object, got {type(msg).__name__}")
        channel = msg.get("channel")
        data = msg.get("data")
        if channel in ("subscriptionResponse", "pong"):
            return Frame()
        if channel in ("post", "error") and self._meta_request is not None:
            answer = self._meta_answer(msg)
            if answer is not None:
                return answer
        if channel == "activeAssetCtx":
            coin = data.get("coin") if isinstance(data, dict) else None
            ctx = data.get("ctx") if isinstance(data, dict) else None
            if not isinstance(coin, str) or not isinstance(ctx, dict):
                return _bad("activeAssetCtx frame without data.coin and data.ctx")
            if coin not in self._wanted:
                return Frame()
            frame = Frame()
            prev = ctx.get("prevDayPx")
            if prev is not None:
                with contextlib.suppress(ValueError):  # the change column shows a dash
                    frame.prev_day.append((coin, parse_price(prev)))
            if "markPx" not in ctx:
                frame.problem = f"{coin}: activeAssetCtx without a markPx"
            else:
                try:
                    frame.marks.append((coin, parse_price(ctx["markPx"])))
                except ValueError as exc:
                    frame.problem = f"{coin}: mark {exc}"
            if "oraclePx" in ctx:  # optional: funding falls back to the mark without it
                try:
                    frame.oracles.append((coin, parse_price(ctx["oraclePx"])))
                except ValueError as exc:
                    frame.problem = f"{coin}: oracle {exc}"
            if self.funding:
                if "funding" not in ctx:
                    frame.problem = f"{coin}: activeAssetCtx without a funding rate"
                else:
                    try:
                        frame.rates.append((coin, _rate(ctx["funding"])))
                    except ValueError as exc:
                        frame.problem = f"{coin}: {exc}"
            return frame
        if channel == "l2Book":
            coin = data.get("coin") if isinstance(data, dict) else None
            levels = data.get("levels") if isinstance(data, dict) else None
            if not isinstance(coin, str) or not isinstance(levels, list) or len(levels) != 2:
                return _bad("l2Book frame without data.coin and two data.levels")
            if coin not in self._wanted:
                return Frame()
            assert isinstance(data, dict)
            try:
                book = _book(coin, levels[0], levels[1], _epoch(data.get("time"), self._wall()))
            except ValueError as exc:
                return _bad(f"{coin}: book {exc}")
            return Frame(books=[book])
        if channel == "error":
            return _bad(f"server error: {safe_text(str(data)[:80])}")
        return _bad(f"unexpected channel {channel!r}")


_MARKET_NAME = re.compile(r"[A-Za-z0-9]{1,20}")
"""A market name perpdesk shows (Hyperliquid spells some with a lower-case k: kPEPE)."""
MAX_LISTED = 1000
"""The most markets perpdesk takes from a venue's list (Hyperliquid lists about 200): a list
longer than this is absurd, and each market is a subscription and a row."""
PROBLEM_CHARS = 100
"""What a problem with one entry of a venue's list may take of a line."""


def hyperliquid_markets(
    meta: object, symbols: Sequence[str] | None = None
) -> tuple[list[Market], list[str]]:
    """The markets of a Hyperliquid ``meta`` answer (those named in ``symbols`` only, when
    given) and what was wrong with the rest: an asset that cannot be read is left out and
    named, never the whole list. Never raises."""
    if not isinstance(meta, Mapping) or not isinstance(meta.get("universe"), list):
        return [], ["expected an object with a universe list"]
    problems: list[str] = []
    universe = meta["universe"]
    if len(universe) > MAX_LISTED:
        problems.append(
            f"the list holds {len(universe):,} markets: perpdesk takes the first {MAX_LISTED:,}"
        )
        meta = {**meta, "universe": universe[:MAX_LISTED]}
    try:
        markets = markets_from_hyperliquid_meta(meta)
    except (ValueError, TypeError, ArithmeticError):
        markets = []
        for asset in meta["universe"]:  # one asset at a time, to keep the good ones
            try:
                markets += markets_from_hyperliquid_meta({**meta, "universe": [asset]})
            except (ValueError, TypeError, ArithmeticError) as exc:
                reason = safe_text(exc).removeprefix("Hyperliquid meta: ")
                name = asset.get("name") if isinstance(asset, Mapping) else None
                if isinstance(name, str) and name not in reason:  # say which market
                    reason = f"{_shortened(safe_text(name), 24)}: {reason}"
                reason = _shortened(reason)
                if reason not in problems:
                    problems.append(reason)
    kept: dict[str, Market] = {}
    for market in markets:
        if not _MARKET_NAME.fullmatch(market.name):
            problems.append(
                f"a market named '{_shortened(safe_text(market.name), 24)}' (a name is letters "
                "and digits, at most 20)"
            )
        elif market.name not in kept:
            kept[market.name] = market
    if symbols is not None:
        return [kept[s] for s in symbols if s in kept], problems
    return list(kept.values()), problems


def _shortened(text: str, limit: int = PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BinanceSource(LiveSource):
    """Binance USDⓈ-M mark prices from the ``!markPrice@arr@1s`` stream (BTC -> BTCUSDT; pass
    ``symbol_map`` for exceptions) and with ``books=True`` order books from each focused
    symbol's ``<symbol>@depth20@500ms`` stream. Binance's ``r`` is the rate per funding
    interval, turned into an hourly rate by dividing by ``funding_interval_hours`` (8 for most
    markets)."""

    kind = "binance"
    name = "Binance (live)"
    venue = "Binance"
    default_url = "wss://fstream.binance.com/ws/!markPrice@arr@1s"

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        *,
        symbol_map: Mapping[str, str] | None = None,
        funding_interval_hours: float = 8.0,
        **options: Any,
    ) -> None:
        super().__init__(symbols, **options)
        if _check_number("funding_interval_hours", funding_interval_hours) <= 0:
            raise ValueError("funding_interval_hours must be greater than 0")
        mapping = dict(symbol_map or {})
        unknown = sorted(set(mapping) - set(self.symbols))
        if unknown:
            raise ValueError(f"symbol_map names symbols that are not configured: {unknown}")
        self.funding_interval_hours = float(funding_interval_hours)
        self._to_venue = {s: mapping.get(s, f"{s}USDT") for s in self.symbols}
        self._from_venue = {v: s for s, v in self._to_venue.items()}
        self._request_id = 0
        self.lists_markets = symbols is None

    def on_connected(self, sink: MarkSink) -> list[str]:
        # The mark stream's connection carries no exchange information, and Binance's
        # leverage brackets are signed account data: the tables perpdesk ships are the list.
        if getattr(sink, "on_markets", None) is not None:
            self._deliver_markets(sink, self.shipped_markets())
        return []

    def shipped_markets(self) -> list[Market]:
        """The Binance markets perpdesk ships tables for (those configured, when named)."""
        rows = venue_data("binance")["markets"]
        return markets_from_binance_brackets(
            rows, symbols=None if self.lists_markets else self.symbols
        )

    def _listed(self, markets: Sequence[Market]) -> None:
        if self.lists_markets and markets:
            rows = {row["name"]: row["symbol"] for row in venue_data("binance")["markets"]}
            self._to_venue = {m.name: rows.get(m.name, f"{m.name}USDT") for m in markets}
            self._from_venue = {v: s for s, v in self._to_venue.items()}
        super()._listed(markets)

    def subscription_messages(
        self, marks: frozenset[str], books: frozenset[str], *, subscribe: bool
    ) -> list[str]:
        # Marks: one stream of every market, named in the URL (focus filters what is passed
        # on). Books: one stream per symbol.
        streams = [f"{self._to_venue[s].lower()}@depth20@500ms" for s in self.symbols if s in books]
        if not streams:
            return []
        self._request_id += 1
        method = "SUBSCRIBE" if subscribe else "UNSUBSCRIBE"
        return [json.dumps({"method": method, "params": streams, "id": self._request_id})]

    def parse(self, raw: str | bytes) -> Frame:
        msg, problem = _decode(raw)
        if problem is not None:
            return _bad(problem)
        if isinstance(msg, dict) and "stream" in msg and "data" in msg:
            msg = msg["data"]  # combined-stream envelope
        if isinstance(msg, dict) and "result" in msg and "id" in msg:
            return Frame()  # reply to a SUBSCRIBE request
        if isinstance(msg, dict) and msg.get("e") == "depthUpdate":
            return self._depth(msg)
        items = msg if isinstance(msg, list) else [msg]
        frame = Frame()
        for item in items:
            if not isinstance(item, dict) or item.get("e") != "markPriceUpdate":
                frame.problem = "expected markPriceUpdate objects"
                continue
            venue_symbol = item.get("s")
            symbol = self._from_venue.get(venue_symbol) if isinstance(venue_symbol, str) else None
            if symbol is None and self.lists_markets and isinstance(venue_symbol, str):
                base = venue_symbol.removesuffix("USDT")
                if base != venue_symbol and _MARKET_NAME.fullmatch(base):
                    symbol = base  # a market Binance prices that perpdesk has no tables for
            if symbol is None:
                continue
            try:
                frame.marks.append((symbol, parse_price(item.get("p"))))
            except ValueError as exc:
                frame.problem = f"{symbol}: {exc}"
                continue
            rate = item.get("r")
            if rate not in (None, ""):
                try:
                    frame.rates.append((symbol, _rate(rate) / self.funding_interval_hours))
                except ValueError as exc:
                    frame.problem = f"{symbol}: {exc}"
        return frame

    def _depth(self, msg: dict[str, Any]) -> Frame:
        """A ``depth20`` frame: the best 20 bids (``b``) and asks (``a``) of one symbol."""
        venue_symbol = msg.get("s")
        symbol = self._from_venue.get(venue_symbol) if isinstance(venue_symbol, str) else None
        if symbol is None:
            return Frame()
        when = _epoch(msg.get("E"), self._wall())
        try:
            return Frame(books=[_book(symbol, msg.get("b"), msg.get("a"), when)])
        except ValueError as exc:
            return _bad(f"{symbol}: book {exc}")
