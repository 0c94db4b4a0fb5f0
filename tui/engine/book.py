"""Order books and fills against them (docs/rules.md, "Fills against the book").

An :class:`OrderBook` is one market's visible depth: bids best (highest) first, asks best
(lowest) first, each level a price and a size. :func:`walk` takes levels in turn up to a worst
price and returns what filled and at what cost; :class:`Quote` is the engine's answer to "what
would a market order of this size get now" (:meth:`PaperEngine.quote`).

Pure and small: no engine state here. Walking a 20-level side is a loop of at most 20 steps
(a few microseconds); checking a book when it is set is one pass over its levels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tui.engine.limits import MAX_PRICE, MAX_SIZE, MIN_PRICE
from tui.engine.models import InvalidInput, Side, check_number, check_price, shown

MAX_LEVELS: Final = 1_000
"""Most levels a book side may have (venues send 20; a bigger book is a feed error)."""

DEFAULT_SLIPPAGE_LIMIT: Final = 0.08
"""How far from the mark a market order may fill, by default (8 %)."""

DEFAULT_BOOK_MAX_AGE: Final = 10.0
"""Seconds a book may be older than the last mark of its market and still price a fill."""

# How a fill was priced (Fill.pricing, Preview.pricing, Quote.pricing).
BOOK: Final = "book"  # walked the order book
MARK: Final = "mark"  # no book: the mark, plus the market's fixed slippage
STALE: Final = "stale"  # the book was too old: priced as without a book
FAR: Final = "far"  # the book was beyond the slippage limit from the mark: as without a book
LIMIT: Final = "limit"  # a resting limit order filled at its own price (maker)

_INF = math.inf


@dataclass(frozen=True, slots=True)
class OrderBook:
    """One market's book as the engine holds it (read-only).

    ``time`` is the engine clock when it was set; ``mark`` the market's mark then (None before
    the first mark). ``bids`` / ``asks`` give the levels as ``(price, size)`` pairs, best first.
    """

    market: str
    bid_prices: tuple[float, ...]
    bid_sizes: tuple[float, ...]
    ask_prices: tuple[float, ...]
    ask_sizes: tuple[float, ...]
    time: float
    mark: float | None = None

    @property
    def bids(self) -> tuple[tuple[float, float], ...]:
        return tuple(zip(self.bid_prices, self.bid_sizes, strict=True))

    @property
    def asks(self) -> tuple[tuple[float, float], ...]:
        return tuple(zip(self.ask_prices, self.ask_sizes, strict=True))

    @property
    def best_bid(self) -> float | None:
        return self.bid_prices[0] if self.bid_prices else None

    @property
    def best_ask(self) -> float | None:
        return self.ask_prices[0] if self.ask_prices else None

    @property
    def spread(self) -> float | None:
        """Best ask minus best bid (None when a side is empty)."""
        if not self.bid_prices or not self.ask_prices:
            return None
        return self.ask_prices[0] - self.bid_prices[0]

    def side_for(self, s: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The levels an order of sign ``s`` takes: asks for a buy, bids for a sell."""
        return (self.ask_prices, self.ask_sizes) if s > 0 else (self.bid_prices, self.bid_sizes)

    def depth(self, s: int, worst: float) -> float:
        """Size an order of sign ``s`` could take without going past ``worst``."""
        prices, sizes = self.side_for(s)
        return walk(prices, sizes, s, _INF, worst)[0]


def _levels(market: str, side: str, levels: object) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Checked ``(prices, sizes)`` of one side, best first; :class:`InvalidInput` if not."""
    if isinstance(levels, str | bytes) or not isinstance(levels, Iterable):
        raise InvalidInput(
            f"The {market} book's {side} must be a list of (price, size) levels, not "
            f"{shown(levels)}."
        )
    prices: list[float] = []
    sizes: list[float] = []
    bids = side == "bids"
    last = _INF if bids else 0.0
    for level in levels:
        try:
            px, sz = level
        except (TypeError, ValueError):
            raise InvalidInput(
                f"Each level of the {market} book is a (price, size) pair, not {shown(level)}."
            ) from None
        if px.__class__ is not float or not MIN_PRICE <= px <= MAX_PRICE:
            px = check_price(f"{market} book price", px)
        if sz.__class__ is not float or not 0.0 < sz <= MAX_SIZE:
            sz = check_number(f"{market} book size", sz)
            if sz > MAX_SIZE:
                raise InvalidInput(
                    f"{market} book size {shown(sz)} is more than the engine takes "
                    f"(at most {MAX_SIZE:,.0f})."
                )
        if (px >= last) if bids else (px <= last):
            order = "highest" if bids else "lowest"
            raise InvalidInput(
                f"The {market} book's {side} must be best ({order}) first with no price twice; "
                f"{px!r} comes after {last!r}."
            )
        last = px
        prices.append(px)
        sizes.append(sz)
        if len(prices) > MAX_LEVELS:
            raise InvalidInput(
                f"The {market} book has more than {MAX_LEVELS:,} {side}; that is not a feed's book."
            )
    return tuple(prices), tuple(sizes)


def make_book(
    market: str, bids: object, asks: object, time: float, mark: float | None
) -> OrderBook:
    """A checked :class:`OrderBook`: finite positive prices and sizes, each side best first,
    not crossed (best bid below best ask). :class:`InvalidInput` says what is wrong."""
    bid_px, bid_sz = _levels(market, "bids", bids)
    ask_px, ask_sz = _levels(market, "asks", asks)
    if bid_px and ask_px and bid_px[0] >= ask_px[0]:
        raise InvalidInput(
            f"The {market} book is crossed: best bid {bid_px[0]!r} is not below best ask "
            f"{ask_px[0]!r}."
        )
    return OrderBook(market, bid_px, bid_sz, ask_px, ask_sz, time, mark)


def walk(
    prices: tuple[float, ...], sizes: tuple[float, ...], s: int, q: float, worst: float
) -> tuple[float, float]:
    """Take levels in turn (best first) for an order of sign ``s`` (+1 buy, -1 sell) and size
    ``q``, never at a price beyond ``worst`` (a buy takes prices <= worst, a sell >= worst).
    Returns ``(filled size, money paid or received = sum(price * size taken))``."""
    filled = 0.0
    cost = 0.0
    for px, sz in zip(prices, sizes, strict=True):
        if (px > worst) if s > 0 else (px < worst):
            break
        need = q - filled
        if sz >= need:
            return q, cost + need * px
        filled += sz
        cost += sz * px
    return filled, cost


@dataclass(frozen=True, slots=True)
class Quote:
    """What a taker order of ``size`` would get now in ``market`` (changing nothing).

    ``filled`` is what would fill (less than ``size`` when the book runs out before ``worst``),
    ``price`` its volume-weighted average (the mark when nothing fills), ``spread_cost`` and
    ``impact_cost`` what it pays against the mark in money (``s * filled * (best - mark)`` and
    ``s * filled * (price - best)``; without a book all of it is ``spread_cost``), ``pricing``
    one of ``"book"``, ``"mark"``, ``"stale"``, ``"far"``; ``note`` says why a book was not
    used.
    """

    market: str
    side: Side
    size: float
    filled: float
    price: float
    mark: float
    worst: float
    spread_cost: float
    impact_cost: float
    pricing: str
    note: str = ""

    @property
    def slippage(self) -> float:
        """Fill price against the mark, as a fraction, signed against the trader (a buy above
        the mark and a sell below it are positive)."""
        return self.side.sign * (self.price - self.mark) / self.mark

    @property
    def unfilled(self) -> float:
        return self.size - self.filled


def quote_book(book: OrderBook, side: Side, q: float, mark: float, worst: float) -> Quote:
    """Walk ``book`` for a taker order (see :class:`Quote`)."""
    s = side.sign
    prices, sizes = book.side_for(s)
    filled, cost = walk(prices, sizes, s, q, worst)
    if filled <= 0.0:
        return Quote(book.market, side, q, 0.0, mark, mark, worst, 0.0, 0.0, BOOK)
    price = cost / filled
    best = prices[0]
    spread = s * filled * (best - mark)
    impact = s * (cost - filled * best)
    return Quote(book.market, side, q, filled, price, mark, worst, spread, impact, BOOK)


def quote_mark(
    market: str, side: Side, q: float, mark: float, fill: float, pricing: str, note: str = ""
) -> Quote:
    """A taker order priced without a book: all of ``q`` at ``fill`` (the mark plus the
    market's fixed slippage, or a limit price)."""
    cost = side.sign * q * (fill - mark)
    return Quote(market, side, q, q, fill, mark, fill, cost, 0.0, pricing, note)
