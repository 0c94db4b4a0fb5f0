"""`L` / `/leverage`: change an open position's leverage, seeing what it does before Enter."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.engine import LeveragePreview, MarginMode
from tui.format import fmt_leverage, fmt_money, fmt_price, parse_leverage
from tui.screens.base import Dialog
from tui.widgets.plain import Plain


class LeverageScreen(Dialog[float | None]):
    """A new leverage for the position in ``market``: the change it makes (margin, what the
    wallet posts, liquidation price, available) shows live as the trader types; Enter changes
    it, Esc leaves it. Answers the new leverage, or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="leverage.cancel"),
    ]
    DEFAULT_CSS = """
    LeverageScreen #leverage { width: 72; }
    LeverageScreen #lev-row { height: auto; padding: 1 0 0 0; }
    LeverageScreen #lev-row Label { width: 14; }
    LeverageScreen #lev-row Input { width: 1fr; }
    LeverageScreen #lev-preview { height: auto; padding: 1 0 0 0; }
    LeverageScreen #lev-note { height: auto; color: $text-muted; padding: 1 0 0 0; }
    LeverageScreen #lev-error { padding: 1 0 0 0; }
    LeverageScreen #lev-keys { padding: 1 0 0 0; }
    LeverageScreen .-empty { display: none; }
    """

    def __init__(self, market: str, leverage: float | None = None) -> None:
        super().__init__()
        self.market = market
        self.initial = leverage
        self._position_key: tuple[str, MarginMode] | None = None
        self._last: object = None

    def compose(self) -> ComposeResult:
        with Vertical(id="leverage", classes="dialog") as box:
            box.border_title = f"Change leverage: {self.market}"
            yield Plain("", id="lev-now")
            with Horizontal(id="lev-row"):
                yield Label("New leverage")
                yield Input(
                    "" if self.initial is None else f"{self.initial:g}",
                    placeholder="20 or 20x",
                    id="lev-input",
                    compact=True,
                )
            yield Plain("", id="lev-preview")
            yield Plain("", id="lev-note")
            yield Plain("", id="lev-error", classes="dialog-error")
            yield Plain("", id="lev-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        pos = self.session.position(self.market)
        self._position_key = (pos.side.value, pos.mode) if pos is not None else None
        box = self.query_one(Input)
        box.focus()
        self.update_view()
        self.follow_heartbeat(lambda _beat: self.update_view())

    # ------------------------------------------------------------------ figures

    def gone(self) -> str | None:
        """Why there is nothing to change any more (the position closed or was liquidated)."""
        pos = self.session.position(self.market)
        key = (pos.side.value, pos.mode) if pos is not None else None
        if key is None or key != self._position_key:
            return (
                f"Your {self.market} position changed while this was open (it was closed or "
                "liquidated). Press Esc."
            )
        return None

    def wanted(self) -> float | str | None:
        """The leverage typed (``None``: nothing typed yet), or what to fix."""
        raw = self.query_one(Input).value
        if not raw.strip():
            return None
        try:
            return parse_leverage(raw)
        except ValueError as exc:
            return str(exc)

    def preview(self) -> LeveragePreview | None:
        wanted = self.wanted()
        if not isinstance(wanted, float) or self.gone():
            return None
        return self.session.leverage_preview(self.market, wanted)

    @on(Input.Changed)
    def update_view(self) -> None:
        pos = self.session.position(self.market)
        wanted = self.wanted()
        preview = self.preview()
        gone = self.gone()
        state = (pos, wanted, preview, gone)
        if state == self._last:
            return
        self._last = state
        now = self.query_one("#lev-now", Static)
        if pos is not None:
            now.update(
                f"Your {pos.side.value.upper()} {pos.market} ({pos.mode.label}) is at "
                f"{fmt_leverage(pos.leverage)}: margin {fmt_money(pos.margin)}, liquidation "
                f"{fmt_price(pos.liquidation_price, pos.mark_price)}."
            )
        error = self.query_one("#lev-error", Static)
        note = self.query_one("#lev-note", Static)
        table = self.query_one("#lev-preview", Static)
        keys = self.query_one("#lev-keys", Static)
        problem = gone
        if problem is None and isinstance(wanted, str):
            problem = wanted
        elif problem is None and preview is not None and preview.rejection:
            problem = preview.rejection
        error.update(problem or "")
        error.set_class(not problem, "-empty")
        shown = preview is not None and preview.ok and not gone
        table.update(self._table(preview) if shown and preview is not None else "")
        note.update(self._note(preview) if shown and preview is not None else "")
        table.set_class(not shown, "-empty")
        note.set_class(not shown, "-empty")
        if gone:
            keys.update("Esc: close")
        elif shown and preview is not None:
            keys.update(f"Enter: change to {fmt_leverage(preview.leverage)}   Esc: cancel")
        else:
            keys.update("Type a leverage (a whole number)   Esc: cancel")

    def _table(self, p: LeveragePreview) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        grid.add_column()
        grid.add_column(justify="right", style="bold")
        mark = self.session.engine.mark(self.market)
        arrow = "→"
        grid.add_row("Leverage", fmt_leverage(p.leverage_before), arrow, fmt_leverage(p.leverage))
        grid.add_row("Margin", fmt_money(p.margin_before), arrow, fmt_money(p.margin_after))
        grid.add_row(
            "Liquidation",
            fmt_price(p.liquidation_price_before, mark),
            arrow,
            fmt_price(p.liquidation_price_after, mark),
        )
        grid.add_row(
            "Available", fmt_money(p.available_before), arrow, fmt_money(p.available_after)
        )
        if p.top_up:
            grid.add_row("From your wallet", "", "", fmt_money(p.top_up))
        return grid

    def _note(self, p: LeveragePreview) -> Text:
        most = f"At this size {self.market} allows up to {fmt_leverage(p.max_leverage)}."
        if p.leverage == p.leverage_before:
            return Text(f"That is the leverage it has now. {most}")
        if p.mode is MarginMode.ISOLATED and p.leverage > p.leverage_before:
            return Text(
                "Raising an isolated position's leverage keeps the margin it has posted, so its "
                "liquidation price does not move; take margin out with - to use it elsewhere. "
                + most
            )
        if p.mode is MarginMode.ISOLATED:
            return Text(
                "Lowering it posts from your wallet whatever the position lacks of its new "
                "initial margin. " + most
            )
        return Text(
            "A Cross position holds q × mark / leverage of your cross balance: "
            + ("more" if p.leverage < p.leverage_before else "less")
            + " at this leverage. "
            + most
        )

    # ------------------------------------------------------------------ answers

    @on(Input.Submitted)
    def _submit(self) -> None:
        if self.replied:
            return
        preview = self.preview()
        if preview is None or not preview.ok or preview.leverage == preview.leverage_before:
            self.app.bell()
            self._last = None
            self.update_view()
            return
        self.reply(preview.leverage)

    def action_cancel(self) -> None:
        self.reply(None)
