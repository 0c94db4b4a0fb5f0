"""Hand-worked numbers for every venue rule of docs/rules.md ("Venues"), fees 0 unless stated.

Each figure in a comment is worked by hand from the formula the rules page gives; the test
checks the engine lands on it.
"""

from __future__ import annotations

import math

import pytest

from tests.engine.conftest import FakeClock, liq_price, make_engine
from tui.engine import (
    FundingPayment,
    LeverageChange,
    Liquidation,
    MarginMode,
    MarginTier,
    MarginTransfer,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
    Venue,
    venue_markets,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
HL, BN = Venue.HYPERLIQUID, Venue.BINANCE


def approx(x: float | None, rel: float = 1e-9) -> object:
    return pytest.approx(x, rel=rel, abs=1e-9)


def engine(
    *markets: Market,
    venue: Venue = HL,
    balance: float = 10_000,
    clock: FakeClock | None = None,
    marks: dict[str, float] | None = None,
) -> PaperEngine:
    eng = PaperEngine(balance=balance, markets=markets, venue=venue, clock=clock or FakeClock())
    for name, price in (marks or {}).items():
        eng.set_mark(name, price)
    return eng


# Hyperliquid's testnet-style BTC table, small enough to cross tiers by hand:
# 0-10k 40x (1.25 %), 10k-50k 25x (2 %), >50k 10x (5 %).
# Deductions: 10,000 * (2 % - 1.25 %) = 75; 75 + 50,000 * (5 % - 2 %) = 1,575.
HL_TIERED_BTC = Market(
    "BTC",
    max_leverage=40,
    taker_fee=0,
    maker_fee=0,
    tiers=(MarginTier(0, 40), MarginTier(10_000, 25), MarginTier(50_000, 10)),
)

# Binance brackets as the issue writes them, with a third: rates and maintenance amounts given.
BN_BTC = Market(
    "BTC",
    max_leverage=125,
    taker_fee=0,
    maker_fee=0,
    tiers=(
        MarginTier(0, 125, maintenance_rate=0.004, maintenance_amount=0),
        MarginTier(50_000, 100, maintenance_rate=0.005, maintenance_amount=50),
        MarginTier(250_000, 50, maintenance_rate=0.01, maintenance_amount=1_300),
    ),
)
BN_ETH = Market(
    "ETH",
    max_leverage=100,
    taker_fee=0,
    maker_fee=0,
    tiers=(MarginTier(0, 100, maintenance_rate=0.005, maintenance_amount=0),),
)


# =========================================================================== margin tables


def test_tier_maintenance_rates_and_deductions_are_derived_the_hyperliquid_way() -> None:
    rates = [t.maintenance_rate for t in HL_TIERED_BTC.tiers]
    amounts = [t.maintenance_amount for t in HL_TIERED_BTC.tiers]
    assert rates == [approx(0.0125), approx(0.02), approx(0.05)]
    assert amounts == [0, approx(75), approx(1_575)]
    # Continuous at each floor: 10,000 * 1.25 % = 125 = 10,000 * 2 % - 75.
    assert HL_TIERED_BTC.maintenance_margin(10_000) == approx(125)
    assert HL_TIERED_BTC.maintenance_margin(9_999.999) == approx(125, rel=1e-6)
    assert HL_TIERED_BTC.maintenance_margin(50_000) == approx(925)  # 2,500 - 1,575 = 1,000 - 75


def test_issue_example_market_bnb_has_the_mainnet_table() -> None:
    bnb = Market("BNB", max_leverage=10, tiers=(MarginTier(0, 10), MarginTier(3_000_000, 5)))
    assert [(t.maintenance_rate, t.maintenance_amount) for t in bnb.tiers] == [
        (approx(0.05), 0),
        (approx(0.10), approx(150_000)),  # 3,000,000 * (10 % - 5 %)
    ]
    shipped = {m.name: m for m in venue_markets(HL)}["BNB"]
    assert shipped.tiers == bnb.tiers and shipped.max_leverage == 10


def test_market_without_tiers_is_one_tier_as_before() -> None:
    btc = Market("BTC", max_leverage=40)
    assert btc.tiers == (MarginTier(0, 40, 0.0125, 0),)
    assert btc.mmr == 0.0125 and btc.maintenance_margin(10_000) == approx(125)


@pytest.mark.parametrize(
    ("tiers", "match"),
    [
        ((MarginTier(10, 40),), "start at a notional of 0"),
        ((MarginTier(0, 20),), "must be the same"),
        ((MarginTier(0, 40), MarginTier(0, 20)), "rise in notional floor"),
        ((MarginTier(0, 40), MarginTier(10, 50)), "must not raise max leverage"),
        ((MarginTier(0, 40, 0.01, 0), MarginTier(10_000, 20, 0.02, 99)), "keeps maintenance"),
        (({"notional_floor": 0, "max_leverage": 40, "colour": 1},), "Not a margin tier"),
        ("tiers", "list of margin tiers"),
    ],
)
def test_bad_margin_tables_are_refused_with_a_reason(tiers: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Market("BTC", max_leverage=40, tiers=tiers)  # type: ignore[arg-type]


def test_hyperliquid_tiered_maintenance_and_liquidation_above_a_tier_floor() -> None:
    eng = engine(HL_TIERED_BTC, marks={"BTC": 100_000})
    eng.open("BTC", LONG, 0.6, 10, ISO)  # notional 60,000: the 10x tier; margin 6,000
    pos = eng.position("BTC")
    assert pos is not None and pos.margin == approx(6_000)
    assert pos.maintenance_margin == approx(60_000 * 0.05 - 1_575)  # 1,425
    # In the 5 % tier: (100,000 - (6,000 + 1,575) / 0.6) / 0.95 = 87,375 / 0.95 = 91,973.68,
    # a notional of 55,184 (still in that tier).
    assert pos.liquidation_price == approx(87_375 / 0.95)
    assert round(liq_price(eng, "BTC"), 2) == 91_973.68
    eng.set_mark("BTC", 91_973.69)
    assert eng.liquidations == []
    eng.set_mark("BTC", 91_973.67)
    assert eng.liquidations[0].market == "BTC"


def test_liquidation_price_uses_the_tier_in_force_at_that_price() -> None:
    eng = engine(HL_TIERED_BTC, balance=20_000, marks={"BTC": 100_000})
    eng.open("BTC", LONG, 0.6, 5, ISO)  # margin 12,000, opened in the 10x tier
    # The 5 % tier would give (100,000 - 13,575 / 0.6) / 0.95 = 81,447.37, a notional of
    # 48,868, below that tier: the 2 % tier answers, (100,000 - 12,075 / 0.6) / 0.98 =
    # 79,875 / 0.98 = 81,505.10 (notional 48,903, inside 10k-50k).
    liq = liq_price(eng, "BTC")
    assert liq == approx(79_875 / 0.98)
    assert 10_000 <= 0.6 * liq < 50_000


def test_hyperliquid_order_refused_above_its_tiers_leverage() -> None:
    eng = engine(HL_TIERED_BTC, marks={"BTC": 100_000})
    before = eng.to_state()
    with pytest.raises(OrderRejected) as err:
        eng.open("BTC", LONG, 0.6, 20, ISO)  # 60,000 of notional: its tier allows 10x
    assert "above 50,000.00 of notional allow at most 10x" in str(err.value)
    assert "Lower the leverage to 10x" in str(err.value)
    assert eng.to_state() == before
    preview = eng.preview("BTC", LONG, 0.6, 20, ISO)
    assert preview.rejection == str(err.value) and preview.max_leverage == 10
    with pytest.raises(OrderRejected, match="at most 25x"):
        eng.open("BTC", LONG, 0.4, 26, ISO)  # 40,000: the 25x tier
    eng.open("BTC", LONG, 0.5, 25, ISO)  # exactly 50,000 still belongs to the 25x tier
    with pytest.raises(OrderRejected, match="at most 10x"):
        eng.open("BTC", LONG, 0.01, 25, ISO)  # an add keeps 25x; 51,000 allows 10x


def test_cross_buffer_stays_exact_across_tier_boundaries() -> None:
    eng = engine(HL_TIERED_BTC, balance=100_000, marks={"BTC": 100_000})
    eng.open("BTC", LONG, 0.6, 10, CROSS)
    for price in (95_000, 80_000, 30_000, 12_000, 60_000, 101_000, 8_000, 100_000):
        eng.set_mark("BTC", price)  # 57,000 / 48,000 / 18,000 / 7,200 / ... of notional
        fresh = PaperEngine.from_state(eng.to_state(), markets=eng.markets.values())
        assert eng.account.cross_maintenance_margin == approx(
            HL_TIERED_BTC.maintenance_margin(0.6 * price)
        )
        now, rebuilt = eng.position("BTC"), fresh.position("BTC")
        assert now is not None and rebuilt is not None
        assert now.liquidation_price == approx(rebuilt.liquidation_price)  # None: no liq price
    assert eng.liquidations == []


# =========================================================================== Hyperliquid


def test_issue_example_isolated_10x_long_at_91100_keeps_about_110() -> None:
    eng = make_engine()  # Hyperliquid, BTC 40x: maintenance 1.25 %
    eng.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000, wallet 9,000
    eng.set_mark("BTC", 91_100)
    # Equity 1,000 + 0.1 * (91,100 - 100,000) = 110; maintenance 9,110 * 1.25 % = 113.875;
    # two thirds of it 75.92 < 110: closed at market, the 110 left goes back to the wallet.
    [liq] = eng.liquidations
    assert liq.outcome == "market" and liq.venue == "hyperliquid"
    assert liq.returned == approx(110)
    assert liq.margin_lost == approx(890) and liq.realized_pnl == approx(-890)
    assert liq.forfeited == 0
    assert eng.account.wallet_balance == approx(9_110)
    assert eng.position("BTC") is None


def test_same_trade_on_binance_forfeits_the_whole_margin() -> None:
    eng = make_engine(venue=BN)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 91_100)
    [liq] = eng.liquidations
    assert (liq.outcome, liq.returned, liq.margin_lost) == ("forfeit", 0.0, approx(1_000))
    assert liq.forfeited == approx(110)
    assert eng.account.wallet_balance == approx(9_000)


def test_hyperliquid_isolated_backstop_below_two_thirds_of_maintenance() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    # At 90,700: equity 1,000 - 930 = 70; maintenance 9,070 * 1.25 % = 113.375; two thirds of
    # it 75.58 > 70: the backstop takes the position and its 70.
    eng.set_mark("BTC", 90_700)
    [liq] = eng.liquidations
    assert liq.outcome == "backstop" and liq.returned == 0
    assert liq.forfeited == approx(70) and liq.margin_lost == approx(1_000)
    assert eng.account.wallet_balance == approx(9_000)


def test_hyperliquid_isolated_just_above_the_backstop_is_closed_at_market() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    # At 90,800: equity 80; maintenance 113.5, two thirds 75.67 < 80: at market.
    eng.set_mark("BTC", 90_800)
    [liq] = eng.liquidations
    assert liq.outcome == "market" and liq.returned == approx(80)
    assert eng.account.wallet_balance == approx(9_080)


def test_hyperliquid_cross_liquidation_returns_what_is_left() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.5, 10, CROSS)  # liquidation at 81,012.66, as on Binance
    assert round(liq_price(eng, "BTC"), 2) == 81_012.66
    # At 81,000: account value 10,000 - 9,500 = 500; maintenance 40,500 * 1.25 % = 506.25;
    # two thirds 337.50 < 500: closed at market, the 500 stays in the wallet.
    eng.set_mark("BTC", 81_000)
    [liq] = eng.liquidations
    assert (liq.outcome, liq.mode) == ("market", CROSS)
    assert liq.returned == approx(500) and liq.margin_lost == approx(9_500)
    assert eng.account.wallet_balance == approx(500) and eng.account.forfeited == 0


def test_hyperliquid_cross_backstop_takes_the_whole_cross_balance() -> None:
    eng = make_engine()
    eng.open("SOL", LONG, 10, 5, ISO)  # isolated: untouched by a cross liquidation
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    # Wallet 9,600. At 80,400: value 9,600 - 9,800 = -200 < 2/3 of 502.5: the backstop.
    eng.set_mark("BTC", 80_400)
    [liq] = eng.liquidations
    assert liq.outcome == "backstop" and liq.returned == 0
    assert liq.margin_lost == approx(9_600)
    assert eng.account.wallet_balance == 0
    assert eng.position("SOL") is not None


def test_hyperliquid_large_position_is_liquidated_20_percent_then_the_rest_in_cooldown() -> None:
    clock = FakeClock()
    eng = make_engine(balance=50_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)  # 200,000 of notional, margin 20,000, wallet 30,000
    assert round(liq_price(eng, "BTC"), 2) == 91_139.24
    eng.set_mark("BTC", 91_100)
    # Equity 20,000 - 17,800 = 2,200 <= maintenance 182,200 * 1.25 % = 2,277.50, notional
    # above 100,000: 20 % (0.4 BTC) closes at market, realizing 0.4 * -8,900 = -3,560 from the
    # margin (16,440 left). 1.6 BTC stay: equity still 2,200, maintenance now 1,822.
    [part] = eng.liquidations
    assert (part.outcome, part.size, part.remaining_size) == ("partial", approx(0.4), approx(1.6))
    assert part.realized_pnl == approx(-3_560) and part.returned == 0
    pos = eng.position("BTC")
    assert pos is not None and pos.size == approx(1.6) and pos.margin == approx(16_440)
    # New liquidation price (100,000 - 16,440 / 1.6) / 0.9875 = 89,725 / 0.9875 = 90,860.76.
    assert pos.liquidation_price == approx(89_725 / 0.9875)
    assert eng.account.wallet_balance == approx(30_000)

    clock.now += 29  # within the 30 s cooldown: a liquidation takes the whole position
    eng.set_mark("BTC", 90_800)
    # Equity 16,440 - 1.6 * 9,200 = 1,720; maintenance 145,280 * 1.25 % = 1,816; at market.
    full = eng.liquidations[-1]
    assert (full.outcome, full.size) == ("market", approx(1.6))
    assert full.returned == approx(1_720)
    assert eng.account.wallet_balance == approx(31_720)
    assert eng.position("BTC") is None


def test_hyperliquid_partial_again_after_the_cooldown() -> None:
    clock = FakeClock()
    eng = make_engine(balance=50_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)
    eng.set_mark("BTC", 91_100)
    clock.now += 31  # the cooldown is over: 145,280 of notional is sliced again
    eng.set_mark("BTC", 90_800)
    second = eng.liquidations[-1]
    assert (second.outcome, second.size) == ("partial", approx(0.32))  # 20 % of 1.6
    assert eng.position("BTC").size == approx(1.28)  # type: ignore[union-attr]


def test_hyperliquid_gap_through_a_slice_closes_the_rest_at_once() -> None:
    eng = make_engine(balance=50_000)
    eng.open("BTC", LONG, 2, 10, ISO)
    # At 90,900: equity 20,000 - 18,200 = 1,800 (two thirds of maintenance 2,272.50: 1,515).
    # The 20 % slice leaves 1.6 BTC holding 1,800 against maintenance 145,440 * 1.25 % =
    # 1,818: still below, and the cooldown it started makes the rest go at market.
    eng.set_mark("BTC", 90_900)
    outcomes = [(x.outcome, round(x.size, 9)) for x in eng.liquidations]
    assert outcomes == [("partial", 0.4), ("market", 1.6)]
    assert eng.liquidations[-1].returned == approx(20_000 - 2 * 9_100)  # 1,800
    assert eng.account.wallet_balance == approx(31_800)


def test_hyperliquid_cross_slice_keeps_large_positions_and_closes_small_ones() -> None:
    eng = make_engine(balance=30_000)
    eng.open("BTC", LONG, 2, 10, CROSS)  # 200,000 of notional
    eng.open("ETH", LONG, 5, 10, CROSS)  # 20,000 of notional
    btc = liq_price(eng, "BTC")
    eng.set_mark("BTC", btc * (1 - 1e-9))
    parts = {x.market: x.outcome for x in eng.liquidations}
    assert parts == {"BTC": "partial", "ETH": "market"}
    assert eng.position("BTC").size == approx(1.6)  # type: ignore[union-attr]
    assert eng.position("ETH") is None
    assert eng.account.cross_account_value > eng.account.cross_maintenance_margin


def sliced_with_the_wallet_below_zero(clock: FakeClock) -> PaperEngine:
    """Short 0.5 BTC (40x) and 600 SOL (20x) Cross on 20,000; SOL falls to 175 (+15,000), then
    BTC gaps from 100,000 to 164,000 (-32,000), past the account's liquidation at 162,716.05."""
    eng = make_engine(balance=20_000, clock=clock)
    eng.open("BTC", SHORT, 0.5, 40, CROSS)
    eng.open("SOL", SHORT, 600, 20, CROSS)
    eng.set_mark("SOL", 175)
    # V = 20,000 + 15,000 - 0.5 * (P - 100,000); R = 0.5 * P * 1.25 % + 105,000 * 2.5 %:
    # V = R at P = 82,375 / 0.50625 = 162,716.05.
    assert eng.position("BTC").liquidation_price == approx(82_375 / 0.50625)  # type: ignore[union-attr]
    eng.set_mark("BTC", 164_000)
    return eng


def test_hyperliquid_cross_slice_can_leave_the_wallet_below_zero_held_up_by_open_profit() -> None:
    """The property test's session (a small losing cross position and a large winning one)
    reduced to round numbers: the liquidation moves no value, it only realizes some of it."""
    eng = sliced_with_the_wallet_below_zero(FakeClock())
    # At 164,000: V = 35,000 - 32,000 = 3,000; R = 1,025 + 2,625 = 3,650, two thirds 2,433.33:
    # at market. BTC (82,000 of notional) closes whole, realizing -32,000; SOL (105,000)
    # loses 20 %, 120 SOL realizing 120 * 25 = +3,000. W = 20,000 - 32,000 + 3,000 = -9,000,
    # held up by the 480 SOL still open: u = 480 * 25 = 12,000, V = 3,000 as before the
    # liquidation, above R = 480 * 175 * 2.5 % = 2,100. Nothing is lost past what was at stake
    # (V), so nothing is written off.
    btc, sol = eng.liquidations
    assert (btc.market, btc.outcome, btc.size, btc.realized_pnl) == ("BTC", "market", 0.5, -32_000)
    assert btc.returned == 0  # SOL is still open: nothing is returned yet
    assert (sol.outcome, sol.size, sol.remaining_size) == ("partial", approx(120), approx(480))
    assert sol.realized_pnl == approx(3_000) and btc.group == sol.group
    a = eng.account
    assert a.wallet_balance == approx(-9_000)
    assert a.cross_account_value == approx(3_000) and a.equity == approx(3_000)
    assert a.cross_maintenance_margin == approx(2_100)
    assert a.forfeited == 0 and a.realized_pnl == approx(-29_000)
    # Forfeiting the -9,000 instead would have handed the trader 9,000 (V would be 12,000).


def test_hyperliquid_after_the_slice_a_close_at_market_returns_what_is_left() -> None:
    clock = FakeClock()
    eng = sliced_with_the_wallet_below_zero(clock)
    clock.now += 10  # in the cooldown: the whole position goes
    # SOL at 178: V = -9,000 + 480 * 22 = 1,560; R = 480 * 178 * 2.5 % = 2,136, two thirds
    # 1,424 < 1,560: closed at market, realizing +10,560; W = -9,000 + 10,560 = 1,560.
    eng.set_mark("SOL", 178)
    last = eng.liquidations[-1]
    assert (last.market, last.outcome, last.size) == ("SOL", "market", approx(480))
    assert last.realized_pnl == approx(10_560) and last.returned == approx(1_560)
    assert eng.account.wallet_balance == approx(1_560) and eng.account.forfeited == 0
    assert eng.positions() == []


def test_hyperliquid_after_the_slice_a_gap_past_bankruptcy_writes_the_debt_off() -> None:
    clock = FakeClock()
    eng = sliced_with_the_wallet_below_zero(clock)
    clock.now += 10
    # SOL gaps to 190: V = -9,000 + 480 * 10 = -4,200 < 0: the backstop takes the position, W
    # stops at 0 and the 4,200 the account owes is written off (a forfeit of -4,200); the
    # record keeps SOL's true PnL, +4,800. 20,000 - 24,200 - (-4,200) = 0 = W.
    eng.set_mark("SOL", 190)
    last = eng.liquidations[-1]
    assert (last.market, last.outcome, last.realized_pnl) == ("SOL", "backstop", approx(4_800))
    assert last.forfeited == approx(-4_200)
    a = eng.account
    assert a.wallet_balance == 0 and a.equity == 0
    assert a.realized_pnl == approx(-24_200) and a.forfeited == approx(-4_200)


def test_hyperliquid_removal_limit_with_a_loss() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 20, ISO)  # margin 500
    eng.add_margin("BTC", 1_000)  # margin 1,500
    eng.set_mark("BTC", 99_000)
    # u = -100. Keep max(9,900 / 20 = 495, 10 % of 9,900 = 990) = 990:
    # 1,500 - 100 - 990 = 410 can go.
    assert eng.removable_margin("BTC") == approx(410)
    with pytest.raises(OrderRejected, match=r"at most 410\.00.*10 % of its notional"):
        eng.remove_margin("BTC", 411)
    eng.remove_margin("BTC", 410)
    assert eng.position("BTC").margin == approx(1_090)  # type: ignore[union-attr]


def test_binance_removal_limit_with_the_same_loss() -> None:
    eng = make_engine(venue=BN)
    eng.open("BTC", LONG, 0.1, 20, ISO)
    eng.add_margin("BTC", 1_000)
    eng.set_mark("BTC", 99_000)
    # Keep 495 plus the 100 loss: 1,500 - 100 - 495 = 905.
    assert eng.removable_margin("BTC") == approx(905)


def test_hyperliquid_removal_limit_with_a_profit() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000
    eng.set_mark("BTC", 110_000)
    # u = +1,000 counts. Keep max(11,000 / 10, 1,100) = 1,100: 2,000 - 1,100 = 900 can go.
    assert eng.removable_margin("BTC") == approx(900)
    eng.remove_margin("BTC", 900)
    assert eng.account.wallet_balance == approx(9_900)
    # Binance would let only the margin above 1,100 go, profit not counted: nothing.
    bn = make_engine(venue=BN)
    bn.open("BTC", LONG, 0.1, 10, ISO)
    bn.set_mark("BTC", 110_000)
    assert bn.removable_margin("BTC") == 0


def test_hyperliquid_funding_capped_at_4_percent_an_hour() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    assert eng.apply_funding("BTC", 0.05) == approx(0.1 * 100_000 * 0.04)  # 400, not 500
    assert eng.apply_funding("BTC", -0.07) == approx(-400)
    [first, second] = eng.funding_payments
    assert (first.rate, second.rate) == (0.04, -0.04)


def test_hyperliquid_funding_on_the_oracle_price_when_given() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    assert eng.apply_funding("BTC", 0.0001, oracle_price=99_000) == approx(0.99)
    [pay] = eng.funding_payments
    assert pay.funding_price == 99_000 and pay.mark_price == 100_000
    with pytest.raises(ValueError, match="oracle price must be a finite"):
        eng.apply_funding("BTC", 0.0001, oracle_price=math.nan)


def test_hyperliquid_settles_funding_every_hour() -> None:
    clock = FakeClock(1_000_000)  # 277 h 46 m 40 s: the next hour is 1,000,800
    eng = make_engine(clock=clock)
    eng.set_funding_rate("BTC", 0.0001)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    assert eng.next_funding_time == 1_000_800
    assert eng.settle_funding(1_000_799) == []
    [pay] = eng.settle_funding(1_000_800)
    assert pay.payment == approx(1.0) and pay.time == 1_000_800
    assert eng.settle_funding(1_000_801) == []  # paid once per instant
    assert len(eng.settle_funding(1_000_800 + 2 * 3_600)) == 2
    [oracle] = eng.settle_funding(1_000_800 + 3 * 3_600, oracle_prices={"btc": 98_000})
    assert oracle.payment == approx(0.98) and oracle.funding_price == 98_000
    with pytest.raises(ValueError, match="BTC oracle price must be more than zero"):
        eng.settle_funding(1_000_800 + 4 * 3_600, oracle_prices={"BTC": -1})


def test_hyperliquid_whole_number_leverage_and_minimum_order() -> None:
    eng = make_engine()
    with pytest.raises(OrderRejected, match=r"whole number on Hyperliquid; 2\.5x is not"):
        eng.open("BTC", LONG, 0.1, 2.5, ISO)
    with pytest.raises(OrderRejected, match=r"worth 10\.00; this one is worth 9\.00"):
        eng.open("BTC", LONG, 0.00009, 10, ISO)
    eng.open("BTC", LONG, 0.0002, 10, ISO)  # 20.00
    eng.close("BTC", 0.00015)  # 15.00 reduce-only: no minimum
    eng.close("BTC")  # 5.00 left: closes too
    assert eng.position("BTC") is None


# =========================================================================== sizes


def test_size_step_rounding_from_the_shipped_tables() -> None:
    btc = {m.name: m for m in venue_markets(HL)}["BTC"]  # szDecimals 5
    assert btc.size_step == 0.00001
    assert btc.round_size(0.123456) == 0.12346
    assert btc.round_size(0.123454) == 0.12345
    assert btc.round_size(0.123459, down=True) == 0.12345
    assert btc.round_size(0.1 + 0.2) == 0.3
    xrp = {m.name: m for m in venue_markets(HL)}["XRP"]  # szDecimals 0
    assert xrp.round_size(799.47) == 799
    assert Market("X").round_size(0.123456789) == 0.123456789  # no step: unchanged


def test_orders_fill_the_rounded_size_and_say_so() -> None:
    eng = PaperEngine(balance=10_000, clock=FakeClock())  # Hyperliquid's shipped markets
    eng.set_mark("BTC", 100_000)
    preview = eng.preview("BTC", LONG, 0.0123456, 10, ISO)
    assert (preview.size, preview.requested_size, preview.rounded) == (0.01235, 0.0123456, True)
    fill = eng.open("BTC", LONG, 0.0123456, 10, ISO)
    assert fill.size == 0.01235
    with pytest.raises(OrderRejected, match=r"less than half of BTC's size step \(0\.00001"):
        eng.open("BTC", LONG, 0.000004, 10, ISO)


def test_minimum_order_message_names_the_smallest_size_on_the_step() -> None:
    eng = PaperEngine(balance=10_000, clock=FakeClock(), venue=BN)
    eng.set_mark("BTC", 97_000)  # Binance BTCUSDT: minimum 100, step 0.001
    with pytest.raises(OrderRejected) as err:
        eng.open("BTC", LONG, 0.001, 10, ISO)  # 97.00
    assert "worth 100.00; this one is worth 97.00. Order at least 0.002 BTC" in str(err.value)


# =========================================================================== leverage changes


def test_set_leverage_isolated_raise_keeps_margin_lower_posts_more() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    liq = liq_price(eng, "BTC")
    view = eng.set_leverage("BTC", 20)
    assert view.leverage == 20 and view.margin == approx(1_000)
    assert view.liquidation_price == approx(liq)
    assert eng.removable_margin("BTC") == 0  # keep max(500, 10 % of 10,000) = all 1,000
    preview = eng.leverage_preview("BTC", 5)
    # 5x needs 2,000 of margin; equity 1,000: 1,000 more from the wallet.
    assert (preview.top_up, preview.margin_after, preview.ok) == (
        approx(1_000),
        approx(2_000),
        True,
    )
    assert preview.liquidation_price_after == approx((100_000 - 20_000) / 0.9875)
    assert eng.to_state()["wallet"] == approx(9_000)  # a preview changes nothing
    eng.set_leverage("BTC", 5)
    assert eng.account.wallet_balance == approx(8_000)
    assert eng.position("BTC").margin == approx(2_000)  # type: ignore[union-attr]


def test_set_leverage_cross_lowering_needs_available_margin() -> None:
    eng = make_engine(balance=1_000)
    eng.open("BTC", LONG, 0.1, 20, CROSS)  # uses 500
    with pytest.raises(OrderRejected, match=r"holds 10,000\.00 of margin, 9,500\.00 more"):
        eng.set_leverage("BTC", 1)
    # 10x holds 1,000: 500 more than at 20x, exactly what is available.
    preview = eng.leverage_preview("BTC", 10)
    assert preview.ok and preview.available_after == approx(0)
    eng.set_leverage("BTC", 10)
    assert eng.position("BTC").leverage == 10  # type: ignore[union-attr]
    assert eng.account.available == approx(0)


def test_set_leverage_refusals_change_nothing() -> None:
    eng = engine(HL_TIERED_BTC, marks={"BTC": 100_000})
    eng.open("BTC", LONG, 0.6, 10, ISO)
    before = (eng.to_state(), len(eng.events))
    for lev, match in ((20, r"allows 1x to 10x"), (7.5, "whole number"), (0, "more than zero")):
        with pytest.raises(OrderRejected, match=match):
            eng.set_leverage("BTC", lev)
        assert eng.leverage_preview("BTC", lev).rejection is not None
    with pytest.raises(OrderRejected, match="no open ETH position"):
        make_engine().set_leverage("ETH", 5)
    assert (eng.to_state(), len(eng.events)) == before


def test_a_leverage_change_is_a_record_even_when_no_margin_moves() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    n = len(eng.events)
    eng.set_leverage("BTC", 20)  # cross: the margin used becomes 10,000 / 20 = 500
    [change] = eng.events[n:]
    assert isinstance(change, LeverageChange)
    assert (change.market, change.mode, change.size) == ("BTC", CROSS, approx(0.1))
    assert (change.leverage_before, change.leverage) == (10, 20)
    assert change.margin == approx(500) and change.margin_added == 0
    assert change.seq == eng.to_state()["seq"]  # numbered like every record
    eng.set_leverage("BTC", 20)  # no change: no record
    assert len(eng.events) == n + 1


def test_a_leverage_change_that_posts_margin_records_the_transfer_first() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000
    n = len(eng.events)
    eng.set_leverage("BTC", 5)  # 2,000 needed, equity 1,000: 1,000 posted from the wallet
    transfer, change = eng.events[n:]
    assert isinstance(transfer, MarginTransfer) and transfer.amount == approx(1_000)
    assert isinstance(change, LeverageChange)
    assert (change.leverage_before, change.leverage) == (10, 5)
    assert change.margin == approx(2_000) and change.margin_added == approx(1_000)
    assert change.seq == transfer.seq + 1


# =========================================================================== Binance


def test_binance_isolated_liquidation_price_with_a_maintenance_amount() -> None:
    eng = engine(BN_BTC, venue=BN, marks={"BTC": 60_000})
    eng.open("BTC", LONG, 1, 20, ISO)  # 60,000 of notional: bracket 2 (0.5 %, amount 50)
    # Binance's formula, isolated: (WB + cum - side * pos * EP) / (pos * MMR - side * pos)
    # = (3,000 + 50 - 60,000) / (0.005 - 1) = 57,236.18 (notional 57,236: bracket 2).
    liq = liq_price(eng, "BTC")
    assert liq == approx((3_000 + 50 - 60_000) / (0.005 - 1))
    assert round(liq, 2) == 57_236.18
    assert eng.position("BTC").maintenance_margin == approx(60_000 * 0.005 - 50)  # type: ignore[union-attr]


def test_binance_bracket_at_the_liquidation_price_sets_the_rate() -> None:
    eng = engine(BN_BTC, venue=BN, marks={"BTC": 52_000})
    eng.open("BTC", LONG, 1, 10, ISO)  # 52,000 (bracket 2), margin 5,200
    # Bracket 2 would answer 46,984.92, a notional below 50,000; bracket 1 answers
    # (5,200 + 0 - 52,000) / (0.004 - 1) = 46,987.95, inside it.
    liq = liq_price(eng, "BTC")
    assert liq == approx((5_200 - 52_000) / (0.004 - 1))
    assert round(liq, 2) == 46_987.95


def test_binance_cross_both_sides_liquidation_prices() -> None:
    eng = engine(BN_BTC, BN_ETH, venue=BN, marks={"BTC": 100_000, "ETH": 4_000})
    eng.open("BTC", LONG, 0.5, 10, CROSS)  # 50,000
    eng.open("ETH", SHORT, 10, 10, CROSS)  # 40,000
    eng.set_mark("ETH", 3_900)  # ETH short: UPNL +1,000, maintenance 39,000 * 0.5 % = 195
    # BTC: (WB - TMM1 + UPNL1 + cum - side * pos * EP) / (pos * MMR - side * pos)
    # = (10,000 - 195 + 1,000 + 0 - 50,000) / (0.5 * 0.004 - 0.5) = 78,704.82 (notional
    # 39,352: bracket 1).
    btc = liq_price(eng, "BTC")
    assert btc == approx((10_000 - 195 + 1_000 - 50_000) / (0.5 * 0.004 - 0.5))
    assert round(btc, 2) == 78_704.82
    # ETH, with BTC at its entry (UPNL 0, maintenance 50,000 * 0.5 % - 50 = 200):
    # (10,000 - 200 + 0 + 0 + 40,000) / (10 * 0.005 + 10) = 4,955.22.
    eth = liq_price(eng, "ETH")
    assert eth == approx((10_000 - 200 + 40_000) / (10 * 0.005 + 10))
    assert round(eth, 2) == 4_955.22
    eng.set_mark("BTC", 78_704.83)
    assert eng.liquidations == []
    eng.set_mark("BTC", 78_704.81)
    outcomes = {(x.market, x.outcome) for x in eng.liquidations}
    assert outcomes == {("BTC", "forfeit"), ("ETH", "forfeit")}
    assert eng.account.wallet_balance == 0


def test_binance_leverage_per_bracket() -> None:
    eng = engine(BN_BTC, venue=BN, marks={"BTC": 100_000})
    with pytest.raises(OrderRejected, match="at most 100x"):
        eng.open("BTC", LONG, 0.6, 125, ISO)  # 60,000: bracket 2 allows 100x
    eng.open("BTC", LONG, 0.5, 125, ISO)  # 50,000: bracket 1's cap, 125x allowed


def test_binance_funding_at_a_boundary_only_for_positions_open_then() -> None:
    midnight = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    clock = FakeClock(midnight - 60)
    eng = make_engine(venue=BN, clock=clock)
    eng.set_funding_rate("BTC", 0.0001 / 8)  # 0.01 % for the 8-hour interval
    eng.set_funding_rate("ETH", 0.0001 / 8)
    eng.open("BTC", LONG, 0.1, 10, ISO)  # open at 23:59
    assert eng.next_funding_time == midnight  # the next whole hour; Binance pays at 00:00
    clock.now = midnight + 1
    eng.open("ETH", SHORT, 1, 10, ISO)  # opened after the instant: pays nothing for it
    [pay] = eng.settle_funding(midnight + 1)
    assert (pay.market, pay.time) == ("BTC", midnight)
    assert pay.payment == approx(0.1 * 100_000 * 0.0001)  # 1.00, the interval's 0.01 %
    assert pay.rate == approx(0.0001)
    # 01:00 to 07:00 are no Binance instants for an 8-hour market; 08:00 is.
    assert eng.settle_funding(midnight + 7 * 3_600) == []
    assert {p.market for p in eng.settle_funding(midnight + 8 * 3_600)} == {"BTC", "ETH"}


def test_funding_on_a_feed_clock_follows_the_venue_schedule() -> None:
    """A simulation's clock counts from 0 (its whole hours are funding instants): ``since``
    pays the instants between two of its readings, whatever the engine clock says."""
    clock = FakeClock(1_000_000)
    bn = make_engine(venue=BN, clock=clock)
    bn.set_funding_rate("BTC", 0.0001 / 8)  # 0.01 % for the 8-hour interval
    bn.open("BTC", LONG, 0.1, 10, ISO)
    schedule = bn.next_funding_time
    assert bn.settle_funding(3_600, since=0) == []  # 01:00 is no Binance instant
    [pay] = bn.settle_funding(8 * 3_600, since=7.5 * 3_600)
    assert pay.payment == approx(0.1 * 100_000 * 0.0001)  # 1.00 for the whole interval
    assert pay.time == 1_000_000  # recorded on the engine's clock
    assert bn.settle_funding(8 * 3_600 + 5, since=8 * 3_600) == []  # paid once
    assert len(bn.settle_funding(24 * 3_600, since=8 * 3_600)) == 2  # 16:00 and 24:00
    assert bn.next_funding_time == schedule  # the engine's own schedule is left alone
    hl = make_engine(clock=clock)
    hl.set_funding_rate("BTC", 0.0001)
    hl.open("BTC", LONG, 0.1, 10, ISO)
    assert [p.payment for p in hl.settle_funding(3 * 3_600, since=0)] == [approx(1.0)] * 3
    assert len(hl.settle_funding(100 * 3_600, since=3 * 3_600)) == 24  # at most a day
    [oracle] = hl.settle_funding(101 * 3_600, since=100 * 3_600, oracle_prices={"BTC": 99_000})
    assert oracle.payment == approx(0.99) and oracle.funding_price == 99_000


def test_binance_market_with_a_4_hour_interval() -> None:
    four = Market("X", max_leverage=20, taker_fee=0, funding_interval_hours=4)
    midnight = 1_767_225_600.0
    eng = engine(four, venue=BN, clock=FakeClock(midnight - 60), marks={"X": 100})
    eng.set_funding_rate("X", 0.0001)
    eng.open("X", LONG, 10, 5, ISO)
    assert eng.funding_interval_hours("X") == 4
    assert len(eng.settle_funding(midnight)) == 1
    assert eng.settle_funding(midnight + 3 * 3_600) == []
    [pay] = eng.settle_funding(midnight + 4 * 3_600)
    assert pay.payment == approx(10 * 100 * 0.0004)  # four hours at 0.01 %/h
    # The same market under Hyperliquid pays every hour.
    hl = engine(four, clock=FakeClock(midnight - 60), marks={"X": 100})
    assert hl.funding_interval_hours("X") == 1


def test_binance_whole_number_leverage_and_its_minimum_notional() -> None:
    eng = PaperEngine(balance=10_000, clock=FakeClock(), venue=BN)
    eng.set_mark("ETH", 4_000)  # ETHUSDT: minimum 20
    with pytest.raises(OrderRejected, match="whole number on Binance"):
        eng.open("ETH", LONG, 0.01, 3.5, ISO)
    with pytest.raises(OrderRejected, match=r"worth 20\.00; this one is worth 16\.00"):
        eng.open("ETH", LONG, 0.004, 5, ISO)
    eng.open("ETH", LONG, 0.005, 5, ISO)


# =========================================================================== state


def test_venue_is_kept_in_the_saved_state() -> None:
    eng = make_engine(venue=BN)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    state = eng.to_state()
    assert state["venue"] == "binance"
    copy = PaperEngine.from_state(state, markets=eng.markets.values())
    assert copy.venue is BN and copy.positions() == eng.positions()
    old = {k: v for k, v in state.items() if k != "venue"}  # saved before venues existed
    assert PaperEngine.from_state(old, markets=eng.markets.values()).venue is HL


def test_cooldown_survives_a_rebuild() -> None:
    clock = FakeClock()
    eng = make_engine(balance=50_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)
    eng.set_mark("BTC", 91_100)  # a 20 % slice starts the cooldown
    copy = PaperEngine.from_state(eng.to_state(), markets=eng.markets.values(), clock=clock)
    copy.set_mark("BTC", 90_800)
    assert copy.liquidations[-1].outcome == "market"  # still in the cooldown: all of it


def test_unknown_venue_is_refused() -> None:
    with pytest.raises(ValueError, match="hyperliquid or binance"):
        PaperEngine(venue="bybit")


def test_liquidation_records_round_trip_through_the_journal_codec() -> None:
    from tui.journal import decode_event, encode_event

    eng = make_engine(balance=50_000)
    eng.open("BTC", LONG, 2, 10, ISO)
    eng.set_mark("BTC", 91_100)
    eng.apply_funding("BTC", 0.0001, oracle_price=91_000)
    for event in eng.events:
        assert decode_event(*encode_event(event)) == event
    assert isinstance(eng.events[1], Liquidation) and isinstance(eng.events[2], FundingPayment)
