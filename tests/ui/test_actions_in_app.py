"""The action table in the running app: palette entries, command words, keys that explain."""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen

from tests.ui.pilot_helpers import enter_command, make_app
from tui import actions
from tui.commands import SIMPLE_COMMANDS
from tui.screens.base import invoke
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.dialogs.scenario import ScenarioScreen
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.ladder import ShockLadderScreen
from tui.screens.liqmap import LiquidationMapScreen
from tui.screens.main import MainScreen
from tui.screens.settings import SettingsScreen

OPENS: dict[str, type[Screen[Any]]] = {
    "settings": SettingsScreen,
    "help": HelpScreen,
    "history": HistoryScreen,
    "reset": ConfirmScreen,
    "scenario": ScenarioScreen,
    "shock": ShockLadderScreen,
    "liqmap": LiquidationMapScreen,
}


def test_every_simple_command_has_a_screen_here() -> None:
    assert set(OPENS) == set(SIMPLE_COMMANDS)


@pytest.mark.parametrize("word", list(OPENS))
async def test_each_simple_command_runs_its_action(word: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_command(pilot, word)
        await pilot.pause()
        assert isinstance(app.screen, OPENS[word])
        assert not app.main.command_line.has_class("-open")


async def test_the_palette_offers_the_table_in_its_order() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)):
        ours = {a.palette[0] for a in actions.ACTIONS if a.palette}
        titles = [c.title for c in app.get_system_commands(app.main) if c.title in ours]
        assert titles == [a.palette[0] for a in actions.ACTIONS if a.palette]
        history = HistoryScreen()
        await app.push_screen(history)
        titles = [c.title for c in app.get_system_commands(history) if c.title in ours]
        # the trading ones need the desk
        assert titles == ["Settings", "Help", "History", "Shock ladder", "Liquidation map", "Drill"]


async def test_a_palette_action_that_does_not_apply_says_why() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.main.check_action("close_position", ()) is None  # the key is greyed out
        invoke(app.main, actions.BY_ID["close"])  # what the palette does
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert [n.message for n in app._notifications] == [
            "Select an open position first (Tab moves to the positions table)."
        ]
