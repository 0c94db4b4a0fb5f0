"""Value types of the engine: sides, margin modes, markets, errors, records and read views."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
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


def margin_advice(available: float, leverage: float, max_leverage: float) -> str:
    """What to do about an order the account cannot margin: raising the leverage helps only
    when something is available and the leverage can still go up."""
    if not available > 0:
        return (
            "Nothing is available for new margin: close a position or cancel resting orders first."
        )
    if leverage < max_leverage:
        return "Lower the size or raise the leverage."
    return f"Lower the size (the leverage is already at its most, {max_leverage:g}x)."


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


TAKER_FEE = 0.00045
"""The default taker fee rate: Hyperliquid's base tier, 0.045 % (``Venue.taker_fee``)."""
MAKER_FEE = 0.00015
"""The default maker fee rate: Hyperliquid's base tier, 0.015 % (``Venue.maker_fee``)."""


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One row of a market's margin table: from ``notional_floor`` of position notional up.

    ``max_leverage`` is the most an order may use when the position it leaves falls in this
    tier. ``maintenance_rate=None`` means Hyperliquid's ``1 / (2 * max_leverage)``;
    ``maintenance_amount=None`` means the amount that keeps maintenance margin continuous
    across tiers (Hyperliquid's maintenance deduction, Binance's maintenance amount).
    """

    notional_floor: float
    max_leverage: float
    maintenance_rate: float | None = None
    maintenance_amount: float | None = None

    def __post_init__(self) -> None:
        floor = check_number("Tier notional floor", self.notional_floor, allow_zero=True)
        lev = check_number("Tier max leverage", self.max_leverage)
        if lev < 1:
            raise InvalidInput(f"A tier's max leverage must be at least 1, not {lev:g}.")
        if self.maintenance_rate is not None:
            rate = check_number("Tier maintenance rate", self.maintenance_rate)
            if rate >= 1:
                raise InvalidInput(f"A tier's maintenance rate must be below 100 %, not {rate!r}.")
        if self.maintenance_amount is not None:
            check_number("Tier maintenance amount", self.maintenance_amount, allow_zero=True)
        del floor

    @property
    def rate(self) -> float:
        """The maintenance rate, derived the Hyperliquid way when none was given."""
        if self.maintenance_rate is None:
            return mg.default_mmr(self.max_leverage)
        return float(self.maintenance_rate)


def _as_tier(value: object) -> MarginTier:
    if isinstance(value, MarginTier):
        return value
    if isinstance(value, Mapping):
        try:
            return MarginTier(**value)
        except TypeError as exc:
            raise InvalidInput(f"Not a margin tier: {value!r}.") from exc
    raise InvalidInput(f"Not a margin tier: {value!r}.")


def _resolve_tiers(
    name: str, max_leverage: float, mmr: float | None, raw: object
) -> tuple[MarginTier, ...]:
    """Tiers with every rate and amount filled in, checked (see :class:`Market`)."""
    if raw is None or (isinstance(raw, (tuple, list)) and not raw):
        rate = mg.default_mmr(max_leverage) if mmr is None else mmr
        return (MarginTier(0.0, max_leverage, rate, 0.0),)
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise InvalidInput(f"{name} tiers must be a list of margin tiers, not {raw!r}.")
    given = [_as_tier(t) for t in raw]
    if not given:  # pragma: no cover - handled above
        raise InvalidInput(f"{name} needs at least one margin tier.")
    if float(given[0].notional_floor) != 0.0:
        raise InvalidInput(f"{name}'s first margin tier must start at a notional of 0.")
    if float(given[0].max_leverage) != max_leverage:
        raise InvalidInput(
            f"{name}'s first margin tier allows {float(given[0].max_leverage):g}x but the market "
            f"says {max_leverage:g}x; they must be the same."
        )
    if mmr is not None and not math.isclose(given[0].rate, mmr, rel_tol=1e-12):
        raise InvalidInput(
            f"{name}'s maintenance margin rate {mmr!r} differs from its first tier's "
            f"{given[0].rate!r}; give one of them."
        )
    tiers: list[MarginTier] = []
    for i, tier in enumerate(given):
        floor, lev, rate = float(tier.notional_floor), float(tier.max_leverage), tier.rate
        if i == 0:
            expected = 0.0
        else:
            prev = tiers[-1]
            if floor <= float(prev.notional_floor):
                raise InvalidInput(f"{name}'s margin tiers must rise in notional floor.")
            if lev > float(prev.max_leverage):
                raise InvalidInput(f"{name}'s margin tiers must not raise max leverage.")
            expected = float(prev.maintenance_amount or 0.0) + floor * (
                rate - float(prev.maintenance_rate or 0.0)
            )
        amount = expected if tier.maintenance_amount is None else float(tier.maintenance_amount)
        if abs(amount - expected) > 1e-9 * max(1.0, floor):
            raise InvalidInput(
                f"{name}'s tier from {floor:,.0f} has maintenance amount {amount:,.2f}; "
                f"{expected:,.2f} keeps maintenance margin continuous."
            )
        tiers.append(MarginTier(floor, lev, rate, amount))
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class Market:
    """A perpetual market: ``Market("BTC", max_leverage=40, taker_fee=0.00045, ...)``.

    ``tiers`` is the margin table (Hyperliquid margin tiers, Binance leverage brackets); none
    means one tier at ``max_leverage`` with ``maintenance_margin_rate`` (default
    ``1 / (2 * max_leverage)``). After construction ``tiers`` always holds every tier with its
    rate and amount filled in. ``size_step`` is the lot size (Hyperliquid ``szDecimals``,
    Binance step size; None: any size); ``min_notional`` the smallest order value (None: the
    venue's); ``funding_interval_hours`` the hours between funding payments (None: the
    venue's). ``slippage`` is the fraction a market order fills away from the mark.
    """

    name: str
    max_leverage: float = 10
    taker_fee: float = TAKER_FEE
    maker_fee: float = MAKER_FEE
    maintenance_margin_rate: float | None = None
    slippage: float = 0.0
    tiers: tuple[MarginTier, ...] = ()
    size_step: float | None = None
    min_notional: float | None = None
    funding_interval_hours: float | None = None

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
        mmr: float | None = None
        if self.maintenance_margin_rate is not None:
            mmr = check_number(f"{self.name} maintenance margin rate", self.maintenance_margin_rate)
            if mmr >= 1:
                raise InvalidInput(
                    f"{self.name} maintenance margin rate must be below 100 %, not {mmr!r}."
                )
        if self.size_step is not None:
            check_number(f"{self.name} size step", self.size_step)
        if self.min_notional is not None:
            check_number(f"{self.name} minimum notional", self.min_notional, allow_zero=True)
        if self.funding_interval_hours is not None:
            hours = check_number(f"{self.name} funding interval", self.funding_interval_hours)
            if hours not in (1, 2, 4, 8):
                raise InvalidInput(
                    f"{self.name} funding interval must be 1, 2, 4 or 8 hours, not {hours:g}."
                )
        object.__setattr__(self, "tiers", _resolve_tiers(self.name, lev, mmr, self.tiers))

    @property
    def mmr(self) -> float:
        """The maintenance margin rate of the first tier (the only one of an untiered market)."""
        return float(self.tiers[0].maintenance_rate or 0.0)

    def tier_at(self, notional: float) -> MarginTier:
        """The tier whose maintenance rate applies at this position notional."""
        chosen = self.tiers[0]
        for tier in self.tiers[1:]:
            if notional >= tier.notional_floor:
                chosen = tier
            else:
                break
        return chosen

    def max_leverage_at(self, notional: float) -> float:
        """The most leverage a position of this notional may use: its tier's (a notional equal
        to a tier's floor still belongs to the tier below)."""
        chosen = self.tiers[0]
        for tier in self.tiers[1:]:
            if notional > tier.notional_floor:
                chosen = tier
            else:
                break
        return min(float(chosen.max_leverage), float(self.max_leverage))

    def maintenance_margin(self, notional: float) -> float:
        """``notional * rate - amount`` with the tier in force at that notional."""
        tier = self.tier_at(notional)
        return mg.tiered_maintenance(
            notional, float(tier.maintenance_rate or 0.0), float(tier.maintenance_amount or 0.0)
        )

    def round_size(self, size: float, *, down: bool = False) -> float:
        """``size`` on the market's size step: to the nearest step, or ``down`` to the one below.

        Coin and ``$`` sizes go through this one function, so both round the same way. A market
        without a step returns ``size`` unchanged.
        """
        if self.size_step is None:
            return float(size)
        return mg.round_to_step(float(size), float(self.size_step), down=down)


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
    # Execution (docs/rules.md, "Fills against the book"); 0 / "" in records from before books.
    mark_price: float = 0.0  # the mark when it filled
    spread_cost: float = 0.0  # paid against the mark up to the best level (or fixed slippage)
    impact_cost: float = 0.0  # paid beyond the best level, walking the book
    unfilled: float = 0.0  # on an order's last fill: the part the book could not fill
    pricing: str = ""  # "book", "mark", "stale"/"far" (book not used: at the mark), "limit"

    @property
    def slippage(self) -> float:
        """Fill price against the mark, as a fraction, signed against the trader (0 when the
        mark was not recorded)."""
        if self.mark_price <= 0.0:
            return 0.0
        return self.side.sign * (self.price - self.mark_price) / self.mark_price


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A position closed by the engine because its margin fell to maintenance.

    ``outcome`` says what the venue did (docs/rules.md, "Venues"):

    - ``"forfeit"`` (Binance): closed, and the position's whole margin (isolated) or the whole
      cross balance (cross) is lost;
    - ``"market"`` (Hyperliquid): closed at market; what is left stays with the trader;
    - ``"partial"`` (Hyperliquid): a 20 % slice closed at market, ``remaining_size`` stays open;
    - ``"backstop"`` (Hyperliquid): equity fell below two thirds of maintenance, and the
      backstop took the position(s) and all their margin.

    ``size`` is what was closed. ``margin_lost`` is what the trader lost with it (for a cross
    liquidation, its share by notional of the cross balance lost); ``returned`` what stayed
    with the trader (an isolated position's margin left, moved to the wallet; for a cross
    liquidation that closed every cross position, its share by notional of the cross balance
    left). Every position closed in one cross
    liquidation carries the same ``group``.

    ``remaining_size`` is what stays open: the rest after a 20 % slice, or (Hyperliquid, with
    an order book) the part of a market liquidation order the book could not take, which is
    also ``unfilled``. ``fill_price`` is the volume-weighted price it closed at and
    ``pricing`` how: ``"book"`` through the order book, else at the mark (``"mark"``, or
    ``"stale"`` / ``"far"`` when a book was there but not usable). ``margin`` is what was at
    stake just before (isolated: the position's margin; cross: the cross account value) and
    ``liquidation_price`` the position's liquidation price then (0: none). Records from
    before these fields carry 0 and "" (see :attr:`exit_price`).
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
    outcome: str = "forfeit"
    returned: float = 0.0
    remaining_size: float = 0.0
    venue: str = ""
    fill_price: float = 0.0
    pricing: str = ""
    unfilled: float = 0.0
    margin: float = 0.0
    liquidation_price: float = 0.0

    @property
    def mark(self) -> float:
        """The mark the position was liquidated at (same as ``mark_price``)."""
        return self.mark_price

    @property
    def exit_price(self) -> float:
        """The price it closed at: ``fill_price``, or the mark in a record from before books."""
        return self.fill_price if self.fill_price > 0.0 else self.mark_price

    @property
    def execution_cost(self) -> float:
        """What closing away from the mark cost, in money (> 0: worse than the mark)."""
        return self.side.sign * self.size * (self.mark_price - self.exit_price)

    @property
    def partial(self) -> bool:
        """True when part of the position stayed open (a slice, or a book that ran short)."""
        return self.remaining_size > 0.0


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """``payment`` > 0: the position paid it; < 0: the position received it.

    ``rate`` is the rate of this payment's whole interval (after any cap); ``funding_price``
    the price it was paid on when not the mark (Hyperliquid's oracle price).
    """

    seq: int
    time: float
    market: str
    side: Side
    size: float
    mark_price: float
    rate: float
    payment: float
    mode: MarginMode
    funding_price: float | None = None


@dataclass(frozen=True, slots=True)
class MarginTransfer:
    """Isolated margin moved between the wallet and a position (``amount`` > 0: added)."""

    seq: int
    time: float
    market: str
    amount: float


@dataclass(frozen=True, slots=True)
class LeverageChange:
    """An open position's leverage changed (:meth:`~tui.engine.PaperEngine.set_leverage`).

    ``margin`` is the position's margin after the change (isolated: the margin posted; cross:
    ``q * P / L`` at the mark then). ``margin_added`` is what the wallet posted to an isolated
    position whose lower leverage needed more (a :class:`MarginTransfer` of that amount comes
    just before this record); 0 otherwise. ``mark_price`` is the mark then and
    ``liquidation_price`` the position's liquidation price after the change (0: none, or a
    record from before these fields).
    """

    seq: int
    time: float
    market: str
    mode: MarginMode
    size: float
    leverage_before: float
    leverage: float
    margin: float
    margin_added: float = 0.0
    mark_price: float = 0.0
    liquidation_price: float = 0.0


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Something that happened to an order: ``action`` is "placed" (it rests), "triggered" (its
    trigger was reached), "partial" (a marketable limit took what the book held up to its
    price; the rest rests, a "placed" follows), "filled", "cancelled" or "rejected" (refused
    when it came to fill).

    The order's fields are copied as they stood at the event. ``mark_price`` is the mark then;
    ``fill_price`` (volume-weighted over its fills) and ``filled_size`` are set on "filled" and
    "partial"; ``reason`` says why an order was cancelled or rejected, what fired it, or why a
    market order filled only in part.
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


Event = Fill | Liquidation | FundingPayment | MarginTransfer | OrderEvent | LeverageChange


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
    requested_size: float = math.nan  # the size asked for, before rounding to the size step
    maintenance_margin: float = math.nan  # of the resulting position, at the mark
    max_leverage: float = math.nan  # the most the resulting notional's tier allows
    left_after_liquidation: float | None = None  # what a liquidation at the price would leave
    # Execution (docs/rules.md, "Fills against the book"): ``fill_price`` is the
    # volume-weighted average over the levels taken; ``filled_size`` what would fill now (the
    # rest of a market order is not filled; the rest of a limit order rests).
    filled_size: float = 0.0
    slippage: float = 0.0  # fill price against the mark, a fraction signed against the trader
    spread_cost: float = 0.0  # money paid against the mark up to the best level
    impact_cost: float = 0.0  # money paid beyond the best level
    pricing: str = "mark"  # "book", "mark", "stale"/"far" (book not used), "limit" (own price)
    # What a reduce, close or flip does to the position it closes (0 for an open or an add):
    # ``closed_size`` of it closes, ``realized_pnl`` is realized before the fee, and
    # ``margin_released`` comes back (isolated: that share of its posted margin; cross: that
    # share of ``q * P / L``).
    closed_size: float = 0.0
    realized_pnl: float = 0.0
    margin_released: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def rounded(self) -> bool:
        """True when the size was rounded to the market's size step."""
        return math.isfinite(self.requested_size) and self.requested_size != self.size

    @property
    def liquidation_distance(self) -> float | None:
        return mg.liquidation_distance(self.mark_price, self.liquidation_price)


@dataclass(frozen=True, slots=True)
class LeveragePreview:
    """What :meth:`~tui.engine.PaperEngine.set_leverage` would do, changing nothing.

    ``top_up`` is the isolated margin the wallet would post (lowering leverage); ``rejection``
    the message ``set_leverage`` would raise, else None.
    """

    market: str
    mode: MarginMode
    leverage_before: float
    leverage: float
    max_leverage: float
    margin_before: float
    margin_after: float
    top_up: float
    liquidation_price_before: float | None
    liquidation_price_after: float | None
    available_before: float
    available_after: float
    rejection: str | None

    @property
    def ok(self) -> bool:
        return self.rejection is None
