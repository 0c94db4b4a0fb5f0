"""Candles built from the feed's marks in feed time (pure: no UI, no engine).

A :class:`CandleStore` turns marks into 1 m, 5 m and 1 h candles per market, keyed on the
feed's own clock (:attr:`tui.market.PriceSource.feed_time`, delivered with each mark through
the sink's ``on_clock``), so a replay at 100x or a simulation at 60x draws the same candles as
at 1x::

    store = CandleStore()
    store.add("BTC", 100_000.0, 1_700_000_000.0)   # feed time in seconds
    store.candles("BTC", "1m")[-1].close           # 100000.0

Rules:

* A candle covers ``[start, start + interval)`` of feed time, ``start`` a whole multiple of the
  interval (UTC minutes and hours for live feeds and replays; whole minutes and hours since the
  start for the simulation). Its open is the first mark in it, close the last, high and low
  the extremes, ``last`` the feed time of its last mark.
* No mark, no candle: a quiet stretch leaves a gap rather than inventing flat candles (the
  price was not seen then). Readers that need time spacing use ``start``.
* Marks must come in feed-time order. A mark stamped a little earlier than the last one (up to
  one smallest interval, e.g. a wall clock stepped back) counts as happening at the last
  mark's time; one much earlier means the feed's clock started again (a new feed or a new
  replay), and that market's history starts afresh.
* Bounded: each market keeps the last ``capacity`` candles of each interval (default 240:
  4 h of 1 m, 20 h of 5 m, 10 days of 1 h candles). Memory is ``markets x intervals x
  capacity`` candles whatever the history.
* Cost per mark is constant: inside the current smallest candle (the usual case) it updates
  the current candle of each interval; starting a candle appends one to each interval whose
  candle changed (intervals nest: each is a whole multiple of the one before).
* A mark that is not a finite positive price at a finite time is ignored (``add`` returns
  ``False``) and changes nothing.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import islice, pairwise
from typing import NamedTuple

__all__ = [
    "DEFAULT_CAPACITY",
    "INTERVALS",
    "Candle",
    "CandleStore",
    "interval_seconds",
]

INTERVALS: Mapping[str, float] = {"1m": 60.0, "5m": 300.0, "1h": 3600.0}
"""The chart's intervals by name, in seconds of feed time."""

DEFAULT_CAPACITY = 240
"""Candles kept per market and interval."""

_INF = math.inf


class Candle(NamedTuple):
    """One candle (a read-only copy; the store keeps its own)."""

    start: float
    open: float
    high: float
    low: float
    close: float
    last: float
    """Feed time of the last mark in the candle."""

    @property
    def up(self) -> bool:
        """Closed at or above its open."""
        return self.close >= self.open


def interval_seconds(interval: str | float) -> float:
    """``"5m"`` -> ``300.0``; a number of seconds passes through. ``ValueError`` otherwise."""
    if isinstance(interval, str):
        try:
            return INTERVALS[interval.strip().lower()]
        except KeyError:
            raise ValueError(
                f"unknown candle interval {interval!r}; choose one of: {', '.join(INTERVALS)}"
            ) from None
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise ValueError(f"a candle interval is a name or seconds, not {interval!r}")
    seconds = float(interval)
    if not (0.0 < seconds < _INF):
        raise ValueError(f"a candle interval must be a positive number of seconds, not {interval}")
    return seconds


class _Market:
    """One market's series. ``current[i]`` is the open candle of interval ``i``, as a list
    ``[start, open, high, low, close, last]`` (also the last element of ``series[i]``)."""

    __slots__ = ("current", "edge", "last", "series")

    def __init__(self, n: int, capacity: int) -> None:
        self.series: list[deque[list[float]]] = [deque(maxlen=capacity) for _ in range(n)]
        self.current: list[list[float]] = []
        self.edge = -_INF  # feed time at which the smallest current candle ends
        self.last = -_INF  # feed time of the last mark


class CandleStore:
    """Bounded candles per market and interval, built from marks in feed time (module doc)."""

    def __init__(
        self, intervals: Iterable[str | float] = tuple(INTERVALS), capacity: int = DEFAULT_CAPACITY
    ) -> None:
        seconds = [interval_seconds(i) for i in intervals]
        if not seconds:
            raise ValueError("a candle store needs at least one interval")
        for small, big in pairwise(seconds):
            ratio = big / small
            if big <= small or abs(ratio - round(ratio)) > 1e-9:
                raise ValueError(
                    "candle intervals must grow, each a whole multiple of the one before "
                    f"({small:g} s then {big:g} s)"
                )
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a whole number of candles >= 1, not {capacity!r}")
        self.intervals: tuple[float, ...] = tuple(seconds)
        self.capacity = capacity
        self._markets: dict[str, _Market] = {}

    # ------------------------------------------------------------------ writing

    def add(self, symbol: str, price: float, time: float) -> bool:
        """Fold one mark into ``symbol``'s candles; ``False`` (nothing changed) for a price or
        time that is not a finite number (a price must also be > 0)."""
        try:
            if not (0.0 < price < _INF and -_INF < time < _INF):
                return False
        except TypeError:
            return False
        m = self._markets.get(symbol)
        if m is None:
            m = self._markets[symbol] = _Market(len(self.intervals), self.capacity)
        if time < m.last:
            if m.last - time > self.intervals[0]:  # the feed's clock started again
                m = self._markets[symbol] = _Market(len(self.intervals), self.capacity)
            else:
                time = m.last  # a little late: it happened no earlier than the last mark
        m.last = time
        if time < m.edge:  # inside the current candles: the usual case
            for c in m.current:
                if price > c[2]:
                    c[2] = price
                elif price < c[3]:
                    c[3] = price
                c[4] = price
                c[5] = time
            return True
        self._roll(m, price, time)
        return True

    def _roll(self, m: _Market, price: float, time: float) -> None:
        """Start new candles where ``time`` left the current ones; update the others."""
        current: list[list[float]] = []
        for i, (iv, series) in enumerate(zip(self.intervals, m.series, strict=True)):
            c = m.current[i] if m.current else None
            if c is not None and time < c[0] + iv:
                if price > c[2]:
                    c[2] = price
                elif price < c[3]:
                    c[3] = price
                c[4] = price
                c[5] = time
            else:
                start = math.floor(time / iv) * iv
                c = [start, price, price, price, price, time]
                series.append(c)
            current.append(c)
        m.current = current
        m.edge = current[0][0] + self.intervals[0]

    def clear(self, symbol: str | None = None) -> None:
        """Forget one market's candles, or every market's (a new feed started)."""
        if symbol is None:
            self._markets.clear()
        else:
            self._markets.pop(symbol, None)

    # ------------------------------------------------------------------ reading

    @property
    def symbols(self) -> list[str]:
        return list(self._markets)

    def candles(self, symbol: str, interval: str | float, limit: int | None = None) -> list[Candle]:
        """``symbol``'s candles of ``interval`` (one of the store's), oldest first; the last is
        still open. At most ``limit`` (the newest), else all kept. Unknown symbol: ``[]``."""
        index = self._index(interval)
        m = self._markets.get(symbol)
        if m is None:
            return []
        series = m.series[index]
        n = len(series) if limit is None else max(0, min(int(limit), len(series)))
        return [Candle(*c) for c in islice(series, len(series) - n, None)]

    def last_time(self, symbol: str) -> float | None:
        """Feed time of ``symbol``'s last mark (``None`` before any)."""
        m = self._markets.get(symbol)
        return None if m is None or not m.current else m.last

    def _index(self, interval: str | float) -> int:
        seconds = interval_seconds(interval)
        try:
            return self.intervals.index(seconds)
        except ValueError:
            kept = ", ".join(f"{s:g} s" for s in self.intervals)
            raise ValueError(
                f"this store keeps {kept} candles, not {seconds:g} s ({interval!r})"
            ) from None
