"""One-line descriptions of engine events for the event log (pure, no UI imports)."""

from __future__ import annotations

from tui.engine import Event, Fill, FundingPayment, Liquidation, MarginTransfer, Side
from tui.format import fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size

# Levels: "info", "good", "bad", "alert" (the log colours them).


def position_side(fill: Fill) -> Side:
    """The side of the position a fill acted on (a reduce is an order against it)."""
    return fill.side if fill.kind in ("open", "add") else fill.side.opposite


def describe(event: Event) -> tuple[str, str]:
    """(level, text) for one engine event."""
    if isinstance(event, Fill):
        side = position_side(event).value.upper()
        size = fmt_size(event.size, event.price)
        price = fmt_price(event.price)
        where = f"{event.mode.label} {fmt_leverage(event.leverage)}"
        if event.kind == "open":
            return "info", (
                f"Opened {side} {size} {event.market} @ {price} · {where} · "
                f"fee {fmt_money(event.fee)}"
            )
        if event.kind == "add":
            return "info", (
                f"Added {size} to {side} {event.market} @ {price} · fee {fmt_money(event.fee)}"
            )
        verb = "Closed" if event.kind == "close" else "Reduced"
        level = "good" if event.realized_pnl >= 0 else "bad"
        return level, (
            f"{verb} {side} {size} {event.market} @ {price} · "
            f"PnL {fmt_money(event.realized_pnl, signed=True)} · fee {fmt_money(event.fee)}"
        )
    if isinstance(event, Liquidation):
        return "alert", (
            f"LIQUIDATED {event.side.value.upper()} {fmt_size(event.size, event.mark_price)} "
            f"{event.market} ({event.mode.label}) at {fmt_price(event.mark_price)} · "
            f"margin lost {fmt_money(event.margin_lost)}"
        )
    if isinstance(event, FundingPayment):
        verb = "paid" if event.payment > 0 else "received"
        return ("bad" if event.payment > 0 else "good"), (
            f"Funding {event.market}: {verb} {fmt_money(abs(event.payment))} "
            f"(rate {fmt_pct(event.rate, signed=True, decimals=4)}/h)"
        )
    assert isinstance(event, MarginTransfer)
    if event.amount >= 0:
        return "info", f"Added {fmt_money(event.amount)} margin to {event.market}"
    return "info", f"Removed {fmt_money(-event.amount)} margin from {event.market}"
