"""Simulated order books: presets, shape, determinism, widening in a crash, a replay's
synthetic spread, and the app passing books to the engine."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.market.conftest import RecordingSink
from tui.engine import PaperEngine, Side
from tui.market import (
    DEFAULT_SYMBOLS,
    MARKETS,
    SAMPLE_REPLAY,
    FeedStatus,
    PriceSource,
    ReplaySource,
    ScenarioSource,
    SimSource,
    SteppedSource,
    make_source,
)
from tui.market.books import BookMaker, BookStyle, Stress, book_style, liquidity


def sides_ok(symbol: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]],
             mark: float) -> None:  # fmt: skip
    """Best first, on the price tick, finite and positive, not crossed, around the mark."""
    tick = 10.0 ** -MARKETS[symbol].decimals
    assert [p for p, _ in bids] == sorted({p for p, _ in bids}, reverse=True)
    assert [p for p, _ in asks] == sorted({p for p, _ in asks})
    for price, size in (*bids, *asks):
        assert math.isfinite(size) and size > 0 and price > 0
        assert abs(price / tick - round(price / tick)) < 1e-6
    assert bids[0][0] <= mark <= asks[0][0] and bids[0][0] < asks[0][0]


def test_frictionless_sends_no_books_and_the_presets_do() -> None:
    assert SimSource(seed=1).step(1.0).books == []  # the class default: marks only
    assert SimSource(seed=1, execution="frictionless").snapshot().books == []
    for preset in ("realistic", "thin"):
        src = SimSource(seed=1, execution=preset)
        result = src.step(1.0)
        assert [b[0] for b in result.books] == list(DEFAULT_SYMBOLS)
        marks = dict(result.marks)
        for symbol, bids, asks in result.books:
            assert len(bids) == len(asks) == 20
            sides_ok(symbol, bids, asks, marks[symbol])
    with pytest.raises(ValueError, match='execution must be one of "frictionless"'):
        SimSource(execution="smooth")


def test_books_never_change_a_seeds_prices_and_repeat_with_it() -> None:
    plain = SimSource(seed=7)
    booked = SimSource(seed=7, execution="realistic")
    again = SimSource(seed=7, execution="realistic")
    for _ in range(50):
        a, b, c = plain.step(0.5), booked.step(0.5), again.step(0.5)
        assert a.events == b.events == c.events
        assert b.books == c.books


def style(execution: str) -> BookStyle:
    found = book_style(execution)
    assert found is not None
    return found


def test_a_realistic_btc_book_by_hand() -> None:
    """BTC at 100,000: half-spread 0.5 bp = 5, on the 0.1 tick; levels 1 bp = 10 apart; about
    400,000 USD (4 BTC) at the best level, growing 15 % a level (each size drawn within
    +-40 %)."""
    assert liquidity("BTC") == (0.00005, 0.0001, 400_000.0)
    bids, asks = BookMaker(["BTC"], style("realistic"), seed=1).book("BTC", 100_000.0)
    assert [p for p, _ in asks[:3]] == [100_005.0, 100_015.0, 100_025.0]
    assert [p for p, _ in bids[:3]] == [99_995.0, 99_985.0, 99_975.0]
    for i, (_, size) in enumerate(asks):
        assert 4.0 * (1 + 0.15 * i) * 0.6 <= size <= 4.0 * (1 + 0.15 * i) * 1.4
    thin_bids, thin_asks = BookMaker(["BTC"], style("thin"), seed=1).book("BTC", 100_000.0)
    assert (thin_bids[0][0], thin_asks[0][0]) == (99_980.0, 100_020.0)  # 4x the half-spread
    assert thin_asks[0][1] == pytest.approx(asks[0][1] * 0.15)  # same draw, 15 % of the depth


def test_less_traded_markets_have_wider_and_shallower_books() -> None:
    half = [liquidity(s)[0] for s in DEFAULT_SYMBOLS]
    usd = [liquidity(s)[2] for s in DEFAULT_SYMBOLS]
    assert half == sorted(half) and usd == sorted(usd, reverse=True)
    assert liquidity("NOTLISTED")[0] > half[-1]  # a symbol the table does not know: thinnest


def test_stress_is_the_run_of_the_mark_in_normal_deviations() -> None:
    stress = Stress(annual_vol=0.5)
    sigma = 0.5 * math.sqrt(60 / (365 * 24 * 3600))  # one minute of BTC: 0.069 %
    stress.update(0.0, 0.0)
    assert stress.value == 0.0
    stress.update(10 * sigma, 1e-9)  # a jump of ten deviations in no time
    assert stress.value == pytest.approx(10.0, rel=1e-6)
    for _ in range(600):  # then ten quiet minutes at the new level
        stress.update(10 * sigma, 1.0)
    assert stress.value < 0.01


class EngineSink:
    def __init__(self, engine: PaperEngine) -> None:
        self.engine = engine

    def on_mark(self, symbol: str, price: float) -> None:
        self.engine.set_mark(symbol, price)

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_status(self, status: FeedStatus) -> None:
        pass

    def on_book(self, symbol: str, bids: Any, asks: Any, time: float) -> None:
        self.engine.set_book(symbol, bids, asks)


def exit_cost(scenario: str, minute: float, usd: float = 1_000_000) -> tuple[float, float]:
    """(slippage in basis points, share filled) of a market sell of ``usd`` of BTC at
    ``minute`` of a scenario, against its realistic books."""
    src = ScenarioSource(scenario, execution="realistic")
    eng = PaperEngine(balance=1e9)
    sink = EngineSink(eng)
    src.snapshot().deliver(sink)
    while src.sim_time < minute * 60:
        src.step(0.25).deliver(sink)
    mark = eng.mark("BTC")
    assert mark is not None
    quote = eng.quote("BTC", Side.SHORT, usd / mark)
    return quote.slippage * 1e4, quote.filled * mark / usd


def test_a_flash_crash_costs_a_large_market_exit_far_more_than_a_calm_market() -> None:
    """Selling 1,000,000 USD of BTC at market: about 1.2 bp in the calm scenario at minute
    11.5; in the flash crash at that minute (BTC falling 9 % in three minutes, the books at a
    third of their depth and widening with the run) about 85 bp, and at the bottom (minute
    13.5, a tenth of the depth) the book cannot take it all."""
    calm, calm_filled = exit_cost("calm", 11.5)
    crash, crash_filled = exit_cost("flash-crash", 11.5)
    bottom, bottom_filled = exit_cost("flash-crash", 13.5)
    assert 0.5 < calm < 2.0 and calm_filled == pytest.approx(1.0)
    assert crash > 50 and crash > 25 * calm and crash_filled == pytest.approx(1.0)
    assert bottom > crash and bottom_filled < 0.6
    quiet_before, _ = exit_cost("flash-crash", 5)
    assert quiet_before < 2.0  # before the storm the crash scenario is as calm as calm


def test_a_replay_gets_a_synthetic_spread_only_with_a_preset_that_asks_for_it() -> None:
    assert ReplaySource(SAMPLE_REPLAY).snapshot().books == []
    src = ReplaySource(SAMPLE_REPLAY, execution="realistic")
    first = src.snapshot()
    assert [b[0] for b in first.books] == [s for s, _ in first.marks]
    marks = dict(first.marks)
    for symbol, bids, asks in first.books:
        sides_ok(symbol, bids, asks, marks[symbol])
    later = src.step(3_600.0)
    moved = {s for s, _ in later.marks}
    assert {b[0] for b in later.books} == moved and later.time == src.sim_time
    sink = RecordingSink()
    later.deliver(sink)
    assert [b[0] for b in sink.books] == [b[0] for b in later.books]


def stepped(source: PriceSource) -> SteppedSource:
    assert isinstance(source, SteppedSource)
    return source


def test_make_source_passes_the_preset_on() -> None:
    assert stepped(make_source("sim", seed=1, execution="thin")).snapshot().books
    assert not stepped(make_source("sim", seed=1)).snapshot().books
    scenario = make_source("scenario", scenario="calm", execution="realistic")
    assert stepped(scenario).snapshot().books
    replay = make_source("replay", replay_file=SAMPLE_REPLAY, execution="thin")
    assert stepped(replay).snapshot().books


def test_the_session_applies_books_and_counts_bad_ones() -> None:
    from tui.session import Session  # the feed's sink in the app

    session = Session()
    session.engine.set_mark("BTC", 100_000)
    session.on_book("BTC", [(99_990.0, 1.0)], [(100_010.0, 2.0)], 0.0)
    book = session.engine.book("BTC")
    assert book is not None and book.best_ask == 100_010
    session.on_book("BTC", [(100_020.0, 1.0)], [(100_010.0, 2.0)], 0.0)  # crossed
    session.on_book("NOPE", [], [], 0.0)
    assert session.bad_marks == 2 and session.engine.book("BTC") is book
