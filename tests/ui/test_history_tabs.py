"""The history screen's Drills and Pictures tabs: open history, switch to the tab, see it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.ui.pilot_helpers import FIXED_NOW, make_app, on_screen
from tests.ui.test_history_screen import no_toasts, open_history, text_of
from tui.engine import Venue, venue_markets
from tui.journal import Journal
from tui.journal.drills import SampleTable, open_drill_journal, save_attempt
from tui.screens.history import HistoryScreen
from tui.screens.history.drills import HOW_TO_START, NOT_SAVED

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
