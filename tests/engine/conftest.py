from __future__ import annotations

import pytest

from tui.engine import MarginTier, Market, Order, PaperEngine, Venue


def liq_price(eng: PaperEngine, market: str) -> float:
    """The liquidation price of the open position in ``market`` (it must have one)."""
    pos = eng.position(market)
    assert pos is not None and pos.liquidation_price is not None
    return pos.liquidation_price


def status(order: Order) -> str:
    """An order's status now (a fresh read: the order changes as marks move)."""
    return order.status


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


TIERS = {
    "BTC": ((0, 40), (10_000, 25), (50_000, 10), (100_000, 5)),
    "ETH": ((0, 25), (20_000, 10), (50_000, 5)),
    "SOL": ((0, 20), (10_000, 10)),
}


def make_engine(
    balance: float = 10_000,
    fees: bool = False,
    clock: FakeClock | None = None,
    venue: Venue = Venue.HYPERLIQUID,
    tiered: bool = False,
) -> PaperEngine:
    """BTC, ETH and SOL at 40x / 25x / 20x, no size step: one tier each, or (``tiered``) small
    Hyperliquid-style tables that positions of a few thousand cross."""
    taker = 0.00045 if fees else 0.0
    maker = 0.00015 if fees else 0.0
    tables: dict[str, tuple[MarginTier, ...]] = {"BTC": (), "ETH": (), "SOL": ()}
    if tiered:
        tables = {name: tuple(MarginTier(*t) for t in rows) for name, rows in TIERS.items()}
    markets = [
        Market(name, max_leverage=lev, taker_fee=taker, maker_fee=maker, tiers=tables[name])
        for name, lev in (("BTC", 40), ("ETH", 25), ("SOL", 20))
    ]
    eng = PaperEngine(balance=balance, markets=markets, clock=clock or FakeClock(), venue=venue)
    eng.set_mark("BTC", 100_000)
    eng.set_mark("ETH", 4_000)
    eng.set_mark("SOL", 200)
    return eng


@pytest.fixture
def eng() -> PaperEngine:
    return make_engine()


@pytest.fixture
def bn() -> PaperEngine:
    """The same markets under Binance's rules (a liquidation forfeits what was at stake)."""
    return make_engine(venue=Venue.BINANCE)
