"""Number formatting shared by every screen (pure functions, no UI imports).

Every helper takes None, NaN and infinities (shown as a dash) and never raises; a figure too
large to read as digits (1e15 and above) is written in scientific form, never as a
300-digit string.
"""

from __future__ import annotations

import math

DASH = "—"
HUGE = 1e15  # from here on a figure is written 1.23e+15, not as 16+ digits


def _bad(x: float | None) -> bool:
    try:
        return x is None or not math.isfinite(x)
    except (TypeError, OverflowError):  # not a number at all, or an int beyond floats
        return True


def _huge(x: float, signed: bool = False) -> str | None:
    """``x`` in scientific form when it is too large to read as digits, else None."""
    if abs(x) < HUGE:
        return None
    return f"{x:+.3e}" if signed else f"{x:.3e}"


def price_decimals(price: float | None) -> int:
    """Decimals that show a price to about six significant digits."""
    if price is None or _bad(price):
        return 2
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


def fmt_price(price: float | None, ref: float | None = None, *, decimals: int | None = None) -> str:
    """A price with thousands separators; ``ref`` picks the decimals (to align a column), or
    ``decimals`` (what :func:`price_decimals` gave for the reference) says them."""
    if _bad(price):
        return DASH
    assert price is not None
    huge = _huge(price)
    if huge is not None:
        return huge
    if decimals is None:
        good_ref = ref is not None and not _bad(ref) and ref > 0
        decimals = price_decimals(ref if good_ref else price)
    text = f"{price:,.{decimals}f}"
    if price and not text.strip("-0.,"):
        return _tiny(price)  # a nonzero price too small for its decimals: never "0.00"
    return text


def size_decimals(price: float | None) -> int:
    """Decimals for a size in base units: the last digit is worth about 10 cents to $1
    (BTC at 100,000: 6 decimals; ETH at 3,500: 4; SOL at 180: 3; DOGE at 0.2: 0).
    Without a usable price (None, NaN, 0): 4."""
    if price is None or _bad(price) or price <= 0:
        return 4
    return max(0, min(8, math.floor(math.log10(price)) + 1))


def fmt_size(size: float | None, price: float | None, *, decimals: int | None = None) -> str:
    """A size in base units at the decimals ``price`` calls for (or ``decimals``, what
    :func:`size_decimals` gave for it); a size too small for them shows its own significant
    digits (``0.00000001``), never a bare "0"."""
    if _bad(size):
        return DASH
    assert size is not None
    huge = _huge(size)
    if huge is not None:
        return huge
    text = f"{size:,.{size_decimals(price) if decimals is None else decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if size and not text.strip("-0.,"):
        return _tiny(size)
    return text or "0"


def _tiny(x: float) -> str:
    """A nonzero figure too small for its usual decimals: two significant digits."""
    if abs(x) >= 1e-12:
        decimals = 1 - math.floor(math.log10(abs(x)))
        return f"{x:.{decimals}f}".rstrip("0")
    return f"{x:.1e}"


def _sign_of_shown(text: str) -> str:
    """A figure whose shown digits are all zero carries no sign: "-0.00" and "+0.0%" read as
    a loss or a gain that is not there (the sign follows the rounded value, not the raw one)."""
    if text[:1] in "+-" and not text.strip("+-0.,%"):
        return text[1:]
    return text


def fmt_money(x: float | None, signed: bool = False) -> str:
    if _bad(x):
        return DASH
    assert x is not None
    huge = _huge(x, signed)
    if huge is not None:
        return huge
    return _sign_of_shown(f"{x:+,.2f}" if signed else f"{x:,.2f}")


def fmt_pct(x: float | None, signed: bool = False, decimals: int = 2) -> str:
    """``x`` is a fraction: 0.0123 -> "1.23%"."""
    if _bad(x):
        return DASH
    assert x is not None
    value = x * 100
    huge = None if _bad(value) else _huge(value, signed)
    if _bad(value) or huge is not None:
        return DASH if huge is None else huge + "%"
    return _sign_of_shown(f"{value:+.{decimals}f}%" if signed else f"{value:.{decimals}f}%")


def fmt_rate(rate: float | None) -> str:
    """An hourly funding rate: 0.0000125 -> "0.0013%"."""
    if _bad(rate):
        return DASH
    assert rate is not None
    value = rate * 100
    if _bad(value):
        return DASH
    huge = _huge(value, signed=True)
    return _sign_of_shown(f"{value:+.4f}%") if huge is None else huge + "%"


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
