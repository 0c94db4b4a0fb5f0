"""The confirmation screen's compact shock ladder: the account with and without the order.

The order's market moved -30 % .. +30 % in steps of 5 % (every other step when the line is
narrow); for each step, the change in equity from now, without the order and with it, shown
in reverse where a liquidation happens and red from there on; then a line saying where the
first liquidation comes each way, with and without the order. The figures are the engine's, on
copies (:func:`tui.risk.compare_pending`, through the session); this widget lays them out and
asks for new ones at most once a second, or at once when the order changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

from rich.text import Text

from tui.engine import MarginMode
from tui.risk import LadderLiquidation, PendingComparison, ShockLadder
from tui.widgets.plain import Plain
from tui.widgets.safe_rich import safe_rich

__all__ = ["PendingLadder", "compact_money", "first_liquidations", "ladder_lines"]

LABEL = 12
CELL = 6
EVERY = 1.0
"""Seconds between two comparisons while the screen is open."""


def compact_money(x: float) -> str:
    """A change in equity in at most 5 characters, so a 6-cell column keeps a space between
    figures: ``+150``, ``-1.2k``, ``+35k``, ``-1.4M``; one decimal only while it fits
    (9,990 is ``+10k``, never ``+10.0k``)."""
    if not math.isfinite(x):
        return "—"
    if abs(x) < 999.5:
        text = f"{x:+.0f}"
        return "0" if text in ("+0", "-0") else text
    for unit, scale in (("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)):
        for text in (f"{x / scale:+.1f}{unit}", f"{x / scale:+.0f}{unit}"):
            if len(text) <= 5:
                return text
    return f"{x:+.0e}".replace("e+", "e")


def first_liquidations(ladder: ShockLadder) -> tuple[LadderLiquidation | None, ...]:
    """The first liquidation as prices fall, and as they rise (``None``: none within 30 %)."""
    falls = [lq for lq in ladder.liquidations if lq.move < 0]
    rises = [lq for lq in ladder.liquidations if lq.move > 0]
    return (falls[0] if falls else None, rises[0] if rises else None)


def _where(ladder: ShockLadder) -> str:
    """Where the first liquidation of each direction comes: ``falls -9.0 % BTC iso``."""
    parts = []
    for word, lq in zip(("falls", "rises"), first_liquidations(ladder), strict=True):
        if lq is not None:
            mode = "iso" if lq.mode is MarginMode.ISOLATED else "cross"
            parts.append(f"{word} {lq.move * 100:+.1f} % {lq.market} {mode}")
    return ", ".join(parts) or "none within 30 %"


def _cells(ladder: ShockLadder, base: float, moves: Sequence[float], style: str) -> Text:
    """Equity change at each move, red from the first liquidation outwards, in reverse where
    a liquidation happens between the move shown before (nearer 0) and this one."""
    text = Text()
    for i, move in enumerate(moves):
        nearer = moves[i + 1] if move < 0 else moves[i - 1] if move > 0 else 0.0
        met = [lq.move for lq in ladder.liquidations if lq.move * move > 0]
        fresh = any(abs(nearer) < abs(m) <= abs(move) + 1e-12 for m in met)
        hit = any(abs(m) <= abs(move) + 1e-12 for m in met)
        cell = compact_money(ladder.row(move).equity - base).rjust(CELL)
        if fresh:
            text.append(cell[0])
            text.append(cell[1:], style=f"bold reverse {style}")
        else:
            text.append(cell, style=style if hit else "")
    return text


def ladder_lines(compared: PendingComparison | str, width: int, error_style: str = "red") -> Text:
    """The widget's text for ``compared`` (or the sentence saying why there is none), fitted
    to ``width`` cells."""
    if isinstance(compared, str):
        return Text(f"What if: {compared}", style="dim")
    without = compared.without
    moves = [r.move for r in without.rows]
    if LABEL + CELL * len(moves) > width:
        moves = moves[::2]
    base = without.equity_now
    market = without.market or "every market"
    text = Text()
    text.append(f"What if {market} moves".ljust(LABEL)[:LABEL], style="bold")
    for move in moves:
        text.append((f"{move * 100:+.0f}%" if move else "0%").rjust(CELL), style="dim")
    text.append("\n")
    text.append("Now".ljust(LABEL), style="dim")
    text.append_text(_cells(without, base, moves, error_style))
    text.append("\n")
    text.append("With order".ljust(LABEL), style="dim")
    if compared.with_order is None:
        text.append(f" refused: {compared.rejection}", style=error_style)
    else:
        text.append_text(_cells(compared.with_order, base, moves, error_style))
    text.append("\n")
    text.append("First liq.".ljust(LABEL), style="dim")
    text.append(f"now: {_where(without)}")
    if compared.with_order is not None:
        text.append(f" · with order: {_where(compared.with_order)}")
    return text


class PendingLadder(Plain):
    """The compact ladder (see the module doc). Call :meth:`follow` on every heartbeat."""

    DEFAULT_CSS = """
    PendingLadder { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._key: Hashable = None
        self._at: float | None = None
        self._compared: PendingComparison | str | None = None

    def follow(
        self, key: Hashable, compute: Callable[[], PendingComparison | str], now: float
    ) -> None:
        """Show ``compute()`` when ``key`` (what the order is) changed, or a second after the
        last comparison (``now``: the session's monotonic clock); otherwise nothing."""
        if key == self._key and self._at is not None and 0 <= now - self._at < EVERY:
            return
        self._key, self._at = key, now
        self._compared = compute()
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._compared is None:
            return
        width = self.content_region.width or 92
        error = self.app.current_theme.error or "red"
        self.update(safe_rich(ladder_lines(self._compared, width, error)))
