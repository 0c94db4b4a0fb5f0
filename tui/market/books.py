"""Simulated order books around a mark (docs/rules.md, "Fills against the book").

The simulation, the scenarios and (with a preset that asks for it) a replay send each market's
book after its mark: ``levels`` price levels a side, best first, on the market's price tick.
How wide and deep it is comes from three things:

* the market: the most traded markets have the tightest spread and the deepest levels (by
  rank in :data:`~tui.market.markets.DEFAULT_SYMBOLS`; a symbol the table does not know gets
  the thinnest);
* the preset (``[market] execution``): ``"frictionless"`` sends no books (fills at the mark),
  ``"realistic"`` the normal book, ``"thin"`` a wider and much shallower one;
* the moment: :class:`Stress` measures how far the mark has run in the last minute of source
  time against its normal volatility; the spread widens and the depth thins with it, and a
  scenario can thin its books further while it plays (a flash crash does).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tui.market.markets import DEFAULT_SYMBOLS, MARKETS

__all__ = [
    "EXECUTIONS",
    "BookMaker",
    "BookStyle",
    "Level",
    "Stress",
    "book_style",
]

Level = tuple[float, float]
"""One book level: ``(price, size)``."""

EXECUTIONS: Final = ("frictionless", "realistic", "thin")
"""The ``[market] execution`` presets."""

YEAR_SECONDS: Final = 365.0 * 24.0 * 3600.0
STRESS_WINDOW: Final = 60.0
"""Seconds of source time over which :class:`Stress` measures a run of the mark."""


@dataclass(frozen=True, slots=True)
class BookStyle:
    """A preset's books: ``spread`` and ``depth`` multiply each market's normal half-spread
    and level sizes; ``levels`` a side; ``widen`` and ``thin`` how much one unit of stress
    (a one-sigma run of the mark over the last minute, beyond the first) widens the spread and
    divides the depth."""

    spread: float = 1.0
    depth: float = 1.0
    levels: int = 20
    widen: float = 0.35
    thin: float = 0.12


_STYLES: dict[str, BookStyle | None] = {
    "frictionless": None,
    "realistic": BookStyle(),
    "thin": BookStyle(spread=4.0, depth=0.15),
}


def book_style(execution: object) -> BookStyle | None:
    """The preset's style (None: no books). ``ValueError`` for an unknown preset."""
    if not isinstance(execution, str) or execution.strip().lower() not in _STYLES:
        allowed = ", ".join(f'"{e}"' for e in EXECUTIONS)
        raise ValueError(f"execution must be one of {allowed}, not {execution!r}")
    return _STYLES[execution.strip().lower()]


def liquidity(symbol: str) -> tuple[float, float, float]:
    """A market's normal book: (half-spread, step between levels, both as fractions of the
    mark; USD at the best level). BTC: 0.5 bp, 1 bp, $400,000; thinner down the list."""
    try:
        rank = DEFAULT_SYMBOLS.index(symbol)
    except ValueError:
        rank = len(DEFAULT_SYMBOLS)
    half = 0.00005 * (1.0 + 0.25 * rank)
    step = 0.0001 * (1.0 + 0.15 * rank)
    usd = 400_000.0 / (1.0 + 0.6 * rank)
    return half, step, usd


def price_tick(symbol: str, price: float) -> float:
    """The market's price step: its simulation decimals, else about six significant digits."""
    params = MARKETS.get(symbol)
    if params is not None:
        return 10.0**-params.decimals
    return 10.0 ** (math.floor(math.log10(price)) - 5)


class Stress:
    """How far a market's mark has run lately, in its own normal standard deviations: the
    distance of the log price from its exponential average over :data:`STRESS_WINDOW` seconds,
    divided by ``annual_vol * sqrt(window)``. About 1 in a normal market; tens in a crash."""

    __slots__ = ("_avg", "_norm", "value")

    def __init__(self, annual_vol: float) -> None:
        self._norm = max(annual_vol, 1e-6) * math.sqrt(STRESS_WINDOW / YEAR_SECONDS)
        self._avg: float | None = None
        self.value = 0.0

    def update(self, log_price: float, dt: float) -> float:
        if self._avg is None or dt <= 0.0:
            self._avg = log_price if self._avg is None else self._avg
        else:
            self._avg += (log_price - self._avg) * -math.expm1(-dt / STRESS_WINDOW)
        self.value = abs(log_price - self._avg) / self._norm
        return self.value


class BookMaker:
    """Builds the books of one source's markets, seeded (sizes vary a little level to level,
    from a generator of their own: adding books never changes a source's prices)."""

    def __init__(self, symbols: Sequence[str], style: BookStyle, seed: int) -> None:
        self.style = style
        self._rng = random.Random(seed ^ 0x5EED_B00C)
        self._liq = {s: liquidity(s) for s in symbols}

    def book(
        self, symbol: str, mark: float, stress: float = 0.0, depth: float = 1.0
    ) -> tuple[list[Level], list[Level]]:
        """(bids, asks) around ``mark``; ``stress`` from :class:`Stress`, ``depth`` a further
        multiplier on every level's size (a scenario's liquidity)."""
        style = self.style
        half, step, usd = self._liq.get(symbol) or liquidity(symbol)
        excess = max(stress - 1.0, 0.0)
        half *= style.spread * (1.0 + style.widen * excess)
        step *= style.spread * (1.0 + 0.5 * style.widen * excess)
        size = usd * style.depth * depth / (1.0 + style.thin * excess) / mark
        tick = price_tick(symbol, mark)
        decimals = max(0, -math.floor(math.log10(tick) + 1e-9))
        ask0 = math.ceil(mark * (1.0 + half) / tick - 1e-9)  # in ticks
        bid0 = math.floor(mark * (1.0 - half) / tick + 1e-9)
        if bid0 >= ask0:
            bid0 = ask0 - 1
        gap = max(1, round(mark * step / tick))
        rnd = self._rng.random
        bids: list[Level] = []
        asks: list[Level] = []
        for i in range(style.levels):
            grow = size * (1.0 + 0.15 * i)
            asks.append((round((ask0 + i * gap) * tick, decimals), grow * (0.6 + 0.8 * rnd())))
            bid = bid0 - i * gap
            if bid > 0:
                bids.append((round(bid * tick, decimals), grow * (0.6 + 0.8 * rnd())))
        return bids, asks
