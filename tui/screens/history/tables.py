"""The history's tables: fills, liquidations with their post-mortems, funding, margin moves,
closed positions and orders. Each is a :class:`~tui.screens.history.pane.TablePane`: its
columns (width and importance), how it reads a page, and how a row looks.

Signs read as a trader reads them: money that came in is ``+`` (funding received, margin
taken back), money that went out ``-``; realized PnL before fees, and net after them.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable

from tui.engine import Fill, FundingPayment, MarginMode, MarginTransfer
from tui.format import DASH, fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size
from tui.history import ClosedPosition, OrderRecord, PostMortem, format_duration
from tui.journal import Page
from tui.screens.history.pane import TablePane
from tui.widgets.paged_table import Column, Row, right
from tui.widgets.plain import Plain


def when(t: float | None) -> str:
    return DASH if t is None else time.strftime("%m-%d %H:%M:%S", time.localtime(t))


TIME = Column("Time", 14)
MARKET = Column("Market", 6)


def action(fill: Fill) -> str:
    """ "open long", "add short", "reduce long", "close short": what the fill did to which
    position (a reducing fill's side is the order's, the opposite of the position's)."""
    held = fill.side if fill.kind in ("open", "add") else fill.side.opposite
    return f"{fill.kind} {held.value}"


def bps(x: float | None) -> str:
    """A fraction in basis points, signed against the trader: 0.00042 -> "+4.2 bp" (paid),
    -0.0001 -> "-1.0 bp" (better than the mark), 0 -> "0.0 bp"."""
    if x is None:
        return DASH
    value = round(x * 10_000, 1) + 0.0
    return f"{value:+.1f} bp" if value else "0.0 bp"


def margin(mode: MarginMode, leverage: float) -> str:
    """ "Iso 10x", "Cross 5x"."""
    return f"{'Iso' if mode is MarginMode.ISOLATED else 'Cross'} {fmt_leverage(leverage)}"


class FillsPane(TablePane[Fill]):
    export = "fills"
    noun = "fills"
    count_of = "fills"
    columns = (
        TIME,
        MARKET,
        Column("Action", 12),
        Column("Size", 6, figure=True),
        Column("Price", 9, figure=True),
        Column("Fee", 6, rank=1, figure=True),
        Column("Slippage", 8, rank=1, figure=True),
        Column("Spread", 7, rank=2, figure=True),
        Column("Impact", 7, rank=2, figure=True),
        Column("Margin", 9, rank=3),
        Column("Realized PnL", 12, figure=True),
    )

    def fetch(self, before: int | None, limit: int) -> Page[Fill]:
        return self.source.fills_page(before, limit)

    def row(self, e: Fill) -> Row:
        known = e.mark_price > 0  # records from before books did not keep the mark
        closing = e.kind in ("reduce", "close")
        return str(e.seq), (
            when(e.time),
            e.market,
            action(e),
            right(fmt_size(e.size, e.price)),
            right(fmt_price(e.price)),
            right(fmt_money(e.fee)),
            right(bps(e.slippage if known else None)),
            right(fmt_money(e.spread_cost) if known else DASH),
            right(fmt_money(e.impact_cost) if known else DASH),
            margin(e.mode, e.leverage),
            self.signed(e.realized_pnl) if closing else Text(""),
        )


class LiquidationsPane(TablePane[PostMortem]):
    """Liquidations, and under the table the post-mortem of the one the cursor is on."""

    export = "liquidations"
    noun = "liquidations"
    count_of = "liquidations"
    columns = (
        TIME,
        MARKET,
        Column("Side", 5),
        Column("Size", 9, figure=True),
        Column("Margin", 9, rank=1),
        Column("Entry", 10, rank=1, figure=True),
        Column("Mark", 10, figure=True),
        Column("Margin lost", 11, figure=True),
        Column("Outcome", 8, rank=3),
        Column("Held for", 8, rank=2),
    )

    DEFAULT_CSS = """
    LiquidationsPane PagedTable { height: 1fr; }
    LiquidationsPane #postmortem { height: auto; max-height: 50%; padding: 0 1;
        border-top: solid $panel-lighten-2; }
    """

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.status
        with VerticalScroll(id="postmortem"):
            yield from self.compose_detail()

    def compose_detail(self) -> ComposeResult:
        """What shows the highlighted liquidation (:meth:`show_detail` updates it). A drawing
        of the post-mortem goes here, beside the sentence."""
        yield Plain("", id="postmortem-text")

    def show_detail(self, mortem: PostMortem | None) -> None:
        text = self.query_one("#postmortem-text", Plain)
        if mortem is None:
            text.update("" if self.table.items else "No liquidations yet. Keep it that way.")
        else:
            text.update(f"Post-mortem: {mortem.line}")

    def row(self, m: PostMortem) -> Row:
        e = m.liquidation
        return str(e.seq), (
            when(e.time),
            e.market,
            self.side(e.side),
            right(fmt_size(e.size, e.mark_price)),
            margin(e.mode, e.leverage),
            right(fmt_price(e.entry_price, e.mark_price)),
            right(fmt_price(e.mark_price)),
            right(fmt_money(e.margin_lost), self.colours["down"]),
            e.outcome,
            format_duration(m.duration),
        )

    def fetch(self, before: int | None, limit: int) -> Page[PostMortem]:
        return self.source.liquidations_page(before, limit)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = event.cursor_row
        items = self.table.items
        self.show_detail(items[row] if 0 <= row < len(items) else None)

    def show_status(self) -> None:
        super().show_status()
        if self.table.complete and not self.table.items:
            self.show_detail(None)


class FundingPane(TablePane[FundingPayment]):
    export = "funding"
    noun = "funding payments"
    count_of = "funding"
    columns = (
        TIME,
        MARKET,
        Column("Side", 5),
        Column("Size", 9, rank=1, figure=True),
        Column("Mode", 5, rank=2),
        Column("Mark", 10, rank=2, figure=True),
        Column("Rate", 9, rank=1, figure=True),
        Column("+Received/-Paid", 15, figure=True),
    )

    def fetch(self, before: int | None, limit: int) -> Page[FundingPayment]:
        return self.source.funding_page(before, limit)

    def row(self, e: FundingPayment) -> Row:
        return str(e.seq), (
            when(e.time),
            e.market,
            self.side(e.side),
            right(fmt_size(e.size, e.mark_price)),
            "Iso" if e.mode is MarginMode.ISOLATED else "Cross",
            right(fmt_price(e.mark_price)),
            right(fmt_pct(e.rate, signed=True, decimals=4)),
            self.signed(-e.payment),  # received (payment < 0) reads +
        )


class TransfersPane(TablePane[MarginTransfer]):
    export = "transfers"
    noun = "margin moves"
    count_of = "transfers"
    columns = (
        TIME,
        MARKET,
        Column("Moved", 14),
        Column("Amount", 10, figure=True),
    )

    def fetch(self, before: int | None, limit: int) -> Page[MarginTransfer]:
        return self.source.transfers_page(before, limit)

    def row(self, e: MarginTransfer) -> Row:
        into = e.amount >= 0
        return str(e.seq), (
            when(e.time),
            e.market,
            "wallet → margin" if into else "margin → wallet",
            right(fmt_money(abs(e.amount))),
        )


class ClosedPane(TablePane[ClosedPosition]):
    export = "closed"
    noun = "closed positions"
    count_of = "closed"
    ledger_table = True
    columns = (
        Column("Closed", 14),
        MARKET,
        Column("Side", 5),
        Column("Margin", 9, rank=1),
        Column("Size", 9, rank=2, figure=True),
        Column("Entry", 10, rank=2, figure=True),
        Column("Exit", 10, rank=2, figure=True),
        Column("Realized PnL", 12, figure=True),
        Column("Fees", 7, rank=1, figure=True),
        Column("Funding", 8, rank=2, figure=True),
        Column("Net", 9, figure=True),
        Column("Held for", 8, rank=3),
        Column("Result", 10, rank=1),
    )

    def fetch(self, before: int | None, limit: int) -> Page[ClosedPosition]:
        return self.source.closed_page(before, limit)

    def row(self, c: ClosedPosition) -> Row:
        if c.liquidated:
            result = Text("LIQUIDATED", style=self.colours["down"])
        else:
            result = Text("won" if c.won else "lost", style=self.colours["up" if c.won else "down"])
        key = f"{c.closed_at!r}-{c.market}-{c.opened_at!r}"
        return key, (
            when(c.closed_at),
            c.market,
            self.side(c.side),
            margin(c.mode, c.leverage),
            right(fmt_size(c.size, c.entry_price)),
            right(fmt_price(c.entry_price)),
            right(fmt_price(c.exit_price, c.entry_price)),
            self.signed(c.realized_pnl),
            right(fmt_money(c.fees)),
            right(fmt_money(-c.funding, signed=True)),  # received reads +
            self.signed(c.net_pnl),
            format_duration(c.duration),
            result,
        )


class OrdersPane(TablePane[OrderRecord]):
    """One row per order: what it was and how it ended (``e`` writes every order record)."""

    export = "orders"
    noun = "orders"
    count_of = "orders"
    changes_with = "order_events"
    ledger_table = True
    columns = (
        Column("Placed", 14),
        MARKET,
        Column("Type", 11),
        Column("Side", 5),
        Column("Size", 9, rank=1, figure=True),
        Column("Price", 10, figure=True),
        Column("Status", 9),
        Column("Filled", 9, rank=2, figure=True),
        Column("Fill price", 10, rank=1, figure=True),
        Column("Flags", 11, rank=3),
        Column("Ended", 14, rank=3),
        Column("Why", 24, rank=4),
    )

    STATUS_STYLE: ClassVar[dict[str, str]] = {
        "filled": "up",
        "cancelled": "",
        "rejected": "down",
        "open": "",
    }

    def fetch(self, before: int | None, limit: int) -> Page[OrderRecord]:
        return self.source.orders_page(before, limit)

    def row(self, o: OrderRecord) -> Row:
        flags = ", ".join(
            name for name, on in (("reduce", o.reduce_only), ("post", o.post_only)) if on
        )
        style = self.STATUS_STYLE.get(o.status, "")
        return str(o.order_id), (
            when(o.placed_at),
            o.market,
            o.label,
            self.side(o.side),
            right(fmt_size(o.size, o.level)),
            right(fmt_price(o.level)),
            Text(o.status, style=self.colours[style] if style else ""),
            right(fmt_size(o.filled_size, o.fill_price) if o.filled_size else ""),
            right(fmt_price(o.fill_price) if o.fill_price is not None else ""),
            flags,
            when(o.ended_at) if o.ended_at is not None else "",
            o.reason,
        )
