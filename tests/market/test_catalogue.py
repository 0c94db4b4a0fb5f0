"""One market catalogue: the engine's list is the one the simulator, the settings and the
defaults follow."""

from __future__ import annotations

from tui.engine import DEFAULT_MARKETS, Market
from tui.engine.markets import DEFAULT_SYMBOLS as CATALOGUE
from tui.engine.models import MAKER_FEE, TAKER_FEE
from tui.engine.venues import Venue
from tui.market import DEFAULT_SYMBOLS, EXECUTIONS, MARKETS, SIM_SPEEDS, SOURCE_KINDS, make_source
from tui.settings import EXECUTIONS as SETTINGS_EXECUTIONS
from tui.settings import SOURCES, SPEEDS, VENUES, Settings


def test_the_simulator_prices_exactly_the_catalogue_in_its_order() -> None:
    names = list(CATALOGUE)
    assert len(names) == 22 and names[:3] == ["BTC", "ETH", "SOL"]
    assert [m.name for m in DEFAULT_MARKETS] == names
    assert DEFAULT_SYMBOLS is CATALOGUE  # the market package's list is the engine's
    assert list(MARKETS) == names
    assert all(MARKETS[n].symbol == n for n in names)
    assert make_source("sim", seed=1).symbols == tuple(names)


def test_fees_venues_sources_speeds_and_executions_have_one_definition() -> None:
    assert (TAKER_FEE, MAKER_FEE) == (0.00045, 0.00015)  # Hyperliquid's base tier
    hyperliquid = Venue.HYPERLIQUID
    assert (hyperliquid.taker_fee, hyperliquid.maker_fee) == (TAKER_FEE, MAKER_FEE)
    market = Market("X")
    assert (market.taker_fee, market.maker_fee) == (TAKER_FEE, MAKER_FEE)
    assert all((m.taker_fee, m.maker_fee) == (TAKER_FEE, MAKER_FEE) for m in DEFAULT_MARKETS)
    fees = Settings().fees  # unset: the venue's base tier (tests/test_session.py)
    assert (fees.taker, fees.maker) == (None, None)
    assert SOURCES == SOURCE_KINDS
    assert SPEEDS == (1, 10, 60) and SPEEDS == SIM_SPEEDS
    assert VENUES == ("hyperliquid", "binance")
    assert SETTINGS_EXECUTIONS is EXECUTIONS
