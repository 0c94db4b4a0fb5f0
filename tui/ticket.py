"""The trade ticket's figures, without Textual: an order as the trader wrote it, its preview,
what its fill costs, and the same order under the other venue.

Everything here reads the engine (previews, quotes, a copy of the account); nothing changes
it. The screens format what these functions return; they compute no margin of their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from tui.engine import (
    MarginMode,
    Market,
    OrderRejected,
    OrderType,
    PaperEngine,
    Preview,
    Side,
    Venue,
    venue_markets,
)
from tui.engine.orders import fires_down
from tui.format import fmt_leverage, fmt_money, fmt_pct, fmt_price, fmt_size


@dataclass(frozen=True)
class OrderTicket:
    """An order as the trader wrote it: a size in coins (``size``) or a USD notional (``usd``),
    leverage, margin mode (``None``: the screen's choice), and for orders beyond market the
    type, its ``price`` (limit) or ``trigger_price`` (stop, take-profit), the reduce-only and
    post-only flags and the take-profit / stop-loss to give the position when it fills.

    ``sized_at`` is the price a USD notional was turned into coins at (:meth:`fixed`): from
    then on ``size`` is fixed, and is what the confirmation shows and the engine fills.
    """

    market: str
    side: Side
    size: float | None = None
    usd: float | None = None
    leverage: float = 5.0
    mode: MarginMode | None = None
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    trigger_price: float | None = None
    reduce_only: bool = False
    post_only: bool = False
    take_profit: float | None = None
    stop_loss: float | None = None
    sized_at: float | None = None

    @property
    def level(self) -> float | None:
        """The price that makes the order execute: its limit price or its trigger."""
        return self.price if self.price is not None else self.trigger_price

    @property
    def plain(self) -> bool:
        """A market order with nothing else (the engine's ``open``)."""
        return (
            self.order_type is OrderType.MARKET
            and not self.reduce_only
            and self.take_profit is None
            and self.stop_loss is None
        )

    def resolved_size(self, mark: float | None) -> float | None:
        """Size in coins at ``mark`` (a USD notional divided by it); ``None`` without one.
        The confirmation uses :meth:`fixed` instead, which rounds to the market's size step."""
        if self.size is not None:
            return self.size
        if self.usd is None or mark is None or not mark > 0:
            return None
        return self.usd / mark

    def fixed(self, market: Market, mark: float | None) -> OrderTicket:
        """This ticket with its coin size fixed: a USD notional turned into coins at the
        order's own price (limit, trigger) or else ``mark``, on the market's size step (the
        engine's :meth:`Market.round_size`, so the size confirmed is the size filled). A coin
        size is kept as written (the engine rounds it, and the preview says so). Unchanged
        when there is no price to size it at."""
        if self.size is not None or self.usd is None:
            return self
        at = self.level if self.level is not None else mark
        if at is None or not at > 0 or not math.isfinite(self.usd / at):
            return self
        raw = self.usd / at
        size = market.round_size(raw) or raw  # below half a step: the engine says why
        return replace(self, size=size, sized_at=at)


def preview_on(engine: PaperEngine, t: OrderTicket, mode: MarginMode) -> Preview:
    """What ``engine`` would do with ticket ``t`` in ``mode``, changing nothing (a ticket
    without a coin size yet previews as a refusal)."""
    size = t.size if t.size is not None else math.nan
    if t.plain:
        return engine.preview(t.market, t.side, size, t.leverage, mode)
    return engine.preview_order(t.market, t.side, size, t.order_type, **order_fields(t, mode))


def order_fields(t: OrderTicket, mode: MarginMode) -> dict[str, Any]:
    """Ticket ``t``'s fields as ``place_order`` and ``preview_order`` take them, one rule for
    both (a reduce-only order carries no leverage or mode: it keeps the position's)."""
    return {
        "price": t.price,
        "trigger_price": t.trigger_price,
        "leverage": None if t.reduce_only else t.leverage,
        "mode": None if t.reduce_only else mode,
        "reduce_only": t.reduce_only,
        "post_only": t.post_only,
        "take_profit": t.take_profit,
        "stop_loss": t.stop_loss,
    }


# --------------------------------------------------------------------------- in words


def order_line(t: OrderTicket, p: Preview) -> str:
    """How the order will rest or fill, in one sentence."""
    level = t.level
    price = fmt_price(level, p.mark_price)
    flags = ""
    if t.reduce_only:
        flags += " Reduce-only: it only ever shrinks your position."
    if t.post_only:
        flags += " Post-only: it never takes liquidity."
    if t.order_type is OrderType.MARKET:
        return "Market order: fills now." + flags
    if t.order_type is OrderType.LIMIT:
        if not p.rests:
            return (
                f"Limit at {price} is marketable: it fills now, no worse than {price}; what "
                "the book lacks up to that price rests there." + flags
            )
        way = "down" if fires_down(t.order_type, t.side) else "up"
        held = (
            f", holding {fmt_money(p.reserved_margin)} of margin meanwhile"
            if p.reserved_margin
            else ""
        )
        return (
            f"Limit at {price}: rests until the market comes {way} to {price}, then fills "
            f"whole at {price} as a maker{held}." + flags
        )
    way = "falls" if fires_down(t.order_type, t.side) else "rises"
    what = "Stop market" if t.order_type is OrderType.STOP_MARKET else "Take-profit market"
    held = (
        f" It holds {fmt_money(p.reserved_margin)} of margin while it waits."
        if p.reserved_margin
        else ""
    )
    return (
        f"{what} at {price}: when the mark {way} to {price} it fills at market (the book "
        "then sets the price)." + held + flags
    )


def liquidation_text(p: Preview, t: OrderTicket, *, short: bool = False) -> str:
    """Where the position the order leaves would be liquidated, and how far that is from the
    mark (a resting order: from its own price, where the position would start). ``short``:
    without naming what the distance is measured from."""
    liq = p.liquidation_price
    if liq is None:
        return "none" if short else "none: no price can reach it"
    ref = t.level if p.rests and t.level is not None else p.mark_price
    where = "the mark" if ref == p.mark_price else f"its price {fmt_price(ref)}"
    if not ref > 0:
        return fmt_price(liq, p.mark_price)
    dist = abs(ref - liq) / ref
    side = "below" if liq < ref else "above"
    if short:
        return f"{fmt_price(liq, p.mark_price)} ({fmt_pct(dist, decimals=1)} {side})"
    return f"{fmt_price(liq, p.mark_price)} ({fmt_pct(dist, decimals=2)} {side} {where})"


# --------------------------------------------------------------------------- execution


@dataclass(frozen=True, slots=True)
class Execution:
    """What filling an order costs against the mark (docs/rules.md, "Fills against the book").

    ``cost`` = ``spread`` + ``impact``: what the fill pays against the mark, in money;
    ``slippage`` the fill price against the mark as a fraction (positive: against the
    trader). ``exit_cost`` is what closing the filled size straight away would cost at
    today's book (spread, impact and the taker fee), and ``round_trip`` the whole trip in and
    out (entry cost + entry fee + exit cost); both ``None`` for an order that opens nothing.
    ``exit_pricing`` says how the way out was priced (``book`` or ``mark``, as a quote).
    ``pricing`` is the preview's (``book``, ``mark``, ``stale``, ``far``, ``limit``) and
    ``how`` says in words how the fill was priced.
    """

    pricing: str
    how: str
    fill_price: float
    mark: float
    slippage: float
    spread: float
    impact: float
    fee: float
    filled: float
    size: float
    exit_cost: float | None
    round_trip: float | None
    exit_pricing: str = "mark"

    @property
    def cost(self) -> float:
        return self.spread + self.impact

    @property
    def part_fill(self) -> bool:
        """Only part of a taker order would fill now (the book runs out within the limit)."""
        return self.filled < self.size * (1 - 1e-9)


def _how(p: Preview, t: OrderTicket) -> str:
    if p.rests and t.order_type is OrderType.LIMIT:
        return "as a maker: no slippage"
    if p.rests:
        return "shown at the trigger: the book then sets the price"
    if p.pricing == "book":
        return "at today's order book"
    if p.pricing == "mark":
        return "no order book: at the mark"
    if p.pricing == "stale":
        return "the order book is stale: at the mark"
    if p.pricing == "far":
        return "the order book is far from the mark: at the mark"
    return "at its own price"


def execution(engine: PaperEngine, p: Preview, t: OrderTicket) -> Execution | None:
    """The cost of filling preview ``p`` of ticket ``t``; ``None`` for a refused order."""
    if not p.ok or not math.isfinite(p.size) or not p.size > 0:
        return None
    filled = p.filled_size if p.filled_size > 0 else p.size
    exit_cost: float | None = None
    round_trip: float | None = None
    exit_pricing = "mark"
    opens = p.kind in ("open", "add", "flip") and p.resulting_size > 0
    if opens:
        exit_size = filled - p.closed_size if p.kind == "flip" else filled
        try:
            quote = engine.quote(p.market, p.side.opposite, exit_size)
        except OrderRejected:
            quote = None
        if quote is not None and quote.filled > 0:
            exit_fee = quote.filled * quote.price * engine.market(p.market).taker_fee
            exit_cost = quote.spread_cost + quote.impact_cost + exit_fee
            exit_pricing = quote.pricing
            round_trip = p.spread_cost + p.impact_cost + p.fee + exit_cost
    return Execution(
        pricing=p.pricing,
        how=_how(p, t),
        fill_price=p.fill_price,
        mark=p.mark_price,
        slippage=p.slippage,
        spread=p.spread_cost,
        impact=p.impact_cost,
        fee=p.fee,
        filled=filled,
        size=p.size,
        exit_cost=exit_cost,
        round_trip=round_trip,
        exit_pricing=exit_pricing,
    )


# --------------------------------------------------------------------------- what changed


def add_difference(t: OrderTicket, p: Preview, engine: PaperEngine) -> str | None:
    """When an order adds to a position with another leverage or margin mode than the
    position's (an add always takes the position's), say so in words; else ``None``."""
    pos = engine.position(t.market)
    if pos is None or pos.side is not t.side or p.kind != "add" or not p.ok:
        return None
    other_lev = t.leverage != pos.leverage and not t.reduce_only
    other_mode = t.mode is not None and t.mode is not pos.mode
    if not (other_lev or other_mode):
        return None
    asked = " ".join(
        part
        for part in (
            fmt_leverage(t.leverage) if other_lev else "",
            t.mode.label if other_mode and t.mode is not None else "",
        )
        if part
    )
    return (
        f"You asked for {asked}, but your {pos.market} {pos.side.value} is "
        f"{fmt_leverage(pos.leverage)} {pos.mode.label}, and an add takes the position's "
        f"leverage and mode: this adds {fmt_size(p.size, p.mark_price)} {pos.market} at "
        f"{fmt_leverage(pos.leverage)} {pos.mode.label}. To trade at {asked}, close the "
        "position first (or use L to change its leverage)."
    )


def _step(step: float) -> str:
    """A size step as people write it: 0.00001, not 1e-05."""
    return f"{step:.10f}".rstrip("0").rstrip(".") if step < 1 else f"{step:g}"


def size_note(t: OrderTicket, p: Preview, market: Market) -> str | None:
    """Say how the size was fixed or rounded to the market's size step; ``None`` when the
    size is exactly as written."""
    if not math.isfinite(p.size):
        return None
    ref = p.mark_price
    step = market.size_step
    step_text = f" ({market.name} trades in steps of {_step(step)})" if step else ""
    if t.usd is not None and t.sized_at is not None:
        return (
            f"${t.usd:,.2f} at {fmt_price(t.sized_at)} is {fmt_size(p.size, ref)} "
            f"{market.name}{step_text}: this size is fixed while you review, and is what fills."
        )
    if p.rounded:
        way = "up" if p.size > p.requested_size else "down"
        return (
            f"Size rounded {way} from {p.requested_size:g} to {p.size:g} {market.name}{step_text}."
        )
    return None


# --------------------------------------------------------------------------- two venues


@cache
def _venue_catalogue(venue: Venue) -> tuple[Market, ...]:
    return tuple(venue_markets(venue))


@dataclass(frozen=True, slots=True)
class VenueRow:
    """One line of the comparison: what, here, there, and whether they differ."""

    label: str
    here: str
    there: str

    @property
    def differs(self) -> bool:
        return self.here != self.there


@dataclass(frozen=True)
class VenueComparison:
    """The same order in ``mode`` under the account's venue (``here``) and the other one
    (``there``). ``problem`` says why there is nothing to compare (the other venue does not
    list the market); ``notes`` what to know when reading it."""

    here: Venue
    there: Venue
    mode: MarginMode
    rows: list[VenueRow] = field(default_factory=list)
    rejection_here: str | None = None
    rejection_there: str | None = None
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


def engine_under(
    engine: PaperEngine, venue: Venue, clock: Callable[[], float] = time.time
) -> tuple[PaperEngine, list[str]]:
    """A copy of ``engine``'s account under ``venue``'s rules and tables (its positions,
    orders and marks; books are not copied). Markets the venue does not list keep their
    current table; the second value names them."""
    catalogue = {m.name: m for m in _venue_catalogue(venue)}
    kept = [name for name in engine.markets if name not in catalogue]
    markets = [catalogue.get(name) or engine.market(name) for name in engine.markets]
    state = engine.to_state()
    state["venue"] = venue.value
    copy = PaperEngine.from_state(state, markets, clock=clock)
    copy.set_execution(book_max_age=engine.book_max_age)
    return copy, kept


def _figures(p: Preview, t: OrderTicket, market: Market) -> list[tuple[str, str]]:
    mark = p.mark_price
    liq = p.liquidation_price
    left = p.left_after_liquidation
    maker = p.rests and t.order_type is OrderType.LIMIT
    rate, kind = (market.maker_fee, "maker") if maker else (market.taker_fee, "taker")
    if not p.ok:
        return [("Size", f"{fmt_size(p.size, mark)} {p.market}")] + [
            (label, "—")
            for label in (
                "Liquidation",
                "Initial margin",
                "Fee",
                "Maintenance",
                "Max leverage",
                "Left if liquidated",
            )
        ]
    return [
        ("Size", f"{fmt_size(p.size, mark)} {p.market}"),
        ("Liquidation", liquidation_text(p, t, short=True)),
        ("Initial margin", fmt_money(p.margin_required)),
        ("Fee", f"{fmt_money(p.fee)} ({rate * 100:.3g} % {kind})"),
        ("Maintenance", fmt_money(p.maintenance_margin)),
        ("Max leverage", fmt_leverage(p.max_leverage)),
        ("Left if liquidated", "no liquidation" if liq is None else fmt_money(left)),
    ]


def compare_venues(
    engine: PaperEngine,
    t: OrderTicket,
    mode: MarginMode,
    clock: Callable[[], float] = time.time,
) -> VenueComparison:
    """Ticket ``t`` in ``mode`` under the account's venue and under the other one, on a copy
    of the account (the same positions, orders, marks and, for the order's market, book)."""
    here = engine.venue
    there = Venue.BINANCE if here is Venue.HYPERLIQUID else Venue.HYPERLIQUID
    out = VenueComparison(here=here, there=there, mode=mode)
    if t.market not in {m.name for m in _venue_catalogue(there)}:
        return replace(
            out, problem=f"{there.label} does not list {t.market}: there is nothing to compare."
        )
    mine = preview_on(engine, t, mode)
    try:
        other, kept = engine_under(engine, there, clock)
    except (OrderRejected, ValueError, KeyError) as exc:
        return replace(out, problem=f"This account cannot be rebuilt under {there.label}: {exc}")
    other.set_execution(
        slippage_limit=engine.slippage_limit(t.market), market=t.market
    )  # the same reach into the book
    book = engine.book(t.market)
    if book is not None and mine.pricing == "book":
        other.set_book(t.market, book.bids, book.asks)
    theirs = preview_on(other, t, mode)
    rows = [
        VenueRow(label, a, b)
        for (label, a), (_, b) in zip(
            _figures(mine, t, engine.market(t.market)),
            _figures(theirs, t, other.market(t.market)),
            strict=True,
        )
    ]
    notes = [
        f"Fees: {here.label} as your settings give them, {there.label} its base tier; each "
        "venue's own margin table, size step and minimum order."
    ]
    held = {p.market for p in engine.positions()} | {o.market for o in engine.open_orders()}
    kept = [name for name in kept if name in held]
    if kept:
        notes.append(
            f"{', '.join(kept)}: not listed on {there.label}, kept on {here.label}'s table."
        )
    notes.append(
        "A Hyperliquid liquidation closes at market and leaves you the rest; Binance's takes "
        "all that was at stake."
    )
    return replace(
        out,
        rows=rows,
        rejection_here=mine.rejection,
        rejection_there=theirs.rejection,
        notes=notes,
    )


def side_word(side: Side) -> str:
    """BUY or SELL: how an order (not a position) is named."""
    return "BUY" if side is Side.LONG else "SELL"
