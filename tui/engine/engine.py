"""The paper-trading engine: one-way positions, Isolated and Cross margin, liquidation, funding.

Rules: docs/rules.md; every formula comes from :mod:`tui.engine.margin`; the rules that differ
between venues are chosen by the engine's :class:`~tui.engine.venues.Venue`.

Speed: :meth:`PaperEngine.set_mark` costs the same whatever the number of open positions. The
engine keeps one running total, the cross *buffer* ``sum(u - MM)`` over cross positions, which a
tick moves by ``(s * q - q * rate) * dP`` of the ticked position only. Margin tables make
``MM = q * P * rate - amount`` piecewise linear in the mark: each position caches the mark range
of its current tier, and only a tick that leaves it re-tiers the position (still O(1): the
buffer moves by the exact difference of that one position's ``u - MM``). The cross account is
liquidated when ``W + buffer <= 0`` (that is ``V <= R``); an isolated position when its mark
crosses its cached liquidation price. Displayed cross liquidation prices, account totals and
previews are computed on read.
"""

from __future__ import annotations

import contextlib
import math
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tui.engine import book as bk
from tui.engine import margin as mg
from tui.engine import venues as vn
from tui.engine.book import OrderBook, Quote
from tui.engine.limits import (
    MAX_BALANCE,
    MAX_FUNDING_RATE,
    MAX_NOTIONAL,
    MAX_PRICE,
    MAX_SIZE,
    MIN_NOTIONAL,
    MIN_PRICE,
    MIN_SIZE,
)
from tui.engine.markets import venue_markets
from tui.engine.models import (
    AccountView,
    Event,
    Fill,
    FundingPayment,
    InvalidInput,
    LeverageChange,
    LeveragePreview,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    Order,
    OrderRejected,
    OrderType,
    PositionView,
    Preview,
    Side,
    check_number,
    check_price,
    check_range,
    margin_advice,
    shown,
    to_float,
)
from tui.engine.orders import KEEP, OrderDesk
from tui.engine.venues import Venue

_INF = math.inf
_REL_TOL = 1e-9  # sizes and amounts within this fraction count as equal (float noise)

Listener = Callable[[Event], None]


class _Table:
    """A market's margin table as flat tuples, for the engine's hot paths."""

    __slots__ = ("amounts", "floors", "n", "rates")

    def __init__(self, market: Market) -> None:
        self.floors = tuple(float(t.notional_floor) for t in market.tiers)
        self.rates = tuple(float(t.maintenance_rate or 0.0) for t in market.tiers)
        self.amounts = tuple(float(t.maintenance_amount or 0.0) for t in market.tiers)
        self.n = len(self.floors)

    def maintenance(self, notional: float) -> float:
        t = mg.tier_index(self.floors, notional) if self.n > 1 else 0
        return mg.tiered_maintenance(notional, self.rates[t], self.amounts[t])

    def liquidation_price(self, s: int, q: float, entry: float, collateral: float) -> float:
        if self.n == 1:
            return mg.liquidation_price(s, q, entry, collateral + self.amounts[0], self.rates[0])
        return mg.tiered_liquidation_price(
            s, q, entry, collateral, self.floors, self.rates, self.amounts
        )


class _Pos:
    """Mutable internal position.

    The tier in force at the current mark is cached with the mark range it covers
    (``tier_lo <= P < tier_hi``) and ``k = s*q - q*rate``, the cross buffer's move per unit of
    mark. ``lo`` / ``hi`` are the market's order edges (tui/engine/orders.py keeps them
    current): a mark at or below ``lo`` or at or above ``hi`` reaches an open order. Both are
    kept here so a tick reads them from the object it already holds.
    """

    __slots__ = (
        "amount",
        "cross",
        "entry",
        "hi",
        "k",
        "lev",
        "liq",
        "lo",
        "margin",
        "market",
        "mode",
        "opened_at",
        "q",
        "rate",
        "s",
        "table",
        "tier_hi",
        "tier_lo",
    )

    def __init__(
        self,
        market: str,
        s: int,
        q: float,
        entry: float,
        mode: MarginMode,
        lev: float,
        margin: float,
        table: _Table,
        opened_at: float,
        mark: float,
    ) -> None:
        self.market = market
        self.s = s
        self.q = q
        self.entry = entry
        self.mode = mode
        self.cross = mode is MarginMode.CROSS
        self.lev = lev
        self.margin = margin  # posted margin M (isolated only)
        self.table = table
        self.opened_at = opened_at
        self.lo = -_INF  # order edges (orders.py)
        self.hi = _INF
        self.refresh(mark)

    def _isolated_liq(self) -> float:
        if self.cross:
            return math.nan  # cross liquidation is decided by the account, never by this field
        return self.table.liquidation_price(self.s, self.q, self.entry, self.margin)

    def retier(self, mark: float) -> None:
        """Cache the tier in force at ``mark``: its rate and amount, its mark range and the
        slope ``k``."""
        table, q = self.table, self.q
        if table.n == 1:
            t, self.tier_lo, self.tier_hi = 0, -_INF, _INF
        else:
            t = mg.tier_index(table.floors, q * mark)
            self.tier_lo = table.floors[t] / q if t else -_INF
            self.tier_hi = table.floors[t + 1] / q if t + 1 < table.n else _INF
        self.rate = table.rates[t]
        self.amount = table.amounts[t]
        self.k = mg.buffer_slope(self.s, q, self.rate)

    def shift(self, old: float, new: float) -> float:
        """How this position's ``u - MM`` moves from mark ``old`` (in the cached tier) to
        ``new`` (in another one); re-tiers the position at ``new``. Inlined: a hot path."""
        q, table = self.q, self.table
        mm_old = q * old * self.rate - self.amount
        floors = table.floors
        t = bisect_right(floors, q * new) - 1
        t = t if t > 0 else 0
        self.tier_lo = floors[t] / q if t else -_INF
        self.tier_hi = floors[t + 1] / q if t + 1 < table.n else _INF
        rate = self.rate = table.rates[t]
        amount = self.amount = table.amounts[t]
        self.k = self.s * q - q * rate
        return self.s * q * (new - old) - (q * new * rate - amount - mm_old)

    def refresh(self, mark: float) -> None:
        """Recompute the cached figures after q, entry or margin changed."""
        self.retier(mark)
        self.liq = self._isolated_liq()

    def copy(self, mark: float) -> _Pos:
        new = _Pos(
            self.market,
            self.s,
            self.q,
            self.entry,
            self.mode,
            self.lev,
            self.margin,
            self.table,
            self.opened_at,
            mark,
        )
        new.lo, new.hi = self.lo, self.hi
        return new

    @property
    def side(self) -> Side:
        return Side.LONG if self.s > 0 else Side.SHORT

    def upnl(self, mark: float) -> float:
        return mg.unrealized_pnl(self.s, self.q, self.entry, mark)

    def mm(self, mark: float) -> float:
        """Maintenance margin at ``mark``, with the tier in force at that mark."""
        return self.table.maintenance(mg.notional(self.q, mark))

    def buffer(self, mark: float) -> float:
        """This position's part of the cross buffer: ``u - MM``."""
        return self.upnl(mark) - self.mm(mark)

    def liquidation_price(self, collateral: float) -> float:
        return self.table.liquidation_price(self.s, self.q, self.entry, collateral)


@dataclass(slots=True)
class _Plan:
    """What an order does, computed without changing anything."""

    market: str
    side: Side
    size: float
    requested: float
    mode: MarginMode
    leverage: float
    mark: float
    fill: float
    kind: str
    close_q: float
    open_q: float
    fee_close: float
    fee_open: float
    realized: float
    im: float
    wallet_after: float
    new_pos: _Pos | None
    available_before: float
    available_after: float
    max_leverage: float
    rejection: str | None
    order_id: int | None = None  # set when an order (tui/engine/orders.py) is filling
    quote: Quote | None = None  # how a taker fill was priced (None: at a given price)
    unfilled: float = 0.0  # what the book could not fill (``size`` is what fills)


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _reachable(liq: float) -> float | None:
    """A liquidation price, or None when no mark the engine takes can reach it (<= 0 too)."""
    return liq if MIN_PRICE <= liq <= MAX_PRICE else None


def _plain(x: float) -> str:
    """A bound written out: 0.000000001, 1,000,000,000."""
    return f"{x:,.0f}" if x >= 1 else f"{x:.12f}".rstrip("0")


def _lev(x: float) -> str:
    return f"{x:g}x"


def _size(x: float) -> str:
    """A size in a message: its significant digits, never a float's binary noise."""
    text = f"{x:.12g}"
    if "e" in text:
        text = f"{x:.10f}".rstrip("0").rstrip(".") if x < 1 else f"{x:,.0f}"
    return text or "0"


def _qty(q: float, price: float) -> str:
    """A size for a message: enough decimals for about a cent of value at ``price``."""
    decimals = max(0, min(10, math.ceil(math.log10(max(price, 1e-12) * 100))))
    text = f"{q:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class PaperEngine:
    """An in-memory paper-trading account on perpetual markets, under one venue's rules.

    >>> eng = PaperEngine(balance=10_000, markets=[Market("BTC", max_leverage=40)])
    >>> eng.set_mark("BTC", 100_000)
    >>> eng.open("BTC", Side.LONG, size=0.1, leverage=10, mode=MarginMode.ISOLATED).price
    100000.0
    """

    def __init__(
        self,
        balance: float = 10_000.0,
        markets: Iterable[Market] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        venue: Venue | str = Venue.HYPERLIQUID,
        slippage_limit: float = bk.DEFAULT_SLIPPAGE_LIMIT,
        book_max_age: float = bk.DEFAULT_BOOK_MAX_AGE,
    ) -> None:
        self._deposits = check_number("Starting balance", balance)
        if not self._deposits <= MAX_BALANCE:
            raise InvalidInput(
                f"Starting balance {shown(balance)} is more than the engine takes "
                f"(at most {_plain(MAX_BALANCE)})."
            )
        self._venue = Venue.parse(venue)
        self._markets: dict[str, Market] = {}
        self._tables: dict[str, _Table] = {}
        for market in venue_markets(self._venue) if markets is None else markets:
            self.add_market(market)
        self._clock = clock
        self._marks: dict[str, float] = {}
        self._funding_rates: dict[str, float] = {}
        self._positions: dict[str, _Pos] = {}
        self._cross: dict[str, _Pos] = {}
        self._wallet = self._deposits
        self._buffer = 0.0  # sum(u - MM) over cross positions, moved incrementally by ticks
        self._realized = 0.0
        self._fees = 0.0
        self._funding = 0.0
        self._forfeited = 0.0
        self._seq = 0
        self._group = 0
        self._cooldown_until = -_INF  # Hyperliquid: partial liquidations pause until then
        self._next_funding = vn.next_funding_time(clock(), 1.0)
        self.events: list[Event] = []
        self.listeners: list[Listener] = []
        self._holds = 0  # > 0: listeners hear new records when the step ends (see _hold)
        self._held: list[Event] = []
        self._desk = OrderDesk(self)  # open orders: tui/engine/orders.py
        self._edges = self._desk.edges  # market -> the marks that set off its nearest orders
        self._books: dict[str, OrderBook] = {}  # order books (tui/engine/book.py)
        # What a liquidation took from each market's book (a book is walked once, not twice)
        self._liq_taken: dict[str, tuple[OrderBook, float]] = {}
        self._slippage_limits: dict[str, float] = {}
        self._slippage_limit = bk.DEFAULT_SLIPPAGE_LIMIT
        self._book_max_age = bk.DEFAULT_BOOK_MAX_AGE
        self.set_execution(slippage_limit=slippage_limit, book_max_age=book_max_age)

    @property
    def venue(self) -> Venue:
        """Whose rules this account follows (chosen for the whole account)."""
        return self._venue

    # ------------------------------------------------------------------ markets and marks

    def add_market(self, market: Market) -> None:
        if not isinstance(market, Market):
            raise InvalidInput(f"Not a market: {market!r}.")
        if market.name in self._markets:
            raise InvalidInput(f"Market {market.name} is already listed.")
        self._markets[market.name] = market
        self._tables[market.name] = _Table(market)

    def update_market(self, market: Market) -> None:
        """Replace a listed market's terms (max leverage, margin table, steps, fees) by
        ``market``'s: the venue published a new table. An open position keeps its size, entry,
        leverage and margin and is re-tiered at the current mark, so its maintenance margin,
        liquidation price and the cross buffer follow the new table at once; one the new table
        puts at or below maintenance is liquidated as a mark would liquidate it. Resting orders
        stay (a fill checks the new table). Raises :class:`InvalidInput` for a market that is
        not listed, and then changes nothing.
        """
        if not isinstance(market, Market):
            raise InvalidInput(f"Not a market: {market!r}.")
        if market.name not in self._markets:
            known = ", ".join(self._markets) or "none"
            raise InvalidInput(
                f"Market {market.name} is not listed, so it cannot be updated. Markets: {known}."
            )
        table = _Table(market)
        self._markets[market.name] = market
        self._tables[market.name] = table
        pos = self._positions.get(market.name)
        if pos is None:
            return
        pos.table = table
        pos.refresh(self._marks[pos.market])
        if pos.cross:
            self._resync()
            self._check_cross()
        elif mg.is_beyond(pos.s, self._marks[pos.market], pos.liq):
            self._liquidate_isolated(pos)

    @property
    def markets(self) -> dict[str, Market]:
        return dict(self._markets)

    @property
    def anything_open(self) -> bool:
        """Whether a position or a resting order is open (no views built: cheap to ask)."""
        return bool(self._positions) or bool(self._desk.open)

    def market(self, name: str) -> Market:
        return self._markets[self._name(name)]

    def _name(self, name: object) -> str:
        if isinstance(name, str):
            if name in self._markets:
                return name
            upper = name.strip().upper()
            if upper in self._markets:
                return upper
        known = ", ".join(self._markets) or "none"
        raise InvalidInput(f"Unknown market {name!r}. Markets: {known}.")

    def mark(self, market: str) -> float | None:
        return self._marks.get(self._name(market))

    @property
    def marks(self) -> dict[str, float]:
        return dict(self._marks)

    def set_mark(self, market: str, price: float) -> None:
        """Set a market's mark price and liquidate whatever it takes below maintenance.

        ``price`` is any real number (int, float, Decimal, Fraction...), converted to a float
        once, within ``[MIN_PRICE, MAX_PRICE]`` (:mod:`tui.engine.limits`). Raises
        :class:`InvalidInput` (a ``ValueError``) on anything else or an unknown market, and
        then changes nothing. Cost is independent of how many positions are open.
        """
        marks = self._marks
        old = marks.get(market)
        # The fast path: a float in range on a known, already-priced market. Anything else
        # (first mark, a name to normalise, an int or Decimal, NaN, out of range) is checked
        # and converted on the slow path, which comes back here with a float.
        if old is None or price.__class__ is not float or not MIN_PRICE <= price <= MAX_PRICE:
            self._set_mark_checked(market, price)
            return
        marks[market] = price
        pos = self._positions.get(market)
        if pos is not None:
            if pos.cross:
                if pos.tier_lo <= price < pos.tier_hi:
                    buf = self._buffer + pos.k * (price - old)
                else:  # the position's notional crossed a tier boundary: re-tier this one
                    buf = self._buffer + pos.shift(old, price)
                self._buffer = buf
                if not self._wallet + buf > 0.0:  # written so that a NaN liquidates, never hides
                    self._liquidate_cross()
            elif (price <= pos.liq) if pos.s > 0 else (price >= pos.liq):
                self._liquidate_isolated(pos)
            if not pos.lo < price < pos.hi:  # the mark reached an open order (orders.py)
                self._desk.tick(market, price)
        elif market in self._edges:  # open orders and no position
            lo, hi = self._edges[market]
            if not lo < price < hi:
                self._desk.tick(market, price)

    def _set_mark_checked(self, market: str, price: object) -> None:
        name = self._name(market)
        value = self._price(name, price)
        if name != market or name in self._marks:
            self.set_mark(name, value)
        else:
            self._marks[name] = value  # no position can exist without a mark

    @staticmethod
    def _entry(name: str, entry: object) -> float:
        """A saved entry price: a fill, so the mark bounds moved by slippage (below 100 %)."""
        value = check_number(f"Saved {name} entry", entry)
        if not value <= 2 * MAX_PRICE:
            raise InvalidInput(
                f"Saved {name} entry {shown(entry)} is out of range: above any fill the engine "
                f"makes ({_plain(2 * MAX_PRICE)})."
            )
        return value

    @staticmethod
    def _price(name: str, price: object) -> float:
        return check_price(f"{name} price", price)

    def set_marks(self, marks: Mapping[str, float]) -> None:
        for market, price in marks.items():
            self.set_mark(market, price)

    def set_funding_rate(self, market: str, rate: float) -> None:
        """Record a market's current hourly funding rate (for display and previews)."""
        self._funding_rates[self._name(market)] = self._rate(rate)

    def funding_rate(self, market: str) -> float | None:
        return self._funding_rates.get(self._name(market))

    @staticmethod
    def _rate(rate: object) -> float:
        limit = MAX_FUNDING_RATE
        return check_range("Funding rate", rate, -limit, limit, " per hour")

    def min_notional(self, market: str) -> float:
        """The smallest order value on ``market``: its own minimum, else the venue's."""
        mkt = self.market(market)
        return self._venue.min_notional if mkt.min_notional is None else float(mkt.min_notional)

    def funding_interval_hours(self, market: str) -> float:
        """Hours between ``market``'s funding payments under this venue."""
        mkt = self.market(market)
        return self._interval(mkt)

    def _interval(self, mkt: Market) -> float:
        if self._venue is Venue.HYPERLIQUID or mkt.funding_interval_hours is None:
            return self._venue.funding_interval_hours
        return float(mkt.funding_interval_hours)

    # ------------------------------------------------------------------ order books

    def set_book(
        self, market: str, bids: object, asks: object, *, time: float | None = None
    ) -> None:
        """Set ``market``'s order book: ``bids`` and ``asks`` as ``(price, size)`` levels, best
        first. Market orders and fired stops then fill against it (docs/rules.md, "Fills
        against the book"), and resting limits fill when the other side reaches their price;
        a position whose liquidation the last book could not finish is tried on this one.
        ``time`` is when it was taken, on the engine's clock (default: now). Raises
        :class:`InvalidInput` (nothing changes) for a malformed or crossed book."""
        name = self._name(market)
        when = self._clock() if time is None else check_number("Book time", time, allow_zero=True)
        self._books[name] = bk.make_book(name, bids, asks, when, self._marks.get(name))
        pos = self._positions.get(name)
        if pos is not None:  # still below maintenance (a book that ran short): try this one
            if pos.cross:
                self._check_cross()
            elif mg.is_beyond(pos.s, self._marks[name], pos.liq):
                self._liquidate_isolated(pos)
        if name in self._desk.books and name in self._marks:  # a resting limit may be reached
            self._desk.tick(name, self._marks[name])

    def clear_book(self, market: str) -> None:
        """Forget ``market``'s book: its fills go back to the mark (rule 2)."""
        self._books.pop(self._name(market), None)

    def book(self, market: str) -> OrderBook | None:
        """The book last set for ``market`` (None when none was set, or it was cleared)."""
        return self._books.get(self._name(market))

    def set_execution(
        self,
        *,
        slippage_limit: float | None = None,
        book_max_age: float | None = None,
        market: str | None = None,
    ) -> None:
        """How far from the mark a market order may fill (a fraction, 0 < limit < 1: for every
        market, or only ``market``), and how many seconds a book may be older than its
        market's last mark and still price a fill."""
        if slippage_limit is not None:
            limit = check_number("Slippage limit", slippage_limit)
            if limit >= 1:
                raise InvalidInput(f"Slippage limit must be below 100 %, not {limit:g}.")
            if market is None:
                self._slippage_limit = limit
                self._slippage_limits.clear()
            else:
                self._slippage_limits[self._name(market)] = limit
        if book_max_age is not None:
            self._book_max_age = check_number("Book age", book_max_age, allow_zero=True)

    def slippage_limit(self, market: str) -> float:
        """How far from the mark a market order in ``market`` may fill (0.08 = 8 %)."""
        return self._slippage_limits.get(self._name(market), self._slippage_limit)

    @property
    def book_max_age(self) -> float:
        return self._book_max_age

    def quote(
        self, market: str, side: Side | str, size: float, *, worst: float | None = None
    ) -> Quote:
        """What a taker order of ``size`` would get in ``market`` now, changing nothing: through
        the book when there is a usable one, else at the mark (plus the market's fixed
        slippage). ``worst`` is the worst price it may fill at (default: the market's slippage
        limit from the mark; ``math.inf`` for a buy or 0 for a sell takes the whole book, as a
        liquidation might). :class:`OrderRejected` without a mark."""
        name = self._name(market)
        mark = self._marks.get(name)
        if mark is None:
            raise OrderRejected(f"{name} has no price yet; wait for the feed and try again.")
        side_ = Side.parse(side)
        q = self._size("Size", name, size)
        if worst is not None:
            worst = check_number("Worst price", worst, allow_zero=True) if worst != _INF else worst
        return self._quote(name, side_, q, mark, worst, limit=False)

    def _usable_book(self, name: str, mark: float) -> tuple[OrderBook | None, str, str]:
        """The book that may price a fill now, or (None, why not) (rule 4: a book older than
        the last mark by more than the allowed age is not used). set_mark records no times:
        a book is taken as no older than the last mark while the mark has not moved since it
        was set, and as older by its age on the clock once the mark has moved (which can only
        overstate its age, when the whole feed stalls: then the mark prices the fill). A book
        whose best bid or ask is beyond the slippage limit on the wrong side of the mark is not
        used either. Returns (book, "", "") or (None, pricing label, why)."""
        book = self._books.get(name)
        if book is None:
            return None, bk.MARK, ""
        limit = self._slippage_limits.get(name, self._slippage_limit)
        bids, asks = book.bid_prices, book.ask_prices
        if (bids and bids[0] > mark * (1.0 + limit)) or (asks and asks[0] < mark * (1.0 - limit)):
            return (
                None,
                bk.FAR,
                (
                    f"The {name} order book is more than {limit * 100:g} % away from the mark (a "
                    "feed glitch, or a mark held back): priced at the mark instead."
                ),
            )
        if book.mark == mark:
            return book, "", ""
        age = self._clock() - book.time
        if age <= self._book_max_age:
            return book, "", ""
        return (
            None,
            bk.STALE,
            (
                f"The {name} order book is {age:,.0f} s old while the mark has moved on: priced at "
                "the mark instead."
            ),
        )

    def _quote(
        self, name: str, side: Side, q: float, mark: float, worst: float | None, limit: bool
    ) -> Quote:
        """A taker fill of ``q``. ``worst`` None: the slippage limit from the mark; with
        ``limit`` it is a limit order's price (no fixed slippage beyond it without a book)."""
        s = side.sign
        if worst is None:
            worst = mark * (1.0 + s * self._slippage_limits.get(name, self._slippage_limit))
        book, pricing, why = self._usable_book(name, mark)
        if book is not None:
            return bk.quote_book(book, side, q, mark, worst)
        fill = mg.fill_price(mark, s, self._markets[name].slippage)
        if limit:
            fill = min(worst, fill) if s > 0 else max(worst, fill)
        return bk.quote_mark(name, side, q, mark, fill, pricing, why)

    def _taker_top(self, name: str, side: Side) -> float:
        """The first price a taker order of ``side`` would meet: the best ask (buy) or bid
        (sell) of a usable book, else the mark (a limit is marketable at or through it)."""
        mark = self._marks[name]
        book, _, _ = self._usable_book(name, mark)
        if book is None:
            return mark
        if side is Side.LONG:
            return book.ask_prices[0] if book.ask_prices else _INF
        return book.bid_prices[0] if book.bid_prices else 0.0

    # ------------------------------------------------------------------ reading state

    def position(self, market: str) -> PositionView | None:
        pos = self._positions.get(self._name(market))
        return None if pos is None else self._view(pos)

    def positions(self) -> list[PositionView]:
        """Every open position, in the order they were opened."""
        return [self._view(pos) for pos in self._positions.values()]

    def _view(self, pos: _Pos) -> PositionView:
        mark = self._marks[pos.market]
        upnl = pos.upnl(mark)
        margin = mg.initial_margin(pos.q, mark, pos.lev) if pos.cross else pos.margin
        return PositionView(
            market=pos.market,
            side=pos.side,
            size=pos.q,
            entry_price=pos.entry,
            mark_price=mark,
            mode=pos.mode,
            leverage=pos.lev,
            margin=margin,
            unrealized_pnl=upnl,
            maintenance_margin=pos.mm(mark),
            liquidation_price=self._liq_of(pos, self._wallet + self._buffer),
            opened_at=pos.opened_at,
        )

    def _liq_of(self, pos: _Pos, cross_excess: float) -> float | None:
        """Liquidation price; ``cross_excess`` is ``W + buffer`` of the state to read."""
        if pos.cross:
            others = cross_excess - pos.buffer(self._marks[pos.market])
            liq = pos.liquidation_price(others)
        else:
            liq = pos.liq
        return _reachable(liq)

    def _cross_sums(self) -> tuple[float, float, float]:
        """(unrealized PnL, maintenance margin, margin used) over cross positions."""
        upnl = mm = used = 0.0
        marks = self._marks
        for pos in self._cross.values():
            mark = marks[pos.market]
            upnl += pos.upnl(mark)
            mm += pos.mm(mark)
            used += mg.initial_margin(pos.q, mark, pos.lev)
        return upnl, mm, used

    def _available(self) -> float:
        upnl, _, used = self._cross_sums()
        return self._wallet + upnl - used - self._desk.reserved

    @property
    def account(self) -> AccountView:
        upnl, mm, used = self._cross_sums()
        iso_margin = iso_upnl = 0.0
        for pos in self._positions.values():
            if not pos.cross:
                iso_margin += pos.margin
                iso_upnl += pos.upnl(self._marks[pos.market])
        value = self._wallet + upnl
        reserved = self._desk.reserved
        return AccountView(
            wallet_balance=self._wallet,
            equity=value + iso_margin + iso_upnl,
            available=value - used - reserved,
            cross_account_value=value,
            cross_maintenance_margin=mm,
            cross_margin_used=used,
            margin_ratio=mg.margin_ratio(mm, value) if self._cross else 0.0,
            isolated_margin=iso_margin,
            unrealized_pnl=upnl + iso_upnl,
            realized_pnl=self._realized,
            fees_paid=self._fees,
            funding_paid=self._funding,
            forfeited=self._forfeited,
            deposits=self._deposits,
            order_margin=reserved,
        )

    @property
    def liquidations(self) -> list[Liquidation]:
        return [e for e in self.events if isinstance(e, Liquidation)]

    @property
    def fills(self) -> list[Fill]:
        return [e for e in self.events if isinstance(e, Fill)]

    @property
    def funding_payments(self) -> list[FundingPayment]:
        return [e for e in self.events if isinstance(e, FundingPayment)]

    # ------------------------------------------------------------------ orders

    def preview(
        self,
        market: str,
        side: Side | str,
        size: float,
        leverage: float,
        mode: MarginMode | str = MarginMode.ISOLATED,
    ) -> Preview:
        """What :meth:`open` would do with these arguments, changing nothing.

        Never raises for a bad order: ``rejection`` holds the message ``open`` would raise.
        ``size`` is the size the order would fill (rounded to the market's size step);
        ``requested_size`` the size asked for.
        """
        try:
            plan = self._plan(market, side, size, leverage, mode)
        except OrderRejected as exc:
            return self._rejected_preview(market, side, size, leverage, mode, str(exc))
        return self._preview_plan(plan)

    def _preview_plan(self, plan: _Plan, rest_at: float | None = None) -> Preview:
        """The preview of ``plan``; ``rest_at``: the price where the unfilled rest of a
        marketable limit order would wait."""
        excess_before = self._wallet + self._buffer
        excess_after = self._excess_after(plan)
        moved: dict[str, tuple[float | None, float | None]] = {}
        for name, pos in self._cross.items():
            if name == plan.market:
                continue
            before = self._liq_of(pos, excess_before)
            after = self._liq_of(pos, excess_after)
            if before != after:
                moved[name] = (before, after)
        new = plan.new_pos
        liq: float | None = None
        at_risk = 0.0
        maintenance = 0.0
        left: float | None = None
        if new is not None:
            maintenance = new.mm(plan.mark)
            if new.cross:
                others = excess_after - new.buffer(plan.mark)
                value = new.liquidation_price(others)
                liq = _reachable(value)
                at_risk = max(plan.wallet_after, 0.0)
            else:
                liq = _reachable(new.liq)
                at_risk = new.margin
            if liq is not None:
                left = self._left_after_liquidation(plan, new, liq)
        existing = self._positions.get(plan.market)
        released = 0.0
        if existing is not None and plan.close_q:
            if existing.cross:
                released = mg.initial_margin(plan.close_q, plan.mark, existing.lev)
            elif plan.close_q >= existing.q:
                released = existing.margin
            else:
                released = existing.margin * plan.close_q / existing.q
        quote = plan.quote
        warnings: list[str] = []
        if quote is not None and quote.note:
            warnings.append(quote.note)
        if plan.unfilled:
            warnings.append(self._part_filled(plan, rest_at))
        return Preview(
            market=plan.market,
            side=plan.side,
            size=quote.size if quote is not None else plan.size,
            mode=plan.mode,
            leverage=plan.leverage,
            fill_price=plan.fill,
            notional=mg.notional(plan.size, plan.fill),
            margin_required=plan.im,
            fee=plan.fee_close + plan.fee_open,
            liquidation_price=liq,
            rejection=plan.rejection,
            kind=plan.kind,
            at_risk=at_risk,
            available_before=plan.available_before,
            available_after=plan.available_after,
            mark_price=plan.mark,
            locked_mode=existing.mode if existing is not None else None,
            cross_liquidation_prices=moved,
            resulting_size=new.q if new is not None else 0.0,
            resulting_entry=new.entry if new is not None else None,
            requested_size=plan.requested,
            maintenance_margin=maintenance,
            max_leverage=plan.max_leverage,
            left_after_liquidation=left,
            warnings=warnings,
            filled_size=(quote.filled if quote is not None else plan.size),
            slippage=plan.side.sign * (plan.fill - plan.mark) / plan.mark,
            spread_cost=quote.spread_cost if quote is not None else 0.0,
            impact_cost=quote.impact_cost if quote is not None else 0.0,
            pricing=quote.pricing if quote is not None else bk.LIMIT,
            closed_size=plan.close_q,
            realized_pnl=plan.realized,
            margin_released=released,
        )

    def _part_filled(self, plan: _Plan, rest_at: float | None) -> str:
        """What a trader is told when the book fills only part of a taker order."""
        ref = plan.fill
        asked = plan.size + plan.unfilled
        left = _qty(plan.unfilled, ref)
        if rest_at is not None:
            return (
                f"{_qty(plan.size, ref)} of {_qty(asked, ref)} {plan.market} would fill now, "
                f"at {plan.fill:,.8g} on average; the other {left} would wait at "
                f"{rest_at:,.8g}."
            )
        pct = self._slippage_limits.get(plan.market, self._slippage_limit) * 100
        return (
            f"Only {_qty(plan.size, ref)} of {_qty(asked, ref)} {plan.market} would fill: the "
            f"book holds no more within {pct:g} % of the mark; the other {left} would not be "
            "filled."
        )

    def _left_after_liquidation(self, plan: _Plan, new: _Pos, liq: float) -> float:
        """What a liquidation at ``liq`` would leave the trader, every other mark held still.

        Binance: nothing of what was at stake. Hyperliquid: the position(s) close at market
        when equity reaches maintenance, so what is left is the maintenance margin at that
        price (isolated: this position's; cross: every cross position's).
        """
        if self._venue is Venue.BINANCE:
            return 0.0
        own = new.mm(liq)
        if not new.cross:
            return own
        marks = self._marks
        others = math.fsum(
            pos.mm(marks[name]) for name, pos in self._cross.items() if name != plan.market
        )
        return own + others

    def _rejected_preview(
        self, market: object, side: object, size: object, leverage: object, mode: object, why: str
    ) -> Preview:
        def num(x: object) -> float:  # the number as given, or NaN (10**400 included)
            try:
                return to_float("", x)
            except InvalidInput:
                return math.nan

        try:
            name = self._name(market)
        except OrderRejected:
            name = str(market)
        try:
            side_ = Side.parse(side)
        except OrderRejected:
            side_ = Side.LONG
        try:
            mode_ = MarginMode.parse(mode)
        except OrderRejected:
            mode_ = MarginMode.ISOLATED
        mark = self._marks.get(name, math.nan)
        existing = self._positions.get(name)
        available = self._available()
        return Preview(
            market=name,
            side=side_,
            size=num(size),
            mode=mode_,
            leverage=num(leverage),
            fill_price=mark,
            notional=math.nan,
            margin_required=math.nan,
            fee=math.nan,
            liquidation_price=None,
            rejection=why,
            kind="open",
            at_risk=math.nan,
            available_before=available,
            available_after=available,
            mark_price=mark,
            locked_mode=existing.mode if existing is not None else None,
            requested_size=num(size),
        )

    def open(
        self,
        market: str,
        side: Side | str,
        size: float,
        leverage: float,
        mode: MarginMode | str = MarginMode.ISOLATED,
    ) -> Fill:
        """Place a market order. Returns the fill (the opening leg of a flip).

        Same side as an open position: adds. Opposite side: reduces, closes, or flips with the
        remainder opened in ``mode``. The size is rounded to the market's size step first
        (:meth:`Market.round_size`). Raises :class:`OrderRejected` and changes nothing when the
        order cannot go through.
        """
        plan = self._plan(market, side, size, leverage, mode)
        if plan.rejection is not None:
            raise OrderRejected(plan.rejection)
        return self._apply(plan)

    def close(self, market: str, size: float | None = None) -> Fill:
        """Close a position (``size=None``) or part of it at the mark. Never flips: a size
        larger than the position closes all of it. Reduce-only: no minimum order applies."""
        name = self._name(market)
        pos = self._positions.get(name)
        if pos is None:
            raise OrderRejected(f"There is no open {name} position to close.")
        q = pos.q if size is None else min(self._size("Size to close", name, size), pos.q)
        side = Side.SHORT if pos.s > 0 else Side.LONG
        plan = self._plan(name, side, q, pos.lev, pos.mode, reduce_only=True)
        if plan.rejection is not None:  # only when a figure would not be finite
            raise OrderRejected(plan.rejection)
        return self._apply(plan)

    # ------------------------------------------------------------------ orders beyond market

    def place_order(
        self,
        market: str,
        side: Side | str,
        size: float,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        price: float | None = None,
        trigger_price: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> Order:
        """Place an order (rules: docs/rules.md, "Orders"). Returns it; the engine keeps it
        current (``status``, ``filled_size``, ...).

        ``MARKET`` fills now, like :meth:`open`. ``LIMIT`` at ``price`` fills now as a taker if
        the mark is already at or through it, else rests. ``STOP_MARKET`` and
        ``TAKE_PROFIT_MARKET`` wait for the mark to reach ``trigger_price``. ``leverage`` and
        ``mode`` default to the open position's (a reduce-only order always takes them).
        ``take_profit`` / ``stop_loss`` become the position's when the order fills. Raises
        :class:`OrderRejected` and changes nothing when the order cannot be placed.
        """
        ticket = self._desk.check(
            market,
            side,
            size,
            order_type,
            price,
            trigger_price,
            leverage,
            mode,
            reduce_only,
            post_only,
            take_profit,
            stop_loss,
        )
        return self._desk.place(ticket)

    def preview_order(
        self,
        market: str,
        side: Side | str,
        size: float,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        price: float | None = None,
        trigger_price: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> Preview:
        """What :meth:`place_order` would do, changing nothing; never raises for a bad order
        (``rejection`` holds the message). A resting order is shown as it would be once filled
        at its price, with the margin it holds back meanwhile; ``warnings`` says when a
        stop-loss sits at or beyond the liquidation price, or depends on other cross positions.
        """
        try:
            ticket = self._desk.check(
                market,
                side,
                size,
                order_type,
                price,
                trigger_price,
                leverage,
                mode,
                reduce_only,
                post_only,
                take_profit,
                stop_loss,
            )
        except OrderRejected as exc:
            lev = math.nan if leverage is None else leverage
            preview = self._rejected_preview(
                market, side, size, lev, mode or MarginMode.ISOLATED, str(exc)
            )
            with contextlib.suppress(OrderRejected):
                preview = replace(preview, order_type=OrderType.parse(order_type))
            return preview
        return self._desk.preview(ticket)

    def cancel_order(self, order_id: int) -> Order:
        """Cancel an open order (its reserved margin comes back). :class:`OrderRejected` if
        there is no such open order."""
        return self._desk.cancel(order_id)

    def cancel_orders(self, market: str | None = None) -> list[Order]:
        """Cancel every open order (in ``market`` only, when given); returns them."""
        return self._desk.cancel_all(market)

    def open_orders(self, market: str | None = None) -> list[Order]:
        """Every open order, oldest first (in ``market`` only, when given)."""
        return self._desk.orders(market)

    def order(self, order_id: int) -> Order | None:
        """The open order with this id, or None."""
        return self._desk.order(order_id)

    def tp_sl(self, market: str) -> tuple[Order | None, Order | None]:
        """The position's (take-profit, stop-loss) orders in ``market`` (None where unset)."""
        return self._desk.tp_sl(market)

    def set_tp_sl(
        self,
        market: str,
        take_profit: float | object | None = KEEP,
        stop_loss: float | object | None = KEEP,
    ) -> list[Order]:
        """Give the position in ``market`` a take-profit and / or a stop-loss: reduce-only
        trigger orders for the whole position when they fire; when one fires the other is
        cancelled, and closing the position cancels both. A price sets (or replaces) one, None
        clears it, leaving an argument out keeps it as it is. Returns the position's TP/SL
        orders. :class:`OrderRejected` (nothing changes) without a position, or for a trigger
        the mark would set off at once."""
        return self._desk.set_tp_sl(market, take_profit, stop_loss)

    def stop_warnings(self, market: str, stop_loss: float) -> list[str]:
        """What to tell a trader about a stop-loss at ``stop_loss`` on the open position in
        ``market`` (``[]`` without a position): a stop at or beyond the liquidation price, and
        a cross position whose liquidation price depends on the other cross positions."""
        name = self._name(market)
        stop = check_number("Stop-loss price", stop_loss)
        pos = self._positions.get(name)
        if pos is None:
            return []
        liq = self._view(pos).liquidation_price
        return self._desk.stop_warnings(name, pos.side, stop, liq, pos.cross)

    def _plan(
        self,
        market: object,
        side: object,
        size: object,
        leverage: object,
        mode: object,
        *,
        fill: float | None = None,
        maker: bool = False,
        limit: float | None = None,
        reduce_only: bool = False,
        check_minimum: bool = True,
    ) -> _Plan:
        """What an order does, changing nothing. ``fill`` overrides the fill price (a limit
        order fills at its own price) and ``maker`` charges the maker fee instead of the
        taker fee (tui/engine/orders.py uses both). Otherwise it is a taker order: through
        the book when there is one, no further than the slippage limit from the mark, or
        ``limit`` (a marketable limit order's price); only what fills is planned.
        ``reduce_only`` cuts the size to the position's and exempts it from the minimum order;
        ``check_minimum=False`` skips the minimum (a resting order met it when it was placed)."""
        name = self._name(market)
        side_ = Side.parse(side)
        mode_ = MarginMode.parse(mode)
        requested = self._size("Size", name, size)
        lev = check_number("Leverage", leverage)
        mkt = self._markets[name]
        mark = self._marks.get(name)
        if mark is None:
            raise OrderRejected(f"{name} has no price yet; wait for the feed and try again.")
        s = side_.sign
        fee_rate = mkt.maker_fee if maker else mkt.taker_fee
        pos = self._positions.get(name)
        q = requested
        if pos is not None and reduce_only and q >= pos.q * (1 - _REL_TOL):
            q = pos.q  # the whole position, whatever its step
        else:
            q = mkt.round_size(requested)
            if reduce_only and pos is not None:
                q = min(q, pos.q)
        if q <= 0.0:
            step = _size(float(mkt.size_step or 0.0))
            raise OrderRejected(
                f"{_size(requested)} {name} is less than half of {name}'s size step "
                f"({step} {name}); the smallest order is {step} {name}."
            )
        quote: Quote | None = None
        unfilled = 0.0
        no_fill: str | None = None
        if fill is None:  # a taker: through the book, or at the mark (docs/rules.md)
            quote = self._quote(name, side_, q, mark, limit, limit=limit is not None)
            if quote.filled < q:  # the book ran out: what it holds, on the size step
                part = mkt.round_size(quote.filled, down=True)
                if part < MIN_SIZE:
                    no_fill = self._no_fill(name, side_, mark, quote.worst, limit is not None)
                else:
                    if part < quote.filled:
                        quote = replace(
                            self._quote(name, side_, part, mark, limit, limit=limit is not None),
                            size=q,
                        )
                    unfilled, q = q - part, part
            fill = quote.price
        available = self._available()
        wallet = self._wallet
        rejection: str | None = None
        available_before = available

        close_q = 0.0
        realized = 0.0
        fee_close = 0.0
        kind = "open"
        new: _Pos | None = None
        if pos is not None and pos.s != s:
            # A remainder below the smallest size would be dust: the order closes it all.
            whole = q >= pos.q * (1 - _REL_TOL) or pos.q - q < MIN_SIZE
            close_q = pos.q if whole else q
            full = close_q == pos.q
            realized = mg.unrealized_pnl(pos.s, close_q, pos.entry, fill)
            fee_close = mg.fee(close_q, fill, fee_rate)
            released = pos.margin if full else pos.margin * close_q / pos.q
            wallet += realized - fee_close + (0.0 if pos.cross else released)
            if pos.cross:
                share = close_q / pos.q
                cross_freed = (
                    share * (mg.initial_margin(pos.q, mark, pos.lev) - pos.upnl(mark)) + realized
                )
            else:
                cross_freed = realized + released
            available += cross_freed - fee_close
            if not full:
                new = pos.copy(mark)
                new.q = pos.q - close_q
                new.margin = pos.margin - released
                new.refresh(mark)
            kind = "close" if full else "reduce"
            pos = None if full else new
        open_q = 0.0 if close_q and (q - close_q) <= q * _REL_TOL else q - close_q
        if close_q and open_q:
            kind = "flip"

        im = fee_open = 0.0
        max_lev = mkt.max_leverage_at(0.0)
        if open_q:
            if pos is not None and pos.mode is not mode_:
                rejection = (
                    f"{name} is open in {pos.mode.label} mode; close it to reopen in {mode_.label}."
                )
            order_lev = pos.lev if pos is not None else lev
            resulting = mg.notional(open_q + (pos.q if pos is not None else 0.0), fill)
            max_lev = mkt.max_leverage_at(resulting)
            if not 1.0 <= lev <= mkt.max_leverage:
                rejection = rejection or (
                    f"Leverage on {name} must be between 1x and {_lev(mkt.max_leverage)}; "
                    f"{_lev(lev)} is out of range."
                )
            if pos is None and lev != math.floor(lev):
                rejection = rejection or (
                    f"Leverage is a whole number on {self._venue.label}; {_lev(lev)} is not. "
                    f"Use {_lev(math.floor(lev))} or {_lev(math.ceil(lev))}."
                )
            if order_lev > max_lev:
                rejection = rejection or self._tier_rejection(mkt, resulting, order_lev, max_lev)
            minimum = self._venue.min_notional if mkt.min_notional is None else mkt.min_notional
            worth = mg.notional(q, fill)
            if check_minimum and worth < minimum * (1 - _REL_TOL):
                least = minimum / fill
                if mkt.size_step is not None:
                    lot = float(mkt.size_step)
                    least = mg.round_to_step(math.ceil(least / lot - 1e-9) * lot, lot)
                rejection = rejection or (
                    f"The smallest {name} order on {self._venue.label} is worth "
                    f"{_money(minimum)}; this one is worth {_money(worth)}. Order at least "
                    f"{_size(least)} {name}."
                )
            im = mg.initial_margin(open_q, fill, order_lev)
            fee_open = mg.fee(open_q, fill, fee_rate)
            rejection = rejection or self._size_rejection(name, pos, open_q, fill, close_q > 0)
            # Margin checks are written `not (need <= have)` so that a NaN fails them.
            enough = im + fee_open <= available + _REL_TOL * max(1.0, available)
            if rejection is None and not enough:
                missing = im + fee_open - available
                rejection = (
                    f"Not enough margin: this order needs {_money(im + fee_open)} "
                    f"(margin {_money(im)} + fee {_money(fee_open)}) but "
                    f"{_money(max(available, 0))} is available; {_money(missing)} is missing. "
                    + margin_advice(available, order_lev, max_lev)
                )
            isolated = (pos.mode if pos is not None else mode_) is MarginMode.ISOLATED
            short_of_cash = not im + fee_open <= wallet + _REL_TOL * max(1.0, wallet)
            if rejection is None and isolated and short_of_cash:
                rejection = (
                    f"Isolated margin is posted from your wallet, which holds "
                    f"{_money(max(wallet, 0.0))}; this order needs {_money(im + fee_open)}. "
                    "Unrealized profit backs Cross orders but cannot be posted as isolated "
                    "margin: lower the size, or close a profitable position first."
                )
            if pos is not None:  # add to the position
                kind = "add"
                new = pos.copy(mark)
                new.entry = (pos.q * pos.entry + open_q * fill) / (pos.q + open_q)
                new.q = pos.q + open_q
                if not pos.cross:
                    new.margin = pos.margin + im
                new.refresh(mark)
            else:
                new = _Pos(
                    name,
                    s,
                    open_q,
                    fill,
                    mode_,
                    lev,
                    0.0 if mode_ is MarginMode.CROSS else im,
                    self._tables[name],
                    self._clock(),
                    mark,
                )
            wallet -= fee_open + (0.0 if new.cross else im)
            available -= im + fee_open
            if rejection is None:
                rejection = self._instant_liquidation(new, mark, name)
        elif new is not None:
            max_lev = mkt.max_leverage_at(mg.notional(new.q, fill))
        plan = _Plan(
            market=name,
            side=side_,
            size=q,
            requested=requested,
            mode=mode_,
            leverage=new.lev if new is not None else lev,
            mark=mark,
            fill=fill,
            kind=kind,
            close_q=close_q,
            open_q=open_q,
            fee_close=fee_close,
            fee_open=fee_open,
            realized=realized,
            im=im,
            wallet_after=wallet,
            new_pos=new,
            available_before=available_before,
            available_after=available,
            max_leverage=max_lev,
            rejection=no_fill or rejection,
            quote=quote,
            unfilled=unfilled,
        )
        if open_q and plan.rejection is None and self._cross_liquidated_after(plan):
            plan.rejection = (
                "This order would leave your cross account at its maintenance margin, to be "
                "liquidated at once. Lower the size or the leverage."
            )
        if plan.rejection is None and not self._finite_plan(plan):
            plan.rejection = "This order would take the account's figures out of range."
        return plan

    def _tier_rejection(self, mkt: Market, notional: float, lev: float, cap: float) -> str:
        """Why ``lev`` is too high for a position of ``notional``, and what would do."""
        floor = 0.0
        for tier in mkt.tiers[1:]:
            if notional > tier.notional_floor:
                floor = float(tier.notional_floor)
        ceiling = 0.0  # the largest notional this leverage allows
        for i, tier in enumerate(mkt.tiers):
            if float(tier.max_leverage) >= lev:
                ceiling = float(mkt.tiers[i + 1].notional_floor) if i + 1 < len(mkt.tiers) else _INF
        reach = f"up to {_money(ceiling)} of notional" if ceiling else "no position at all"
        return (
            f"{mkt.name} positions above {_money(floor)} of notional allow at most {_lev(cap)}; "
            f"this one would be {_money(notional)} at {_lev(lev)}, which allows {reach}. "
            f"Lower the leverage to {_lev(cap)} or the size."
        )

    def _size(self, label: str, name: str, size: object) -> float:
        """An order or close size: a real number from ``MIN_SIZE`` to ``MAX_SIZE``."""
        q = check_number(label, size)
        if q < MIN_SIZE:
            raise InvalidInput(
                f"{label} {shown(size)} {name} is too small: the smallest size the engine takes "
                f"is {_plain(MIN_SIZE)} {name}."
            )
        if not q <= MAX_SIZE:
            raise InvalidInput(
                f"{label} {shown(size)} {name} is too large: the largest size the engine takes "
                f"is {_plain(MAX_SIZE)} {name}."
            )
        return q

    @staticmethod
    def _size_rejection(
        name: str, pos: _Pos | None, open_q: float, fill: float, flip: bool
    ) -> str | None:
        """Why what an order opens or adds is too small or too large, if it is."""
        value = mg.notional(open_q, fill)
        what = "The part of this order that opens a new position" if flip else "This order"
        if not value >= MIN_NOTIONAL:
            shown_value = f"{value:.2g}" if value < MIN_NOTIONAL else _money(value)
            return (
                f"{what} is worth {shown_value} USD; the smallest order the engine takes is "
                f"worth {_money(MIN_NOTIONAL)}. "
                + ("Close the position instead, or raise the size." if flip else "Raise the size.")
            )
        if not value <= MAX_NOTIONAL:
            return (
                f"{what} is worth {value:,.3g} USD; the largest order the engine takes is "
                f"worth {_plain(MAX_NOTIONAL)}. Lower the size."
            )
        if pos is not None and not pos.q + open_q <= MAX_SIZE:
            return (
                f"This would make a {name} position of {pos.q + open_q:g}; the largest the "
                f"engine holds is {_plain(MAX_SIZE)}. Lower the size."
            )
        return None

    @staticmethod
    def _finite_plan(plan: _Plan) -> bool:
        """Every figure of a plan is finite (guaranteed by the bounds; checked all the same)."""
        figures = [plan.fill, plan.im, plan.fee_open, plan.fee_close, plan.realized]
        figures += [plan.wallet_after, plan.available_after]
        new = plan.new_pos
        if new is not None:
            figures += [new.q, new.entry, new.margin, new.k]
        return all(math.isfinite(x) for x in figures)

    def _no_fill(self, name: str, side: Side, mark: float, worst: float, limit: bool) -> str:
        """Why a taker order fills nothing: the book has nothing within its reach."""
        buy = side is Side.LONG
        if limit:
            where = f"at or {'below' if buy else 'above'} its price {worst:,.8g}"
            what = "limit"
        else:
            pct = self._slippage_limits.get(name, self._slippage_limit) * 100
            where = f"within {pct:g} % of the mark {mark:,.8g}"
            what = "market"
        return (
            f"The {name} order book has no {'asks' if buy else 'bids'} {where}: this {what} "
            f"{'buy' if buy else 'sell'} would not fill. Wait for the book to refill, or use a "
            "limit order."
        )

    def _cross_liquidated_after(self, plan: _Plan) -> bool:
        cross_left = any(name != plan.market for name in self._cross) or (
            plan.new_pos is not None and plan.new_pos.cross
        )
        return cross_left and not self._excess_after(plan) > 0.0

    def _instant_liquidation(self, new: _Pos, mark: float, name: str) -> str | None:
        """A rejection if the resulting isolated position would be liquidated at once."""
        if new.cross or not mg.is_beyond(new.s, mark, new.liq):
            return None
        rate = new.rate
        top = math.ceil(1.0 / rate) - 1
        hint = f"use at most {top}x" if top >= 1 else "this market cannot be traded isolated"
        return (
            f"At {_lev(new.lev)} this {name} position would be liquidated at once "
            f"(maintenance margin {rate:.2%}); {hint}."
        )

    def _excess_after(self, plan: _Plan) -> float:
        """``W + buffer`` once ``plan`` is applied (cross liquidation at <= 0)."""
        buffer = self._buffer
        old = self._positions.get(plan.market)
        if old is not None and old.cross:
            buffer -= old.buffer(plan.mark)
        if plan.new_pos is not None and plan.new_pos.cross:
            buffer += plan.new_pos.buffer(plan.mark)
        return plan.wallet_after + buffer

    def _apply(self, plan: _Plan) -> Fill:
        now = self._clock()
        name = plan.market
        old = self._positions.get(name)
        fills: list[Fill] = []
        if plan.close_q and old is not None:
            kind = "close" if plan.kind == "flip" else plan.kind
            fills.append(
                self._fill(now, plan, plan.close_q, plan.fee_close, old.mode, old.lev, kind)
            )
        if plan.open_q and plan.new_pos is not None:
            kind = "add" if plan.kind == "add" else "open"
            fills.append(
                self._fill(
                    now, plan, plan.open_q, plan.fee_open, plan.new_pos.mode, plan.new_pos.lev, kind
                )
            )
        if plan.unfilled:  # the order's last fill says what the book could not fill
            fills[-1] = replace(fills[-1], unfilled=plan.unfilled)
        self._wallet = plan.wallet_after
        self._realized += plan.realized
        self._fees += plan.fee_close + plan.fee_open
        new = plan.new_pos
        if new is None:  # assignment keeps a position's place in the table; pop removes it
            self._positions.pop(name, None)
        else:
            self._positions[name] = new
        if new is not None and new.cross:
            self._cross[name] = new
        else:
            self._cross.pop(name, None)
        self._resync()
        records: list[Event] = [*fills, *self._desk.after_fill(plan)]
        for record in records:
            self._emit(record)
        self._check_cross()
        return fills[-1]

    def _fill(
        self,
        now: float,
        plan: _Plan,
        q: float,
        fee: float,
        mode: MarginMode,
        lev: float,
        kind: str,
    ) -> Fill:
        self._seq += 1
        realized = plan.realized if kind in ("reduce", "close") else 0.0
        quote = plan.quote
        if quote is None:  # at a given price: a resting limit (maker) or as if at a level
            pricing = bk.LIMIT
            spread = impact = 0.0
        else:
            pricing = quote.pricing
            share = q / plan.size
            spread, impact = quote.spread_cost * share, quote.impact_cost * share
        return Fill(
            seq=self._seq,
            time=now,
            market=plan.market,
            side=plan.side,
            size=q,
            price=plan.fill,
            fee=fee,
            mode=mode,
            leverage=lev,
            kind=kind,
            realized_pnl=realized,
            order_id=plan.order_id,
            mark_price=plan.mark,
            spread_cost=spread,
            impact_cost=impact,
            pricing=pricing,
        )

    # ------------------------------------------------------------------ isolated margin

    def addable_margin(self, market: str) -> float:
        """The most :meth:`add_margin` would accept now: margin is posted in cash, so no more
        than the wallet holds, nor than is available to trade."""
        self._isolated(market, "add margin to")
        return max(0.0, min(self._available(), self._wallet))

    def add_margin(self, market: str, amount: float) -> MarginTransfer:
        pos = self._isolated(market, "add margin to")
        amount = check_number("Amount", amount)
        most = self.addable_margin(pos.market)
        if not amount <= most + _REL_TOL * max(1.0, most):
            raise OrderRejected(
                f"You can add at most {_money(max(most, 0.0))} to {pos.market}: that is what "
                f"your wallet can post now."
            )
        self._wallet -= amount
        pos.margin += amount
        pos.refresh(self._marks[pos.market])
        return self._transfer(pos.market, amount)

    def removable_margin(self, market: str) -> float:
        """The most isolated margin :meth:`remove_margin` would accept now.

        Hyperliquid: what stays, counting unrealized PnL, must cover
        ``max(q * P / L, 10 % of q * P)`` (profit can be taken out). Binance: the margin less
        any unrealized loss must cover ``q * P / L``.
        """
        pos = self._isolated(market, "remove margin from")
        mark = self._marks[pos.market]
        if self._venue is Venue.HYPERLIQUID:
            return mg.removable_margin_hl(
                pos.margin, pos.upnl(mark), pos.q, mark, pos.lev, vn.HL_TRANSFER_FLOOR
            )
        return mg.removable_margin(pos.margin, pos.upnl(mark), pos.q, mark, pos.lev)

    def remove_margin(self, market: str, amount: float) -> MarginTransfer:
        pos = self._isolated(market, "remove margin from")
        amount = check_number("Amount", amount)
        most = self.removable_margin(pos.market)
        if not amount <= most + _REL_TOL * max(1.0, most):
            if self._venue is Venue.HYPERLIQUID:
                why = (
                    f"what stays, counting unrealized PnL, must cover the larger of its "
                    f"{_lev(pos.lev)} initial margin and 10 % of its notional"
                )
            else:
                why = (
                    f"the position must keep its {_lev(pos.lev)} initial margin, covering any "
                    "unrealized loss"
                )
            raise OrderRejected(f"You can remove at most {_money(most)} from {pos.market}: {why}.")
        amount = min(amount, most)
        self._wallet += amount
        pos.margin -= amount
        pos.refresh(self._marks[pos.market])
        return self._transfer(pos.market, -amount)

    def _isolated(self, market: str, verb: str) -> _Pos:
        name = self._name(market)
        pos = self._positions.get(name)
        if pos is None:
            raise OrderRejected(f"There is no open {name} position to {verb}.")
        if pos.cross:
            raise OrderRejected(
                f"{name} is a Cross position: its margin is your whole cross balance, so there is "
                f"no margin of its own to {verb.split()[0]}."
            )
        return pos

    def _transfer(self, market: str, amount: float) -> MarginTransfer:
        self._seq += 1
        record = MarginTransfer(seq=self._seq, time=self._clock(), market=market, amount=amount)
        self._emit(record)
        self._check_cross()
        return record

    # ------------------------------------------------------------------ leverage

    def leverage_preview(self, market: str, leverage: float) -> LeveragePreview:
        """What :meth:`set_leverage` would do, changing nothing; never raises for bad input
        (``rejection`` holds the message)."""
        try:
            return self._leverage_plan(market, leverage)
        except OrderRejected as exc:
            try:
                name = self._name(market)
            except OrderRejected:
                name = str(market)
            pos = self._positions.get(name)
            available = self._available()
            num = (
                float(leverage)
                if isinstance(leverage, (int, float)) and not isinstance(leverage, bool)
                else math.nan
            )
            view = self._view(pos) if pos is not None else None
            return LeveragePreview(
                market=name,
                mode=pos.mode if pos is not None else MarginMode.ISOLATED,
                leverage_before=pos.lev if pos is not None else math.nan,
                leverage=num,
                max_leverage=math.nan,
                margin_before=view.margin if view is not None else math.nan,
                margin_after=view.margin if view is not None else math.nan,
                top_up=0.0,
                liquidation_price_before=view.liquidation_price if view is not None else None,
                liquidation_price_after=view.liquidation_price if view is not None else None,
                available_before=available,
                available_after=available,
                rejection=str(exc),
            )

    def set_leverage(self, market: str, leverage: float) -> PositionView:
        """Change an open position's leverage, as the venue allows.

        A whole number from 1 to the most its tier allows at the current notional. Cross:
        lowering it must leave the account able to hold the larger initial margin. Isolated:
        raising it keeps the posted margin (remove some with :meth:`remove_margin`); lowering
        it posts from the wallet whatever the position's equity lacks of the new initial
        margin. Resting orders that add to the position take the new leverage, so what they
        hold back changes too (and must fit in what is available). A change is recorded as a
        :class:`LeverageChange` (after the :class:`MarginTransfer` of any margin posted), so
        the journal saves it. Raises :class:`OrderRejected` and changes nothing otherwise.
        """
        plan = self._leverage_plan(market, leverage)
        if plan.rejection is not None:
            raise OrderRejected(plan.rejection)
        pos = self._positions[plan.market]
        before = pos.lev
        pos.lev = plan.leverage
        self._desk.position_changed(pos.market)  # TP/SL leverage, resting adds' reservations
        if plan.top_up > 0.0:
            self._wallet -= plan.top_up
            pos.margin += plan.top_up
            pos.refresh(self._marks[pos.market])
            self._transfer(pos.market, plan.top_up)
        view = self._view(pos)
        if pos.lev != before:  # a record of its own, so the journal saves the change
            self._seq += 1
            self._emit(
                LeverageChange(
                    seq=self._seq,
                    time=self._clock(),
                    market=pos.market,
                    mode=pos.mode,
                    size=pos.q,
                    leverage_before=before,
                    leverage=pos.lev,
                    margin=view.margin,
                    margin_added=plan.top_up,
                    mark_price=view.mark_price,
                    liquidation_price=view.liquidation_price or 0.0,
                )
            )
        return view

    def _leverage_plan(self, market: str, leverage: object) -> LeveragePreview:
        name = self._name(market)
        pos = self._positions.get(name)
        if pos is None:
            raise OrderRejected(f"There is no open {name} position to change the leverage of.")
        lev = check_number("Leverage", leverage)
        mkt = self._markets[name]
        mark = self._marks[name]
        notional = mg.notional(pos.q, mark)
        cap = mkt.max_leverage_at(notional)
        view = self._view(pos)
        available = self._available()
        rejection: str | None = None
        if lev != math.floor(lev):
            rejection = f"Leverage is a whole number on {self._venue.label}; {_lev(lev)} is not."
        elif not 1.0 <= lev <= cap:
            rejection = (
                f"{name} at a notional of {_money(notional)} allows 1x to {_lev(cap)}; "
                f"{_lev(lev)} is out of range."
            )
        top_up = 0.0
        margin_after = view.margin
        liq_after = view.liquidation_price
        available_after = available
        if rejection is None and pos.cross:
            used_before = mg.initial_margin(pos.q, mark, pos.lev)
            margin_after = mg.initial_margin(pos.q, mark, lev)
            available_after = available + used_before - margin_after
            if lev < pos.lev and available_after < -_REL_TOL * max(1.0, abs(available)):
                rejection = (
                    f"Not enough margin: at {_lev(lev)} {name} holds {_money(margin_after)} of "
                    f"margin, {_money(margin_after - used_before)} more than at "
                    f"{_lev(pos.lev)}, and {_money(max(available, 0.0))} is available."
                )
        elif rejection is None and lev < pos.lev:
            need = mg.initial_margin(pos.q, mark, lev)
            top_up = max(0.0, need - (pos.margin + pos.upnl(mark)))
            can = max(0.0, min(available, self._wallet))
            if top_up > can + _REL_TOL * max(1.0, can):
                rejection = (
                    f"At {_lev(lev)} {name} needs {_money(need)} of margin: "
                    f"{_money(top_up)} more from your wallet, which can post {_money(can)}."
                )
            else:
                margin_after = pos.margin + top_up
                liq = pos.liquidation_price(margin_after)
                liq_after = liq if liq > 0 else None
                available_after = available - top_up
        if rejection is None:  # resting orders that add take the position's leverage
            held = self._desk.reserved_at(name, lev) - self._desk.reserved_at(name, pos.lev)
            free = available_after
            available_after -= held
            if held > 0 and available_after < -_REL_TOL * max(1.0, abs(available)):
                rejection = (
                    f"Not enough margin: at {_lev(lev)} your resting {name} orders that add to "
                    f"the position hold back {_money(held)} more, and {_money(max(free, 0.0))} "
                    "is available. Cancel some of them, or choose a higher leverage."
                )
        return LeveragePreview(
            market=name,
            mode=pos.mode,
            leverage_before=pos.lev,
            leverage=lev,
            max_leverage=cap,
            margin_before=view.margin,
            margin_after=margin_after,
            top_up=top_up if rejection is None else 0.0,
            liquidation_price_before=view.liquidation_price,
            liquidation_price_after=liq_after,
            available_before=available,
            available_after=available_after,
            rejection=rejection,
        )

    # ------------------------------------------------------------------ funding

    def apply_funding(
        self, market: str, rate: float | None = None, *, oracle_price: float | None = None
    ) -> float:
        """Pay one funding interval on ``market``; ``rate`` is per hour (default: the rate last
        set with :meth:`set_funding_rate`). Returns what the position paid (negative:
        received); 0 when no position is open there. Longs pay shorts when the rate is
        positive.

        Hyperliquid: one hour, the rate capped at 4 % either way, on ``oracle_price`` when
        given, else the mark. Binance: the market's whole interval (``rate`` times its hours),
        on the mark.
        """
        name = self._name(market)
        if rate is None:
            rate = self._funding_rates.get(name, 0.0)
        rate = self._rate(rate)
        oracle = (
            None if oracle_price is None else check_number(f"{name} oracle price", oracle_price)
        )
        pos = self._positions.get(name)
        if pos is None:
            return 0.0
        return self._pay_funding(pos, rate, oracle, self._clock()).payment

    def _pay_funding(
        self, pos: _Pos, hourly: float, oracle: float | None, now: float
    ) -> FundingPayment:
        name = pos.market
        mark = self._marks[name]
        price = mark
        if self._venue is Venue.HYPERLIQUID:
            cap = vn.Venue.HYPERLIQUID.funding_cap or _INF
            rate = min(max(hourly, -cap), cap)
            if oracle is not None:
                price = oracle
        else:
            rate = hourly * self._interval(self._markets[name])
        payment = mg.funding_payment(pos.s, pos.q, price, rate)
        self._funding += payment
        if pos.cross:
            self._wallet -= payment
        else:
            pos.margin -= payment
            pos.refresh(mark)
            self._desk.position_changed(name)  # the position's margin moved outside a fill
        self._seq += 1
        record = FundingPayment(
            seq=self._seq,
            time=now,
            market=name,
            side=pos.side,
            size=pos.q,
            mark_price=mark,
            rate=rate,
            payment=payment,
            mode=pos.mode,
            funding_price=None if price == mark else price,
        )
        self._emit(record)
        if pos.cross:
            self._check_cross()
        elif mg.is_beyond(pos.s, mark, pos.liq):
            self._liquidate_isolated(pos)
        return record

    @property
    def next_funding_time(self) -> float:
        """When :meth:`settle_funding` next has something to pay (engine clock, seconds)."""
        return self._next_funding

    def settle_funding(
        self,
        now: float | None = None,
        *,
        oracle_prices: Mapping[str, float] | None = None,
        since: float | None = None,
    ) -> list[FundingPayment]:
        """Pay every funding instant passed since the last call, on the venue's schedule.

        Hyperliquid pays every hour; Binance at 00:00, 08:00 and 16:00 UTC (a market with a
        4 h or 1 h interval at each of its instants). A position pays at an instant only if it
        was open then (opened at or before it), at the market's current hourly rate
        (:meth:`set_funding_rate`; no rate, no payment) and current mark. ``now`` defaults to
        the engine clock; ``oracle_prices`` are Hyperliquid's oracle prices by market, where
        the source gives them. Cheap when nothing is due; instants from before the engine was
        built (or rebuilt) are never paid, and at most the last 24 hours are caught up.

        ``since`` is for a caller on a clock of its own (a price feed's: a simulation counts
        from 0, a replay runs on its recording's clock): the instants in ``(since, now]`` on
        that clock are paid, each by every position open now (the caller moves its clock in
        small steps, so what is open now was open then), recorded at the engine's time. The
        engine's own schedule (:attr:`next_funding_time`) is left alone.
        """
        now = self._clock() if now is None else check_number("Time", now, allow_zero=True)
        oracles: dict[str, float] = {}
        for market, price in (oracle_prices or {}).items():
            name = self._name(market)
            oracles[name] = check_number(f"{name} oracle price", price)
        earliest = now - 24 * vn.HOUR
        if since is not None:
            since = check_number("Time", since, allow_zero=True)
            return self._pay_instants(vn.next_funding_time(max(since, earliest), 1.0), now, oracles)
        if now < self._next_funding:
            return []
        instant = max(self._next_funding, vn.next_funding_time(earliest, 1.0))
        paid = self._pay_instants(instant, now, oracles, on_engine_clock=True)
        self._next_funding = vn.next_funding_time(now, 1.0)
        return paid

    def _pay_instants(
        self,
        instant: float,
        now: float,
        oracles: Mapping[str, float],
        *,
        on_engine_clock: bool = False,
    ) -> list[FundingPayment]:
        """Pay the whole hours from ``instant`` to ``now`` that are funding instants of each
        position's market (on the engine clock: only positions opened by then, recorded at
        the instant; otherwise every position open now, recorded now)."""
        paid: list[FundingPayment] = []
        while instant <= now:
            for pos in list(self._positions.values()):
                name = pos.market
                if self._positions.get(name) is not pos:
                    continue  # liquidated by an earlier payment of this instant
                if on_engine_clock and pos.opened_at > instant:
                    continue
                rate = self._funding_rates.get(name)
                step = self._interval(self._markets[name]) * vn.HOUR
                if rate is None or instant % step:
                    continue
                when = instant if on_engine_clock else self._clock()
                paid.append(self._pay_funding(pos, rate, oracles.get(name), when))
            instant += vn.HOUR
        return paid

    # ------------------------------------------------------------------ liquidation

    def _check_cross(self) -> None:
        if self._cross and not self._wallet + self._buffer > 0.0:
            self._liquidate_cross()

    def _liquidate_isolated(self, pos: _Pos) -> None:
        self._desk.liquidating((pos.market,))  # its orders go first, in a step of their own
        if self._venue is Venue.BINANCE:
            self._take_isolated(pos, "forfeit")
            return
        # Hyperliquid: a market order for the position (20 % of a large one outside the
        # cooldown), through the book when there is a usable one, else at the mark; the
        # backstop below 2/3 of maintenance when the book cannot close it (docs/rules.md).
        name = pos.market
        mark = self._marks[name]
        booked = self._usable_book(name, mark)[0] is not None
        while True:
            equity = pos.margin + pos.upnl(mark)
            backstop = equity < vn.HL_BACKSTOP_FRACTION * pos.mm(mark)
            if backstop and not booked:  # no book to try first: the backstop at once
                self._take_isolated(pos, "backstop")
                return
            now = self._clock()
            part = self._slice(pos, mark, now)
            q = pos.q if part is None else part
            filled, price, pricing = self._liquidation_fill(pos, q, mark, equity)
            if filled <= 0.0:  # the book took nothing
                if backstop:
                    self._take_isolated(pos, "backstop")
                return  # still below maintenance: tried again at the next mark or book
            if filled >= pos.q:
                self._close_isolated_at_market(pos, mark, price, pricing)
                return
            self._reduce_isolated(pos, mark, filled, price, pricing, q - filled, part, now)
            if not mg.is_beyond(pos.s, mark, pos.liq):
                return
            if filled < q:  # the book ran short: the rest waits, unless the backstop takes it
                if pos.margin + pos.upnl(mark) < vn.HL_BACKSTOP_FRACTION * pos.mm(mark):
                    self._take_isolated(pos, "backstop")
                return
            # A whole slice filled and the rest is still below: the cooldown it started makes
            # the next order take the whole position.

    def _slice(self, pos: _Pos, mark: float, now: float) -> float | None:
        """Hyperliquid: the size of a partial liquidation of ``pos`` now, or None for all."""
        if mg.notional(pos.q, mark) <= vn.HL_PARTIAL_NOTIONAL or now < self._cooldown_until:
            return None
        part = self._markets[pos.market].round_size(pos.q * vn.HL_PARTIAL_FRACTION)
        if part <= 0.0 or part >= pos.q:
            return None
        return part

    def _liquidation_fill(
        self, pos: _Pos, q: float, mark: float, stake: float
    ) -> tuple[float, float, str]:
        """Hyperliquid's liquidation order of ``q`` for ``pos``: (size filled, its volume-weighted
        price, pricing). Through the market's usable book, on the side that closes the position,
        no further from the mark than the slippage limit nor than ``stake`` (the equity at
        stake) covers, and never through liquidity this liquidation already took from the same
        book; what the book holds is filled on the size step. Without a usable book: all of
        ``q`` at the mark. Runs only when a liquidation happens (a walk of at most the book's
        levels, three times)."""
        name = pos.market
        book, pricing, _ = self._usable_book(name, mark)
        if book is None:
            return q, mark, pricing
        s = -pos.s  # the order closes the position
        limit = mark * (1.0 + s * self._slippage_limits.get(name, self._slippage_limit))
        bankrupt = mark + s * max(stake, 0.0) / q  # beyond it the fill would cost more than V
        worst = min(limit, bankrupt) if s > 0 else max(limit, bankrupt)
        prices, sizes = book.side_for(s)
        seen, taken = self._liq_taken.get(name, (None, 0.0))
        if seen is not book:
            taken = 0.0
        before, paid = bk.walk(prices, sizes, s, taken, worst) if taken > 0.0 else (0.0, 0.0)
        total, cost = bk.walk(prices, sizes, s, before + q, worst)
        filled = total - before
        if filled < q * (1.0 - _REL_TOL):  # the book ran short: what it holds, on the step
            filled = self._markets[name].round_size(filled, down=True)
            if filled < MIN_SIZE:
                return 0.0, mark, bk.BOOK
            total, cost = bk.walk(prices, sizes, s, before + filled, worst)
        else:
            filled = q
        self._liq_taken[name] = (book, before + filled)
        return filled, (cost - paid) / filled, bk.BOOK

    def _take_isolated(self, pos: _Pos, outcome: str) -> None:
        """Binance, and Hyperliquid's backstop: the position goes with all its margin."""
        mark = self._marks[pos.market]
        realized = max(pos.upnl(mark), -pos.margin)  # a loss never exceeds the margin posted
        forfeited = pos.margin + realized
        self._realized += realized
        self._forfeited += forfeited
        del self._positions[pos.market]
        self._group += 1
        self._seq += 1
        self._emit(
            self._liquidation(
                pos, mark, pos.q, pos.margin, realized, forfeited, outcome, stake=pos.margin
            ),
        )

    def _close_isolated_at_market(self, pos: _Pos, mark: float, price: float, pricing: str) -> None:
        """Hyperliquid: closed at ``price`` (the mark, or through the book); the margin left
        goes back to the wallet."""
        realized = max(pos.upnl(price), -pos.margin)  # the fill never passes bankruptcy
        returned = pos.margin + realized
        self._realized += realized
        self._wallet += returned
        del self._positions[pos.market]
        self._group += 1
        self._seq += 1
        lost = max(0.0, pos.margin - returned)
        self._emit(
            self._liquidation(
                pos,
                mark,
                pos.q,
                lost,
                realized,
                0.0,
                "market",
                returned=returned,
                fill=price,
                pricing=pricing,
                stake=pos.margin,
            )
        )

    def _reduce_isolated(
        self,
        pos: _Pos,
        mark: float,
        size: float,
        price: float,
        pricing: str,
        unfilled: float,
        part: float | None,
        now: float,
    ) -> None:
        """Hyperliquid: ``size`` of ``pos`` closed at ``price`` (a 20 % slice when ``part`` is
        set, or what the book took of the whole position); its PnL settles against the
        position's margin, which stays behind the rest. A slice starts the cooldown."""
        stake, liq = pos.margin, pos.liq
        realized = max(mg.unrealized_pnl(pos.s, size, pos.entry, price), -pos.margin)
        self._realized += realized
        pos.margin += realized
        pos.q -= size
        pos.refresh(mark)
        self._desk.position_changed(pos.market)  # reduce-only and TP/SL follow the rest
        if part is not None:
            self._cooldown_until = now + vn.HL_PARTIAL_COOLDOWN
        self._group += 1
        self._seq += 1
        self._emit(
            self._liquidation(
                pos,
                mark,
                size,
                max(0.0, -realized),
                realized,
                0.0,
                "partial" if part is not None else "market",
                remaining=pos.q,
                fill=price,
                pricing=pricing,
                unfilled=unfilled,
                stake=stake,
                liq=liq,
            )
        )

    def _liquidate_cross(self) -> None:
        self._desk.liquidating(tuple(self._cross))  # their orders go first, in a step of their own
        if self._venue is Venue.BINANCE:
            self._take_cross("forfeit")
            return
        marks = self._marks
        if not math.isfinite(self._buffer):
            self._resync()  # a cache gone bad is recomputed, never trusted or ignored
        while self._cross and not self._wallet + self._buffer > 0.0:
            victims = list(self._cross.values())
            value = self._wallet + math.fsum(p.upnl(marks[p.market]) for p in victims)
            maintenance = math.fsum(p.mm(marks[p.market]) for p in victims)
            backstop = value < vn.HL_BACKSTOP_FRACTION * maintenance
            booked = any(self._usable_book(p.market, marks[p.market])[0] for p in victims)
            if backstop and not booked:  # no book to try first: the backstop at once
                self._take_cross("backstop")
                return
            excess = self._wallet + self._buffer
            liqs = {p.market: self._cross_liq(p, excess) for p in victims}
            now = self._clock()
            stake = value  # what every fill of this pass may cost against the marks, together
            cuts: list[tuple[_Pos, float | None, float, float, float, str]] = []
            for pos in victims:
                mark = marks[pos.market]
                part = self._slice(pos, mark, now)
                q = pos.q if part is None else part
                filled, price, pricing = self._liquidation_fill(pos, q, mark, stake)
                stake -= pos.s * filled * (mark - price)
                cuts.append((pos, part, q, filled, price, pricing))
            realized_each: list[float] = []
            for pos, _, _, filled, price, _ in cuts:
                realized = mg.unrealized_pnl(pos.s, filled, pos.entry, price)
                realized_each.append(realized)
                self._realized += realized
                # At the mark V does not move; W may end below 0 while a sliced winner's
                # profit stays open ("What a liquidation takes": nothing to write off).
                self._wallet += realized
                if filled > 0.0 and filled >= pos.q:
                    del self._positions[pos.market]
                    del self._cross[pos.market]
            if any(part is not None and filled > 0.0 for _, part, _, filled, _, _ in cuts):
                self._cooldown_until = now + vn.HL_PARTIAL_COOLDOWN
            emptied = not self._cross
            notionals = [
                p.q * marks[p.market] if filled >= p.q else 0.0 for p, _, _, filled, _, _ in cuts
            ]
            closed_notional = math.fsum(notionals) or 1.0
            left = self._wallet if emptied else 0.0
            if any(filled > 0.0 for _, _, _, filled, _, _ in cuts):
                self._group += 1
            records: list[Liquidation] = []
            for (pos, part, q, filled, price, pricing), realized, notional in zip(
                cuts, realized_each, notionals, strict=True
            ):
                if filled <= 0.0:
                    continue  # the book took nothing: no record, the position stays
                self._seq += 1
                mark = marks[pos.market]
                common: dict[str, Any] = {
                    "fill": price,
                    "pricing": pricing,
                    "stake": value,
                    "liq": liqs[pos.market],
                }
                if filled >= pos.q:
                    records.append(
                        self._liquidation(
                            pos,
                            mark,
                            pos.q,
                            max(0.0, -realized),
                            realized,
                            0.0,
                            "market",
                            returned=left * notional / closed_notional,
                            **common,
                        )
                    )
                else:
                    pos.q -= filled
                    pos.refresh(mark)
                    self._desk.position_changed(pos.market)  # orders follow the rest
                    records.append(
                        self._liquidation(
                            pos,
                            mark,
                            filled,
                            max(0.0, -realized),
                            realized,
                            0.0,
                            "partial" if part is not None else "market",
                            remaining=pos.q,
                            unfilled=q - filled,
                            **common,
                        )
                    )
            self._resync()
            self._emit_together(records)
            if not records or any(filled < q for _, _, q, filled, _, _ in cuts):
                # The books ran short: what is left waits for the next mark or book, unless
                # the account is now below the backstop's two thirds.
                if self._cross and not self._wallet + self._buffer > 0.0:
                    left_value = self._wallet + math.fsum(
                        p.upnl(marks[p.market]) for p in self._cross.values()
                    )
                    left_mm = math.fsum(p.mm(marks[p.market]) for p in self._cross.values())
                    if left_value < vn.HL_BACKSTOP_FRACTION * left_mm:
                        self._take_cross("backstop")
                return

    def _cross_liq(self, pos: _Pos, excess: float) -> float:
        """A cross position's liquidation price with ``excess = W + buffer`` (0: none)."""
        liq = pos.liquidation_price(excess - pos.buffer(self._marks[pos.market]))
        return liq if MIN_PRICE <= liq <= MAX_PRICE else 0.0

    def _take_cross(self, outcome: str) -> None:
        """Binance, and Hyperliquid's backstop: every cross position closes and the whole cross
        balance goes with them; isolated positions are untouched."""
        marks = self._marks
        victims = list(self._cross.values())
        upnls = [pos.upnl(marks[pos.market]) for pos in victims]
        total_upnl = math.fsum(upnls)
        value = self._wallet + total_upnl
        excess = self._wallet + self._buffer
        liqs = [self._cross_liq(pos, excess) for pos in victims]
        lost = max(self._wallet, 0.0)
        realized_each = upnls
        if self._wallet > 0.0 and total_upnl < -self._wallet:
            # The marks gapped past bankruptcy: the loss stops at the cross balance.
            scale = -self._wallet / total_upnl
            realized_each = [u * scale for u in upnls]
        # What is left of the cross balance goes with the liquidation. Negative only when the
        # wallet itself was negative (realized cross losses): that debt is written off, and
        # the records still show each position's true PnL.
        forfeited_total = self._wallet + math.fsum(realized_each)
        notionals = [pos.q * marks[pos.market] for pos in victims]
        total_notional = math.fsum(notionals) or 1.0
        self._realized += math.fsum(realized_each)
        self._forfeited += forfeited_total
        self._wallet = 0.0
        for pos in victims:
            del self._positions[pos.market]
        self._cross.clear()
        self._buffer = 0.0
        self._group += 1
        records: list[Liquidation] = []
        for pos, realized, notional, liq in zip(
            victims, realized_each, notionals, liqs, strict=True
        ):
            share = notional / total_notional
            self._seq += 1
            records.append(
                self._liquidation(
                    pos,
                    marks[pos.market],
                    pos.q,
                    lost * share,
                    realized,
                    forfeited_total * share,
                    outcome,
                    stake=max(value, 0.0),
                    liq=liq,
                )
            )
        self._emit_together(records)

    def _liquidation(
        self,
        pos: _Pos,
        mark: float,
        size: float,
        lost: float,
        realized: float,
        forfeited: float,
        outcome: str,
        *,
        returned: float = 0.0,
        remaining: float = 0.0,
        fill: float | None = None,
        pricing: str = bk.MARK,
        unfilled: float = 0.0,
        stake: float = 0.0,
        liq: float | None = None,
    ) -> Liquidation:
        if liq is None:  # an isolated position: its cached liquidation price
            liq = pos.liq if MIN_PRICE <= pos.liq <= MAX_PRICE else 0.0
        return Liquidation(
            seq=self._seq,
            time=self._clock(),
            market=pos.market,
            side=pos.side,
            size=size,
            entry_price=pos.entry,
            mark_price=mark,
            mode=pos.mode,
            leverage=pos.lev,
            margin_lost=lost,
            realized_pnl=realized,
            forfeited=forfeited,
            group=self._group,
            opened_at=pos.opened_at,
            outcome=outcome,
            returned=returned,
            remaining_size=remaining,
            venue=self._venue.value,
            fill_price=mark if fill is None else fill,
            pricing=pricing,
            unfilled=unfilled,
            margin=stake,
            liquidation_price=liq,
        )

    # ------------------------------------------------------------------ internals

    def _resync(self) -> None:
        """Recompute the cross buffer exactly (after any change of positions)."""
        marks = self._marks
        self._buffer = math.fsum(pos.buffer(marks[pos.market]) for pos in self._cross.values())

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        if self._holds:
            self._held.append(event)
            return
        for listener in self.listeners:
            listener(event)

    def _emit_together(self, records: Sequence[Event]) -> None:
        """Emit a step's several records so that listeners hear them together, once the
        account is whole (a cross liquidation's positions: the journal saves them as one)."""
        self._hold()
        try:
            for record in records:
                self._emit(record)
        finally:
            self._release()

    def _hold(self) -> None:
        """Start a step whose records listeners hear together, at :meth:`_release` (so the
        journal saves a triggered order and its fill as one)."""
        self._holds += 1

    def _release(self) -> None:
        self._holds -= 1
        if not self._holds and self._held:
            held, self._held = self._held, []
            for event in held:
                for listener in self.listeners:
                    listener(event)

    # ------------------------------------------------------------------ state for the journal

    def to_state(self) -> dict[str, Any]:
        """The account as plain data (JSON-ready): enough to rebuild it with :meth:`from_state`.

        It holds the venue, so a rebuilt account keeps its venue's rules.
        """
        return {
            "venue": self._venue.value,
            "deposits": self._deposits,
            "wallet": self._wallet,
            "realized": self._realized,
            "fees": self._fees,
            "funding": self._funding,
            "forfeited": self._forfeited,
            "seq": self._seq,
            "group": self._group,
            "cooldown_until": self._cooldown_until if math.isfinite(self._cooldown_until) else None,
            "marks": dict(self._marks),
            "positions": [
                {
                    "market": p.market,
                    "side": p.side.value,
                    "size": p.q,
                    "entry": p.entry,
                    "mode": p.mode.value,
                    "leverage": p.lev,
                    "margin": p.margin,
                    "opened_at": p.opened_at,
                }
                for p in self._positions.values()
            ],
            **self._desk.to_state(),
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        markets: Iterable[Market] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> PaperEngine:
        """Rebuild an account saved by :meth:`to_state` (a state saved before venues existed is
        a Hyperliquid account). Raises :class:`InvalidInput` (a ``ValueError``) when a figure is
        not a finite number or is out of the engine's bounds."""
        venue = Venue.parse(state.get("venue", Venue.HYPERLIQUID.value))
        eng = cls(balance=state["deposits"], markets=markets, clock=clock, venue=venue)
        eng._wallet = to_float("Saved wallet", state["wallet"])
        eng._realized = to_float("Saved realized PnL", state["realized"])
        eng._fees = to_float("Saved fees", state["fees"])
        eng._funding = to_float("Saved funding", state["funding"])
        eng._forfeited = to_float("Saved forfeited", state["forfeited"])
        eng._seq = int(state["seq"])
        eng._group = int(state["group"])
        cooldown = state.get("cooldown_until")
        eng._cooldown_until = -_INF if cooldown is None else to_float("Saved cooldown", cooldown)
        for name, price in state["marks"].items():
            if name in eng._markets:
                eng._marks[name] = eng._price(name, price)
        for raw in state["positions"]:
            name = eng._name(raw["market"])
            if name not in eng._marks:
                raise InvalidInput(f"Saved {name} position has no saved mark.")
            pos = _Pos(
                name,
                Side.parse(raw["side"]).sign,
                eng._size("Saved size", name, raw["size"]),
                eng._entry(name, raw["entry"]),
                MarginMode.parse(raw["mode"]),
                check_number("Leverage", raw["leverage"]),
                to_float("Saved margin", raw["margin"]),
                eng._tables[name],
                to_float("Saved opening time", raw["opened_at"]),
                eng._marks[name],
            )
            eng._positions[name] = pos
            if pos.cross:
                eng._cross[name] = pos
        eng._resync()
        eng._desk.restore(state.get("orders", ()), state.get("next_order_id", 1))
        return eng
