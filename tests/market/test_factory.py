from __future__ import annotations

from pathlib import Path

import pytest

from tests.market.conftest import RecordingSink
from tui.market import (
    DEFAULT_SYMBOLS,
    SAMPLE_REPLAY,
    BinanceSource,
    HyperliquidSource,
    MarkSink,
    PriceSource,
    ReplaySource,
    ScenarioSource,
    SimSource,
    make_source,
)


def test_kinds_build_the_right_sources() -> None:
    sim = make_source("sim", symbols=["btc", " eth "], seed=3, speed=10)
    assert isinstance(sim, SimSource)
    assert (sim.symbols, sim.seed, sim.speed) == (("BTC", "ETH"), 3, 10.0)
    scenario = make_source("Scenario", scenario="Flash-Crash", speed=60)
    assert isinstance(scenario, ScenarioSource) and scenario.scenario.name == "flash-crash"
    assert scenario.symbols == DEFAULT_SYMBOLS and scenario.speed == 60
    assert scenario.name == "Scenario: flash-crash"
    live = make_source("live", symbols=["BTC"], url="ws://127.0.0.1:9/ws")
    assert isinstance(live, HyperliquidSource) and live.url == "ws://127.0.0.1:9/ws"
    assert isinstance(make_source("hyperliquid"), HyperliquidSource)
    assert isinstance(make_source("BINANCE"), BinanceSource)
    replay = make_source("replay", replay_file=str(SAMPLE_REPLAY), speed=60)
    assert isinstance(replay, ReplaySource) and replay.symbols == ("BTC", "ETH", "SOL")
    for source in (sim, scenario, live, replay):
        assert isinstance(source, PriceSource)
    assert isinstance(RecordingSink(), MarkSink)


def test_options_that_do_not_apply_are_ignored() -> None:
    sim = make_source("sim", url="wss://x/ws", replay_file="nope.csv", scenario="nope", seed=1)
    assert isinstance(sim, SimSource)
    live = make_source("hyperliquid", seed=5, speed=10, scenario="calm")
    assert live.speed == 1.0


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("simulator", {}, "unknown price source 'simulator'; choose one of: sim, scenario, "),
        (None, {}, "price source kind must be a string"),
        ("scenario", {}, "needs a scenario name; choose one of: calm, trend-up, flash-crash"),
        ("scenario", {"scenario": " "}, "needs a scenario name"),
        ("scenario", {"scenario": "moon"}, "unknown scenario 'moon'; valid scenarios: calm, "),
        ("replay", {}, "needs a file: set replay_file"),
        ("replay", {"replay_file": 3}, "replay_file must be a path"),
        ("replay", {"replay_file": "/no/such/file.csv"}, "Replay file not found"),
        ("replay", {"replay_file": str(SAMPLE_REPLAY), "speed": 0}, "replay speed must be"),
        ("sim", {"speed": 5}, "speed must be one of 1, 10, 60"),
        ("scenario", {"scenario": "calm", "speed": 100}, "speed must be one of 1, 10, 60"),
        ("sim", {"seed": 1.5}, "seed must be a whole number"),
        ("sim", {"symbols": []}, "must not be empty"),
        ("sim", {"symbols": "BTC"}, "must be a list of symbols"),
        ("sim", {"symbols": ["BTC", 1]}, "symbol 1 is not a string"),
        ("sim", {"symbols": ["DOGECOIN"]}, "unknown market 'DOGECOIN' for simulation"),
        ("scenario", {"scenario": "calm", "symbols": ["X"]}, "unknown market 'X' for scenarios"),
        ("hyperliquid", {"symbols": ["B-T-C"]}, "symbol 'B-T-C' is not valid"),
        ("hyperliquid", {"url": "https://api.hyperliquid.xyz"}, "not a websocket address"),
    ],
)
def test_bad_arguments_get_clear_messages(
    kind: object, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_source(kind, **options)  # type: ignore[arg-type]


def test_replay_paths_may_use_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "rec.csv").write_text("timestamp,symbol,price\n0,BTC,1\n", encoding="utf-8")
    src = make_source("replay", replay_file="~/rec.csv")
    assert isinstance(src, ReplaySource) and src.path == tmp_path / "rec.csv"
