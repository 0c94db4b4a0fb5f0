"""`b` / `s`: the order form. Type (market, limit, stop, take-profit), size (coins or `$`),
leverage, price or trigger, an optional take-profit and stop-loss, reduce-only and post-only."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Click
from textual.widgets import Input, Label, Static

from tui.engine import OrderType, Side
from tui.format import (
    fmt_leverage,
    fmt_money,
    fmt_price,
    fmt_size,
    parse_amount,
    parse_leverage,
    price_decimals,
)
from tui.screens.base import Dialog
from tui.session import OrderTicket
from tui.widgets.plain import Plain

TYPES: tuple[OrderType, ...] = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.TAKE_PROFIT_MARKET,
)
"""The order types in the order `t` cycles through."""

TYPE_NAMES: dict[OrderType, str] = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP_MARKET: "Stop",
    OrderType.TAKE_PROFIT_MARKET: "Take-profit",
}


def parse_price(text: str, what: str) -> float | None:
    """A price typed by a person (``95000``, ``95,000.5``, ``$95,000``); ``None`` when empty.
    Raises ``ValueError`` with a message naming ``what``."""
    raw = text.strip().replace(",", "").replace("_", "").removeprefix("$").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{what} {text.strip()!r} is not a number; write it like 95000.") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} {text.strip()!r} must be a price above zero.")
    return value


_NUMBER_CHARS = frozenset("0123456789.,$_ +-eExX×")
"""What a size, leverage or price field takes: every other letter is a key of the form."""


class NumberInput(Input):
    """An input for numbers (``0.01``, ``$500``, ``10x``, ``95,000``): letters it would never
    take are left to the form's keys (`t`, `r`, `p`), so they work while it has focus."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in _NUMBER_CHARS


class TypePicker(Static):
    """The order type row: the current type highlighted; a click moves to the next one."""

    def show(self, chosen: OrderType) -> None:
        text = Text()
        for order_type in TYPES:
            name = TYPE_NAMES[order_type]
            if order_type is chosen:
                text.append(f" {name} ", style="bold reverse")
            else:
                text.append(f" {name} ", style="dim")
            text.append(" ")
        text.append(" t: change", style="dim italic")
        self.update(text)

    def on_click(self, event: Click) -> None:
        screen = self.screen
        if isinstance(screen, OrderFormScreen):
            screen.action_cycle_type()


class Flags(Static):
    """Reduce-only and post-only: ``[x]`` when on; `r` / `p` (or a click) toggle them."""

    def show(self, flags: dict[str, bool], limit: bool) -> None:
        text = Text()
        for name, key in (("reduce-only", "r"), ("post-only", "p")):
            on = flags[name]
            usable = limit or name != "post-only"
            style = "bold" if on else ("" if usable else "dim")
            text.append("[x] " if on else "[ ] ", style=style)
            label = name.capitalize() + f" ({key})"
            if not usable:
                label += ", for a limit"
            text.append(label, style=style)
            text.append("     ")
        self.update(text)

    def on_click(self, event: Click) -> None:
        screen = self.screen
        if isinstance(screen, OrderFormScreen):
            screen.action_flag("post-only" if event.x > 24 else "reduce-only")


class OrderFormScreen(Dialog[OrderTicket | None]):
    """What to trade: Enter goes on to the confirmation, Esc cancels. `t` changes the order
    type, `r` / `p` toggle reduce-only / post-only (letters never typed in a number field);
    Tab moves between the fields."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="order.cancel"),
        Binding("t", "cycle_type", "Order type", id="order.type", priority=True),
        Binding("r", "flag('reduce-only')", "Reduce-only", id="order.reduce", priority=True),
        Binding("p", "flag('post-only')", "Post-only", id="order.post", priority=True),
    ]

    DEFAULT_CSS = """
    OrderFormScreen #form { width: 66; }
    OrderFormScreen .row { height: 1; }
    OrderFormScreen .row Input { background: $boost; }
    OrderFormScreen .row.-hidden { display: none; }
    OrderFormScreen .row Label { width: 14; color: $text-muted; }
    OrderFormScreen .row Input { width: 1fr; }
    OrderFormScreen #form-title { text-style: bold; padding: 0 0 1 0; }
    OrderFormScreen #type-row { height: 1; margin: 0 0 1 0; }
    OrderFormScreen #flags { height: 1; margin: 1 0 1 0; }
    OrderFormScreen #form-estimate { color: $text-muted; height: auto; }
    OrderFormScreen #form-keys { padding: 1 0 0 0; height: auto; }
    """

    def __init__(self, ticket: OrderTicket, default_size: str) -> None:
        super().__init__()
        self.ticket = ticket
        self.default_size = default_size
        self.order_type = ticket.order_type
        self.flags = {"reduce-only": ticket.reduce_only, "post-only": ticket.post_only}

    def compose(self) -> ComposeResult:
        t = self.ticket
        market = self.session.engine.market(t.market)
        side = "BUY / LONG" if t.side is Side.LONG else "SELL / SHORT"
        with Vertical(id="form", classes="dialog") as box:
            box.border_title = "New order"
            yield Plain(
                f"{side} {t.market}  ·  max leverage {fmt_leverage(market.max_leverage)}",
                id="form-title",
            )
            with Horizontal(id="type-row"):
                yield Label("Type")
                yield TypePicker(id="type")
            yield from self._row("Size", "size", self.default_size, "0.01 or $500")
            yield from self._row("Leverage", "leverage", f"{t.leverage:g}", "10")
            yield from self._row("Price", "price", self._price_text(t.level), "")
            yield from self._row("Take profit", "tp", self._price_text(t.take_profit), "optional")
            yield from self._row("Stop loss", "sl", self._price_text(t.stop_loss), "optional")
            yield Flags(id="flags")
            yield Plain("", id="form-estimate")
            yield Plain("", id="form-error", classes="dialog-error")
            yield Plain(
                "Enter review · t type · r reduce-only · p post-only · Tab next · Esc cancel",
                id="form-keys",
                classes="dialog-keys",
            )

    @staticmethod
    def _row(label: str, name: str, value: str, placeholder: str) -> ComposeResult:
        with Horizontal(id=f"{name}-row", classes="row"):
            yield Label(label, id=f"{name}-label")
            yield NumberInput(
                value,
                placeholder=placeholder,
                id=name,
                compact=True,
                restrict=r"[0-9.,$_ +\-eExX×]*",
            )

    @staticmethod
    def _price_text(price: float | None) -> str:
        return "" if price is None else f"{price:.{price_decimals(price)}f}"

    def on_mount(self) -> None:
        size = self.query_one("#size", Input)
        size.focus()
        size.select_all()
        self._layout()
        self._estimate()

    # ------------------------------------------------------------------ the fields

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def _flag(self, name: str) -> bool:
        return self.flags[name]

    def _layout(self) -> None:
        """Show the fields the order type and flags call for."""
        order_type = self.order_type
        self.query_one("#type", TypePicker).show(order_type)
        reduce_only = self._flag("reduce-only")
        self.query_one("#price-row").set_class(order_type is OrderType.MARKET, "-hidden")
        label = "Limit price" if order_type is OrderType.LIMIT else "Trigger"
        self.query_one("#price-label", Label).update(label)
        mark = self.session.engine.mark(self.ticket.market)
        self.query_one("#price", Input).placeholder = f"mark {fmt_price(mark)}"
        for name in ("tp", "sl"):
            self.query_one(f"#{name}-row").set_class(reduce_only, "-hidden")
        self.query_one("#leverage-row").set_class(reduce_only, "-hidden")
        if order_type is not OrderType.LIMIT:
            self.flags["post-only"] = False
        self.query_one("#flags", Flags).show(self.flags, order_type is OrderType.LIMIT)

    def action_cycle_type(self) -> None:
        now = TYPES.index(self.order_type)
        self.order_type = TYPES[(now + 1) % len(TYPES)]
        price = self.query_one("#price", Input)
        mark = self.session.engine.mark(self.ticket.market)
        if self.order_type is OrderType.LIMIT and not price.value.strip() and mark is not None:
            price.value = self._price_text(mark)  # a limit at the mark: edit from there
        if self.order_type is OrderType.STOP_MARKET:
            price.value = ""  # a trigger is never where the limit was by accident
        self._layout()
        self._estimate()

    def action_flag(self, name: str) -> None:
        if name == "post-only" and self.order_type is not OrderType.LIMIT:
            self.app.bell()
            self.notify("Post-only is for limit orders: press t until Limit is chosen.")
            return
        self.flags[name] = not self.flags[name]
        self._layout()
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
        session = self.session
        ticket = session.fix_size(text)
        mark = session.engine.mark(ticket.market)
        if ticket.size is None or mark is None:
            estimate.update("No price yet.")
            return
        p = session.preview(ticket, text.mode or session.default_mode(ticket.market))
        if not p.ok:
            estimate.update(Text(f"As it stands: {p.rejection}", style="italic"))
            return
        line = (
            f"≈ {fmt_size(p.size, mark)} {ticket.market} · notional {fmt_money(p.notional)} · "
            f"margin {fmt_money(p.margin_required)}"
        )
        if p.rests:
            line += f" · rests, holding {fmt_money(p.reserved_margin)}"
        elif text.order_type is OrderType.LIMIT:
            line += " · fills now: the market is already at its price"
        elif p.kind in ("reduce", "close"):
            line = (
                f"≈ {p.kind}s {fmt_size(p.closed_size, mark)} {ticket.market} · realized "
                f"{fmt_money(p.realized_pnl, signed=True)} before the fee"
            )
        estimate.update(line + f" · mark {fmt_price(mark)}")

    def _read(self) -> OrderTicket | str:
        """The ticket the fields describe, or a message saying what to fix."""
        market = self.session.engine.market(self.ticket.market)
        order_type = self.order_type
        reduce_only = self._flag("reduce-only")
        try:
            amount, usd = parse_amount(self._value("size"))
            leverage = self.ticket.leverage
            if not reduce_only:
                leverage = parse_leverage(self._value("leverage"))
            level = None
            if order_type is not OrderType.MARKET:
                what = "Limit price" if order_type is OrderType.LIMIT else "Trigger price"
                level = parse_price(self._value("price"), what)
                if level is None:
                    return f"Enter the {what.lower()}: this is a {TYPE_NAMES[order_type]} order."
            tp = None if reduce_only else parse_price(self._value("tp"), "Take-profit price")
            sl = None if reduce_only else parse_price(self._value("sl"), "Stop-loss price")
        except ValueError as exc:
            return str(exc)
        if not reduce_only and not 1 <= leverage <= market.max_leverage:
            return (
                f"Leverage on {market.name} must be between 1x and "
                f"{fmt_leverage(market.max_leverage)}."
            )
        return replace(
            self.ticket,
            size=None if usd else amount,
            usd=amount if usd else None,
            leverage=leverage,
            order_type=order_type,
            price=level if order_type is OrderType.LIMIT else None,
            trigger_price=level if order_type.is_trigger else None,
            reduce_only=reduce_only,
            post_only=self._flag("post-only"),
            take_profit=tp,
            stop_loss=sl,
        )

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
