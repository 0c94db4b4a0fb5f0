"""Hostile numbers in the app: a market with no price yet, absurd marks, dust, huge sizes."""

from __future__ import annotations

import math
import random
from pathlib import Path

from tests.fuzzing import SCALE
from tests.ui.pilot_helpers import enter_command, make_app
from tui.app import PerpDeskApp
from tui.commands import CommandError, parse
from tui.engine import MarginMode, Side
from tui.market import ReplaySource
from tui.screens.dialogs.close import ClosePositionScreen
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.main import MainScreen
from tui.screens.order import TradeConfirmScreen

NO_ETH_PRICE = "ETH has no price yet; wait for the feed, or pick a market the feed prices."


def btc_only_replay(tmp_path: Path) -> ReplaySource:
    csv = tmp_path / "btc.csv"
    csv.write_text(
        "timestamp,symbol,price\n2026-01-01T00:00:00Z,BTC,100000\n2026-01-01T00:00:01Z,BTC,100010\n"
    )
    return ReplaySource(csv)


def run_line(app: PerpDeskApp, line: str) -> str | None:
    """What the command line does with ``line``: its error, or None once it ran."""
    try:
        command = parse(line, list(app.session.engine.markets))
    except CommandError as exc:
        return str(exc)
    return app.run_command(command)


def command_error(app: PerpDeskApp) -> str:
    return str(app.main.query_one("#command-error").render())


async def test_long_on_a_market_the_replay_never_prices_says_so_before_any_screen(
    tmp_path: Path,
) -> None:
    # Before: the confirmation screen crashed the app on `fmt_size(size, nan)`.
    app = make_app(source=btc_only_replay(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, "long eth 1")
        assert isinstance(app.screen, MainScreen)
        assert command_error(app) == NO_ETH_PRICE
        assert app.session.engine.position("ETH") is None
        await pilot.press("escape")
        await enter_command(pilot, "short eth $500")
        assert isinstance(app.screen, MainScreen)
        assert command_error(app) == NO_ETH_PRICE


async def test_buy_key_on_a_market_not_priced_yet_says_so_before_any_screen() -> None:
    # No feed has priced anything yet (a live feed still connecting): `b` explains itself.
    app = make_app(source=None)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.session.engine.mark("BTC") is None
        assert app.main.selected_market() == "BTC"
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        messages = [n.message for n in app._notifications]
        assert "BTC has no price yet" in messages[-1]
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_start_order_without_a_price_opens_nothing() -> None:
    app = make_app(source=None)
    async with app.run_test(size=(120, 36)) as pilot:
        app.start_order("ETH", Side.LONG, size=1.0)  # what the palette and command line reach
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_closing_a_share_that_rounds_to_nothing_is_refused_at_the_command_line() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, MarginMode.ISOLATED)
        app.refresh_now()
        for line in ("close btc 5e-324%", "close btc 1e-320"):
            await enter_command(pilot, line)
            assert isinstance(app.screen, MainScreen), line
            assert "less than the smallest BTC size the engine takes" in command_error(app)
            await pilot.press("escape")
        assert app.session.engine.position("BTC") is not None
        await enter_command(pilot, "close btc 50%")
        assert isinstance(app.screen, ClosePositionScreen)


async def test_an_absurd_size_is_refused_on_the_confirmation_screen() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, "long btc 1e308 40x cross")
        screen = app.screen
        assert isinstance(screen, TradeConfirmScreen)
        notice = str(screen.query_one("#notice").render())
        assert "too large" in notice
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.engine.position("BTC") is None


def guard_lines(app: PerpDeskApp) -> list[str]:
    return [
        line for line in app.main.log_widget.lines if "Held back" in line or "really moved" in line
    ]


async def test_a_glitching_feed_price_is_held_back_and_logged_once() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000.0)
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, MarginMode.ISOLATED)
        for _ in range(20):  # a feed printing garbage, frame after frame
            app.session.on_mark("BTC", 1.0)
            app.session.on_mark("BTC", 5e8)
            app.refresh_now()
        await pilot.pause()
        assert app.session.engine.mark("BTC") == 100_000.0
        assert app.session.engine.position("BTC") is not None  # 1.0 would have liquidated it
        [line] = guard_lines(app)
        assert "Held back a BTC price of 1.0000: more than 50 % from 100,000.0" in line
        app.session.on_mark("BTC", 100_200.0)
        assert app.session.engine.mark("BTC") == 100_200.0


async def test_a_real_move_is_applied_once_three_ticks_confirm_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.on_mark("BTC", 100_000.0)
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, MarginMode.ISOLATED)
        for price in (40_000.0, 40_100.0):
            app.session.on_mark("BTC", price)
            assert app.session.engine.position("BTC") is not None
        app.session.on_mark("BTC", 39_900.0)  # the third tick at the new level: applied
        app.refresh_now()
        await pilot.pause()
        assert app.session.engine.mark("BTC") == 39_900.0
        assert app.session.engine.position("BTC") is None  # liquidated at the real price
        lines = guard_lines(app)
        assert len(lines) == 2
        assert any(line.startswith("Held back a BTC price of 40,000.0") for line in lines)
        assert any("BTC really moved: 3 ticks in a row confirmed 39,900.0" in x for x in lines)


async def test_the_band_comes_from_settings_and_zero_turns_it_off() -> None:
    from tui.settings import Settings

    settings = Settings().with_value("market.max_tick_move", 0)
    app = make_app(settings)
    async with app.run_test(size=(120, 36)):
        app.session.on_mark("BTC", 100_000.0)
        app.session.on_mark("BTC", 10_000.0)
        assert app.session.engine.mark("BTC") == 10_000.0
        app.apply_settings(settings.with_value("market.max_tick_move", 0.2))
        app.session.on_mark("BTC", 10_100.0)  # a new guard: the first price sets the level
        app.session.on_mark("BTC", 13_200.0)  # +30 %: held back now
        assert app.session.engine.mark("BTC") == 10_100.0


HOSTILE_NUMBERS = [
    "1", "0.01", "1e308", "1.7976931348623157e308", "1e-320", "5e-324", "1e300", "0.000000001",
    "$1e308", "$5e-324", "$0.001", "$500", "9" * 400, "1e999", "-0", "nan",
]  # fmt: skip
HOSTILE_PCTS = ["5e-324%", "1e-300%", "0.0000001%", "50%", "100%", "1e308%", "101%"]
HOSTILE_LEVERAGE = ["", "1x", "40x", "1e308x", "5e-324x", "0.5x"]


def hostile_line(rng: random.Random) -> str:
    market = rng.choice(["btc", "eth", "sol"])
    kind = rng.random()
    if kind < 0.6:
        side = rng.choice(["long", "short"])
        mode = rng.choice(["", "iso", "cross"])
        parts = [side, market, rng.choice(HOSTILE_NUMBERS), rng.choice(HOSTILE_LEVERAGE), mode]
    elif kind < 0.9:
        parts = ["close", market, rng.choice([*HOSTILE_PCTS, *HOSTILE_NUMBERS[:8], ""])]
    else:
        parts = ["margin", market, rng.choice(["+1e308", "-5e-324", "+100", "-1e-320"])]
    return " ".join(p for p in parts if p)


async def test_fuzz_hostile_command_lines_never_crash_the_app(tmp_path: Path) -> None:
    """Hostile numbers typed at the command line, on a feed that prices only BTC: every line
    gives an error line or a screen that renders; nothing crashes, every figure stays finite.
    Runs 40 lines here; PERPDESK_FUZZ=N runs 40 * N."""
    rng = random.Random(9)
    app = make_app(source=btc_only_replay(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.set_mark("SOL", 200.0)  # priced, but not by the feed
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, MarginMode.CROSS)
        app.session.engine.open("SOL", Side.SHORT, 1, 5, MarginMode.ISOLATED)
        for _ in range(40 * SCALE):
            line = hostile_line(rng)
            error = run_line(app, line)
            await pilot.pause()
            if isinstance(app.screen, TradeConfirmScreen | ConfirmScreen | ClosePositionScreen):
                await pilot.press(rng.choice(["enter", "escape"]))
                await pilot.pause()
            if isinstance(app.screen, ClosePositionScreen):  # Enter before its first paint
                await pilot.press("escape")
                await pilot.pause()
            if isinstance(app.screen, TradeConfirmScreen):  # a refused order stays open
                await pilot.press("escape")
                await pilot.pause()
            assert error is None or (error and "\n" not in error), (line, error)
            assert isinstance(app.screen, MainScreen), line
            account = app.session.engine.account
            assert all(math.isfinite(getattr(account, f)) for f in account.__dataclass_fields__)
            assert all(math.isfinite(m) for m in app.session.engine.marks.values())
