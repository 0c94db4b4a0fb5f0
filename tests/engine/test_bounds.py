"""What the engine accepts: real numbers of any type, within the bounds of docs/rules.md.

Every refusal raises InvalidInput / OrderRejected with a message and changes nothing.
"""

from __future__ import annotations

import json
import math
import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.engine.conftest import make_engine
from tui.engine import (
    InvalidInput,
    MarginMode,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
    Venue,
)
from tui.engine import margin as mg
from tui.engine.limits import MAX_PRICE, MIN_PRICE, MIN_SIZE

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
LONG = Side.LONG
SHORT = Side.SHORT


class Scalar:
    """A numpy-like scalar: not a float, registered as a real number, converts with float()."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Scalar({self.value})"


numbers.Real.register(Scalar)


def state(eng: PaperEngine) -> tuple[Any, int]:
    return eng.to_state(), len(eng.events)


def engine_with_positions() -> PaperEngine:
    eng = make_engine(fees=True)
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    eng.open("ETH", SHORT, 1, 5, ISO)
    return eng


def all_finite(eng: PaperEngine) -> bool:
    account = eng.account
    figures = [getattr(account, f) for f in account.__dataclass_fields__]
    for pos in eng.positions():
        figures += [pos.size, pos.entry_price, pos.mark_price, pos.margin, pos.unrealized_pnl]
        figures += [pos.maintenance_margin, pos.liquidation_price or 1.0]
    return all(math.isfinite(x) for x in figures)


# --------------------------------------------------------------------------- absurd marks

ABSURD_MARKS = [1.7976931348623157e308, 1e300, MAX_PRICE * 1.01, MIN_PRICE / 2, 5e-324]


@pytest.mark.parametrize("price", ABSURD_MARKS)
def test_an_absurd_finite_mark_is_refused_and_changes_nothing(price: float) -> None:
    eng = engine_with_positions()
    before = state(eng)
    with pytest.raises(InvalidInput, match=r"BTC price .* out of range"):
        eng.set_mark("BTC", price)
    assert state(eng) == before
    assert all_finite(eng)


def test_an_absurd_first_mark_is_refused_too() -> None:
    eng = PaperEngine(balance=1_000, markets=[Market("BTC", max_leverage=40)])
    with pytest.raises(InvalidInput, match="out of range"):
        eng.set_mark("btc", 1e300)
    assert eng.mark("BTC") is None


@pytest.mark.parametrize(("venue", "left"), [(Venue.BINANCE, 0.0), (Venue.HYPERLIQUID, 500.0)])
def test_after_a_refused_glitch_the_cross_account_still_liquidates(
    venue: Venue, left: float
) -> None:
    # The report: a 1.8e308 mark turned the cross buffer NaN and later marks never
    # liquidated. Long 0.5 BTC cross at 100,000 from 10,000: liquidation at 81,012.66. At
    # 81,000 the account is worth 10,000 - 0.5 * 19,000 = 500: Binance forfeits it,
    # Hyperliquid (closed at market, no book) leaves it with the trader.
    eng = make_engine(venue=venue)
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    with pytest.raises(InvalidInput):
        eng.set_mark("BTC", 1.7976931348623157e308)
    eng.set_mark("BTC", 81_000.0)
    assert eng.position("BTC") is None
    assert eng.account.wallet_balance == left


def test_the_bounds_themselves_are_accepted() -> None:
    eng = PaperEngine(balance=1_000, markets=[Market("BTC", max_leverage=40)])
    eng.set_mark("BTC", MAX_PRICE)
    eng.set_mark("BTC", MIN_PRICE)
    assert eng.mark("BTC") == MIN_PRICE


# --------------------------------------------------------------------------- sizes


def test_a_huge_cross_order_is_refused_with_a_clear_message() -> None:
    # "/long btc 1e308 40x cross": the entry used to overflow to inf.
    eng = make_engine()
    before = state(eng)
    with pytest.raises(InvalidInput, match=r"Size 1e\+308 BTC is too large"):
        eng.open("BTC", LONG, 1e308, 40, CROSS)
    assert state(eng) == before
    preview = eng.preview("BTC", LONG, 1e308, 40, CROSS)
    assert preview.rejection is not None and "too large" in preview.rejection


@pytest.mark.parametrize("size", [1e-320, 5e-324, MIN_SIZE / 2])
def test_dust_orders_are_refused(size: float) -> None:
    eng = make_engine()
    before = state(eng)
    with pytest.raises(InvalidInput, match="too small: the smallest size the engine takes is"):
        eng.open("BTC", LONG, size, 10, ISO)
    assert state(eng) == before


def test_an_order_worth_less_than_a_cent_is_refused() -> None:
    # 0.00000009 BTC at 100,000 is worth 0.009 USD: under the one-cent floor (on a market
    # with no venue minimum, so the engine's own floor is what refuses it).
    eng = PaperEngine(balance=10_000, markets=[Market("BTC", max_leverage=40, min_notional=0)])
    eng.set_mark("BTC", 100_000.0)
    before = state(eng)
    with pytest.raises(OrderRejected, match=r"This order is worth 0\.009 USD; the smallest"):
        eng.open("BTC", LONG, 0.00000009, 10, ISO)
    assert state(eng) == before
    eng.open("BTC", LONG, 0.0000001, 10, ISO)  # worth exactly 0.01: accepted
    assert eng.position("BTC") is not None


def test_a_flip_that_would_open_less_than_a_cent_is_refused() -> None:
    # Long 0.1 BTC; selling 0.10000005 closes it and would open a 0.00000005 BTC short,
    # worth 0.005 USD.
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    before = state(eng)
    with pytest.raises(OrderRejected, match=r"opens a new position is worth 0\.005 USD"):
        eng.open("BTC", SHORT, 0.10000005, 10, ISO)
    assert state(eng) == before


def test_an_order_worth_more_than_the_notional_cap_is_refused() -> None:
    # 2e9 ETH at 100,000 = 2e14 USD, above the 1e14 cap (the balance could never carry it
    # either; the cap is what refuses it first).
    eng = PaperEngine(balance=1e12, markets=[Market("ETH", max_leverage=1000)])
    eng.set_mark("ETH", 100_000)
    with pytest.raises(OrderRejected, match="largest order the engine takes"):
        eng.open("ETH", LONG, 2e9, 1000, CROSS)


def test_closing_dust_is_refused_and_a_dust_remainder_closes_all() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    before = state(eng)
    with pytest.raises(InvalidInput, match="Size to close 5e-324 BTC is too small"):
        eng.close("BTC", 5e-324)
    assert state(eng) == before
    # Closing all but half the smallest size leaves nothing behind.
    fill = eng.close("BTC", 0.1 - MIN_SIZE / 2)
    assert fill.kind == "close" and fill.size == 0.1
    assert eng.position("BTC") is None


# --------------------------------------------------------------------------- number types


@pytest.mark.parametrize(
    "price", [Decimal("101000"), Fraction(101000), 101000, Scalar(101000.0), Decimal("101000.0")]
)
def test_set_mark_takes_any_real_number_and_stores_a_float(price: object) -> None:
    eng = engine_with_positions()
    eng.set_mark("BTC", price)  # type: ignore[arg-type]
    assert type(eng.mark("BTC")) is float and eng.mark("BTC") == 101_000.0
    eng.set_mark("BTC", 102_000.0)  # later ticks still do their arithmetic
    pos = eng.position("BTC")
    assert pos is not None and pos.unrealized_pnl == pytest.approx(0.1 * 2_000, rel=1e-3)
    json.dumps(eng.to_state(), allow_nan=False)  # plain floats, JSON-ready


HUGE_INT = 10**400


@pytest.mark.parametrize(
    "price",
    [
        pytest.param(HUGE_INT, id="10**400"),
        Decimal("1e400"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        pytest.param(Fraction(HUGE_INT, 3), id="Fraction(10**400, 3)"),
        Scalar(math.nan),
        "100000",
        True,
        None,
        complex(1, 0),
    ],
)
def test_a_number_that_does_not_convert_is_refused_and_changes_nothing(price: object) -> None:
    eng = engine_with_positions()
    before = state(eng)
    with pytest.raises(InvalidInput, match="BTC price must be a") as err:
        eng.set_mark("BTC", price)  # type: ignore[arg-type]
    assert state(eng) == before
    assert len(str(err.value)) < 120  # never a 400-digit number in a message


def test_a_decimal_mark_on_a_cross_position_no_longer_changes_it_then_raises() -> None:
    # Before: the Decimal was stored, then `k * (Decimal - float)` raised TypeError.
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    eng.set_mark("BTC", Decimal("99000"))  # type: ignore[arg-type]
    assert eng.mark("BTC") == 99_000.0
    pos = eng.position("BTC")
    assert pos is not None and pos.unrealized_pnl == pytest.approx(-100.0)


def test_every_entry_point_takes_real_numbers() -> None:
    # Decimal and Fraction on purpose (the ignores): the API says float, any real is taken.
    eng = PaperEngine(balance=Decimal("10000"), markets=[Market("BTC", max_leverage=40)])  # type: ignore[arg-type]
    eng.set_mark("BTC", Fraction(100_000))  # type: ignore[arg-type]
    eng.open("BTC", LONG, Decimal("0.1"), Fraction(10), ISO)  # type: ignore[arg-type]
    eng.add_margin("BTC", Decimal("50"))  # type: ignore[arg-type]
    eng.remove_margin("BTC", Scalar(25.0))  # type: ignore[arg-type]
    eng.set_funding_rate("BTC", Decimal("0.0001"))  # type: ignore[arg-type]
    assert eng.apply_funding("BTC", Fraction(1, 10_000)) == pytest.approx(1.0)  # type: ignore[arg-type]
    eng.close("BTC", Decimal("0.05"))  # type: ignore[arg-type]
    pos = eng.position("BTC")
    assert pos is not None and pos.size == pytest.approx(0.05)
    assert all(type(x) is float for x in vars_of(eng.to_state()))


def vars_of(state: dict[str, Any]) -> list[object]:
    values: list[object] = [state[k] for k in ("deposits", "wallet", "realized", "fees")]
    values += list(state["marks"].values())
    for pos in state["positions"]:
        values += [pos["size"], pos["entry"], pos["leverage"], pos["margin"]]
    return values


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda e: e.open("BTC", LONG, HUGE_INT, 10, ISO), "Size must be a finite number"),
        (lambda e: e.open("BTC", LONG, 0.1, HUGE_INT, ISO), "Leverage must be a finite number"),
        (lambda e: e.open("BTC", LONG, Decimal("NaN"), 10, ISO), "finite"),
        (lambda e: e.close("BTC", Decimal("sNaN")), "finite"),
        (lambda e: e.add_margin("ETH", HUGE_INT), "Amount must be a finite number"),
        (lambda e: e.remove_margin("ETH", Fraction(HUGE_INT)), "finite"),
        (lambda e: e.apply_funding("BTC", HUGE_INT), "Funding rate must be a finite number"),
        (lambda e: e.apply_funding("BTC", 2.0), "Funding rate 2 per hour is out of range"),
        (lambda e: e.set_funding_rate("BTC", -1.5), "out of range"),
        (lambda e: e.set_funding_rate("BTC", "0.01"), "must be a number"),
    ],
)
def test_numbers_that_do_not_convert_or_fit_are_refused_everywhere(call, match) -> None:  # type: ignore[no-untyped-def]
    eng = engine_with_positions()
    before = state(eng)
    with pytest.raises(InvalidInput, match=match) as err:
        call(eng)
    assert state(eng) == before
    assert len(str(err.value)) < 160


@pytest.mark.parametrize("balance", [1e13, pytest.param(HUGE_INT, id="10**400"), 1e308, math.nan])
def test_an_absurd_starting_balance_is_refused(balance: float) -> None:
    with pytest.raises(InvalidInput, match="Starting balance") as err:
        PaperEngine(balance=balance)
    assert len(str(err.value)) < 120


def test_a_market_listing_absurd_leverage_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 1000"):
        Market("X", max_leverage=1e6)


# --------------------------------------------------------------------------- NaN fails checks


def test_a_nan_wallet_fails_every_margin_check() -> None:
    # If a NaN ever reached the wallet, `need > NaN` is False and every check used to pass
    # (the "/long btc 1e308 40x cross is accepted"). The checks now fail on NaN.
    for mode in (ISO, CROSS):
        eng = make_engine()
        eng._wallet = math.nan
        with pytest.raises(OrderRejected):
            eng.open("BTC", LONG, 0.01, 10, mode)
        assert eng.positions() == []


def test_a_nan_cross_buffer_liquidates_rather_than_hides() -> None:
    # Binance's liquidation takes the cross balance as it stands: a NaN buffer liquidates.
    eng = make_engine(venue=Venue.BINANCE)
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    eng._buffer = math.nan
    eng.set_mark("BTC", 100_001.0)
    assert eng.position("BTC") is None  # `W + buffer > 0` is False for NaN: liquidated


def test_a_nan_cross_buffer_is_recomputed_before_a_hyperliquid_liquidation() -> None:
    # Hyperliquid's liquidation closes only while the account is below maintenance, so it
    # recomputes the buffer exactly first: a healthy account stays open, and the checks work
    # again (a later mark past 81,012.66 liquidates).
    eng = make_engine(venue=Venue.HYPERLIQUID)
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    eng._buffer = math.nan
    eng.set_mark("BTC", 100_001.0)
    assert eng.position("BTC") is not None
    assert math.isfinite(eng._buffer)
    eng.set_mark("BTC", 81_000.0)
    assert eng.position("BTC") is None


def test_a_nan_fee_fails_the_margin_check(monkeypatch: pytest.MonkeyPatch) -> None:
    eng = make_engine(fees=True)
    monkeypatch.setattr(mg, "fee", lambda q, price, rate: math.nan)
    with pytest.raises(OrderRejected, match="Not enough margin"):
        eng.open("BTC", LONG, 0.01, 10, ISO)
    assert eng.positions() == []


def test_a_close_whose_figures_are_not_finite_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Belt and braces behind the bounds: a plan with any non-finite figure never applies.
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    before = state(eng)
    monkeypatch.setattr(mg, "unrealized_pnl", lambda s, q, entry, mark: math.nan)
    with pytest.raises(OrderRejected, match="out of range"):
        eng.close("BTC")
    assert state(eng) == before


# --------------------------------------------------------------------------- saved state


def test_a_fill_just_below_the_lowest_mark_still_reloads() -> None:
    # Found by the long fuzz run: a short at the lowest mark fills 0.1 % below it (slippage),
    # at 9.99e-11; the saved entry must reload.
    markets = [Market("DOGE", max_leverage=10, taker_fee=0.0, slippage=0.001, min_notional=0)]
    eng = PaperEngine(balance=10_000, markets=markets)
    eng.set_mark("DOGE", MIN_PRICE)
    eng.open("DOGE", SHORT, 1e9, 1, ISO)
    assert eng.position("DOGE").entry_price == pytest.approx(9.99e-11)  # type: ignore[union-attr]
    copy = PaperEngine.from_state(json.loads(json.dumps(eng.to_state())), markets=markets)
    assert copy.position("DOGE") == eng.position("DOGE")


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("wallet",), math.nan, "Saved wallet must be a finite number"),
        (("wallet",), "12", "Saved wallet must be a number"),
        (("fees",), math.inf, "Saved fees"),
        (("marks", "BTC"), 1e300, "BTC price .* out of range"),
        (("positions", 0, "size"), 1e300, "Saved size .* too large"),
        (("positions", 0, "entry"), 1.7976931348623157e308, "entry .* out of range"),
        (("positions", 0, "margin"), math.nan, "Saved margin"),
    ],
)
def test_a_saved_state_with_a_bad_figure_is_refused(
    path: tuple[Any, ...], value: object, match: str
) -> None:
    saved = engine_with_positions().to_state()
    target: Any = saved
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidInput, match=match):
        PaperEngine.from_state(saved, markets=make_engine().markets.values())


# --------------------------------------------------------------------------- resting orders


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda e: e.place_order("BTC", LONG, 0.01, "limit", price=1e300, leverage=10),
            r"Limit price 1e\+300 is out of range",
        ),
        (
            lambda e: e.place_order("BTC", SHORT, 0.01, "limit", price=5e-324, leverage=10),
            "Limit price 5e-324 is out of range",
        ),
        (
            lambda e: e.place_order(
                "BTC", SHORT, 0.01, "stop_market", trigger_price=10**400, leverage=10
            ),
            "Trigger price must be a finite number",
        ),
        (
            lambda e: e.place_order("BTC", LONG, 0.01, leverage=10, take_profit=1.7e308),
            "Take-profit price .* out of range",
        ),
        (
            lambda e: e.place_order("BTC", LONG, 1e-320, "limit", price=90_000, leverage=10),
            "too small",
        ),
        (lambda e: e.set_tp_sl("BTC", stop_loss=1e300), "Stop-loss price .* out of range"),
    ],
)
def test_resting_order_prices_and_sizes_are_bounded_too(call, match) -> None:  # type: ignore[no-untyped-def]
    eng = engine_with_positions()
    before = state(eng)
    with pytest.raises(InvalidInput, match=match) as err:
        call(eng)
    assert state(eng) == before
    assert len(str(err.value)) < 160


def test_a_limit_price_may_be_any_real_number() -> None:
    eng = engine_with_positions()
    order = eng.place_order("ETH", SHORT, Decimal("1"), "limit", price=Fraction(4_400), leverage=5)  # type: ignore[arg-type]
    assert type(order.price) is float and order.price == 4_400.0
    json.dumps(eng.to_state(), allow_nan=False)
