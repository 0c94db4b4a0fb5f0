"""Snapshots of the risk views at 120x36 and 80x24, on the seeded feed with a frozen clock:
the main screen with its chart open in a narrow terminal, the shock ladder, the liquidation
map. (The main screen at 120x36 and the confirmation screen are in test_snapshots.py.)

Update after a deliberate change with ``--snapshot-update`` and look at every changed image."""

from __future__ import annotations

from textual.pilot import Pilot

from tests.ui.pilot_helpers import make_app, step
from tui.app import PerpDeskApp
from tui.engine import MarginMode, Side
from tui.market import SimSource

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS


async def book(pilot: Pilot[None], minutes: int = 15) -> None:
    """BTC long isolated, ETH short cross, SOL long cross, after ``minutes`` of prices (enough
    for the daily sigmas: 10 returns of 1 m candles); the chart drawn."""
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    eng = app.session.engine
    eng.open("BTC", Side.LONG, 0.05, 10, ISO)
    eng.open("ETH", Side.SHORT, 1.5, 5, CROSS)
    eng.open("SOL", Side.LONG, 30, 10, CROSS)
    for _ in range(minutes):
        step(app, 60)
    await pilot.pause()
    app.main.market_pane.chart.flush()
    await pilot.pause()


def test_main_screen_chart_and_book(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(source=SimSource(None, seed=1, execution="realistic"))  # with books
    assert snap_compare(app, terminal_size=(120, 36), run_before=book)


def test_main_screen_chart_open_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await book(pilot)
        await pilot.press("g")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_shock_ladder(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await book(pilot)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("a")  # every market by its beta: cross goes together
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)


def test_shock_ladder_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await book(pilot)
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_liquidation_map(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await book(pilot)
        await pilot.press("m")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)


def test_liquidation_map_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await book(pilot)
        await pilot.press("m")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
