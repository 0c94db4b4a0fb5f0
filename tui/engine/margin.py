"""The margin formulas of docs/rules.md, one implementation each.

Every figure perpdesk shows or acts on comes from these functions; nothing else in the code
base computes margin. ``s`` is +1 for a long and -1 for a short, ``q`` the size in base units.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal


def default_mmr(max_leverage: float) -> float:
    """Maintenance margin rate: half the initial margin at max leverage (BTC 40x -> 1.25 %)."""
    return 1.0 / (2.0 * max_leverage)


def fill_price(mark: float, s: int, slippage: float) -> float:
    """A market order fills at the mark, moved against the taker by the market's slippage."""
    return mark * (1.0 + s * slippage)


def notional(q: float, price: float) -> float:
    return q * price


def fee(q: float, price: float, rate: float) -> float:
    """Trading fee: ``q * fill_price * fee_rate``, always taken from the wallet."""
    return q * price * rate


def initial_margin(q: float, price: float, leverage: float) -> float:
    """``IM = q * price / L``. With the mark as price it is a cross position's margin."""
    return q * price / leverage


def maintenance_margin(q: float, mark: float, mmr: float) -> float:
    """``MM = q * P * mmr``."""
    return q * mark * mmr


def tiered_maintenance(notional: float, rate: float, amount: float) -> float:
    """``MM = notional * rate - amount`` (Hyperliquid's maintenance deduction, Binance's
    maintenance amount), with the rate and amount of the tier in force at that notional."""
    return notional * rate - amount


def tier_index(floors: Sequence[float], notional: float) -> int:
    """Index of the tier in force at ``notional``: the last one whose floor it reaches
    (``floors`` rise from 0)."""
    return max(bisect_right(floors, notional) - 1, 0)


def round_to_step(size: float, step: float, *, down: bool = False) -> float:
    """``size`` on a multiple of ``step`` (nearest, or ``down``), without float dust: 0.1 + 0.2
    on a 0.1 step gives 0.3, not 0.30000000000000004."""
    units = size / step
    whole = math.floor(units + 1e-9) if down else math.floor(units + 0.5)
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 12
    return round(whole * step, places)


def unrealized_pnl(s: int, q: float, entry: float, mark: float) -> float:
    """``u = s * q * (P - E)``."""
    return s * q * (mark - entry)


def liquidation_price(s: int, q: float, entry: float, collateral: float, mmr: float) -> float:
    """Mark at which ``collateral + u == MM``: ``(E - s * collateral / q) / (1 - s * mmr)``.

    Isolated: collateral is the posted margin ``M``. Cross: collateral is ``A``, the wallet plus
    the other cross positions' unrealized PnL minus their maintenance margin. The result may be
    <= 0, meaning the position has no liquidation price.
    """
    numerator = entry - s * collateral / q
    if abs(numerator) <= 1e-12 * entry:  # a fully collateralised long: float dust, not a price
        return 0.0
    return numerator / (1.0 - s * mmr)


def tiered_liquidation_price(
    s: int,
    q: float,
    entry: float,
    collateral: float,
    floors: Sequence[float],
    rates: Sequence[float],
    amounts: Sequence[float],
) -> float:
    """The mark at which ``collateral + u == MM``, with the tier in force at that mark.

    Each tier ``t`` gives ``P = (E - s * (collateral + amount_t) / q) / (1 - s * rate_t)``
    (Binance's published formula, and Hyperliquid's with the maintenance deduction); the answer
    is the one whose notional ``q * P`` falls in its own tier. ``collateral + u - MM`` moves one
    way only as the mark moves, so exactly one tier answers. A result <= 0 means the position has
    no liquidation price.
    """
    n = len(floors)
    for t in range(n):
        price = liquidation_price(s, q, entry, collateral + amounts[t], rates[t])
        if t == 0 and price <= 0.0:
            return price
        notional = q * price
        low = floors[t]
        high = floors[t + 1] if t + 1 < n else math.inf
        if low * (1 - 1e-12) <= notional <= high * (1 + 1e-12):
            return price
    # Float noise at a tier boundary: the boundary price is the answer.
    best = min(
        range(1, n),
        key=lambda t: abs(
            q * liquidation_price(s, q, entry, collateral + amounts[t], rates[t]) - floors[t]
        ),
    )
    return floors[best] / q


def buffer_slope(s: int, q: float, mmr: float) -> float:
    """How ``u - MM`` of a position moves per unit of mark: ``s * q - q * mmr``."""
    return s * q - q * mmr


def liquidation_distance(mark: float, liq: float | None) -> float | None:
    """How far the mark may move before liquidation, as a fraction of the mark."""
    if liq is None or mark <= 0:
        return None
    return abs(mark - liq) / mark


def is_beyond(s: int, mark: float, liq: float) -> bool:
    """True when ``mark`` is at or past ``liq`` on the losing side of a position of side ``s``."""
    return mark <= liq if s > 0 else mark >= liq


def funding_payment(s: int, q: float, mark: float, rate: float) -> float:
    """What the position pays (positive) or receives (negative): longs pay when rate > 0."""
    return s * q * mark * rate


def removable_margin(margin: float, upnl: float, q: float, mark: float, leverage: float) -> float:
    """Most isolated margin that can be removed: keep ``M - a + min(u, 0) >= q * P / L``."""
    return max(0.0, margin + min(upnl, 0.0) - initial_margin(q, mark, leverage))


def removable_margin_hl(
    margin: float, upnl: float, q: float, mark: float, leverage: float, floor: float
) -> float:
    """Hyperliquid: what remains, counting unrealized PnL, must stay at least
    ``max(q * P / L, floor * q * P)`` (``floor`` = 10 %); profit can be taken out too."""
    keep = max(initial_margin(q, mark, leverage), floor * notional(q, mark))
    return max(0.0, margin + upnl - keep)


def margin_ratio(maintenance: float, account_value: float) -> float:
    """Cross margin ratio ``R / V`` (liquidation at 1.0). 0 with no cross exposure."""
    if maintenance <= 0.0:
        return 0.0
    if account_value <= 0.0:
        return float("inf")
    return maintenance / account_value
