"""Number formatting shared by every screen (pure functions, no UI imports)."""

from __future__ import annotations

import math

DASH = "—"


def _bad(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def price_decimals(price: float) -> int:
    """Decimals that show a price to about six significant digits."""
    if price >= 10_000:
        return 1
    if price >= 1_000:
        return 2
    if price >= 10:
        return 3
    if price >= 1:
        return 4
    if price <= 0:
        return 2
    return min(8, 4 - math.floor(math.log10(price)))


def fmt_price(price: float | None, ref: float | None = None) -> str:
    """A price with thousands separators; ``ref`` picks the decimals (to align a column)."""
    if _bad(price):
        return DASH
    assert price is not None
    decimals = price_decimals(ref if ref is not None and ref > 0 else price)
    return f"{price:,.{decimals}f}"


def size_decimals(price: float) -> int:
    """Decimals for a size in base units: the last digit is worth about 10 cents to $1
    (BTC at 100,000: 6 decimals; ETH at 3,500: 4; SOL at 180: 3; DOGE at 0.2: 0)."""
    if price <= 0:
        return 4
    return max(0, min(8, math.floor(math.log10(price)) + 1))


def fmt_size(size: float | None, price: float) -> str:
    if _bad(size):
        return DASH
    assert size is not None
    text = f"{size:,.{size_decimals(price)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def fmt_money(x: float | None, signed: bool = False) -> str:
    if _bad(x):
        return DASH
    assert x is not None
    if abs(x) < 0.005:
        x = 0.0
    return f"{x:+,.2f}" if signed else f"{x:,.2f}"


def fmt_pct(x: float | None, signed: bool = False, decimals: int = 2) -> str:
    """``x`` is a fraction: 0.0123 -> "1.23%"."""
    if _bad(x):
        return DASH
    assert x is not None
    value = x * 100
    if abs(value) < 0.5 * 10**-decimals:
        value = 0.0
    return f"{value:+.{decimals}f}%" if signed else f"{value:.{decimals}f}%"


def fmt_rate(rate: float | None) -> str:
    """An hourly funding rate: 0.0000125 -> "0.0013%"."""
    if _bad(rate):
        return DASH
    assert rate is not None
    return f"{rate * 100:+.4f}%"


def fmt_leverage(lev: float | None) -> str:
    if _bad(lev):
        return DASH
    assert lev is not None
    return f"{lev:g}x"


def parse_amount(text: str) -> tuple[float, bool]:
    """Parse a size or a ``$`` amount typed by a person: returns (value, is_usd).

    Raises ``ValueError`` with a message naming what was wrong.
    """
    raw = text.strip().replace(",", "").replace("_", "")
    usd = False
    if raw.startswith("$"):
        usd, raw = True, raw[1:].strip()
    elif raw.endswith("$"):
        usd, raw = True, raw[:-1].strip()
    if not raw:
        raise ValueError("Enter a size like 0.01, or a USD amount like $500.")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{text.strip()!r} is not a number. Enter a size like 0.01, or a USD amount like $500."
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text.strip()!r} must be a number above zero.")
    return value, usd


def parse_leverage(text: str) -> float:
    raw = text.strip().lower().removesuffix("x").removeprefix("x").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"Leverage {text.strip()!r} is not a number; write 10 or 10x.") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"Leverage {text.strip()!r} must be a number above zero.")
    return value
