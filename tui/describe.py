"""One-line descriptions of engine events for the event log (pure, no UI imports)."""

from __future__ import annotations

from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    LeverageChange,
    Liquidation,
    MarginMode,
    MarginTransfer,
    OrderEvent,
    OrderType,
    Side,
    Venue,
)
from tui.format import fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size

# Levels: "info", "good", "bad", "alert" (the log colours them).


def position_side(fill: Fill) -> Side:
    """The side of the position a fill acted on (a reduce is an order against it)."""
    return fill.side if fill.kind in ("open", "add") else fill.side.opposite


def describe(event: Event, by: OrderEvent | None = None) -> tuple[str, str]:
    """(level, text) for one engine event. ``by``: for a fill, the record of the order that
    made it (a resting limit, a fired stop), named at the end of the line."""
    if isinstance(event, Fill) and by is not None:
        level, text = describe(event)
        return level, f"{text} · {fill_cause(by, event)}"
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
        return "alert", describe_liquidation(event)
    if isinstance(event, FundingPayment):
        verb = "paid" if event.payment > 0 else "received"
        return ("bad" if event.payment > 0 else "good"), (
            f"Funding {event.market}: {verb} {fmt_money(abs(event.payment))} "
            f"(rate {fmt_pct(event.rate, signed=True, decimals=4)}/h)"
        )
    if isinstance(event, OrderEvent):
        return describe_order(event)
    if isinstance(event, LeverageChange):
        return "info", describe_leverage(event)
    assert isinstance(event, MarginTransfer)
    if event.amount >= 0:
        return "info", f"Added {fmt_money(event.amount)} margin to {event.market}"
    return "info", f"Removed {fmt_money(-event.amount)} margin from {event.market}"


def describe_leverage(change: LeverageChange) -> str:
    """``BTC leverage 10x → 5x (Isolated): margin 2,000.00 (1,000.00 posted from your wallet),
    liquidation 81,012.7.`` (a record from before the liquidation price was kept: without
    it)."""
    posted = (
        f" ({fmt_money(change.margin_added)} posted from your wallet)"
        if change.margin_added > 0
        else ""
    )
    liquidation = ""
    if change.mark_price > 0:
        liq = change.liquidation_price or None
        liquidation = f", liquidation {fmt_price(liq, change.mark_price)}"
    return (
        f"{change.market} leverage {fmt_leverage(change.leverage_before)} → "
        f"{fmt_leverage(change.leverage)} ({change.mode.label}): margin "
        f"{fmt_money(change.margin)}{posted}{liquidation}."
    )


def describe_liquidation(liq: Liquidation) -> str:
    """The event-log line of a liquidation record: what was closed, at which mark, what was
    lost, and the venue's outcome with its figures (:func:`liquidation_outcome`)."""
    ref = liq.mark_price
    size = fmt_size(liq.size, ref)
    if liq.remaining_size > 0.0:  # part of it stays open
        size = f"{size} of {fmt_size(liq.size + liq.remaining_size, ref)}"
    return (
        f"LIQUIDATED {liq.side.value.upper()} {size} {liq.market} ({liq.mode.label}) at "
        f"{fmt_price(ref)} · lost {fmt_money(liq.margin_lost)} · {liquidation_outcome(liq)}"
    )


def liquidation_toast(liq: Liquidation) -> str:
    """The short form for a toast (the event log has the whole story): ``LIQUIDATED BTC long
    0.1 (Isolated) at 91,100.0, closed at market: lost 891.50, 108.50 back to your wallet.``"""
    ref = liq.mark_price
    size = fmt_size(liq.size, ref)
    if liq.remaining_size > 0.0:
        size = f"{size} of {fmt_size(liq.size + liq.remaining_size, ref)}"
    what = f"LIQUIDATED {liq.market} {liq.side.value} {size} ({liq.mode.label}) at {fmt_price(ref)}"
    lost = f"lost {fmt_money(liq.margin_lost)}"
    if liq.outcome == "forfeit":
        return f"{what}: {lost}, forfeited."
    if liq.outcome == "backstop":
        return f"{what}, taken by the backstop: {lost}."
    left = f"{fmt_size(liq.remaining_size, ref)} stays open"
    if liq.outcome == "partial":
        return f"{what}, a 20% slice: {lost}; {left}."
    if liq.remaining_size > 0.0:
        return f"{what}, all the book took: {lost}; {left}, waiting."
    back = ""
    if liq.returned >= 0.005:
        back = (
            f", {fmt_money(liq.returned)} back to your wallet"
            if liq.mode is MarginMode.ISOLATED
            else f", the cross account keeps {fmt_money(liq.returned)}"
        )
    return f"{what}, closed at market: {lost}{back}."


def _venue_name(liq: Liquidation) -> str:
    """The venue whose rules the liquidation followed ("" in a record from before venues)."""
    try:
        return Venue.parse(liq.venue).label if liq.venue else ""
    except ValueError:
        return ""


def _fill_at(liq: Liquidation) -> str:
    """``at 91,085.0 (1.50 worse than the mark)``, or ``at the mark`` (and why not the book)."""
    if liq.pricing == "book":
        cost = liq.execution_cost
        if cost >= 0.005:
            versus = f" ({fmt_money(cost)} worse than the mark)"
        elif cost <= -0.005:  # bids above the mark (asks below it): better than the mark
            versus = f" ({fmt_money(-cost)} better than the mark)"
        else:
            versus = ""
        return f"at {fmt_price(liq.exit_price, liq.mark_price)}{versus}"
    why = {
        "stale": " (the book was too old to use)",
        "far": " (the book was too far from the mark to use)",
    }.get(liq.pricing, "")
    return f"at the mark{why}"


def _how_closed(liq: Liquidation) -> str:
    """``through the book at 91,085.0 (1.50 worse than the mark)`` or ``at the mark``."""
    at = _fill_at(liq)
    return f"through the book {at}" if liq.pricing == "book" else at


def liquidation_outcome(liq: Liquidation) -> str:
    """What the venue did with a liquidated position, with its figures (docs/rules.md, "What a
    liquidation takes"): what closed and how (through the book or at the mark), what stayed
    open, what went back to the trader, what the backstop or a forfeit took.

    One clause without a final full stop, for the event log and the post-mortem alike."""
    venue = _venue_name(liq)
    who = venue or "The venue"
    ref = liq.mark_price
    cross = liq.mode is MarginMode.CROSS
    pnl = f"PnL {fmt_money(liq.realized_pnl, signed=True)}"
    debt = (
        f"; {fmt_money(-liq.forfeited)} of debt past the cross balance was written off"
        if liq.forfeited <= -0.005
        else ""
    )
    if liq.outcome == "forfeit":
        rules = f"{venue} rules: " if venue else ""
        if cross:
            return (
                f"{rules}every cross position closed at its mark and the whole cross balance "
                f"went with them ({fmt_money(liq.margin_lost)} of it on this position){debt}"
            )
        return (
            f"{rules}closed at the mark; its whole margin {fmt_money(liq.margin_lost)} is forfeited"
        )
    if liq.outcome == "backstop":
        if cross:
            return (
                f"the cross account was below two thirds of maintenance: {who}'s backstop took "
                f"every cross position and the whole cross balance "
                f"({fmt_money(liq.margin_lost)} of it on this position){debt}"
            )
        return (
            f"equity was below two thirds of maintenance: {who}'s backstop took the position "
            f"and all {fmt_money(liq.margin_lost)} of its margin"
        )
    how = _how_closed(liq)
    left = fmt_size(liq.remaining_size, ref)
    stays = f"{left} {liq.market} stays open" + ("" if cross else " with its margin")
    if liq.outcome == "partial":
        asked = liq.size + liq.unfilled
        took = (
            f"sent a 20% slice of {fmt_size(asked, ref)} to the book, which took "
            f"{fmt_size(liq.size, ref)} {_fill_at(liq)}"
            if liq.unfilled > 0.0
            else f"closed a 20% slice at market, {how}"
        )
        return (
            f"{who} {took}: {pnl}; {stays} (for 30 s any further liquidation takes the whole "
            "position)"
        )
    if liq.remaining_size > 0.0:  # the book could not take the whole market order
        return (
            f"{who} sent a market order for the whole position; the book took "
            f"{fmt_size(liq.size, ref)} {_fill_at(liq)}: {pnl}; {stays}, tried again on the "
            "next mark or book while below maintenance"
        )
    if cross:
        kept = (
            f"the cross account keeps what is left, {fmt_money(liq.returned)} of it for this "
            "position"
            if liq.returned >= 0.005
            else "what is left of the cross balance stays with you"
        )
        return f"{who} closed it at market, {how}: {pnl}; {kept}"
    stake = f" of its {fmt_money(liq.margin)} margin" if liq.margin > 0.0 else ""
    if liq.returned >= 0.005:
        back = f"{fmt_money(liq.returned)}{stake} went back to your wallet"
    else:
        back = f"nothing{stake} was left to go back to your wallet"
    return f"{who} closed it at market, {how}: {pnl}; {back}"


def fill_cause(order: OrderEvent, fill: Fill) -> str:
    """What made ``fill`` happen, for the end of its log line: "by Limit #3 (rested, maker
    fee)", "by Stop loss #7 (fired at mark 91,990.0)"."""
    kind = {"tp": "Take profit", "sl": "Stop loss"}.get(order.tpsl or "", order.order_type.label)
    if order.order_type is OrderType.LIMIT:
        how = "rested, maker fee" if fill.pricing == "limit" else "marketable: taker at once"
        return f"by {kind} #{order.order_id} ({how})"
    if order.order_type.is_trigger and order.mark_price is not None:
        return f"by {kind} #{order.order_id} (fired at mark {fmt_price(order.mark_price)})"
    return f"by {kind} #{order.order_id}"


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
    reason = event.reason or ""
    if reason.startswith("cancelled by "):  # not "Cancelled ...: cancelled by you"
        return "info", f"Cancelled {name} {reason.removeprefix('cancelled ')}"
    return "info", f"Cancelled {name}: {reason}"
