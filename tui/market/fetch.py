"""Download a venue's public candles and write them as a replay CSV (``perpdesk fetch``).

Pure standard library plus, for Hyperliquid, ``websockets`` (the ``live`` extra, imported
lazily). No UI toolkit here: the command-line front, :mod:`tui.market.fetch_cli`, draws the
progress bar.

* Hyperliquid: the ``candleSnapshot`` info request, sent as a websocket ``post`` request over
  the same websocket the live source uses (at most 5,000 candles per request; Hyperliquid keeps
  only its most recent 5,000 candles per interval). Markets are checked against the ``meta``
  info request first.
* Binance USDⓈ-M futures: ``GET /fapi/v1/klines`` over plain HTTPS with ``urllib`` (at most
  1,500 klines per request). ``BTC`` means ``BTCUSDT``.

What is written (columns ``timestamp,symbol,price``, the format :mod:`tui.market.replay`
reads): every candle becomes up to four marks, in the candle's own time: the open at its start,
then both extremes, then the close at three quarters of the candle. A rising candle (close at or
above open) goes open, low, high, close; a falling one goes open, high, low, close. That is the
shortest path that touches all four prices, so it invents no extra swing, and both extremes are
in the replay: a crash's wick reaches the mark and can liquidate a position. (Candles are
traded prices; the venue's own mark price is smoothed and may not have gone as far.)
A price equal to the one before it within the same candle is not repeated. Rows are sorted by
time; rows of different markets at the same instant keep the order the markets were named in.

Downloads are resumable: rows are appended to ``FILE.part`` one window (one request per market)
at a time, and ``FILE.part.json`` records how far the download got, the byte length of the part
file at that point, and the gaps seen. Running the same command again continues from there
(bytes after the recorded length, from a write that was cut off, are dropped). When the last
window is in, the part file becomes ``FILE`` and the state file is removed.

Request limits: each venue gets at most half of its published per-address request budget
(Hyperliquid: 1,200 weight a minute, a candle request weighing 20 plus one per 60 candles;
Binance: 2,400 weight a minute, a klines request weighing 1 to 10 by its limit), so another
tool on the same address keeps working. A rate-limit reply (HTTP 429 or 418, Hyperliquid's
``429`` error or "too many" message) waits (the venue's ``Retry-After`` when it gives one,
else an exponential backoff) and retries, at most :data:`MAX_ATTEMPTS` times per request.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.client
import json
import logging
import math
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from tui.market.base import parse_price
from tui.market.hl_info import NOT_OURS, PostError, clean_text, info_data, post_request, read_answer
from tui.market.live import LIVE_EXTRA_MESSAGE, backoff_delay
from tui.market.markets import normalize_symbols

__all__ = [
    "FETCH_SOURCES",
    "MAX_ATTEMPTS",
    "BinanceKlines",
    "Candle",
    "CandleClient",
    "FetchError",
    "FetchJob",
    "FetchSummary",
    "Gap",
    "HyperliquidCandles",
    "Interval",
    "Pacer",
    "RateLimitedError",
    "Reporter",
    "TransientError",
    "candle_marks",
    "clean_text",
    "format_price",
    "format_timestamp",
    "make_client",
    "parse_interval",
    "parse_markets",
    "parse_when",
    "run_fetch",
]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())

FETCH_SOURCES: tuple[str, ...] = ("hyperliquid", "binance")

MAX_ATTEMPTS = 6
"""Tries per request (the first and five retries) before the download stops."""
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
GAPS_KEPT = 20
"""Gaps listed per market (all are counted); keeps the progress record small."""
MAX_RETRY_AFTER = 600.0
"""A venue asking us to wait longer than this (a ban) stops the download instead."""

_MINUTE_MS = 60_000
_DAY_MS = 86_400_000
_WEEK_MS = 7 * _DAY_MS
_MONDAY_OFFSET_MS = 4 * _DAY_MS  # 1970-01-01 was a Thursday; weekly candles open on Mondays
_STATE_VERSION = 1


# ---------------------------------------------------------------- text and numbers


def format_timestamp(ms: int) -> str:
    """``1760119200000`` -> ``'2025-10-10T18:00:00Z'`` (milliseconds only when not zero)."""
    moment = datetime.fromtimestamp(ms / 1000.0, UTC)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_price(price: float) -> str:
    """Shortest decimal text that reads back as ``price``, never in exponent form."""
    text = repr(price)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _utc(ms: int) -> str:
    """A time for messages: ``2025-10-10 18:00 UTC``."""
    moment = datetime.fromtimestamp(ms / 1000.0, UTC)
    fmt = "%Y-%m-%d %H:%M:%S" if ms % _MINUTE_MS else "%Y-%m-%d %H:%M"
    return moment.strftime(fmt) + " UTC"


# ---------------------------------------------------------------- arguments


@dataclass(frozen=True, slots=True)
class Interval:
    """A candle width, e.g. ``Interval('1m', 60_000)``."""

    name: str
    ms: int

    def align(self, ms: int) -> int:
        """The open time of the candle containing ``ms`` (weeks open on Mondays)."""
        if self.ms == _WEEK_MS:
            return (ms - _MONDAY_OFFSET_MS) // _WEEK_MS * _WEEK_MS + _MONDAY_OFFSET_MS
        return ms // self.ms * self.ms


_UNITS = {"m": _MINUTE_MS, "h": 60 * _MINUTE_MS, "d": _DAY_MS, "w": _WEEK_MS}
_VENUE_INTERVALS: dict[str, tuple[str, ...]] = {
    "hyperliquid": (
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
    ),
    "binance": (
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
    ),
}
_VENUE_NAMES = {"hyperliquid": "Hyperliquid", "binance": "Binance"}


def parse_source(text: str) -> str:
    key = text.strip().lower()
    if key not in FETCH_SOURCES:
        raise ValueError(
            f"cannot fetch candles from {clean_text(text, 40)!r}; "
            f"choose one of: {', '.join(FETCH_SOURCES)}"
        )
    return key


def parse_interval(text: str, source: str) -> Interval:
    """``'1m'`` -> ``Interval('1m', 60000)`` for a venue that has it; ``ValueError`` if not."""
    choices = _VENUE_INTERVALS[source]
    raw = text.strip()
    if raw == "1M":
        raise ValueError(
            "interval 1M (a calendar month) is not offered: months differ in length, so gaps "
            "could not be found; use 1w or 1d"
        )
    name = raw.lower()
    if name not in choices:
        raise ValueError(
            f"interval {clean_text(text, 20)!r} is not one {_VENUE_NAMES[source]} offers; "
            f"choose one of: {', '.join(choices)}"
        )
    return Interval(name, int(name[:-1]) * _UNITS[name[-1]])


def parse_when(text: str, flag: str) -> int:
    """UTC epoch milliseconds from an ISO-8601 date or date and time (UTC unless it names a
    zone): ``'2025-10-10T18:00'``, ``'2025-10-10 18:00Z'``, ``'2025-10-10'`` (midnight)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{flag} {clean_text(text, 40)!r} is not a date and time such as 2025-10-10T18:00 "
            "(UTC unless it names a zone, e.g. 2025-10-10T20:00+02:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = round(moment.timestamp() * 1000)
    if ms < 0:
        raise ValueError(f"{flag} {clean_text(text, 40)!r} is before 1970")
    return ms


def parse_markets(values: Sequence[str]) -> tuple[str, ...]:
    """``['BTC,eth', 'SOL']`` -> ``('BTC', 'ETH', 'SOL')``; ``ValueError`` for a bad list."""
    names = [part for value in values for part in value.split(",") if part.strip()]
    if not names:
        raise ValueError("name at least one market, e.g. --market BTC or --market BTC,ETH")
    return normalize_symbols(names, known_only=False)


@dataclass(frozen=True, slots=True)
class FetchJob:
    """What to download. ``end_ms`` is exclusive: candles that open before it."""

    source: str
    markets: tuple[str, ...]
    interval: Interval
    start_ms: int
    end_ms: int
    to_text: str = ""
    """How ``--to`` was given (``'now'`` or the resolved time): a resumed download must match."""

    @classmethod
    def from_args(
        cls,
        *,
        source: str,
        markets: Sequence[str],
        interval: str,
        start: str,
        end: str,
        now_ms: int | None = None,
    ) -> tuple[FetchJob, list[str]]:
        """Validate the command-line words; returns the job and notes to show (``--to`` in
        the future is cut to the last complete candle). ``ValueError`` with a clear message."""
        venue = parse_source(source)
        symbols = parse_markets(markets)
        width = parse_interval(interval, venue)
        now = round(time.time() * 1000) if now_ms is None else now_ms
        start_ms = width.align(parse_when(start, "--from"))
        to_now = end.strip().lower() == "now"
        end_ms = now if to_now else parse_when(end, "--to")
        if not to_now and end_ms <= parse_when(start, "--from"):
            raise ValueError(f"--to ({_utc(end_ms)}) must be after --from ({_utc(start_ms)})")
        notes: list[str] = []
        complete = width.align(now)  # candles opening before this one have closed
        if end_ms > complete:
            if not to_now:
                notes.append(
                    f"--to {_utc(end_ms)} is later than the last complete {width.name} candle; "
                    f"fetching up to {_utc(complete)}"
                )
            end_ms = complete
        if start_ms >= end_ms:
            raise ValueError(
                f"no complete {width.name} candle between --from {_utc(start_ms)} and "
                f"{_utc(end_ms)}: choose an earlier --from"
            )
        to_text = "now" if to_now else str(parse_when(end, "--to"))
        return cls(venue, symbols, width, start_ms, end_ms, to_text), notes

    @property
    def venue(self) -> str:
        return _VENUE_NAMES[self.source]

    def key(self) -> dict[str, Any]:
        """What a partial download must have been started with to be continued."""
        return {
            "source": self.source,
            "markets": list(self.markets),
            "interval": self.interval.name,
            "from_ms": self.start_ms,
            "to": self.to_text or str(self.end_ms),
        }

    def describe(self) -> str:
        return (
            f"{', '.join(self.markets)} {self.interval.name} candles from {self.venue}, "
            f"{_utc(self.start_ms)} to {_utc(self.end_ms)}"
        )


# ---------------------------------------------------------------- candles to marks


@dataclass(frozen=True, slots=True)
class Candle:
    t: int
    """Open time, UTC epoch milliseconds."""
    o: float
    h: float
    l: float  # noqa: E741 - the venues' own name
    c: float


def make_candle(t: object, o: object, h: object, low: object, c: object) -> Candle:
    """A checked candle: an integer open time and four positive finite prices with the high
    at or above, and the low at or below, every other price. ``ValueError`` if not."""
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise ValueError(f"open time {clean_text(t, 30)} is not a time in milliseconds")
    candle = Candle(t, parse_price(o), parse_price(h), parse_price(low), parse_price(c))
    if candle.h < max(candle.o, candle.c, candle.l) or candle.l > min(candle.o, candle.c):
        raise ValueError(f"high {candle.h:g} / low {candle.l:g} do not bound the candle")
    return candle


def _open_time(value: object) -> int:
    """An item's open time when it has a usable one, else -1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return -1
    return value


def candle_marks(candle: Candle, interval_ms: int) -> list[tuple[int, float]]:
    """The marks one candle becomes, as ``(time_ms, price)``: open at its start, the two
    extremes at one quarter and one half, the close at three quarters (see the module doc for
    the order). A price equal to the one before it is left out."""
    first, second = (candle.l, candle.h) if candle.c >= candle.o else (candle.h, candle.l)
    step = interval_ms // 4
    marks = [(candle.t, candle.o)]
    for k, price in ((1, first), (2, second), (3, candle.c)):
        if price != marks[-1][1]:
            marks.append((candle.t + k * step, price))
    return marks


# ---------------------------------------------------------------- errors and pacing


class FetchError(Exception):
    """The download cannot go on; the message says why, in words for the trader."""


class TransientError(Exception):
    """A request failed in a way that may pass (connection lost, server error, timeout)."""


class RateLimitedError(TransientError):
    """The venue asked us to slow down; ``retry_after`` is its wait in seconds, if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Reporter(Protocol):
    """Where progress goes (the command line draws a bar; tests record)."""

    def start(self, total: int, done: int, description: str) -> None: ...

    def advance(self, candles: int) -> None: ...

    def note(self, message: str) -> None: ...

    def finish(self) -> None: ...


class SilentReporter:
    def start(self, total: int, done: int, description: str) -> None:
        pass

    def advance(self, candles: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finish(self) -> None:
        pass


class Pacer:
    """Keeps requests within a weight budget: a bucket that refills at ``per_minute / 60``
    weight a second and holds ten seconds' worth. ``spend(w)`` waits until the bucket holds
    ``w`` (or is full, for a request heavier than the bucket), then takes ``w`` from it."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_minute > 0:
            raise ValueError("per_minute must be greater than 0")
        self.rate = per_minute / 60.0
        self.capacity = per_minute / 6.0
        self._clock = clock
        self._sleep = sleep
        self.note: Callable[[str], None] = lambda _message: None
        """Where a pause is explained (``run_fetch`` points it at the reporter)."""
        self._tokens = self.capacity
        self._last = clock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def spend(self, weight: float) -> None:
        self._refill()
        need = min(weight, self.capacity)
        if self._tokens < need:
            self.wait((need - self._tokens) / self.rate)
            self._refill()
        self._tokens -= weight

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self._sleep(seconds)


# ---------------------------------------------------------------- venues


class CandleClient(Protocol):
    venue: str
    max_candles: int
    budget_per_minute: float

    def resolve(self, markets: Sequence[str], pacer: Pacer) -> dict[str, str]:
        """perpdesk symbol -> the venue's name for it; :class:`FetchError` for an unknown one."""
        ...

    def weight(self, candles: int) -> float:
        """The request weight the venue charges for a request of ``candles`` candles."""
        ...

    def candles(
        self, name: str, interval: Interval, start_ms: int, end_ms: int, pacer: Pacer
    ) -> tuple[list[Candle], list[int]]:
        """Candles opening in ``[start_ms, end_ms)`` (at most ``max_candles``), and the open
        times of items that were malformed and skipped (items without a usable open time are
        noise and left out). Raises :class:`TransientError`,
        :class:`RateLimitedError` or :class:`FetchError`."""
        ...

    def close(self) -> None: ...


def _status_error(venue: str, status: int, text: str, retry_after: float | None) -> Exception:
    shown = f"{venue} answered HTTP {status}" + (f": {clean_text(text, 120)}" if text else "")
    if status in (418, 429):
        return RateLimitedError(shown, retry_after)
    if status >= 500:
        return TransientError(shown)
    return FetchError(shown)


class HyperliquidCandles:
    """``candleSnapshot`` (and ``meta``) info requests as websocket ``post`` requests."""

    venue = "Hyperliquid"
    default_url = "wss://api.hyperliquid.xyz/ws"
    max_candles = 5000
    budget_per_minute = 600.0  # half of Hyperliquid's 1,200 weight a minute per address
    retention = 5000
    """Hyperliquid keeps only its most recent 5,000 candles per interval."""

    def __init__(self, url: str | None = None, *, timeout: float = 30.0) -> None:
        from tui.market.live import LiveExtraMissingError, _check_url

        try:
            from websockets.sync.client import connect  # noqa: F401
        except ImportError as exc:
            raise LiveExtraMissingError(LIVE_EXTRA_MESSAGE) from exc
        self.url = _check_url(self.default_url if url is None else url)
        self.timeout = timeout
        self._ws: Any = None
        self._stack: contextlib.ExitStack | None = None
        self._id = 0

    def weight(self, candles: int) -> float:
        return 20.0 + math.ceil(candles / 60)

    def close(self) -> None:
        stack, self._stack, self._ws = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):  # a broken connection: nothing left to save
                stack.close()

    def _connect(self) -> Any:
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        from tui.market.live import _describe

        stack = contextlib.ExitStack()
        try:
            ws = stack.enter_context(
                connect(
                    self.url,
                    open_timeout=self.timeout,
                    close_timeout=1.0,
                    max_size=64 * 2**20,
                    logger=_LOG,
                )
            )
            self._stack = stack
            return ws
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise _status_error(self.venue, status, "", None) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransientError(f"cannot reach {self.venue}: {_describe(exc)}") from None

    def _post(self, payload: dict[str, Any]) -> Any:
        """Send one info request and return the answer's ``payload``."""
        from websockets.exceptions import WebSocketException

        from tui.market.live import _describe

        if self._ws is None:
            self._ws = self._connect()
        self._id += 1
        rid = self._id
        deadline = time.monotonic() + self.timeout
        try:
            self._ws.send(post_request(rid, payload))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                answer = self._answer(self._ws.recv(timeout=left), rid)
                if answer is not NOT_OURS:
                    return answer
        except TimeoutError:
            self.close()
            raise TransientError(f"{self.venue} did not answer within {self.timeout:g} s") from None
        except (OSError, WebSocketException) as exc:
            self.close()
            raise TransientError(f"connection to {self.venue} lost: {_describe(exc)}") from None

    def _answer(self, raw: str | bytes, rid: int) -> Any:
        try:
            return read_answer(raw, rid)
        except PostError as exc:
            if exc.kind == "status" and exc.status is not None:
                raise _status_error(self.venue, exc.status, exc.text, None) from None
            if exc.kind == "rate_limited":
                raise RateLimitedError(f"{self.venue} says: {exc.text}") from None
            if exc.kind == "malformed":
                raise TransientError(f"{self.venue} sent {exc.text}") from None
            raise TransientError(f"{self.venue} error: {exc.text}") from None

    @staticmethod
    def _data(payload: Any) -> Any:
        return info_data(payload)

    def resolve(self, markets: Sequence[str], pacer: Pacer) -> dict[str, str]:
        pacer.spend(20.0)
        universe = self._data(self._post({"type": "meta"}))
        names: list[str] = []
        if isinstance(universe, dict) and isinstance(universe.get("universe"), list):
            names = [
                a["name"]
                for a in universe["universe"]
                if isinstance(a, dict) and isinstance(a.get("name"), str)
            ]
        if not names:
            raise TransientError(f"{self.venue} sent a market list without markets")
        by_upper = {n.upper(): n for n in names}
        resolved: dict[str, str] = {}
        for market in markets:
            name = by_upper.get(market)
            if name is None:
                close = get_close_matches(market, list(by_upper), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise FetchError(f"{self.venue} has no market named {market}{hint}")
            resolved[market] = name
        return resolved

    def candles(
        self, name: str, interval: Interval, start_ms: int, end_ms: int, pacer: Pacer
    ) -> tuple[list[Candle], list[int]]:
        req = {"coin": name, "interval": interval.name, "startTime": start_ms, "endTime": end_ms}
        data = self._data(self._post({"type": "candleSnapshot", "req": req}))
        if data is None:
            return [], []
        if not isinstance(data, list):
            raise TransientError(f"{self.venue} sent candles that are not a list")
        out: list[Candle] = []
        bad: list[int] = []
        for item in data:
            if not isinstance(item, dict):
                continue
            try:
                out.append(make_candle(item.get("t"), item["o"], item["h"], item["l"], item["c"]))
            except (KeyError, ValueError):
                bad.append(_open_time(item.get("t")))
        return out, [t for t in bad if t >= 0]


class BinanceKlines:
    """USDⓈ-M futures klines over ``GET /fapi/v1/klines`` (``urllib``, no extra dependency)."""

    venue = "Binance"
    default_url = "https://fapi.binance.com"
    klines_path = "/fapi/v1/klines"
    max_candles = 1500
    budget_per_minute = 1200.0  # half of Binance's 2,400 weight a minute per address
    weight_limit = 2400
    """Binance's published per-minute weight limit, compared with ``X-MBX-USED-WEIGHT-1M``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        base = self.default_url if url is None else url
        parts = urlsplit(base) if isinstance(base, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"url {clean_text(base, 60)!r} is not a web address (https://host or http://host)"
            )
        self.url = base.rstrip("/").removesuffix(self.klines_path)
        self.timeout = timeout
        self._wall = wall_clock
        self.used_weight: int | None = None

    def weight(self, candles: int) -> float:
        if candles < 100:
            return 1.0
        if candles < 500:
            return 2.0
        return 5.0 if candles <= 1000 else 10.0

    def close(self) -> None:
        pass

    def resolve(self, markets: Sequence[str], pacer: Pacer) -> dict[str, str]:
        return {m: f"{m}USDT" for m in markets}  # an unknown one fails on its first request

    def _get(self, path: str, query: dict[str, Any], market: str) -> Any:
        url = f"{self.url}{path}?{urlencode(query)}"
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "perpdesk"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                self._note_weight(response.headers)
                body = response.read(64 * 2**20)
        except urllib.error.HTTPError as exc:
            self._note_weight(exc.headers)
            raise self._http_error(exc, market) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
            if isinstance(reason, TimeoutError):
                text = "timed out"
            raise TransientError(f"cannot reach {self.venue}: {clean_text(text, 80)}") from None
        except TimeoutError:
            raise TransientError(f"{self.venue} did not answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransientError(
                f"connection to {self.venue} lost: {clean_text(str(exc) or type(exc).__name__)}"
            ) from None
        try:
            return json.loads(body)
        except ValueError:
            raise TransientError(f"{self.venue} sent an answer that is not JSON") from None

    def _note_weight(self, headers: Any) -> None:
        value = headers.get("X-MBX-USED-WEIGHT-1M") if headers is not None else None
        try:
            self.used_weight = int(value) if value is not None else None
        except ValueError:
            self.used_weight = None

    def _http_error(self, exc: urllib.error.HTTPError, market: str) -> Exception:
        try:
            raw = exc.read(65536).decode("utf-8", "replace")
        except OSError:
            raw = ""
        message = raw
        code = None
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                code, message = parsed.get("code"), str(parsed.get("msg", raw))
        except ValueError:
            pass
        if code == -1121:
            return FetchError(
                f"{self.venue} has no USDⓈ-M perpetual {market}USDT (for --market {market})"
            )
        retry_after: float | None = None
        header = exc.headers.get("Retry-After") if exc.headers is not None else None
        if header is not None:
            try:
                retry_after = max(0.0, float(header))
            except ValueError:
                retry_after = None
        return _status_error(self.venue, exc.code, message.strip(), retry_after)

    def cooldown(self) -> float:
        """Seconds to pause when Binance reports 90 % of its minute's weight used: until the
        next minute starts (its counter is per wall-clock minute)."""
        if self.used_weight is None or self.used_weight < 0.9 * self.weight_limit:
            return 0.0
        return 60.0 - self._wall() % 60.0 + 0.5

    def candles(
        self, name: str, interval: Interval, start_ms: int, end_ms: int, pacer: Pacer
    ) -> tuple[list[Candle], list[int]]:
        limit = max(1, min(self.max_candles, -(-(end_ms - start_ms) // interval.ms)))
        query = {
            "symbol": name,
            "interval": interval.name,
            "startTime": start_ms,
            "endTime": end_ms - 1,  # Binance's endTime is inclusive
            "limit": limit,
        }
        data = self._get(self.klines_path, query, name.removesuffix("USDT"))
        pause = self.cooldown()
        if pause > 0:
            pacer.note(
                f"{self.venue} reports {self.used_weight:,} of {self.weight_limit:,} request "
                f"weight used this minute: pausing {pause:.0f} s"
            )
            pacer.wait(pause)
        if not isinstance(data, list):
            raise TransientError(f"{self.venue} sent klines that are not a list")
        out: list[Candle] = []
        bad: list[int] = []
        for item in data:
            if not isinstance(item, list) or not item:
                continue
            try:
                out.append(make_candle(*item[:5]))
            except (TypeError, ValueError):  # TypeError: fewer than five fields
                bad.append(_open_time(item[0]))
        return out, [t for t in bad if t >= 0]


def make_client(source: str, url: str | None = None, *, timeout: float = 30.0) -> CandleClient:
    """The client for ``source`` (``'hyperliquid'`` or ``'binance'``); ``url`` overrides the
    venue's address (tests point it at 127.0.0.1). ``ValueError`` for a bad URL,
    ``LiveExtraMissingError`` for Hyperliquid without ``websockets``."""
    if source == "hyperliquid":
        return HyperliquidCandles(url, timeout=timeout)
    if source == "binance":
        return BinanceKlines(url, timeout=timeout)
    raise ValueError(f"cannot fetch candles from {source!r}")


# ---------------------------------------------------------------- the download


@dataclass(slots=True)
class Gap:
    market: str
    start_ms: int
    end_ms: int
    """Exclusive: the open time of the first candle after the gap (or the range's end)."""
    count: int


@dataclass(slots=True)
class _State:
    key: dict[str, Any]
    end_ms: int
    next_ms: int
    size: int = 0
    rows: int = 0
    candles: dict[str, int] = field(default_factory=dict)
    last_open: dict[str, int | None] = field(default_factory=dict)
    gaps: list[list[Any]] = field(default_factory=list)
    """The first :data:`GAPS_KEPT` gaps of each market: ``[market, start, end, count]``."""
    gap_totals: dict[str, list[int]] = field(default_factory=dict)
    """market -> ``[gaps, missing candles]``, every gap counted."""
    bad: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "version": _STATE_VERSION,
            "key": self.key,
            "end_ms": self.end_ms,
            "next_ms": self.next_ms,
            "bytes": self.size,
            "rows": self.rows,
            "candles": self.candles,
            "last_open": self.last_open,
            "gaps": self.gaps,
            "gap_totals": self.gap_totals,
            "bad": self.bad,
        }
        return json.dumps(body, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> _State:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
            raise ValueError("unknown state file version")
        state = cls(
            key=dict(data["key"]),
            end_ms=int(data["end_ms"]),
            next_ms=int(data["next_ms"]),
            size=int(data["bytes"]),
            rows=int(data["rows"]),
            candles={str(k): int(v) for k, v in data["candles"].items()},
            last_open={str(k): None if v is None else int(v) for k, v in data["last_open"].items()},
            gaps=[[str(g[0]), int(g[1]), int(g[2]), int(g[3])] for g in data["gaps"]],
            gap_totals={str(k): [int(v[0]), int(v[1])] for k, v in data["gap_totals"].items()},
            bad={str(k): int(v) for k, v in data["bad"].items()},
        )
        if state.size < 0 or state.next_ms > state.end_ms:
            raise ValueError("inconsistent state file")
        return state


@dataclass(slots=True)
class FetchSummary:
    job: FetchJob
    output: Path
    rows: int
    candles: dict[str, int]
    gaps: list[Gap]
    """The first :data:`GAPS_KEPT` gaps of each market."""
    gap_totals: dict[str, tuple[int, int]]
    """market -> (gaps, missing candles), every gap counted."""
    bad: dict[str, int]
    resumed_from: int | None
    """Where a resumed download picked up (epoch ms), ``None`` for a fresh one."""
    notes: list[str] = field(default_factory=list)

    def missing(self, market: str) -> int:
        return self.gap_totals.get(market, (0, 0))[1]

    def lines(self, max_gaps: int = 5) -> list[str]:
        """The report: what was written, then every market's gaps (the first ``max_gaps``)."""
        job = self.job
        per = ", ".join(f"{m} {self.candles.get(m, 0):,}" for m in job.markets)
        out = [
            f"Wrote {self.output}: {self.rows:,} rows from {job.venue} {job.interval.name} "
            f"candles ({per}), {_utc(job.start_ms)} to {_utc(job.end_ms)}."
        ]
        if self.resumed_from is not None:
            out.append(f"Continued an interrupted download from {_utc(self.resumed_from)}.")
        for market in job.markets:
            gaps = [g for g in self.gaps if g.market == market]
            bad = self.bad.get(market, 0)
            if bad:
                out.append(f"{market}: {bad:,} malformed candle{'s' if bad != 1 else ''} skipped.")
            n, missing = self.gap_totals.get(market, (0, 0))
            if not n:
                continue
            if not self.candles.get(market):
                out.append(f"{market}: no candles at all in this range.")
            else:
                out.append(
                    f"{market}: {missing:,} candle{'s' if missing != 1 else ''} missing "
                    f"in {n} gap{'s' if n != 1 else ''} (the replay holds the last price "
                    "across a gap):"
                )
                for gap in gaps[:max_gaps]:
                    last = gap.end_ms - job.interval.ms
                    span = _utc(gap.start_ms)
                    if gap.count > 1:
                        span += f" to {_utc(last)}"
                    out.append(f"  {span} ({gap.count:,} candle{'s' if gap.count != 1 else ''})")
                if n > min(max_gaps, len(gaps)):
                    out.append(f"  ... and {n - min(max_gaps, len(gaps)):,} more")
        out.extend(self.notes)
        return out


def _part_paths(output: Path) -> tuple[Path, Path]:
    return output.with_name(output.name + ".part"), output.with_name(output.name + ".part.json")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _os_problem(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__


class _Download:
    def __init__(
        self,
        job: FetchJob,
        client: CandleClient,
        output: Path,
        *,
        reporter: Reporter,
        pacer: Pacer,
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        self.job = job
        self.client = client
        self.output = output
        self.part, self.state_path = _part_paths(output)
        self.reporter = reporter
        self.pacer = pacer
        self.sleep = sleep
        self.rng = rng
        self.state = _State(key=job.key(), end_ms=job.end_ms, next_ms=job.start_ms)
        self.resumed_from: int | None = None
        self.notes: list[str] = []

    # ------------------------------------------------------------ files

    def prepare(self, force: bool) -> None:
        """Pick up a matching partial download, or start a fresh one. ``FetchError`` when
        the output exists (without ``force``) or a partial one for other settings is there."""
        output, part, state_path = self.output, self.part, self.state_path
        if output.is_dir():
            raise FetchError(f"{output} is a directory; -o needs a file name")
        if not output.parent.is_dir():
            raise FetchError(f"cannot write {output}: folder {output.parent} does not exist")
        if output.exists() and not force:
            raise FetchError(f"{output} already exists; choose another -o, or add --force")
        if force:
            for path in (part, state_path):
                path.unlink(missing_ok=True)
            return
        if not part.exists():
            state_path.unlink(missing_ok=True)
            return
        try:
            saved = _State.from_json(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            self.notes.append(
                f"{part} had no usable progress record ({state_path.name}); started again"
            )
            part.unlink(missing_ok=True)
            return
        if saved.key != self.job.key():
            raise FetchError(
                f"{part} is a partial download with other settings ({_describe_key(saved.key)}); "
                "run that command again to finish it, or add --force to start this one afresh"
            )
        size = part.stat().st_size
        if size < saved.size:
            self.notes.append(f"{part} was shorter than its progress record; started again")
            part.unlink()
            return
        if size > saved.size:  # a write cut off after the last recorded window: drop it
            with part.open("r+b") as handle:
                handle.truncate(saved.size)
        self.state = saved
        self.resumed_from = saved.next_ms
        self.job = dataclasses.replace(self.job, end_ms=saved.end_ms)

    def _append(self, text: str) -> None:
        new = not self.part.exists() or self.state.size == 0
        data = (("timestamp,symbol,price\n" if new else "") + text).encode("utf-8")
        with self.part.open("wb" if new else "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.state.size += len(data)

    # ------------------------------------------------------------ requests

    def _call(self, what: str, fn: Callable[[], Any], weight: float) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.pacer.spend(weight)
            try:
                return fn()
            except RateLimitedError as exc:
                wait = exc.retry_after
                if wait is not None and wait > MAX_RETRY_AFTER:
                    raise FetchError(
                        f"{exc}; it asks to wait {wait / 60:.0f} min before the next request"
                    ) from None
                delay = backoff_delay(attempt, BACKOFF_BASE, BACKOFF_CAP, self.rng)
                delay = max(delay, wait or 0.0)
                reason = f"rate limited ({exc})"
            except TransientError as exc:
                delay = backoff_delay(attempt, BACKOFF_BASE, BACKOFF_CAP, self.rng)
                reason = str(exc)
            if attempt == MAX_ATTEMPTS:
                raise FetchError(f"gave up on {what} after {MAX_ATTEMPTS} attempts: {reason}")
            self.reporter.note(
                f"{what}: {reason}; retrying in {delay:.1f} s "
                f"(attempt {attempt + 1} of {MAX_ATTEMPTS})"
            )
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _window(self, market: str, name: str, w0: int, w1: int) -> list[Candle]:
        """Every candle of ``market`` opening in ``[w0, w1)``, asking again after a short
        answer until the venue has nothing more (a server may cap an answer below its max)."""
        interval = self.job.interval
        got: list[Candle] = []
        bad: set[int] = set()
        cursor = w0
        while cursor < w1:
            n = min(self.client.max_candles, -(-(w1 - cursor) // interval.ms))
            ask = functools.partial(self.client.candles, name, interval, cursor, w1, self.pacer)
            batch, skipped = self._call(f"{market} from {_utc(cursor)}", ask, self.client.weight(n))
            bad.update(t for t in skipped if cursor <= t < w1)
            fresh = sorted((c for c in batch if cursor <= c.t < w1), key=lambda c: c.t)
            if not fresh:
                break
            for candle in fresh:
                if not got or candle.t > got[-1].t:
                    got.append(candle)
            cursor = got[-1].t + interval.ms
        if bad:
            self.state.bad[market] = self.state.bad.get(market, 0) + len(bad)
        return got

    def _gap(self, market: str, start: int, end: int) -> None:
        state = self.state
        count = (end - start) // self.job.interval.ms
        totals = state.gap_totals.setdefault(market, [0, 0])
        if totals[0] < GAPS_KEPT:
            state.gaps.append([market, start, end, count])
        totals[0] += 1
        totals[1] += count

    def _note_gaps(self, market: str, candles: list[Candle], upto: int | None) -> None:
        state, d = self.state, self.job.interval.ms
        last = state.last_open.get(market)
        expect = self.job.start_ms if last is None else last + d
        for candle in candles:
            if candle.t - expect >= d:
                self._gap(market, expect, candle.t)
            expect = candle.t + d
            state.last_open[market] = candle.t
        if upto is not None and upto - expect >= d:
            self._gap(market, expect, upto)

    # ------------------------------------------------------------ the run

    def run(self) -> FetchSummary:
        job, state, client = self.job, self.state, self.client
        d = job.interval.ms
        span = client.max_candles * d
        total = len(job.markets) * -(-(job.end_ms - job.start_ms) // d)
        done = len(job.markets) * ((state.next_ms - job.start_ms) // d)
        names = self._call(
            f"{job.venue} market list", lambda: client.resolve(job.markets, self.pacer), 0.0
        )
        self.reporter.start(total, done, f"{', '.join(job.markets)} {job.interval.name}")
        order = {m: i for i, m in enumerate(job.markets)}
        while state.next_ms < job.end_ms:
            w0 = state.next_ms
            w1 = min(job.end_ms, w0 + span)
            rows: list[tuple[int, int, str, float]] = []
            got: dict[str, list[Candle]] = {}
            for market in job.markets:
                candles = self._window(market, names[market], w0, w1)
                got[market] = candles
                for candle in candles:
                    for t, price in candle_marks(candle, d):
                        rows.append((t, order[market], market, price))
                self.reporter.advance(-(-(w1 - w0) // d))
            rows.sort(key=lambda r: (r[0], r[1]))
            text = "".join(f"{format_timestamp(t)},{m},{format_price(p)}\n" for t, _, m, p in rows)
            last_window = w1 >= job.end_ms
            for market in job.markets:
                state.candles[market] = state.candles.get(market, 0) + len(got[market])
                self._note_gaps(market, got[market], job.end_ms if last_window else None)
            self._append(text)
            state.rows += len(rows)
            state.next_ms = w1
            _write_atomic(self.state_path, state.to_json())
        self.reporter.finish()
        if state.rows == 0:
            for path in (self.part, self.state_path):
                path.unlink(missing_ok=True)
            raise FetchError(self._nothing_message())
        os.replace(self.part, self.output)
        self.state_path.unlink(missing_ok=True)
        gaps = [Gap(str(g[0]), int(g[1]), int(g[2]), int(g[3])) for g in state.gaps]
        gaps.sort(key=lambda g: (order.get(g.market, 0), g.start_ms))
        notes = list(self.notes)
        hint = self._retention_hint()
        if hint and any(g.start_ms == job.start_ms for g in gaps):
            notes.append(hint)
        return FetchSummary(
            job,
            self.output,
            state.rows,
            dict(state.candles),
            gaps,
            {m: (v[0], v[1]) for m, v in state.gap_totals.items()},
            dict(state.bad),
            self.resumed_from,
            notes,
        )

    def _retention_hint(self) -> str:
        keep = getattr(self.client, "retention", None)
        if not keep:
            return ""
        d = self.job.interval.ms
        oldest = self.job.interval.align(round(time.time() * 1000)) - keep * d
        if self.job.start_ms >= oldest:
            return ""
        return (
            f"{self.job.venue} keeps only its most recent {keep:,} candles per interval: at "
            f"{self.job.interval.name} that reaches back to about {_utc(oldest)}. For older "
            "days use a wider interval (1h reaches back about seven months) or --source binance."
        )

    def _nothing_message(self) -> str:
        text = f"{self.job.venue} has no candles for {self.job.describe()}; nothing was written"
        hint = self._retention_hint()
        return f"{text}. {hint}" if hint else text


def _describe_key(key: dict[str, Any]) -> str:
    try:
        to = key["to"] if key["to"] == "now" else _utc(int(key["to"]))
        return (
            f"--source {key['source']} --market {','.join(key['markets'])} "
            f"--interval {key['interval']} --from {_utc(int(key['from_ms']))} --to {to}"
        )
    except (KeyError, TypeError, ValueError):
        return "unreadable"


def run_fetch(
    job: FetchJob,
    client: CandleClient,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    reporter: Reporter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    pacer: Pacer | None = None,
    rng: random.Random | None = None,
) -> FetchSummary:
    """Download ``job`` with ``client`` into ``output`` (continuing a matching partial
    download). Raises :class:`FetchError` with a message for the trader; what was fetched
    before a failure stays in ``output.part`` for the next run to continue."""
    path = Path(output).expanduser()
    report = reporter or SilentReporter()
    pace = pacer or Pacer(client.budget_per_minute, clock=clock, sleep=sleep)
    pace.note = report.note
    download = _Download(
        job,
        client,
        path,
        reporter=report,
        pacer=pace,
        sleep=sleep,
        rng=rng or random.Random(),
    )
    try:
        download.prepare(force)
        return download.run()
    except OSError as exc:
        where = exc.filename or path
        raise FetchError(f"cannot write {where}: {_os_problem(exc)}") from None
    finally:
        client.close()


def partial_hint(output: str | os.PathLike[str]) -> str:
    """What to tell the trader about a partial download left behind (``''`` when none)."""
    part, state_path = _part_paths(Path(output).expanduser())
    try:
        state = _State.from_json(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return ""
    if not part.exists():
        return ""
    candles = sum(state.candles.values())
    return (
        f"{candles:,} candles (up to {_utc(state.next_ms)}) are kept in {part}: "
        "run the same command again to continue"
    )
