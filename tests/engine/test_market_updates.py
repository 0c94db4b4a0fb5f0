"""``update_market``: a venue's new table replaces a market's terms, open positions re-tiered.

Hand-worked figures (fees 0). Hyperliquid isolated long 1 BTC at 100,000, 10x, margin 10,000:
the liquidation price solves ``10,000 + (p - 100,000) = p * rate``, so ``p = 90,000 / (1 -
rate)``. At 40x (rate 1/80 = 1.25 %) that is 91,139.24; at 20x (2.5 %) 92,307.69.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import FakeClock, liq_price
from tui.engine import (
    InvalidInput,
    MarginMode,
    MarginTier,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS


def btc(max_leverage: float, tiers: tuple[MarginTier, ...] = ()) -> Market:
    return Market("BTC", max_leverage=max_leverage, taker_fee=0, maker_fee=0, tiers=tiers)


def engine(market: Market, balance: float = 20_000) -> PaperEngine:
    eng = PaperEngine(balance=balance, markets=[market], clock=FakeClock())
    eng.set_mark("BTC", 100_000)
    return eng


def test_an_isolated_position_takes_the_new_tables_liquidation_price() -> None:
    eng = engine(btc(40))
    eng.open("BTC", Side.LONG, 1, 10, ISO)
    assert liq_price(eng, "BTC") == pytest.approx(90_000 / 0.9875)  # 91,139.24
    eng.update_market(btc(20))
    assert liq_price(eng, "BTC") == pytest.approx(90_000 / 0.975)  # 92,307.69
    pos = eng.position("BTC")
    assert pos is not None
    assert (pos.size, pos.entry_price, pos.leverage, pos.margin) == (1, 100_000, 10, 10_000)
    assert eng.market("BTC").max_leverage == 20


def test_a_position_above_a_tier_floor_is_re_tiered_at_the_mark() -> None:
    # New table: 0-10k 40x (1.25 %), 10k-50k 25x (2 %), from 50k 10x (5 %); deductions 75 and
    # 75 + 50,000 * 3 % = 1,575. Notional 100,000 sits in the third tier: maintenance
    # 100,000 * 5 % - 1,575 = 3,425; liquidation 10,000 + p - 100,000 = 0.05 p - 1,575,
    # p = 88,425 / 0.95 = 93,078.95 (still in the third tier).
    eng = engine(btc(40))
    eng.open("BTC", Side.LONG, 1, 10, ISO)
    eng.update_market(btc(40, (MarginTier(0, 40), MarginTier(10_000, 25), MarginTier(50_000, 10))))
    assert liq_price(eng, "BTC") == pytest.approx(88_425 / 0.95)
    pos = eng.position("BTC")
    assert pos is not None
    assert pos.maintenance_margin == pytest.approx(3_425)


def test_a_cross_position_moves_the_accounts_maintenance() -> None:
    # Cross long 1 BTC at 100,000: maintenance 1,250 at 40x (1.25 %), 2,500 at 20x (2.5 %).
    eng = engine(btc(40))
    eng.open("BTC", Side.LONG, 1, 20, CROSS)
    assert eng.account.cross_maintenance_margin == pytest.approx(1_250)
    eng.update_market(btc(20))
    assert eng.account.cross_maintenance_margin == pytest.approx(2_500)
    # The buffer follows the new rate tick by tick: at 99,000 maintenance is 2,475.
    eng.set_mark("BTC", 99_000)
    assert eng.account.cross_maintenance_margin == pytest.approx(2_475)


def test_a_table_that_puts_a_position_below_maintenance_liquidates_it() -> None:
    # At 92,000 the 40x table keeps the position (liquidation 91,139.24); the 20x table's is
    # 92,307.69, so the mark is beyond it. Hyperliquid closes at market: equity 10,000 - 8,000
    # = 2,000, above 2/3 of maintenance (2/3 * 92,000 * 2.5 % = 1,533.33): no backstop; the
    # 2,000 left stays with the trader.
    eng = engine(btc(40))
    eng.open("BTC", Side.LONG, 1, 10, ISO)
    eng.set_mark("BTC", 92_000)
    assert eng.position("BTC") is not None
    eng.update_market(btc(20))
    assert eng.position("BTC") is None
    (liq,) = eng.liquidations
    assert liq.outcome == "market"
    assert liq.realized_pnl == pytest.approx(-8_000)
    assert eng.account.wallet_balance == pytest.approx(12_000)


def test_new_orders_follow_the_new_max_leverage() -> None:
    eng = engine(btc(40))
    eng.update_market(btc(20))
    with pytest.raises(OrderRejected, match="20x"):
        eng.open("BTC", Side.LONG, 0.01, 25, ISO)
    eng.open("BTC", Side.LONG, 0.01, 20, ISO)


def test_an_unlisted_market_is_refused_and_nothing_changes() -> None:
    eng = engine(btc(40))
    with pytest.raises(InvalidInput, match="ETH is not listed"):
        eng.update_market(Market("ETH", max_leverage=25))
    with pytest.raises(InvalidInput, match="Not a market"):
        eng.update_market("BTC")  # type: ignore[arg-type]
    assert list(eng.markets) == ["BTC"]
    assert eng.market("BTC").max_leverage == 40
