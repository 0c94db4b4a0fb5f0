"""Orders beyond market: limit, stop market, take-profit market, reduce-only, post-only, and a
position's take-profit / stop-loss. Rules: docs/rules.md, "Orders".

:class:`OrderDesk` belongs to one :class:`~tui.engine.engine.PaperEngine` and works on its
internals; the engine calls it from a few hooks (a tick reaching an order, a fill, a
liquidation, the state for the journal) and its public order methods delegate here.

Speed: each market's resting orders sit in four lists sorted by the price that makes them
execute (triggers and limits, each on the way down and on the way up), nearest last. The engine
keeps, per market with open orders, the two *edges*: the highest price that sets anything off
on the way down and the lowest on the way up. A tick that stays strictly between them costs two
comparisons whatever the number of orders; only a tick that reaches an edge calls :meth:`tick`,
which takes the reached orders one by one, nearest first.
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final

from tui.engine import margin as mg
from tui.engine.models import (
    Event,
    InvalidInput,
    MarginMode,
    Order,
    OrderEvent,
    OrderRejected,
    OrderType,
    Preview,
    Side,
    check_number,
    check_price,
    margin_advice,
)

if TYPE_CHECKING:
    from tui.engine.engine import PaperEngine, _Plan, _Pos

_INF = math.inf
_REL_TOL = 1e-9


class _Keep:
    """The default of :meth:`PaperEngine.set_tp_sl`'s arguments: leave that one as it is."""

    _instance: _Keep | None = None

    def __new__(cls) -> _Keep:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


def _set(order: Order, **changes: Any) -> None:
    """Update an order in place (it is frozen to everyone but the engine)."""
    for name, value in changes.items():
        object.__setattr__(order, name, value)


def stop_beyond_liquidation(side: Side, stop: float, liquidation: float | None) -> bool:
    """Is a stop-loss at ``stop`` on a ``side`` position at or beyond its ``liquidation``
    price (a long's stop at or below it, a short's at or above), so that the liquidation
    comes first and the stop never fires? (docs/rules.md, rule 8 of the orders.)"""
    if liquidation is None:
        return False
    return stop <= liquidation if side is Side.LONG else stop >= liquidation


def _price(x: float) -> str:
    """A price for a message: thousands grouped, about six significant digits."""
    if not math.isfinite(x):
        return str(x)
    if x >= 10_000:
        decimals = 1
    elif x >= 1_000:
        decimals = 2
    elif x >= 1:
        decimals = 4
    else:
        decimals = min(8, 4 - math.floor(math.log10(x))) if x > 0 else 2
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _size(q: float, price: float) -> str:
    """A size for a message: enough decimals for about a cent of value at ``price``."""
    decimals = max(0, min(10, math.ceil(math.log10(max(price, 1e-12) * 100))))
    text = f"{q:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fires_down(order_type: OrderType, side: Side) -> bool:
    """True when the order executes as the mark falls to its level (``mark <= level``): a limit
    buy, a stop sell, a take-profit buy. Otherwise it executes as the mark rises to it."""
    if order_type is OrderType.STOP_MARKET:
        return side is Side.SHORT
    return side is Side.LONG  # a limit or take-profit buy waits below the mark


def reached(order_type: OrderType, side: Side, level: float, mark: float) -> bool:
    """Whether ``mark`` sets off an order of this type and side at ``level``."""
    return mark <= level if fires_down(order_type, side) else mark >= level


class _Book:
    """One market's open orders. Entries are ``(key, -id)``; in every list the nearest order is
    last (down lists: key = level, ascending; up lists: key = -level, ascending), and among
    orders at one level the oldest comes first."""

    __slots__ = ("down_lim", "down_trig", "orders", "up_lim", "up_trig")

    def __init__(self) -> None:
        self.down_trig: list[tuple[float, int]] = []
        self.up_trig: list[tuple[float, int]] = []
        self.down_lim: list[tuple[float, int]] = []
        self.up_lim: list[tuple[float, int]] = []
        self.orders: dict[int, Order] = {}

    def _slot(self, order: Order) -> tuple[list[tuple[float, int]], tuple[float, int]]:
        level = order.level
        down = fires_down(order.order_type, order.side)
        if order.order_type is OrderType.LIMIT:
            lst = self.down_lim if down else self.up_lim
        else:
            lst = self.down_trig if down else self.up_trig
        return lst, ((level if down else -level), -order.id)

    def add(self, order: Order) -> None:
        lst, key = self._slot(order)
        insort(lst, key)
        self.orders[order.id] = order

    def remove(self, order: Order) -> None:
        lst, key = self._slot(order)
        i = bisect_left(lst, key)
        if i < len(lst) and lst[i] == key:
            del lst[i]
        del self.orders[order.id]

    def edges(self) -> tuple[float, float]:
        """(the highest level set off by a falling mark, the lowest set off by a rising one)."""
        lo = max(
            self.down_trig[-1][0] if self.down_trig else -_INF,
            self.down_lim[-1][0] if self.down_lim else -_INF,
        )
        hi = min(
            -self.up_trig[-1][0] if self.up_trig else _INF,
            -self.up_lim[-1][0] if self.up_lim else _INF,
        )
        return lo, hi

    def next_reached(self, down_at: float, up_at: float, triggers: bool) -> Order | None:
        """The nearest trigger (or limit) order reached, else None: those that execute on the
        way down when ``down_at`` is at or below their level, those on the way up when
        ``up_at`` is at or above it. Triggers: both are the mark. Limits: the mark, or with a
        book the best ask (for buys, which wait below) and the best bid (for sells)."""
        down, up = (self.down_trig, self.up_trig) if triggers else (self.down_lim, self.up_lim)
        if down and down_at <= down[-1][0]:
            return self.orders[-down[-1][1]]
        if up and up_at >= -up[-1][0]:
            return self.orders[-up[-1][1]]
        return None


@dataclass(slots=True)
class _Ticket:
    """An order checked and normalised, before anything changes."""

    market: str
    side: Side
    size: float  # on the market's size step
    requested: float  # the size asked for
    order_type: OrderType
    price: float | None
    trigger: float | None
    leverage: float
    mode: MarginMode
    reduce_only: bool
    post_only: bool
    take_profit: float | None
    stop_loss: float | None
    mark: float
    now: bool  # executes at once (market, or a marketable limit)
    limit: float | None  # a marketable limit's price: it takes the book up to there
    reserve: float  # what it holds back while it rests (a marketable limit: its remainder)

    @property
    def level(self) -> float:
        price = self.price if self.price is not None else self.trigger
        return self.mark if price is None else price


class OrderDesk:
    """The order side of one engine: open orders, reserved margin, triggers and fills."""

    def __init__(self, engine: PaperEngine) -> None:
        self.eng = engine
        self.books: dict[str, _Book] = {}
        self.edges: dict[str, tuple[float, float]] = {}  # the engine reads this on every tick
        self.open: dict[int, Order] = {}  # every open order, oldest first
        self.bound: dict[tuple[str, str], Order] = {}  # (market, "tp"/"sl") -> position TP/SL
        self.next_id = 1
        self.reserved = 0.0  # sum of open orders' reserved_margin
        self._filling: Order | None = None  # the order whose plan is being applied
        # market -> (book, side sign): a marketable limit took that side of that book up to
        # its price and rests the rest; limits on that side wait for the next book.
        self._walked: dict[str, tuple[object, int]] = {}

    # ------------------------------------------------------------------ reading

    def orders(self, market: str | None = None) -> list[Order]:
        if market is None:
            return list(self.open.values())
        book = self.books.get(self.eng._name(market))
        return [] if book is None else sorted(book.orders.values(), key=lambda o: o.id)

    def order(self, order_id: object) -> Order | None:
        return self.open.get(self._id(order_id))

    def tp_sl(self, market: str) -> tuple[Order | None, Order | None]:
        name = self.eng._name(market)
        return self.bound.get((name, "tp")), self.bound.get((name, "sl"))

    # ------------------------------------------------------------------ book keeping

    def _add(self, order: Order) -> None:
        book = self.books.get(order.market)
        if book is None:
            book = self.books[order.market] = _Book()
        book.add(order)
        self.open[order.id] = order
        self.reserved += order.reserved_margin
        if order.tpsl is not None:
            self.bound[(order.market, order.tpsl)] = order
        self._edges(order.market)

    def _remove(self, order: Order) -> None:
        """Take an open order off the books and give back its reserved margin."""
        book = self.books[order.market]
        book.remove(order)
        del self.open[order.id]
        if order.tpsl is not None and self.bound.get((order.market, order.tpsl)) is order:
            del self.bound[(order.market, order.tpsl)]
        self.reserved = self.reserved - order.reserved_margin if self.open else 0.0
        _set(order, reserved_margin=0.0)
        if not book.orders:
            del self.books[order.market]
        self._edges(order.market)

    def _edges(self, market: str) -> None:
        """Publish the market's edges: in :attr:`edges`, and on its position (if any)."""
        book = self.books.get(market)
        if book is None:
            self.edges.pop(market, None)
            lo, hi = -_INF, _INF
        else:
            lo, hi = self.edges[market] = book.edges()
        pos = self.eng._positions.get(market)
        if pos is not None:
            pos.lo, pos.hi = lo, hi

    def _reserve_of(self, order: Order, pos: _Pos | None) -> float:
        """Initial margin an order holds back while it rests: ``q_open * level / L``.

        Only the part that would open or add counts; an add takes the position's leverage."""
        if order.reduce_only or order.tpsl is not None:
            return 0.0
        q, lev = order.size - order.filled_size, order.leverage
        if pos is not None:
            if pos.s == order.side.sign:
                lev = pos.lev
            else:
                q -= pos.q
                if q <= order.size * _REL_TOL:
                    return 0.0
        if q <= order.size * _REL_TOL:
            return 0.0
        return mg.initial_margin(q, order.level, lev)

    def reserved_at(self, market: str, leverage: float) -> float:
        """What the open orders in ``market`` would hold back if its position had this
        leverage (orders that add take the position's leverage). Changes nothing."""
        book = self.books.get(market)
        pos = self.eng._positions.get(market)
        if book is None or pos is None:
            return 0.0
        before = pos.lev
        pos.lev = leverage
        try:
            return math.fsum(self._reserve_of(order, pos) for order in book.orders.values())
        finally:
            pos.lev = before

    def position_changed(self, market: str) -> None:
        """The position in ``market`` changed or was replaced by a new object (size, leverage,
        side): its TP/SL follow its size, its orders' reserved margin is worked out again and
        the tick edges move onto it. The engine calls it after every fill; any other code that
        changes a position's size or leverage, or replaces it, must call it too."""
        self._edges(market)
        book = self.books.get(market)
        pos = self.eng._positions.get(market)
        if book is not None and pos is not None:
            for order in book.orders.values():
                if order.tpsl is not None:
                    _set(order, size=pos.q, leverage=pos.lev)
        self._rereserve(market)

    def _rereserve(self, market: str) -> None:
        """After the position in ``market`` changed: what each of its orders holds back."""
        book = self.books.get(market)
        if book is None:
            return
        pos = self.eng._positions.get(market)
        for order in book.orders.values():
            new = self._reserve_of(order, pos)
            if new != order.reserved_margin:
                self.reserved += new - order.reserved_margin
                _set(order, reserved_margin=new)

    # ------------------------------------------------------------------ events

    @contextlib.contextmanager
    def _step(self) -> Iterator[None]:
        """Listeners hear the records made inside at the end, together (one journal step)."""
        self.eng._hold()
        try:
            yield
        finally:
            self.eng._release()

    def _record(self, action: str, order: Order, reason: str = "", **extra: Any) -> OrderEvent:
        eng = self.eng
        eng._seq += 1
        return OrderEvent(
            seq=eng._seq,
            time=eng._clock(),
            action=action,
            order_id=order.id,
            market=order.market,
            side=order.side,
            order_type=order.order_type,
            size=order.size,
            price=order.price,
            trigger_price=order.trigger_price,
            leverage=order.leverage,
            mode=order.mode,
            reduce_only=order.reduce_only,
            post_only=order.post_only,
            tpsl=order.tpsl,
            mark_price=eng._marks.get(order.market),
            reason=reason,
            **extra,
        )

    def _emit(self, action: str, order: Order, reason: str = "", **extra: Any) -> None:
        self.eng._emit(self._record(action, order, reason, **extra))

    def _cancel(self, order: Order, reason: str, action: str = "cancelled") -> OrderEvent:
        """Cancel an open order; returns its record (not yet emitted)."""
        self._remove(order)
        _set(order, status="cancelled", reason=reason)
        return self._record(action, order, reason)

    # ------------------------------------------------------------------ checking an order

    @staticmethod
    def _id(order_id: object) -> int:
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            raise InvalidInput(f"An order id is a whole number, like 12, not {order_id!r}.")
        return order_id

    @staticmethod
    def _flag(name: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be True or False, not {value!r}.")
        return value

    def check(
        self,
        market: object,
        side: object,
        size: object,
        order_type: object,
        price: object,
        trigger_price: object,
        leverage: object,
        mode: object,
        reduce_only: object,
        post_only: object,
        take_profit: object,
        stop_loss: object,
    ) -> _Ticket:
        """The order as it would be placed; :class:`OrderRejected` if it would be refused."""
        eng = self.eng
        name = eng._name(market)
        side_ = Side.parse(side)
        otype = OrderType.parse(order_type)
        requested = check_number("Size", size)
        # On the market's size step, rounded as a market order's size is (a size below half a
        # step is refused by the engine's plan below, with the market order's message).
        q = eng._markets[name].round_size(requested) or requested
        ro = self._flag("reduce_only", reduce_only)
        po = self._flag("post_only", post_only)
        lim: float | None = None
        trig: float | None = None
        if otype is OrderType.LIMIT:
            lim = check_price("Limit price", price)
            if trigger_price is not None:
                raise InvalidInput("A limit order takes a price, not a trigger price.")
        elif otype.is_trigger:
            trig = check_price("Trigger price", trigger_price)
            if price is not None:
                raise InvalidInput(
                    f"A {otype.label.lower()} order fills at the mark when it fires; "
                    "it takes a trigger price, not a limit price."
                )
        elif price is not None or trigger_price is not None:
            raise InvalidInput(
                "A market order fills at the mark: give it no price and no trigger price "
                "(use a limit order to name a price)."
            )
        if po and otype is not OrderType.LIMIT:
            raise InvalidInput("Post-only applies to limit orders only.")
        lev_given = None if leverage is None else check_number("Leverage", leverage)
        mode_given = None if mode is None else MarginMode.parse(mode)
        tp = None if take_profit is None else check_price("Take-profit price", take_profit)
        sl = None if stop_loss is None else check_price("Stop-loss price", stop_loss)
        mark = eng._marks.get(name)
        if mark is None:
            raise OrderRejected(f"{name} has no price yet; wait for the feed and try again.")
        pos = eng._positions.get(name)
        buy = side_ is Side.LONG
        verb = "buy" if buy else "sell"

        if ro:
            if pos is None:
                raise OrderRejected(
                    f"There is no open {name} position for a reduce-only order to reduce."
                )
            if pos.s == side_.sign:
                held = pos.side.value
                raise OrderRejected(
                    f"A reduce-only {verb} would add to your {name} {held}; reduce-only orders "
                    f"go the other way ({'sell' if buy else 'buy'})."
                )
            if tp is not None or sl is not None:
                raise OrderRejected(
                    "Take-profit and stop-loss attach to an order that opens or adds to a "
                    "position, not to a reduce-only order."
                )
            lev, mode_ = pos.lev, pos.mode
        else:
            mode_ = mode_given or (pos.mode if pos is not None else MarginMode.ISOLATED)
            if lev_given is not None:
                lev = lev_given
            elif pos is not None:
                lev = pos.lev
            else:
                raise OrderRejected(f"Give this {name} order a leverage, like 10x.")

        now = otype is OrderType.MARKET
        level = lim if lim is not None else trig
        if otype.is_trigger:
            assert trig is not None
            if reached(otype, side_, trig, mark):
                down = fires_down(otype, side_)
                where = "at or below" if down else "at or above"
                raise OrderRejected(
                    f"This {otype.label.lower()} {verb} at {_price(trig)} would fire at once: "
                    f"the mark {_price(mark)} is already {where} it. Put its trigger "
                    f"{'below' if down else 'above'} the mark, or trade at market."
                )
        elif otype is OrderType.LIMIT:
            assert lim is not None
            top = eng._taker_top(name, side_)  # the best ask (bid) of a book, else the mark
            if reached(otype, side_, lim, top):  # marketable: takes the book up to its price
                if po:
                    what = "the mark" if top == mark else f"the best {'ask' if buy else 'bid'}"
                    raise OrderRejected(
                        f"Post-only: this limit {verb} at {_price(lim)} would take liquidity "
                        f"({what} {_price(top)} is {'at or below' if buy else 'at or above'} "
                        f"it), so it is refused. Put it {'below' if buy else 'above'} "
                        f"{what} to rest as a maker."
                    )
                now = True

        ticket = _Ticket(
            market=name,
            side=side_,
            size=q,
            requested=requested,
            order_type=otype,
            price=lim,
            trigger=trig,
            leverage=lev,
            mode=mode_,
            reduce_only=ro,
            post_only=po,
            take_profit=tp,
            stop_loss=sl,
            mark=mark,
            now=now,
            limit=lim if now else None,
            reserve=0.0,
        )
        plan = self.plan(ticket)
        if plan.rejection is not None:
            if not now and pos is not None and level is not None:
                liq = eng._view(pos).liquidation_price
                if liq is not None and mg.is_beyond(pos.s, level, liq):
                    raise OrderRejected(
                        f"Your {name} {pos.side.value} is liquidated at {_price(liq)}, before "
                        f"the mark could reach {_price(level)}: this order would never fill."
                    )
            raise OrderRejected(plan.rejection)
        if tp is not None or sl is not None:
            self._check_attached(ticket, plan, pos)
        rest = 0.0 if not now else (plan.unfilled if otype is OrderType.LIMIT else 0.0)
        if (not now or rest) and not ro:
            # A resting order (or the rest of a marketable limit, once its fill is done)
            # holds back its initial margin.
            probe = Order(0, name, side_, rest or q, otype, lim, trig, lev, mode_)
            if rest:
                reserve = self._reserve_of(probe, plan.new_pos)
                available = plan.available_after
                fee = mg.fee(rest, level or mark, eng._markets[name].maker_fee)
            else:
                reserve = self._reserve_of(probe, pos)
                available = eng._available()
                fee = plan.fee_open
            if reserve + fee > available + _REL_TOL * max(1.0, available):
                raise OrderRejected(
                    f"Not enough margin: this order holds back {_money(reserve)} while it "
                    f"rests (+ fee {_money(fee)} when it fills) but "
                    f"{_money(max(available, 0.0))} is available; "
                    f"{_money(reserve + fee - available)} is missing. "
                    + margin_advice(available, lev, plan.max_leverage)
                )
            ticket.reserve = reserve
        assert level is None or math.isfinite(level)
        return ticket

    def _check_attached(self, t: _Ticket, plan: _Plan, pos: _Pos | None) -> None:
        """A take-profit / stop-loss given with an opening order sits on the right side of its
        expected fill price, and the order leaves a position on its side."""
        new = plan.new_pos
        if new is None or new.s != t.side.sign:
            raise OrderRejected(
                f"This {('buy' if t.side is Side.LONG else 'sell')} only reduces your {t.market} "
                "position: a take-profit or stop-loss attaches to an order that opens or adds to "
                "a position."
            )
        ref = plan.fill
        long = t.side is Side.LONG
        held = "long" if long else "short"
        if t.take_profit is not None and (t.take_profit <= ref if long else t.take_profit >= ref):
            raise OrderRejected(
                f"A take-profit on a {held} must be {'above' if long else 'below'} its fill "
                f"price {_price(ref)}; {_price(t.take_profit)} is not."
            )
        if t.stop_loss is not None and (t.stop_loss >= ref if long else t.stop_loss <= ref):
            raise OrderRejected(
                f"A stop-loss on a {held} must be {'below' if long else 'above'} its fill "
                f"price {_price(ref)}; {_price(t.stop_loss)} is not."
            )

    def plan(self, t: _Ticket) -> _Plan:
        """The engine's plan of the order's fill: now, or at its own price if it rests (as if the
        mark were there). A reduce-only order is cut to the position."""
        eng = self.eng
        q = t.size
        if t.reduce_only:
            pos = eng._positions[t.market]
            q = min(q, pos.q)
        if t.now:
            return eng._plan(
                t.market, t.side, q, t.leverage, t.mode, limit=t.limit, reduce_only=t.reduce_only
            )
        with self.at_mark(t.market, t.level):
            return eng._plan(
                t.market,
                t.side,
                q,
                t.leverage,
                t.mode,
                fill=t.level,
                maker=t.order_type is OrderType.LIMIT,
                reduce_only=t.reduce_only,
            )

    @contextlib.contextmanager
    def at_mark(self, market: str, price: float) -> Iterator[None]:
        """The engine as if ``market``'s mark were ``price`` (restored on leaving)."""
        eng = self.eng
        old = eng._marks[market]
        buffer = eng._buffer
        pos = eng._positions.get(market)
        if pos is not None and pos.cross:  # exact across margin tiers (k is one tier's slope)
            eng._buffer = buffer + pos.buffer(price) - pos.buffer(old)
        eng._marks[market] = price
        try:
            yield
        finally:
            eng._marks[market] = old
            eng._buffer = buffer

    # ------------------------------------------------------------------ placing and cancelling

    def place(self, t: _Ticket) -> Order:
        eng = self.eng
        order = Order(
            id=self.next_id,
            market=t.market,
            side=t.side,
            size=t.size,
            order_type=t.order_type,
            price=t.price,
            trigger_price=t.trigger,
            leverage=t.leverage,
            mode=t.mode,
            reduce_only=t.reduce_only,
            post_only=t.post_only,
            take_profit=t.take_profit,
            stop_loss=t.stop_loss,
            created_at=eng._clock(),
        )
        self.next_id += 1
        with self._step():
            if t.now:
                self._execute(order, limit=t.limit)
                if order.status == "open":  # a marketable limit rests what the book lacked
                    self._rest_remainder(order)
            else:
                _set(order, reserved_margin=t.reserve)
                self._add(order)
                self._emit("placed", order, reserved_margin=order.reserved_margin)
        return order

    def _rest_remainder(self, order: Order) -> None:
        """A marketable limit took what the book held up to its price: the rest waits at its
        price (good till cancelled), for a book (or, without one, a mark) that reaches it."""
        eng = self.eng
        _set(order, reserved_margin=self._reserve_of(order, eng._positions.get(order.market)))
        self._add(order)
        for newer in [o for o in self.open.values() if o.id > order.id]:  # TP/SL it attached
            del self.open[newer.id]  # move behind it: open orders stay oldest first
            self.open[newer.id] = newer
        book = eng._books.get(order.market)
        if book is not None:
            self._walked[order.market] = (book, order.side.sign)
        left = order.size - order.filled_size
        self._emit(
            "placed",
            order,
            f"the rest, {_size(left, order.level)}, waits at {_price(order.level)}",
            reserved_margin=order.reserved_margin,
        )

    def cancel(self, order_id: object, reason: str = "cancelled by you") -> Order:
        oid = self._id(order_id)
        order = self.open.get(oid)
        if order is None:
            if 0 < oid < self.next_id:
                raise OrderRejected(f"Order {oid} is not open any more (filled or cancelled).")
            raise OrderRejected(f"There is no order {oid}.")
        with self._step():
            self.eng._emit(self._cancel(order, reason))
        return order

    def cancel_all(self, market: str | None = None) -> list[Order]:
        targets = self.orders(market)
        with self._step():
            for order in targets:
                self.eng._emit(self._cancel(order, "cancelled by you"))
        return targets

    def set_tp_sl(self, market: str, take_profit: object, stop_loss: object) -> list[Order]:
        eng = self.eng
        name = eng._name(market)
        pos = eng._positions.get(name)
        wanted: dict[str, float | None] = {}
        for kind, value, label in (
            ("tp", take_profit, "Take-profit"),
            ("sl", stop_loss, "Stop-loss"),
        ):
            if value is KEEP:
                continue
            wanted[kind] = None if value is None else check_price(f"{label} price", value)
        if pos is None:
            raise OrderRejected(
                f"There is no open {name} position to protect with a take-profit or stop-loss."
            )
        mark = eng._marks[name]
        for kind, price in wanted.items():
            if price is not None:
                self._check_bound(pos, kind, price, mark)
        with self._step():
            for kind, price in wanted.items():
                for record in self._bind(pos, kind, price):
                    eng._emit(record)
        return [o for o in self.tp_sl(name) if o is not None]

    def _check_bound(self, pos: _Pos, kind: str, price: float, mark: float) -> None:
        otype = OrderType.TAKE_PROFIT_MARKET if kind == "tp" else OrderType.STOP_MARKET
        side = pos.side.opposite
        if reached(otype, side, price, mark):
            label = "take-profit" if kind == "tp" else "stop-loss"
            down = fires_down(otype, side)
            where = "at or below" if down else "at or above"
            raise OrderRejected(
                f"A {label} at {_price(price)} on your {pos.market} {pos.side.value} would fire "
                f"at once: the mark {_price(mark)} is already {where} it. Put it "
                f"{'below' if down else 'above'} the mark."
            )

    def _bind(self, pos: _Pos, kind: str, price: float | None) -> list[Event]:
        """Set (or clear, with None) the position's take-profit or stop-loss; returns the
        records (a replaced one's cancellation, the new one's placing), not yet emitted."""
        out: list[Event] = []
        existing = self.bound.get((pos.market, kind))
        if existing is not None:
            if price is not None and existing.trigger_price == price:
                return out
            out.append(self._cancel(existing, "replaced" if price is not None else "cleared"))
        if price is None:
            return out
        order = Order(
            id=self.next_id,
            market=pos.market,
            side=pos.side.opposite,
            size=pos.q,
            order_type=OrderType.TAKE_PROFIT_MARKET if kind == "tp" else OrderType.STOP_MARKET,
            price=None,
            trigger_price=price,
            leverage=pos.lev,
            mode=pos.mode,
            reduce_only=True,
            tpsl=kind,
            created_at=self.eng._clock(),
        )
        self.next_id += 1
        self._add(order)
        out.append(self._record("placed", order))
        return out

    # ------------------------------------------------------------------ executing

    def _execute(
        self,
        order: Order,
        fill: float | None = None,
        maker: bool = False,
        limit: float | None = None,
    ) -> bool:
        """Fill an order (already off the books) now; True when it filled (maybe in part: see
        :meth:`after_fill`). A reduce-only order with nothing left to reduce is cancelled; one
        the engine refuses is "rejected"."""
        eng = self.eng
        name = order.market
        pos = eng._positions.get(name)
        q, lev, mode = order.size - order.filled_size, order.leverage, order.mode
        if order.reduce_only:
            if pos is None or pos.s == order.side.sign:
                _set(order, status="cancelled", reason="no position left to reduce")
                self._emit("cancelled", order, "no position left to reduce")
                return False
            q = pos.q if order.tpsl is not None else min(q, pos.q)
            lev, mode = pos.lev, pos.mode
        plan = eng._plan(
            name,
            order.side,
            q,
            lev,
            mode,
            fill=fill,
            maker=maker,
            limit=limit,
            reduce_only=order.reduce_only,
            check_minimum=False,  # the venue's minimum order is checked when it is placed
        )
        if plan.rejection is not None:
            _set(order, status="cancelled", reason=plan.rejection)
            self._emit("rejected", order, plan.rejection)
            return False
        plan.order_id = order.id
        self._filling = order
        try:
            eng._apply(plan)
        finally:
            self._filling = None
        return True

    def after_fill(self, plan: _Plan) -> list[Event]:
        """Called by the engine once a fill changed the position in ``plan.market`` (before the
        fill records are heard). Returns the order records that follow them: the filled
        order's, take-profit / stop-loss attached by it, and cancellations of reduce-only orders
        that no longer have anything to reduce (a position closed or flipped cancels its
        take-profit and stop-loss)."""
        name = plan.market
        records: list[Event] = []
        order = self._filling
        if order is not None and order.id == plan.order_id:
            before = order.filled_size
            total = before + plan.size
            price = plan.fill
            if before and order.fill_price is not None:  # the rest of a marketable limit
                price = (before * order.fill_price + plan.size * plan.fill) / total
            if plan.unfilled and order.order_type is OrderType.LIMIT:
                # the book held too little up to its price: the rest rests (_rest_remainder)
                action, status = "partial", "open"
                why = "the book held no more up to its price"
            else:
                action, status = "filled", "filled"
                why = ""
                if plan.unfilled:  # a market order (or a fired stop) is immediate-or-cancel
                    why = (
                        f"{_size(total, price)} of {_size(order.size, price)} filled: the book "
                        "held no more within the slippage limit; the rest is not filled"
                    )
            _set(order, status=status, filled_size=total, fill_price=price)
            records.append(self._record(action, order, why, filled_size=total, fill_price=price))
        else:
            order = None
        pos = self.eng._positions.get(name)
        book = self.books.get(name)
        if book is not None:
            for other in list(book.orders.values()):
                if (other.reduce_only or other.tpsl is not None) and (
                    pos is None or pos.s == other.side.sign
                ):
                    why = "position closed" if pos is None else "position flipped"
                    records.append(self._cancel(other, why))
        self.position_changed(name)
        if order is not None and pos is not None and pos.s == order.side.sign:
            for kind, level in (("tp", order.take_profit), ("sl", order.stop_loss)):
                if level is not None:  # the position's TP/SL from now on
                    records.extend(self._bind(pos, kind, level))
        return records

    def liquidating(self, markets: Sequence[str]) -> None:
        """A liquidation is about to close the positions in ``markets``: cancel every open order
        there first (one step of their own, before the liquidation's records)."""
        targets = [o for name in markets if name in self.books for o in self.orders(name)]
        if not targets:
            return
        with self._step():
            for order in targets:
                self.eng._emit(self._cancel(order, "position liquidated"))

    def tick(self, market: str, mark: float) -> None:
        """The mark of ``market`` reached an order (or its book changed): triggers fire (as
        market orders), then resting limits the mark (with a usable book: its best ask or
        bid) reaches fill (at their own price, as makers), nearest first, each a step of its
        own; then the liquidation check runs again."""
        eng = self.eng
        while True:
            book = self.books.get(market)
            if book is None:
                break
            order = book.next_reached(mark, mark, triggers=True)
            if order is not None:
                self._fire(order, mark)
                continue
            ask, bid = self._limit_prices(market, mark)
            order = book.next_reached(ask, bid, triggers=False)
            if order is None:
                break
            with self._step():
                self._remove(order)
                self._execute(order, fill=order.price, maker=True)
        pos = eng._positions.get(market)
        if pos is not None:
            if pos.cross:
                eng._check_cross()
            elif mg.is_beyond(pos.s, mark, pos.liq):
                eng._liquidate_isolated(pos)

    def _limit_prices(self, market: str, mark: float) -> tuple[float, float]:
        """What resting limits are compared with: (for buys, for sells). With a usable book
        its best ask and best bid (a buy fills when sellers come down to its price), else the
        mark. A side a marketable limit just took up to its price waits for the next book."""
        eng = self.eng
        book, _, _ = eng._usable_book(market, mark)
        if book is None:
            return mark, mark
        ask = book.ask_prices[0] if book.ask_prices else _INF
        bid = book.bid_prices[0] if book.bid_prices else -_INF
        walked = self._walked.get(market)
        if walked is not None:
            if walked[0] is not book:
                del self._walked[market]
            elif walked[1] > 0:
                ask = _INF
            else:
                bid = -_INF
        return ask, bid

    def _fire(self, order: Order, mark: float) -> None:
        with self._step():
            self._remove(order)
            what = {"tp": "take-profit", "sl": "stop-loss"}.get(order.tpsl or "", "trigger")
            self._emit(
                "triggered",
                order,
                f"the mark {_price(mark)} reached the {what} {_price(order.level)}",
            )
            if order.tpsl is not None:  # one cancels the other
                sibling = self.bound.get((order.market, "sl" if order.tpsl == "tp" else "tp"))
                if sibling is not None:
                    self.eng._emit(self._cancel(sibling, f"its {what} fired"))
            self._execute(order)

    # ------------------------------------------------------------------ warnings

    def stop_warnings(
        self, market: str, side: Side, stop: float, liquidation: float | None, cross: bool
    ) -> list[str]:
        """What a trader should know about a stop-loss at ``stop`` on a position (``side``,
        ``liquidation`` price, margin mode) in ``market``."""
        out: list[str] = []
        long = side is Side.LONG
        if liquidation is not None and stop_beyond_liquidation(side, stop, liquidation):
            out.append(
                f"Your stop at {_price(stop)} is at or beyond this {side.value}'s liquidation "
                f"price {_price(liquidation)}: you would be liquidated before your stop fires. "
                f"Put the stop {'above' if long else 'below'} {_price(liquidation)}, or use "
                "less leverage."
            )
        if cross:
            others = [name for name in self.eng._cross if name != market]
            if others:
                shown = ", ".join(others[:4]) + (" and more" if len(others) > 4 else "")
                out.append(
                    f"This is a Cross position: its liquidation price moves with your other "
                    f"cross positions ({shown}). If they lose, it comes closer and can pass "
                    "your stop before the stop fires."
                )
        return out

    def preview(self, t: _Ticket) -> Preview:
        eng = self.eng
        if t.now:
            base = eng._preview_plan(self.plan(t), rest_at=t.limit)
            available = base.available_after - t.reserve  # the rest of a marketable limit
            before = base.available_before
        else:
            before = eng._available()
            plan = self.plan(t)
            with self.at_mark(t.market, t.level):
                base = eng._preview_plan(plan)
            available = before - t.reserve
        base = replace(
            base,
            mark_price=t.mark,
            order_type=t.order_type,
            rests=not t.now,
            reserved_margin=t.reserve,
            available_before=before,
            available_after=available,
            requested_size=t.requested,
        )
        warnings: list[str] = []
        if t.stop_loss is not None and base.resulting_size > 0:
            warnings += self.stop_warnings(
                t.market, t.side, t.stop_loss, base.liquidation_price, base.mode is MarginMode.CROSS
            )
        pos = eng._positions.get(t.market)
        if (
            t.order_type is OrderType.STOP_MARKET
            and pos is not None
            and pos.s != t.side.sign
            and (t.reduce_only or t.size <= pos.q * (1 + _REL_TOL))
        ):
            assert t.trigger is not None
            view = eng._view(pos)
            warnings += self.stop_warnings(
                t.market, pos.side, t.trigger, view.liquidation_price, pos.cross
            )
        return replace(base, warnings=[*base.warnings, *warnings])

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict[str, Any]:
        """The open orders as plain data (enums as their values), and the next order id."""
        names = [f.name for f in fields(Order)]

        def plain(value: object) -> object:
            return value.value if isinstance(value, Side | MarginMode | OrderType) else value

        return {
            "next_order_id": self.next_id,
            "orders": [
                {name: plain(getattr(order, name)) for name in names}
                for order in self.open.values()
            ],
        }

    def restore(self, raw_orders: Sequence[Mapping[str, Any]], next_id: object) -> None:
        """Put saved open orders back (after the positions). ``InvalidInput`` if one is bad."""
        eng = self.eng
        top = 0
        for raw in raw_orders:
            order = self._from_raw(raw)
            if order.id in self.open or order.id <= 0:
                raise InvalidInput(f"Saved order {order.id} is numbered twice or below 1.")
            if order.market not in eng._marks:
                raise InvalidInput(f"Saved {order.market} order {order.id} has no saved mark.")
            if order.tpsl is not None and (order.market, order.tpsl) in self.bound:
                raise InvalidInput(f"Saved {order.market} position has two {order.tpsl} orders.")
            self._add(order)
            top = max(top, order.id)
        saved_next = next_id if isinstance(next_id, int) and not isinstance(next_id, bool) else 1
        self.next_id = max(saved_next, top + 1)
        for name in list(self.books):
            self._rereserve(name)

    def _from_raw(self, raw: Mapping[str, Any]) -> Order:
        eng = self.eng
        otype = OrderType.parse(raw["order_type"])
        oid = self._id(raw["id"])

        def opt(label: str, value: object) -> float | None:
            return None if value is None else check_price(label, value)

        price = opt("Limit price", raw.get("price"))
        trigger = opt("Trigger price", raw.get("trigger_price"))
        if (otype is OrderType.LIMIT) != (price is not None) or otype.is_trigger != (
            trigger is not None
        ):
            raise InvalidInput(f"Saved order {oid} has prices that do not fit its type.")
        if otype is OrderType.MARKET:
            raise InvalidInput(f"Saved order {oid} is a market order; those never rest.")
        tpsl = raw.get("tpsl")
        if tpsl not in (None, "tp", "sl"):
            raise InvalidInput(f"Saved order {oid} has an unknown role {tpsl!r}.")
        status = raw.get("status", "open")
        if status != "open":
            raise InvalidInput(f"Saved order {oid} is {status!r}, not open.")
        return Order(
            id=oid,
            market=eng._name(raw["market"]),
            side=Side.parse(raw["side"]),
            size=check_number("Size", raw["size"]),
            order_type=otype,
            price=price,
            trigger_price=trigger,
            leverage=check_number("Leverage", raw["leverage"]),
            mode=MarginMode.parse(raw["mode"]),
            reduce_only=self._flag("reduce_only", raw.get("reduce_only", False)),
            post_only=self._flag("post_only", raw.get("post_only", False)),
            take_profit=opt("Take-profit price", raw.get("take_profit")),
            stop_loss=opt("Stop-loss price", raw.get("stop_loss")),
            tpsl=tpsl,
            created_at=check_number("Order time", raw.get("created_at", 0.0), allow_zero=True),
            filled_size=check_number("Filled size", raw.get("filled_size", 0.0), allow_zero=True),
            fill_price=opt("Fill price", raw.get("fill_price")),
        )
