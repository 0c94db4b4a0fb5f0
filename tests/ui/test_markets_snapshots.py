"""Snapshots of Markets filtered, sorted and starred, at 120x36 and 80x24 (seeded feed, frozen
clock, temp config): the subtitle says what is shown, the star marks the favourite; and a
whole venue's 200 markets with 24 h changes."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from tests.market.venue_fakes import price_of, venue_meta
from tests.ui.pilot_helpers import FIXED_NOW, make_app, step
from tui.app import PerpDeskApp
from tui.market import HyperliquidSource
from tui.market.live import hyperliquid_markets
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


def venue_app() -> PerpDeskApp:
    """A Hyperliquid account that took the venue's 200 markets (the fake venue's list: M001
    at 1.01, ...), with a price 24 hours ago for each: the change column is a 24 h change.
    The source is not started; marks and prices come from the test."""
    source = HyperliquidSource(None, url="ws://127.0.0.1:9", wall_clock=lambda: FIXED_NOW)
    app = make_app(FAVOURITE, source=source)
    session = app.session
    markets, _ = hyperliquid_markets(venue_meta(200))
    session.on_markets("hyperliquid", markets)
    source._listed(markets)
    for i, market in enumerate(markets):
        mark = price_of(market.name)
        session.on_mark(market.name, mark)
        session.on_prev_day(market.name, mark / (1 + (i % 23 - 11) / 100))
        session.on_funding_rate(market.name, (i % 5 - 1) * 0.0000125)
    session.on_prev_day("M005", price_of("M005") / 2.5)  # +150 % in a day, as memecoins do
    return app


async def scrolled_by_change(pilot: Pilot[None]) -> None:
    """Markets by 24 h change, the cursor ten rows down."""
    await pilot.press("greater_than_sign", *["down"] * 10)
    await pilot.pause()


def test_markets_200(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(venue_app(), terminal_size=(120, 36), run_before=scrolled_by_change)


def test_markets_200_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(venue_app(), terminal_size=(80, 24), run_before=scrolled_by_change)
