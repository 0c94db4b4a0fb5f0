"""The trading screen: markets, positions and open orders, account strip, event log, command
line.

The markets and the event log side by side, and below them one box whose table is either the
positions or the open orders (``o`` switches; the box title says which, with their counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from textual import events, on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import ContentSwitcher, DataTable, Header, Static

from tui import actions
from tui.engine import MarginMode, Order, OrderType, PositionView, Side
from tui.format import (
    DASH,
    fmt_leverage,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_size,
)
from tui.messages import (
    CancelRequested,
    CloseRequested,
    LeverageRequested,
    MarginRequested,
    ModifyRequested,
    OrderRequested,
    StarRequested,
    TpSlRequested,
)
from tui.safe import safe_text
from tui.screens.base import DeskScreen, binding_of
from tui.screens.help import MARKET_COLUMNS
from tui.session import Beat, BeatenStop, Tip
from tui.watch import (
    CHANGE_LABEL_SESSION,
    MOVING_SORTS,
    arrange,
    change_label,
    hold_order,
    next_sort,
    sort_label,
    watch_items,
)
from tui.widgets.account import AccountStrip
from tui.widgets.alert_banner import AlertBanner
from tui.widgets.command_line import CommandLine
from tui.widgets.drill_bar import DrillBar
from tui.widgets.eventlog import EventLog
from tui.widgets.footer import DeskFooter
from tui.widgets.live_table import Cell, Column, Formatter, LiveTable
from tui.widgets.market_filter import MarketFilter
from tui.widgets.market_pane import MarketPane
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles, side_style

WATCH_COLUMNS: list[Column] = [
    ("market", "Market", 9, "left"),  # a star and a venue's longer names (FARTCOIN)
    ("mark", "Mark", 10, "right"),  # 100,062.7
    ("change", CHANGE_LABEL_SESSION, 7, "right"),  # 24h when the source says (tui.watch)
    ("funding", "Fund/h", 8, "right"),  # +0.0019%
    ("max", "Max", 4, "right"),  # Binance's 125x
]
WATCH_NARROW = ["market", "mark", "change"]
STAR = "★"
MARKETS_KEYS = "f filter · > sort · * star"
"""Markets' subtitle while it shows every market in the usual order: its own keys."""
RESORT_SECONDS = 2.0
"""Sorted by change or funding, Markets takes its new order at most this often (and at once
on a key): rows that jumped on every refresh could not be read, or followed with the eye,
and each move repaints the whole table."""

POSITION_COLUMNS: list[Column] = [
    ("market", "Market", 6, "left"),
    ("side", "Side", 5, "left"),
    ("size", "Size", 8, "right"),
    ("entry", "Entry", 10, "right"),
    ("mark", "Mark", 10, "right"),
    ("mode", "Mode", 10, "left"),
    ("margin", "Margin", 9, "right"),
    ("upnl", "uPnL", 10, "right"),
    ("roe", "ROE", 7, "right"),
    ("liq", "Liq. price", 10, "right"),
    ("dist", "Dist", 5, "right"),
    ("tp", "TP", 10, "right"),
    ("sl", "SL", 10, "right"),
]
POSITION_IMPORTANCE: tuple[str | tuple[str, ...], ...] = (
    "market",
    "side",
    "size",
    "upnl",
    "roe",
    "liq",
    "dist",
    "sl",
    "entry",
    "tp",
    "mode",
    "margin",
    "mark",
)
"""Which position columns a narrow table keeps first (a tuple: shown together or not at all).
What a trader reads to manage risk comes first: what is open, how it is doing, how far the
liquidation is and the stop that should come before it; then where it was opened, the
take-profit, its mode, margin, and the mark (the markets table shows the mark too). TP and SL
take room only while some position has one."""

ORDER_COLUMNS: list[Column] = [
    ("id", "#", 5, "right"),
    ("market", "Market", 6, "left"),
    ("side", "Side", 4, "left"),
    ("type", "Type", 8, "left"),
    ("size", "Size", 9, "right"),
    ("price", "Price", 10, "right"),
    ("dist", "To mark", 7, "right"),
    ("flags", "Flags", 7, "left"),
    ("margin", "Margin", 9, "right"),
]
ORDER_IMPORTANCE: tuple[str | tuple[str, ...], ...] = (
    "id",
    "market",
    "side",
    "type",
    "price",
    "size",
    "dist",
    "flags",
    "margin",
)
"""Which order columns a narrow table keeps first: which order, what it does and where, then
how far the mark is from it, its flags and the margin it holds back."""

WIDE = 110  # below this many columns, the markets table shows its narrow column set
CHART_WIDE = 100  # below this many columns the chart folds away behind its key (g)
CELL_PADDING = 2  # a DataTable column takes its width plus one space either side

FLASH_SECONDS = 0.6

POSITIONS, ORDERS = "positions", "orders"

_TYPE_LABELS = {
    OrderType.LIMIT: "Limit",
    OrderType.STOP_MARKET: "Stop",
    OrderType.TAKE_PROFIT_MARKET: "Take",
    OrderType.MARKET: "Market",
}


def fit_columns(
    columns: Sequence[Column],
    importance: Sequence[str | tuple[str, ...]],
    width: int,
    hidden: frozenset[str] = frozenset(),
) -> list[str]:
    """The keys of the columns to show in ``width`` cells: the most important first, each
    (or each group) taken if it still fits, in the table's own order. ``hidden`` columns are
    never shown (the rest of their group still is)."""
    widths = {key: w + CELL_PADDING for key, _, w, _ in columns}
    chosen: set[str] = set()
    used = 0
    for entry in importance:
        group = (entry,) if isinstance(entry, str) else entry
        group = tuple(key for key in group if key not in hidden)
        if not group:
            continue
        need = sum(widths[key] for key in group)
        if used + need <= width:
            chosen.update(group)
            used += need
    return [key for key, _, _, _ in columns if key in chosen]


def stop_cell(sl: Order | None, ref: float, beaten: set[int], styles: NumberStyles) -> Cell:
    """A position's stop-loss price, flagged (⚠, in the error colour) when the liquidation
    would come first (its number is in ``beaten``)."""
    if sl is None:
        return DASH
    price = fmt_price(sl.trigger_price, ref)
    return (flagged(price), styles["error"]) if sl.id in beaten else price


def flagged(price: str) -> str:
    """``price`` marked ⚠ in the 10 cells of a price column (no space before a long one)."""
    return f"⚠ {price}" if len(price) <= 8 else f"⚠{price}"


def order_type_label(order: Order) -> str:
    """Short words for the orders table: "Limit", "Stop", "Take", "Pos. TP", "Pos. SL"."""
    if order.tpsl == "tp":
        return "Pos. TP"
    if order.tpsl == "sl":
        return "Pos. SL"
    return _TYPE_LABELS.get(order.order_type, order.order_type.label)


def order_flags(order: Order) -> str:
    """ "RO" (reduce-only; a position's TP / SL always is) and "post" (post-only)."""
    flags = []
    if order.reduce_only or order.tpsl is not None:
        flags.append("RO")
    if order.post_only:
        flags.append("post")
    return " ".join(flags)


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
    MainScreen #watchlist { width: 51; height: 1fr; scrollbar-size-vertical: 1; }
    MainScreen #watchlist.-narrow { width: 35; }
    MainScreen #log-box { width: 1fr; height: 1fr; }
    MainScreen #trades { height: 40%; min-height: 5; }
    MainScreen #trades-tables { height: 1fr; }
    MainScreen #trades LiveTable { height: 1fr; scrollbar-size-vertical: 1; }
    MainScreen .box { border: round $panel-lighten-2; border-title-color: $text-muted;
        border-subtitle-color: $text-muted; }
    MainScreen .box:focus-within { border: round $accent; border-title-color: $accent; }
    MainScreen #tip { height: auto; padding: 0 1; color: $text-muted; }
    MainScreen #tip.-hidden { display: none; }
    MainScreen #tip.-warning { color: $error; text-style: bold; }
    MainScreen #side { width: 1fr; height: 1fr; }
    MainScreen #market { height: 3fr; min-height: 8; }
    MainScreen #side #log-box { height: 1fr; min-height: 4; }
    MainScreen #market.-hidden, MainScreen #log-box.-hidden { display: none; }
    MainScreen #side.-chart-only #market { height: 1fr; }
    MainScreen.-chart-open #trades { height: 30%; }
    """

    def __init__(self) -> None:
        super().__init__(id="main")
        self._flash: dict[str, tuple[float, int]] = {}  # market -> (time of change, direction)
        self._shown_marks: dict[str, float] = {}
        self._held: tuple[tuple[str, MarginMode], ...] = ()
        self._tip: Tip | None = None
        self._chart_wide = True  # the chart is on screen in a wide terminal (g hides it)
        self._chart_narrow = False  # ... and in a narrow one (g shows it)
        self.tab = POSITIONS
        """Which table the box below the markets shows: "positions" or "orders"."""
        self.order_filter: str | None = None
        """``/orders BTC``: the orders table shows this market's orders only."""
        self._protection: frozenset[str] = frozenset()
        """Which of "tp" and "sl" some position has: only those columns take room."""
        self._counts: tuple[int, int, int, str | None, str] | None = None
        self._order_ids: tuple[int, ...] = ()
        self._beaten: list[BeatenStop] = []
        """Stops the liquidation would beat, as of the last refresh (flagged in the tables)."""
        self._query = ""  # the markets filter
        self._sort = "list"
        self._markets_status = ""  # what the markets show, when not all in the usual order
        self._sorted_at = -math.inf  # when Markets was last put in a moving sort's order
        self._held_back = False  # since then, rows kept their places out of that order
        self._styles: NumberStyles = {}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield AccountStrip(id="account")
        yield AlertBanner(id="alerts")
        yield DrillBar(id="drill-bar")
        yield Plain("", id="tip", classes="-hidden", markup=False)
        with Horizontal(id="middle"):
            label = change_label(self.session.day_change)
            columns = [(k, label if k == "change" else t, w, j) for k, t, w, j in WATCH_COLUMNS]
            watch = LiveTable(columns, id="watchlist", formats=self._watch_formats())
            watch.add_class("box")
            watch.border_title = "Markets"
            watch.tooltip = MARKET_COLUMNS
            yield watch
            with Vertical(id="side"):
                market = MarketPane(monotonic=self.session.monotonic, id="market")
                market.add_class("box")
                market.border_title = "Chart · i 1m/5m/1h · g hide"
                yield market
                with Vertical(id="log-box", classes="box") as box:
                    box.border_title = "Event log"
                    yield EventLog(self.session, id="log")
        with (
            Vertical(id="trades", classes="box"),
            ContentSwitcher(initial=POSITIONS, id="trades-tables"),
        ):
            yield LiveTable(POSITION_COLUMNS, id=POSITIONS)
            yield LiveTable(ORDER_COLUMNS, id=ORDERS)
        yield MarketFilter(id="market-filter")
        yield CommandLine(
            lambda: self.session.engine.markets,
            id="command-box",
            order_ids=lambda: [o.id for o in self.session.engine.open_orders()],
        )
        yield DeskFooter(compact=True)

    def on_mount(self) -> None:
        if self.focused is not self.command_line.input:  # "/" can run before this (priority)
            self.watchlist.focus()
        self.follow_heartbeat(self.show_beat)
        self.show_beat(Beat(dirty=True))  # the first frame, from what the session holds now

    def show_beat(self, beat: Beat) -> None:
        """Show what changed: figures when the beat says so, new log lines, the tip."""
        self.log_widget.sync()
        self.query_one(AlertBanner).show(self.session.alerts.active)
        drill = self.session.drill
        self.query_one(DrillBar).show(drill.run if drill else None, self.number_styles())
        if beat.dirty:
            self.refresh_view()
        elif self._held_back and self.session.monotonic() - self._sorted_at >= RESORT_SECONDS:
            self.refresh_markets()  # the order held back while prices moved, now taken
        self.market_pane.chart.catch_up()  # a chart change held back by its pacing
        self.show_tip(self.session.standing_tip(self._beaten))
        self.session.focus_feed(self.selected_market())  # a live feed subscribes to its books

    # ------------------------------------------------------------------ selection

    @property
    def watchlist(self) -> LiveTable:
        return self.query_one("#watchlist", LiveTable)

    @property
    def positions_table(self) -> LiveTable:
        return self.query_one(f"#{POSITIONS}", LiveTable)

    @property
    def orders_table(self) -> LiveTable:
        return self.query_one(f"#{ORDERS}", LiveTable)

    @property
    def trades_table(self) -> LiveTable:
        """The table the box below the markets shows now."""
        return self.orders_table if self.tab == ORDERS else self.positions_table

    @property
    def log_widget(self) -> EventLog:
        return self.query_one("#log", EventLog)

    @property
    def command_line(self) -> CommandLine:
        return self.query_one("#command-box", CommandLine)

    def selected_market(self) -> str | None:
        """The market under the cursor of the table that has (or last had) focus: a
        position's, an order's, or a market's."""
        if self.focused is self.positions_table:
            return self.positions_table.selected_key() or self.watchlist.selected_key()
        if self.focused is self.orders_table:
            order = self.session.order(self.selected_order())
            return order.market if order is not None else self.watchlist.selected_key()
        return self.watchlist.selected_key()

    def selected_order(self) -> int | None:
        """The number of the order under the cursor while the orders table is shown."""
        if self.tab != ORDERS:
            return None
        key = self.orders_table.selected_key()
        return int(key) if key is not None and key.isdigit() else None

    def subject_of(self, action: actions.Action) -> str | None:
        """What ``action`` would act on now: the selected order's number (as text) or the
        selected market."""
        if action.subject == "order":
            order = self.selected_order()
            return None if order is None else str(order)
        return self.selected_market()

    @on(DataTable.RowHighlighted)
    def _selection_moved(self) -> None:
        self.refresh_bindings()
        if self.is_mounted:
            self.show_market(now=True)  # the chart follows the selection at once
        self.call_after_refresh(self._hint_hidden_markets)

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()
        self.show_market(now=True)  # Tab to the positions: their market is the selection

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys of the other table are left out of the Footer (False); keys that do not apply
        now are shown greyed out (None). Pressed anyway, either says why (:meth:`on_key`)."""
        entry = actions.BY_NAME.get(action)
        if entry is None:
            return True
        if entry.tab is not None and entry.tab != self.tab:
            return False
        if not entry.greys_out:
            return True
        return None if entry.why_not(self.session, self.subject_of(entry)) else True

    def footer_description(self, action: str) -> str | None:
        """The Footer's label for ``action`` when it differs from the table's (the DeskFooter
        asks): ``o`` switches to whichever table is not shown."""
        if action == "switch_tab":
            return "Positions" if self.tab == ORDERS else "Orders"
        return None

    def _keys_of(self, action: actions.Action) -> list[str]:
        """The keys bound to ``action`` now (the settings' keymap, else its default)."""
        keys = self.session.settings.keymap.get(action.id, action.key or "")
        return [key.strip() for key in keys.split(",") if key.strip()]

    def on_key(self, event: events.Key) -> None:
        """A key whose action does not apply now is greyed out in the Footer, and Textual
        would drop it without a word: say why instead, in the words the palette uses."""
        for entry in actions.keyed():
            if entry.on_app or event.key not in self._keys_of(entry):
                continue
            _, name, params = parse_action(entry.action or "")
            if self.check_action(name, params):
                return  # it applies: the key binding runs it
            event.stop()
            event.prevent_default()
            if entry.tab is not None and entry.tab != self.tab:
                other = "open orders" if entry.tab == ORDERS else "positions"
                self.notify(f"{entry.description} works on the {other}: press o to show them.")
            else:
                why = entry.why_not(self.session, self.subject_of(entry))
                self.notify(why or f"{entry.description} does not apply now.")
            return

    # ------------------------------------------------------------------ actions

    # The palette runs these whatever the keys show: each says why when it does not apply.

    def _explained(self, action_id: str) -> str | None:
        """What ``action_id`` acts on (the selected market, or the selected order's number)
        if it applies now; else say why and return ``None``."""
        entry = actions.BY_ID[action_id]
        subject = self.subject_of(entry)
        why = entry.why_not(self.session, subject)
        if why is not None:
            self.notify(why)
            return None
        return subject

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

    def action_tp_sl(self) -> None:
        if market := self._explained("tp_sl"):
            self.post_message(TpSlRequested(market))

    def action_cancel_order(self) -> None:
        if order := self._explained("cancel"):
            self.post_message(CancelRequested(order_id=int(order)))

    def action_cancel_market(self) -> None:
        if market := self._explained("cancel_market"):
            self.post_message(CancelRequested(market=market))

    def action_modify_order(self) -> None:
        if order := self._explained("modify_order"):
            self.post_message(ModifyRequested(int(order)))

    def action_switch_tab(self) -> None:
        self.show_tab(POSITIONS if self.tab == ORDERS else ORDERS)

    def show_tab(self, tab: str, market: str | None = None) -> None:
        """Show the positions or the orders (of ``market`` only, for orders) below the
        markets, and put the focus there."""
        self.tab = tab
        self.order_filter = market if tab == ORDERS else None
        self.query_one("#trades-tables", ContentSwitcher).current = tab
        self.refresh_view()
        self.trades_table.focus()
        self.refresh_bindings()

    def action_cursor(self, step: int) -> None:
        table = self.focused if isinstance(self.focused, LiveTable) else self.watchlist
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_command(self) -> None:
        if self.market_filter.is_open:  # "/" while filtering: the command line takes over
            self.market_filter.close(refocus=False)  # (the filter stays in force)
        self.command_line.open()

    def action_hide_command(self) -> None:
        if not self.command_line.display and self._query:
            self.set_filter("")  # Esc on the trading screen: the filter goes first
            return
        self.command_line.close()

    @on(CommandLine.Closed)
    def _command_closed(self) -> None:
        if self.focused is None or self.focused is self.command_line.input:
            self.watchlist.focus()

    # ------------------------------------------------------------------ the markets list

    @property
    def market_filter(self) -> MarketFilter:
        return self.query_one("#market-filter", MarketFilter)

    def action_filter_markets(self) -> None:
        self.market_filter.open(self._query)

    def action_sort_markets(self) -> None:
        self._sort = next_sort(self._sort)
        self.refresh_markets()

    def action_star_market(self) -> None:
        if market := self._explained("star"):
            self.post_message(StarRequested(market))

    def set_filter(self, text: str) -> None:
        """Show only the markets whose name contains ``text`` (any case; empty: all)."""
        if text != self._query:
            self._query = text
            self.refresh_markets()

    @on(MarketFilter.Changed)
    def _filter_changed(self, event: MarketFilter.Changed) -> None:
        self.set_filter(event.text)

    @on(MarketFilter.Closed)
    def _filter_closed(self) -> None:
        self.watchlist.focus()

    def refresh_markets(self) -> None:
        """Repaint Markets now (a new filter, order or star), sorted afresh, the cursor kept
        on its market."""
        self._styles = self.number_styles()
        with self.app.batch_update():
            self._show_watchlist(self.session.monotonic(), resort=True)

    def _show_watchlist(
        self, now: float, resort: bool = False, held: set[str] | None = None
    ) -> None:
        items = watch_items(self.session, self.session.settings.ui.favourites, held)
        shown = arrange(items, query=self._query, sort=self._sort)
        table = self.watchlist
        moving = self._sort in MOVING_SORTS  # rows move at most every RESORT_SECONDS
        if moving and not resort and now - self._sorted_at < RESORT_SECONDS:
            kept = hold_order(shown, table.row_ids)
            self._held_back = self._held_back or kept != shown
            shown = kept
        else:
            self._sorted_at, self._held_back = now, False
        table.sync(self._watch_rows(shown, now))
        parts = [] if self._sort == "list" else [sort_label(self._sort)]
        if self._query:
            shown_query = safe_text(self._query)
            parts.append(f"“{shown_query}”: {len(shown)} of {len(items)}")
        self._markets_status = " · ".join(parts)
        self._hint_hidden_markets()

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
        self._fit_trades(width)

    def _fit_trades(self, width: int) -> None:
        room = width - 2 - 1  # less the box's border and a one-cell scrollbar
        hidden = frozenset({"tp", "sl"}) - self._protection
        self.positions_table.show_columns(
            fit_columns(POSITION_COLUMNS, POSITION_IMPORTANCE, room, hidden)
        )
        self.orders_table.show_columns(fit_columns(ORDER_COLUMNS, ORDER_IMPORTANCE, room))

    # ------------------------------------------------------------------ refresh

    def refresh_view(self) -> None:
        """Repaint the figures from the session (on the heartbeat, when they changed): the
        tables draw only the cells that changed."""
        eng = self.session.engine
        styles = self.number_styles()
        if styles is not self._styles:  # a new theme: every cell in its colours
            self._styles = styles
            self.watchlist.reformat()
            self.positions_table.reformat()
        now = self.session.monotonic()
        positions = eng.positions()
        protected = {p.market: eng.tp_sl(p.market) for p in positions}
        protection = frozenset(
            ({"tp"} if any(tp for tp, _ in protected.values()) else set())
            | ({"sl"} if any(sl for _, sl in protected.values()) else set())
        )
        if protection != self._protection:
            self._protection = protection
            self._fit_trades(self.size.width)
        orders = eng.open_orders()
        self._beaten = self.session.beaten_stops()
        beaten = {b.order_id for b in self._beaten}
        with self.app.batch_update():
            self.query_one(AccountStrip).show(eng.account, styles, narrow=self.size.width < WIDE)
            self._show_watchlist(now, held={p.market for p in positions})
            self.positions_table.sync(self._position_rows(positions, protected, beaten, styles))
            if self.tab == ORDERS:  # built only while shown: there may be thousands
                self.orders_table.sync(self._order_rows(orders, beaten, styles))
            self._title_trades(len(positions), orders)
            self._hint_hidden_markets()
            self.show_market()
        held = tuple((p.market, p.mode) for p in positions)
        ids = tuple(o.id for o in orders) if self.tab == ORDERS else ()
        if held != self._held or ids != self._order_ids:
            # which keys apply depends on what is open, not on prices
            self._held = held
            self._order_ids = ids
            self.refresh_bindings()

    def _title_trades(self, n_positions: int, orders: list[Order]) -> None:
        shown = [o for o in orders if o.market == self.order_filter] if self.order_filter else []
        state = (n_positions, len(orders), len(shown), self.order_filter, self.tab)
        if state == self._counts:
            return
        self._counts = state
        box = self.query_one("#trades", Vertical)
        if self.tab == POSITIONS:
            box.border_title = f"[b]Positions {n_positions}[/b] · [dim]Orders {len(orders)}[/dim]"
            box.border_subtitle = "o: orders"
        else:
            which = (
                f"{self.order_filter} orders {len(shown)} of {len(orders)}"
                if self.order_filter
                else f"Orders {len(orders)}"
            )
            box.border_title = f"[dim]Positions {n_positions}[/dim] · [b]{which}[/b]"
            box.border_subtitle = "o: positions · del cancel · e modify"

    def _hint_hidden_markets(self) -> None:
        """The line under the markets: what they show (the order, the filter; else their
        keys) and "18 of 22 ↓" when some are below the fold (or above it)."""
        table = self.watchlist
        total = table.row_count
        rows = max(table.scrollable_content_region.height - 1, 0)  # less the header row
        if total <= rows or rows == 0:
            hint = ""
        else:
            first = round(table.scroll_y)
            last = min(first + rows, total)
            arrows = ("↑" if first > 0 else "") + ("↓" if last < total else "")
            hint = f"{last - first} of {total} {arrows}"
        status = self._markets_status
        subtitle = " · ".join(part for part in (status or MARKETS_KEYS, hint) if part)
        if not status and table.size.width and len(subtitle) > table.size.width - 4:
            subtitle = hint  # a narrow box: the keys give way (the help lists them)
        if table.border_subtitle != subtitle:
            table.border_subtitle = subtitle

    @on(events.MouseScrollDown, "#watchlist")
    @on(events.MouseScrollUp, "#watchlist")
    def _watchlist_scrolled(self) -> None:
        self.call_after_refresh(self._hint_hidden_markets)

    def _watch_formats(self) -> dict[str, Formatter]:
        """How each Markets column turns its value into a cell (only when the value changed)."""

        def market(value: tuple[str, bool, bool]) -> Cell:
            name, starred, stale = value  # a venue's name, shown with controls escaped
            label = (STAR if starred else "") + safe_text(name) + ("?" if stale else "")
            return (label, self._styles["warning"]) if stale else label

        def mark(value: tuple[float | None, int]) -> Cell:
            price, flash = value
            text = fmt_price(price)
            return (text, self._styles["up" if flash > 0 else "down"]) if flash else text

        def change(move: float | None) -> Cell:
            if move is None:
                return DASH
            size = abs(move)  # fewer decimals as it grows: +150.0 %, +1230 % fit the column
            decimals = 2 if size < 1 else 1 if size < 10 else 0
            text = fmt_pct(move, signed=True, decimals=decimals)
            return (text, self._styles["up" if move >= 0 else "down"])

        return {
            "market": market,
            "mark": mark,
            "change": change,
            "funding": fmt_rate,
            "max": fmt_leverage,
        }

    def _watch_rows(self, shown: list[Any], now: float) -> dict[str, list[object]]:
        """Each shown market's values, one per column (a mark that just moved flashes)."""
        rows: dict[str, list[object]] = {}
        flashes = self._flash
        shown_marks = self._shown_marks
        for item in shown:
            name, mark = item.name, item.mark
            before = shown_marks.get(name)
            if mark is not None and before is not None and mark != before:
                flashes[name] = (now, 1 if mark > before else -1)
            if mark is not None:
                shown_marks[name] = mark
            flash = flashes.get(name)
            direction = 0
            if flash is not None:
                if now - flash[0] < FLASH_SECONDS:
                    direction = flash[1]
                else:
                    del flashes[name]
            rows[name] = [
                (name, item.starred, item.stale),
                (mark, direction),
                item.change,
                item.funding,
                item.max_leverage,
            ]
        return rows

    def _position_rows(
        self,
        positions: list[PositionView],
        protected: dict[str, tuple[Order | None, Order | None]],
        beaten: set[int],
        styles: NumberStyles,
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
            tp, sl = protected.get(p.market, (None, None))
            dist_text = fmt_pct(dist, decimals=0 if dist is not None and dist >= 1 else 1)
            rows[p.market] = [
                safe_text(p.market),  # a venue's name: controls escaped
                (p.side.value.upper(), side_style(styles, p.side)),
                fmt_size(p.size, p.mark_price),
                fmt_price(p.entry_price, p.mark_price),
                fmt_price(p.mark_price),
                f"{'Iso' if p.mode is MarginMode.ISOLATED else 'Cross'} {fmt_leverage(p.leverage)}",
                fmt_money(p.margin),
                (fmt_money(p.unrealized_pnl, signed=True), pnl_style),
                (fmt_pct(p.roe, signed=True, decimals=1), pnl_style),
                fmt_price(p.liquidation_price, p.mark_price),
                (dist_text, dist_style) if dist_style else dist_text,
                fmt_price(tp.trigger_price, p.mark_price) if tp is not None else DASH,
                stop_cell(sl, p.mark_price, beaten, styles),
            ]
        return rows

    def _order_rows(
        self, orders: list[Order], beaten: set[int], styles: NumberStyles
    ) -> dict[str, list[Cell]]:
        eng = self.session.engine
        marks = eng.marks
        rows: dict[str, list[Cell]] = {}
        for o in orders:
            if self.order_filter and o.market != self.order_filter:
                continue
            mark = marks.get(o.market)
            level = o.level
            away: float | None = None
            if mark and math.isfinite(level):
                away = level / mark - 1
            buy = o.side is Side.LONG
            rows[str(o.id)] = [
                f"#{o.id}",
                safe_text(o.market),
                ("BUY" if buy else "SELL", side_style(styles, o.side)),
                order_type_label(o),
                fmt_size(o.size - o.filled_size, level),
                (flagged(fmt_price(level, mark)), styles["error"])
                if o.id in beaten
                else fmt_price(level, mark),
                fmt_pct(away, signed=True, decimals=2),
                order_flags(o),
                fmt_money(o.reserved_margin) if o.reserved_margin else DASH,
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
