"""The history screen's Drills and Pictures tabs: open history, switch to the tab, see it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.pilot_helpers import FIXED_NOW, make_app, on_screen
from tests.ui.test_history_screen import no_toasts, open_history, some_history, text_of
from tui.engine import Venue, venue_markets
from tui.journal import Journal
from tui.journal.drills import SampleTable, open_drill_journal, save_attempt
from tui.screens.history import HistoryScreen
from tui.screens.history import pictures as pictures_tab
from tui.screens.history.drills import HOW_TO_START, NOT_SAVED
from tui.screens.history.pictures import NO_PICTURES, PicturesPane
from tui.widgets.pictures import PostMortemPicture

SAMPLES = SampleTable(("BTC",), ((0.0, 10_000.0, 0.0, 100_000.0, 0.1),))


def attempt(data_dir: Path, drill: str, outcome: str, score: int, when: float) -> None:
    """One attempt at ``drill`` saved in the drills' account of ``data_dir``."""
    journal = open_drill_journal(
        data_dir,
        balance=10_000,
        venue=Venue.HYPERLIQUID,
        markets_for=lambda venue: venue_markets(venue, symbols=("BTC",)),
        clock=lambda: when,
    )
    try:
        save_attempt(
            journal,
            drill=drill,
            started=when,
            ended=when + 60,
            elapsed=60.0,
            setup_seq=0,
            outcome=outcome,
            score=score,
            decided_by=outcome,
            samples=SAMPLES,
        )
    finally:
        journal.close()


async def loaded(pilot: Pilot[None], screen: HistoryScreen, tab: str, selector: str) -> str:
    """Wait until the tab's ``selector`` no longer says it is loading; its text."""
    for _ in range(200):
        await pilot.pause()
        pane = screen.panes.get(tab)
        if pane is not None:
            text = text_of(pane, selector)
            if "Loading" not in text:
                return text
        await asyncio.sleep(0.01)
    raise AssertionError(f"the {tab} tab never finished loading")


def saved_app(data_dir: Path) -> Any:
    journal = Journal.open(data_dir, lock=False, clock=lambda: FIXED_NOW)
    return make_app(journal=journal, data_dir=data_dir)


def with_attempts(data_dir: Path) -> None:
    """margin-shock: lost 40, then won 96, then won 70 (last); flash-crash: quit 0."""
    attempt(data_dir, "margin-shock", "lost", 40, FIXED_NOW - 7200)
    attempt(data_dir, "margin-shock", "won", 96, FIXED_NOW - 3600)
    attempt(data_dir, "margin-shock", "won", 70, FIXED_NOW - 600)
    attempt(data_dir, "flash-crash", "quit", 0, FIXED_NOW - 300)


# --------------------------------------------------------------------------- drills


def row_of(text: str, title: str) -> list[str]:
    line = next(line.strip() for line in text.splitlines() if line.strip().startswith(title))
    return line.removeprefix(title).split()


async def test_the_drills_tab_shows_each_drill_s_attempts_best_and_last(tmp_path: Path) -> None:
    with_attempts(tmp_path)
    app = saved_app(tmp_path)
    catalogue = app.drills()
    shock, crash = catalogue.drills["margin-shock"], catalogue.drills["flash-crash"]
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("8")
        assert screen.active_tab == "drills"
        text = await loaded(pilot, screen, "drills", "#drills-table")
        # tries, won, best, last outcome and score, when (UTC in the tests)
        # the last attempt ended at FIXED_NOW - 540 (FIXED_NOW is 06:00:00 UTC): 05:51
        assert row_of(text, shock.title) == ["3", "2", "96", "won", "70", "2026-11-24", "05:51"]
        assert row_of(text, crash.title)[:5] == ["1", "0", "0", "quit", "0"]
        untried = next(n for n in catalogue.drills if n not in ("margin-shock", "flash-crash"))
        assert row_of(text, catalogue.drills[untried].title) == ["0", "0", "—", "not", "tried", "—"]
        assert HOW_TO_START not in text_of(screen.panes["drills"], "#drills-note")
        assert on_screen(app, HistoryScreen) is screen


async def test_no_attempt_yet_says_how_to_start_a_drill(tmp_path: Path) -> None:
    app = saved_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("8")
        await loaded(pilot, screen, "drills", "#drills-table")
        note = text_of(screen.panes["drills"], "#drills-note")
        assert "/drill" in note and note == HOW_TO_START


async def test_an_unsaved_account_says_drill_scores_are_not_kept() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("8")
        await loaded(pilot, screen, "drills", "#drills-table")
        assert text_of(screen.panes["drills"], "#drills-note").startswith(NOT_SAVED)


def _drills_before(data_dir: Path) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        screen = await open_history(pilot)
        await pilot.press("8")
        await loaded(pilot, screen, "drills", "#drills-table")
        await no_toasts(pilot)

    return run_before


def test_history_drills_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    with_attempts(tmp_path)
    app = saved_app(tmp_path)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_drills_before(tmp_path))


def test_history_drills_small_terminal_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    with_attempts(tmp_path)
    app = saved_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_drills_before(tmp_path))


# --------------------------------------------------------------------------- pictures


async def pictures_tab_of(pilot: Pilot[None]) -> PicturesPane:
    screen = await open_history(pilot)
    await pilot.press("9")
    assert screen.active_tab == "pictures"
    await loaded(pilot, screen, "pictures", "#equity-status")
    pane = screen.panes["pictures"]
    assert isinstance(pane, PicturesPane)
    for _ in range(50):  # the liquidation pictures are mounted by a worker of their own
        await pilot.pause()
    return pane


async def test_the_pictures_tab_draws_the_season_s_equity_and_its_liquidation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folded_on: list[threading.Thread] = []
    fold = pictures_tab.fold_equity

    def spy(source: Any) -> Any:
        folded_on.append(threading.current_thread())
        return fold(source)

    monkeypatch.setattr(pictures_tab, "fold_equity", spy)
    app = saved_app(tmp_path)
    assert app.session.journal is not None  # the history view's own connection is read
    async with app.run_test(size=(120, 36)) as pilot:
        some_history(app)
        pane = await pictures_tab_of(pilot)
        # Read in a worker thread, on the history view's own connection.
        assert folded_on and threading.main_thread() not in folded_on
        curve = pane.curve
        assert curve is not None
        # The stats' net result after fees is -140.81 (the history summary line): the
        # realized equity ends there from 10,000, and its peak was the +100 close less fees.
        assert curve.equity == pytest.approx(10_000 - 140.81, abs=0.005)
        assert curve.records == 8  # 5 fills (each pays a fee), 2 funding payments, 1 liquidation
        assert "Equity this season" in pane.query_one("#equity-picture").render_line(0).text
        pictures = list(pane.query(PostMortemPicture))
        assert len(pictures) == 1
        shown = pictures[0].picture
        assert shown is not None and shown.liquidation.market == "BTC"
        assert text_of(pane, "#liquidations-note") == ""


async def test_no_liquidation_this_launch_says_so_on_the_pictures_tab() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await pictures_tab_of(pilot)
        assert text_of(pane, "#liquidations-note") == NO_PICTURES
        assert not list(pane.query(PostMortemPicture))
        assert text_of(pane, "#equity-status").startswith("Nothing has moved the equity yet")
        assert pane.curve is not None and pane.curve.equity == 10_000


async def _pictures_before(pilot: Pilot[None]) -> None:
    some_history(pilot.app)  # type: ignore[arg-type]
    await pictures_tab_of(pilot)
    await no_toasts(pilot)


def test_history_pictures_snapshot(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=_pictures_before)


def test_history_pictures_small_terminal_snapshot(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_pictures_before)
