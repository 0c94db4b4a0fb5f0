"""One-line descriptions of engine events for the event log (pure, no UI imports)."""

from __future__ import annotations

from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    LeverageChange,
    Liquidation,
    MarginTransfer,
    OrderEvent,
    OrderType,
    Side,
)
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
    if isinstance(event, OrderEvent):
        return describe_order(event)
    if isinstance(event, LeverageChange):
        posted = (
            f" ({fmt_money(event.margin_added)} posted from your wallet)"
            if event.margin_added > 0
            else ""
        )
        return "info", (
            f"Leverage {event.market} ({event.mode.label}): {fmt_leverage(event.leverage_before)}"
            f" → {fmt_leverage(event.leverage)} · margin {fmt_money(event.margin)}{posted}"
        )
    assert isinstance(event, MarginTransfer)
    if event.amount >= 0:
        return "info", f"Added {fmt_money(event.amount)} margin to {event.market}"
    return "info", f"Removed {fmt_money(-event.amount)} margin from {event.market}"


def order_name(event: OrderEvent) -> str:
    """``Limit #3 BUY 0.1 BTC @ 95,000``, ``Stop market #7 SELL 0.1 BTC at 92,000``,
    ``Stop loss #8 for the whole BTC position at 92,000``."""
    kind = {"tp": "Take profit", "sl": "Stop loss"}.get(event.tpsl or "", event.order_type.label)
    if event.order_type is OrderType.LIMIT and event.price is not None:
        where = f" @ {fmt_price(event.price)}"
    elif event.trigger_price is not None:
        where = f" at {fmt_price(event.trigger_price)}"
    else:
        where = ""
    ref = event.price or event.trigger_price or event.mark_price or 1.0
    if event.tpsl:  # a position's TP/SL closes all of it, whatever its size then
        return f"{kind} #{event.order_id} for the whole {event.market} position{where}"
    size = fmt_size(event.size, ref)
    flags = " · reduce-only" if event.reduce_only else ""
    flags += " · post-only" if event.post_only else ""
    side = "BUY" if event.side is Side.LONG else "SELL"
    return f"{kind} #{event.order_id} {side} {size} {event.market}{where}{flags}"


def describe_order(event: OrderEvent) -> tuple[str, str]:
    """(level, text) for an order record: what happened to which order, and why."""
    name = order_name(event)
    mark = "" if event.mark_price is None else f" (mark {fmt_price(event.mark_price)})"
    if event.action == "placed":
        held = (
            f" · holds {fmt_money(event.reserved_margin)} margin" if event.reserved_margin else ""
        )
        return "info", f"Placed {name}{held}"
    if event.action == "triggered":
        return "info", f"Triggered {name}: {event.reason}"
    if event.action in ("filled", "partial"):
        size = fmt_size(event.filled_size, event.fill_price or 1.0)
        price = fmt_price(event.fill_price)
        verb = "Filled" if event.action == "filled" else "Part filled"
        why = f"; {event.reason}" if event.reason else ""
        if event.order_type is OrderType.LIMIT and not event.reason and event.action == "filled":
            why = "; the market reached its price"  # a resting limit, filled as a maker
        return "info", f"{verb} {name}: {size} @ {price}{mark}{why}"
    if event.action == "rejected":
        return "bad", f"Rejected {name} when it came to fill{mark}: {event.reason}"
    return "info", f"Cancelled {name}: {event.reason}"
