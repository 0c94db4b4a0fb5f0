"""What the trading screen says about its price source: scenarios, replays, speed, pause."""

from __future__ import annotations

from pathlib import Path

from tests.ui.pilot_helpers import enter_command, make_app
from tui.market import ReplaySource, ScenarioSource, SimSource


async def test_a_scenario_says_what_it_teaches() -> None:
    app = make_app(source=ScenarioSource("flash-crash", None))
    async with app.run_test(size=(120, 36)):
        assert app.main.log_widget.lines[-1].startswith("Scenario flash-crash: BTC drops 12 %")


async def test_a_replay_reports_bad_rows_by_line_and_shows_only_its_markets(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "rec.csv"
    csv.write_text(
        "timestamp,symbol,price\n"
        "2026-01-01T00:00:00Z,BTC,100000\n"
        "2026-01-01T00:00:01Z,BTC,abc\n"
        "2026-01-01T00:00:02Z,ETH,3500\n"
    )
    app = make_app(source=ReplaySource(csv))
    async with app.run_test(size=(120, 36)):
        line = app.main.log_widget.lines[0]
        assert "Replay skipped 1 row" in line and "line 3: price 'abc'" in line
        assert app.main.watchlist.row_ids == ["BTC", "ETH"]


async def test_speed_and_pause_keys_drive_the_simulation() -> None:
    sim = SimSource(None, seed=1)
    app = make_app(source=sim)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right_square_bracket")
        assert sim.speed == 10
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert sim.speed == 60  # stays at the fastest
        await pilot.press("left_square_bracket")
        assert sim.speed == 10
        await pilot.press("p")
        assert sim.paused
        await pilot.press("p")
        assert not sim.paused


async def test_scenario_picker_switches_the_feed_from_the_current_marks() -> None:
    from tui.engine import MarginMode, Side
    from tui.screens.dialogs.scenario import ScenarioScreen

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.set_mark("BTC", 87_654.3)
        app.session.engine.open("BTC", Side.LONG, 0.01, 5, MarginMode.ISOLATED)
        await enter_command(pilot, "scenario")
        await pilot.pause()
        assert isinstance(app.screen, ScenarioScreen)
        await pilot.press("down", "down", "down", "enter")  # simulation, calm, trend-up, flash
        await pilot.pause()
        assert isinstance(app.session.feed, ScenarioSource)
        assert app.session.feed.scenario.name == "flash-crash"
        # It continues from where the market was (it may have ticked once since: a few bp).
        assert abs(app.session.feed.prices["BTC"] / 87_654.3 - 1) < 0.003
        assert app.main.log_widget.lines[0].startswith("Scenario flash-crash:")
        assert app.session.engine.position("BTC") is not None
