"""The record codec: engine records and the engine's state to JSON and back.

Writing never saves NaN or infinity (:class:`NonFiniteError`, naming where it is). Reading
checks every field's type, every number's finiteness and every time's range (a size saved as a
string, a bool, NaN, a number too large to hold, JSON nested too deeply): ``ValueError`` naming
the first field that is wrong, so a damaged record is refused, never formatted by a screen.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    LeverageChange,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    Order,
    OrderEvent,
    OrderType,
    Side,
)

_TYPES: dict[str, type[Event]] = {
    "fill": Fill,
    "liquidation": Liquidation,
    "funding": FundingPayment,
    "transfer": MarginTransfer,
    "order": OrderEvent,
    "leverage": LeverageChange,
}
_TYPE_NAMES = {cls: name for name, cls in _TYPES.items()}

T = TypeVar("T")


class NonFiniteError(ValueError):
    """A record or state to be saved holds NaN or infinity: the journal never writes one."""


def _non_finite(value: Any, where: str) -> str | None:
    """Where in ``value`` the first NaN or infinity is (``"state.positions[0].entry"``)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} = {value}"
    if isinstance(value, Mapping):
        items: Iterable[tuple[object, Any]] = value.items()
        return next((f for k, v in items if (f := _non_finite(v, f"{where}.{k}"))), None)
    if isinstance(value, list | tuple):
        pairs = enumerate(value)
        return next((f for i, v in pairs if (f := _non_finite(v, f"{where}[{i}]"))), None)
    return None


def _dump(value: Any, what: str = "state") -> str:
    """Compact JSON; :class:`NonFiniteError` (naming where) for NaN or infinity anywhere."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        found = _non_finite(value, what) or what
        raise NonFiniteError(
            f"the account holds a number that is not finite ({found}), and perpdesk never saves "
            "NaN or infinity"
        ) from None


def _load(text: object, what: str) -> Any:
    """JSON from the file; ``ValueError`` for anything unreadable (too deeply nested too)."""
    if not isinstance(text, str | bytes):
        raise ValueError(f"its {what} is not text")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"its {what} is nested too deeply") from None


def encode_event(event: Event) -> tuple[str, str]:
    """``(type, JSON payload)`` of an engine record; :func:`decode_event` gives it back equal.
    :class:`NonFiniteError` if the record holds NaN or infinity."""
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    kind = _TYPE_NAMES[type(event)]
    return kind, _dump(data, f"{kind} record {event.seq}")


def _number(value: object, what: str) -> float:
    """A finite real number as saved (an int or a float, never a string or a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int of more than 308 digits
        raise ValueError(f"{what} is a number too large to hold") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    return number


LAST_MOMENT: Final = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last moment a date can be shown for (and so saved)."""


def _moment(value: object, what: str) -> float:
    """A time as saved: epoch seconds a date can be shown for (1970 to the year 9999)."""
    seconds = _number(value, what)
    if not 0.0 <= seconds <= LAST_MOMENT:
        raise ValueError(f"{what} is {value!r}, not a time between 1970 and the year 9999")
    return seconds


_TIMES = frozenset(
    {"time", "opened_at", "created_at", "closed_at", "placed_at", "ended_at", "triggered_at"}
)


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not a whole number")
    if abs(value) >= 2**63:  # what SQLite's INTEGER holds
        raise ValueError(f"{what} is a whole number too large to hold")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not text")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} is {type(value).__name__} {value!r}, not true or false")
    return value


Convert = Callable[[object, str], Any]
_FIELD_TYPES: dict[str, Convert] = {
    "int": _whole,
    "float": _number,
    "str": _text,
    "bool": _flag,
    "Side": lambda value, what: Side(_text(value, what)),
    "MarginMode": lambda value, what: MarginMode(_text(value, what)),
    "OrderType": lambda value, what: OrderType(_text(value, what)),
    "OrderStatus": _text,  # "open", "filled", "cancelled": the engine checks which
}


def _converter(annotation: object, time: bool = False) -> Convert:
    """How a saved field of this type annotation is checked (``float | None`` too; ``time``:
    a number that must be a date that can be shown); a type with no entry here is a
    ``KeyError`` (``test_every_saved_field_has_a_check`` sees it)."""
    names = [part.strip() for part in str(annotation).split("|")]
    (name,) = [part for part in names if part != "None"]
    convert = _FIELD_TYPES[name]
    if time:
        if name != "float":
            raise KeyError(f"a time saved as {name}")
        convert = _moment
    if "None" not in names:
        return convert
    return lambda value, what: None if value is None else convert(value, what)


@functools.cache
def _checks(cls: Any) -> tuple[tuple[str, Convert], ...]:
    """Each field of ``cls`` with its check (worked out once per class)."""
    return tuple(
        (f.name, _converter(f.type, time=f.name in _TIMES)) for f in dataclasses.fields(cls)
    )


@functools.cache
def _required(cls: Any) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def _fields(value: Mapping[str, Any], cls: type, what: str) -> dict[str, Any]:
    """The fields of ``cls`` present in ``value``, each checked for its type (times must be
    dates that can be shown)."""
    return {
        name: convert(value[name], f"{what}'s {name}")
        for name, convert in _checks(cls)
        if name in value
    }


def decode_event(kind: str, payload: str) -> Event:
    """The engine record saved by :func:`encode_event`. ``ValueError`` if it is not one: every
    field is checked for its type (a size or time saved as a string, a bool, NaN or infinity
    is refused here, never later by a screen that formats it)."""
    cls = _TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown record type {kind!r}")
    raw = _load(payload, f"{kind} record")
    if not isinstance(raw, dict):
        raise ValueError(f"a {kind} record is not an object")
    return _build(cls, raw, f"a {kind} record")


def _build(cls: type[T], raw: Mapping[str, Any], what: str) -> T:
    """``cls`` from saved fields, each checked; ``ValueError`` for a required one missing."""
    kind: Any = cls
    for name in _required(kind):
        if name not in raw:
            raise ValueError(f"{what} has no {name}")
    return cls(**_fields(raw, cls, what))


def encode_row(row: Any, what: str) -> str:
    """A history row the journal keeps (a closed round trip, an order's row, an open round
    trip) as JSON; :class:`NonFiniteError` for NaN or infinity."""
    return _dump(row_fields(row), what)


def row_fields(row: Any) -> dict[str, Any]:
    """A dataclass row as the plain fields :func:`encode_row` saves."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def decode_row(cls: type[T], payload: object, what: str) -> T:
    """The row saved by :func:`encode_row`, every field checked as a record's are."""
    raw = _load(payload, what)
    if not isinstance(raw, dict):
        raise ValueError(f"{what} is not an object")
    return _build(cls, raw, what)


def decode_fields(cls: type[T], raw: object, what: str) -> T:
    """``cls`` from an already parsed JSON object (part of a larger saved value)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{what} is not an object")
    return _build(cls, raw, what)


_STATE_NUMBERS = ("deposits", "wallet", "realized", "fees", "funding", "forfeited")
_POSITION_NUMBERS = ("size", "entry", "leverage", "margin", "opened_at")


def check_state(state: object) -> dict[str, Any]:
    """A saved engine state (``PaperEngine.to_state()``) with every field of the right type
    and every number finite; ``ValueError`` naming the first that is not."""
    if not isinstance(state, dict):
        raise ValueError("the saved state is not an object")
    for key in _STATE_NUMBERS:
        _number(state.get(key), f"the saved {key}")
    for key in ("seq", "group"):
        _whole(state.get(key), f"the saved {key}")
    if state.get("cooldown_until") is not None:
        _number(state["cooldown_until"], "the saved cooldown")
    if "venue" in state:
        _text(state["venue"], "the saved venue")
    if "next_order_id" in state:
        _whole(state["next_order_id"], "the saved next order id")
    orders = state.get("orders", [])
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise ValueError("the saved orders are not a list of orders")
    for i, order in enumerate(orders):
        _fields(order, Order, f"saved order {i + 1}")
    marks = state.get("marks")
    if not isinstance(marks, dict):
        raise ValueError("the saved marks are not an object")
    for name, price in marks.items():
        _number(price, f"the saved {name} mark")
    positions = state.get("positions")
    if not isinstance(positions, list):
        raise ValueError("the saved positions are not a list")
    for i, position in enumerate(positions):
        if not isinstance(position, dict):
            raise ValueError(f"saved position {i + 1} is not an object")
        for key in ("market", "side", "mode"):
            _text(position.get(key), f"saved position {i + 1}'s {key}")
        for key in _POSITION_NUMBERS:
            check = _moment if key in _TIMES else _number
            check(position.get(key), f"saved position {i + 1}'s {key}")
    return state


@functools.lru_cache(maxsize=1024)
def _market_data(market: Market) -> dict[str, Any]:
    """A market as plain data (worked out once per market: it is saved with every record
    while a position or order holds it). The same dict each time: never change it."""
    return dataclasses.asdict(market)
