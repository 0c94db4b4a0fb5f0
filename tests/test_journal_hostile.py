"""Hostile account files: escapes, deep JSON, wrong types, a deleted lock, a swapped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_journal import open_journal
from tui.journal import DB_NAME, JournalError
from tui.safe import safe_text


def assert_safe(text: str) -> None:
    assert safe_text(text) == text, f"raw control characters in {text!r}"


def test_errors_quote_a_hostile_folder_name_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "acct\x1b]0;pwned\x07\x9b2J"
    folder.mkdir()
    (folder / DB_NAME).write_text("balance = 10000\n")
    with pytest.raises(JournalError) as info:
        open_journal(folder)
    assert info.value.kind == "corrupt"
    assert "acct\\x1b]0;pwned\\x07\\x9b2J" in str(info.value)
    assert_safe(str(info.value))
