"""The venues perpdesk imitates, and the rules that differ between them (docs/rules.md, "Venues").

A :class:`Venue` is a choice made for a whole account (a season): it decides what a liquidation
takes, how much isolated margin can be removed, when funding is paid and the smallest order.
Margin tables (tiers and brackets) belong to each :class:`~tui.engine.models.Market`, loaded
from the venue's data by :mod:`tui.engine.markets`.
"""

from __future__ import annotations

import math
from enum import StrEnum

from tui.engine.models import MAKER_FEE, TAKER_FEE, InvalidInput

HOUR = 3_600.0


class Venue(StrEnum):
    HYPERLIQUID = "hyperliquid"
    BINANCE = "binance"

    @property
    def label(self) -> str:
        return "Hyperliquid" if self is Venue.HYPERLIQUID else "Binance"

    @classmethod
    def parse(cls, value: object) -> Venue:
        if isinstance(value, Venue):
            return value
        text = str(value).strip().lower()
        for venue in cls:
            if text == venue.value:
                return venue
        raise InvalidInput(f"Venue must be hyperliquid or binance, not {value!r}.")

    # ------------------------------------------------------------------ orders

    @property
    def min_notional(self) -> float:
        """The smallest order value where a market names none of its own.

        Hyperliquid: 10 on every market [HL Contract specifications]. Binance: each symbol has
        its own MIN_NOTIONAL filter; 5 is the value most USDⓈ-M perpetuals use [BN Trading
        rules].
        """
        return 10.0 if self is Venue.HYPERLIQUID else 5.0

    @property
    def taker_fee(self) -> float:
        """Base-tier taker fee: Hyperliquid 0.045 % [HL Fees], Binance 0.05 % [BN Fees]."""
        return TAKER_FEE if self is Venue.HYPERLIQUID else 0.0005

    @property
    def maker_fee(self) -> float:
        """Base-tier maker fee: Hyperliquid 0.015 % [HL Fees], Binance 0.02 % [BN Fees]."""
        return MAKER_FEE if self is Venue.HYPERLIQUID else 0.0002

    # ------------------------------------------------------------------ funding

    @property
    def funding_interval_hours(self) -> float:
        """Hours between funding payments where a market names none: 1 (Hyperliquid), 8
        (Binance, at 00:00, 08:00 and 16:00 UTC)."""
        return 1.0 if self is Venue.HYPERLIQUID else 8.0

    @property
    def funding_cap(self) -> float | None:
        """Largest funding rate per hour, either sign: 4 % on Hyperliquid [HL Funding]."""
        return 0.04 if self is Venue.HYPERLIQUID else None


# Hyperliquid's liquidation rules [HL Liquidations]
HL_PARTIAL_NOTIONAL = 100_000.0
"""Positions above this notional are liquidated a slice at a time."""
HL_PARTIAL_FRACTION = 0.2
"""The slice: 20 % of the position."""
HL_PARTIAL_COOLDOWN = 30.0
"""Seconds after a partial liquidation during which any liquidation takes the whole position."""
HL_BACKSTOP_FRACTION = 2.0 / 3.0
"""Below this fraction of maintenance margin the backstop takes position(s) and margin."""
HL_TRANSFER_FLOOR = 0.1
"""Isolated margin left after a removal: at least 10 % of the notional [HL Margining]."""


def next_funding_time(after: float, interval_hours: float) -> float:
    """The first funding instant strictly after ``after`` (seconds since the Unix epoch, UTC).

    Instants are the whole multiples of the interval counted from 00:00 UTC, so an 8-hour
    interval gives 00:00, 08:00 and 16:00 UTC, a 4-hour one 00:00, 04:00, ... and Hyperliquid's
    hour every whole hour.
    """
    step = interval_hours * HOUR
    return (math.floor(after / step) + 1.0) * step
