"""Snapshots of Markets filtered, sorted and starred, at 120x36 and 80x24 (seeded feed, frozen
clock, temp config): the subtitle says what is shown, the star marks the favourite."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.pilot_helpers import make_app, step
from tui.settings import Settings

FAVOURITE = Settings().with_value("ui.favourites", ("AVAX",))


async def filtered(pilot: Pilot[None], *, close: bool = True) -> None:
    """An hour of the seeded market, then Markets by change, filtered on "a"."""
    step(pilot.app, 3600)  # type: ignore[arg-type]
    await pilot.press("greater_than_sign", "f", "a")
    if close:
        await pilot.press("enter")
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor is caught on or off at random
    await pilot.pause()


def test_markets_filtered(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(FAVOURITE), terminal_size=(120, 36), run_before=filtered)


def test_markets_filtered_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def typing(pilot: Pilot[None]) -> None:
        await filtered(pilot, close=False)  # the prompt still open at the bottom

    assert snap_compare(make_app(FAVOURITE), terminal_size=(80, 24), run_before=typing)
