"""Shared steps of the Pilot tests: the app on a seeded, stopped feed with a fixed clock, and
the moves journeys repeat (a heartbeat, the order form, reading a widget's text).

Imported by the tests that use them (``from tests.ui.pilot_helpers import ...``); conftest.py
only isolates the machine.
"""

from __future__ import annotations

import io
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.app import PerpDeskApp
from tui.market import SimSource
from tui.screens.order import OrderFormScreen, TradeConfirmScreen
from tui.settings import Settings

FIXED_NOW = 1_795_500_000.0  # 2026-11-24 05:20 UTC

S = TypeVar("S", bound=Screen[Any])


def make_app(settings: Settings | None = None, **kwargs: Any) -> PerpDeskApp:
    """The app on a simulated feed seeded with 1 that does not tick by itself.

    Tests move prices with ``app.session.on_mark`` or ``step(app, seconds)``.
    """
    kwargs.setdefault("source", SimSource(None, seed=1))
    kwargs.setdefault("autostart_feed", False)
    kwargs.setdefault("wall_clock", lambda: FIXED_NOW)
    kwargs.setdefault("monotonic", lambda: 0.0)
    return PerpDeskApp(settings, **kwargs)


def step(app: PerpDeskApp, seconds: float) -> None:
    """Advance the seeded simulation by ``seconds`` and feed the app (deterministic)."""
    assert isinstance(app.session.feed, SimSource)
    app.session.feed.step(seconds).deliver(app.session)
    app.refresh_now()


async def beat(pilot: Pilot[None]) -> None:
    """One heartbeat now, and wait until every screen following it has repainted."""
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    app.refresh_now()
    await pilot.pause()


async def enter_command(pilot: Pilot[None], text: str) -> None:
    """Open the command line with ``/``, put ``text`` in it and press Enter.

    The text is set, not typed key by key: typing is Textual's part (one test types for real,
    for the suggestions); what the tests check is what perpdesk does with the line.
    """
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    await pilot.press("slash")
    app.main.command_line.input.value = text
    await pilot.press("enter")
    await pilot.pause()


def text_of(screen: Screen[Any], selector: str) -> str:
    """What the Static at ``selector`` shows, as plain text (a table or a group of Rich
    renderables is printed as the widget's width lays it out, spaces at line ends removed)."""
    widget = screen.query_one(selector, Static)
    content = widget.content
    if isinstance(content, str | Text):
        return str(widget.render())
    console = Console(width=max(widget.content_region.width, 20), file=io.StringIO(), record=True)
    console.print(content)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


async def open_order(
    pilot: Pilot[None], keys: list[str], size: str = "0.01", lev: str = "10"
) -> None:
    """Press b (selected market BTC), fill the form, reach the confirmation screen, then press
    ``keys`` there."""
    await pilot.press("b")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, OrderFormScreen)
    form.query_one("#size", Input).value = size
    form.query_one("#leverage", Input).value = lev
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, TradeConfirmScreen)
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


def on_screen(app: PerpDeskApp, kind: type[S]) -> S:
    """The screen on top, which must be a ``kind``."""
    screen = app.screen
    assert isinstance(screen, kind), f"{type(screen).__name__} is on top, not {kind.__name__}"
    return screen


def liquidation_price(app: PerpDeskApp, market: str) -> float:
    """The liquidation price of the open position in ``market`` (there must be one)."""
    pos = app.session.engine.position(market)
    assert pos is not None and pos.liquidation_price is not None
    return pos.liquidation_price
