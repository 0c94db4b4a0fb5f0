"""The selected market at a glance: its chart with the trader's levels, its book, its funding.

The main screen hands :meth:`MarketPane.show` what to draw (candles from the session's
:class:`~tui.market.candles.CandleStore`, the level list from :func:`tui.risk.chart_levels`,
the engine's book, the funding outlook of the position); the pane only lays it out. Which
candle interval it shows is its own state (:attr:`MarketPane.interval`, cycled by a key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tui.engine.book import OrderBook
from tui.format import fmt_money, fmt_price, fmt_rate
from tui.history import format_duration
from tui.market.candles import INTERVALS, Candle
from tui.risk import FundingOutlook
from tui.safe import safe_text
from tui.widgets.chart import Level, PriceChart
from tui.widgets.depth import DepthView

__all__ = ["MarketPane", "funding_line"]


def funding_line(f: FundingOutlook | None, market: str | None) -> str:
    """One line on the selected position's funding: when the next payment is, what holding
    24 h at today's rate costs, and where that leaves the liquidation price."""
    if market is None or f is None:
        return ""  # funding is paid on positions only
    parts = [f"Funding in {format_duration(f.next_in)}"]
    if f.rate is None or f.cost_24h is None:
        parts.append("no rate yet")
        return " · ".join(parts)
    verb = "costs" if f.cost_24h >= 0 else "earns"
    parts.append(f"24 h {verb} {fmt_money(abs(f.cost_24h))}")
    if f.liquidated_by_funding:
        parts.append("that alone would liquidate it")
    elif f.liquidation_now is not None and f.liquidation_after is not None:
        ref = f.liquidation_now
        parts.append(
            f"liq {fmt_price(f.liquidation_now, ref)} → {fmt_price(f.liquidation_after, ref)}"
        )
    parts.append(f"at {fmt_rate(f.rate)}/h")
    return " · ".join(parts)


class MarketPane(Vertical):
    """Chart and depth side by side; the funding line on the bottom edge (as the border's
    subtitle: give the pane a border)."""

    DEFAULT_CSS = """
    MarketPane { height: 1fr; }
    MarketPane #chart-row { height: 1fr; }
    MarketPane PriceChart { width: 1fr; height: 1fr; min-height: 5; }
    MarketPane DepthView { border-left: vkey $panel-lighten-2; padding: 0 0 0 1; width: 26; }
    MarketPane DepthView.-hidden { display: none; }
    """

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._monotonic = monotonic
        self._funding_text = ""
        self.interval = next(iter(INTERVALS))
        """The candles shown: ``"1m"``, ``"5m"`` or ``"1h"``."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="chart-row"):
            yield PriceChart(monotonic=self._monotonic, id="chart")
            yield DepthView(id="depth")

    @property
    def chart(self) -> PriceChart:
        return self.query_one(PriceChart)

    @property
    def depth(self) -> DepthView:
        return self.query_one(DepthView)

    @property
    def candle_limit(self) -> int:
        """Candles worth reading: one per column of the terminal, which the chart never
        exceeds (its own width is 0 while folded away, and still 0 in the frame it is shown
        again: reading by it drew a single candle until prices moved)."""
        return max(1, self.app.size.width)

    @property
    def funding_text(self) -> str:
        """The funding line as shown (empty without a position)."""
        return self._funding_text

    def next_interval(self) -> str:
        """Show the next interval (1m -> 5m -> 1h -> 1m); returns it."""
        names = list(INTERVALS)
        self.interval = names[(names.index(self.interval) + 1) % len(names)]
        return self.interval

    def show_depth(self, shown: bool) -> None:
        """Show the book beside the chart (narrow terminals leave it out)."""
        self.depth.set_class(not shown, "-hidden")

    def show(
        self,
        market: str | None,
        candles: Sequence[Candle],
        levels: Sequence[Level],
        book: OrderBook | None,
        funding: FundingOutlook | None,
        *,
        now: bool = False,
    ) -> None:
        """Draw ``market``; ``now`` skips the chart's pacing (the selection or interval just
        changed: the trader is waiting for it)."""
        if market is None:
            self.chart.show("", (), message="Select a market")
            self.depth.show("Book", None, "Select a market")
        else:
            self.chart.show(f"{market} · {self.interval}", candles, levels)
            self.depth.show(f"{market} book", book)
        if now:
            self.chart.flush()
        text = funding_line(funding, market)
        if text != self._funding_text:
            self._funding_text = text
            # the pane's bottom edge: no row of its own (a Text: never read as markup)
            self.border_subtitle = Text(safe_text(text))
