"""The bounds on what the engine accepts (docs/rules.md, "Bad input").

Every number the engine takes in is a finite real number inside these bounds, so every figure
it derives (margins, PnL, liquidation prices, the wallet) stays finite: the largest product it
forms is a size times a price, at most ``MAX_SIZE * MAX_PRICE = 1e24``, far below the float
range. They are engine-wide: a venue's own, tighter minimums (order value, size step) come on
top of them.
"""

from __future__ import annotations

MIN_PRICE = 1e-10
"""Lowest mark price (USD per unit) the engine takes; the cheapest tokens trade near 1e-8."""

MAX_PRICE = 1e9
"""Highest mark price: ten thousand times bitcoin's. A feed price above it is a glitch."""

MIN_SIZE = 1e-9
"""Smallest order or close size in base units (finer than any venue's size step)."""

MAX_SIZE = 1e15
"""Largest position size in base units."""

MIN_NOTIONAL = 0.01
"""Smallest value (size times fill price, USD) of what an order opens or adds: one cent."""

MAX_NOTIONAL = 1e14
"""Largest value (USD) of what one order opens or adds: 100 trillion."""

MAX_BALANCE = 1e12
"""Largest starting balance (USD): one trillion."""

MAX_LEVERAGE = 1000.0
"""Highest max leverage a market may list (venues list at most 125x)."""

MAX_FUNDING_RATE = 1.0
"""Largest hourly funding rate, either sign (100 % an hour; venues cap it near 4 %)."""
