"""The default markets: the most traded perpetuals, with Hyperliquid-like leverage and fees."""

from __future__ import annotations

from tui.engine.models import Market

TAKER_FEE = 0.00045
MAKER_FEE = 0.00015

# (symbol, max leverage), most traded first.
_LEVERAGE: tuple[tuple[str, int], ...] = (
    ("BTC", 40),
    ("ETH", 25),
    ("SOL", 20),
    ("XRP", 20),
    ("DOGE", 10),
    ("BNB", 10),
    ("HYPE", 10),
    ("SUI", 10),
    ("ADA", 10),
    ("AVAX", 10),
    ("LINK", 10),
    ("LTC", 10),
    ("DOT", 10),
    ("TRX", 10),
    ("BCH", 10),
    ("NEAR", 10),
    ("APT", 10),
    ("ARB", 10),
    ("OP", 10),
    ("TON", 10),
    ("AAVE", 10),
    ("UNI", 10),
)


def default_markets(taker_fee: float = TAKER_FEE, maker_fee: float = MAKER_FEE) -> list[Market]:
    """The default market list, with the given fees (settings may override the defaults)."""
    return [
        Market(name, max_leverage=lev, taker_fee=taker_fee, maker_fee=maker_fee)
        for name, lev in _LEVERAGE
    ]


DEFAULT_MARKETS: tuple[Market, ...] = tuple(default_markets())
