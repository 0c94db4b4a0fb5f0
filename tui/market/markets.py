"""Per-market simulation parameters and symbol validation.

The markets themselves come from the engine's catalogue (``tui.engine.markets.DEFAULT_SYMBOLS``).
The simulated and scenario sources need a reference price, a volatility and a beta for every
market they price; live and replay sources accept any plausible symbol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tui.engine.markets import DEFAULT_SYMBOLS

__all__ = [
    "BASE_FUNDING_RATE",
    "DEFAULT_SYMBOLS",
    "MARKETS",
    "MAX_FUNDING_RATE",
    "MarketParams",
    "normalize_symbols",
]

BASE_FUNDING_RATE = 0.0000125
"""Resting hourly funding rate (0.00125 %/h, i.e. 0.01 % per 8 h) the simulation reverts to."""

MAX_FUNDING_RATE = 0.0005
"""Simulated hourly funding rates are clamped to +-0.05 %/h."""


@dataclass(frozen=True, slots=True)
class MarketParams:
    """How the simulation prices one market.

    ``ref_price`` is where a run starts (late-2025 levels), ``annual_vol`` the annualised
    volatility of log returns (0.5 = 50 %), ``beta`` how much of BTC's move the market takes
    on (alt return = beta * BTC shock + an idiosyncratic part), ``decimals`` the price
    precision marks are rounded to.
    """

    symbol: str
    ref_price: float
    annual_vol: float
    beta: float
    decimals: int


# How the simulation prices each market of the catalogue (tui/engine/markets.py), which
# says which markets exist and in what order: (reference price, annual volatility, beta,
# price decimals).
_SIMULATION: dict[str, tuple[float, float, float, int]] = {
    "BTC": (100_000.0, 0.50, 1.00, 1),
    "ETH": (3_500.0, 0.65, 1.10, 2),
    "SOL": (180.0, 0.90, 1.30, 3),
    "XRP": (2.50, 0.85, 1.00, 4),
    "DOGE": (0.20, 1.00, 1.20, 5),
    "BNB": (900.0, 0.80, 0.70, 2),
    "HYPE": (40.0, 1.10, 1.10, 3),
    "SUI": (3.50, 1.10, 1.30, 4),
    "ADA": (0.75, 0.95, 1.10, 5),
    "AVAX": (30.0, 1.00, 1.20, 3),
    "LINK": (20.0, 0.95, 1.10, 3),
    "LTC": (100.0, 0.85, 0.90, 2),
    "DOT": (5.0, 0.95, 1.00, 4),
    "TRX": (0.30, 0.80, 0.50, 5),
    "BCH": (500.0, 0.80, 0.90, 2),
    "NEAR": (3.0, 1.05, 1.20, 4),
    "APT": (6.0, 1.05, 1.20, 4),
    "ARB": (0.50, 1.10, 1.20, 5),
    "OP": (0.90, 1.10, 1.20, 4),
    "TON": (3.0, 0.85, 0.70, 4),
    "AAVE": (280.0, 1.00, 1.10, 2),
    "UNI": (8.0, 1.00, 1.10, 3),
}

_unpriced = [s for s in DEFAULT_SYMBOLS if s not in _SIMULATION]
if _unpriced:  # pragma: no cover - fails every import the day a market lacks parameters
    raise RuntimeError(f"no simulation parameters for {', '.join(_unpriced)}")

MARKETS: dict[str, MarketParams] = {s: MarketParams(s, *_SIMULATION[s]) for s in DEFAULT_SYMBOLS}
"""Simulation parameters by symbol, in the catalogue's order."""

_SYMBOL_RE = re.compile(r"[A-Z0-9]{1,20}")


def normalize_symbols(
    symbols: Iterable[str] | None, *, known_only: bool, purpose: str = "this source"
) -> tuple[str, ...]:
    """Validate a symbol list: strip, upper-case, no duplicates, not empty.

    ``None`` means :data:`DEFAULT_SYMBOLS`. With ``known_only`` every symbol must be in
    :data:`MARKETS` (the simulation needs its parameters). Raises ``ValueError``.
    """
    if symbols is None:
        return DEFAULT_SYMBOLS
    if isinstance(symbols, str | bytes):
        raise ValueError(
            f"symbols must be a list of symbols such as ['BTC', 'ETH'], not the string {symbols!r}"
        )
    out: list[str] = []
    for raw in symbols:
        if not isinstance(raw, str):
            raise ValueError(f"symbol {raw!r} is not a string")
        sym = raw.strip().upper()
        if not _SYMBOL_RE.fullmatch(sym):
            raise ValueError(
                f"symbol {raw!r} is not valid: use 1 to 20 letters or digits, e.g. 'BTC'"
            )
        if sym in out:
            raise ValueError(f"symbol {sym} is listed twice")
        if known_only and sym not in MARKETS:
            raise ValueError(
                f"unknown market {sym!r} for {purpose}; known markets: {', '.join(MARKETS)}"
            )
        out.append(sym)
    if not out:
        raise ValueError("symbols must not be empty (use None for the default markets)")
    return tuple(out)
