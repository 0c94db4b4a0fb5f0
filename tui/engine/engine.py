"""The paper-trading engine: one-way positions, Isolated and Cross margin, liquidation, funding.

Rules: docs/rules.md; every formula comes from :mod:`tui.engine.margin`.

Speed: :meth:`PaperEngine.set_mark` costs the same whatever the number of open positions. The
engine keeps one running total, the cross *buffer* ``sum(u - MM)`` over cross positions, which a
tick moves by ``(s * q - q * mmr) * dP`` of the ticked position only. The cross account is
liquidated when ``W + buffer <= 0`` (that is ``V <= R``); an isolated position when its mark
crosses its cached liquidation price. Displayed cross liquidation prices, account totals and
previews are computed on read.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tui.engine import margin as mg
from tui.engine.limits import (
    MAX_BALANCE,
    MAX_FUNDING_RATE,
    MAX_NOTIONAL,
    MAX_PRICE,
    MAX_SIZE,
    MIN_NOTIONAL,
    MIN_PRICE,
    MIN_SIZE,
)
from tui.engine.markets import DEFAULT_MARKETS
from tui.engine.models import (
    AccountView,
    Event,
    Fill,
    FundingPayment,
    InvalidInput,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    Order,
    OrderRejected,
    OrderType,
    PositionView,
    Preview,
    Side,
    check_number,
    check_price,
    check_range,
    shown,
    to_float,
)
from tui.engine.orders import KEEP, OrderDesk

_INF = math.inf
_REL_TOL = 1e-9  # sizes and amounts within this fraction count as equal (float noise)

Listener = Callable[[Event], None]


class _Pos:
    """Mutable internal position. ``k = s*q - q*mmr`` is its cross buffer move per unit of mark.

    ``lo`` / ``hi`` are the market's order edges (tui/engine/orders.py keeps them current): a
    mark at or below ``lo`` or at or above ``hi`` reaches an open order. Kept here so a tick
    reads them from the object it already holds."""

    __slots__ = (
        "cross",
        "entry",
        "hi",
        "k",
        "lev",
        "liq",
        "lo",
        "margin",
        "market",
        "mmr",
        "mode",
        "opened_at",
        "q",
        "s",
    )

    def __init__(
        self,
        market: str,
        s: int,
        q: float,
        entry: float,
        mode: MarginMode,
        lev: float,
        margin: float,
        mmr: float,
        opened_at: float,
    ) -> None:
        self.market = market
        self.s = s
        self.q = q
        self.entry = entry
        self.mode = mode
        self.cross = mode is MarginMode.CROSS
        self.lev = lev
        self.margin = margin  # posted margin M (isolated only)
        self.mmr = mmr
        self.opened_at = opened_at
        self.lo = -_INF
        self.hi = _INF
        self.refresh()

    def _isolated_liq(self) -> float:
        if self.cross:
            return math.nan  # cross liquidation is decided by the account, never by this field
        return mg.liquidation_price(self.s, self.q, self.entry, self.margin, self.mmr)

    def refresh(self) -> None:
        """Recompute the cached figures after q, entry or margin changed."""
        self.k = mg.buffer_slope(self.s, self.q, self.mmr)
        self.liq = self._isolated_liq()

    def copy(self) -> _Pos:
        new = _Pos(
            self.market,
            self.s,
            self.q,
            self.entry,
            self.mode,
            self.lev,
            self.margin,
            self.mmr,
            self.opened_at,
        )
        new.lo, new.hi = self.lo, self.hi
        return new

    @property
    def side(self) -> Side:
        return Side.LONG if self.s > 0 else Side.SHORT

    def upnl(self, mark: float) -> float:
        return mg.unrealized_pnl(self.s, self.q, self.entry, mark)

    def buffer(self, mark: float) -> float:
        """This position's part of the cross buffer: ``u - MM``."""
        return self.upnl(mark) - mg.maintenance_margin(self.q, mark, self.mmr)


@dataclass(slots=True)
class _Plan:
    """What an order does, computed without changing anything."""

    market: str
    side: Side
    size: float
    mode: MarginMode
    leverage: float
    mark: float
    fill: float
    kind: str
    close_q: float
    open_q: float
    fee_close: float
    fee_open: float
    realized: float
    im: float
    wallet_after: float
    new_pos: _Pos | None
    available_before: float
    available_after: float
    rejection: str | None
    order_id: int | None = None  # set when an order (tui/engine/orders.py) is filling


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _reachable(liq: float) -> float | None:
    """A liquidation price, or None when no mark the engine takes can reach it (<= 0 too)."""
    return liq if MIN_PRICE <= liq <= MAX_PRICE else None


def _plain(x: float) -> str:
    """A bound written out: 0.000000001, 1,000,000,000."""
    return f"{x:,.0f}" if x >= 1 else f"{x:.12f}".rstrip("0")


def _lev(x: float) -> str:
    return f"{x:g}x"


class PaperEngine:
    """An in-memory paper-trading account on perpetual markets.

    >>> eng = PaperEngine(balance=10_000, markets=[Market("BTC", max_leverage=40)])
    >>> eng.set_mark("BTC", 100_000)
    >>> eng.open("BTC", Side.LONG, size=0.1, leverage=10, mode=MarginMode.ISOLATED).price
    100000.0
    """

    def __init__(
        self,
        balance: float = 10_000.0,
        markets: Iterable[Market] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._deposits = check_number("Starting balance", balance)
        if not self._deposits <= MAX_BALANCE:
            raise InvalidInput(
                f"Starting balance {shown(balance)} is more than the engine takes "
                f"(at most {_plain(MAX_BALANCE)})."
            )
        self._markets: dict[str, Market] = {}
        for market in DEFAULT_MARKETS if markets is None else markets:
            self.add_market(market)
        self._clock = clock
        self._marks: dict[str, float] = {}
        self._funding_rates: dict[str, float] = {}
        self._positions: dict[str, _Pos] = {}
        self._cross: dict[str, _Pos] = {}
        self._wallet = self._deposits
        self._buffer = 0.0  # sum(u - MM) over cross positions, moved incrementally by ticks
        self._realized = 0.0
        self._fees = 0.0
        self._funding = 0.0
        self._forfeited = 0.0
        self._seq = 0
        self._group = 0
        self.events: list[Event] = []
        self.listeners: list[Listener] = []
        self._holds = 0  # > 0: listeners hear new records when the step ends (see _hold)
        self._held: list[Event] = []
        self._desk = OrderDesk(self)  # open orders: tui/engine/orders.py
        self._edges = self._desk.edges  # market -> the marks that set off its nearest orders

    # ------------------------------------------------------------------ markets and marks

    def add_market(self, market: Market) -> None:
        if not isinstance(market, Market):
            raise InvalidInput(f"Not a market: {market!r}.")
        if market.name in self._markets:
            raise InvalidInput(f"Market {market.name} is already listed.")
        self._markets[market.name] = market

    @property
    def markets(self) -> dict[str, Market]:
        return dict(self._markets)

    def market(self, name: str) -> Market:
        return self._markets[self._name(name)]

    def _name(self, name: object) -> str:
        if isinstance(name, str):
            if name in self._markets:
                return name
            upper = name.strip().upper()
            if upper in self._markets:
                return upper
        known = ", ".join(self._markets) or "none"
        raise InvalidInput(f"Unknown market {name!r}. Markets: {known}.")

    def mark(self, market: str) -> float | None:
        return self._marks.get(self._name(market))

    @property
    def marks(self) -> dict[str, float]:
        return dict(self._marks)

    def set_mark(self, market: str, price: float) -> None:
        """Set a market's mark price and liquidate whatever it takes below maintenance.

        ``price`` is any real number (int, float, Decimal, Fraction...), converted to a float
        once, within ``[MIN_PRICE, MAX_PRICE]`` (:mod:`tui.engine.limits`). Raises
        :class:`InvalidInput` (a ``ValueError``) on anything else or an unknown market, and
        then changes nothing. Cost is independent of how many positions are open.
        """
        marks = self._marks
        old = marks.get(market)
        # The fast path: a float in range on a known, already-priced market. Anything else
        # (first mark, a name to normalise, an int or Decimal, NaN, out of range) is checked
        # and converted on the slow path, which comes back here with a float.
        if old is None or price.__class__ is not float or not MIN_PRICE <= price <= MAX_PRICE:
            self._set_mark_checked(market, price)
            return
        marks[market] = price
        pos = self._positions.get(market)
        if pos is not None:
            if pos.cross:
                buf = self._buffer + pos.k * (price - old)
                self._buffer = buf
                if not self._wallet + buf > 0.0:  # written so that a NaN liquidates, never hides
                    self._liquidate_cross()
            elif (price <= pos.liq) if pos.s > 0 else (price >= pos.liq):
                self._liquidate_isolated(pos)
            if not pos.lo < price < pos.hi:  # the mark reached an open order (orders.py)
                self._desk.tick(market, price)
        elif market in self._edges:  # open orders and no position
            lo, hi = self._edges[market]
            if not lo < price < hi:
                self._desk.tick(market, price)

    def _set_mark_checked(self, market: str, price: object) -> None:
        name = self._name(market)
        value = self._price(name, price)
        if name != market or name in self._marks:
            self.set_mark(name, value)
        else:
            self._marks[name] = value  # no position can exist without a mark

    @staticmethod
    def _entry(name: str, entry: object) -> float:
        """A saved entry price: a fill, so the mark bounds moved by slippage (below 100 %)."""
        value = check_number(f"Saved {name} entry", entry)
        if not value <= 2 * MAX_PRICE:
            raise InvalidInput(
                f"Saved {name} entry {shown(entry)} is out of range: above any fill the engine "
                f"makes ({_plain(2 * MAX_PRICE)})."
            )
        return value

    @staticmethod
    def _price(name: str, price: object) -> float:
        return check_price(f"{name} price", price)

    def set_marks(self, marks: Mapping[str, float]) -> None:
        for market, price in marks.items():
            self.set_mark(market, price)

    def set_funding_rate(self, market: str, rate: float) -> None:
        """Record a market's current hourly funding rate (for display and previews)."""
        self._funding_rates[self._name(market)] = self._rate(rate)

    def funding_rate(self, market: str) -> float | None:
        return self._funding_rates.get(self._name(market))

    @staticmethod
    def _rate(rate: object) -> float:
        limit = MAX_FUNDING_RATE
        return check_range("Funding rate", rate, -limit, limit, " per hour")

    # ------------------------------------------------------------------ reading state

    def position(self, market: str) -> PositionView | None:
        pos = self._positions.get(self._name(market))
        return None if pos is None else self._view(pos)

    def positions(self) -> list[PositionView]:
        """Every open position, in the order they were opened."""
        return [self._view(pos) for pos in self._positions.values()]

    def _view(self, pos: _Pos) -> PositionView:
        mark = self._marks[pos.market]
        upnl = pos.upnl(mark)
        margin = mg.initial_margin(pos.q, mark, pos.lev) if pos.cross else pos.margin
        return PositionView(
            market=pos.market,
            side=pos.side,
            size=pos.q,
            entry_price=pos.entry,
            mark_price=mark,
            mode=pos.mode,
            leverage=pos.lev,
            margin=margin,
            unrealized_pnl=upnl,
            maintenance_margin=mg.maintenance_margin(pos.q, mark, pos.mmr),
            liquidation_price=self._liq_of(pos, self._wallet + self._buffer),
            opened_at=pos.opened_at,
        )

    def _liq_of(self, pos: _Pos, cross_excess: float) -> float | None:
        """Liquidation price; ``cross_excess`` is ``W + buffer`` of the state to read."""
        if pos.cross:
            others = cross_excess - pos.buffer(self._marks[pos.market])
            liq = mg.liquidation_price(pos.s, pos.q, pos.entry, others, pos.mmr)
        else:
            liq = pos.liq
        return _reachable(liq)

    def _cross_sums(self) -> tuple[float, float, float]:
        """(unrealized PnL, maintenance margin, margin used) over cross positions."""
        upnl = mm = used = 0.0
        marks = self._marks
        for pos in self._cross.values():
            mark = marks[pos.market]
            upnl += pos.upnl(mark)
            mm += mg.maintenance_margin(pos.q, mark, pos.mmr)
            used += mg.initial_margin(pos.q, mark, pos.lev)
        return upnl, mm, used

    def _available(self) -> float:
        upnl, _, used = self._cross_sums()
        return self._wallet + upnl - used - self._desk.reserved

    @property
    def account(self) -> AccountView:
        upnl, mm, used = self._cross_sums()
        iso_margin = iso_upnl = 0.0
        for pos in self._positions.values():
            if not pos.cross:
                iso_margin += pos.margin
                iso_upnl += pos.upnl(self._marks[pos.market])
        value = self._wallet + upnl
        reserved = self._desk.reserved
        return AccountView(
            wallet_balance=self._wallet,
            equity=value + iso_margin + iso_upnl,
            available=value - used - reserved,
            cross_account_value=value,
            cross_maintenance_margin=mm,
            cross_margin_used=used,
            margin_ratio=mg.margin_ratio(mm, value) if self._cross else 0.0,
            isolated_margin=iso_margin,
            unrealized_pnl=upnl + iso_upnl,
            realized_pnl=self._realized,
            fees_paid=self._fees,
            funding_paid=self._funding,
            forfeited=self._forfeited,
            deposits=self._deposits,
            order_margin=reserved,
        )

    @property
    def liquidations(self) -> list[Liquidation]:
        return [e for e in self.events if isinstance(e, Liquidation)]

    @property
    def fills(self) -> list[Fill]:
        return [e for e in self.events if isinstance(e, Fill)]

    @property
    def funding_payments(self) -> list[FundingPayment]:
        return [e for e in self.events if isinstance(e, FundingPayment)]

    # ------------------------------------------------------------------ orders

    def preview(
        self,
        market: str,
        side: Side | str,
        size: float,
        leverage: float,
        mode: MarginMode | str = MarginMode.ISOLATED,
    ) -> Preview:
        """What :meth:`open` would do with these arguments, changing nothing.

        Never raises for a bad order: ``rejection`` holds the message ``open`` would raise.
        """
        try:
            plan = self._plan(market, side, size, leverage, mode)
        except OrderRejected as exc:
            return self._rejected_preview(market, side, size, leverage, mode, str(exc))
        return self._preview_plan(plan)

    def _preview_plan(self, plan: _Plan) -> Preview:
        excess_before = self._wallet + self._buffer
        excess_after = self._excess_after(plan)
        moved: dict[str, tuple[float | None, float | None]] = {}
        for name, pos in self._cross.items():
            if name == plan.market:
                continue
            before = self._liq_of(pos, excess_before)
            after = self._liq_of(pos, excess_after)
            if before != after:
                moved[name] = (before, after)
        new = plan.new_pos
        liq: float | None = None
        at_risk = 0.0
        if new is not None:
            if new.cross:
                others = excess_after - new.buffer(plan.mark)
                value = mg.liquidation_price(new.s, new.q, new.entry, others, new.mmr)
                liq = _reachable(value)
                at_risk = max(plan.wallet_after, 0.0)
            else:
                liq = _reachable(new.liq)
                at_risk = new.margin
        existing = self._positions.get(plan.market)
        return Preview(
            market=plan.market,
            side=plan.side,
            size=plan.size,
            mode=plan.mode,
            leverage=plan.leverage,
            fill_price=plan.fill,
            notional=mg.notional(plan.size, plan.fill),
            margin_required=plan.im,
            fee=plan.fee_close + plan.fee_open,
            liquidation_price=liq,
            rejection=plan.rejection,
            kind=plan.kind,
            at_risk=at_risk,
            available_before=plan.available_before,
            available_after=plan.available_after,
            mark_price=plan.mark,
            locked_mode=existing.mode if existing is not None else None,
            cross_liquidation_prices=moved,
            resulting_size=new.q if new is not None else 0.0,
            resulting_entry=new.entry if new is not None else None,
        )

    def _rejected_preview(
        self, market: object, side: object, size: object, leverage: object, mode: object, why: str
    ) -> Preview:
        def num(x: object) -> float:  # the number as given, or NaN (10**400 included)
            try:
                return to_float("", x)
            except InvalidInput:
                return math.nan

        try:
            name = self._name(market)
        except OrderRejected:
            name = str(market)
        try:
            side_ = Side.parse(side)
        except OrderRejected:
            side_ = Side.LONG
        try:
            mode_ = MarginMode.parse(mode)
        except OrderRejected:
            mode_ = MarginMode.ISOLATED
        mark = self._marks.get(name, math.nan)
        existing = self._positions.get(name)
        available = self._available()
        return Preview(
            market=name,
            side=side_,
            size=num(size),
            mode=mode_,
            leverage=num(leverage),
            fill_price=mark,
            notional=math.nan,
            margin_required=math.nan,
            fee=math.nan,
            liquidation_price=None,
            rejection=why,
            kind="open",
            at_risk=math.nan,
            available_before=available,
            available_after=available,
            mark_price=mark,
            locked_mode=existing.mode if existing is not None else None,
        )

    def open(
        self,
        market: str,
        side: Side | str,
        size: float,
        leverage: float,
        mode: MarginMode | str = MarginMode.ISOLATED,
    ) -> Fill:
        """Place a market order. Returns the fill (the opening leg of a flip).

        Same side as an open position: adds. Opposite side: reduces, closes, or flips with the
        remainder opened in ``mode``. Raises :class:`OrderRejected` and changes nothing when the
        order cannot go through.
        """
        plan = self._plan(market, side, size, leverage, mode)
        if plan.rejection is not None:
            raise OrderRejected(plan.rejection)
        return self._apply(plan)

    def close(self, market: str, size: float | None = None) -> Fill:
        """Close a position (``size=None``) or part of it at the mark. Never flips: a size
        larger than the position closes all of it."""
        name = self._name(market)
        pos = self._positions.get(name)
        if pos is None:
            raise OrderRejected(f"There is no open {name} position to close.")
        q = pos.q if size is None else min(self._size("Size to close", name, size), pos.q)
        side = Side.SHORT if pos.s > 0 else Side.LONG
        plan = self._plan(name, side, q, pos.lev, pos.mode)
        if plan.rejection is not None:  # only when a figure would not be finite
            raise OrderRejected(plan.rejection)
        return self._apply(plan)

    # ------------------------------------------------------------------ orders beyond market

    def place_order(
        self,
        market: str,
        side: Side | str,
        size: float,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        price: float | None = None,
        trigger_price: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> Order:
        """Place an order (rules: docs/rules.md, "Orders"). Returns it; the engine keeps it
        current (``status``, ``filled_size``, ...).

        ``MARKET`` fills now, like :meth:`open`. ``LIMIT`` at ``price`` fills now as a taker if
        the mark is already at or through it, else rests. ``STOP_MARKET`` and
        ``TAKE_PROFIT_MARKET`` wait for the mark to reach ``trigger_price``. ``leverage`` and
        ``mode`` default to the open position's (a reduce-only order always takes them).
        ``take_profit`` / ``stop_loss`` become the position's when the order fills. Raises
        :class:`OrderRejected` and changes nothing when the order cannot be placed.
        """
        ticket = self._desk.check(
            market,
            side,
            size,
            order_type,
            price,
            trigger_price,
            leverage,
            mode,
            reduce_only,
            post_only,
            take_profit,
            stop_loss,
        )
        return self._desk.place(ticket)

    def preview_order(
        self,
        market: str,
        side: Side | str,
        size: float,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        price: float | None = None,
        trigger_price: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> Preview:
        """What :meth:`place_order` would do, changing nothing; never raises for a bad order
        (``rejection`` holds the message). A resting order is shown as it would be once filled
        at its price, with the margin it holds back meanwhile; ``warnings`` says when a
        stop-loss sits at or beyond the liquidation price, or depends on other cross positions.
        """
        try:
            ticket = self._desk.check(
                market,
                side,
                size,
                order_type,
                price,
                trigger_price,
                leverage,
                mode,
                reduce_only,
                post_only,
                take_profit,
                stop_loss,
            )
        except OrderRejected as exc:
            lev = math.nan if leverage is None else leverage
            preview = self._rejected_preview(
                market, side, size, lev, mode or MarginMode.ISOLATED, str(exc)
            )
            with contextlib.suppress(OrderRejected):
                preview = replace(preview, order_type=OrderType.parse(order_type))
            return preview
        return self._desk.preview(ticket)

    def cancel_order(self, order_id: int) -> Order:
        """Cancel an open order (its reserved margin comes back). :class:`OrderRejected` if
        there is no such open order."""
        return self._desk.cancel(order_id)

    def cancel_orders(self, market: str | None = None) -> list[Order]:
        """Cancel every open order (in ``market`` only, when given); returns them."""
        return self._desk.cancel_all(market)

    def open_orders(self, market: str | None = None) -> list[Order]:
        """Every open order, oldest first (in ``market`` only, when given)."""
        return self._desk.orders(market)

    def order(self, order_id: int) -> Order | None:
        """The open order with this id, or None."""
        return self._desk.order(order_id)

    def tp_sl(self, market: str) -> tuple[Order | None, Order | None]:
        """The position's (take-profit, stop-loss) orders in ``market`` (None where unset)."""
        return self._desk.tp_sl(market)

    def set_tp_sl(
        self,
        market: str,
        take_profit: float | object | None = KEEP,
        stop_loss: float | object | None = KEEP,
    ) -> list[Order]:
        """Give the position in ``market`` a take-profit and / or a stop-loss: reduce-only
        trigger orders for the whole position when they fire; when one fires the other is
        cancelled, and closing the position cancels both. A price sets (or replaces) one, None
        clears it, leaving an argument out keeps it as it is. Returns the position's TP/SL
        orders. :class:`OrderRejected` (nothing changes) without a position, or for a trigger
        the mark would set off at once."""
        return self._desk.set_tp_sl(market, take_profit, stop_loss)

    def stop_warnings(self, market: str, stop_loss: float) -> list[str]:
        """What to tell a trader about a stop-loss at ``stop_loss`` on the open position in
        ``market`` (``[]`` without a position): a stop at or beyond the liquidation price, and
        a cross position whose liquidation price depends on the other cross positions."""
        name = self._name(market)
        stop = check_number("Stop-loss price", stop_loss)
        pos = self._positions.get(name)
        if pos is None:
            return []
        liq = self._view(pos).liquidation_price
        return self._desk.stop_warnings(name, pos.side, stop, liq, pos.cross)

    def _plan(
        self,
        market: object,
        side: object,
        size: object,
        leverage: object,
        mode: object,
        *,
        fill: float | None = None,
        maker: bool = False,
    ) -> _Plan:
        """What an order does, changing nothing. ``fill`` overrides the fill price (a limit
        order fills at its own price) and ``maker`` charges the maker fee instead of the
        taker fee (tui/engine/orders.py uses both)."""
        name = self._name(market)
        side_ = Side.parse(side)
        mode_ = MarginMode.parse(mode)
        q = self._size("Size", name, size)
        lev = check_number("Leverage", leverage)
        mkt = self._markets[name]
        mark = self._marks.get(name)
        if mark is None:
            raise OrderRejected(f"{name} has no price yet; wait for the feed and try again.")
        s = side_.sign
        if fill is None:
            fill = mg.fill_price(mark, s, mkt.slippage)
        fee_rate = mkt.maker_fee if maker else mkt.taker_fee
        pos = self._positions.get(name)
        available = self._available()
        wallet = self._wallet
        rejection: str | None = None
        available_before = available

        close_q = 0.0
        realized = 0.0
        fee_close = 0.0
        kind = "open"
        new: _Pos | None = None
        cross_freed = 0.0  # what closing part of a cross position frees in `available`
        if pos is not None and pos.s != s:
            # A remainder below the smallest size would be dust: the order closes it all.
            whole = q >= pos.q * (1 - _REL_TOL) or pos.q - q < MIN_SIZE
            close_q = pos.q if whole else q
            full = close_q == pos.q
            realized = mg.unrealized_pnl(pos.s, close_q, pos.entry, fill)
            fee_close = mg.fee(close_q, fill, fee_rate)
            released = pos.margin if full else pos.margin * close_q / pos.q
            wallet += realized - fee_close + (0.0 if pos.cross else released)
            if pos.cross:
                share = close_q / pos.q
                cross_freed = (
                    share * (mg.initial_margin(pos.q, mark, pos.lev) - pos.upnl(mark)) + realized
                )
            else:
                cross_freed = realized + released
            available += cross_freed - fee_close
            if not full:
                new = pos.copy()
                new.q = pos.q - close_q
                new.margin = pos.margin - released
                new.refresh()
            kind = "close" if full else "reduce"
            pos = None if full else new
        open_q = 0.0 if close_q and (q - close_q) <= q * _REL_TOL else q - close_q
        if close_q and open_q:
            kind = "flip"

        im = fee_open = 0.0
        if open_q:
            if pos is not None and pos.mode is not mode_:
                rejection = (
                    f"{name} is open in {pos.mode.label} mode; close it to reopen in {mode_.label}."
                )
            order_lev = pos.lev if pos is not None else lev
            if not 1.0 <= lev <= mkt.max_leverage:
                rejection = rejection or (
                    f"Leverage on {name} must be between 1x and {_lev(mkt.max_leverage)}; "
                    f"{_lev(lev)} is out of range."
                )
            im = mg.initial_margin(open_q, fill, order_lev)
            fee_open = mg.fee(open_q, fill, fee_rate)
            rejection = rejection or self._size_rejection(name, pos, open_q, fill, close_q > 0)
            # Margin checks are written `not (need <= have)` so that a NaN fails them.
            enough = im + fee_open <= available + _REL_TOL * max(1.0, available)
            if rejection is None and not enough:
                missing = im + fee_open - available
                rejection = (
                    f"Not enough margin: this order needs {_money(im + fee_open)} "
                    f"(margin {_money(im)} + fee {_money(fee_open)}) but "
                    f"{_money(max(available, 0))} is available; {_money(missing)} is missing. "
                    "Lower the size or raise the leverage."
                )
            isolated = (pos.mode if pos is not None else mode_) is MarginMode.ISOLATED
            short_of_cash = not im + fee_open <= wallet + _REL_TOL * max(1.0, wallet)
            if rejection is None and isolated and short_of_cash:
                rejection = (
                    f"Isolated margin is posted from your wallet, which holds "
                    f"{_money(max(wallet, 0.0))}; this order needs {_money(im + fee_open)}. "
                    "Unrealized profit backs Cross orders but cannot be posted as isolated "
                    "margin: lower the size, or close a profitable position first."
                )
            if pos is not None:  # add to the position
                kind = "add"
                new = pos.copy()
                new.entry = (pos.q * pos.entry + open_q * fill) / (pos.q + open_q)
                new.q = pos.q + open_q
                if not pos.cross:
                    new.margin = pos.margin + im
                new.refresh()
            else:
                new = _Pos(
                    name,
                    s,
                    open_q,
                    fill,
                    mode_,
                    lev,
                    0.0 if mode_ is MarginMode.CROSS else im,
                    mkt.mmr,
                    self._clock(),
                )
            wallet -= fee_open + (0.0 if new.cross else im)
            available -= im + fee_open
            if rejection is None:
                rejection = self._instant_liquidation(new, mark, mkt, wallet, name)
        plan = _Plan(
            market=name,
            side=side_,
            size=q,
            mode=mode_,
            leverage=new.lev if new is not None else lev,
            mark=mark,
            fill=fill,
            kind=kind,
            close_q=close_q,
            open_q=open_q,
            fee_close=fee_close,
            fee_open=fee_open,
            realized=realized,
            im=im,
            wallet_after=wallet,
            new_pos=new,
            available_before=available_before,
            available_after=available,
            rejection=rejection,
        )
        if open_q and rejection is None and self._cross_liquidated_after(plan):
            plan.rejection = (
                "This order would leave your cross account at its maintenance margin, to be "
                "liquidated at once. Lower the size or the leverage."
            )
        if plan.rejection is None and not self._finite_plan(plan):
            plan.rejection = "This order would take the account's figures out of range."
        return plan

    def _size(self, label: str, name: str, size: object) -> float:
        """An order or close size: a real number from ``MIN_SIZE`` to ``MAX_SIZE``."""
        q = check_number(label, size)
        if q < MIN_SIZE:
            raise InvalidInput(
                f"{label} {shown(size)} {name} is too small: the smallest size the engine takes "
                f"is {_plain(MIN_SIZE)} {name}."
            )
        if not q <= MAX_SIZE:
            raise InvalidInput(
                f"{label} {shown(size)} {name} is too large: the largest size the engine takes "
                f"is {_plain(MAX_SIZE)} {name}."
            )
        return q

    @staticmethod
    def _size_rejection(
        name: str, pos: _Pos | None, open_q: float, fill: float, flip: bool
    ) -> str | None:
        """Why what an order opens or adds is too small or too large, if it is."""
        value = mg.notional(open_q, fill)
        what = "The part of this order that opens a new position" if flip else "This order"
        if not value >= MIN_NOTIONAL:
            shown_value = f"{value:.2g}" if value < MIN_NOTIONAL else _money(value)
            return (
                f"{what} is worth {shown_value} USD; the smallest order the engine takes is "
                f"worth {_money(MIN_NOTIONAL)}. "
                + ("Close the position instead, or raise the size." if flip else "Raise the size.")
            )
        if not value <= MAX_NOTIONAL:
            return (
                f"{what} is worth {value:,.3g} USD; the largest order the engine takes is "
                f"worth {_plain(MAX_NOTIONAL)}. Lower the size."
            )
        if pos is not None and not pos.q + open_q <= MAX_SIZE:
            return (
                f"This would make a {name} position of {pos.q + open_q:g}; the largest the "
                f"engine holds is {_plain(MAX_SIZE)}. Lower the size."
            )
        return None

    @staticmethod
    def _finite_plan(plan: _Plan) -> bool:
        """Every figure of a plan is finite (guaranteed by the bounds; checked all the same)."""
        figures = [plan.fill, plan.im, plan.fee_open, plan.fee_close, plan.realized]
        figures += [plan.wallet_after, plan.available_after]
        new = plan.new_pos
        if new is not None:
            figures += [new.q, new.entry, new.margin, new.k]
        return all(math.isfinite(x) for x in figures)

    def _cross_liquidated_after(self, plan: _Plan) -> bool:
        cross_left = any(name != plan.market for name in self._cross) or (
            plan.new_pos is not None and plan.new_pos.cross
        )
        return cross_left and not self._excess_after(plan) > 0.0

    def _instant_liquidation(
        self, new: _Pos, mark: float, mkt: Market, wallet: float, name: str
    ) -> str | None:
        """A rejection if the resulting isolated position would be liquidated at once."""
        if new.cross or not mg.is_beyond(new.s, mark, new.liq):
            return None
        top = math.ceil(1.0 / mkt.mmr) - 1
        hint = f"use at most {top}x" if top >= 1 else "this market cannot be traded isolated"
        return (
            f"At {_lev(new.lev)} this {name} position would be liquidated at once "
            f"(maintenance margin {mkt.mmr:.2%}); {hint}."
        )

    def _excess_after(self, plan: _Plan) -> float:
        """``W + buffer`` once ``plan`` is applied (cross liquidation at <= 0)."""
        buffer = self._buffer
        old = self._positions.get(plan.market)
        if old is not None and old.cross:
            buffer -= old.buffer(plan.mark)
        if plan.new_pos is not None and plan.new_pos.cross:
            buffer += plan.new_pos.buffer(plan.mark)
        return plan.wallet_after + buffer

    def _apply(self, plan: _Plan) -> Fill:
        now = self._clock()
        name = plan.market
        old = self._positions.get(name)
        fills: list[Fill] = []
        if plan.close_q and old is not None:
            kind = "close" if plan.kind == "flip" else plan.kind
            fills.append(
                self._fill(now, plan, plan.close_q, plan.fee_close, old.mode, old.lev, kind)
            )
        if plan.open_q and plan.new_pos is not None:
            kind = "add" if plan.kind == "add" else "open"
            fills.append(
                self._fill(
                    now, plan, plan.open_q, plan.fee_open, plan.new_pos.mode, plan.new_pos.lev, kind
                )
            )
        self._wallet = plan.wallet_after
        self._realized += plan.realized
        self._fees += plan.fee_close + plan.fee_open
        new = plan.new_pos
        if new is None:  # assignment keeps a position's place in the table; pop removes it
            self._positions.pop(name, None)
        else:
            self._positions[name] = new
        if new is not None and new.cross:
            self._cross[name] = new
        else:
            self._cross.pop(name, None)
        self._resync()
        records: list[Event] = [*fills, *self._desk.after_fill(plan)]
        for record in records:
            self._emit(record)
        self._check_cross()
        return fills[-1]

    def _fill(
        self,
        now: float,
        plan: _Plan,
        q: float,
        fee: float,
        mode: MarginMode,
        lev: float,
        kind: str,
    ) -> Fill:
        self._seq += 1
        realized = plan.realized if kind in ("reduce", "close") else 0.0
        return Fill(
            seq=self._seq,
            time=now,
            market=plan.market,
            side=plan.side,
            size=q,
            price=plan.fill,
            fee=fee,
            mode=mode,
            leverage=lev,
            kind=kind,
            realized_pnl=realized,
            order_id=plan.order_id,
        )

    # ------------------------------------------------------------------ isolated margin

    def addable_margin(self, market: str) -> float:
        """The most :meth:`add_margin` would accept now: margin is posted in cash, so no more
        than the wallet holds, nor than is available to trade."""
        self._isolated(market, "add margin to")
        return max(0.0, min(self._available(), self._wallet))

    def add_margin(self, market: str, amount: float) -> MarginTransfer:
        pos = self._isolated(market, "add margin to")
        amount = check_number("Amount", amount)
        most = self.addable_margin(pos.market)
        if not amount <= most + _REL_TOL * max(1.0, most):
            raise OrderRejected(
                f"You can add at most {_money(max(most, 0.0))} to {pos.market}: that is what "
                f"your wallet can post now."
            )
        self._wallet -= amount
        pos.margin += amount
        pos.refresh()
        return self._transfer(pos.market, amount)

    def removable_margin(self, market: str) -> float:
        """The most isolated margin :meth:`remove_margin` would accept now."""
        pos = self._isolated(market, "remove margin from")
        mark = self._marks[pos.market]
        return mg.removable_margin(pos.margin, pos.upnl(mark), pos.q, mark, pos.lev)

    def remove_margin(self, market: str, amount: float) -> MarginTransfer:
        pos = self._isolated(market, "remove margin from")
        amount = check_number("Amount", amount)
        most = self.removable_margin(pos.market)
        if not amount <= most + _REL_TOL * max(1.0, most):
            raise OrderRejected(
                f"You can remove at most {_money(most)} from {pos.market}: the position must keep "
                f"its {_lev(pos.lev)} initial margin, covering any unrealized loss."
            )
        amount = min(amount, most)
        self._wallet += amount
        pos.margin -= amount
        pos.refresh()
        return self._transfer(pos.market, -amount)

    def _isolated(self, market: str, verb: str) -> _Pos:
        name = self._name(market)
        pos = self._positions.get(name)
        if pos is None:
            raise OrderRejected(f"There is no open {name} position to {verb}.")
        if pos.cross:
            raise OrderRejected(
                f"{name} is a Cross position: its margin is your whole cross balance, so there is "
                f"no margin of its own to {verb.split()[0]}."
            )
        return pos

    def _transfer(self, market: str, amount: float) -> MarginTransfer:
        self._seq += 1
        record = MarginTransfer(seq=self._seq, time=self._clock(), market=market, amount=amount)
        self._emit(record)
        self._check_cross()
        return record

    # ------------------------------------------------------------------ funding

    def apply_funding(self, market: str, rate: float | None = None) -> float:
        """Pay one funding interval on ``market`` at ``rate`` per hour (default: the rate last
        set with :meth:`set_funding_rate`). Returns what the position paid (negative: received);
        0 when no position is open there. Longs pay shorts when the rate is positive."""
        name = self._name(market)
        if rate is None:
            rate = self._funding_rates.get(name, 0.0)
        rate = self._rate(rate)
        pos = self._positions.get(name)
        if pos is None:
            return 0.0
        mark = self._marks[name]
        payment = mg.funding_payment(pos.s, pos.q, mark, rate)
        self._funding += payment
        if pos.cross:
            self._wallet -= payment
        else:
            pos.margin -= payment
            pos.refresh()
        self._seq += 1
        self._emit(
            FundingPayment(
                seq=self._seq,
                time=self._clock(),
                market=name,
                side=pos.side,
                size=pos.q,
                mark_price=mark,
                rate=rate,
                payment=payment,
                mode=pos.mode,
            )
        )
        if pos.cross:
            self._check_cross()
        elif mg.is_beyond(pos.s, mark, pos.liq):
            self._liquidate_isolated(pos)
        return payment

    # ------------------------------------------------------------------ liquidation

    def _check_cross(self) -> None:
        if self._cross and not self._wallet + self._buffer > 0.0:
            self._liquidate_cross()

    def _liquidate_isolated(self, pos: _Pos) -> None:
        self._desk.liquidating((pos.market,))  # its orders go first, in a step of their own
        mark = self._marks[pos.market]
        realized = max(pos.upnl(mark), -pos.margin)  # a loss never exceeds the margin posted
        forfeited = pos.margin + realized
        self._realized += realized
        self._forfeited += forfeited
        del self._positions[pos.market]
        self._group += 1
        self._seq += 1
        self._emit(
            self._liquidation(pos, mark, pos.margin, realized, forfeited),
        )

    def _liquidate_cross(self) -> None:
        self._desk.liquidating(tuple(self._cross))  # their orders go first, in a step of their own
        marks = self._marks
        victims = list(self._cross.values())
        upnls = [pos.upnl(marks[pos.market]) for pos in victims]
        total_upnl = math.fsum(upnls)
        lost = max(self._wallet, 0.0)
        realized_each = upnls
        if self._wallet > 0.0 and total_upnl < -self._wallet:
            # The marks gapped past bankruptcy: the loss stops at the cross balance.
            scale = -self._wallet / total_upnl
            realized_each = [u * scale for u in upnls]
        # What is left of the cross balance goes with the liquidation. Negative only when the
        # wallet itself was negative (realized cross losses): that debt is written off, and
        # the records still show each position's true PnL.
        forfeited_total = self._wallet + math.fsum(realized_each)
        notionals = [pos.q * marks[pos.market] for pos in victims]
        total_notional = math.fsum(notionals) or 1.0
        self._realized += math.fsum(realized_each)
        self._forfeited += forfeited_total
        self._wallet = 0.0
        for pos in victims:
            del self._positions[pos.market]
        self._cross.clear()
        self._buffer = 0.0
        self._group += 1
        for pos, realized, notional in zip(victims, realized_each, notionals, strict=True):
            share = notional / total_notional
            self._seq += 1
            self._emit(
                self._liquidation(
                    pos, marks[pos.market], lost * share, realized, forfeited_total * share
                )
            )

    def _liquidation(
        self, pos: _Pos, mark: float, lost: float, realized: float, forfeited: float
    ) -> Liquidation:
        return Liquidation(
            seq=self._seq,
            time=self._clock(),
            market=pos.market,
            side=pos.side,
            size=pos.q,
            entry_price=pos.entry,
            mark_price=mark,
            mode=pos.mode,
            leverage=pos.lev,
            margin_lost=lost,
            realized_pnl=realized,
            forfeited=forfeited,
            group=self._group,
            opened_at=pos.opened_at,
        )

    # ------------------------------------------------------------------ internals

    def _resync(self) -> None:
        """Recompute the cross buffer exactly (after any change of positions)."""
        marks = self._marks
        self._buffer = math.fsum(pos.buffer(marks[pos.market]) for pos in self._cross.values())

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        if self._holds:
            self._held.append(event)
            return
        for listener in self.listeners:
            listener(event)

    def _hold(self) -> None:
        """Start a step whose records listeners hear together, at :meth:`_release` (so the
        journal saves a triggered order and its fill as one)."""
        self._holds += 1

    def _release(self) -> None:
        self._holds -= 1
        if not self._holds and self._held:
            held, self._held = self._held, []
            for event in held:
                for listener in self.listeners:
                    listener(event)

    # ------------------------------------------------------------------ state for the journal

    def to_state(self) -> dict[str, Any]:
        """The account as plain data (JSON-ready): enough to rebuild it with :meth:`from_state`."""
        return {
            "deposits": self._deposits,
            "wallet": self._wallet,
            "realized": self._realized,
            "fees": self._fees,
            "funding": self._funding,
            "forfeited": self._forfeited,
            "seq": self._seq,
            "group": self._group,
            "marks": dict(self._marks),
            "positions": [
                {
                    "market": p.market,
                    "side": p.side.value,
                    "size": p.q,
                    "entry": p.entry,
                    "mode": p.mode.value,
                    "leverage": p.lev,
                    "margin": p.margin,
                    "opened_at": p.opened_at,
                }
                for p in self._positions.values()
            ],
            **self._desk.to_state(),
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        markets: Iterable[Market] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> PaperEngine:
        """Rebuild an account saved by :meth:`to_state`. Raises :class:`InvalidInput` (a
        ``ValueError``) when a figure is not a finite number or is out of the engine's bounds."""
        eng = cls(balance=state["deposits"], markets=markets, clock=clock)
        eng._wallet = to_float("Saved wallet", state["wallet"])
        eng._realized = to_float("Saved realized PnL", state["realized"])
        eng._fees = to_float("Saved fees", state["fees"])
        eng._funding = to_float("Saved funding", state["funding"])
        eng._forfeited = to_float("Saved forfeited", state["forfeited"])
        eng._seq = int(state["seq"])
        eng._group = int(state["group"])
        for name, price in state["marks"].items():
            if name in eng._markets:
                eng._marks[name] = eng._price(name, price)
        for raw in state["positions"]:
            name = eng._name(raw["market"])
            if name not in eng._marks:
                raise InvalidInput(f"Saved {name} position has no saved mark.")
            pos = _Pos(
                name,
                Side.parse(raw["side"]).sign,
                eng._size("Saved size", name, raw["size"]),
                eng._entry(name, raw["entry"]),
                MarginMode.parse(raw["mode"]),
                check_number("Leverage", raw["leverage"]),
                to_float("Saved margin", raw["margin"]),
                eng._markets[name].mmr,
                to_float("Saved opening time", raw["opened_at"]),
            )
            eng._positions[name] = pos
            if pos.cross:
                eng._cross[name] = pos
        eng._resync()
        eng._desk.restore(state.get("orders", ()), state.get("next_order_id", 1))
        return eng
