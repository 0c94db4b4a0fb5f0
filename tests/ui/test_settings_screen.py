"""The settings screen: opening it, editing through it with the keyboard, saving (only changed
values, comments kept), refusing bad values, discarding, live theme preview, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from tests.ui.pilot_helpers import enter_command, make_app, on_screen
from tui.app import PerpDeskApp
from tui.engine import MarginMode, Side
from tui.screens.dialogs.discard import DiscardScreen
from tui.screens.main import MainScreen
from tui.screens.order import OrderFormScreen, TradeConfirmScreen
from tui.screens.settings import ModeToggle, SettingsScreen
from tui.settings import load_settings, resolve_config_path

HAND_WRITTEN = """\
# My perpdesk settings, written by hand.

[trading]
# Isolated while I learn.
default_margin_mode = "isolated"  # keep this comment
default_leverage = 3
default_order_size = 0.5

[account]
starting_balance = 25000   # paper money

[ui]
theme = "nord"
refresh_hz = 5
sparkles = true  # not a perpdesk key: must survive

[plugins]  # an unknown table
enabled = ["a", "b"]
"""


def hand_written_app(tmp_path: Path) -> tuple[PerpDeskApp, Path]:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    loaded = load_settings(path)
    return make_app(loaded.settings, config_path=path, messages=loaded.messages), path


def text_of(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).render())


def messages(app: PerpDeskApp, severity: str | None = None) -> list[str]:
    return [n.message for n in app._notifications if severity is None or n.severity == severity]


async def open_settings(pilot: Pilot[None]) -> SettingsScreen:
    await pilot.press("comma")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


async def type_into(pilot: Pilot[None], widget_id: str, text: str) -> None:
    """Focus a field, replace its text by typing, as a person would."""
    screen = pilot.app.screen
    field = screen.query_one(f"#{widget_id}", Input)
    field.focus()
    await pilot.pause()
    await pilot.press("ctrl+a", "ctrl+k", *text)
    await pilot.pause()


# ------------------------------------------------------------------ opening


async def test_opens_with_comma_slash_command_and_palette(tmp_path: Path) -> None:
    app = make_app(config_path=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        assert str(tmp_path / "config.toml") in text_of(screen, "#settings-path")
        await pilot.press("escape")  # no edits: closes at once
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)

        await enter_command(pilot, "settings")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Settings")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)

        app.action_settings()  # a second request while open does not stack another
        await pilot.pause()
        assert sum(isinstance(s, SettingsScreen) for s in app.screen_stack) == 1


async def test_shows_the_default_path_when_none_was_given() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        assert screen.config_file == resolve_config_path()
        assert str(resolve_config_path()) in text_of(screen, "#settings-path")


async def test_form_shows_the_current_settings_and_the_notes(tmp_path: Path) -> None:
    app, _ = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        assert screen.query_one("#default-margin-mode", ModeToggle).value == "isolated"
        assert screen.query_one("#default-leverage", Input).value == "3"
        assert screen.query_one("#default-order-size", Input).value == "0.5"
        assert screen.query_one("#starting-balance", Input).value == "25000"
        assert screen.query_one("#seed", Input).value == ""
        assert screen.query_one("#theme", Select).value == "nord"
        assert screen.query_one("#source", Select).value == "sim"
        notes = [str(n.render()) for n in screen.query(".note").results(Static)]
        assert "USD. Applies to the next fresh account." in notes
        assert sum("Applies from the next launch." in n for n in notes) >= 2  # source, seed
        assert isinstance(screen.focused, ModeToggle)  # keyboard-first from the start


# ------------------------------------------------------------------ saving


async def test_round_trip_changes_only_the_edited_values(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("space")  # Isolated -> Cross
        await pilot.press("tab", *"7")  # Tab selects the field's text: typing replaces it
        await pilot.pause()
        assert screen.query_one("#default-leverage", Input).value == "7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any(f"Saved to {path}" in m for m in messages(app))
        assert any(f"Settings saved to {path}" in line for line in app.main.log_widget.lines)

    expected = HAND_WRITTEN.replace(
        'default_margin_mode = "isolated"  # keep this comment',
        'default_margin_mode = "cross"  # keep this comment',
    ).replace("default_leverage = 3", "default_leverage = 7")
    before, after = HAND_WRITTEN.splitlines(), path.read_text().splitlines()
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert [before[i] for i in changed] == [
        'default_margin_mode = "isolated"  # keep this comment',
        "default_leverage = 3",
    ]
    assert after == expected.splitlines()
    assert app.session.settings.trading.default_margin_mode == "cross"
    assert app.session.settings.trading.default_leverage == 7


async def test_saved_default_mode_applies_to_the_next_order_and_stays_overridable(
    tmp_path: Path,
) -> None:
    app, _ = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await pilot.press("c", "tab", *"8", "ctrl+s")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        assert form.query_one("#leverage", Input).value == "8"  # the new default leverage
        assert form.query_one("#size", Input).value == "0.5"
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, TradeConfirmScreen)
        assert confirm.margin_mode is MarginMode.CROSS  # the new default
        await pilot.press("i")  # still overridable for this trade
        assert on_screen(app, TradeConfirmScreen).margin_mode is MarginMode.ISOLATED
        await pilot.press("enter")
        await pilot.pause()
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.mode is MarginMode.ISOLATED and pos.leverage == 8


async def test_refresh_rate_and_theme_apply_at_once(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        # With a position open the heartbeat runs at the refresh rate (idle: 2 a second).
        app.session.engine.open("BTC", Side.LONG, 0.01, 5, MarginMode.ISOLATED)
        app.refresh_now()
        assert app._refresh_timer._interval == pytest.approx(1 / 5)
        screen = await open_settings(pilot)
        screen.query_one("#theme", Select).value = "dracula"
        await type_into(pilot, "refresh-hz", "20")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app._refresh_timer._interval == pytest.approx(1 / 20)
        assert app.theme == "dracula"
        assert load_settings(path).settings.ui.refresh_hz == 20


async def test_later_fields_say_when_they_apply(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await type_into(pilot, "starting-balance", "50000")
        await type_into(pilot, "seed", "42")
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = next(m for m in messages(app) if m.startswith("Saved to"))
        assert "Starting balance: from the next fresh account." in saved
        assert "Seed: from the next launch." in saved
        assert app.session.engine.account.wallet_balance == 25_000  # this account is untouched
        settings = load_settings(path).settings
        assert settings.account.starting_balance == 50_000 and settings.market.seed == 42


# ------------------------------------------------------------------ bad values


async def test_bad_value_is_marked_inline_and_save_is_refused(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        await type_into(pilot, "default-leverage", "0")
        field = screen.query_one("#default-leverage", Input)
        error = screen.query_one("#default-leverage-error", Static)
        assert field.has_class("-invalid")
        assert error.has_class("-shown")
        assert str(error.render()) == "Leverage must be a number from 1 to 100 (got 0)."

        await pilot.press("tab")  # move on, then try to save from another field
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert path.read_text() == HAND_WRITTEN
        refused = messages(app, "error")
        assert refused and refused[-1].startswith("Not saved: Leverage must be a number")
        assert screen.focused is field  # taken back to the field to fix

        await pilot.press("ctrl+a", "ctrl+k", "4")
        await pilot.pause()
        assert not field.has_class("-invalid") and not error.has_class("-shown")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert load_settings(path).settings.trading.default_leverage == 4


@pytest.mark.parametrize(
    ("widget_id", "text", "message"),
    [
        ("default-order-size", "lots", "Order size must be a size in base units"),
        ("starting-balance", "-5", "Starting balance must be a number greater than 0"),
        ("taker", "0.1", "Taker fee must be a number from 0 to 0.01"),
        ("seed", "1.5", "Seed must be a whole number"),
        ("refresh-hz", "100", "Refresh rate must be a number from 1 to 60"),
    ],
)
async def test_each_field_is_checked(
    tmp_path: Path, widget_id: str, text: str, message: str
) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        await type_into(pilot, widget_id, text)
        assert text_of(screen, f"#{widget_id}-error").startswith(message)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and path.read_text() == HAND_WRITTEN


# ------------------------------------------------------------------ discarding


async def test_escape_with_edits_asks_first(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        before = app.session.settings
        screen = await open_settings(pilot)
        await pilot.press("space")
        await type_into(pilot, "default-leverage", "9")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardScreen)
        await pilot.press("k")  # keep editing
        await pilot.pause()
        assert on_screen(app, SettingsScreen) is screen
        assert screen.query_one("#default-leverage", Input).value == "9"
        assert screen.query_one("#default-margin-mode", ModeToggle).value == "cross"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardScreen)
        await pilot.press("escape")  # Escape again: discard and leave, not back to the form
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.settings == before
        assert path.read_text() == HAND_WRITTEN


async def test_the_question_on_leaving_can_save_instead(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await type_into(pilot, "default-leverage", "9")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("s")  # save and leave
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.settings.trading.default_leverage == 9
        assert "default_leverage = 9" in path.read_text()


async def test_undoing_an_edit_by_hand_is_not_an_edit(tmp_path: Path) -> None:
    app, _ = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await pilot.press("space", "space")  # Cross and back
        await type_into(pilot, "default-leverage", "3.0")  # the same number
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_theme_previews_live_and_discard_restores_it(tmp_path: Path) -> None:
    app, path = hand_written_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.theme == "nord"
        themes = sorted(app.available_themes)
        after_nord = themes[themes.index("nord") + 1]
        screen = await open_settings(pilot)
        select = screen.query_one("#theme", Select)
        select.focus()
        await pilot.press("enter")  # open the list
        await pilot.pause()
        await pilot.press("down")  # moving through the list previews
        await pilot.pause()
        assert app.theme == after_nord
        await pilot.press("escape")  # close the list without choosing: back to the choice
        await pilot.pause()
        assert app.theme == "nord" and app.screen is screen

        await pilot.press("enter", "down", "down", "enter")  # choose two further down
        await pilot.pause()
        chosen = themes[themes.index("nord") + 2]
        assert select.value == chosen and app.theme == chosen

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DiscardScreen)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.theme == "nord"
        assert app.session.settings.ui.theme == "nord"
        assert path.read_text() == HAND_WRITTEN


# ------------------------------------------------------------------ bad locations and files


async def test_unwritable_location_says_so_and_applies_for_the_session(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the config folder should be\n")
    path = blocker / "config.toml"
    app = make_app(config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await pilot.press("c", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        errors = messages(app, "error")
        assert errors and errors[-1].startswith(f"Could not save settings to {path}")
        assert "apply until you quit" in errors[-1]
        assert any("Could not save settings" in line for line in app.main.log_widget.lines)
        assert app.session.settings.trading.default_margin_mode == "cross"  # applied anyway
        await pilot.press("b", "enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, TradeConfirmScreen)
        assert confirm.margin_mode is MarginMode.CROSS


async def test_saving_over_a_broken_file_keeps_a_backup_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    broken = "[trading\ndefault_leverage = 3\n"
    path.write_text(broken)
    loaded = load_settings(path)
    assert loaded.broken
    app = make_app(loaded.settings, config_path=path, messages=loaded.messages)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await type_into(pilot, "default-leverage", "9")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        backup = Path(f"{path}.bak")
        assert backup.read_text() == broken
        said = f"{path} was not valid TOML, so it was copied to {backup}"
        assert any(m.startswith(said) for m in messages(app, "warning"))
        assert any(line.startswith(said) for line in app.main.log_widget.lines)
        reloaded = load_settings(path)
        assert not reloaded.broken and reloaded.settings.trading.default_leverage == 9


# ------------------------------------------------------------------ snapshots


SNAPSHOT_PATH = Path("/home/trader/.config/perpdesk/config.toml")  # shown, never written


async def steady_inputs(pilot: Pilot[None]) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_settings_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("comma")
        await pilot.pause()
        await steady_inputs(pilot)

    app = make_app(config_path=SNAPSHOT_PATH)
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_settings_screen_small_terminal_with_a_bad_value(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("comma")
        await pilot.pause()
        await steady_inputs(pilot)
        await pilot.press("space", "tab", "0")
        await pilot.pause()

    app = make_app(config_path=SNAPSHOT_PATH)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
