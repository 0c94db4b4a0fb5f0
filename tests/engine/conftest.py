from __future__ import annotations

import pytest

from tui.engine import Market, PaperEngine, Venue


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_engine(
    balance: float = 10_000,
    fees: bool = False,
    clock: FakeClock | None = None,
    venue: Venue = Venue.HYPERLIQUID,
):
    """BTC, ETH and SOL without margin tiers (one tier each, 40x / 25x / 20x), no size step."""
    taker = 0.00045 if fees else 0.0
    maker = 0.00015 if fees else 0.0
    markets = [
        Market("BTC", max_leverage=40, taker_fee=taker, maker_fee=maker),
        Market("ETH", max_leverage=25, taker_fee=taker, maker_fee=maker),
        Market("SOL", max_leverage=20, taker_fee=taker, maker_fee=maker),
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
