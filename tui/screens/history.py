"""History (`h`): fills, liquidations with post-mortems, funding, closed positions, stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from tui.engine import Event, Fill, FundingPayment, Liquidation
from tui.format import fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size
from tui.history import (
    Stats,
    closed_positions,
    format_duration,
    post_mortems,
    practice_stats,
)
from tui.messages import ExportRequested
from tui.screens.base import DeskScreen
from tui.session import Beat
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles

TABS = (
    ("fills", "Fills"),
    ("liquidations", "Liquidations"),
    ("funding", "Funding"),
    ("closed", "Closed positions"),
)


def _when(t: float) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(t))


def _signed(x: float, styles: NumberStyles) -> Text:
    return Text(
        fmt_money(x, signed=True), style=styles["up"] if x >= 0 else styles["down"], justify="right"
    )


def _right(text: str) -> Text:
    return Text(text, justify="right")


class HistoryScreen(DeskScreen[None]):
    """Read-only: built from the engine's records when it opens, and again when a heartbeat
    brings new records (a funding payment, a liquidation) while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Back", id="history.close"),
        Binding("e", "export", "Export CSV", id="history.export"),
        Binding("1", "tab('fills')", "Fills", id="history.fills", show=False),
        Binding("2", "tab('liquidations')", "Liquidations", id="history.liquidations", show=False),
        Binding("3", "tab('funding')", "Funding", id="history.funding", show=False),
        Binding("4", "tab('closed')", "Closed", id="history.closed", show=False),
    ]

    DEFAULT_CSS = """
    HistoryScreen #stats { height: auto; padding: 0 1; }
    HistoryScreen TabbedContent { height: 1fr; }
    HistoryScreen DataTable { height: 1fr; }
    HistoryScreen #table-liquidations { height: auto; max-height: 50%; }
    HistoryScreen #postmortems { height: 1fr; padding: 1 1 0 1; }
    HistoryScreen .empty { color: $text-muted; padding: 1 2; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[int, int] = (0, -1)  # (engine, records) the tables were built from

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Plain(id="stats")
        with TabbedContent(id="tabs"):
            for key, label in TABS:
                with TabPane(f"{label}", id=f"tab-{key}"):
                    if key == "liquidations":
                        yield DataTable(id=f"table-{key}", cursor_type="row")
                        with VerticalScroll(id="postmortems"):
                            yield Plain(id="postmortem-text", markup=False)
                    else:
                        yield DataTable(id=f"table-{key}", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "History  (1-4 switch tabs, e exports the one shown, Esc back)"
        self.show_history()
        self.follow_heartbeat(self.show_beat)

    def show_beat(self, beat: Beat) -> None:
        engine = self.session.engine
        if (id(engine), len(engine.events)) != self._shown:
            self.show_history()

    def show_history(self) -> None:
        engine = self.session.engine
        self._shown = (id(engine), len(engine.events))
        events = self._events = self.session.history_events()
        styles = self.number_styles()
        self.query_one("#stats", Static).update(self._show_stats(events, styles))
        self._show_fills(events)
        self._show_liquidations(events, styles)
        self._show_funding(events, styles)
        self._show_closed(events, styles)

    # ------------------------------------------------------------------ parts

    def _show_stats(self, events: list[Event], styles: NumberStyles) -> Table:
        """Stats by margin mode; a narrow terminal gets the short form (net funding, no
        forfeited column) so no figure is cut."""
        stats = practice_stats(events)
        narrow = self.size.width < 110
        table = Table(
            title="Practice stats", title_justify="left", expand=True, box=None, padding=(0, 1)
        )
        table.add_column("", no_wrap=True)
        heads = (
            ("Net", "Realized", "Fees", "Funding", "Win", "Worst", "Liqs")
            if narrow
            else (
                "Net result",
                "Realized PnL",
                "Fees",
                "Funding paid",
                "received",
                "Forfeited",
                "Win rate",
                "Largest loss",
                "Liquidations",
            )
        )
        for head in heads:
            table.add_column(head, justify="right", no_wrap=True)

        def row(label: str, s: Stats) -> None:
            funding = (
                [fmt_money(-s.net_funding, signed=True)]
                if narrow
                else [fmt_money(s.funding_paid), fmt_money(s.funding_received)]
            )
            forfeited = [] if narrow else [fmt_money(s.forfeited)]
            table.add_row(
                Text(label, style="bold"),
                _signed(s.net_pnl, styles),
                _signed(s.realized_pnl, styles),
                fmt_money(s.fees_paid),
                *funding,
                *forfeited,
                fmt_pct(s.win_rate, decimals=0) if s.win_rate is not None else "—",
                fmt_money(-s.largest_loss) if s.largest_loss else "—",
                str(s.liquidations),
            )

        row("All", stats.overall)
        row("Isolated" if not narrow else "Iso", stats.isolated)
        row("Cross", stats.cross)
        return table

    def on_resize(self) -> None:
        events: list[Event] | None = getattr(self, "_events", None)
        if events is not None:  # (read when the screen showed the history)
            self.query_one("#stats", Static).update(self._show_stats(events, self.number_styles()))

    @contextmanager
    def _fresh_table(self, key: str, columns: list[str]) -> Iterator[DataTable[object]]:
        """The table ``key`` emptied for refilling; afterwards the cursor is back on the row it
        was on (rows are keyed by record), so a rebuild on a new record does not lose it."""
        table: DataTable[object] = self.query_one(f"#table-{key}", DataTable)
        keep = None
        if table.row_count and table.is_valid_row_index(table.cursor_row):
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        table.clear(columns=True)
        table.add_columns(*columns)
        yield table
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep), animate=False)

    def _show_fills(self, events: list[Event]) -> None:
        with self._fresh_table(
            "fills",
            [
                "Time",
                "Market",
                "Order",
                "Kind",
                "Size",
                "Price",
                "Mode",
                "Lev",
                "Fee",
                "Realized PnL",
            ],
        ) as table:
            for e in reversed(events):
                if isinstance(e, Fill):
                    table.add_row(
                        _when(e.time),
                        e.market,
                        e.side.value.upper(),
                        e.kind,
                        _right(fmt_size(e.size, e.price)),
                        _right(fmt_price(e.price)),
                        e.mode.label,
                        fmt_leverage(e.leverage),
                        _right(fmt_money(e.fee)),
                        _right(fmt_money(e.realized_pnl, signed=True))
                        if e.kind in ("reduce", "close")
                        else "",
                        key=str(e.seq),
                    )

    def _show_liquidations(self, events: list[Event], styles: NumberStyles) -> None:
        with self._fresh_table(
            "liquidations",
            [
                "Time",
                "Market",
                "Side",
                "Size",
                "Mode",
                "Lev",
                "Entry",
                "Mark",
                "Margin lost",
                "Held for",
            ],
        ) as table:
            liqs = [e for e in events if isinstance(e, Liquidation)]
            for e in reversed(liqs):
                table.add_row(
                    _when(e.time),
                    e.market,
                    e.side.value.upper(),
                    _right(fmt_size(e.size, e.mark_price)),
                    e.mode.label,
                    fmt_leverage(e.leverage),
                    _right(fmt_price(e.entry_price, e.mark_price)),
                    _right(fmt_price(e.mark_price)),
                    Text(fmt_money(e.margin_lost), style=styles["down"], justify="right"),
                    format_duration(max(e.time - e.opened_at, 0.0)),
                    key=str(e.seq),
                )
        session = self.session
        mortems = post_mortems(events, session.engine.markets, session.accounts)
        text = "\n".join(f"• {m.line}" for m in reversed(mortems))
        self.query_one("#postmortem-text", Static).update(
            "Post-mortems\n" + text if text else "No liquidations yet. Keep it that way."
        )

    def _show_funding(self, events: list[Event], styles: NumberStyles) -> None:
        with self._fresh_table(
            "funding",
            ["Time", "Market", "Side", "Size", "Mode", "Mark", "Rate/h", "Paid (+) / received (-)"],
        ) as table:
            for e in reversed(events):
                if isinstance(e, FundingPayment):
                    table.add_row(
                        _when(e.time),
                        e.market,
                        e.side.value.upper(),
                        _right(fmt_size(e.size, e.mark_price)),
                        e.mode.label,
                        _right(fmt_price(e.mark_price)),
                        _right(fmt_pct(e.rate, signed=True, decimals=4)),
                        Text(
                            fmt_money(e.payment, signed=True),
                            justify="right",
                            style=styles["down"] if e.payment > 0 else styles["up"],
                        ),
                        key=str(e.seq),
                    )

    def _show_closed(self, events: list[Event], styles: NumberStyles) -> None:
        with self._fresh_table(
            "closed",
            [
                "Closed",
                "Market",
                "Side",
                "Mode",
                "Lev",
                "Size",
                "Entry",
                "Exit",
                "Realized PnL",
                "Fees",
                "Funding",
                "Net",
                "Held for",
                "",
            ],
        ) as table:
            closed = closed_positions(events)
            for n, c in reversed(list(enumerate(closed))):
                table.add_row(
                    _when(c.closed_at),
                    c.market,
                    c.side.value.upper(),
                    c.mode.label,
                    fmt_leverage(c.leverage),
                    _right(fmt_size(c.size, c.entry_price)),
                    _right(fmt_price(c.entry_price)),
                    _right(fmt_price(c.exit_price, c.entry_price)),
                    _signed(c.realized_pnl, styles),
                    _right(fmt_money(c.fees)),
                    _right(fmt_money(c.funding, signed=True)),
                    _signed(c.net_pnl, styles),
                    format_duration(c.duration),
                    Text("LIQUIDATED", style=styles["down"]) if c.liquidated else "",
                    key=str(n),  # closed positions only ever append: the n-th stays the n-th
                )

    # ------------------------------------------------------------------ actions

    def action_tab(self, key: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{key}"

    def action_close(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        active = self.query_one(TabbedContent).active or "tab-fills"
        self.post_message(ExportRequested(active.removeprefix("tab-")))
