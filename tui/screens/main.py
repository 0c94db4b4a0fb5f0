"""The trading screen: markets, positions, account strip, event log, command line."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import DataTable, Footer, Header, Static

from tui import actions
from tui.engine import MarginMode, PositionView, Side
from tui.format import (
    DASH,
    fmt_leverage,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_size,
)
from tui.messages import CloseRequested, LeverageRequested, MarginRequested, OrderRequested
from tui.screens.base import DeskScreen, binding_of
from tui.session import Beat, Tip
from tui.widgets.account import AccountStrip
from tui.widgets.alert_banner import AlertBanner
from tui.widgets.command_line import CommandLine
from tui.widgets.drill_bar import DrillBar
from tui.widgets.eventlog import EventLog
from tui.widgets.live_table import Cell, Column, LiveTable
from tui.widgets.market_pane import MarketPane
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles, side_style

WATCH_COLUMNS: list[Column] = [
    ("market", "Market", 6, "left"),
    ("mark", "Mark", 11, "right"),
    ("change", "Chg", 7, "right"),
    ("funding", "Fund/h", 9, "right"),
    ("max", "Max", 3, "right"),
]
WATCH_NARROW = ["market", "mark", "change"]

POSITION_COLUMNS: list[Column] = [
    ("market", "Market", 6, "left"),
    ("side", "Side", 5, "left"),
    ("size", "Size", 9, "right"),
    ("entry", "Entry", 10, "right"),
    ("mark", "Mark", 10, "right"),
    ("mode", "Mode", 8, "left"),
    ("lev", "Lev", 3, "right"),
    ("margin", "Margin", 10, "right"),
    ("upnl", "uPnL", 10, "right"),
    ("roe", "ROE", 7, "right"),
    ("liq", "Liq. price", 10, "right"),
    ("dist", "Dist", 6, "right"),
]
POSITION_NARROW = ["market", "side", "size", "mode", "lev", "upnl", "liq", "dist"]
WIDE = 110  # below this many columns, tables show their narrow column sets
CHART_WIDE = 100  # below this many columns the chart folds away behind its key (g)

FLASH_SECONDS = 0.6


class MainScreen(DeskScreen[None]):
    """Where the trader lives. Widgets only display what the session holds; what the trader
    asks for goes up as a message (:mod:`tui.messages`)."""

    # Every key of the action table (tui/actions.py), in Footer order, and Esc for the
    # command line.
    BINDINGS: ClassVar[list[BindingType]] = [
        *(binding_of(action) for action in actions.keyed()),
        Binding("escape", "hide_command", "Hide command line", show=False),
    ]

    DEFAULT_CSS = """
    MainScreen { layout: vertical; }
    MainScreen #middle { height: 1fr; min-height: 6; }
    MainScreen #watchlist { width: 49; height: 1fr; scrollbar-size-vertical: 1; }
    MainScreen #watchlist.-narrow { width: 33; }
    MainScreen #log-box { width: 1fr; height: 1fr; }
    MainScreen #positions { height: 40%; min-height: 5; }
    MainScreen .box { border: round $panel-lighten-2; border-title-color: $text-muted; }
    MainScreen .box:focus-within { border: round $accent; border-title-color: $accent; }
    MainScreen #tip { height: auto; padding: 0 1; color: $text-muted; }
    MainScreen #tip.-hidden { display: none; }
    MainScreen #tip.-warning { color: $error; text-style: bold; }
    MainScreen #side { width: 1fr; height: 1fr; }
    MainScreen #market { height: 3fr; min-height: 8; }
    MainScreen #side #log-box { height: 1fr; min-height: 4; }
    MainScreen #market.-hidden, MainScreen #log-box.-hidden { display: none; }
    MainScreen #side.-chart-only #market { height: 1fr; }
    MainScreen.-chart-open #positions { height: 30%; }
    """

    def __init__(self) -> None:
        super().__init__(id="main")
        self._flash: dict[str, tuple[float, int]] = {}  # market -> (time of change, direction)
        self._shown_marks: dict[str, float] = {}
        self._held: tuple[tuple[str, MarginMode], ...] = ()
        self._tip: Tip | None = None
        self._chart_wide = True  # the chart is on screen in a wide terminal (g hides it)
        self._chart_narrow = False  # ... and in a narrow one (g shows it)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield AccountStrip(id="account")
        yield AlertBanner(id="alerts")
        yield DrillBar(id="drill-bar")
        yield Plain("", id="tip", classes="-hidden", markup=False)
        with Horizontal(id="middle"):
            watch = LiveTable(WATCH_COLUMNS, id="watchlist")
            watch.add_class("box")
            watch.border_title = "Markets"
            yield watch
            with Vertical(id="side"):
                market = MarketPane(monotonic=self.session.monotonic, id="market")
                market.add_class("box")
                market.border_title = "Chart · i 1m/5m/1h · g hide"
                yield market
                with Vertical(id="log-box", classes="box") as box:
                    box.border_title = "Event log"
                    yield EventLog(self.session, id="log")
        positions = LiveTable(POSITION_COLUMNS, id="positions")
        positions.add_class("box")
        positions.border_title = "Positions"
        yield positions
        yield CommandLine(lambda: self.session.engine.markets, id="command-box")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.watchlist.focus()
        self.follow_heartbeat(self.show_beat)
        self.show_beat(Beat(dirty=True))  # the first frame, from what the session holds now

    def show_beat(self, beat: Beat) -> None:
        """Show what changed: figures when the beat says so, new log lines, the tip."""
        self.log_widget.sync()
        self.show_tip(self.session.tip)
        self.query_one(AlertBanner).show(self.session.alerts.active)
        drill = self.session.drill
        self.query_one(DrillBar).show(drill.run if drill else None, self.number_styles())
        if beat.dirty:
            self.refresh_view()
        self.market_pane.chart.catch_up()  # a chart change held back by its pacing
        self.session.focus_feed(self.selected_market())  # a live feed subscribes to its books

    # ------------------------------------------------------------------ selection

    @property
    def watchlist(self) -> LiveTable:
        return self.query_one("#watchlist", LiveTable)

    @property
    def positions_table(self) -> LiveTable:
        return self.query_one("#positions", LiveTable)

    @property
    def log_widget(self) -> EventLog:
        return self.query_one("#log", EventLog)

    @property
    def command_line(self) -> CommandLine:
        return self.query_one("#command-box", CommandLine)

    def selected_market(self) -> str | None:
        """The market under the cursor of the table that has (or last had) focus."""
        if self.focused is self.positions_table:
            return self.positions_table.selected_key() or self.watchlist.selected_key()
        return self.watchlist.selected_key()

    @on(DataTable.RowHighlighted)
    def _selection_moved(self) -> None:
        self.refresh_bindings()
        if self.is_mounted:
            self.show_market(now=True)  # the chart follows the selection at once

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()
        self.show_market(now=True)  # Tab to the positions: their market is the selection

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do not apply now are shown greyed out (None) and do nothing."""
        entry = actions.BY_NAME.get(action)
        if entry is None or not entry.greys_out:
            return True
        return None if entry.why_not(self.session, self.selected_market()) else True

    # ------------------------------------------------------------------ actions

    # The palette runs these whatever the keys show: each says why when it does not apply.

    def _explained(self, action_id: str) -> str | None:
        """The selected market if ``action_id`` applies to it now; else say why, ``None``."""
        market = self.selected_market()
        why = actions.BY_ID[action_id].why_not(self.session, market)
        if why is not None:
            self.notify(why)
            return None
        return market

    def action_buy(self) -> None:
        if market := self._explained("buy"):
            self.post_message(OrderRequested(market, Side.LONG))

    def action_sell(self) -> None:
        if market := self._explained("sell"):
            self.post_message(OrderRequested(market, Side.SHORT))

    def action_close_position(self) -> None:
        if market := self._explained("close"):
            self.post_message(CloseRequested(market))

    def action_margin(self, sign: int) -> None:
        if market := self._explained("add_margin" if sign > 0 else "remove_margin"):
            self.post_message(MarginRequested(market, sign))

    def action_leverage(self) -> None:
        if market := self._explained("leverage"):
            self.post_message(LeverageRequested(market))

    def action_cursor(self, step: int) -> None:
        table = self.focused if isinstance(self.focused, LiveTable) else self.watchlist
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_command(self) -> None:
        self.command_line.open()

    def action_hide_command(self) -> None:
        self.command_line.close()

    @on(CommandLine.Closed)
    def _command_closed(self) -> None:
        self.watchlist.focus()

    def show_tip(self, tip: Tip | None) -> None:
        """A line above the tables: the first-run tip, or a standing warning."""
        if tip == self._tip:
            return
        self._tip = tip
        line = self.query_one("#tip", Static)
        line.update(tip.text if tip else "")
        line.set_class(tip is None, "-hidden")
        line.set_class(tip is not None and tip.warning, "-warning")

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.fit_chart(width)
        wide = width >= WIDE
        self.watchlist.set_class(not wide, "-narrow")
        self.watchlist.show_columns([c[0] for c in WATCH_COLUMNS] if wide else WATCH_NARROW)
        self.positions_table.show_columns(
            [c[0] for c in POSITION_COLUMNS] if wide else POSITION_NARROW
        )

    # ------------------------------------------------------------------ refresh

    def refresh_view(self) -> None:
        """Repaint the figures from the session (on the heartbeat, when they changed)."""
        eng = self.session.engine
        styles = self.number_styles()
        now = self.session.monotonic()
        positions = eng.positions()
        with self.app.batch_update():
            self.query_one(AccountStrip).show(eng.account, styles, narrow=self.size.width < WIDE)
            self.watchlist.sync(self._watch_rows(now, styles))
            self.positions_table.sync(self._position_rows(positions, styles))
            self.show_market()
        held = tuple((p.market, p.mode) for p in positions)
        if held != self._held:  # which keys apply depends on what is open, not on prices
            self._held = held
            self.refresh_bindings()

    def _watch_rows(self, now: float, styles: NumberStyles) -> dict[str, list[Cell]]:
        session = self.session
        eng = session.engine
        marks = eng.marks
        rows: dict[str, list[Cell]] = {}
        fed = session.feed.symbols if session.feed is not None else None
        for name, market in eng.markets.items():
            if fed is not None and name not in fed and eng.position(name) is None:
                continue  # the feed never prices it (a replay of two markets): leave it out
            mark = marks.get(name)
            shown = self._shown_marks.get(name)
            if mark is not None and shown is not None and mark != shown:
                self._flash[name] = (now, 1 if mark > shown else -1)
            if mark is not None:
                self._shown_marks[name] = mark
            flash = self._flash.get(name)
            mark_style = ""
            if flash is not None:
                if now - flash[0] < FLASH_SECONDS:
                    mark_style = styles["up"] if flash[1] > 0 else styles["down"]
                else:
                    del self._flash[name]
            start = session.launch_marks.get(name)
            change: Cell = DASH
            if mark is not None and start:
                move = mark / start - 1
                change = (fmt_pct(move, signed=True), styles["up"] if move >= 0 else styles["down"])
            # Stale: the feed says so, or it never prices this market (a position restored
            # from the journal in a market the current feed does not carry).
            stale = name in session.stale_markets or (fed is not None and name not in fed)
            label: Cell = (name + "?", styles["warning"]) if stale else name
            rows[name] = [
                label,
                (fmt_price(mark), mark_style) if mark_style else fmt_price(mark),
                change,
                fmt_rate(eng.funding_rate(name)),
                fmt_leverage(market.max_leverage),
            ]
        return rows

    def _position_rows(
        self, positions: list[PositionView], styles: NumberStyles
    ) -> dict[str, list[Cell]]:
        rows: dict[str, list[Cell]] = {}
        for p in positions:
            pnl_style = styles["up"] if p.unrealized_pnl >= 0 else styles["down"]
            dist = p.liquidation_distance
            dist_style = ""
            if dist is not None:
                dist_style = (
                    styles["error"] if dist < 0.03 else styles["warning"] if dist < 0.10 else ""
                )
            rows[p.market] = [
                p.market,
                (p.side.value.upper(), side_style(styles, p.side)),
                fmt_size(p.size, p.mark_price),
                fmt_price(p.entry_price, p.mark_price),
                fmt_price(p.mark_price),
                p.mode.label,
                fmt_leverage(p.leverage),
                fmt_money(p.margin),
                (fmt_money(p.unrealized_pnl, signed=True), pnl_style),
                (fmt_pct(p.roe, signed=True, decimals=1), pnl_style),
                fmt_price(p.liquidation_price, p.mark_price),
                (fmt_pct(dist, decimals=1), dist_style)
                if dist_style
                else fmt_pct(dist, decimals=1),
            ]
        return rows

    # ------------------------------------------------------------------ the selected market

    @property
    def market_pane(self) -> MarketPane:
        return self.query_one("#market", MarketPane)

    def chart_shown(self) -> bool:
        """Whether the chart is on screen now (its key, g, flips it for this width)."""
        return self._chart_wide if self.size.width >= CHART_WIDE else self._chart_narrow

    def fit_chart(self, width: int) -> None:
        """Wide: the chart and the book above the event log. Narrow: the chart is folded away
        and, when g opens it, takes the event log's place (without the book)."""
        wide = width >= CHART_WIDE
        shown = self._chart_wide if wide else self._chart_narrow
        pane = self.market_pane
        pane.set_class(not shown, "-hidden")
        pane.show_depth(wide)
        pane.border_title = f"Chart · i 1m/5m/1h · g {'hide' if wide else 'back to the log'}"
        log = self.query_one("#log-box")
        log.set_class(shown and not wide, "-hidden")
        log.border_title = "Event log" if wide or shown else "Event log · g chart"
        self.query_one("#side").set_class(shown and not wide, "-chart-only")
        self.set_class(shown and not wide, "-chart-open")  # a narrow chart gets more rows
        if shown:
            self.show_market(now=True)

    def show_market(self, *, now: bool = False) -> None:
        """Draw the selected market's candles, levels, book and funding (on the heartbeat,
        when figures changed; ``now``: at once, the selection or interval just changed)."""
        if not self.chart_shown():
            return
        pane = self.market_pane
        session = self.session
        market = self.selected_market()
        if market is None:
            pane.show(None, (), (), None, None, now=now)
            return
        pane.show(
            market,
            session.candles.candles(market, pane.interval, limit=pane.candle_limit),
            session.chart_levels(market),
            session.engine.book(market),
            session.funding(market),
            now=now,
        )

    def action_toggle_chart(self) -> None:
        if self.size.width >= CHART_WIDE:
            self._chart_wide = not self._chart_wide
        else:
            self._chart_narrow = not self._chart_narrow
        self.fit_chart(self.size.width)

    def action_chart_interval(self) -> None:
        interval = self.market_pane.next_interval()
        if not self.chart_shown():
            self.notify(f"Chart candles: {interval} (g shows the chart).")
        self.show_market(now=True)
