"""`+` / `-`: how much isolated margin to add to or remove from a position."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.format import fmt_money
from tui.screens.base import Dialog
from tui.widgets.plain import Plain


class MarginScreen(Dialog[float | None]):
    """`+` / `-`: an amount of isolated margin to add or remove."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="margin.cancel"),
    ]
    DEFAULT_CSS = """
    MarginScreen #margin { width: 64; }
    """

    def __init__(self, market: str, sign: int) -> None:
        super().__init__()
        self.market = market
        self.sign = sign

    def limit(self) -> float | None:
        """The most that can move now; None when the position is gone or not isolated."""
        return self.session.margin_limit(self.market, self.sign)

    def compose(self) -> ComposeResult:
        verb = "Add margin to" if self.sign > 0 else "Remove margin from"
        with Vertical(id="margin", classes="dialog") as box:
            box.border_title = f"{verb} {self.market}"
            yield Plain("", id="margin-info")
            yield Input(placeholder="amount in USD, e.g. 200", id="amount")
            yield Plain("", id="margin-error", classes="dialog-error")
            yield Plain("Enter: apply   Esc: cancel", id="margin-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        what = "available to add" if self.sign > 0 else "removable"
        self.query_one("#margin-info", Static).update(f"Most {what} now: {fmt_money(self.limit())}")
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        if self.replied:
            return
        raw = event.value.strip().replace(",", "").removeprefix("$").removeprefix("+")
        try:
            amount = float(raw)
        except ValueError:
            amount = float("nan")
        if not amount > 0 or amount == float("inf"):
            self.query_one("#margin-error", Static).update(
                f"{event.value.strip()!r} is not an amount; enter a number above zero, like 200."
            )
            return
        self.reply(amount)

    def action_cancel(self) -> None:
        self.reply(None)
