"""What a preview says about the position an order reduces, closes or flips (realized PnL,
margin released), and the advice of a "not enough margin" refusal. Hand-worked numbers: BTC at
40x, ETH at 25x, no size step (tests/engine/conftest.py)."""

from __future__ import annotations

import pytest

from tests.engine.conftest import make_engine
from tui.engine import MarginMode, OrderRejected, OrderType, Side

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def test_a_partial_isolated_reduce_says_what_it_realizes_and_releases() -> None:
    eng = make_engine(fees=True)
    eng.open("BTC", LONG, 0.1, 10, ISO)  # M = 1,000
    eng.set_mark("BTC", 105_000)
    p = eng.preview("BTC", SHORT, 0.04, 10, ISO)
    assert p.kind == "reduce" and p.ok
    assert p.closed_size == approx(0.04)
    assert p.realized_pnl == approx(0.04 * 5_000)  # 200
    assert p.margin_released == approx(1_000 * 0.04 / 0.1)  # 400
    assert p.fee == approx(0.04 * 105_000 * 0.00045)  # 1.89
    assert p.resulting_size == approx(0.06)
    fill = eng.open("BTC", SHORT, 0.04, 10, ISO)  # the preview is what happens
    assert fill.realized_pnl == approx(p.realized_pnl)


def test_a_cross_reduce_releases_its_share_of_q_p_over_l_at_the_mark() -> None:
    eng = make_engine()
    eng.open("ETH", LONG, 1.0, 10, CROSS)
    eng.set_mark("ETH", 4_400)
    p = eng.preview("ETH", SHORT, 0.5, 10, CROSS)
    assert p.realized_pnl == approx(0.5 * 400)  # 200
    assert p.margin_released == approx(0.5 * 4_400 / 10)  # 220


def test_a_close_releases_all_the_margin_and_a_flip_closes_first() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 99_000)
    close = eng.preview("BTC", SHORT, 0.1, 10, ISO)
    assert close.kind == "close" and close.resulting_size == 0
    assert close.realized_pnl == approx(-100) and close.margin_released == approx(1_000)
    flip = eng.preview("BTC", SHORT, 0.3, 10, ISO)
    assert flip.kind == "flip" and flip.closed_size == approx(0.1)
    assert flip.realized_pnl == approx(-100) and flip.margin_released == approx(1_000)
    assert flip.resulting_size == approx(0.2)


def test_an_open_or_an_add_closes_nothing() -> None:
    eng = make_engine()
    p = eng.preview("BTC", LONG, 0.1, 10, ISO)
    assert (p.closed_size, p.realized_pnl, p.margin_released) == (0, 0, 0)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    add = eng.preview("BTC", LONG, 0.1, 10, ISO)
    assert add.kind == "add" and add.margin_released == 0


def test_a_resting_reduce_only_order_says_what_it_would_do_at_its_price() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    p = eng.preview_order(
        "BTC", SHORT, 0.05, OrderType.LIMIT, price=110_000, reduce_only=True
    )  # fills at 110,000: +500, half of the 1,000 margin
    assert p.rests and p.kind == "reduce"
    assert p.realized_pnl == approx(0.05 * 10_000) and p.margin_released == approx(500)


def test_not_enough_margin_advises_raising_the_leverage_only_when_it_would_help() -> None:
    eng = make_engine(balance=1_000, fees=True)
    with pytest.raises(OrderRejected, match="Lower the size or raise the leverage"):
        eng.open("BTC", LONG, 0.1, 10, ISO)  # 1,004.50 needed, 1,000 available
    with pytest.raises(OrderRejected, match=r"already at its most, 40x\)") as err:
        eng.open("BTC", LONG, 0.5, 40, ISO)  # 1,250 + 22.50 at the most leverage
    assert "raise the leverage" not in str(err.value)


def test_not_enough_margin_with_nothing_available_says_so() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 3.9, 40, CROSS)  # 9,750 of 10,000 used
    eng.set_mark("BTC", 99_000)  # u = -3,900: available 10,000 - 3,900 - 9,652.50 < 0
    assert eng.account.available < 0 and eng.position("BTC") is not None
    p = eng.preview("ETH", LONG, 0.1, 10, CROSS)
    assert p.rejection is not None
    assert "Nothing is available for new margin" in p.rejection
    assert "raise the leverage" not in p.rejection
    resting = eng.preview_order("ETH", LONG, 0.1, OrderType.LIMIT, price=3_900, leverage=10)
    assert resting.rejection is not None and "Nothing is available" in resting.rejection
