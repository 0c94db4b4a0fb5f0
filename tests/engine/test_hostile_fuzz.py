"""Fuzzing the engine API with hostile but finite numbers (issue 9, items 3, 7 and 8).

Random sessions mix ordinary trading with absurd marks (1e300, 1.8e308, 5e-324), absurd sizes
and amounts, and numbers of every real type (int, Decimal, Fraction, ints beyond floats).
Whatever happens, every figure the account shows stays finite, a refused call changes
nothing, the saved state is JSON without NaN, and reloading it gives the same account.

Sizes: see tests/fuzzing.py (PERPDESK_FUZZ=N for a longer run by hand).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from tests.engine.conftest import FakeClock
from tests.fuzzing import fuzz
from tui.engine import MarginMode, Market, OrderRejected, PaperEngine, Side
from tui.engine.limits import MAX_PRICE, MIN_PRICE

MARKETS = ("BTC", "ETH", "DOGE")
START = {"BTC": 100_000.0, "ETH": 4_000.0, "DOGE": 0.2}

EXTREMES = [
    1.7976931348623157e308,
    1e308,
    1e300,
    1e20,
    1e15,
    MAX_PRICE,
    MAX_PRICE * (1 + 1e-15),
    MIN_PRICE,
    MIN_PRICE * (1 - 1e-15),
    1e-12,
    1e-320,
    5e-324,
    0.0,
    -0.0,
    -1.0,
    -1e308,
]
finite = st.floats(allow_nan=False, allow_infinity=False)
hostile_float = st.one_of(st.sampled_from(EXTREMES), finite)
other_types = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(max_denominator=10**6),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([10**309, -(10**309), Fraction(10**400, 7), Decimal("1e400"), True]),
)
hostile = st.one_of(hostile_float, other_types)


def mostly(usual: st.SearchStrategy[Any], share: int = 8) -> st.SearchStrategy[Any]:
    """``usual`` ``share`` times in 10, else a hostile number: mostly sane input, so that
    positions and orders exist for the hostile numbers to hit."""
    return st.integers(0, 9).flatmap(lambda i: usual if i < share else hostile)


market = st.sampled_from(MARKETS)
side = st.sampled_from(list(Side))
mode = st.sampled_from(list(MarginMode))
usd = st.floats(min_value=1, max_value=50_000)  # an ordinary order, by value
amount = mostly(st.floats(min_value=1e-12, max_value=1_000), share=5)
leverage = mostly(st.integers(1, 25), share=5)
near = st.floats(min_value=-0.3, max_value=0.3).map(lambda x: ("near", x))  # by the mark
price_at = mostly(near)
tp_sl = mostly(st.one_of(st.none(), near))
order_size = mostly(usd.map(lambda v: ("usd", v)))

op = st.one_of(
    # ordinary trading, so that positions exist for the hostile numbers to hit
    st.tuples(st.just("open_usd"), market, side, usd, st.integers(1, 25), mode),
    st.tuples(st.just("move"), market, st.floats(min_value=-0.6, max_value=1.5)),
    # a huge move that stays within the price bounds: the engine applies it
    st.tuples(st.just("jump"), market, st.floats(min_value=-6, max_value=6)),
    # hostile numbers at every entry point
    st.tuples(st.just("mark"), market, hostile),
    st.tuples(st.just("open"), market, side, amount, leverage, mode),
    st.tuples(st.just("close"), market, st.one_of(st.none(), amount)),
    st.tuples(st.just("add_margin"), market, amount),
    st.tuples(st.just("remove_margin"), market, amount),
    st.tuples(st.just("funding"), market, hostile),
    st.tuples(st.just("funding_rate"), market, hostile),
    # resting orders: at a price near the mark (they fill as it moves), or at a hostile one
    st.tuples(
        st.just("limit"),
        market,
        side,
        order_size,
        st.one_of(near, hostile),
        st.integers(1, 25),
        mode,
    ),
    st.tuples(
        st.just("stop"),
        market,
        side,
        order_size,
        st.one_of(near, hostile),
        st.integers(1, 25),
        mode,
    ),
    st.tuples(st.just("tpsl"), market, tp_sl, tp_sl),
    st.tuples(st.just("cancel"), market),
)


def build(balance: object) -> PaperEngine | None:
    markets = [
        Market("BTC", max_leverage=40, taker_fee=0.00045),
        Market("ETH", max_leverage=25, taker_fee=0.00045),
        Market("DOGE", max_leverage=10, taker_fee=0.00045, slippage=0.001),
    ]
    try:
        eng = PaperEngine(balance=balance, markets=markets, clock=FakeClock())  # type: ignore[arg-type]
    except OrderRejected:
        return None
    for name, price in START.items():
        eng.set_mark(name, price)
    return eng


def figures(eng: PaperEngine) -> list[float]:
    account = eng.account
    out = [getattr(account, f) for f in account.__dataclass_fields__]
    for pos in eng.positions():
        out += [pos.size, pos.entry_price, pos.mark_price, pos.margin, pos.unrealized_pnl]
        out += [pos.maintenance_margin, pos.roe, pos.notional]
        if pos.liquidation_price is not None:
            out.append(pos.liquidation_price)
    for e in eng.events:
        out += [v for v in vars_of(e) if isinstance(v, float)]
    for order in eng.open_orders():
        out += [v for v in vars_of(order) if isinstance(v, float)]
    return out


def vars_of(record: object) -> list[object]:
    return [getattr(record, f) for f in record.__dataclass_fields__]  # type: ignore[attr-defined]


def apply(eng: PaperEngine, step: tuple[Any, ...]) -> None:
    kind, name = step[0], step[1]
    if kind == "open_usd":
        _, _, s, value, lev, m = step
        eng.open(name, s, value / eng.mark(name), lev, m)
    elif kind == "move":
        eng.set_mark(name, eng.mark(name) * (1 + step[2]))
    elif kind == "jump":
        price = eng.mark(name) * 10 ** step[2]
        eng.set_mark(name, min(max(price, MIN_PRICE), MAX_PRICE))
    elif kind == "mark":
        eng.set_mark(name, step[2])
    elif kind == "open":
        _, _, s, size, lev, m = step
        eng.preview(name, s, size, lev, m)  # never raises
        eng.open(name, s, size, lev, m)
    elif kind == "close":
        eng.close(name, step[2])
    elif kind == "add_margin":
        eng.add_margin(name, step[2])
    elif kind == "remove_margin":
        eng.remove_margin(name, step[2])
    elif kind == "funding":
        eng.apply_funding(name, step[2])
    elif kind in ("limit", "stop"):
        _, _, s, size, at, lev, m = step
        price = at_price(eng, name, at)
        if isinstance(size, tuple):  # a size by value at the mark
            size = size[1] / eng.mark(name)
        if kind == "limit":
            eng.preview_order(name, s, size, "limit", price=price, leverage=lev, mode=m)
            eng.place_order(name, s, size, "limit", price=price, leverage=lev, mode=m)
        else:
            eng.place_order(name, s, size, "stop_market", trigger_price=price, leverage=lev, mode=m)
    elif kind == "tpsl":
        eng.set_tp_sl(name, at_price(eng, name, step[2]), at_price(eng, name, step[3]))
    elif kind == "cancel":
        eng.cancel_orders(name)
    else:
        eng.set_funding_rate(name, step[2])


def at_price(eng: PaperEngine, name: str, at: object) -> Any:
    """A price ``("near", x)`` is the mark moved by ``x``; anything else is as drawn (of any
    type: hostile values reach the engine on purpose, hence ``Any``)."""
    if isinstance(at, tuple):
        return eng.mark(name) * (1 + at[1])
    return at


def close_enough(a: float, b: float, scale: float) -> bool:
    """Equal up to float noise, measured against the largest figure the account has held
    (a cross total moved tick by tick carries the rounding of its largest values)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale)


@fuzz(250)
@given(
    st.one_of(st.just(10_000.0), st.floats(min_value=100, max_value=1e12)),
    st.lists(op, min_size=5, max_size=40),
)
def test_fuzz_hostile_numbers_keep_every_figure_finite_and_the_state_reloadable(
    balance: object, steps: list[tuple[Any, ...]]
) -> None:
    eng = build(balance)
    assert eng is not None
    scale = 1.0
    for step in steps:
        before = (eng.to_state(), len(eng.events))
        try:
            apply(eng, step)
        except OrderRejected:
            assert (eng.to_state(), len(eng.events)) == before, step  # nothing changed
            event(f"{step[0]} refused")
        else:
            event(f"{step[0]} went through")
        values = figures(eng)
        assert all(math.isfinite(x) for x in values), step
        assert all(type(m) is float and MIN_PRICE <= m <= MAX_PRICE for m in eng.marks.values())
        scale = max([scale, *(abs(x) for x in values)])
    if eng.liquidations:
        event("liquidation")
    saved = json.loads(json.dumps(eng.to_state(), allow_nan=False))  # what the journal writes
    copy = PaperEngine.from_state(saved, markets=eng.markets.values())
    a, b = copy.account, eng.account
    for f in a.__dataclass_fields__:
        assert close_enough(getattr(a, f), getattr(b, f), scale), f
    assert [p.market for p in copy.positions()] == [p.market for p in eng.positions()]
    for p, q in zip(copy.positions(), eng.positions(), strict=True):
        for f in ("size", "entry_price", "mark_price", "margin", "unrealized_pnl"):
            assert close_enough(getattr(p, f), getattr(q, f), scale), f


@fuzz(300)
@given(hostile)
def test_fuzz_a_hostile_starting_balance_is_refused_or_kept_finite(balance: object) -> None:
    eng = build(balance)
    if eng is None:
        event("refused")
        return
    event("accepted")
    assert all(math.isfinite(x) for x in figures(eng))
    assert 0 < eng.account.deposits <= 1e12
