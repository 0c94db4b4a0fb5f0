"""The number formatting helpers: hand-worked cases, and any input at all never raises."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tui.format import (
    DASH,
    fmt_leverage,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_size,
    price_decimals,
    size_decimals,
)

NOT_A_FIGURE = [None, math.nan, math.inf, -math.inf, 10**400]


@pytest.mark.parametrize("x", NOT_A_FIGURE, ids=["None", "nan", "inf", "-inf", "10**400"])
def test_none_nan_and_inf_show_a_dash_everywhere(x: float | None) -> None:
    assert fmt_price(x) == DASH
    assert fmt_price(x, 100.0) == DASH
    assert fmt_size(x, 100_000.0) == DASH
    assert fmt_money(x) == DASH and fmt_money(x, signed=True) == DASH
    assert fmt_pct(x) == DASH and fmt_rate(x) == DASH and fmt_leverage(x) == DASH


@pytest.mark.parametrize("price", NOT_A_FIGURE, ids=["None", "nan", "inf", "-inf", "10**400"])
def test_a_missing_price_only_costs_the_size_its_usual_decimals(price: float | None) -> None:
    # The crash: `fmt_size(1.0, nan)` raised "cannot convert float NaN to integer".
    assert size_decimals(price) == 4
    assert price_decimals(price) == 2
    assert fmt_size(1.0, price) == "1"
    assert fmt_size(0.123456, price) == "0.1235"
    assert fmt_price(1234.5, price) == "1,234.50"  # a bad `ref` falls back to the price's own


def test_usual_figures_are_unchanged() -> None:
    assert fmt_price(100_000.0) == "100,000.0"
    assert fmt_price(0.2) == "0.20000"
    assert fmt_size(0.1234567, 100_000.0) == "0.123457"
    assert fmt_size(12.5, 0.2) == "12"  # DOGE: whole coins
    assert fmt_money(-1234.567, signed=True) == "-1,234.57"
    assert fmt_pct(0.0123) == "1.23%"
    assert fmt_rate(0.0000125) == "+0.0013%"
    assert fmt_leverage(40.0) == "40x"


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        (lambda: fmt_money(1e300), "1.000e+300"),
        (lambda: fmt_money(-1.7976931348623157e308, signed=True), "-1.798e+308"),
        (lambda: fmt_money(999_999_999_999.0), "999,999,999,999.00"),
        (lambda: fmt_money(1e15), "1.000e+15"),
        (lambda: fmt_price(1e300), "1.000e+300"),
        (lambda: fmt_size(1e308, 100_000.0), "1.000e+308"),
        (lambda: fmt_pct(1e300, signed=True), "+1.000e+302%"),
        (lambda: fmt_rate(1e300), "+1.000e+302%"),
        (lambda: fmt_leverage(1e300), "1e+300x"),
    ],
)
def test_huge_values_are_written_compactly(call, shown: str) -> None:  # type: ignore[no-untyped-def]
    assert call() == shown


@pytest.mark.parametrize(
    ("size", "price", "shown"),
    [
        (0.00000001, 100_000.0, "0.00000001"),  # 6 decimals would say "0"
        (5e-324, 100_000.0, "4.9e-324"),
        (-0.00000001, 100_000.0, "-0.00000001"),
        (0.0, 100_000.0, "0"),
    ],
)
def test_a_tiny_size_never_shows_as_zero(size: float, price: float, shown: str) -> None:
    assert fmt_size(size, price) == shown


def test_a_tiny_price_never_shows_as_zero() -> None:
    assert fmt_price(1e-10) == "0.0000000001"
    assert fmt_price(5e-324) == "4.9e-324"
    assert fmt_price(0.0) == "0.00"


anything = st.one_of(
    st.none(),
    st.floats(),  # every float: NaN, infinities, subnormals, 1.8e308
    st.integers(min_value=-(10**400), max_value=10**400),
    st.decimals(allow_nan=False, allow_infinity=False).map(float),
)


@fuzz(800)
@given(anything, anything, st.booleans(), st.integers(0, 6))
def test_fuzz_formatting_never_raises_and_stays_short(
    x: float | None, y: float | None, signed: bool, decimals: int
) -> None:
    shown = [
        fmt_price(x),
        fmt_price(x, y),
        fmt_size(x, y),
        fmt_money(x, signed),
        fmt_pct(x, signed, decimals),
        fmt_rate(x),
        fmt_leverage(x),
    ]
    for text in shown:
        assert isinstance(text, str) and 0 < len(text) <= 32, (x, y, text)
    assert size_decimals(y) in range(9) and price_decimals(y) in range(9)


def test_a_sign_follows_the_rounded_figure_not_the_raw_one() -> None:
    # A loss of a third of a cent shows as 0.00, not "-0.00": there is nothing to lose there.
    assert fmt_money(-0.003, signed=True) == "0.00"
    assert fmt_money(-0.003) == "0.00"
    assert fmt_money(-0.006, signed=True) == "-0.01"
    assert fmt_money(0.004, signed=True) == "0.00"
    # ROE of -0.04 % at one decimal is 0.0 %: no "+0.0%" beside a red uPnL, no "-0.0%".
    assert fmt_pct(-0.0004, signed=True, decimals=1) == "0.0%"
    assert fmt_pct(0.0004, signed=True, decimals=1) == "0.0%"
    assert fmt_pct(-0.0006, signed=True, decimals=1) == "-0.1%"
    # A funding rate of -0.000001 %/h shows as 0.0000 %.
    assert fmt_rate(-1e-8) == "0.0000%"
    assert fmt_rate(-1e-6) == "-0.0001%"
    assert fmt_rate(0.0) == "0.0000%"
