from __future__ import annotations

from itertools import pairwise

import pytest

from tests.market.conftest import RecordingSink, running, wait_until
from tui.market import DEFAULT_SYMBOLS, SCENARIOS, FeedState, Scenario, ScenarioSource
from tui.market.markets import MAX_FUNDING_RATE
from tui.market.scenarios import Keyframe

ALTS = [s for s in DEFAULT_SYMBOLS if s != "BTC"]


def path(
    name: str, minutes: float, symbols: list[str] | None = None, step_s: float = 5.0
) -> tuple[ScenarioSource, dict[str, list[float]], list[float]]:
    """Prices per symbol sampled every ``step_s`` seconds of source time, plus the times."""
    src = ScenarioSource(name, symbols)
    start = dict(src.snapshot().marks)
    series: dict[str, list[float]] = {s: [start[s]] for s in src.symbols}
    times = [0.0]
    while src.sim_time < minutes * 60:
        for sym, price in src.step(step_s).marks:
            series[sym].append(price)
        times.append(src.sim_time)
    return src, series, times


def test_the_six_scenarios_exist_with_a_one_line_lesson() -> None:
    assert list(SCENARIOS) == [
        "calm",
        "trend-up",
        "flash-crash",
        "short-squeeze",
        "chop",
        "funding-spike",
    ]
    for name, sc in SCENARIOS.items():
        assert sc.name == name
        assert 20 <= len(sc.teaches) <= 100 and "\n" not in sc.teaches


def test_unknown_scenario_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'crash'; valid scenarios: calm, trend"):
        ScenarioSource("crash")


def test_scenarios_are_deterministic_and_speed_applies() -> None:
    a = ScenarioSource("flash-crash", ["BTC", "SOL"])
    b = ScenarioSource("flash-crash", ["BTC", "SOL"], speed=60)
    for _ in range(30):
        assert a.step(60.0).events == b.step(1.0).events
    other_seed = ScenarioSource("flash-crash", ["BTC", "SOL"], seed=99)
    assert (
        other_seed.step(60.0).marks
        != ScenarioSource("flash-crash", ["BTC", "SOL"]).step(60.0).marks
    )


def test_flash_crash_btc_drops_12_percent_in_minutes_alts_harder_then_recovers() -> None:
    _, series, times = path("flash-crash", 60)
    btc = series["BTC"]
    low = min(btc)
    at_low = times[btc.index(low)]
    assert low / btc[0] - 1 == pytest.approx(-0.12, abs=0.01)
    assert 13 * 60 <= at_low <= 17 * 60
    # BTC was still within 1 % of its start 6 minutes before the low: a crash in minutes
    six_before = times.index(min(times, key=lambda t: abs(t - (at_low - 360))))
    assert btc[six_before] / btc[0] > 0.99
    btc_drop = low / btc[0] - 1
    for alt in ALTS:
        alt_drop = min(series[alt]) / series[alt][0] - 1
        assert alt_drop < btc_drop, alt
    # partial recovery: well off the low, still below the start
    assert low * 1.04 < btc[-1] < btc[0] * 0.97


def test_flash_crash_funding_turns_negative() -> None:
    src = ScenarioSource("flash-crash", ["BTC"])
    src.step(15 * 60.0)
    assert src.funding_rates["BTC"] < 0


def test_trend_up_rises_and_funding_climbs() -> None:
    src, series, _ = path("trend-up", 8 * 60, ["BTC", "ETH"], step_s=60)
    assert series["BTC"][-1] / series["BTC"][0] - 1 == pytest.approx(0.14, abs=0.03)
    assert series["ETH"][-1] / series["ETH"][0] > series["BTC"][-1] / series["BTC"][0]
    assert src.funding_rates["BTC"] > 0.00008


def test_short_squeeze_rips_after_a_slow_bleed() -> None:
    src = ScenarioSource("short-squeeze", ["BTC"])
    start = src.snapshot().marks[0][1]
    src.step(29 * 60.0)
    assert src.funding_rates["BTC"] < 0  # shorts are crowded: longs get paid
    before = src.step(60.0).marks[-1][1]
    assert before < start
    after = src.step(8 * 60.0).marks[-1][1]
    assert after / before - 1 > 0.08


def test_chop_goes_nowhere_but_moves() -> None:
    _, series, _ = path("chop", 120, ["BTC"], step_s=30)
    btc = series["BTC"]
    moves = [p / btc[0] - 1 for p in btc]
    assert max(moves) > 0.015 and min(moves) < -0.015
    assert max(abs(m) for m in moves) < 0.05
    crossings = sum(1 for a, b in pairwise(moves) if a * b < 0)
    assert crossings >= 8


def test_calm_stays_calm() -> None:
    _, series, _ = path("calm", 60, ["BTC", "DOGE"], step_s=30)
    for prices in series.values():
        assert max(abs(p / prices[0] - 1) for p in prices) < 0.02


def test_funding_spike_pays_the_maximum_rate_each_hour() -> None:
    src = ScenarioSource("funding-spike", ["BTC", "ETH"], speed=60)
    payments = []
    for _ in range(130):  # 130 s at 60x: just past two hours of source time
        payments += src.step(1.0).funding
    assert payments == [
        ("BTC", MAX_FUNDING_RATE),
        ("ETH", MAX_FUNDING_RATE),
        ("BTC", MAX_FUNDING_RATE),
        ("ETH", MAX_FUNDING_RATE),
    ]


async def test_scenario_run_reports_phase_changes() -> None:
    quick = Scenario(
        name="quick",
        teaches="A test path with a phase change six seconds in.",
        keyframes=(Keyframe(0, 0.0, "before"), Keyframe(0.1, -0.05, "after")),
        funding=((0, 0.0),),
    )
    src = ScenarioSource(quick, ["BTC"], speed=60, tick_interval=0.01)
    sink = RecordingSink()
    async with running(src, sink):
        await wait_until(
            lambda: bool(sink.statuses) and "after" in sink.statuses[-1].detail, what="phase"
        )
        assert src.sim_time >= 6.0
    assert sink.statuses[0].detail == "Scenario quick · before · 60x"
    assert all(s.state is FeedState.CONNECTED for s in sink.statuses)
    assert sink.marks[-1][1] < 96_000


def test_scenario_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="keyframes must start at 0"):
        Scenario("x", "t", keyframes=(Keyframe(5, 0.0),), funding=((0, 0.0),))
    with pytest.raises(ValueError, match="-100 %"):
        Scenario("x", "t", keyframes=(Keyframe(0, 0.0), Keyframe(1, -1.0)), funding=((0, 0.0),))
