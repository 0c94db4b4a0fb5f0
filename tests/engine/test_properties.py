"""Property tests over random sessions of orders, transfers, funding and marks."""

from __future__ import annotations

import contextlib
import math
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import make_engine
from tui.engine import Liquidation, MarginMode, OrderRejected, PaperEngine, Side

MARKETS = ("BTC", "ETH", "SOL")
BASE = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0}
MAX_LEV = {"BTC": 40, "ETH": 25, "SOL": 20}

market = st.sampled_from(MARKETS)
side = st.sampled_from(list(Side))
mode = st.sampled_from(list(MarginMode))
notional = st.floats(min_value=10, max_value=60_000)
leverage = st.integers(min_value=1, max_value=40)

move = st.integers(min_value=-25, max_value=25).map(lambda pct: pct / 100)
op = st.one_of(
    st.tuples(st.just("open"), market, side, notional, leverage, mode),
    st.tuples(st.just("close"), market, st.floats(min_value=0.05, max_value=1.0)),
    st.tuples(st.just("add_margin"), market, st.floats(min_value=1, max_value=3_000)),
    st.tuples(st.just("remove_margin"), market, st.floats(min_value=1, max_value=3_000)),
    st.tuples(st.just("funding"), market, st.floats(min_value=-0.002, max_value=0.002)),
    st.tuples(st.just("bad"), market, st.sampled_from([math.nan, math.inf, -1.0, 0.0])),
)
# Each step is an action followed by a mark move, so sessions reach liquidations often.
step_st = st.tuples(op, st.tuples(st.just("mark"), market, move))


def snapshot(eng: PaperEngine) -> tuple[Any, int]:
    return eng.to_state(), len(eng.events)


def same(a: object, b: object) -> bool:
    """Two views equal field by field, floats to 1e-9 relative."""
    for name in a.__dataclass_fields__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif x != y:
            return False
    return True


def conserved(eng: PaperEngine) -> None:
    a = eng.account
    left = a.deposits + a.realized_pnl - a.fees_paid - a.funding_paid - a.forfeited
    right = a.wallet_balance + a.isolated_margin
    assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-6), (left, right)


def run(eng: PaperEngine, step: tuple[Any, ...]) -> None:
    kind, name = step[0], step[1]
    before = snapshot(eng)
    wallet = eng.account.wallet_balance
    pos = eng.position(name)
    try:
        if kind == "open":
            _, _, s, usd, lev, m = step
            size = usd / eng.mark(name)  # type: ignore[operator]
            lev = min(lev, MAX_LEV[name])
            preview = eng.preview(name, s, size, lev, m)
            assert snapshot(eng) == before
            try:
                eng.open(name, s, size, lev, m)
            except OrderRejected as exc:
                assert preview.rejection == str(exc)
                raise
            assert preview.rejection is None
        elif kind == "close":
            if pos is None:
                eng.close(name)
            else:
                eng.close(name, pos.size * step[2])
        elif kind == "add_margin":
            eng.add_margin(name, step[2])
        elif kind == "remove_margin":
            eng.remove_margin(name, step[2])
        elif kind == "funding":
            eng.apply_funding(name, step[2])
        elif kind == "mark":
            n_liq = len(eng.liquidations)
            eng.set_mark(name, eng.mark(name) * (1 + step[2]))  # type: ignore[operator]
            new = eng.liquidations[n_liq:]
            if new and all(x.mode is MarginMode.ISOLATED for x in new):
                assert eng.account.wallet_balance == wallet  # isolated never touches W
        elif kind == "bad":
            eng.set_mark(name, step[2])
    except OrderRejected:
        assert snapshot(eng) == before  # a rejected call changes nothing
    conserved(eng)
    if any(x.mode is MarginMode.CROSS for x in eng.liquidations):
        last_cross = max(
            x.seq for x in eng.liquidations if x.mode is MarginMode.CROSS
        )  # right after a cross liquidation, the wallet is exactly zero
        if last_cross == eng.events[-1].seq:
            assert eng.account.wallet_balance == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step_st, min_size=1, max_size=30), st.booleans())
def test_random_sessions_conserve_money_and_reject_atomically(
    steps: list[tuple[tuple[Any, ...], tuple[Any, ...]]], fees: bool
) -> None:
    eng = make_engine(fees=fees)
    for action, mark in steps:
        run(eng, action)
        run(eng, mark)
    for label, seen in (
        ("isolated liquidation", any(x.mode is MarginMode.ISOLATED for x in eng.liquidations)),
        ("cross liquidation", any(x.mode is MarginMode.CROSS for x in eng.liquidations)),
        (
            "flip",
            any(
                f.kind == "open" and eng.fills[i - 1].kind == "close"
                for i, f in enumerate(eng.fills)
                if i
            ),
        ),
        ("add", any(f.kind == "add" for f in eng.fills)),
    ):
        if seen:
            event(label)
    # A rebuilt engine is the same account (the live one moved its cross total tick by tick,
    # the rebuilt one summed it afresh: equal to float noise).
    copy = PaperEngine.from_state(eng.to_state(), markets=eng.markets.values())
    assert same(copy.account, eng.account)
    assert len(copy.positions()) == len(eng.positions())
    for a, b in zip(copy.positions(), eng.positions(), strict=True):
        assert same(a, b)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(market, side, notional, leverage, mode), min_size=1, max_size=4),
    st.integers(min_value=0, max_value=3),
    st.sampled_from([1e-6, 1e-9]),
)
def test_marking_just_inside_never_liquidates_and_just_beyond_always_does(
    orders: list[tuple[str, Side, float, int, MarginMode]], pick: int, eps: float
) -> None:
    eng = make_engine(balance=50_000)
    for name, s, usd, lev, m in orders:
        with contextlib.suppress(OrderRejected):
            eng.open(name, s, usd / BASE[name], min(lev, MAX_LEV[name]), m)
    positions = eng.positions()
    assume(positions)
    target = positions[pick % len(positions)]
    liq = target.liquidation_price
    assume(liq is not None)
    assert liq is not None
    sign = 1 if target.side is Side.LONG else -1
    inside = liq * (1 + sign * eps)
    beyond = liq * (1 - sign * eps)
    eng.set_mark(target.market, inside)
    assert eng.position(target.market) is not None
    assert eng.liquidations == []
    eng.set_mark(target.market, beyond)
    assert eng.position(target.market) is None
    [first, *_] = eng.liquidations
    assert isinstance(first, Liquidation) and first.mode is target.mode
    if target.mode is MarginMode.CROSS:
        assert all(p.mode is MarginMode.ISOLATED for p in eng.positions())
        assert eng.account.wallet_balance == 0


cross_heavy = st.sampled_from([MarginMode.CROSS, MarginMode.CROSS, MarginMode.ISOLATED])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(market, side, notional, leverage, cross_heavy), min_size=2, max_size=6),
    st.lists(st.tuples(market, move), min_size=5, max_size=25),
    st.booleans(),
)
def test_cross_liquidation_wipes_cross_only_and_conserves_money(
    orders: list[tuple[str, Side, float, int, MarginMode]],
    path: list[tuple[str, float]],
    fees: bool,
) -> None:
    eng = make_engine(balance=20_000, fees=fees)
    for name, s, usd, lev, m in orders:
        with contextlib.suppress(OrderRejected):
            eng.open(name, s, usd / BASE[name], min(lev, MAX_LEV[name]), m)
    for name, change in path:
        isolated = {p.market: p.margin for p in eng.positions() if p.mode is MarginMode.ISOLATED}
        n_liq = len(eng.liquidations)
        eng.set_mark(name, eng.mark(name) * (1 + change))  # type: ignore[operator]
        new = eng.liquidations[n_liq:]
        if any(x.mode is MarginMode.CROSS for x in new):
            event("cross liquidation")
            assert eng.account.wallet_balance == 0
            assert all(p.mode is MarginMode.ISOLATED for p in eng.positions())
            survivors = {p.market: p.margin for p in eng.positions()}
            assert all(survivors[k] == v for k, v in isolated.items() if k in survivors)
        assert eng.account.wallet_balance >= 0
        conserved(eng)
