"""Snapshots of each screen at a fixed size, on a seeded feed with a frozen clock.

Update after a deliberate change with ``pytest tests/ui/test_snapshots.py --snapshot-update``
and look at every changed image (snapshot_report.html) before committing it.
"""

from __future__ import annotations

from textual.pilot import Pilot

from tests.ui.pilot_helpers import make_app, step
from tui.engine import MarginMode, Side

ISO = MarginMode.ISOLATED
CROSS = MarginMode.CROSS


async def some_positions(pilot: Pilot[None]) -> None:
    """A long BTC isolated, a short ETH cross, a SOL long close to liquidation."""
    app = pilot.app
    eng = app.session.engine  # type: ignore[attr-defined]
    eng.open("BTC", Side.LONG, 0.05, 10, ISO)
    eng.open("ETH", Side.SHORT, 1.5, 5, CROSS)
    eng.open("SOL", Side.LONG, 20, 20, ISO)
    step(app, 60)  # type: ignore[arg-type]
    sol = eng.position("SOL")
    app.session.on_mark("SOL", sol.liquidation_price * 1.02)  # type: ignore[attr-defined]
    app.refresh_now()  # type: ignore[attr-defined]
    await pilot.pause()
    app.main.market_pane.chart.flush()  # type: ignore[attr-defined]  # no wait for its pacing
    await pilot.pause()


def test_main_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=some_positions)


def test_main_screen_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=some_positions)


def test_confirmation_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await some_positions(pilot)
        pilot.app.clear_notifications()  # SOL's risk alert toast would cover the ladder
        await pilot.press("down", "down", "down")  # XRP
        app = pilot.app
        app.start_order("XRP", Side.LONG, usd=2_000, leverage=10)  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("c")  # Cross: shows the ETH cross position's liquidation moving
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)


def test_confirmation_screen_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await some_positions(pilot)
        pilot.app.clear_notifications()  # SOL's risk alert toast would cover the ladder
        pilot.app.start_order("BTC", Side.LONG, size=0.01, leverage=10)  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_modes_explainer(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.start_order("BTC", Side.LONG, size=0.01, leverage=10)  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run_before)


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), press=["question_mark"])
