"""Drills in the app: the picker, a drill run to its end screen with its score, ending one,
the strip on the trading screen, and snapshots of the picker and the end screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tests.drills.test_loading import GOOD
from tests.ui.pilot_helpers import FIXED_NOW, enter_command, make_app, on_screen
from tui.app import PerpDeskApp
from tui.drills.runner import DrillSink, DrillSource
from tui.journal import Journal
from tui.journal.drills import drill_scores
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.drill_end import DrillEndScreen
from tui.screens.drills import DrillPickerScreen
from tui.screens.main import MainScreen
from tui.widgets.drill_bar import DrillBar

TICK = 0.22


def text_of(screen: Screen[Any], selector: str) -> str:
    """What the Static at ``selector`` shows (text or Rich renderables), as plain text on one
    line per paragraph."""
    content = screen.query_one(selector, Static).content
    console = Console(width=400, color_system=None)
    with console.capture() as captured:
        console.print(content)
    return " ".join(line.strip() for line in captured.get().splitlines() if line.strip())


def saved_app(tmp_path: Path) -> PerpDeskApp:
    journal = Journal.open(tmp_path, lock=False, clock=lambda: FIXED_NOW)
    return make_app(journal=journal, data_dir=tmp_path)


def play_until(app: PerpDeskApp, feed_seconds: float) -> None:
    """Run the drill's feed (started) to ``feed_seconds``, a heartbeat after each tick, as the
    app's worker and timer would; stops early if the drill ends."""
    started = app.session.drill
    assert started is not None
    run = started.run
    sink = DrillSink(app.session, run)
    run.source.paused = False
    while app.session.drill is not None and run.source.sim_time < feed_seconds:
        run.source.step(TICK).deliver(sink)
        app.refresh_now()


async def open_picker(pilot: Pilot[None]) -> DrillPickerScreen:
    await enter_command(pilot, "/drill")
    return on_screen(pilot.app, DrillPickerScreen)  # type: ignore[arg-type]


async def test_the_picker_lists_every_drill_with_its_brief() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        picker = await open_picker(pilot)
        table = picker.query_one("#drill-list", DataTable)
        assert table.row_count == 8
        assert table.get_row_at(0)[0] == "Survive the flash crash"
        assert "You are long $30,000 of BTC in Cross" in text_of(picker, "#drill-text")
        assert "not tried yet" in text_of(picker, "#drill-text")
        await pilot.press("down")
        await pilot.pause()
        assert "Margin ratio after a shock" in text_of(picker, "#drill-text")
        assert "Cross margin ratio under 50%" in text_of(picker, "#drill-text")
        await pilot.press("escape")
        await pilot.pause()
        on_screen(app, MainScreen)
        assert app.session.drill is None


async def test_the_picker_shows_the_trader_s_drills_and_what_was_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD)
    (folder / "bad.toml").write_text("title = 5")
    app = make_app(config_path=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        picker = await open_picker(pilot)
        assert picker.query_one("#drill-list", DataTable).row_count == 9
        problems = text_of(picker, "#drill-problems")
        assert f"{folder / 'bad.toml'}: title: must be some text, not 5; skipped." in problems
        await pilot.press(*["down"] * 8)
        await pilot.pause()
        assert f"your drill: {folder / 'mine.toml'}" in text_of(picker, "#drill-text")
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.drill is not None and app.session.drill.run.drill.name == "mine"


async def test_enter_starts_the_drill_with_its_clock_stopped() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        trader = app.session.engine
        await open_picker(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        main = on_screen(app, MainScreen)
        assert app.session.drill is not None
        assert app.session.drill.run.drill.name == "margin-shock"
        assert isinstance(app.session.feed, DrillSource) and app.session.feed.paused
        assert app.session.engine is not trader
        bar = main.query_one(DrillBar)
        assert bar.display
        shown = str(bar.render())
        assert "Margin ratio after a shock" in shown and "00:00 / 03:00" in shown
        assert "p starts the clock" in shown and "/drill ends it" in shown
        await pilot.press("p")
        await pilot.pause()
        assert not app.session.feed.paused
        assert "p starts the clock" not in str(bar.render())


async def test_a_drill_runs_to_its_end_screen_with_its_score(tmp_path: Path) -> None:
    app = saved_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        trader = app.session.engine
        assert app.start_drill("margin-shock") is None
        await pilot.pause()
        play_until(app, 75)
        app.session.engine.close("BTC", 0.25)  # a quarter closed 5 s after the shock
        play_until(app, 180)
        await pilot.pause()
        end = on_screen(app, DrillEndScreen)
        verdict = text_of(end, "#end-verdict")
        assert "WON" in verdict and "score 96 of 100" in verdict
        assert "The cross margin ratio was 44.6% at 01:15" in verdict
        assert "Lesson" in verdict and "closing a fifth" in verdict
        assert "Best 96 · 1 attempt, 1 won" in text_of(end, "#end-record")
        assert app.session.engine is trader and app.session.drill is None
        await pilot.press("escape")
        await pilot.pause()
        main = on_screen(app, MainScreen)
        assert not main.query_one(DrillBar).display
        picker = await open_picker(pilot)
        table = picker.query_one("#drill-list", DataTable)
        row = table.get_row_at(1)
        assert (str(row[1]), str(row[2])) == ("96", "1")
    assert drill_scores(tmp_path).get("margin-shock").best == 96


async def test_a_lost_drill_can_be_tried_again_from_the_end_screen() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.start_drill("margin-shock")
        play_until(app, 180)  # nothing done: still 58.6 % at 02:10
        await pilot.pause()
        end = on_screen(app, DrillEndScreen)
        assert "LOST" in text_of(end, "#end-verdict")
        assert "still 58.6%" in text_of(end, "#end-verdict")
        assert "This attempt was not saved." in text_of(end, "#end-record")
        await pilot.press("r")
        await pilot.pause()
        on_screen(app, MainScreen)
        assert app.session.drill is not None
        assert app.session.drill.run.drill.name == "margin-shock"


async def test_a_form_left_open_when_the_drill_ends_is_closed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        trader = app.session.engine
        app.start_drill("margin-shock")
        play_until(app, 60)
        await pilot.press("b")  # the order form, on the drill's account
        await pilot.pause()
        assert len(app.screen_stack) == 2
        play_until(app, 180)  # the drill ends under it
        await pilot.pause()
        on_screen(app, DrillEndScreen)
        assert len(app.screen_stack) == 2  # the form is gone: it cannot trade the trader's
        await pilot.press("escape")
        await pilot.pause()
        on_screen(app, MainScreen)
        assert app.session.engine is trader and not trader.positions()


async def test_drill_again_ends_it_after_asking() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        trader = app.session.engine
        app.start_drill("flash-crash")
        play_until(app, 60)
        await enter_command(pilot, "/drill")
        confirm = on_screen(app, ConfirmScreen)
        assert confirm.body.startswith("End Survive the flash crash now?")
        await pilot.press("y")
        await pilot.pause()
        end = on_screen(app, DrillEndScreen)
        assert "You ended the drill at 01:01" in text_of(end, "#end-verdict")
        assert app.session.engine is trader


async def test_while_a_drill_runs_the_account_cannot_be_reset() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.start_drill("flash-crash")
        await pilot.pause()
        await enter_command(pilot, "/reset")
        on_screen(app, MainScreen)
        assert app.session.drill is not None
        await enter_command(pilot, "/drill two-sigma")
        error = text_of(app.main, "#command-error")
        assert "A drill is running (Survive the flash crash)" in error


async def test_an_unknown_drill_is_named_with_the_choices() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, "/drill moon")
        assert app.session.drill is None
        error = text_of(app.main, "#command-error")
        assert "There is no drill named moon. Drills: flash-crash, margin-shock" in error


async def test_quitting_during_a_drill_saves_the_attempt_and_the_trader_s_account(
    tmp_path: Path,
) -> None:
    app = saved_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        journal = app.session.journal
        app.start_drill("flash-crash")
        play_until(app, 30)
        await pilot.pause()
    assert app.session.journal is journal and app.session.drill is None
    record = drill_scores(tmp_path).get("flash-crash")
    assert record.attempts == 1 and record.last is not None and record.last.outcome == "quit"
    assert journal is not None and journal.close()


async def test_perpdesk_drill_name_starts_it_at_launch() -> None:
    app = make_app(drill="two-sigma")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.session.drill is not None
        assert app.session.drill.run.drill.name == "two-sigma"


# ------------------------------------------------------------------ snapshots


async def _picker(pilot: Pilot[None]) -> None:
    await open_picker(pilot)
    await pilot.press("down", "down")
    await pilot.pause()


async def _end(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    app.start_drill("flash-crash")
    play_until(app, 1)
    app.session.engine.close("BTC", 0.25)
    app.session.on_mark("BTC", app.session.engine.mark("BTC") or 0.0)
    play_until(app, 1_800)
    await pilot.pause()


async def _running(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    app.start_drill("flash-crash")
    await pilot.pause()
    app.refresh_now()
    await pilot.pause()


def test_picker_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=_picker)


def test_picker_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_picker)


def test_end_screen_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=_end)


def test_end_screen_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_end)


def test_drill_running_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_running)
