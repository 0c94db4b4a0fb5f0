"""Value types of the engine: sides, margin modes, markets, errors, records and read views."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from tui.engine import margin as mg
from tui.engine.limits import MAX_LEVERAGE, MAX_PRICE, MIN_PRICE


class OrderRejected(ValueError):
    """An order or action the engine refused. The message says what a person can do about it.

    A rejected call leaves the engine exactly as it was.
    """


class InvalidInput(OrderRejected):
    """A malformed number, side, mode or market name (a kind of :class:`OrderRejected`)."""


class Side(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG

    @classmethod
    def parse(cls, value: object) -> Side:
        if isinstance(value, Side):
            return value
        text = str(value).strip().lower()
        aliases = {"long": cls.LONG, "buy": cls.LONG, "short": cls.SHORT, "sell": cls.SHORT}
        if text in aliases:
            return aliases[text]
        raise InvalidInput(f"Side must be long or short, not {value!r}.")


class OrderType(StrEnum):
    """How an order executes: at once (market), at a price (limit) or when the mark reaches a
    trigger (stop market, take-profit market). Rules: docs/rules.md, "Orders"."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    TAKE_PROFIT_MARKET = "take_profit_market"

    @property
    def label(self) -> str:
        return _ORDER_TYPE_LABELS[self]

    @property
    def is_trigger(self) -> bool:
        return self is OrderType.STOP_MARKET or self is OrderType.TAKE_PROFIT_MARKET

    @classmethod
    def parse(cls, value: object) -> OrderType:
        if isinstance(value, OrderType):
            return value
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        aliases = {
            "market": cls.MARKET,
            "limit": cls.LIMIT,
            "stop": cls.STOP_MARKET,
            "stop_market": cls.STOP_MARKET,
            "take_profit": cls.TAKE_PROFIT_MARKET,
            "take_profit_market": cls.TAKE_PROFIT_MARKET,
        }
        if text in aliases:
            return aliases[text]
        raise InvalidInput(
            f"Order type must be market, limit, stop market or take-profit market, not {value!r}."
        )


_ORDER_TYPE_LABELS = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP_MARKET: "Stop market",
    OrderType.TAKE_PROFIT_MARKET: "Take-profit market",
}


class MarginMode(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"

    @property
    def label(self) -> str:
        return "Isolated" if self is MarginMode.ISOLATED else "Cross"

    @classmethod
    def parse(cls, value: object) -> MarginMode:
        if isinstance(value, MarginMode):
            return value
        text = str(value).strip().lower()
        aliases = {"isolated": cls.ISOLATED, "iso": cls.ISOLATED, "cross": cls.CROSS}
        if text in aliases:
            return aliases[text]
        raise InvalidInput(f"Margin mode must be isolated or cross, not {value!r}.")


REAL = (numbers.Real, Decimal)
"""What the engine takes as a number (Decimal is not registered as a ``numbers.Real``)."""


def shown(value: object) -> str:
    """``value`` for an error message: short, one line, never a 300-digit string."""
    if isinstance(value, REAL) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ArithmeticError, ValueError, TypeError):
            if isinstance(value, numbers.Integral):
                digits = int(int(value).bit_length() * 0.30103) + 1
                return f"a {digits}-digit number"
            number = math.nan
        if math.isfinite(number):
            return repr(number).removesuffix(".0")  # the shortest exact form: 5e-324, 1e+308
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def to_float(name: str, value: object) -> float:
    """``value`` as a finite float if it is a real number (int, float, Decimal, Fraction, a
    numpy scalar...). Strings and bools are refused even when they look numeric: parsing user
    text is the caller's job. What does not convert (an int above 1e308) is refused too."""
    if isinstance(value, bool) or not isinstance(value, REAL):
        raise InvalidInput(f"{name} must be a number, not {shown(value)}.")
    try:
        number = float(value)
    except (ArithmeticError, ValueError, TypeError):
        number = math.nan
    if not math.isfinite(number):
        raise InvalidInput(f"{name} must be a finite number, not {shown(value)}.")
    return number


def check_number(name: str, value: object, *, allow_zero: bool = False) -> float:
    """``value`` as a float if it is a finite positive real number (or zero when allowed)."""
    number = to_float(name, value)
    if number < 0 or (number == 0 and not allow_zero):
        need = "zero or more" if allow_zero else "more than zero"
        raise InvalidInput(f"{name} must be {need}, not {shown(value)}.")
    return number


def check_price(name: str, value: object) -> float:
    """``value`` as a float if it is a price the engine takes (``MIN_PRICE`` to ``MAX_PRICE``):
    a mark, a limit or trigger price, a take-profit or stop-loss."""
    number = check_number(name, value)
    if not MIN_PRICE <= number <= MAX_PRICE:
        raise InvalidInput(
            f"{name} {shown(value)} is out of range: the engine takes prices from "
            f"{MIN_PRICE:.10f} to {MAX_PRICE:,.0f}."
        )
    return number


def check_range(name: str, value: object, low: float, high: float, unit: str = "") -> float:
    """``value`` as a float if it is a real number with ``low <= value <= high``."""
    number = to_float(name, value)
    if not low <= number <= high:
        raise InvalidInput(
            f"{name} {shown(value)}{unit} is out of range: the engine takes {low:g} to {high:g}."
        )
    return number


@dataclass(frozen=True, slots=True)
class Market:
    """A perpetual market: ``Market("BTC", max_leverage=40, taker_fee=0.00045, ...)``.

    ``maintenance_margin_rate=None`` means ``1 / (2 * max_leverage)``. ``slippage`` is the
    fraction a market order fills away from the mark (default none).
    """

    name: str
    max_leverage: float = 10
    taker_fee: float = 0.00045
    maker_fee: float = 0.00015
    maintenance_margin_rate: float | None = None
    slippage: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput(f"A market needs a name, not {self.name!r}.")
        lev = check_number(f"{self.name} max leverage", self.max_leverage)
        if not 1 <= lev <= MAX_LEVERAGE:
            raise InvalidInput(
                f"{self.name} max leverage must be at least 1 and at most {MAX_LEVERAGE:g}, "
                f"not {lev:g}."
            )
        for label, rate in (("taker fee", self.taker_fee), ("maker fee", self.maker_fee)):
            if check_number(f"{self.name} {label}", rate, allow_zero=True) >= 1:
                raise InvalidInput(f"{self.name} {label} must be below 100 %, not {rate!r}.")
        if check_number(f"{self.name} slippage", self.slippage, allow_zero=True) >= 1:
            raise InvalidInput(f"{self.name} slippage must be below 100 %, not {self.slippage!r}.")
        if self.maintenance_margin_rate is not None:
            mmr = check_number(f"{self.name} maintenance margin rate", self.maintenance_margin_rate)
            if mmr >= 1:
                raise InvalidInput(
                    f"{self.name} maintenance margin rate must be below 100 %, not {mmr!r}."
                )

    @property
    def mmr(self) -> float:
        if self.maintenance_margin_rate is None:
            return mg.default_mmr(self.max_leverage)
        return float(self.maintenance_margin_rate)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Fill:
    """One executed market order (or the part of one that opened, added, reduced or closed)."""

    seq: int
    time: float
    market: str
    side: Side  # the order's side
    size: float
    price: float
    fee: float
    mode: MarginMode
    leverage: float
    kind: str  # "open", "add", "reduce", "close"
    realized_pnl: float = 0.0
    order_id: int | None = None  # the order that filled (None: a plain open() / close())


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A position closed by the engine because its margin fell to maintenance.

    ``margin_lost`` is what the trader lost with it: an isolated position's whole margin, or
    for a cross liquidation its share (by notional) of the whole cross balance forfeited. Every
    position closed in one cross liquidation carries the same ``group``.
    """

    seq: int
    time: float
    market: str
    side: Side
    size: float
    entry_price: float
    mark_price: float
    mode: MarginMode
    leverage: float
    margin_lost: float
    realized_pnl: float
    forfeited: float
    group: int
    opened_at: float

    @property
    def mark(self) -> float:
        """The mark the position was liquidated at (same as ``mark_price``)."""
        return self.mark_price


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """``payment`` > 0: the position paid it; < 0: the position received it."""

    seq: int
    time: float
    market: str
    side: Side
    size: float
    mark_price: float
    rate: float
    payment: float
    mode: MarginMode


@dataclass(frozen=True, slots=True)
class MarginTransfer:
    """Isolated margin moved between the wallet and a position (``amount`` > 0: added)."""

    seq: int
    time: float
    market: str
    amount: float


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Something that happened to an order: ``action`` is "placed" (it rests), "triggered" (its
    trigger was reached), "filled", "cancelled" or "rejected" (refused when it came to fill).

    The order's fields are copied as they stood at the event. ``mark_price`` is the mark then;
    ``fill_price`` and ``filled_size`` are set on "filled"; ``reason`` says why an order was
    cancelled or rejected, or what fired it.
    """

    seq: int
    time: float
    action: str
    order_id: int
    market: str
    side: Side
    order_type: OrderType
    size: float
    price: float | None
    trigger_price: float | None
    leverage: float
    mode: MarginMode
    reduce_only: bool = False
    post_only: bool = False
    tpsl: str | None = None  # "tp" / "sl": a position's take-profit / stop-loss
    mark_price: float | None = None
    filled_size: float = 0.0
    fill_price: float | None = None
    reserved_margin: float = 0.0
    reason: str = ""


Event = Fill | Liquidation | FundingPayment | MarginTransfer | OrderEvent


# --------------------------------------------------------------------------- orders

OrderStatus = Literal["open", "filled", "cancelled"]


@dataclass(frozen=True, slots=True)
class Order:
    """An order placed with :meth:`PaperEngine.place_order`.

    Read-only to callers; the engine keeps it current: ``status`` ("open", "filled",
    "cancelled"), ``filled_size``, ``fill_price``, ``reserved_margin`` (the initial margin it
    holds back from ``available`` while it rests), ``reason`` (why it was cancelled or refused)
    and, for a position's take-profit / stop-loss (``tpsl`` "tp" / "sl"), ``size``, which
    follows the position. ``price`` is a limit order's price, ``trigger_price`` a stop or
    take-profit's trigger. ``take_profit`` / ``stop_loss`` are the triggers attached to the
    position when this order fills.
    """

    id: int
    market: str
    side: Side
    size: float
    order_type: OrderType
    price: float | None
    trigger_price: float | None
    leverage: float
    mode: MarginMode
    reduce_only: bool = False
    post_only: bool = False
    take_profit: float | None = None
    stop_loss: float | None = None
    tpsl: str | None = None
    created_at: float = 0.0
    status: OrderStatus = "open"
    filled_size: float = 0.0
    fill_price: float | None = None
    reserved_margin: float = 0.0
    reason: str = ""

    def __hash__(self) -> int:  # the engine updates an order in place: hash what never changes
        return hash(("order", self.id))

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def level(self) -> float:
        """The price that makes it execute: the limit price, else the trigger price."""
        price = self.price if self.price is not None else self.trigger_price
        return math.nan if price is None else price

    @property
    def label(self) -> str:
        """What kind of order it is, for a person: "Limit", "Stop loss", "Take profit", ..."""
        if self.tpsl == "tp":
            return "Take profit"
        if self.tpsl == "sl":
            return "Stop loss"
        return self.order_type.label


# --------------------------------------------------------------------------- read views


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as it stands at the current mark (computed on read)."""

    market: str
    side: Side
    size: float
    entry_price: float
    mark_price: float
    mode: MarginMode
    leverage: float
    margin: float  # isolated: posted margin M; cross: q * P / L
    unrealized_pnl: float
    maintenance_margin: float
    liquidation_price: float | None
    opened_at: float

    @property
    def notional(self) -> float:
        return mg.notional(self.size, self.mark_price)

    @property
    def roe(self) -> float:
        """Return on the margin the position was opened with, as a fraction."""
        base = mg.initial_margin(self.size, self.entry_price, self.leverage)
        return self.unrealized_pnl / base if base > 0 else 0.0

    @property
    def liquidation_distance(self) -> float | None:
        """How far the mark may move against the position before liquidation, as a fraction."""
        return mg.liquidation_distance(self.mark_price, self.liquidation_price)


@dataclass(frozen=True, slots=True)
class AccountView:
    wallet_balance: float
    equity: float
    available: float
    cross_account_value: float
    cross_maintenance_margin: float
    cross_margin_used: float
    margin_ratio: float
    isolated_margin: float
    unrealized_pnl: float
    realized_pnl: float
    fees_paid: float
    funding_paid: float
    forfeited: float
    deposits: float
    order_margin: float = 0.0  # initial margin held back by resting orders (not in available)


@dataclass(frozen=True, slots=True)
class Preview:
    """What an order would do, computed on a copy of the engine (nothing changes).

    ``rejection`` is None when the order would go through, else the exact message ``open``
    would raise. ``cross_liquidation_prices`` maps every other cross market whose liquidation
    price the order moves to ``(before, after)`` (None = no liquidation price).

    From :meth:`PaperEngine.preview_order`: a resting order (``rests``) is shown as it would be
    once filled at its own price (``fill_price``, ``liquidation_price``, ...), while
    ``available_after`` is what is left once it holds back ``reserved_margin``. ``warnings``
    are sentences for the trader (a stop-loss beyond the liquidation price, a cross stop that
    depends on other positions).
    """

    market: str
    side: Side
    size: float
    mode: MarginMode
    leverage: float
    fill_price: float
    notional: float
    margin_required: float
    fee: float
    liquidation_price: float | None
    rejection: str | None
    kind: str  # "open", "add", "reduce", "close", "flip"
    at_risk: float  # isolated: the position's margin after the order; cross: the cross balance
    available_before: float
    available_after: float
    mark_price: float
    locked_mode: MarginMode | None  # the mode of an open position in this market, if any
    cross_liquidation_prices: dict[str, tuple[float | None, float | None]] = field(
        default_factory=dict
    )
    resulting_size: float = 0.0
    resulting_entry: float | None = None
    order_type: OrderType = OrderType.MARKET
    rests: bool = False  # True: the order would rest (limit or trigger), not fill now
    reserved_margin: float = 0.0  # what a resting order holds back from available
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def liquidation_distance(self) -> float | None:
        return mg.liquidation_distance(self.mark_price, self.liquidation_price)
