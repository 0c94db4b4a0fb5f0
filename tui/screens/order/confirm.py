"""The trade confirmation: the order as it will rest or fill, what filling it costs, both
margin modes side by side (or, with `v`, the same order under both venues), and everything to
know before Enter. Figures come from the session (tui/ticket.py); this screen only shows them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from tui.engine import MarginMode, PaperEngine, PositionView, Preview, Side
from tui.format import (
    DASH,
    fmt_leverage,
    fmt_money,
    fmt_price,
    fmt_size,
)
from tui.screens.base import Dialog
from tui.session import OrderTicket
from tui.ticket import Execution, VenueComparison, liquidation_text, order_line
from tui.widgets.pending_ladder import PendingLadder
from tui.widgets.plain import Plain
from tui.widgets.styles import side_style

LOCKED_MESSAGE = (
    "You cannot change the margin mode on an existing open position. "
    "Close it and reopen it to switch."
)

VENUE_REFRESH = 0.5
"""Seconds between recomputations of the venue comparison while marks move (it rebuilds the
account under the other venue)."""

_KINDS = {
    "add": "adds to your position",
    "reduce": "reduces your position",
    "close": "closes your position",
    "flip": "closes your position and opens the other side",
}


class TradeConfirmScreen(Dialog[OrderTicket | None]):
    """Review an order, pick a margin mode, confirm or cancel. Live on the heartbeat."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "confirm", "Confirm", id="confirm.confirm"),
        Binding("escape,n", "cancel", "Cancel", id="confirm.cancel"),
        Binding("tab,left,right,m", "toggle_mode", "Isolated/Cross", id="confirm.toggle"),
        Binding("i", "pick('isolated')", "Isolated", id="confirm.isolated", show=False),
        Binding("c", "pick('cross')", "Cross", id="confirm.cross", show=False),
        Binding("v", "venues", "Both venues", id="confirm.venues"),
        Binding("a", "add_anyway", "Add anyway", id="confirm.add_anyway"),
        Binding("question_mark", "explain", "Explain modes", id="confirm.explain"),
    ]

    DEFAULT_CSS = """
    TradeConfirmScreen #confirm { width: 110; scrollbar-size-vertical: 1; }
    TradeConfirmScreen #confirm > Static { height: auto; }
    TradeConfirmScreen #order-line { color: $text-muted; }
    TradeConfirmScreen #toggle { padding: 1 0 0 0; }
    TradeConfirmScreen #panels { height: auto; }
    TradeConfirmScreen .panel { width: 1fr; height: auto; min-height: 5;
        border: round $panel-lighten-2; padding: 0 1; color: $text-muted; }
    TradeConfirmScreen .panel.-selected { border: heavy $accent; color: $text; }
    TradeConfirmScreen #reduce, TradeConfirmScreen #venues { color: $text; }
    TradeConfirmScreen .-hidden { display: none; }
    TradeConfirmScreen #risk-slot { height: auto; }
    TradeConfirmScreen #notice { color: $warning; }
    TradeConfirmScreen #notice.-error { color: $error; text-style: bold; }
    TradeConfirmScreen #confirm-keys { dock: bottom; height: auto; }
    """

    def __init__(self, ticket: OrderTicket, default_mode: MarginMode) -> None:
        super().__init__()
        self.ticket = ticket
        self.margin_mode = default_mode
        self.show_venues = False
        self._armed = False
        self._opened_with: tuple[Side, MarginMode] | None = None
        self._last: tuple[object, ...] | None = None
        self._venues: VenueComparison | None = None
        self._venues_key: tuple[object, ...] | None = None
        self._venues_at = -math.inf

    @property
    def engine(self) -> PaperEngine:
        return self.session.engine

    @property
    def position(self) -> PositionView | None:
        return self.engine.position(self.ticket.market)

    @property
    def locked_mode(self) -> MarginMode | None:
        """The mode an add or a reduce must use: the open position's. A flip (an order larger
        than the position on the other side) opens the rest in the mode chosen here."""
        pos = self.position
        if pos is None:
            return None
        if pos.side is self.ticket.side or self.ticket.reduce_only:
            return pos.mode
        size = self.ticket.size
        if size is not None and size <= pos.size:
            return pos.mode
        return None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="confirm", classes="dialog") as box:
            box.border_title = "Confirm order"
            yield Plain("", id="summary")
            yield Plain("", id="order-line")
            yield Plain("", id="execution")
            yield Plain("", id="tpsl")
            yield Plain("", id="notes")
            yield Plain("", id="toggle")
            with Horizontal(id="panels"):
                yield Plain("", id="panel-isolated", classes="panel")
                yield Plain("", id="panel-cross", classes="panel")
            yield Plain("", id="reduce", classes="panel -selected -hidden")
            yield Plain("", id="venues", classes="panel -selected -hidden")
            # The compact shock ladder with and without the order (issue 15).
            with Vertical(id="risk-slot"):
                yield PendingLadder(id="pending-ladder")
            yield Plain("", id="notice")
            yield Plain("", id="confirm-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#confirm").focus()  # ↑ ↓ PgUp PgDn scroll it on a small terminal
        locked = self.locked_mode
        if locked is not None:
            self.margin_mode = locked
        self._opened_with = self._position_key()
        self.update_view()
        self.follow_heartbeat(lambda _beat: self.update_view())
        # Keys read before the screen was ever painted (a double Enter on the order form)
        # must not confirm an order nobody has seen.
        self.call_after_refresh(self._arm)

    def _arm(self) -> None:
        self._armed = True

    def _position_key(self) -> tuple[Side, MarginMode] | None:
        pos = self.position
        return (pos.side, pos.mode) if pos is not None else None

    @property
    def changed(self) -> str | None:
        """Why the order no longer means what the trader reviewed, if it doesn't."""
        if self._position_key() == self._opened_with:
            return None
        return (
            f"Your {self.ticket.market} position changed while this screen was open (it was "
            "liquidated or closed), so this order would now do something else. Press Esc and "
            "place it again."
        )

    # ------------------------------------------------------------------ figures

    def order_size(self) -> float | None:
        """The coin size that will be sent (fixed when the screen opened)."""
        return self.ticket.size

    def previews(self) -> dict[MarginMode, Preview]:
        return {mode: self.session.preview(self.ticket, mode) for mode in MarginMode}

    def chosen(self) -> Preview:
        return self.session.preview(self.ticket, self.margin_mode)

    def add_difference(self, p: Preview) -> str | None:
        return self.session.add_difference(self.ticket, p)

    def venue_comparison(self) -> VenueComparison:
        key = (self.margin_mode, self.ticket, self._position_key())
        now = self.session.monotonic()
        if (
            self._venues is None
            or key != self._venues_key
            or now - self._venues_at >= VENUE_REFRESH
        ):
            self._venues = self.session.compare_venues(self.ticket, self.margin_mode)
            self._venues_key, self._venues_at = key, now
        return self._venues

    def update_view(self) -> None:
        locked = self.locked_mode
        if locked is not None:
            self.margin_mode = locked
        previews = self.previews()
        chosen = previews[self.margin_mode]
        changed = self.changed
        venues = self.venue_comparison() if self.show_venues else None
        state = (previews, self.margin_mode, locked, changed, self.show_venues, venues)
        if state == self._last:
            return
        self._last = state
        self._show_pending_ladder()
        reduce = chosen.ok and chosen.kind in ("reduce", "close")
        difference = self.add_difference(chosen)
        execution = self.session.execution(self.ticket, chosen)
        self._show("#summary", self._summary(chosen))
        self._show(
            "#order-line",
            order_line(self.ticket, chosen)
            if chosen.ok
            and (
                self.ticket.order_type.is_trigger
                or self.ticket.price is not None
                or self.ticket.reduce_only
            )
            else "",
        )
        self._show("#execution", self._execution(execution) if execution else "")
        self._show("#tpsl", self._tpsl(chosen) if chosen.ok else "")
        self._show("#notes", self._notes(chosen, difference))
        modes = not reduce and not self.show_venues
        self._show("#toggle", self._toggle(locked) if modes else "")
        self.query_one("#panels").set_class(not modes, "-hidden")
        for mode in MarginMode:
            panel = self.query_one(f"#panel-{mode.value}", Static)
            panel.update(self._panel(previews[mode], locked, chosen))
            panel.set_class(mode is self.margin_mode, "-selected")
        self._show("#reduce", self._reduce(chosen) if reduce and not self.show_venues else "")
        self._show("#venues", self._venue_table(venues) if venues is not None else "")
        error = bool(changed or chosen.rejection)
        if changed:
            message = changed
        elif chosen.rejection:
            message = f"Cannot place this order: {chosen.rejection}"
        elif difference:
            message = ""  # said at the top, with the notes
        elif locked is not None and not reduce and self.ticket.side is chosen.side:
            message = LOCKED_MESSAGE
        else:
            message = ""
        self._show("#notice", Text(message) if message else "")
        self.query_one("#notice").set_class(error, "-error")
        self.query_one("#confirm-keys", Static).update(
            self._keys(chosen, difference, bool(changed), reduce)
        )

    def _show(self, selector: str, content: RenderableType) -> None:
        """Update a section; an empty one takes no room."""
        widget = self.query_one(selector, Static)
        widget.update(content)
        empty = isinstance(content, str) and not content
        widget.set_class(empty, "-hidden")

    # ------------------------------------------------------------------ sections

    def _summary(self, p: Preview) -> Group:
        t = self.ticket
        styles = self.number_styles()
        side = Text(t.side.value.upper(), style="bold " + side_style(styles, t.side))
        mark = p.mark_price
        size = fmt_size(p.size, mark) if math.isfinite(p.size) else DASH
        title = Text.assemble(side, " ", (t.market, "bold"), f"  {size} {t.market}")
        if t.usd is not None:
            title.append(f"  (${t.usd:,.2f})", style="dim")
        if p.ok and p.kind in _KINDS:
            title.append(f"  — {_KINDS[p.kind]}", style="italic")
        grid = Table.grid(padding=(0, 3))
        for _ in range(4):
            grid.add_column()

        def cell(label: str, value: str) -> Text:
            return Text.assemble((label + " ", "dim"), value)

        if not p.ok:
            grid.add_row(
                cell("Mark", fmt_price(mark)),
                cell("Leverage", fmt_leverage(t.leverage)),
                cell("Available", fmt_money(p.available_before)),
                "",
            )
            return Group(title, grid)
        # The fill price and the fee are on the Fill line below.
        if p.kind in ("reduce", "close"):
            grid.add_row(
                cell("Notional", fmt_money(p.notional)),
                cell("Mark", fmt_price(mark)),
                "",
                "",
            )
            return Group(title, grid)
        margin = (
            cell("Held while it rests", fmt_money(p.reserved_margin))
            if p.rests
            else cell("Margin", fmt_money(p.margin_required))
        )
        grid.add_row(
            cell("Notional", fmt_money(p.notional)),
            cell("Leverage", fmt_leverage(p.leverage)),
            margin,
            cell("Mark", fmt_price(mark)),
        )
        available = cell(
            "Available", f"{fmt_money(p.available_before)} → {fmt_money(p.available_after)}"
        )
        return Group(title, grid, available)

    def _execution(self, e: Execution) -> Text:
        """Issue 13: the fill's cost against the mark, and a round trip at today's book."""
        ref = e.mark
        text = Text()
        text.append("Fill ", style="bold")
        if self.ticket.order_type.is_trigger and self.ticket.level is not None:
            text.append(f"at its trigger {fmt_price(e.fill_price, ref)}")
        else:
            text.append(f"≈ {fmt_price(e.fill_price, ref)}")
        text.append(f" {e.how}", style="dim")
        if e.pricing in ("book", "mark", "stale", "far") and (e.cost or e.pricing == "book"):
            bps = e.slippage * 10_000
            text.append(
                f" · slippage {bps:.1f} bp, {fmt_money(e.cost)}"
                f" (spread {fmt_money(e.spread)} + impact {fmt_money(e.impact)})"
            )
        text.append(f" · fee {fmt_money(e.fee)}")
        if e.part_fill:
            text.append(
                f" · only {fmt_size(e.filled, ref)} of {fmt_size(e.size, ref)} would fill now",
                style=f"bold {self.number_styles()['warning']}",
            )
        if e.round_trip is not None:
            book = "today's book" if e.exit_pricing == "book" else "the mark"
            text.append("\nRound trip ", style="bold")
            text.append(
                f"≈ {fmt_money(e.round_trip)} in and straight back out at {book}",
            )
            text.append(f" (closing: {fmt_money(e.exit_cost)})", style="dim")
        return text

    def _tpsl(self, p: Preview) -> Text | str:
        """The take-profit / stop-loss the order gives the position, and every warning of the
        preview (a stop beyond the liquidation price sits right under the SL)."""
        t = self.ticket
        text = Text()
        parts = []
        if t.take_profit is not None:
            parts.append(f"TP {fmt_price(t.take_profit, p.mark_price)}")
        if t.stop_loss is not None:
            parts.append(f"SL {fmt_price(t.stop_loss, p.mark_price)}")
        if parts:
            text.append("When it fills: ", style="bold")
            text.append(" · ".join(parts) + " (for the whole position)")
        warn = self.number_styles()["warning"]
        for warning in p.warnings:
            if text:
                text.append("\n")
            text.append("⚠ " + warning, style=warn)
        return text if text else ""

    def _notes(self, p: Preview, difference: str | None) -> Text | str:
        """How the size was fixed or rounded; an add on other terms than asked, first."""
        text = Text()
        if difference:
            text.append(
                "Not the terms you asked for. ", style=f"bold {self.number_styles()['warning']}"
            )
            text.append(difference, style=self.number_styles()["warning"])
        note = self.session.size_note(self.ticket, p)
        if note:
            if text:
                text.append("\n")
            text.append(note, style="dim")
        return text if text else ""

    def _toggle(self, locked: MarginMode | None) -> Text:
        text = Text("Margin mode  ")
        for mode in MarginMode:
            label = f" {mode.label} "
            if mode is self.margin_mode:
                text.append(f"[{label}]", style="bold reverse")
            else:
                text.append(f" {label} ", style="dim")
            text.append(" ")
        if locked is not None:
            text.append(f" locked: this market is open in {locked.label}", style="italic")
        return text

    def _panel(self, p: Preview, locked: MarginMode | None, chosen: Preview) -> Group:
        title = Text(p.mode.label, style="bold")
        if p.mode is self.margin_mode:
            title.append("  (selected)", style="italic")
        if locked is not None and p.mode is not locked:
            return Group(title, Text(f"Not available: this market is open in {locked.label}."))
        if p.rejection:  # the reason is said once, below; another mode's own reason here
            text = Text(f"Cannot be placed in {p.mode.label}", style="bold")
            if p.mode is not self.margin_mode and p.rejection != chosen.rejection:
                text.append(f": {p.rejection}", style="not bold")
            else:
                text.append(" (the reason is below).", style="not bold")
            return Group(title, text)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row("Liq. price", liquidation_text(p, self.ticket))
        if p.mode is MarginMode.ISOLATED:
            grid.add_row("At risk", f"Only its own margin, {fmt_money(p.at_risk)}")
        else:
            grid.add_row("At risk", f"Your whole cross balance, {fmt_money(p.at_risk)}")
        if p.liquidation_price is not None and math.isfinite(p.maintenance_margin):
            grid.add_row("Maintenance", fmt_money(p.maintenance_margin))
            left = p.left_after_liquidation
            if left is not None:
                keep = f"you keep {fmt_money(left)}" if left > 0 else "you keep nothing"
                grid.add_row("If liquidated", keep)
        if p.mode is MarginMode.CROSS and p.cross_liquidation_prices:
            moved = []
            for name, (before, after) in p.cross_liquidation_prices.items():
                mark = self.engine.mark(name)
                moved.append(
                    f"{name} liq {fmt_price(before, mark) if before else 'none'} → "
                    f"{fmt_price(after, mark) if after else 'none'}"
                )
            grid.add_row("Other cross", "\n".join(moved))
        return Group(title, grid)

    def _reduce(self, p: Preview) -> Text:
        """Issue 10 item 5: what a reduce or close does (no margin-mode cards)."""
        pos = self.position
        text = Text()
        mark = p.mark_price
        if pos is not None:
            verb = "Closes" if p.kind == "close" else "Reduces"
            text.append(
                f"{verb} your {pos.side.value.upper()} {fmt_size(pos.size, mark)} {pos.market} "
                f"({pos.mode.label} {fmt_leverage(pos.leverage)})",
                style="bold",
            )
        when = f" when it fills at {fmt_price(p.fill_price, mark)}" if p.rests else ""
        rows = [
            ("Closes", f"{fmt_size(p.closed_size, mark)} {self.ticket.market}{when}"),
            (
                "Left",
                "nothing: the position is closed"
                if p.kind == "close"
                else f"{fmt_size(p.resulting_size, mark)} {self.ticket.market} · liquidation "
                f"{fmt_price(p.liquidation_price, mark)}",
            ),
            ("Realized PnL", f"{fmt_money(p.realized_pnl, signed=True)} before the fee"),
            ("Margin back", fmt_money(p.margin_released)),
            ("Fee", fmt_money(p.fee)),
        ]
        styles = self.number_styles()
        for label, value in rows:
            text.append(f"\n{label:<13}", style="dim")
            if label == "Realized PnL":
                text.append(value, style=styles["up"] if p.realized_pnl >= 0 else styles["down"])
            else:
                text.append(value)
        return text

    def _venue_table(self, c: VenueComparison) -> RenderableType:
        """Issue 14: the same order under both venues, differences highlighted."""
        title = Text.assemble(
            ("Both venues", "bold"), f"  the same order, {c.mode.label}, on this account"
        )
        if c.problem:
            return Group(title, Text(c.problem))
        warn = self.number_styles()["warning"]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_column()
        grid.add_column()
        grid.add_row("", Text(f"{c.here.label} (yours)", style="bold"), Text(c.there.label, "bold"))
        for row in c.rows:
            style = f"bold {warn}" if row.differs else ""
            grid.add_row(
                row.label,
                Text(row.here, style=style),
                Text(row.there, style=style),
                Text("≠", style=warn) if row.differs else "",
            )
        parts: list[RenderableType] = [title, grid]
        for venue, why in ((c.here, c.rejection_here), (c.there, c.rejection_there)):
            if why:
                parts.append(Text(f"{venue.label} would refuse it: {why}", style=warn))
        parts.extend(Text(note, style="dim") for note in c.notes)
        return Group(*parts)

    def _keys(self, p: Preview, difference: str | None, changed: bool, reduce: bool) -> Text:
        venues = "v modes" if self.show_venues else "v both venues"
        if changed:
            return Text("Esc/n back")
        if not p.ok:
            keys = ["Esc/n back"]
        elif difference:
            pos = self.position
            how = f" at {fmt_leverage(pos.leverage)} {pos.mode.label}" if pos is not None else ""
            text = Text.assemble(
                (f" a: add{how} anyway ", "bold reverse"),
                " · Enter does not place it · Esc/n cancel · ",
            )
            text.append(" · ".join([venues, "? explain"]))
            return text
        else:
            keys = ["Enter/y confirm", "Esc/n cancel"]
        if not reduce and not self.show_venues and self.locked_mode is None:
            keys.append("Tab/m switch mode")
        keys += [venues, "? explain"]
        return Text(" · ".join(keys))

    def _show_pending_ladder(self) -> None:
        """The compact shock ladder with and without this order (issue 15)."""
        t, mode = self.ticket, self.margin_mode
        self.query_one(PendingLadder).follow(
            (t, mode),
            lambda: self.session.pending_ladder(t, mode),
            self.session.monotonic(),
        )

    # ------------------------------------------------------------------ actions

    def action_toggle_mode(self) -> None:
        others = [m for m in MarginMode if m is not self.margin_mode]
        self.action_pick(others[0].value)

    def action_pick(self, mode: str) -> None:
        wanted = MarginMode(mode)
        locked = self.locked_mode
        if locked is not None and wanted is not locked:
            self.app.bell()
            self.notify(LOCKED_MESSAGE, severity="warning")
            return
        self.margin_mode = wanted
        self.update_view()

    def action_venues(self) -> None:
        self.show_venues = not self.show_venues
        self.update_view()

    def _placeable(self) -> Preview | None:
        """The chosen preview if the order can be sent as it stands, else ``None`` (and a
        bell: the screen already says why)."""
        if self.replied or not self._armed:
            return None
        p = self.chosen()
        if p.rejection or self.order_size() is None or self.changed:
            self.app.bell()
            self._last = None
            self.update_view()
            return None
        return p

    def action_confirm(self) -> None:
        p = self._placeable()
        if p is None:
            return
        if self.add_difference(p):
            self.app.bell()
            self.notify(
                "Enter does not place this add: it would not use the leverage or mode you "
                "asked for. Press a to add on the position's terms, or Esc to cancel.",
                severity="warning",
            )
            return
        self.reply(replace(self.ticket, mode=self.margin_mode))

    def action_add_anyway(self) -> None:
        """The deliberate key for an add whose leverage or mode differs from the position's:
        it adds on the position's terms, as the screen says."""
        p = self._placeable()
        pos = self.position
        if p is None or pos is None or not self.add_difference(p):
            return
        self.reply(replace(self.ticket, leverage=pos.leverage, mode=pos.mode))

    def action_cancel(self) -> None:
        self.reply(None)

    def action_explain(self) -> None:
        from tui.screens.help import ModesScreen

        self.app.push_screen(ModesScreen())
