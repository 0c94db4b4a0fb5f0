"""The heartbeat's pace: the refresh rate while anything is open, slower while nothing is
(a desk left open all day, issue 18)."""

from __future__ import annotations

import pytest

from tests.ui.pilot_helpers import beat, make_app
from tui.engine import MarginMode, Side


async def test_the_heartbeat_slows_while_nothing_is_open() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await beat(pilot)
        assert app._refresh_timer._interval == pytest.approx(1 / 2)
        app.session.engine.open("BTC", Side.LONG, 0.01, 5, MarginMode.ISOLATED)
        await beat(pilot)
        assert app._refresh_timer._interval == pytest.approx(1 / 10)
        app.session.engine.close("BTC")
        await beat(pilot)
        assert app._refresh_timer._interval == pytest.approx(1 / 2)


async def test_a_drill_keeps_the_full_rate_with_nothing_open() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.start_drill("hedge-mode") is None  # it starts flat: nothing open
        await beat(pilot)
        assert not app.session.engine.anything_open
        assert app._refresh_timer._interval == pytest.approx(1 / 10)  # the drill's clock
