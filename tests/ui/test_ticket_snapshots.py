"""Snapshots of the trade ticket at 120x36 and 80x24 (seeded feed, frozen clock, round marks):
the order form, the confirmation with its cost lines at today's book, a refusal, a reduce, the
venue comparison and the leverage dialog.

Update after a deliberate change with ``pytest tests/ui/test_ticket_snapshots.py
--snapshot-update`` and look at every changed image before committing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.pilot_helpers import make_app
from tui.app import PerpDeskApp
from tui.engine import MarginMode, Side

SIZES = [(120, 36), (80, 24)]
Scene = Callable[[Pilot[None]], Awaitable[None]]


def desk(pilot: Pilot[None]) -> PerpDeskApp:
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    app.session.on_mark("BTC", 100_000)
    app.session.on_mark("ETH", 4_000)
    app.refresh_now()
    return app


async def order_form(pilot: Pilot[None]) -> None:
    desk(pilot)
    await pilot.press("b")
    await pilot.pause()
    await pilot.press("t")  # Limit
    screen = pilot.app.screen
    for name, value in (("size", "0.1"), ("leverage", "10"), ("price", "95000"), ("tp", "110000")):
        screen.query_one(f"#{name}", Input).value = value
    for field in screen.query(Input):
        field.cursor_blink = False  # a blinking cursor is caught on or off at random
    await pilot.pause()


async def confirmation_at_the_book(pilot: Pilot[None]) -> None:
    app = desk(pilot)
    app.session.on_book(
        "BTC", [(99_990.0, 1.0), (99_980.0, 2.5)], [(100_010.0, 1.0), (100_020.0, 2.5)], 0.0
    )
    app.start_order("BTC", Side.LONG, size=1.5, leverage=40, stop_loss=97_000)
    await pilot.pause()


async def refusal(pilot: Pilot[None]) -> None:
    desk(pilot).start_order("BTC", Side.LONG, size=5, leverage=10)
    await pilot.pause()


async def reduce(pilot: Pilot[None]) -> None:
    app = desk(pilot)
    app.session.engine.open("BTC", Side.LONG, 0.05, 10, MarginMode.ISOLATED)
    app.session.on_mark("BTC", 102_000)
    app.refresh_now()  # the fill in the log now, not at a heartbeat the snapshot may beat
    app.start_order("BTC", Side.SHORT, size=0.02)
    await pilot.pause()


async def venues(pilot: Pilot[None]) -> None:
    desk(pilot).start_order("BTC", Side.LONG, usd=2_000, leverage=10)
    await pilot.pause()
    await pilot.press("v")
    await pilot.pause()


async def leverage(pilot: Pilot[None]) -> None:
    app = desk(pilot)
    app.session.engine.open("BTC", Side.LONG, 0.05, 10, MarginMode.ISOLATED)
    app.refresh_now()
    app.change_leverage("BTC", 5)
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a blinking cursor is caught on or off at random
    await pilot.pause()


SCENES: dict[str, Scene] = {
    "order_form": order_form,
    "confirmation_at_the_book": confirmation_at_the_book,
    "refusal": refusal,
    "reduce": reduce,
    "venues": venues,
    "leverage": leverage,
}


@pytest.mark.parametrize("size", SIZES, ids=["120x36", "80x24"])
@pytest.mark.parametrize("scene", list(SCENES))
def test_ticket_snapshot(snap_compare, scene: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=size, run_before=SCENES[scene])
