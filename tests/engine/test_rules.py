"""Hand-worked numbers for the rules of docs/rules.md common to both venues (fees 0 unless
stated). Where a liquidation's outcome matters, a test names its venue; the venue-specific
rules have their own hand-worked cases in test_venues.py."""

from __future__ import annotations

import math

import pytest

from tests.engine.conftest import FakeClock, liq_price, make_engine
from tui.engine import (
    DEFAULT_MARKETS,
    Fill,
    FundingPayment,
    InvalidInput,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
)

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS
LONG = Side.LONG
SHORT = Side.SHORT


def approx(x: float | None, rel: float = 1e-9) -> object:
    return pytest.approx(x, rel=rel, abs=1e-9)


# --------------------------------------------------------------------------- MARGIN.md examples


def test_example_1_isolated_long(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    pos = eng.position("BTC")
    assert pos is not None
    assert pos.margin == approx(1_000)
    assert eng.account.wallet_balance == approx(9_000)
    assert pos.liquidation_price == approx(90_000 / 0.9875)
    assert round(liq_price(eng, "BTC"), 2) == 91_139.24

    eng.set_mark("BTC", 91_100)
    assert eng.position("BTC") is None
    assert eng.account.wallet_balance == approx(9_000)
    [liq] = eng.liquidations
    assert (liq.market, liq.mode, liq.mark_price, liq.size) == ("BTC", ISO, 91_100, 0.1)
    assert liq.margin_lost == approx(1_000)


def test_example_2_isolated_short(eng: PaperEngine) -> None:
    eng.open("BTC", SHORT, size=0.1, leverage=10, mode=ISO)
    pos = eng.position("BTC")
    assert pos is not None
    assert round(liq_price(eng, "BTC"), 2) == 108_641.98


def test_example_3_cross_long_takes_whole_balance(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=CROSS)
    pos = eng.position("BTC")
    assert pos is not None
    assert round(liq_price(eng, "BTC"), 2) == 81_012.66
    assert eng.account.wallet_balance == approx(10_000)  # cross posts nothing
    assert pos.margin == approx(5_000)  # shown margin q * P / L

    eng.set_mark("BTC", 81_013)
    assert eng.position("BTC") is not None
    eng.set_mark("BTC", 81_012)
    assert eng.position("BTC") is None
    assert eng.account.wallet_balance == 0
    [liq] = eng.liquidations
    assert liq.mode is CROSS and liq.margin_lost == approx(10_000)


def test_example_3_same_trade_isolated_loses_only_its_margin(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=ISO)
    pos = eng.position("BTC")
    assert pos is not None and pos.margin == approx(5_000)
    assert round(liq_price(eng, "BTC"), 2) == 91_139.24
    eng.set_mark("BTC", 91_139)
    assert eng.position("BTC") is None
    assert eng.account.wallet_balance == approx(5_000)
    assert eng.liquidations[0].margin_lost == approx(5_000)


# --------------------------------------------------------------------------- opening and fees


def test_fee_is_taken_from_wallet_and_order_needs_margin_plus_fee() -> None:
    eng = make_engine(fees=True)
    fill = eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    assert fill.fee == approx(0.1 * 100_000 * 0.00045)  # 4.50
    assert eng.account.wallet_balance == approx(10_000 - 1_000 - 4.5)
    assert eng.account.fees_paid == approx(4.5)


def test_order_just_over_available_is_rejected_with_missing_amount() -> None:
    eng = make_engine(balance=1_000, fees=True)
    # 0.1 BTC at 10x needs 1,000 margin + 4.50 fee: 4.50 short.
    with pytest.raises(OrderRejected) as err:
        eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    assert "4.50 is missing" in str(err.value)
    assert "1,000.00 is available" in str(err.value)
    assert eng.position("BTC") is None and eng.account.wallet_balance == 1_000
    # The same at 20x fits.
    eng.open("BTC", LONG, size=0.1, leverage=20, mode=ISO)
    assert eng.account.wallet_balance == approx(1_000 - 500 - 4.5)


def test_available_counts_cross_unrealized_pnl_and_cross_margin(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=CROSS)
    eng.open("ETH", SHORT, size=1, leverage=5, mode=ISO)  # isolated: 800 posted
    eng.set_mark("BTC", 101_000)  # cross u = +100, cross margin = 0.1 * 101,000 / 10
    acct = eng.account
    assert acct.wallet_balance == approx(9_200)
    assert acct.available == approx(9_200 + 100 - 1_010)
    assert acct.cross_account_value == approx(9_300)
    assert acct.isolated_margin == approx(800)
    assert acct.equity == approx(9_300 + 800)  # ETH u = 0 at its entry
    assert acct.cross_maintenance_margin == approx(0.1 * 101_000 * 0.0125)
    assert acct.margin_ratio == approx(0.1 * 101_000 * 0.0125 / 9_300)


def test_slippage_fills_against_the_taker() -> None:
    eng = PaperEngine(balance=10_000, markets=[Market("BTC", max_leverage=40, slippage=0.001)])
    eng.set_mark("BTC", 100_000)
    assert eng.open("BTC", LONG, 0.01, 10, ISO).price == approx(100_100)
    assert eng.close("BTC").price == approx(99_900)


def test_immediately_liquidatable_isolated_order_is_rejected() -> None:
    market = Market("X", max_leverage=50, maintenance_margin_rate=0.03, taker_fee=0)
    eng = PaperEngine(balance=10_000, markets=[market])
    eng.set_mark("X", 100)
    with pytest.raises(OrderRejected, match=r"liquidated at once.*at most 33x"):
        eng.open("X", LONG, 10, 40, ISO)
    eng.open("X", LONG, 10, 30, ISO)
    assert eng.position("X") is not None


# --------------------------------------------------------------------------- adding, reducing


def test_adding_averages_entry_grows_isolated_margin_keeps_leverage(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    eng.set_mark("BTC", 110_000)
    fill = eng.open("BTC", LONG, size=0.1, leverage=5, mode=ISO)
    assert fill.kind == "add"
    pos = eng.position("BTC")
    assert pos is not None
    assert pos.size == approx(0.2)
    assert pos.entry_price == approx(105_000)
    assert pos.leverage == 10
    assert pos.margin == approx(1_000 + 0.1 * 110_000 / 10)
    assert eng.account.wallet_balance == approx(10_000 - 1_000 - 1_100)


def test_adding_in_the_other_mode_is_rejected_with_the_contract_message(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    before = eng.to_state()
    with pytest.raises(OrderRejected) as err:
        eng.open("BTC", LONG, size=0.1, leverage=10, mode=CROSS)
    assert str(err.value) == "BTC is open in Isolated mode; close it to reopen in Cross."
    assert eng.to_state() == before


def test_reducing_realizes_pnl_and_releases_isolated_margin(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.4, leverage=10, mode=ISO)  # M = 4,000, W = 6,000
    eng.set_mark("BTC", 105_000)
    fill = eng.open("BTC", SHORT, size=0.1, leverage=10, mode=ISO)
    assert fill.kind == "reduce" and fill.realized_pnl == approx(500)
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(0.3) and pos.entry_price == 100_000
    assert pos.margin == approx(3_000)
    assert eng.account.wallet_balance == approx(6_000 + 1_000 + 500)
    assert eng.account.realized_pnl == approx(500)


def test_reduce_of_a_position_is_allowed_whatever_mode_the_order_names(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.4, leverage=10, mode=ISO)
    eng.open("BTC", SHORT, size=0.1, leverage=10, mode=CROSS)
    pos = eng.position("BTC")
    assert pos is not None and pos.mode is ISO and pos.size == approx(0.3)


def test_cross_reduce_realizes_into_wallet(eng: PaperEngine) -> None:
    eng.open("ETH", SHORT, size=2, leverage=5, mode=CROSS)
    eng.set_mark("ETH", 3_800)
    eng.close("ETH", 1)
    assert eng.account.wallet_balance == approx(10_200)
    pos = eng.position("ETH")
    assert pos is not None and pos.size == approx(1)
    assert pos.unrealized_pnl == approx(200)


def test_flip_closes_then_opens_remainder_in_the_orders_mode(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    eng.set_mark("BTC", 101_000)
    fill = eng.open("BTC", SHORT, size=0.3, leverage=5, mode=CROSS)
    assert fill.kind == "open" and fill.size == approx(0.2)
    pos = eng.position("BTC")
    assert pos is not None
    assert (pos.side, pos.mode, pos.leverage) == (SHORT, CROSS, 5)
    assert pos.size == approx(0.2) and pos.entry_price == 101_000
    assert eng.account.wallet_balance == approx(10_000 + 100)  # margin back + 100 profit
    kinds = [(f.kind, round(f.size, 9)) for f in eng.fills]
    assert kinds == [("open", 0.1), ("close", 0.1), ("open", 0.2)]


def test_flip_whose_remainder_is_unaffordable_changes_nothing() -> None:
    eng = make_engine(balance=1_000)
    eng.open("BTC", LONG, size=0.05, leverage=10, mode=ISO)
    before = (eng.to_state(), len(eng.events))
    with pytest.raises(OrderRejected, match="missing"):
        eng.open("BTC", SHORT, size=5, leverage=10, mode=ISO)
    assert (eng.to_state(), len(eng.events)) == before


def test_close_all_and_close_more_than_held(eng: PaperEngine) -> None:
    eng.open("SOL", LONG, size=10, leverage=4, mode=ISO)
    eng.set_mark("SOL", 190)
    fill = eng.close("SOL", 25)  # more than held: closes what there is, never flips
    assert fill.size == 10 and fill.kind == "close" and fill.realized_pnl == approx(-100)
    assert eng.position("SOL") is None
    assert eng.account.wallet_balance == approx(9_900)


def test_positions_keep_their_order_when_added_to(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.01, 10, ISO)
    eng.open("ETH", LONG, 0.1, 10, ISO)
    eng.open("BTC", LONG, 0.01, 10, ISO)
    assert [p.market for p in eng.positions()] == ["BTC", "ETH"]


# --------------------------------------------------------------------------- cross liquidation


def test_cross_liquidation_price_reflects_other_cross_positions(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("BTC", LONG, size=0.2, leverage=10, mode=CROSS)
    alone = liq_price(eng, "BTC")
    eng.open("ETH", SHORT, size=5, leverage=10, mode=CROSS)
    eng.set_mark("ETH", 3_900)  # ETH short: u = +500, MM = 5 * 3,900 / 50 = 390
    a = 10_000 + 500 - 5 * 3_900 * 0.02
    expected = (100_000 - a / 0.2) / (1 - 0.0125)
    btc = eng.position("BTC")
    assert btc is not None and btc.liquidation_price == approx(expected)
    assert expected < alone  # the ETH profit holds BTC up

    # Marks just inside never liquidate, just beyond always do, holding ETH still.
    eng.set_mark("BTC", expected * (1 + 1e-9))
    assert eng.position("BTC") is not None
    eng.set_mark("BTC", expected * (1 - 1e-9))
    assert eng.position("BTC") is None and eng.position("ETH") is None
    assert eng.account.wallet_balance == 0


def test_cross_liquidation_closes_all_cross_and_spares_isolated(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("SOL", LONG, size=10, leverage=5, mode=ISO)  # 400 posted
    eng.open("BTC", LONG, size=0.5, leverage=20, mode=CROSS)
    eng.open("ETH", LONG, size=1, leverage=10, mode=CROSS)
    wallet = eng.account.wallet_balance
    assert wallet == approx(9_600)
    eng.set_mark("BTC", 80_000)
    assert eng.position("BTC") is None and eng.position("ETH") is None
    sol = eng.position("SOL")
    assert sol is not None and sol.margin == approx(400)
    assert eng.account.wallet_balance == 0
    liqs = eng.liquidations
    assert {x.market for x in liqs} == {"BTC", "ETH"}
    assert len({x.group for x in liqs}) == 1
    assert math.fsum(x.margin_lost for x in liqs) == approx(9_600)


def test_cross_gap_never_leaves_wallet_negative(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=CROSS)
    eng.set_mark("BTC", 20_000)  # far past bankruptcy in one tick
    assert eng.account.wallet_balance == 0
    assert eng.account.equity == 0


def test_isolated_gap_loses_only_the_margin(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    eng.set_mark("BTC", 10_000)
    assert eng.account.wallet_balance == approx(9_000)
    [liq] = eng.liquidations
    assert liq.margin_lost == approx(1_000) and liq.realized_pnl == approx(-1_000)


def test_margin_ratio_reaches_one_at_liquidation(eng: PaperEngine) -> None:
    assert eng.account.margin_ratio == 0
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=CROSS)
    liq = liq_price(eng, "BTC")
    eng.set_mark("BTC", liq * (1 + 1e-6))
    assert eng.account.margin_ratio == pytest.approx(1.0, rel=1e-4)
    assert eng.account.margin_ratio < 1


def test_cross_position_with_enough_collateral_has_no_liquidation_price(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.05, leverage=1, mode=CROSS)  # 5,000 notional on 10,000
    pos = eng.position("BTC")
    assert pos is not None and pos.liquidation_price is None and pos.liquidation_distance is None


# --------------------------------------------------------------------------- margin transfers


def test_add_margin_moves_liquidation_away(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    before = liq_price(eng, "BTC")
    record = eng.add_margin("BTC", 500)
    assert isinstance(record, MarginTransfer) and record.amount == 500
    pos = eng.position("BTC")
    assert pos is not None and pos.margin == approx(1_500)
    assert pos.liquidation_price == approx((100_000 - 15_000) / 0.9875)
    assert liq_price(eng, "BTC") < before
    assert eng.account.wallet_balance == approx(8_500)


def test_add_margin_beyond_available_is_rejected(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    with pytest.raises(OrderRejected, match=r"at most 9,000\.00"):
        eng.add_margin("BTC", 9_001)


def test_remove_margin_limit_and_message(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    eng.add_margin("BTC", 500)
    eng.set_mark("BTC", 99_000)  # u = -100; keep 0.1 * 99,000 / 10 = 990 + 100 loss
    with pytest.raises(OrderRejected) as err:
        eng.remove_margin("BTC", 411)
    assert "at most 410.00" in str(err.value)
    eng.remove_margin("BTC", 410)
    pos = eng.position("BTC")
    assert pos is not None and pos.margin == approx(1_090)
    assert eng.account.wallet_balance == approx(8_910)


def test_margin_transfers_refused_on_cross_and_missing_positions(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=CROSS)
    with pytest.raises(OrderRejected, match="Cross position"):
        eng.add_margin("BTC", 10)
    with pytest.raises(OrderRejected, match="no open ETH position"):
        eng.remove_margin("ETH", 10)


# --------------------------------------------------------------------------- funding


def test_funding_isolated_long_pays_from_margin(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    liq_before = liq_price(eng, "BTC")
    paid = eng.apply_funding("BTC", rate=0.0001)
    assert paid == approx(1.0)
    pos = eng.position("BTC")
    assert pos is not None and pos.margin == approx(999)
    assert liq_price(eng, "BTC") > liq_before
    assert eng.account.wallet_balance == approx(9_000)
    [event] = eng.funding_payments
    assert isinstance(event, FundingPayment) and event.payment == approx(1.0)


def test_funding_cross_short_receives_into_wallet(eng: PaperEngine) -> None:
    eng.open("ETH", SHORT, size=2, leverage=5, mode=CROSS)
    assert eng.apply_funding("ETH", rate=0.0001) == approx(-0.8)
    assert eng.account.wallet_balance == approx(10_000.8)
    assert eng.account.funding_paid == approx(-0.8)


def test_funding_uses_the_markets_current_rate_and_skips_flat_markets(eng: PaperEngine) -> None:
    eng.set_funding_rate("BTC", -0.0002)
    assert eng.apply_funding("BTC") == 0.0  # no position: nothing to pay
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    assert eng.apply_funding("BTC") == approx(-2.0)


def test_funding_can_liquidate_an_isolated_position(bn: PaperEngine) -> None:
    eng = bn  # Binance: a liquidation forfeits what was at stake
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    eng.set_mark("BTC", 91_200)  # just above 91,139.24
    eng.apply_funding("BTC", rate=0.001)  # Binance, 8 h at 0.1 %/h: pays 72.96 from M
    assert eng.position("BTC") is None
    assert eng.account.wallet_balance == approx(9_000)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda e: e.open("BTC", LONG, math.nan, 10, ISO), "Size must be a finite number"),
        (lambda e: e.open("BTC", LONG, -1, 10, ISO), "Size must be more than zero"),
        (lambda e: e.open("BTC", LONG, math.inf, 10, ISO), "finite"),
        (lambda e: e.open("BTC", LONG, "lots", 10, ISO), "Size must be a number"),
        (lambda e: e.open("BTC", LONG, 0.1, 0, ISO), "Leverage must be more than zero"),
        (lambda e: e.open("BTC", LONG, 0.1, 41, ISO), "between 1x and 40x"),
        (lambda e: e.open("BTC", LONG, 0.1, 0.5, ISO), "between 1x and 40x"),
        (lambda e: e.open("DOGE", LONG, 1, 1, ISO), "Unknown market 'DOGE'"),
        (lambda e: e.open("BTC", "up", 1, 1, ISO), "Side must be long or short"),
        (lambda e: e.open("BTC", LONG, 1, 1, "crossed"), "isolated or cross"),
        (lambda e: e.close("BTC"), "no open BTC position"),
        (lambda e: e.add_margin("BTC", 10), "no open BTC position"),
        (lambda e: e.set_mark("BTC", math.nan), "finite"),
        (lambda e: e.set_mark("BTC", -5), "more than zero"),
        (lambda e: e.set_mark("BTC", 0), "more than zero"),
        (lambda e: e.set_mark("BTC", math.inf), "finite"),
        (lambda e: e.set_mark("BTC", "1e5"), "number"),
        (lambda e: e.set_mark("NOPE", 1.0), "Unknown market"),
        (lambda e: e.apply_funding("BTC", math.nan), "finite"),
    ],
)
def test_bad_input_is_rejected_with_a_message_and_changes_nothing(call, match) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine()
    eng.open("ETH", LONG, 1, 5, CROSS)
    before = (eng.to_state(), len(eng.events))
    with pytest.raises(OrderRejected, match=match) as err:
        call(eng)
    assert isinstance(err.value, ValueError)
    assert (eng.to_state(), len(eng.events)) == before


def test_invalid_input_is_a_value_error_and_an_order_rejection() -> None:
    assert issubclass(InvalidInput, OrderRejected) and issubclass(OrderRejected, ValueError)


def test_order_before_any_mark_is_rejected() -> None:
    eng = PaperEngine(balance=1_000, markets=[Market("BTC", max_leverage=40)])
    with pytest.raises(OrderRejected, match="no price yet"):
        eng.open("BTC", LONG, 0.01, 10, ISO)


def test_market_names_are_case_insensitive(eng: PaperEngine) -> None:
    eng.set_mark("btc", 101_000)
    assert eng.mark("BTC") == 101_000
    eng.open("btc", "long", 0.01, 10, "cross")
    assert eng.position("Btc") is not None


def test_market_validation() -> None:
    assert Market("BTC", max_leverage=40).mmr == 0.0125
    assert Market("X", max_leverage=10, maintenance_margin_rate=0.02).mmr == 0.02
    with pytest.raises(ValueError, match="at least 1"):
        Market("X", max_leverage=0.5)
    with pytest.raises(ValueError, match="taker fee"):
        Market("X", taker_fee=-0.1)


# --------------------------------------------------------------------------- preview


def test_preview_matches_open_and_changes_nothing() -> None:
    eng = make_engine(fees=True)
    before = (eng.to_state(), len(eng.events))
    p = eng.preview("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    assert (eng.to_state(), len(eng.events)) == before
    assert p.ok and p.kind == "open"
    assert p.fill_price == 100_000 and p.notional == approx(10_000)
    assert p.margin_required == approx(1_000) and p.fee == approx(4.5)
    assert p.at_risk == approx(1_000)
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    assert liq_price(eng, "BTC") == approx(p.liquidation_price)


def test_preview_cross_shows_other_cross_liquidation_prices_moving(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.3, leverage=10, mode=CROSS)
    btc_before = liq_price(eng, "BTC")
    p = eng.preview("ETH", LONG, size=2, leverage=10, mode=CROSS)
    before, after = p.cross_liquidation_prices["BTC"]
    assert before == approx(btc_before)
    # Opening ETH adds its maintenance margin (2 * 4,000 * 2 % = 160) to BTC's burden.
    a = 10_000 - 160
    assert after == approx((100_000 - a / 0.3) / 0.9875)
    eng.open("ETH", LONG, size=2, leverage=10, mode=CROSS)
    assert liq_price(eng, "BTC") == approx(after)
    eth = eng.position("ETH")
    assert eth is not None and eth.liquidation_price == approx(p.liquidation_price)


def test_preview_isolated_order_also_moves_cross_prices(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.3, leverage=10, mode=CROSS)
    p = eng.preview("ETH", LONG, size=2, leverage=10, mode=ISO)
    before, after = p.cross_liquidation_prices["BTC"]
    assert after is not None and before is not None and after > before  # W shrinks by 800


def test_preview_rejection_is_opens_message() -> None:
    eng = make_engine(balance=100)
    p = eng.preview("BTC", LONG, size=1, leverage=10, mode=ISO)
    with pytest.raises(OrderRejected) as err:
        eng.open("BTC", LONG, size=1, leverage=10, mode=ISO)
    assert p.rejection == str(err.value) and not p.ok
    bad = eng.preview("BTC", LONG, size=math.nan, leverage=10, mode=ISO)
    assert bad.rejection is not None and "finite" in bad.rejection


def test_preview_reports_locked_mode_for_an_open_position(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.1, leverage=10, mode=ISO)
    p = eng.preview("BTC", LONG, size=0.1, leverage=10, mode=CROSS)
    assert p.locked_mode is ISO and p.rejection is not None
    assert eng.preview("BTC", LONG, 0.1, 10, ISO).kind == "add"


# --------------------------------------------------------------------------- records, state


def test_events_reach_listeners_in_order() -> None:
    clock = FakeClock()
    eng = make_engine(clock=clock)
    seen: list[object] = []
    eng.listeners.append(seen.append)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    clock.now += 60
    eng.add_margin("BTC", 10)
    eng.apply_funding("BTC", 0.0001)
    eng.set_mark("BTC", 50_000)
    assert [type(e) for e in seen] == [Fill, MarginTransfer, FundingPayment, Liquidation]
    assert [e.seq for e in seen] == [1, 2, 3, 4]  # type: ignore[attr-defined]
    liq = seen[-1]
    assert isinstance(liq, Liquidation) and liq.time - liq.opened_at == 60


def test_state_round_trip_rebuilds_the_same_account(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.open("ETH", SHORT, 1, 5, CROSS)
    eng.set_mark("ETH", 3_900)
    copy = PaperEngine.from_state(eng.to_state(), markets=eng.markets.values())
    assert copy.to_state() == eng.to_state()
    assert copy.positions() == eng.positions()
    assert copy.account == eng.account


def test_default_markets_are_realistic() -> None:
    names = [m.name for m in DEFAULT_MARKETS]
    assert len(names) >= 20 and names[:5] == ["BTC", "ETH", "SOL", "XRP", "DOGE"]
    lev = {m.name: m.max_leverage for m in DEFAULT_MARKETS}
    assert (lev["BTC"], lev["ETH"], lev["SOL"]) == (40, 25, 20)
    assert max(lev[n] for n in names[4:]) <= 20
    assert all(m.taker_fee == 0.00045 and m.maker_fee == 0.00015 for m in DEFAULT_MARKETS)


def test_unrealized_profit_cannot_be_posted_as_isolated_margin(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=CROSS)
    eng.set_mark("BTC", 200_000)  # +50,000 unrealized; wallet still 10,000
    assert eng.account.available > 45_000
    with pytest.raises(OrderRejected, match="posted from your wallet"):
        eng.open("ETH", LONG, size=50, leverage=5, mode=ISO)  # 40,000 margin
    eng.open("ETH", LONG, size=50, leverage=5, mode=CROSS)  # Cross may use the profit
    eng.open("SOL", LONG, size=10, leverage=5, mode=ISO)  # 400 of cash is fine
    with pytest.raises(OrderRejected, match=r"at most 9,600\.00"):
        eng.add_margin("SOL", 20_000)
    assert eng.account.wallet_balance >= 0


def test_cross_liquidation_of_a_negative_wallet_creates_no_profit(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, size=0.5, leverage=10, mode=CROSS)
    eng.open("ETH", LONG, size=10, leverage=10, mode=CROSS)
    eng.set_mark("BTC", 150_000)  # BTC +25,000
    eng.set_mark("ETH", 2_500)  # ETH -15,000
    eng.close("ETH")  # realizes -15,000: the wallet goes negative, held up by BTC's profit
    assert eng.account.wallet_balance == approx(-5_000)
    eng.set_mark("BTC", 100_500)  # gaps far below: V = -5,000 + 250 < R
    [liq] = eng.liquidations
    assert liq.realized_pnl == approx(250)  # the true PnL, not an invented one
    assert eng.account.wallet_balance == 0
    a = eng.account
    assert a.deposits + a.realized_pnl - a.fees_paid - a.funding_paid - a.forfeited == approx(0)
