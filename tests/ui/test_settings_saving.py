"""Saving settings from the screen when the file misbehaves: another program saves it at the
same moment (the form stays, nothing is lost), or it is large (saved off the event loop)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.ui.pilot_helpers import make_app
from tests.ui.test_settings_screen import HAND_WRITTEN, messages, open_settings, type_into
from tui import settings as settings_module
from tui.screens import settings as screens_settings
from tui.screens.main import MainScreen
from tui.screens.settings import SettingsScreen
from tui.settings import LARGE_CONFIG_BYTES, load_settings, save_changes


def quiet(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))


async def test_a_file_saved_elsewhere_meanwhile_keeps_the_form_open_and_both_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    quiet(path, HAND_WRITTEN)
    theirs = HAND_WRITTEN + "\n[market]\nseed = 7  # typed in an editor meanwhile\n"
    real_edit = settings_module._edited_text
    calls: list[int] = []

    def edit(*args: Any) -> str:
        if not calls:  # the editor saves while perpdesk's first save is under way
            path.write_text(theirs, encoding="utf-8")
        calls.append(1)
        return real_edit(*args)

    monkeypatch.setattr(settings_module, "_edited_text", edit)
    loaded = load_settings(path)
    app = make_app(loaded.settings, config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_settings(pilot)
        await type_into(pilot, "default-leverage", "9")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # the form and its edit are still here
        (error,) = messages(app, "error")
        assert "changed by another program while perpdesk was saving" in error
        assert path.read_text(encoding="utf-8") == theirs  # the editor's save stands
        await pilot.press("ctrl+s")  # save again: onto the file as the editor left it
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    saved = load_settings(path).settings
    assert saved.trading.default_leverage == 9 and saved.market.seed == 7
    assert app.session.settings == saved  # the app runs on what the file holds
    assert "# typed in an editor meanwhile" in path.read_text(encoding="utf-8")


async def test_a_large_file_is_saved_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    filler = "".join(f"key{n} = {n}  # an unknown key, kept\n" for n in range(3000))
    quiet(path, HAND_WRITTEN + filler)
    assert path.stat().st_size > LARGE_CONFIG_BYTES
    real_save = save_changes  # the function the screen calls, replaced below
    gate = threading.Event()
    threads: list[threading.Thread] = []

    def save(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        assert gate.wait(timeout=30)  # held until the test has looked at the waiting screen
        return real_save(*args, **kwargs)

    monkeypatch.setattr(screens_settings, "save_changes", save)
    loaded = load_settings(path)
    app = make_app(loaded.settings, config_path=path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_settings(pilot)
        await type_into(pilot, "default-leverage", "9")
        await pilot.press("ctrl+s")
        assert screen.saving
        assert screen.query_one("#settings").border_subtitle == "saving a large file…"
        await pilot.press("escape", "ctrl+s")  # neither discards nor saves twice half-way
        await pilot.pause()
        assert any("Still saving" in m for m in messages(app))
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any(m.startswith(f"Saved to {path}") for m in messages(app))
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    text = path.read_text(encoding="utf-8")
    assert "default_leverage = 9" in text and "key2999 = 2999  # an unknown key, kept" in text
    assert app.session.settings.trading.default_leverage == 9
