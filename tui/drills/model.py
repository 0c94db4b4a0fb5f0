"""A drill as data: :class:`Drill`, read from one TOML table by :func:`parse_drill`.

Every field is checked; the first that is wrong raises :class:`DrillError` naming the field
(``score.max_drawdown``) and saying what to write instead. The file format is described in
docs/drills.md; the shipped drills in ``tui/drills/data/`` are examples of every rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from tui.drills.scoring import (
    Drawdown,
    FinalEquity,
    FundingCap,
    Hold,
    LeastMargin,
    MarginRatio,
    Rule,
    StopLoss,
    SurviveSize,
    TakeProfit,
)
from tui.engine import MarginMode, Side, Venue
from tui.engine.models import OrderType
from tui.market.markets import MARKETS, MAX_FUNDING_RATE
from tui.market.scenarios import SCENARIOS, Keyframe, Scenario
from tui.safe import safe_text

__all__ = [
    "ALLOWED_SPEEDS",
    "RULE_KINDS",
    "BookOrder",
    "BookPosition",
    "Drill",
    "DrillError",
    "parse_drill",
    "parse_duration",
]

ALLOWED_SPEEDS: tuple[float, ...] = (1.0, 10.0, 60.0, 120.0, 360.0, 720.0, 1440.0)
"""Speeds a drill may offer (feed seconds per wall second): a day of funding at 1440x takes a
minute."""
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
"""A drill's name (its file name without ``.toml``): what ``--drill NAME`` takes."""
MAX_DURATION = 7 * 86_400.0
MAX_KEYFRAMES = 200
MAX_POSITIONS = 10
MAX_ORDERS = 20
MAX_HOLDS = 5

T = TypeVar("T")


class DrillError(ValueError):
    """A drill file that cannot be used: ``field`` (``score.max_drawdown``) and what is wrong
    with it. ``str(error)`` is one line, with control characters escaped."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(safe_text(f"{field}: {problem}" if field else problem))


@dataclass(frozen=True, slots=True)
class BookPosition:
    """A position open when the drill starts, bought at the start mark: ``notional`` USD (or
    ``size`` coins). ``margin`` (isolated) is the margin it is left with (the rest goes back
    to the wallet, or more is added)."""

    market: str
    side: Side
    leverage: float
    mode: MarginMode
    notional: float | None = None
    size: float | None = None
    margin: float | None = None


@dataclass(frozen=True, slots=True)
class BookOrder:
    """An order resting when the drill starts. ``at`` is its price as a move from the start
    mark (-0.05: 5 % below). ``kind``: limit, stop (stop market), take (take-profit market)."""

    market: str
    side: Side
    kind: OrderType
    at: float
    leverage: float
    mode: MarginMode
    notional: float | None = None
    size: float | None = None
    reduce_only: bool = False


@dataclass(frozen=True)
class Drill:
    """One drill: a scenario, a starting book, a goal, a clock and a scoring rule."""

    name: str
    title: str
    brief: str
    goal: str
    lesson: str
    time_limit: float
    """Feed seconds the drill runs at most."""
    speeds: tuple[float, ...]
    speed: float
    market: str
    """The market the drill is about (its mark path is drawn at the end)."""
    scenario: Scenario
    seed: int
    markets: tuple[str, ...]
    balance: float
    venue: Venue
    positions: tuple[BookPosition, ...]
    orders: tuple[BookOrder, ...]
    rule: Rule
    rule_kind: str
    origin: str = "shipped"
    """Where it comes from: ``"shipped"``, or the path of the user's file."""
    order: int = 1000
    """Place in the picker (shipped drills; a user's come after, by name)."""

    @property
    def shipped(self) -> bool:
        return self.origin == "shipped"


# --------------------------------------------------------------------------- reading fields


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return safe_text(text if len(text) <= 40 else text[:39] + "…")


class _Table:
    """One TOML table being read: typed getters that name the field when a value is wrong,
    and :meth:`done` to refuse keys nobody read (a typo must not pass silently)."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise DrillError(path, f"must be a table, not {_shown(data)}")
        self.data: dict[str, Any] = data
        self.path = path
        self.read: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, required: bool = True) -> Any:
        self.read.add(key)
        if key not in self.data:
            if required:
                raise DrillError(self.field(key), "is missing")
            return None
        return self.data[key]

    def text(self, key: str, limit: int, required: bool = True) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise DrillError(self.field(key), f"must be some text, not {_shown(value)}")
        if len(value) > limit:
            raise DrillError(self.field(key), f"is longer than {limit} characters")
        return safe_text(" ".join(value.split()))

    def number(
        self,
        key: str,
        lo: float,
        hi: float,
        required: bool = True,
        *,
        above: bool = False,
        what: str = "a number",
    ) -> float | None:
        value = self.get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DrillError(self.field(key), f"must be {what}, not {_shown(value)}")
        number = float(value)
        low_ok = number > lo if above else number >= lo
        if not math.isfinite(number) or not low_ok or number > hi:
            bound = f"above {lo:g}" if above else f"at least {lo:g}"
            raise DrillError(
                self.field(key), f"must be {what} {bound} and at most {hi:g}, not {_shown(value)}"
            )
        return number

    def duration(self, key: str, required: bool = True, *, zero: bool = False) -> float | None:
        value = self.get(key, required)
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise DrillError(self.field(key), str(exc)) from None
        if seconds == 0 and not zero:
            raise DrillError(self.field(key), "must be longer than no time at all")
        return seconds

    def choice(self, key: str, parse: Callable[[object], T], required: bool = True) -> T | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise DrillError(self.field(key), f"must be a word, not {_shown(value)}")
        try:
            return parse(value)
        except ValueError as exc:
            raise DrillError(self.field(key), str(exc).rstrip(".")) from None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise DrillError(self.field(key), f"must be true or false, not {_shown(value)}")
        return value

    def tables(self, key: str, limit: int) -> list[_Table]:
        value = self.get(key, required=False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise DrillError(self.field(key), "must be a list of tables ([[...]])")
        if len(value) > limit:
            raise DrillError(self.field(key), f"has more than {limit} entries")
        return [_Table(item, f"{self.field(key)}[{i + 1}]") for i, item in enumerate(value)]

    def done(self) -> None:
        extra = sorted(set(self.data) - self.read)
        if extra:
            raise DrillError(
                self.field(extra[0]), "is not a field perpdesk knows (a typo?); see docs/drills.md"
            )


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds (``90``) or text like ``"90s"``, ``"40m"``,
    ``"1h30m"``, ``"24h"``. ``ValueError`` says what to write instead."""
    hint = 'write seconds (90) or a time like "90s", "40m" or "1h30m"'
    if isinstance(value, bool):
        raise ValueError(f"must be a length of time: {hint}, not {_shown(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        found = _DURATION.fullmatch(text)
        if not text or found is None or not any(found.groups()):
            raise ValueError(f"must be a length of time: {hint}, not {_shown(value)}")
        h, m, s = (float(part) if part else 0.0 for part in found.groups())
        seconds = h * 3600 + m * 60 + s
    else:
        raise ValueError(f"must be a length of time: {hint}, not {_shown(value)}")
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_DURATION:
        raise ValueError(f"must be from 0 to 7 days, not {_shown(value)}")
    return seconds


def _market(name: object) -> str:
    if not isinstance(name, str) or name.strip().upper() not in MARKETS:
        raise ValueError(f"must be one of the simulated markets ({', '.join(MARKETS)})")
    return name.strip().upper()


def _speed_list(table: _Table) -> tuple[float, ...]:
    value = table.get("speeds", required=False)
    if value is None:
        return (1.0, 10.0, 60.0)
    allowed = ", ".join(f"{s:g}" for s in ALLOWED_SPEEDS)
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and float(v) in ALLOWED_SPEEDS
            for v in value
        )
    ):
        raise DrillError(table.field("speeds"), f"must be a list of speeds from {allowed}")
    return tuple(sorted({float(v) for v in value}))


# --------------------------------------------------------------------------- the scenario


def _pairs(table: _Table, key: str, what: str, lo: float, hi: float) -> tuple[Any, ...] | None:
    value = table.get(key, required=False)
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_KEYFRAMES:
        raise DrillError(
            table.field(key), f"must be a list of 1 to {MAX_KEYFRAMES} [minute, {what}] pairs"
        )
    out: list[tuple[float, float, str]] = []
    for i, item in enumerate(value):
        where = f"{table.field(key)}[{i + 1}]"
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise DrillError(where, f"must be [minute, {what}] or [minute, {what}, phase]")
        minute, level = item[0], item[1]
        for part, label, a, b in ((minute, "minute", 0.0, 10_080.0), (level, what, lo, hi)):
            if (
                isinstance(part, bool)
                or not isinstance(part, int | float)
                or not math.isfinite(float(part))
                or not a <= float(part) <= b
            ):
                raise DrillError(where, f"the {label} must be a number from {a:g} to {b:g}")
        phase = item[2] if len(item) == 3 else ""
        if not isinstance(phase, str) or len(phase) > 40:
            raise DrillError(where, "the phase must be a short text (40 characters at most)")
        out.append((float(minute), float(level), safe_text(phase)))
    minutes = [m for m, _, _ in out]
    if minutes[0] != 0 or minutes != sorted(minutes):
        raise DrillError(table.field(key), "must start at minute 0 and go forward in time")
    return tuple(out)


def _scenario(table: _Table, name: str, brief: str) -> Scenario:
    base_name = table.get("base", required=False)
    if base_name is not None:
        if not isinstance(base_name, str) or base_name.strip().lower() not in SCENARIOS:
            raise DrillError(
                table.field("base"), f"must be one of the scenarios: {', '.join(SCENARIOS)}"
            )
        base = SCENARIOS[base_name.strip().lower()]
    else:
        base = Scenario(name, brief, (Keyframe(0, 0.0),), ((0, 0.0000125),))
    keyframes = _pairs(table, "keyframes", "move", -0.95, 10.0)
    funding = _pairs(table, "funding", "rate", -MAX_FUNDING_RATE, MAX_FUNDING_RATE)
    if base_name is None and keyframes is None:
        raise DrillError(table.field("keyframes"), "is missing (or name a base scenario)")
    changes: dict[str, Any] = {"name": name, "teaches": brief}
    if keyframes is not None:
        changes["keyframes"] = tuple(Keyframe(m, move, phase) for m, move, phase in keyframes)
    if funding is not None:
        changes["funding"] = tuple((m, rate) for m, rate, _ in funding)
    for key, hi in (("alt_follow", 5.0), ("noise", 3.0)):
        value = table.number(key, 0.0, hi, required=False)
        if value is not None:
            changes[key] = value
    wave = table.get("wave", required=False)
    if wave is not None:
        if (
            not isinstance(wave, list)
            or len(wave) != 2
            or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in wave)
            or not 0 <= wave[0] <= 0.5
            or not 0 < wave[1] <= 10_080
        ):
            raise DrillError(
                table.field("wave"), "must be [amplitude 0-0.5, period in minutes above 0]"
            )
        changes["wave"] = (float(wave[0]), float(wave[1]))
    changes["liquidity"] = ((0.0, 1.0),)
    try:
        return replace(base, **changes)
    except ValueError as exc:
        raise DrillError(table.path, str(exc)) from None


# --------------------------------------------------------------------------- the book


def _size_fields(table: _Table) -> tuple[float | None, float | None]:
    notional = table.number("notional", 0.0, 1e9, required=False, above=True)
    size = table.number("size", 0.0, 1e9, required=False, above=True)
    if (notional is None) == (size is None):
        raise DrillError(table.path, "give one of notional (USD) and size (coins)")
    return notional, size


def _position(table: _Table, markets: Sequence[str]) -> BookPosition:
    market = table.choice("market", _market)
    assert market is not None
    if market not in markets:
        raise DrillError(table.field("market"), f"{market} is not one of the drill's markets")
    side = table.choice("side", Side.parse)
    mode = table.choice("mode", MarginMode.parse)
    leverage = table.number("leverage", 0.0, 200.0, above=True)
    notional, size = _size_fields(table)
    margin = table.number("margin", 0.0, 1e9, required=False, above=True)
    assert side is not None and mode is not None and leverage is not None
    if margin is not None and mode is not MarginMode.ISOLATED:
        raise DrillError(table.field("margin"), "applies to isolated positions only")
    table.done()
    return BookPosition(market, side, leverage, mode, notional, size, margin)


_ORDER_KINDS = {
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP_MARKET,
    "take": OrderType.TAKE_PROFIT_MARKET,
}


def _order_kind(value: object) -> OrderType:
    text = str(value).strip().lower()
    if text not in _ORDER_KINDS:
        raise ValueError("must be limit, stop or take")
    return _ORDER_KINDS[text]


def _order(table: _Table, markets: Sequence[str]) -> BookOrder:
    market = table.choice("market", _market)
    assert market is not None
    if market not in markets:
        raise DrillError(table.field("market"), f"{market} is not one of the drill's markets")
    side = table.choice("side", Side.parse)
    kind = table.choice("type", _order_kind)
    at = table.number("at", -0.95, 10.0, what="a move from the start mark (-0.05: 5 % below)")
    leverage = table.number("leverage", 0.0, 200.0, above=True)
    mode = table.choice("mode", MarginMode.parse)
    notional, size = _size_fields(table)
    reduce_only = table.boolean("reduce_only", False)
    assert side is not None and kind is not None and at is not None
    assert leverage is not None and mode is not None
    table.done()
    return BookOrder(market, side, kind, at, leverage, mode, notional, size, reduce_only)


# --------------------------------------------------------------------------- the score

_Param = Callable[[_Table, str], Any]


def _money(table: _Table, key: str) -> float | None:
    return table.number(key, -1e9, 1e9, what="an amount in USD")


def _positive_money(table: _Table, key: str) -> float | None:
    return table.number(key, 0.0, 1e9, above=True, what="an amount in USD")


def _fraction(table: _Table, key: str) -> float | None:
    return table.number(key, 0.0, 1.0, above=True, what="a fraction (0.08 = 8 %)")


def _seconds(table: _Table, key: str) -> float | None:
    return table.duration(key, zero=True)


def _optional_seconds(table: _Table, key: str) -> float:
    return table.duration(key, required=False, zero=True) or 0.0


def _market_param(table: _Table, key: str) -> str | None:
    return table.choice(key, _market)


def _side_param(table: _Table, key: str) -> Side | None:
    return table.choice(key, Side.parse)


def _mode_param(table: _Table, key: str) -> MarginMode | None:
    return table.choice(key, MarginMode.parse, required=False)


RULE_KINDS: dict[str, tuple[type[Rule], dict[str, _Param]]] = {
    "drawdown": (Drawdown, {"max_drawdown": _fraction}),
    "margin_ratio": (
        MarginRatio,
        {"below": _fraction, "shock_at": _seconds, "within": _seconds},
    ),
    "final_equity": (FinalEquity, {"target": _money, "excellent": _money}),
    "stop_loss": (
        StopLoss,
        {"market": _market_param, "budget": _positive_money, "not_before": _optional_seconds},
    ),
    "take_profit": (TakeProfit, {"target": _money, "excellent": _money}),
    "funding_cap": (FundingCap, {"max_funding": _positive_money}),
    "survive_size": (
        SurviveSize,
        {
            "market": _market_param,
            "side": _side_param,
            "at": _seconds,
            "min_notional": _positive_money,
            "excellent": _positive_money,
            "mode": _mode_param,
        },
    ),
    "least_margin": (
        LeastMargin,
        {"market": _market_param, "par": _money, "max_added": _positive_money},
    ),
}
"""The named rule kinds a drill's ``[score]`` may use, with their parameters (docs/drills.md)."""

_ABOVE = {
    # (higher, lower): the first must be above the second
    "final_equity": ("excellent", "target"),
    "take_profit": ("excellent", "target"),
    "survive_size": ("excellent", "min_notional"),
    "least_margin": ("max_added", "par"),
}


def _hold(table: _Table, markets: Sequence[str]) -> Hold:
    market = table.choice("market", _market, required=False)
    if market is not None and market not in markets:
        raise DrillError(table.field("market"), f"{market} is not one of the drill's markets")
    side = table.choice("side", Side.parse, required=False)
    notional = table.number("min_notional", 0.0, 1e9, above=True, what="an amount in USD")
    after = table.duration("after", required=False, zero=True)
    assert notional is not None
    table.done()
    return Hold(notional, market, side, after or 0.0)


def _rule(table: _Table, markets: Sequence[str]) -> tuple[str, Rule]:
    kind = table.get("rule")
    if not isinstance(kind, str) or kind not in RULE_KINDS:
        raise DrillError(table.field("rule"), f"must be one of {', '.join(RULE_KINDS)}")
    cls, params = RULE_KINDS[kind]
    values = {key: read(table, key) for key, read in params.items()}
    for key in ("market",):
        if values.get(key) is not None and values[key] not in markets:
            raise DrillError(table.field(key), f"{values[key]} is not one of the drill's markets")
    if kind in _ABOVE:
        hi, lo = _ABOVE[kind]
        if not values[hi] > values[lo]:
            raise DrillError(table.field(hi), f"must be more than {lo} ({values[lo]:g})")
    holds = tuple(_hold(t, markets) for t in table.tables("hold", MAX_HOLDS))
    loses = table.boolean("liquidation_loses", True)
    table.done()
    return kind, cls(hold=holds, liquidation_loses=loses, **values)


# --------------------------------------------------------------------------- the drill


def parse_drill(data: Mapping[str, Any], name: str, origin: str = "shipped") -> Drill:
    """A :class:`Drill` from a TOML document (``tomllib.loads``), named ``name``.

    Raises :class:`DrillError` for the first field that is missing or wrong. The starting
    book is checked against the engine only when the drill is built (see
    :func:`tui.drills.runner.check_drill`)."""
    if not NAME.fullmatch(name):
        raise DrillError(
            "",
            f"the name {_shown(name)} must be lower-case letters, digits and dashes (40 at most)",
        )
    top = _Table(dict(data), "")
    title = top.text("title", 60)
    brief = top.text("brief", 600)
    goal = top.text("goal", 300)
    lesson = top.text("lesson", 200)
    time_limit = top.duration("time_limit")
    speeds = _speed_list(top)
    speed = top.number("speed", 1.0, max(ALLOWED_SPEEDS), required=False)
    if speed is None:
        speed = speeds[0]
    elif speed not in speeds:
        raise DrillError("speed", f"must be one of speeds ({', '.join(f'{s:g}' for s in speeds)})")
    order = top.number("order", 0, 1000, required=False)
    assert title and brief and goal and lesson and time_limit is not None

    scenario_table = _Table(top.get("scenario"), "scenario")
    scenario = _scenario(scenario_table, name, brief)
    seed = scenario_table.number("seed", 0, 2**32 - 1, required=False, what="a whole number")
    if seed is not None and seed != int(seed):
        raise DrillError("scenario.seed", "must be a whole number")
    listed = scenario_table.get("markets", required=False)
    if listed is None:
        markets: tuple[str, ...] = ("BTC", "ETH", "SOL")
    else:
        if not isinstance(listed, list) or not 1 <= len(listed) <= len(MARKETS):
            raise DrillError("scenario.markets", "must be a list of market names")
        try:
            markets = tuple(dict.fromkeys(_market(m) for m in listed))
        except ValueError as exc:
            raise DrillError("scenario.markets", str(exc)) from None
    scenario_table.done()

    market = top.choice("market", _market, required=False) or markets[0]
    if market not in markets:
        raise DrillError("market", f"{market} is not one of the drill's markets")

    book = _Table(top.get("book"), "book")
    balance = book.number("balance", 100.0, 10_000_000.0, what="an amount in USD")
    venue = book.choice("venue", Venue.parse, required=False) or Venue.HYPERLIQUID
    positions = tuple(_position(t, markets) for t in book.tables("positions", MAX_POSITIONS))
    orders = tuple(_order(t, markets) for t in book.tables("orders", MAX_ORDERS))
    if len({p.market for p in positions}) != len(positions):
        raise DrillError("book.positions", "lists a market twice (one position per market)")
    book.done()
    assert balance is not None

    kind, rule = _rule(_Table(top.get("score"), "score"), markets)
    top.done()
    return Drill(
        name=name,
        title=title,
        brief=brief,
        goal=goal,
        lesson=lesson,
        time_limit=time_limit,
        speeds=speeds,
        speed=speed,
        market=market,
        scenario=scenario,
        seed=int(seed) if seed is not None else scenario.default_seed,
        markets=markets,
        balance=balance,
        venue=venue,
        positions=positions,
        orders=orders,
        rule=rule,
        rule_kind=kind,
        origin=origin,
        order=int(order) if order is not None else 1000,
    )
