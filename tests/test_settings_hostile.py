"""Hostile config files: escapes, depth, huge numbers, endless files, races, backups."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.safe import safe_text
from tui.settings import DEFAULTS, SettingsSaveError, load_settings, save_settings

OSC_TITLE = "\\u001b]0;pwned\\u001b\\\\"  # as written in TOML: ESC ] 0 ; pwned ESC \


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def assert_safe(text: str) -> None:
    assert safe_text(text) == text, f"raw control characters in {text!r}"


# --- terminal escapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, literal",
    [
        ("[ui]\ntheme", f'"{OSC_TITLE}"'),
        ("[market]\nreplay_file", '"rec\\u009b2J.csv"'),
        ("[market]\nurl", '"wss://x/\\u001bc"'),
        ("[keymap]\nbuy", '"b\\u001b[2J"'),
        ("[ui]\ntheme", '"\\u202edark"'),
    ],
)
def test_a_value_with_control_characters_is_refused_and_quoted_escaped(
    cfg: Path, key: str, literal: str
) -> None:
    cfg.write_text(f"{key} = {literal}\n", encoding="utf-8")
    result = load_settings(cfg)
    assert result.settings == DEFAULTS  # refused: the default applies
    (message,) = result.messages
    assert "must not contain control characters" in message
    assert "\\x1b" in message or "\\x9b" in message or "\\u202e" in message
    assert_safe(message)


def test_unknown_keys_and_paths_are_quoted_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "cfg\x1b]0;pwned\x07"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text('"\\u001b[2J" = 1\n[trading\n', encoding="utf-8")
    result = load_settings(path)
    assert result.broken
    assert "\\x1b]0;pwned\\x07" in result.messages[0]
    assert_safe(result.messages[0])
    path.write_text('"\\u001b[2J" = 1\n', encoding="utf-8")
    (message,) = load_settings(path).messages
    assert message == "unknown key \\x1b[2J is kept but ignored."


def test_save_errors_quote_the_path_escaped(tmp_path: Path) -> None:
    blocker = tmp_path / "x\x1bc"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), blocker / "config.toml")
    assert "x\\x1bc" in str(info.value)
    assert_safe(str(info.value))
