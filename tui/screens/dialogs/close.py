"""`x` (and /close): close all or part of a position, with its figures live.

The dialog follows the heartbeat like the confirmation screen: the fill price, the PnL it
realizes and the margin it frees move with the mark. If the position changes while it is open
(an add, a close from the command line, a liquidation or a slice of one) it is blocked: the
trader reviewed something else. 1-4 (or ←/→) pick 25 / 50 / 75 / 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from tui.engine import PositionView
from tui.format import fmt_leverage, fmt_money, fmt_price, fmt_size
from tui.screens.base import Dialog
from tui.session import ClosePreview
from tui.widgets.plain import Plain
from tui.widgets.styles import side_style

SHARES: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
"""The shares of the position the dialog offers (keys 1 to 4)."""

KEYS = "Enter/y close · Esc/n cancel · 1-4 or ←/→ choose how much"


@dataclass(frozen=True, slots=True)
class CloseChoice:
    """What to close: ``size`` coins of the position in ``market`` (``None``: all of it)."""

    market: str
    size: float | None


class ClosePositionScreen(Dialog[CloseChoice | None]):
    """Close a share of a position: 25 / 50 / 75 / 100 % (or the size the command line gave)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "confirm", "Close", id="close.confirm"),
        Binding("escape,n", "cancel", "Cancel", id="close.cancel"),
        Binding("1", "choose(0)", "25%", id="close.quarter", show=False),
        Binding("2", "choose(1)", "50%", id="close.half", show=False),
        Binding("3", "choose(2)", "75%", id="close.three_quarters", show=False),
        Binding("4", "choose(3)", "100%", id="close.all", show=False),
        Binding("left", "step(-1)", "Less", id="close.less", show=False),
        Binding("right,tab", "step(1)", "More", id="close.more", show=False),
    ]
    DEFAULT_CSS = """
    ClosePositionScreen #close { width: 76; border: thick $warning; }
    ClosePositionScreen #close-choices { padding: 1 0 0 0; height: auto; }
    ClosePositionScreen #close-figures { padding: 1 0 0 0; height: auto; }
    ClosePositionScreen #close-notice { height: auto; color: $error; }
    ClosePositionScreen #close-keys { padding: 1 0 0 0; }
    """

    def __init__(self, market: str, *, fraction: float = 1.0, size: float | None = None) -> None:
        super().__init__()
        self.market = market
        self.choices: list[tuple[str, float, float | None]] = [
            (f"{share:.0%}", share, None) for share in SHARES
        ]
        """(label, share, size in coins or None) for each choice."""
        self.choice = len(SHARES) - 1
        if size is not None:
            self.choices.append(("", 1.0, size))  # labelled with the coins once it is known
            self.choice = len(self.choices) - 1
        elif fraction in SHARES:
            self.choice = SHARES.index(fraction)
        else:
            self.choices.append((f"{fraction:.0%}", fraction, None))
            self.choice = len(self.choices) - 1
        self._opened_with: tuple[object, ...] | None = None
        self._armed = False
        self._last: object = None

    def compose(self) -> ComposeResult:
        with Vertical(id="close", classes="dialog") as box:
            box.border_title = f"Close {self.market}"
            yield Plain("", id="close-position")
            yield Plain("", id="close-choices")
            yield Plain("", id="close-figures")
            yield Plain("", id="close-notice")
            yield Plain(KEYS, id="close-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        pos = self.session.position(self.market)
        self._opened_with = self.session.position_state(pos) if pos is not None else None
        self.update_view()
        self.follow_heartbeat(lambda _beat: self.update_view())
        # Keys read before the dialog was ever painted (x, Enter typed together) must not
        # close a position nobody has reviewed.
        self.call_after_refresh(self._arm)

    def _arm(self) -> None:
        self._armed = True

    # ------------------------------------------------------------------ state

    def preview(self) -> ClosePreview | None:
        _, share, size = self.choices[self.choice]
        return self.session.close_preview(self.market, fraction=share, size=size)

    @property
    def blocked(self) -> str | None:
        """Why the dialog no longer asks about the position the trader saw, if it doesn't."""
        pos = self.session.position(self.market)
        if pos is None:
            return (
                f"Your {self.market} position is gone (liquidated or closed) while this was "
                "open: there is nothing to close. Press Esc."
            )
        if self.session.position_state(pos) != self._opened_with:
            return (
                f"Your {self.market} position changed while this was open (an add, a close or "
                "a liquidation slice). Press Esc and look again."
            )
        return None

    def update_view(self) -> None:
        pos = self.session.position(self.market)
        preview = self.preview()
        blocked = self.blocked
        state = (pos, preview, blocked, self.choice)
        if state == self._last:
            return
        self._last = state
        if pos is not None:
            self.query_one("#close-position", Static).update(self._position(pos))
        self.query_one("#close-choices", Static).update(self._choices(pos))
        figures = self.query_one("#close-figures", Static)
        figures.update(self._figures(preview) if preview is not None and not blocked else "")
        notice = blocked or (preview.rejection if preview is not None else None)
        self.query_one("#close-notice", Static).update(Text(notice or ""))

    def _position(self, pos: PositionView) -> Text:
        styles = self.number_styles()
        text = Text()
        text.append(pos.side.value.upper(), style="bold " + side_style(styles, pos.side))
        text.append(f" {fmt_size(pos.size, pos.mark_price)} {pos.market}", style="bold")
        text.append(f"  {pos.mode.label} {fmt_leverage(pos.leverage)}", style="dim")
        text.append(f"  entry {fmt_price(pos.entry_price, pos.mark_price)}", style="dim")
        text.append(f"  mark {fmt_price(pos.mark_price)}", style="dim")
        return text

    def _choices(self, pos: PositionView | None) -> Text:
        text = Text("Close  ")
        for i, (label, _, size) in enumerate(self.choices):
            if size is not None:
                label = f"{fmt_size(size, pos.mark_price if pos else None)} {self.market}"
            shown = f" {label} "
            if i == self.choice:
                text.append(f"[{shown}]", style="bold reverse")
            else:
                text.append(f" {shown} ", style="dim")
            text.append(" ")
        return text

    def _figures(self, p: ClosePreview) -> Text:
        styles = self.number_styles()
        text = Text.assemble(
            ("Closes ", "dim"), (f"{fmt_size(p.size, p.mark_price)} {p.market}", "bold")
        )
        if p.size_left:
            text.append(f", {fmt_size(p.size_left, p.mark_price)} {p.market} stays open")
        else:
            text.append(": the whole position")
        fill = f"Est. fill {fmt_price(p.fill_price, p.mark_price)}"
        fee = f"Fee {fmt_money(p.fee)}"
        width = max(len(fill), len(fee)) + 3  # the second column starts here
        pnl_style = styles["up"] if p.realized_pnl >= 0 else styles["down"]
        text.append("\n")
        text.append("Est. fill ", style="dim")
        text.append(fmt_price(p.fill_price, p.mark_price).ljust(width - len("Est. fill ")))
        text.append("Realized PnL ", style="dim")
        text.append(fmt_money(p.realized_pnl, signed=True), style=pnl_style)
        text.append(" before the fee", style="dim")
        text.append("\n")
        text.append("Fee ", style="dim")
        text.append(fmt_money(p.fee).ljust(width - len("Fee ")))
        text.append("Margin released ", style="dim")
        text.append(fmt_money(p.margin_released))
        if p.orders_note:
            text.append(f"\n{p.orders_note}", style="dim")
        return text

    # ------------------------------------------------------------------ actions

    def action_choose(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.choice = index
            self.update_view()

    def action_step(self, step: int) -> None:
        self.action_choose(max(0, min(len(self.choices) - 1, self.choice + step)))

    def action_confirm(self) -> None:
        if self.replied or not self._armed:
            return
        preview = self.preview()
        if self.blocked or preview is None or preview.rejection:
            self.app.bell()
            self.update_view()
            return
        whole = preview.size_left <= 0
        self.reply(CloseChoice(self.market, None if whole else preview.size))

    def action_cancel(self) -> None:
        self.reply(None)
