"""Order entry: the small size/leverage form, and the trade confirmation screen."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.engine import MarginMode, PaperEngine, Preview, Side
from tui.format import (
    DASH,
    fmt_leverage,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_size,
    parse_amount,
    parse_leverage,
)
from tui.screens.base import Dialog
from tui.session import OrderTicket
from tui.widgets.plain import Plain
from tui.widgets.styles import side_style

LOCKED_MESSAGE = (
    "You cannot change the margin mode on an existing open position. "
    "Close it and reopen it to switch."
)


class OrderFormScreen(Dialog[OrderTicket | None]):
    """`b` / `s`: size (or `$` notional) and leverage. Enter continues, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="order.cancel"),
    ]

    DEFAULT_CSS = """
    OrderFormScreen #form { width: 60; }
    OrderFormScreen .row { height: auto; }
    OrderFormScreen .row Label { width: 12; padding: 1 0 0 0; }
    OrderFormScreen .row Input { width: 1fr; }
    OrderFormScreen #form-title { text-style: bold; padding: 0 0 1 0; }
    OrderFormScreen #form-estimate { color: $text-muted; height: auto; }
    OrderFormScreen #form-keys { padding: 1 0 0 0; }
    """

    def __init__(self, ticket: OrderTicket, default_size: str) -> None:
        super().__init__()
        self.ticket = ticket
        self.default_size = default_size

    def compose(self) -> ComposeResult:
        t = self.ticket
        market = self.session.engine.market(t.market)
        side = "LONG" if t.side is Side.LONG else "SHORT"
        with Vertical(id="form", classes="dialog"):
            yield Plain(
                f"{side} {t.market}  ·  max leverage {fmt_leverage(market.max_leverage)}",
                id="form-title",
            )
            with Horizontal(classes="row"):
                yield Label("Size")
                yield Input(self.default_size, placeholder="0.01 or $500", id="size")
            with Horizontal(classes="row"):
                yield Label("Leverage")
                yield Input(f"{t.leverage:g}", placeholder="10", id="leverage")
            yield Plain("", id="form-estimate")
            yield Plain("", id="form-error", classes="dialog-error")
            yield Plain(
                "Enter: review the order   Esc: cancel", id="form-keys", classes="dialog-keys"
            )

    def on_mount(self) -> None:
        size = self.query_one("#size", Input)
        size.focus()
        size.select_all()
        self._estimate()

    @on(Input.Changed)
    def _estimate(self) -> None:
        text = self._read()
        estimate = self.query_one("#form-estimate", Static)
        error = self.query_one("#form-error", Static)
        if isinstance(text, str):
            estimate.update("")
            error.update(text)
            return
        error.update("")
        mark = self.session.engine.mark(self.ticket.market)
        size = text.resolved_size(mark)
        if size is None or mark is None:
            estimate.update("No price yet.")
            return
        # The engine's own figures (an add uses the position's leverage, fills may slip).
        mode = self.session.default_mode(self.ticket.market)
        p = self.session.engine.preview(text.market, text.side, size, text.leverage, mode)
        estimate.update(
            f"≈ {fmt_size(size, mark)} {self.ticket.market} · notional {fmt_money(p.notional)} · "
            f"margin {fmt_money(p.margin_required)} at mark {fmt_price(mark)}"
        )

    def _read(self) -> OrderTicket | str:
        """The ticket the inputs describe, or a message saying what to fix."""
        market = self.session.engine.market(self.ticket.market)
        try:
            amount, usd = parse_amount(self.query_one("#size", Input).value)
        except ValueError as exc:
            return str(exc)
        try:
            leverage = parse_leverage(self.query_one("#leverage", Input).value)
        except ValueError as exc:
            return str(exc)
        if not 1 <= leverage <= market.max_leverage:
            return (
                f"Leverage on {market.name} must be between 1x and "
                f"{fmt_leverage(market.max_leverage)}."
            )
        if usd:
            return replace(self.ticket, size=None, usd=amount, leverage=leverage)
        return replace(self.ticket, size=amount, usd=None, leverage=leverage)

    @on(Input.Submitted)
    def _submit(self) -> None:
        if self.replied:
            return
        ticket = self._read()
        if isinstance(ticket, str):
            self.query_one("#form-error", Static).update(ticket)
            self.app.bell()
            return
        self.reply(ticket)

    def action_cancel(self) -> None:
        self.reply(None)


class TradeConfirmScreen(Dialog[OrderTicket | None]):
    """Review an order in both margin modes side by side, pick one, confirm or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "confirm", "Confirm", id="confirm.confirm"),
        Binding("escape,n", "cancel", "Cancel", id="confirm.cancel"),
        Binding("tab,left,right,m", "toggle_mode", "Isolated/Cross", id="confirm.toggle"),
        Binding("i", "pick('isolated')", "Isolated", id="confirm.isolated", show=False),
        Binding("c", "pick('cross')", "Cross", id="confirm.cross", show=False),
        Binding("question_mark", "explain", "Explain modes", id="confirm.explain"),
    ]

    DEFAULT_CSS = """
    TradeConfirmScreen #confirm { width: 96; }
    TradeConfirmScreen #summary { height: auto; }
    TradeConfirmScreen #toggle { height: auto; padding: 1 0 0 0; }
    TradeConfirmScreen #panels { height: auto; }
    TradeConfirmScreen .panel { width: 1fr; height: auto; min-height: 7;
        border: round $panel-lighten-2; padding: 0 1; color: $text-muted; }
    TradeConfirmScreen .panel.-selected { border: heavy $accent; color: $text; }
    TradeConfirmScreen #notice { height: auto; color: $warning; }
    TradeConfirmScreen #notice.-error { color: $error; }
    TradeConfirmScreen #confirm-keys { height: auto; }
    """

    def __init__(self, ticket: OrderTicket, default_mode: MarginMode) -> None:
        super().__init__()
        self.ticket = ticket
        self.margin_mode = default_mode
        self._armed = False
        self._opened_with: tuple[Side, MarginMode] | None = None
        self._last: tuple[object, ...] | None = None

    @property
    def engine(self) -> PaperEngine:
        return self.session.engine

    @property
    def locked_mode(self) -> MarginMode | None:
        pos = self.engine.position(self.ticket.market)
        return pos.mode if pos is not None else None

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog") as box:
            box.border_title = "Confirm order"
            yield Plain("", id="summary")
            yield Plain("", id="toggle")
            with Horizontal(id="panels"):
                yield Plain("", id="panel-isolated", classes="panel")
                yield Plain("", id="panel-cross", classes="panel")
            yield Plain("", id="notice")
            yield Plain(
                "Enter/y confirm · Esc/n cancel · Tab/←→/m switch mode · i/c pick · ? explain",
                id="confirm-keys",
                classes="dialog-keys",
            )

    def on_mount(self) -> None:
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
        pos = self.engine.position(self.ticket.market)
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
        return self.ticket.resolved_size(self.engine.mark(self.ticket.market))

    def previews(self) -> dict[MarginMode, Preview]:
        size = self.order_size()
        t = self.ticket
        return {
            mode: self.engine.preview(
                t.market, t.side, math.nan if size is None else size, t.leverage, mode
            )
            for mode in MarginMode
        }

    def update_view(self) -> None:
        previews = self.previews()
        locked = self.locked_mode
        if locked is not None:
            self.margin_mode = locked
        changed = self.changed
        state = (previews, self.margin_mode, locked, changed)
        if state == self._last:
            return
        self._last = state
        chosen = previews[self.margin_mode]
        self.query_one("#summary", Static).update(self._summary(chosen))
        self.query_one("#toggle", Static).update(self._toggle(locked))
        for mode in MarginMode:
            panel = self.query_one(f"#panel-{mode.value}", Static)
            panel.update(self._panel(previews[mode], locked))
            panel.set_class(mode is self.margin_mode, "-selected")
        notice = self.query_one("#notice", Static)
        if changed:
            notice.update(Text(changed))
            notice.add_class("-error")
        elif chosen.rejection:
            notice.update(Text(f"Cannot place this order: {chosen.rejection}"))
            notice.add_class("-error")
        elif locked is not None:
            notice.update(LOCKED_MESSAGE)
            notice.remove_class("-error")
        else:
            notice.update("")
            notice.remove_class("-error")

    def _summary(self, p: Preview) -> Group:
        t = self.ticket
        grid = Table.grid(padding=(0, 2))
        for _ in range(4):
            grid.add_column()
        side = Text(t.side.value.upper(), style="bold " + side_style(self.number_styles(), t.side))
        mark = p.mark_price
        size = fmt_size(p.size, mark) if math.isfinite(p.size) else DASH
        title = Text.assemble(side, " ", (t.market, "bold"), f"  {size} {t.market}")
        if t.usd is not None:
            title.append(f"  (${t.usd:,.2f})", style="dim")
        kind = {
            "add": "adds to your position",
            "reduce": "reduces your position",
            "close": "closes your position",
            "flip": "closes your position and opens the other side",
        }
        if p.kind in kind:
            title.append(f"  — {kind[p.kind]}", style="italic")
        grid.add_row(
            Text.assemble(("Est. fill ", "dim"), fmt_price(p.fill_price)),
            Text.assemble(("Notional ", "dim"), fmt_money(p.notional)),
            Text.assemble(("Leverage ", "dim"), fmt_leverage(p.leverage)),
            Text.assemble(("Fee ", "dim"), fmt_money(p.fee)),
        )
        grid.add_row(
            Text.assemble(("Margin required ", "dim"), fmt_money(p.margin_required)),
            Text.assemble(("Available ", "dim"), fmt_money(p.available_before)),
            Text.assemble(("Mark ", "dim"), fmt_price(mark)),
            "",
        )
        return Group(title, grid)

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

    def _panel(self, p: Preview, locked: MarginMode | None) -> Text:
        text = Text()
        text.append(p.mode.label, style="bold")
        if p.mode is self.margin_mode:
            text.append("  (selected)", style="italic")
        text.append("\n")
        if locked is not None and p.mode is not locked:
            text.append("Not available: this market is open in ")
            text.append(locked.label)
            text.append(".")
            return text
        liq = p.liquidation_price
        text.append("Liquidation  ", style="dim")
        text.append(fmt_price(liq, p.mark_price) if liq is not None else "none", style="bold")
        text.append("\n")
        text.append("Distance     ", style="dim")
        dist = p.liquidation_distance
        if dist is not None and liq is not None:
            where = "below" if liq < p.mark_price else "above"
            text.append(f"{fmt_pct(dist, decimals=2)} {where} the mark")
        else:
            text.append(DASH)
        text.append("\n")
        text.append("At risk      ", style="dim")
        if p.rejection and not math.isfinite(p.at_risk):
            text.append(DASH)
        elif p.mode is MarginMode.ISOLATED:
            text.append(f"Only this position's {fmt_money(p.at_risk)} margin")
        else:
            text.append(f"Your whole cross balance: {fmt_money(p.at_risk)}")
        if p.mode is MarginMode.CROSS and p.cross_liquidation_prices:
            text.append("\nOther cross positions:", style="dim")
            for name, (before, after) in p.cross_liquidation_prices.items():
                mark = self.engine.mark(name)
                text.append(
                    f"\n  {name} liq {fmt_price(before, mark) if before else 'none'} → "
                    f"{fmt_price(after, mark) if after else 'none'}"
                )
        if p.rejection:
            text.append("\n")
            text.append("Rejected: ", style="bold")
            text.append(p.rejection)
        return text

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

    def action_confirm(self) -> None:
        if self.replied or not self._armed:
            return
        size = self.order_size()
        p = self.previews()[self.margin_mode]
        if p.rejection or size is None or self.changed:
            self.app.bell()
            self.update_view()
            return
        self.reply(replace(self.ticket, size=size, mode=self.margin_mode))

    def action_cancel(self) -> None:
        self.reply(None)

    def action_explain(self) -> None:
        from tui.screens.help import ModesScreen

        self.app.push_screen(ModesScreen())
