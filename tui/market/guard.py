"""The mark guard: a feed price that jumps implausibly far in one tick is held back, not applied.

One bad print (a glitching feed, a damaged replay row, a fat-fingered recording) must not
liquidate the account. :class:`MarkGuard` sits between a price source and the engine; for each
tick it answers whether the engine may apply it::

    guard = MarkGuard(max_move=0.5)       # 50 % a tick
    guard.allows("BTC", 100_000.0)        # True: the first price of a market sets the level
    guard.allows("BTC", 1e300)            # False: held back, and one GuardNote to log
    guard.allows("BTC", 100_050.0)        # True: back at the level, the glitch is forgotten

Rules (docs/rules.md, "Bad input"):

* A tick is held back when it moves more than ``max_move`` (a fraction: 0.5 = 50 %) away from
  the last price the guard let through for that market, either way.
* A real move is accepted once ``confirm`` ticks in a row (default 3) agree with the new level
  (each within ``max_move`` of the first held price): the last of them goes through and
  becomes the level. A tick back near the old level ends the episode as a glitch.
* ``max_move = 0`` turns the guard off.
* Values that are not prices at all (NaN, strings, <= 0) are not the guard's business: it lets
  them through for the engine to refuse, and never takes them as a level.

Each episode produces one :class:`GuardNote` when it starts (``held``) and one when a real move
is accepted (``accepted``), collected in :attr:`MarkGuard.notes` for the app to log and clear:
a glitching feed costs two log lines, not one per frame. Cost per tick is one dict lookup and
a comparison; it does not grow with anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tui.engine.limits import MAX_PRICE, MIN_PRICE
from tui.engine.models import REAL
from tui.format import fmt_price

DEFAULT_MAX_MOVE = 0.5
DEFAULT_CONFIRM = 3


@dataclass(frozen=True, slots=True)
class GuardNote:
    """Something the guard did worth one log line."""

    kind: Literal["held", "accepted"]
    symbol: str
    price: float  # the held (or accepted) price
    level: float  # the price the guard was holding to
    ticks: int  # held: 1; accepted: how many ticks confirmed the new level
    max_move: float

    @property
    def message(self) -> str:
        band = f"{self.max_move * 100:g} %"
        if self.kind == "held":
            return (
                f"Held back a {self.symbol} price of {fmt_price(self.price)}: more than {band} "
                f"from {fmt_price(self.level)} in one tick. It is applied only if the next "
                "ticks confirm it."
            )
        return (
            f"{self.symbol} really moved: {self.ticks} ticks in a row confirmed "
            f"{fmt_price(self.price)} (from {fmt_price(self.level)}); applied."
        )


class MarkGuard:
    """Decides, tick by tick, whether a feed price may reach the engine (see the module doc)."""

    __slots__ = ("_band", "_candidate", "_level", "confirm", "max_move", "notes")

    # _level[symbol] = (lowest, highest, level): the last price let through and the range a
    # next tick may take without being held (inside the engine's price bounds too).

    def __init__(self, max_move: float = DEFAULT_MAX_MOVE, confirm: int = DEFAULT_CONFIRM) -> None:
        if isinstance(max_move, bool) or not isinstance(max_move, int | float):
            raise ValueError(f"max_move must be a number, not {max_move!r}")
        if not 0 <= max_move <= 100:
            raise ValueError(f"max_move must be from 0 (off) to 100, not {max_move!r}")
        if isinstance(confirm, bool) or not isinstance(confirm, int) or confirm < 2:
            raise ValueError(f"confirm must be a whole number of ticks >= 2, not {confirm!r}")
        self.max_move = float(max_move)
        self.confirm = confirm
        # Off: an infinite band lets everything through on the fast path.
        self._band = self.max_move if self.max_move > 0 else math.inf
        self._level: dict[str, tuple[float, float, float]] = {}
        self._candidate: dict[str, list[float]] = {}  # market -> [first held price, ticks]
        self.notes: list[GuardNote] = []

    def allows(self, symbol: str, price: float) -> bool:
        """True: apply this tick. False: it is held back (and, once an episode, noted)."""
        known = self._level.get(symbol)
        # Fast path: a float within the range of the level. NaN fails the comparison.
        if known is not None and price.__class__ is float and known[0] <= price <= known[1]:
            if self._candidate:
                self._candidate.pop(symbol, None)  # back near the level: it was a glitch
            move = self._band * price
            self._level[symbol] = (
                max(MIN_PRICE, price - move),
                min(MAX_PRICE, price + move),
                price,
            )
            return True
        return self._judge(symbol, price, known)

    def _set_level(self, symbol: str, price: float) -> None:
        move = self._band * price
        self._level[symbol] = (max(MIN_PRICE, price - move), min(MAX_PRICE, price + move), price)

    def _judge(self, symbol: str, price: object, known: tuple[float, float, float] | None) -> bool:
        if isinstance(price, bool) or not isinstance(price, REAL):
            return True  # not a number: the engine refuses it with its own message
        try:
            value = float(price)
        except (TypeError, ValueError, ArithmeticError):
            return True
        if not MIN_PRICE <= value <= MAX_PRICE:
            return True  # NaN, <= 0 or beyond the engine's bounds: the engine refuses it
        if known is None:
            self._set_level(symbol, value)  # the first price of a market sets its level
            return True
        if known[0] <= value <= known[1]:  # an int or Decimal within the band
            self._candidate.pop(symbol, None)
            self._set_level(symbol, value)
            return True
        level = known[2]
        held = self._candidate.get(symbol)
        if held is not None and abs(value - held[0]) <= self._band * held[0]:
            held[1] += 1
            if held[1] >= self.confirm:  # the price really moved: accept the new level
                del self._candidate[symbol]
                self._set_level(symbol, value)
                self.notes.append(
                    GuardNote("accepted", symbol, value, level, int(held[1]), self.max_move)
                )
                return True
            return False
        if held is None:  # a new episode: say so once
            self.notes.append(GuardNote("held", symbol, value, level, 1, self.max_move))
        self._candidate[symbol] = [value, 1.0]
        return False

    def held(self, symbol: str) -> bool:
        """True while ``symbol`` has ticks held back (an episode is going on)."""
        return symbol in self._candidate

    def reset(self) -> None:
        """Forget every level and episode (a new price source starts)."""
        self._level.clear()
        self._candidate.clear()

    def drain(self) -> list[GuardNote]:
        """The notes since the last call, oldest first."""
        notes, self.notes = self.notes, []
        return notes
