"""The screen a second browser tab gets when its paper account is open elsewhere."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static

from tui.serve import AccountBusyApp

MESSAGE = (
    "Another perpdesk (process 4242) has the paper account in /home/trader/.local/share/"
    "perpdesk open. Quit it first, or use --data-dir for a separate account."
)


async def test_it_says_why_and_enter_ends_it() -> None:
    app = AccountBusyApp(MESSAGE)
    async with app.run_test() as pilot:
        shown = str(app.query_one("#busy-message", Static).render())
        assert "process 4242" in shown
        assert "reload this page" in str(app.query_one("#busy-why", Static).render())
        assert app.is_running
        await pilot.press("enter")
        await pilot.pause()
        assert not app.is_running


async def test_q_and_escape_end_it_too() -> None:
    for key in ("q", "escape"):
        app = AccountBusyApp(MESSAGE)
        async with app.run_test() as pilot:
            await pilot.press(key)
            await pilot.pause()
            assert not app.is_running, key


async def test_other_keys_do_nothing() -> None:
    app = AccountBusyApp(MESSAGE)
    async with app.run_test() as pilot:
        await pilot.press("b", "x", "/")
        await pilot.pause()
        assert app.is_running


async def test_control_characters_in_the_message_are_shown_escaped() -> None:
    app = AccountBusyApp("account in /tmp/\x1b[31mred\x07 open")
    async with app.run_test():
        shown = str(app.query_one("#busy-message", Static).render())
    assert "\x1b" not in shown and "\x07" not in shown
    assert "/tmp/\\x1b[31mred\\x07 open" in shown


async def test_it_uses_the_theme_from_settings() -> None:
    app = AccountBusyApp(MESSAGE, theme="nord")
    async with app.run_test():
        assert app.theme == "nord"
    unknown = AccountBusyApp(MESSAGE, theme="no-such-theme")
    async with unknown.run_test():
        assert unknown.theme == "textual-dark"


def test_busy_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(AccountBusyApp(MESSAGE), terminal_size=(120, 36))


def test_busy_screen_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()

    assert snap_compare(AccountBusyApp(MESSAGE), terminal_size=(80, 24), run_before=run_before)
