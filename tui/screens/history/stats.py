"""The season in figures: practice stats by margin mode, net of fees with the gross shown, and
what execution cost (spread, impact, fees). All from the ledger's totals
(:meth:`tui.journal.HistorySource.stats`): nothing is recomputed on a resize, nothing reads
the records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.format import DASH, fmt_money, fmt_pct
from tui.history import PracticeStats, Stats
from tui.safe import safe_text
from tui.screens.history.pane import HistoryPane
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles

NOTES = (
    "Net result = realized PnL - fees + funding received - funding paid - margin forfeited in "
    "liquidations. A round trip is won when its net result is above zero.\n"
    "Spread and impact are what the fills paid against the mark (up to the best price, then "
    "walking the book): they are inside the fill prices, so inside the realized PnL already. "
    "Fees are charged on top."
)


def _share(rate: float | None) -> str:
    return DASH if rate is None else fmt_pct(rate, decimals=0)


def stats_table(stats: PracticeStats, styles: NumberStyles) -> Table:
    """Every figure by column (all, isolated, cross), in two sections: results, then what
    execution cost."""

    def signed(x: float) -> Text:
        return Text(fmt_money(x, signed=True), style=styles["up" if x >= 0 else "down"])

    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("This season", no_wrap=True)
    for head in ("All", "Isolated", "Cross"):
        table.add_column(head, justify="right", no_wrap=True)
    columns = (stats.overall, stats.isolated, stats.cross)

    def line(label: str, figure: Callable[[Stats], Text | str]) -> None:
        cells = [figure(s) for s in columns]
        table.add_row(Text(label), *(c if isinstance(c, Text) else Text(c) for c in cells))

    line("Net result (after fees)", lambda s: signed(s.net_pnl))
    line("Realized PnL (before fees)", lambda s: signed(s.realized_pnl))
    line("Fees paid", lambda s: fmt_money(s.fees_paid))
    line("Funding received", lambda s: fmt_money(s.funding_received))
    line("Funding paid", lambda s: fmt_money(s.funding_paid))
    line("Forfeited in liquidations", lambda s: fmt_money(s.forfeited))
    line("Round trips closed", lambda s: f"{s.closed_positions:,}")
    line("  won, net of fees", lambda s: _share(s.win_rate))
    line("  won before fees", lambda s: _share(s.gross_win_rate))
    line(
        "Largest loss (net)",
        lambda s: fmt_money(-s.largest_loss) if s.largest_loss else DASH,
    )
    line("Liquidations", lambda s: f"{s.liquidations:,}")
    line("  positions they closed", lambda s: f"{s.positions_liquidated:,}")
    table.add_section()
    table.add_row(Text("Execution cost", style="bold"))
    line("  Spread", lambda s: fmt_money(s.spread_cost))
    line("  Impact (walking the book)", lambda s: fmt_money(s.impact_cost))
    line("  Fees", lambda s: fmt_money(s.fees_paid))
    line("  Total", lambda s: Text(fmt_money(s.execution_cost), style="bold"))
    return table


def summary(stats: Stats, width: int) -> str:
    """The season in one line, the most important parts first, as many as fit ``width``."""
    parts = [
        f"Net {fmt_money(stats.net_pnl, signed=True)} after fees",
        f"gross {fmt_money(stats.realized_pnl, signed=True)}",
        (
            f"{stats.wins:,} of {stats.closed_positions:,} round trips won"
            if stats.closed_positions
            else "no round trip closed yet"
        ),
        f"{stats.liquidations:,} liquidation{'s' if stats.liquidations != 1 else ''}",
        f"execution cost {fmt_money(stats.execution_cost)}",
    ]
    text = parts[0]
    for part in parts[1:]:
        if len(text) + 3 + len(part) > width:
            break
        text += " · " + part
    return text


class StatsPane(HistoryPane):
    """Practice stats, then the notes that say how they are counted."""

    DEFAULT_CSS = """
    StatsPane #stats-scroll { height: 1fr; padding: 0 1; }
    StatsPane #stats-notes { color: $text-muted; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-scroll"):
            yield Plain("Loading…", id="stats-table")
            yield from self.compose_pictures()
            yield Plain(NOTES, id="stats-notes")

    def compose_pictures(self) -> ComposeResult:
        """Pictures of the season (an equity curve, drawdowns) go here, under the figures."""
        yield from ()

    def start(self) -> None:
        super().start()
        self.run_worker(self._load(), group="stats", exclusive=True, exit_on_error=False)

    def records_changed(self) -> None:
        if self.started:
            self.run_worker(self._load(), group="stats", exclusive=True, exit_on_error=False)

    reload = records_changed

    def focus_content(self) -> None:
        self.query_one("#stats-scroll").focus()

    async def _load(self) -> None:
        try:
            stats = await asyncio.to_thread(self.source.stats)
            ready, progress = self.source.ready, self.source.progress
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.query_one("#stats-table", Plain).update(
                safe_text(f"Could not read the stats: {exc}")
            )
            return
        self.show(stats, ready, progress)

    def show(self, stats: PracticeStats, ready: bool = True, progress: float = 1.0) -> None:
        parts: list[Table | Text] = [stats_table(stats, self.colours)]
        if not ready:
            parts.insert(
                0,
                Text(
                    f"Still being built from older records ({progress:.0%}): the figures "
                    "cover those read so far.",
                    style=self.colours["warning"],
                ),
            )
        self.query_one("#stats-table", Plain).update(Group(*parts))
