"""What happened in a practice season, computed from the engine's records (pure functions).

Everything here reads a sequence of engine events (:class:`~tui.engine.Fill`,
:class:`~tui.engine.Liquidation`, :class:`~tui.engine.FundingPayment`,
:class:`~tui.engine.MarginTransfer`, :class:`~tui.engine.OrderEvent`), usually
``engine.events`` of a journalled engine:

- :func:`closed_positions`: round trips, from the fill that opened a position to the fill (or
  liquidation) that closed it, with realized PnL, fees, funding and duration;
- :func:`practice_stats`: realized PnL, fees, funding paid and received, win rate, largest loss,
  liquidations and what execution cost (spread, impact, fees), overall and by margin mode;
- :func:`post_mortems`: one line per liquidation, with what the other margin mode would have
  risked (margin maths from :mod:`tui.engine.margin` only);
- :func:`order_history`: one row per order (limit, stop, take-profit, a position's TP/SL): what
  it was, when it was placed, how it ended; :func:`order_events` lists the order records;
- :func:`export_csv`: any of these tables as a CSV file.

These read every record they are given. The journal keeps the same figures record by record
instead (:class:`TripBook`, :class:`StatsBook`, :func:`order_step`, :func:`export_row` and
:func:`write_csv` are the pieces it shares), so a screen never reads a whole season; the
full-scan functions stay as the reference its tests compare against.

No UI imports: the history screen renders what these functions return.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from tui.describe import liquidation_outcome
from tui.engine import PaperEngine
from tui.engine import margin as mg
from tui.engine.models import (
    Event,
    Fill,
    FundingPayment,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    OrderEvent,
    OrderType,
    Side,
)
from tui.format import DASH, fmt_money, fmt_price, fmt_size

# --------------------------------------------------------------------------- closed positions


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """One round trip in a market: opened, maybe added to or reduced, then closed or liquidated.

    ``realized_pnl`` is the price PnL the engine realized (``s * q * (exit - entry)`` summed, or
    what the liquidation realized). ``forfeited`` is what a liquidation took beyond that realized
    loss (the rest of the margin). ``net_pnl`` is what the round trip did to the account.
    """

    market: str
    side: Side  # the position's side
    mode: MarginMode
    leverage: float
    size: float  # the largest size held
    entry_price: float  # size-weighted average of the opening fills
    exit_price: float  # size-weighted average of the closing fills (or the liquidation mark)
    opened_at: float
    closed_at: float
    realized_pnl: float
    fees: float
    funding: float  # net funding paid (> 0) or received (< 0) while open
    forfeited: float
    liquidated: bool
    margin_lost: float  # the liquidation's margin lost; 0 when closed by the trader
    fills: int  # fills in the round trip (a liquidation is not a fill)

    @property
    def net_pnl(self) -> float:
        return self.realized_pnl - self.fees - self.funding - self.forfeited

    @property
    def duration(self) -> float:
        return self.closed_at - self.opened_at

    @property
    def won(self) -> bool:
        """A win is a round trip whose net PnL (after fees, funding, forfeits) is above zero."""
        return self.net_pnl > 0


@dataclass(slots=True)
class OpenTrip:
    """A round trip still open while the records are read (the journal saves these between
    launches, so a round trip keeps its figures across a restart)."""

    market: str
    side: Side
    mode: MarginMode
    leverage: float
    opened_at: float
    size: float = 0.0
    max_size: float = 0.0
    entry_cost: float = 0.0
    entry_q: float = 0.0
    exit_cost: float = 0.0
    exit_q: float = 0.0
    realized: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    fills: int = 0

    @classmethod
    def opened_by(cls, fill: Fill) -> OpenTrip:
        return cls(fill.market, fill.side, fill.mode, fill.leverage, fill.time)

    @classmethod
    def unknown_open(
        cls,
        market: str,
        side: Side,
        mode: MarginMode,
        leverage: float,
        opened_at: float,
        size: float,
        entry: float,
    ) -> OpenTrip:
        """A position whose opening fill is not in the events (a history that starts later)."""
        trip = cls(market, side, mode, leverage, opened_at)
        trip.size = trip.max_size = trip.entry_q = size
        trip.entry_cost = size * entry
        return trip

    def grow(self, fill: Fill) -> None:
        self.size += fill.size
        self.max_size = max(self.max_size, self.size)
        self.entry_cost += fill.size * fill.price
        self.entry_q += fill.size
        self.fees += fill.fee
        self.fills += 1

    def shrink(self, size: float, price: float, realized: float, fee: float) -> None:
        self.size = max(self.size - size, 0.0)
        self.exit_cost += size * price
        self.exit_q += size
        self.realized += realized
        self.fees += fee

    def finish(
        self, closed_at: float, *, forfeited: float = 0.0, margin_lost: float = 0.0, liq: bool
    ) -> ClosedPosition:
        return ClosedPosition(
            market=self.market,
            side=self.side,
            mode=self.mode,
            leverage=self.leverage,
            size=self.max_size,
            entry_price=self.entry_cost / self.entry_q if self.entry_q else math.nan,
            exit_price=self.exit_cost / self.exit_q if self.exit_q else math.nan,
            opened_at=self.opened_at,
            closed_at=closed_at,
            realized_pnl=self.realized,
            fees=self.fees,
            funding=self.funding,
            forfeited=forfeited,
            liquidated=liq,
            margin_lost=margin_lost,
            fills=self.fills,
        )


class TripBook:
    """Round trips built record by record: :meth:`feed` each record in order; it returns the
    round trip a record ended. ``open`` holds those still open, by market."""

    def __init__(self, open_trips: Mapping[str, OpenTrip] | None = None) -> None:
        self.open: dict[str, OpenTrip] = dict(open_trips or {})

    def feed(self, event: Event) -> ClosedPosition | None:
        open_ = self.open
        if isinstance(event, Fill):
            trip = open_.get(event.market)
            if event.kind in ("open", "add"):
                if trip is None or event.kind == "open":
                    trip = open_[event.market] = OpenTrip.opened_by(event)
                trip.grow(event)
                return None
            if trip is None:  # closing a position opened before these events
                side = event.side.opposite
                entry = event.price - event.realized_pnl / (side.sign * event.size)
                trip = open_[event.market] = OpenTrip.unknown_open(
                    event.market, side, event.mode, event.leverage, event.time, event.size, entry
                )
            trip.shrink(event.size, event.price, event.realized_pnl, event.fee)
            trip.fills += 1
            if event.kind == "close":
                del open_[event.market]
                return trip.finish(event.time, liq=False)
        elif isinstance(event, Liquidation):
            trip = open_.pop(event.market, None)
            if trip is None:
                trip = OpenTrip.unknown_open(
                    event.market,
                    event.side,
                    event.mode,
                    event.leverage,
                    event.opened_at,
                    event.size,
                    event.entry_price,
                )
            trip.shrink(event.size, event.mark_price, event.realized_pnl, 0.0)
            return trip.finish(
                event.time, forfeited=event.forfeited, margin_lost=event.margin_lost, liq=True
            )
        elif isinstance(event, FundingPayment):
            funded = open_.get(event.market)
            if funded is not None:
                funded.funding += event.payment
        return None


def closed_positions(events: Iterable[Event]) -> list[ClosedPosition]:
    """Every round trip that ended, in the order they ended.

    A flip (an order larger than the position) ends one round trip and starts the next. A
    position still open at the end of ``events`` is not included.
    """
    book = TripBook()
    return [trip for event in events if (trip := book.feed(event)) is not None]


# --------------------------------------------------------------------------- practice stats


@dataclass(frozen=True, slots=True)
class Stats:
    """Practice figures over a set of events (all of them, or one margin mode's).

    ``funding_received`` is a positive amount. ``largest_loss`` is the worst closed round trip's
    net loss as a positive amount (0 when none lost money). ``liquidations`` counts liquidation
    events (a cross liquidation closing three positions counts once);
    ``positions_liquidated`` counts the positions they closed. ``wins`` counts round trips won
    net of fees and funding, ``gross_wins`` those whose realized PnL before fees was above zero.

    ``spread_cost`` and ``impact_cost`` are what the fills paid against the mark (each
    :class:`~tui.engine.Fill`'s own split: up to the best level, and beyond it walking the
    book). They are inside the fill prices, so inside ``realized_pnl`` already; fees are
    charged on top. :attr:`execution_cost` is the three together.
    """

    realized_pnl: float = 0.0
    fees_paid: float = 0.0
    funding_paid: float = 0.0
    funding_received: float = 0.0
    forfeited: float = 0.0
    margin_lost: float = 0.0
    closed_positions: int = 0
    wins: int = 0
    largest_loss: float = 0.0
    liquidations: int = 0
    positions_liquidated: int = 0
    spread_cost: float = 0.0
    impact_cost: float = 0.0
    gross_wins: int = 0

    @property
    def execution_cost(self) -> float:
        """Spread, impact and fees paid by the fills."""
        return self.spread_cost + self.impact_cost + self.fees_paid

    @property
    def net_funding(self) -> float:
        """Funding paid minus received (the account's ``funding_paid``)."""
        return self.funding_paid - self.funding_received

    @property
    def net_pnl(self) -> float:
        """What trading did to the account apart from open positions' unrealized PnL."""
        return self.realized_pnl - self.fees_paid - self.net_funding - self.forfeited

    @property
    def losses(self) -> int:
        return self.closed_positions - self.wins

    @property
    def win_rate(self) -> float | None:
        """Share of closed round trips that won net of fees and funding (None before the
        first one closes)."""
        return self.wins / self.closed_positions if self.closed_positions else None

    @property
    def gross_win_rate(self) -> float | None:
        """Share of closed round trips whose realized PnL before fees was above zero."""
        return self.gross_wins / self.closed_positions if self.closed_positions else None


@dataclass(frozen=True, slots=True)
class PracticeStats:
    overall: Stats
    isolated: Stats
    cross: Stats

    @property
    def by_mode(self) -> dict[MarginMode, Stats]:
        return {MarginMode.ISOLATED: self.isolated, MarginMode.CROSS: self.cross}


class _Tally:
    def __init__(self) -> None:
        self.realized: list[float] = []
        self.fees: list[float] = []
        self.paid: list[float] = []
        self.received: list[float] = []
        self.forfeited: list[float] = []
        self.lost: list[float] = []
        self.spread: list[float] = []
        self.impact: list[float] = []
        self.groups: set[int] = set()
        self.positions_liquidated = 0

    def stats(self, closed: Sequence[ClosedPosition]) -> Stats:
        worst = min((trip.net_pnl for trip in closed), default=0.0)
        return Stats(
            realized_pnl=math.fsum(self.realized),
            fees_paid=math.fsum(self.fees),
            funding_paid=math.fsum(self.paid),
            funding_received=math.fsum(self.received),
            forfeited=math.fsum(self.forfeited),
            margin_lost=math.fsum(self.lost),
            closed_positions=len(closed),
            wins=sum(1 for trip in closed if trip.won),
            largest_loss=max(-worst, 0.0),
            liquidations=len(self.groups),
            positions_liquidated=self.positions_liquidated,
            spread_cost=math.fsum(self.spread),
            impact_cost=math.fsum(self.impact),
            gross_wins=sum(1 for trip in closed if trip.realized_pnl > 0),
        )


def practice_stats(events: Sequence[Event]) -> PracticeStats:
    """Practice figures overall and by margin mode.

    The overall realized PnL, fees, net funding and forfeits equal the engine's
    :class:`~tui.engine.AccountView` figures when ``events`` is the whole season.
    """
    tallies = {MarginMode.ISOLATED: _Tally(), MarginMode.CROSS: _Tally()}
    overall = _Tally()
    for event in events:
        if not isinstance(event, Fill | Liquidation | FundingPayment):
            continue  # margin transfers and order records move no money of their own
        for tally in (overall, tallies[event.mode]):
            if isinstance(event, Fill):
                tally.realized.append(event.realized_pnl)
                tally.fees.append(event.fee)
                tally.spread.append(event.spread_cost)
                tally.impact.append(event.impact_cost)
            elif isinstance(event, Liquidation):
                tally.realized.append(event.realized_pnl)
                tally.forfeited.append(event.forfeited)
                tally.lost.append(event.margin_lost)
                tally.groups.add(event.group)
                tally.positions_liquidated += 1
            elif event.payment >= 0:
                tally.paid.append(event.payment)
            else:
                tally.received.append(-event.payment)
    closed = closed_positions(events)
    return PracticeStats(
        overall=overall.stats(closed),
        isolated=tallies[MarginMode.ISOLATED].stats(
            [t for t in closed if t.mode is MarginMode.ISOLATED]
        ),
        cross=tallies[MarginMode.CROSS].stats([t for t in closed if t.mode is MarginMode.CROSS]),
    )


def add_exactly(partials: list[float], x: float) -> None:
    """Add ``x`` to a running sum kept exactly as non-overlapping ``partials`` (Shewchuk's
    algorithm, what :func:`math.fsum` keeps inside): ``math.fsum(partials)`` is then the
    correctly rounded sum of everything added, equal to ``math.fsum`` of all the values."""
    i = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo:
            partials[i] = lo
            i += 1
        x = hi
    partials[i:] = [x]


STAT_SUMS = ("realized", "fees", "paid", "received", "forfeited", "lost", "spread", "impact")


@dataclass(slots=True)
class RunningTally:
    """One column of :class:`PracticeStats` kept record by record (see :class:`StatsBook`).
    ``sums`` holds the exact partials of each sum in :data:`STAT_SUMS`; ``last_group`` is the
    latest liquidation's group (the engine numbers groups in increasing order, so a group not
    seen last is a new liquidation); ``worst`` is the lowest net result of a closed round trip,
    or 0."""

    sums: dict[str, list[float]]
    last_group: int | None = None
    liquidations: int = 0
    positions_liquidated: int = 0
    closed: int = 0
    wins: int = 0
    worst: float = 0.0
    gross_wins: int = 0

    @classmethod
    def empty(cls) -> RunningTally:
        return cls({name: [] for name in STAT_SUMS})

    def add(self, name: str, x: float) -> None:
        add_exactly(self.sums[name], x)

    def stats(self) -> Stats:
        total = {name: math.fsum(self.sums[name]) for name in STAT_SUMS}
        return Stats(
            realized_pnl=total["realized"],
            fees_paid=total["fees"],
            funding_paid=total["paid"],
            funding_received=total["received"],
            forfeited=total["forfeited"],
            margin_lost=total["lost"],
            closed_positions=self.closed,
            wins=self.wins,
            largest_loss=max(-self.worst, 0.0),
            liquidations=self.liquidations,
            positions_liquidated=self.positions_liquidated,
            spread_cost=total["spread"],
            impact_cost=total["impact"],
            gross_wins=self.gross_wins,
        )


class StatsBook:
    """:func:`practice_stats` kept up to date one record at a time, so the journal never
    reads the whole season to show them: :meth:`feed` each record in order and each round trip
    that ends (:class:`TripBook`) to :meth:`close`; :meth:`stats` gives the same figures as
    :func:`practice_stats` over the same records (exactly: sums are kept exact)."""

    def __init__(self, tallies: Mapping[str, RunningTally] | None = None) -> None:
        self.tallies: dict[str, RunningTally] = (
            dict(tallies)
            if tallies is not None
            else {key: RunningTally.empty() for key in ("overall", *MODE_KEYS)}
        )

    def feed(self, event: Event) -> None:
        if not isinstance(event, Fill | Liquidation | FundingPayment):
            return  # margin transfers and order records move no money of their own
        for tally in (self.tallies["overall"], self.tallies[event.mode.value]):
            if isinstance(event, Fill):
                tally.add("realized", event.realized_pnl)
                tally.add("fees", event.fee)
                tally.add("spread", event.spread_cost)
                tally.add("impact", event.impact_cost)
            elif isinstance(event, Liquidation):
                tally.add("realized", event.realized_pnl)
                tally.add("forfeited", event.forfeited)
                tally.add("lost", event.margin_lost)
                if event.group != tally.last_group:
                    tally.liquidations += 1
                    tally.last_group = event.group
                tally.positions_liquidated += 1
            elif event.payment >= 0:
                tally.add("paid", event.payment)
            else:
                tally.add("received", -event.payment)

    def close(self, trip: ClosedPosition) -> None:
        for tally in (self.tallies["overall"], self.tallies[trip.mode.value]):
            tally.closed += 1
            tally.wins += trip.won
            tally.gross_wins += trip.realized_pnl > 0
            tally.worst = min(tally.worst, trip.net_pnl)

    def stats(self) -> PracticeStats:
        return PracticeStats(
            overall=self.tallies["overall"].stats(),
            isolated=self.tallies[MarginMode.ISOLATED.value].stats(),
            cross=self.tallies[MarginMode.CROSS.value].stats(),
        )


MODE_KEYS = tuple(mode.value for mode in MarginMode)


# --------------------------------------------------------------------------- post-mortems


@dataclass(frozen=True, slots=True)
class AccountAt:
    """The account just after an event, as the journal recorded it.

    ``wallet`` is ``W``; ``cross_excess`` is ``W + sum(u - MM)`` over the cross positions then
    open (the cross account is liquidated when it reaches 0).
    """

    wallet: float
    cross_excess: float


def account_at(engine: PaperEngine) -> AccountAt:
    """The wallet and cross excess (``W + sum(u - MM)`` of cross positions) right now."""
    account = engine.account
    return AccountAt(
        wallet=account.wallet_balance,
        cross_excess=account.cross_account_value - account.cross_maintenance_margin,
    )


@dataclass(frozen=True, slots=True)
class PostMortem:
    """One liquidation explained: the venue's outcome, and what the other margin mode would
    have risked.

    ``liquidation_price`` is the position's liquidation price at the time in its own mode.
    ``isolated_loss`` is what the position would have at stake in Isolated at the same size and
    leverage (its margin, which Binance forfeits; Hyperliquid returns what a close at market
    leaves); for an isolated liquidation, what it actually lost. ``cross_loss`` is the whole
    cross balance, which a Cross liquidation puts at stake (for a cross liquidation, the
    position's share actually lost). ``cross_loss`` and
    ``cross_liquidation_price`` are None when the account at the time is unknown.
    ``*_liquidated`` say whether that mode would have been liquidated at this mark too.
    """

    liquidation: Liquidation
    liquidation_price: float | None
    isolated_liquidation_price: float | None
    isolated_loss: float
    isolated_liquidated: bool
    cross_liquidation_price: float | None
    cross_loss: float | None
    cross_liquidated: bool | None

    @property
    def market(self) -> str:
        return self.liquidation.market

    @property
    def mode(self) -> MarginMode:
        return self.liquidation.mode

    @property
    def time(self) -> float:
        return self.liquidation.time

    @property
    def entry_price(self) -> float:
        return self.liquidation.entry_price

    @property
    def mark_price(self) -> float:
        return self.liquidation.mark_price

    @property
    def margin_lost(self) -> float:
        return self.liquidation.margin_lost

    @property
    def duration(self) -> float:
        """Seconds from opening the position to its liquidation."""
        return max(self.liquidation.time - self.liquidation.opened_at, 0.0)

    @property
    def outcome(self) -> str:
        """What the venue did, with its figures (:func:`tui.describe.liquidation_outcome`), as
        a sentence."""
        text = liquidation_outcome(self.liquidation)
        return f"{text[:1].upper()}{text[1:]}."

    @property
    def line(self) -> str:
        """The post-mortem as a few sentences for the history screen: the position, the
        venue's outcome, and the other margin mode."""
        liq = self.liquidation
        ref = liq.entry_price
        size = fmt_size(liq.size, ref)
        if liq.remaining_size > 0.0:
            size = f"{size} of {fmt_size(liq.size + liq.remaining_size, ref)}"
        head = (
            f"{liq.market} {liq.side.value} {size} at {liq.leverage:g}x "
            f"{liq.mode.label}: entry {fmt_price(liq.entry_price, ref)}, liquidation price "
            f"{fmt_price(self.liquidation_price, ref)}, mark {fmt_price(liq.mark_price, ref)}; "
            f"lost {fmt_money(liq.margin_lost)} after {format_duration(self.duration)}. "
            f"{self.outcome}"
        )
        hyperliquid = liq.venue == "hyperliquid"
        if liq.mode is MarginMode.CROSS:
            iso = fmt_price(self.isolated_liquidation_price, ref)
            only = fmt_money(self.isolated_loss)
            if not self.isolated_liquidated:
                other = (
                    f"Isolated at {liq.leverage:g}x would have risked only {only} "
                    f"(liquidation at {iso}, not reached)."
                )
            elif hyperliquid:
                other = (
                    f"Isolated at {liq.leverage:g}x would have been liquidated at {iso} first, "
                    f"with only its {only} margin at stake."
                )
            else:
                other = (
                    f"Isolated at {liq.leverage:g}x would have been liquidated at {iso}, "
                    f"losing only {only}."
                )
            return f"{head} {other}"
        if self.cross_loss is None:
            return head
        balance = fmt_money(self.cross_loss)
        stake = f"with the whole cross balance {balance} at stake"
        if self.cross_liquidated:
            other = (
                f"Cross would have been liquidated too, {stake}."
                if hyperliquid
                else f"Cross would have been liquidated too, losing the whole cross balance "
                f"{balance}."
            )
        elif self.cross_liquidation_price is None:
            other = f"Cross would have had no liquidation price, {stake}."
        else:
            held = f"Cross would have held until {fmt_price(self.cross_liquidation_price, ref)}"
            other = (
                f"{held}, {stake}."
                if hyperliquid
                else f"{held}, then lost the whole cross balance {balance}."
            )
        return f"{head} {other}"


def _liquidation_price(
    market: Market | None, s: int, q: float, entry: float, collateral: float
) -> float | None:
    """The mark at which ``collateral + u`` meets the market's maintenance margin, with the tier
    in force at that mark (None: no such price, or the market is not known)."""
    if market is None:
        return None
    tiers = market.tiers
    price = mg.tiered_liquidation_price(
        s,
        q,
        entry,
        collateral,
        [float(t.notional_floor) for t in tiers],
        [float(t.maintenance_rate or 0.0) for t in tiers],
        [float(t.maintenance_amount or 0.0) for t in tiers],
    )
    return price if price > 0 and math.isfinite(price) else None


def _recorded(event: Liquidation) -> bool:
    """A record that carries its stake and liquidation price (perpdesk with venues)."""
    return event.margin > 0.0 or event.liquidation_price > 0.0


def post_mortems(
    events: Iterable[Event],
    markets: Mapping[str, Market],
    accounts: Mapping[int, AccountAt] | None = None,
) -> list[PostMortem]:
    """One :class:`PostMortem` per liquidation record, in order.

    ``markets`` (``engine.markets``) gives each market's margin table. ``accounts``
    (``journal.accounts``) gives the wallet at each event; without it an isolated
    liquidation's Cross counterfactual is unknown (None).

    A record from perpdesk with venues carries what was at stake (``margin``) and the
    liquidation price then, which the post-mortem shows; for an older record both are worked
    out again (docs/rules.md): isolated, ``liquidation_price`` with the margin it lost; cross,
    holding the other positions of the same liquidation at their marks, with ``W`` before it
    (the sum of their ``margin_lost``).

    The other mode: an isolated position in Cross would have had the cross excess at the time
    plus its margin (not posted) as collateral, and the whole cross balance ``W + M`` (the
    wallet before anything went back from this liquidation) at stake. A cross position in
    Isolated at the same leverage would have posted ``q * E / L``.
    """
    items = list(events)
    groups: dict[int, list[Liquidation]] = {}
    for event in items:
        if isinstance(event, Liquidation) and event.mode is MarginMode.CROSS:
            groups.setdefault(event.group, []).append(event)
    result: list[PostMortem] = []
    for event in items:
        if not isinstance(event, Liquidation):
            continue
        market = markets.get(event.market)
        recorded = _recorded(event)
        s, entry, mark = event.side.sign, event.entry_price, event.mark_price
        q = event.size + event.remaining_size  # the position when it was liquidated
        own: float | None
        cross_liq: float | None
        cross_loss: float | None
        cross_hit: bool | None
        if event.mode is MarginMode.ISOLATED:
            margin = event.margin if recorded else event.margin_lost
            iso_liq = _liquidation_price(market, s, q, entry, margin)
            own = (event.liquidation_price or None) if recorded else iso_liq
            iso_loss, iso_hit = event.margin_lost, True
            account = accounts.get(event.seq) if accounts is not None else None
            if account is None:
                cross_liq, cross_loss, cross_hit = None, None, None
            else:
                # The account just after: take back what this liquidation returned.
                collateral = account.cross_excess - event.returned + margin
                cross_liq = _liquidation_price(market, s, q, entry, collateral)
                cross_loss = max(account.wallet - event.returned, 0.0) + margin
                cross_hit = cross_liq is not None and mg.is_beyond(s, mark, cross_liq)
        else:
            iso_margin = mg.initial_margin(q, entry, event.leverage)
            iso_liq = _liquidation_price(market, s, q, entry, iso_margin)
            iso_hit = iso_liq is not None and mg.is_beyond(s, mark, iso_liq)
            iso_loss = iso_margin
            if recorded:
                own = event.liquidation_price or None
            else:
                members = groups.get(event.group, [event])
                wallet_before = math.fsum(m.margin_lost for m in members)
                others = math.fsum(
                    mg.unrealized_pnl(m.side.sign, m.size, m.entry_price, m.mark_price)
                    - _maintenance(markets, m.market, m.size * m.mark_price)
                    for m in members
                    if m is not event
                )
                own = _liquidation_price(market, s, q, entry, wallet_before + others)
            cross_liq = own
            cross_loss = event.margin_lost
            cross_hit = True
        result.append(
            PostMortem(
                liquidation=event,
                liquidation_price=own,
                isolated_liquidation_price=iso_liq,
                isolated_loss=iso_loss,
                isolated_liquidated=iso_hit,
                cross_liquidation_price=cross_liq,
                cross_loss=cross_loss,
                cross_liquidated=cross_hit,
            )
        )
    return result


def _maintenance(markets: Mapping[str, Market], name: str, notional: float) -> float:
    market = markets.get(name)
    return market.maintenance_margin(notional) if market is not None else math.nan


def format_duration(seconds: float) -> str:
    """``12s``, ``4m 10s``, ``2h 05m``, ``3d 04h``."""
    if not math.isfinite(seconds) or seconds < 0:
        return DASH
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


# --------------------------------------------------------------------------- orders


def order_events(events: Iterable[Event]) -> list[OrderEvent]:
    """The order records (placed, triggered, filled, cancelled, rejected), oldest first."""
    return [e for e in events if isinstance(e, OrderEvent)]


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order's life, read from its records.

    ``status`` is "open", "filled", "cancelled" or "rejected" (refused when it came to fill);
    ``reason`` says why it was cancelled or rejected. ``placed_at`` is its first record's time
    (an order that filled at once has no "placed" record), ``ended_at`` its last one's unless it
    is still open. ``triggered_at`` is when a stop or take-profit fired.
    """

    order_id: int
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float | None
    trigger_price: float | None
    leverage: float
    mode: MarginMode
    reduce_only: bool
    post_only: bool
    tpsl: str | None
    placed_at: float
    status: str
    ended_at: float | None
    triggered_at: float | None
    filled_size: float
    fill_price: float | None
    reason: str

    @property
    def label(self) -> str:
        """ "Limit", "Stop market", "Take profit", "Stop loss", ..."""
        if self.tpsl == "tp":
            return "Take profit"
        if self.tpsl == "sl":
            return "Stop loss"
        return self.order_type.label

    @property
    def level(self) -> float | None:
        """The limit price, else the trigger price (None for a market order)."""
        return self.price if self.price is not None else self.trigger_price


def order_step(row: OrderRecord | None, e: OrderEvent) -> OrderRecord:
    """An order's row after its record ``e`` (``row`` is None for its first record)."""
    if row is None:
        row = OrderRecord(
            order_id=e.order_id,
            market=e.market,
            side=e.side,
            order_type=e.order_type,
            size=e.size,
            price=e.price,
            trigger_price=e.trigger_price,
            leverage=e.leverage,
            mode=e.mode,
            reduce_only=e.reduce_only,
            post_only=e.post_only,
            tpsl=e.tpsl,
            placed_at=e.time,
            status="open",
            ended_at=None,
            triggered_at=None,
            filled_size=0.0,
            fill_price=None,
            reason="",
        )
    if e.action == "triggered":
        return replace(row, triggered_at=e.time)
    if e.action == "partial":  # part filled now; the rest of a limit rests
        return replace(row, filled_size=e.filled_size, fill_price=e.fill_price)
    if e.action in ("filled", "cancelled", "rejected"):
        return replace(
            row,
            size=e.size,
            status=e.action,
            ended_at=e.time,
            filled_size=e.filled_size,
            fill_price=e.fill_price,
            reason=e.reason,
        )
    return replace(row, size=e.size)  # placed: the size of a position's TP/SL follows it


def order_history(events: Iterable[Event]) -> list[OrderRecord]:
    """One row per order seen in ``events``, in the order they were placed (newest last)."""
    rows: dict[int, OrderRecord] = {}
    for e in events:
        if isinstance(e, OrderEvent):
            rows[e.order_id] = order_step(rows.get(e.order_id), e)
    return list(rows.values())


# --------------------------------------------------------------------------- CSV export

ExportKind = Literal["fills", "liquidations", "funding", "transfers", "closed", "orders"]
EXPORT_KINDS: tuple[str, ...] = get_args(ExportKind)


class ExportError(OSError):
    """A CSV file could not be written; the message names the path and the reason."""


def _when(t: float) -> str:
    """ISO 8601 in local time with its UTC offset: ``2025-01-02T10:42:03+01:00``."""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


_HEADS: dict[str, tuple[str, ...]] = {
    "fills": (
        "seq", "time", "market", "side", "kind", "size", "price", "fee", "mode", "leverage",
        "realized_pnl",
    ),
    "liquidations": (
        "seq", "time", "market", "side", "mode", "size", "entry_price", "mark_price", "leverage",
        "margin_lost", "realized_pnl", "forfeited", "group", "opened_at",
    ),
    "funding": (
        "seq", "time", "market", "side", "mode", "size", "mark_price", "rate", "payment",
    ),
    "transfers": ("seq", "time", "market", "amount"),
    "orders": (
        "seq", "time", "order_id", "action", "market", "side", "type", "tpsl", "size", "price",
        "trigger_price", "leverage", "mode", "reduce_only", "post_only", "mark_price",
        "filled_size", "fill_price", "reserved_margin", "reason",
    ),
    "closed": (
        "market", "side", "mode", "leverage", "size", "entry_price", "exit_price", "opened_at",
        "closed_at", "duration_s", "realized_pnl", "fees", "funding", "forfeited", "net_pnl",
        "liquidated", "margin_lost",
    ),
}  # fmt: skip


def export_row(kind: str, item: Event | ClosedPosition) -> tuple[object, ...] | None:
    """The CSV row of table ``kind`` for a record (None if the record is not in that table),
    or for a closed round trip (table ``"closed"``)."""
    e = item
    if kind == "closed":
        if not isinstance(e, ClosedPosition):
            return None
        return (
            e.market, e.side.value, e.mode.value, e.leverage, e.size, e.entry_price,
            e.exit_price, _when(e.opened_at), _when(e.closed_at), e.duration,
            e.realized_pnl, e.fees, e.funding, e.forfeited, e.net_pnl,
            "yes" if e.liquidated else "no", e.margin_lost,
        )  # fmt: skip
    if kind == "fills" and isinstance(e, Fill):
        return (
            e.seq, _when(e.time), e.market, e.side.value, e.kind, e.size, e.price, e.fee,
            e.mode.value, e.leverage, e.realized_pnl,
        )  # fmt: skip
    if kind == "liquidations" and isinstance(e, Liquidation):
        return (
            e.seq, _when(e.time), e.market, e.side.value, e.mode.value, e.size,
            e.entry_price, e.mark_price, e.leverage, e.margin_lost, e.realized_pnl,
            e.forfeited, e.group, _when(e.opened_at),
        )  # fmt: skip
    if kind == "funding" and isinstance(e, FundingPayment):
        return (
            e.seq, _when(e.time), e.market, e.side.value, e.mode.value, e.size,
            e.mark_price, e.rate, e.payment,
        )  # fmt: skip
    if kind == "transfers" and isinstance(e, MarginTransfer):
        return (e.seq, _when(e.time), e.market, e.amount)
    if kind == "orders" and isinstance(e, OrderEvent):
        return (
            e.seq, _when(e.time), e.order_id, e.action, e.market, e.side.value,
            e.order_type.value, e.tpsl or "", e.size, _blank(e.price),
            _blank(e.trigger_price), e.leverage, e.mode.value,
            "yes" if e.reduce_only else "no", "yes" if e.post_only else "no",
            _blank(e.mark_price), e.filled_size, _blank(e.fill_price),
            e.reserved_margin, e.reason,
        )  # fmt: skip
    return None


def _rows(events: Sequence[Event], kind: str) -> list[tuple[object, ...]]:
    items: Iterable[Event | ClosedPosition] = (
        closed_positions(events) if kind == "closed" else events
    )
    return [row for item in items if (row := export_row(kind, item)) is not None]


def _blank(x: float | None) -> object:
    return "" if x is None else x


def default_export_name(kind: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"perpdesk-{kind}-{stamp}.csv"


def export_target(path: str | os.PathLike[str], kind: str) -> Path:
    """The file an export of ``kind`` to ``path`` writes: ``path`` itself, or in an existing
    folder ``perpdesk-<kind>-<date>-<time>.csv``. ``ValueError`` for an unknown ``kind``."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}.")
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / default_export_name(kind)
    return target


EXPORT_CHUNK = 2_000
"""Rows written between two calls of an export's progress callback."""


def write_csv(
    target: Path,
    kind: str,
    rows: Iterable[tuple[object, ...]],
    progress: Callable[[int], object] | None = None,
) -> Path:
    """Write the table ``kind`` (its header, then ``rows`` as they come) to ``target`` whole or
    not at all (a temp file, then a rename), owner-only. ``progress(rows written)`` is called
    every :data:`EXPORT_CHUNK` rows; an exception it raises stops the export and leaves no file.
    Raises :class:`ExportError` (an ``OSError``) naming the path and the reason."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    written = 0
    try:
        private = functools.partial(os.open, mode=0o600)  # owner-only, as the account itself
        with open(tmp, "w", newline="", encoding="utf-8", opener=private) as handle:
            writer = csv.writer(handle)
            writer.writerow(_HEADS[kind])
            for row in rows:
                writer.writerow(row)
                written += 1
                if progress is not None and written % EXPORT_CHUNK == 0:
                    progress(written)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        error = ExportError(f"Could not write {target}: {exc.strerror or exc}.")
        error.errno = exc.errno
        raise error from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if progress is not None:
        progress(written)
    return target


def export_csv(events: Sequence[Event], path: str | os.PathLike[str], kind: str) -> Path:
    """Write one history table as CSV and return the file written.

    ``kind`` is one of :data:`EXPORT_KINDS`. ``path`` is a file, or an existing folder (the file
    is then named ``perpdesk-<kind>-<date>-<time>.csv`` in it). Numbers are written in full
    precision, times in ISO 8601 with their UTC offset. The file is replaced whole or not at
    all. Raises :class:`ExportError` (an ``OSError``) naming the path and the reason.
    (:meth:`tui.journal.Journal.export` streams the same file from the journal.)
    """
    target = export_target(path, kind)
    return write_csv(target, kind, _rows(list(events), kind))
