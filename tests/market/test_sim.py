from __future__ import annotations

import asyncio
import math
import statistics

import pytest

from tests.market.conftest import RecordingSink, running, wait_until
from tui.market import DEFAULT_SYMBOLS, MARKETS, EventKind, FeedState, SimSource
from tui.market.markets import BASE_FUNDING_RATE, MAX_FUNDING_RATE
from tui.market.sim import FUNDING_SENSITIVITY

BRIEF_ORDER = [
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "DOGE",
    "BNB",
    "HYPE",
    "SUI",
    "ADA",
    "AVAX",
    "LINK",
    "LTC",
    "DOT",
    "TRX",
    "BCH",
    "NEAR",
    "APT",
    "ARB",
    "OP",
    "TON",
    "AAVE",
    "UNI",
]


def run_steps(src: SimSource, dts: list[float]) -> list[tuple[EventKind, str, float]]:
    events: list[tuple[EventKind, str, float]] = []
    for dt in dts:
        events.extend(src.step(dt).events)
    return events


# ---------------------------------------------------------------- market table


def test_default_market_list_and_table() -> None:
    assert list(DEFAULT_SYMBOLS) == BRIEF_ORDER
    assert list(MARKETS) == BRIEF_ORDER
    assert MARKETS["BTC"].annual_vol == 0.5
    assert MARKETS["ETH"].annual_vol == 0.65
    assert MARKETS["SOL"].annual_vol == 0.9
    assert 90_000 <= MARKETS["BTC"].ref_price <= 120_000
    assert 3_000 <= MARKETS["ETH"].ref_price <= 4_500
    for sym, p in MARKETS.items():
        if sym not in ("BTC", "ETH", "SOL"):
            assert 0.8 <= p.annual_vol <= 1.2, sym
        # the idiosyncratic variance must not be negative: beta * BTC vol <= own vol
        assert p.beta * MARKETS["BTC"].annual_vol <= p.annual_vol, sym
        assert p.ref_price > 0 and 0 < p.beta <= 2


def test_market_list_matches_the_engine() -> None:
    from tui.engine import DEFAULT_MARKETS

    assert [m.name for m in DEFAULT_MARKETS] == list(DEFAULT_SYMBOLS)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_steps_same_marks() -> None:
    dts = [0.22, 0.5, 0.01, 1.0, 0.22] * 40
    a = run_steps(SimSource(seed=42), dts)
    b = run_steps(SimSource(seed=42), dts)
    c = run_steps(SimSource(seed=43), dts)
    assert a == b
    assert [e for e in a if e[0] is EventKind.MARK] != [e for e in c if e[0] is EventKind.MARK]


def test_speed_scales_sim_time_exactly() -> None:
    fast = SimSource(["BTC", "ETH"], seed=9, speed=10)
    slow = SimSource(["BTC", "ETH"], seed=9)
    assert fast.step(0.25).events == slow.step(2.5).events
    assert fast.sim_time == slow.sim_time == 2.5
    fast.speed = 60
    fast.step(1.0)
    assert fast.sim_time == pytest.approx(62.5)


def test_snapshot_is_the_reference_prices_and_does_not_move_time() -> None:
    src = SimSource(["BTC", "DOGE"], seed=1)
    snap = src.snapshot()
    assert snap.marks == [("BTC", 100_000.0), ("DOGE", 0.2)]
    assert [s for s, _ in snap.funding_rates] == ["BTC", "DOGE"]
    assert src.snapshot().events == snap.events
    assert src.sim_time == 0.0


def test_pause_stops_marks_and_time_without_consuming_randomness() -> None:
    a = SimSource(seed=5)
    b = SimSource(seed=5)
    first = a.step(1.0)
    assert first.marks
    a.paused = True
    assert a.step(1.0).events == []
    assert a.step(30.0).events == []
    assert a.sim_time == 1.0
    a.paused = False
    rest = a.step(1.0)
    b.step(1.0)
    assert rest.events == b.step(1.0).events


def test_bad_controls_are_refused_and_change_nothing() -> None:
    src = SimSource(seed=1, speed=10)
    for bad in (5, 0, -1, True, "10", float("nan")):
        with pytest.raises(ValueError, match="speed must be one of 1, 10, 60"):
            src.speed = bad  # type: ignore[assignment]
    assert src.speed == 10
    with pytest.raises(ValueError, match="paused must be True or False"):
        src.paused = 1  # type: ignore[assignment]
    assert src.paused is False
    for bad_dt in (-1.0, float("inf"), float("nan"), "1"):
        with pytest.raises(ValueError, match="dt_seconds"):
            src.step(bad_dt)  # type: ignore[arg-type]
    assert src.sim_time == 0.0


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown market 'FOO'.*known markets: BTC, ETH"):
        SimSource(["BTC", "foo"])
    with pytest.raises(ValueError, match="listed twice"):
        SimSource(["BTC", "btc"])
    with pytest.raises(ValueError, match="must not be empty"):
        SimSource([])
    with pytest.raises(ValueError, match="seed must be a whole number"):
        SimSource(seed="7")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed must be a whole number"):
        SimSource(seed=True)
    with pytest.raises(ValueError, match="speed must be one of"):
        SimSource(speed=2)


def test_no_seed_picks_one_and_records_it() -> None:
    src = SimSource(["BTC"])
    assert isinstance(src.seed, int)
    again = SimSource(["BTC"], seed=src.seed)
    assert run_steps(src, [1.0] * 5) == run_steps(again, [1.0] * 5)


# ---------------------------------------------------------------- the walk itself


def test_prices_are_rounded_positive_and_volatility_is_calibrated() -> None:
    src = SimSource(["BTC", "SOL", "TRX"], seed=2024, market_jumps_per_day=0, idio_jumps_per_day=0)
    minute_rets: dict[str, list[float]] = {s: [] for s in src.symbols}
    last = dict(src.snapshot().marks)
    for _ in range(3 * 1440):  # three days of one-minute steps
        for sym, price in src.step(60.0).marks:
            assert price > 0 and math.isfinite(price)
            assert round(price, MARKETS[sym].decimals) == price
            minute_rets[sym].append(math.log(price / last[sym]))
            last[sym] = price
    per_year = math.sqrt(365 * 1440)
    for sym in src.symbols:
        realised = statistics.pstdev(minute_rets[sym]) * per_year
        assert realised == pytest.approx(MARKETS[sym].annual_vol, rel=0.1), sym
    # alts follow BTC partly: positive, imperfect correlation
    corr = statistics.correlation(minute_rets["BTC"], minute_rets["SOL"])
    expected = MARKETS["SOL"].beta * 0.5 / 0.9
    assert corr == pytest.approx(expected, abs=0.08)


def test_jumps_fatten_the_tails() -> None:
    def kurtosis(jumps: float) -> float:
        src = SimSource(["BTC"], seed=3, market_jumps_per_day=jumps, idio_jumps_per_day=0)
        prev = math.log(src.snapshot().marks[0][1])
        rets = []
        for _ in range(3000):
            p = math.log(src.step(60.0).marks[0][1])
            rets.append(p - prev)
            prev = p
        m = statistics.fmean(rets)
        var = statistics.fmean([(r - m) ** 2 for r in rets])
        return statistics.fmean([(r - m) ** 4 for r in rets]) / var**2

    assert kurtosis(0.0) < 3.6
    assert kurtosis(200.0) > 5.0


# ---------------------------------------------------------------- funding


def test_funding_rate_follows_the_move_reverts_and_is_clamped() -> None:
    src = SimSource(["BTC", "ETH"], seed=1)
    before = src.funding_rates["BTC"]
    src._walk.returns = lambda sim_dt: [0.05, -0.05]  # type: ignore[method-assign]
    src.step(1.0)
    after = src.funding_rates
    keep = math.exp(-math.log(2) / (4 * 3600) * 1.0)
    assert after["BTC"] == pytest.approx(
        BASE_FUNDING_RATE + (before - BASE_FUNDING_RATE) * keep + FUNDING_SENSITIVITY * 0.05
    )
    assert after["ETH"] < BASE_FUNDING_RATE < after["BTC"]
    src._walk.returns = lambda sim_dt: [1.0, -1.0]  # type: ignore[method-assign]
    src.step(1.0)
    assert src.funding_rates == {"BTC": MAX_FUNDING_RATE, "ETH": -MAX_FUNDING_RATE}
    src._walk.returns = lambda sim_dt: [0.0, 0.0]  # type: ignore[method-assign]
    src.step(3 * 24 * 3600.0)  # three quiet days (18 half-lives): back at the resting rate
    for rate in src.funding_rates.values():
        assert rate == pytest.approx(BASE_FUNDING_RATE, abs=0.0000002)


def test_funding_rates_stay_in_bounds_over_a_long_run() -> None:
    src = SimSource(seed=11, speed=60)
    for _ in range(2000):
        for _sym, rate in src.step(1.0).funding_rates:
            assert -MAX_FUNDING_RATE <= rate <= MAX_FUNDING_RATE


def test_funding_is_due_every_sim_hour_after_that_hours_marks() -> None:
    src = SimSource(["BTC", "ETH"], seed=8, speed=60)
    events = []
    hours_seen = []
    for _ in range(130):  # 130 s wall at 60x = 7800 s sim
        result = src.step(1.0)
        if result.funding:
            hours_seen.append(src.sim_time)
        events.extend(result.events)
    assert [s for k, s, _ in events if k is EventKind.FUNDING] == ["BTC", "ETH"] * 2
    assert 7200 <= src.sim_time < 7900
    # each payment uses the rate reported just before it, and follows that instant's marks
    for i, (kind, sym, rate) in enumerate(events):
        if kind is EventKind.FUNDING:
            earlier = [e for e in events[:i] if e[1] == sym and e[0] is not EventKind.FUNDING]
            assert earlier[-1][0] is EventKind.FUNDING_RATE and earlier[-1][2] == rate
            assert earlier[-2][0] is EventKind.MARK


def test_one_long_step_pays_every_hour_it_crosses() -> None:
    src = SimSource(["BTC"], seed=8)
    result = src.step(3 * 3600 + 10)
    assert len(result.funding) == 3
    assert len(result.marks) == 4  # one per hour segment, plus the last 10 s
    assert src.sim_time == pytest.approx(10_810)
    assert src.step(3600 - 10.5).funding == []
    assert len(src.step(1.0).funding) == 1


# ---------------------------------------------------------------- run()


async def test_run_feeds_the_sink_and_honours_pause() -> None:
    src = SimSource(["BTC", "ETH"], seed=4, speed=10, tick_interval=0.01)
    sink = RecordingSink()
    async with running(src, sink):
        await wait_until(lambda: len(sink.marks) >= 10, what="marks")
        assert sink.marks[:2] == [("BTC", 100_000.0), ("ETH", 3_500.0)]  # snapshot first
        assert sink.statuses[0].state is FeedState.CONNECTED
        assert "seed 4" in sink.statuses[0].detail and "10x" in sink.statuses[0].detail
        src.paused = True
        await wait_until(lambda: sink.states[-1:] == [FeedState.PAUSED], what="paused status")
        count, frozen = len(sink.marks), src.sim_time
        await asyncio.sleep(0.08)
        assert len(sink.marks) == count and src.sim_time == frozen
        src.paused = False
        src.speed = 60
        await wait_until(lambda: len(sink.marks) > count + 4, what="marks after resume")
        assert sink.statuses[-1].state is FeedState.CONNECTED
        assert sink.statuses[-1].speed == 60
    assert src.sim_time > 0


def test_resume_from_saved_marks_continues_from_them() -> None:
    from tui.market import ScenarioSource, SimSource

    saved = {"BTC": 91_234.5, "ETH": 2_500.25, "NOPE": 1.0, "SOL": float("nan")}
    sim = SimSource(["BTC", "ETH", "SOL"], seed=3)
    sim.resume_from(saved)
    start = dict(sim.snapshot().marks)
    assert start["BTC"] == 91_234.5 and start["ETH"] == 2_500.25
    assert start["SOL"] == SimSource(["SOL"], seed=3).prices["SOL"]  # bad price ignored
    moved = dict(sim.step(60).marks)
    assert abs(moved["BTC"] / 91_234.5 - 1) < 0.05  # a random walk from there, not a jump

    crash = ScenarioSource("flash-crash", ["BTC"])
    crash.resume_from({"BTC": 50_000.0})
    assert crash.prices["BTC"] == 50_000.0
    first = dict(crash.step(1).marks)["BTC"]
    assert abs(first / 50_000.0 - 1) < 0.01
