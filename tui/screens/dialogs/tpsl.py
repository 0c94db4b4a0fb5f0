"""`t` on a position: its take-profit and stop-loss, with what each would realize and the
stop-versus-liquidation warning, live.

Each field takes a price, or nothing (no take-profit / stop-loss). Beside each, the distance
from the mark and the PnL the whole position would realize there; under them, what the engine
says about the stop (one the liquidation would beat, a cross stop other positions can move) and
any price the engine would refuse (a trigger the mark has already reached). If the position is
closed or liquidated while the dialog is open, saving is blocked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.engine import PositionView
from tui.format import fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size
from tui.screens.base import Dialog
from tui.widgets.plain import Plain
from tui.widgets.styles import side_style

KEEP: Final = "keep"
KEYS = "Enter save · Esc cancel · Tab next field · empty = none"


@dataclass(frozen=True, slots=True)
class TpSlChoice:
    """The prices to set: a price, ``None`` to clear, ``"keep"`` to leave as it is."""

    market: str
    take_profit: float | Literal["keep"] | None = KEEP
    stop_loss: float | Literal["keep"] | None = KEEP


def read_price(text: str) -> float | None:
    """A typed price (``95000``, ``95,000.5``, ``$95,000``); ``None`` for an empty field or
    "off". Raises ``ValueError`` with a sentence for anything else."""
    raw = text.strip().replace(",", "").removeprefix("$").strip()
    if not raw or raw.casefold() in ("off", "none"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a price; write one like 95000.") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text.strip()!r} must be a price above zero.")
    return value


class TpSlScreen(Dialog[TpSlChoice | None]):
    """Set, move or clear a position's take-profit and stop-loss."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="tpsl.cancel"),
    ]
    DEFAULT_CSS = """
    TpSlScreen #tpsl { width: 78; }
    TpSlScreen .row { height: auto; }
    TpSlScreen .row Label { width: 13; padding: 1 0 0 0; }
    TpSlScreen .row Input { width: 18; }
    TpSlScreen .row .hint { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    TpSlScreen #tpsl-warnings { color: $warning; height: auto; }
    TpSlScreen #tpsl-keys { padding: 1 0 0 0; }
    """

    def __init__(self, market: str) -> None:
        super().__init__()
        self.market = market
        self._start: tuple[float | None, float | None] = (None, None)
        self._opened_with: tuple[object, ...] | None = None
        self._last: object = None

    def compose(self) -> ComposeResult:
        tp, sl = self.session.engine.tp_sl(self.market)
        self._start = (
            tp.trigger_price if tp is not None else None,
            sl.trigger_price if sl is not None else None,
        )
        pos = self.session.position(self.market)
        ref = pos.mark_price if pos is not None else None
        with Vertical(id="tpsl", classes="dialog") as box:
            box.border_title = f"Take-profit / stop-loss: {self.market}"
            yield Plain("", id="tpsl-position")
            for key, label, value in (
                ("tp", "Take-profit", self._start[0]),
                ("sl", "Stop-loss", self._start[1]),
            ):
                with Horizontal(classes="row"):
                    yield Label(label)
                    shown = "" if value is None else fmt_price(value, ref).replace(",", "")
                    yield Input(shown, placeholder="none", id=key)
                    yield Plain("", id=f"{key}-hint", classes="hint")
            yield Plain("", id="tpsl-warnings")
            yield Plain("", id="tpsl-error", classes="dialog-error")
            yield Plain(KEYS, id="tpsl-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        pos = self.session.position(self.market)
        self._opened_with = self.session.position_state(pos) if pos is not None else None
        self.query_one("#tp", Input).focus()
        self.update_view()
        self.follow_heartbeat(lambda _beat: self.update_view())

    # ------------------------------------------------------------------ reading

    def read(self) -> tuple[float | None, float | None] | str:
        """The two prices typed (``None``: none), or a sentence saying what to fix."""
        prices: list[float | None] = []
        for key, label in (("tp", "Take-profit"), ("sl", "Stop-loss")):
            try:
                prices.append(read_price(self.query_one(f"#{key}", Input).value))
            except ValueError as exc:
                return f"{label}: {exc}"
        return prices[0], prices[1]

    @property
    def blocked(self) -> str | None:
        pos = self.session.position(self.market)
        if pos is None:
            return (
                f"Your {self.market} position is gone (liquidated or closed): there is nothing "
                "to protect. Press Esc."
            )
        if self.session.position_state(pos) != self._opened_with:
            return (
                f"Your {self.market} position changed while this was open. Press Esc and look "
                "again."
            )
        return None

    def problems(self, prices: tuple[float | None, float | None]) -> list[str]:
        """What the engine would refuse in these prices (a trigger already reached)."""
        found = []
        for kind, price, start in zip(("tp", "sl"), prices, self._start, strict=True):
            if price is not None and price != start:
                why = self.session.tp_sl_problem(self.market, kind, price)
                if why:
                    found.append(why)
        return found

    # ------------------------------------------------------------------ showing

    @on(Input.Changed)
    def _typed(self) -> None:
        self.update_view()

    def update_view(self) -> None:
        pos = self.session.position(self.market)
        prices = self.read()
        blocked = self.blocked
        state = (pos, prices, blocked)
        if state == self._last:
            return
        self._last = state
        if pos is not None:
            self.query_one("#tpsl-position", Static).update(self._position(pos))
        for i, key in enumerate(("tp", "sl")):
            hint = Text()
            price = None if isinstance(prices, str) else prices[i]
            if pos is not None and price is not None:
                hint = self._hint(pos, price)
            self.query_one(f"#{key}-hint", Static).update(hint)
        warnings: list[str] = []
        errors: list[str] = []
        if blocked:
            errors.append(blocked)
        elif isinstance(prices, str):
            errors.append(prices)
        else:
            errors += self.problems(prices)
            if prices[1] is not None:
                warnings += self.session.stop_warnings(self.market, prices[1])
        # ⚠ as on the confirmation screen
        self.query_one("#tpsl-warnings", Static).update("\n".join(f"⚠ {w}" for w in warnings))
        self.query_one("#tpsl-error", Static).update("\n".join(errors))

    def _position(self, pos: PositionView) -> Text:
        styles = self.number_styles()
        text = Text()
        text.append(pos.side.value.upper(), style="bold " + side_style(styles, pos.side))
        text.append(f" {fmt_size(pos.size, pos.mark_price)} {pos.market}", style="bold")
        text.append(f"  {pos.mode.label} {fmt_leverage(pos.leverage)}", style="dim")
        text.append(f"  entry {fmt_price(pos.entry_price, pos.mark_price)}", style="dim")
        text.append(f"  mark {fmt_price(pos.mark_price)}", style="dim")
        liq = pos.liquidation_price
        text.append(
            f"\nLiquidation {fmt_price(liq, pos.mark_price) if liq is not None else 'none'}",
            style="dim",
        )
        return text

    def _hint(self, pos: PositionView, price: float) -> Text:
        styles = self.number_styles()
        pnl = self.session.pnl_at(self.market, price)
        move = price / pos.mark_price - 1 if pos.mark_price else math.nan
        text = Text(f"{fmt_pct(move, signed=True)} from the mark · PnL about ")
        if pnl is not None:
            text.append(fmt_money(pnl, signed=True), style=styles["up" if pnl >= 0 else "down"])
        return text

    # ------------------------------------------------------------------ actions

    @on(Input.Submitted)
    def _submit(self) -> None:
        if self.replied:
            return
        prices = self.read()
        if isinstance(prices, str) or self.blocked or self.problems(prices):
            self.app.bell()
            self._last = None
            self.update_view()
            return
        tp, sl = prices
        self.reply(
            TpSlChoice(
                self.market,
                take_profit=KEEP if tp == self._start[0] else tp,
                stop_loss=KEEP if sl == self._start[1] else sl,
            )
        )

    def action_cancel(self) -> None:
        self.reply(None)
