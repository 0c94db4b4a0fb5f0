"""`e` on an open order: a new price (limit price or trigger) and size.

Modifying is cancel + replace, as the dialog says: the order is cancelled and a new one placed
with the new figures (a new number; if the new one is refused, the old one is placed again). A
position's take-profit or stop-loss only moves its trigger: it always closes the whole
position. If the order fills or is cancelled while the dialog is open, applying is blocked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.engine import Order, OrderType, Side
from tui.format import fmt_pct, fmt_price, fmt_size, parse_amount
from tui.screens.base import Dialog
from tui.screens.dialogs.tpsl import read_price
from tui.widgets.plain import Plain

REPLACE_NOTE = (
    "Modifying cancels this order and places a new one with the new price and size: it gets a "
    "new number."
)
MOVE_NOTE = "Moving it cancels this one and places the new trigger: it gets a new number."


@dataclass(frozen=True, slots=True)
class OrderChange:
    """The new figures of order ``order_id`` (``None``: unchanged)."""

    order_id: int
    price: float | None = None
    size: float | None = None


def describe_order(order: Order) -> str:
    """``Limit #12 BUY 0.1 BTC @ 95,000.0`` (``Stop loss #7: closes the whole BTC long at
    92,000.0``) for the dialog's first line."""
    if order.tpsl:
        held = order.side.opposite.value
        return (
            f"{order.label} #{order.id}: closes the whole {order.market} {held} at "
            f"{fmt_price(order.level)}"
        )
    side = "BUY" if order.side is Side.LONG else "SELL"
    size = fmt_size(order.size, order.level)
    where = "@" if order.order_type is OrderType.LIMIT else "at"
    price = fmt_price(order.level)
    return f"{order.label} #{order.id} {side} {size} {order.market} {where} {price}"


class ModifyOrderScreen(Dialog[OrderChange | None]):
    """Change an open order's price and size (cancel + replace)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="modify.cancel"),
    ]
    DEFAULT_CSS = """
    ModifyOrderScreen #modify { width: 72; }
    ModifyOrderScreen .row { height: auto; }
    ModifyOrderScreen .row Label { width: 10; padding: 1 0 0 0; }
    ModifyOrderScreen .row Input { width: 18; }
    ModifyOrderScreen .row .hint { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    ModifyOrderScreen #modify-note { color: $text-muted; padding: 1 0 0 0; height: auto; }
    ModifyOrderScreen #modify-keys { padding: 1 0 0 0; }
    """

    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order
        self._last: object = None

    def compose(self) -> ComposeResult:
        o = self.order
        what = "Limit price" if o.order_type is OrderType.LIMIT else "Trigger"
        with Vertical(id="modify", classes="dialog") as box:
            box.border_title = f"Modify order #{o.id}"
            yield Plain(describe_order(o), id="modify-order")
            with Horizontal(classes="row"):
                yield Label("Price")
                yield Input(f"{o.level:g}", placeholder=what, id="price")
                yield Plain("", id="price-hint", classes="hint")
            with Horizontal(classes="row"):
                yield Label("Size")
                yield Input(
                    f"{o.size - o.filled_size:g}",
                    id="size",
                    disabled=o.tpsl is not None,
                )
                yield Plain(
                    "always the whole position" if o.tpsl else "", id="size-hint", classes="hint"
                )
            yield Plain(MOVE_NOTE if o.tpsl else REPLACE_NOTE, id="modify-note")
            yield Plain("", id="modify-error", classes="dialog-error")
            yield Plain(
                "Enter apply · Esc cancel · Tab next field", id="modify-keys", classes="dialog-keys"
            )

    def on_mount(self) -> None:
        price = self.query_one("#price", Input)
        price.focus()
        self.update_view()
        self.follow_heartbeat(lambda _beat: self.update_view())

    @property
    def blocked(self) -> str | None:
        if self.session.order(self.order.id) is None:
            return f"Order #{self.order.id} is not open any more (filled or cancelled). Press Esc."
        return None

    def read(self) -> OrderChange | str:
        """The change the fields describe, or a sentence saying what to fix."""
        try:
            price = read_price(self.query_one("#price", Input).value)
        except ValueError as exc:
            return f"Price: {exc}"
        if price is None:
            return "Price: write the new price, like 95000 (Esc leaves the order as it is)."
        size: float | None = None
        if self.order.tpsl is None:
            try:
                size, usd = parse_amount(self.query_one("#size", Input).value)
            except ValueError as exc:
                return f"Size: {exc}"
            if usd:
                return "Size: write it in coins, like 0.1."
        old_size = self.order.size - self.order.filled_size
        return OrderChange(
            self.order.id,
            price=None if price == self.order.level else price,
            size=None if size is None or size == old_size else size,
        )

    @on(Input.Changed)
    def _typed(self) -> None:
        self.update_view()

    def update_view(self) -> None:
        change = self.read()
        mark = self.session.engine.mark(self.order.market)
        blocked = self.blocked
        state = (change, mark, blocked)
        if state == self._last:
            return
        self._last = state
        hint = Text()
        if not isinstance(change, str) and mark:
            price = change.price if change.price is not None else self.order.level
            if math.isfinite(price):
                hint = Text(f"{fmt_pct(price / mark - 1, signed=True)} from the mark")
                hint.append(f" {fmt_price(mark)}", style="dim")
        self.query_one("#price-hint", Static).update(hint)
        error = blocked or (change if isinstance(change, str) else "")
        self.query_one("#modify-error", Static).update(error)

    @on(Input.Submitted)
    def _submit(self) -> None:
        if self.replied:
            return
        change = self.read()
        if isinstance(change, str) or self.blocked:
            self.app.bell()
            self._last = None
            self.update_view()
            return
        if change.price is None and change.size is None:
            self.reply(None)  # nothing changed: nothing to replace
            return
        self.reply(change)

    def action_cancel(self) -> None:
        self.reply(None)
