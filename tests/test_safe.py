"""Terminal escape injection: text from outside is shown with its control characters escaped."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tui.safe import safe_text

# What must never reach the terminal from a one-line message.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
ATTACKS = {
    "osc-title": ("a\x1b]0;pwned\x1b\\b", "a\\x1b]0;pwned\\x1b\\b"),  # retitles the terminal
    "osc-title-bel": ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    "reset": ("\x1bc", "\\x1bc"),  # RIS: full terminal reset
    "clear": ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
    "c1-csi": ("\x9b2J", "\\x9b2J"),  # 8-bit CSI
    "c1-osc": ("\x9d0;pwned\x9c", "\\x9d0;pwned\\x9c"),
    "del-nul-cr": ("a\x7fb\x00c\rd", "a\\x7fb\\x00c\\x0dd"),
    "bidi-override": ("price \u202e0001\u202c", "price \\u202e0001\\u202c"),
    "bidi-isolate": ("\u2066x\u2069 \u200f\u061c", "\\u2066x\\u2069 \\u200f\\u061c"),
    "line-separator": ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    "lone-surrogate": ("file-\udc9b.csv", "file-\\udc9b.csv"),  # an undecodable file name byte
}


@pytest.mark.parametrize("raw, shown", ATTACKS.values(), ids=list(ATTACKS))
def test_control_characters_are_shown_escaped(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    assert safe_text(raw, multiline=True) == shown


def test_newline_and_tab_are_escaped_in_a_line_and_kept_in_a_body() -> None:
    assert safe_text("one\ntwo\tthree") == "one\\x0atwo\\x09three"
    assert safe_text("one\ntwo\tthree", multiline=True) == "one\ntwo\tthree"
    assert safe_text("one\r\ntwo", multiline=True) == "one\\x0d\ntwo"


def test_ordinary_text_is_unchanged() -> None:
    text = "BTC 97 000,5 € · ✓ 日本語 emoji 👍🏽 and a [bold]markup[/] lookalike \\x1b"
    assert safe_text(text) == text


def test_non_strings_and_broken_exceptions() -> None:
    assert safe_text(ValueError("bad \x1b[31mred")) == "bad \\x1b[31mred"
    assert safe_text(42) == "42"

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_text(Broken()) == "<Broken>"


DANGEROUS = st.sampled_from(
    ["\x1b", "\x07", "\x9b", "\x9d", "\x7f", "\n", "\t", "\r", "\u202e", "\u2066", "\udc9b"]
)
ANY_CHARACTER = st.one_of(DANGEROUS, st.characters(exclude_categories=()))  # surrogates too


@fuzz(300)
@given(st.text(alphabet=ANY_CHARACTER, max_size=60), st.booleans())
def test_fuzz_escaped_text_is_terminal_safe_idempotent_and_lossless_for_safe_text(
    text: str, multiline: bool
) -> None:
    shown = safe_text(text, multiline=multiline)
    kept = "\n\t" if multiline else ""
    assert not UNSAFE.search(shown.translate({ord(c): None for c in kept}))
    assert safe_text(shown, multiline=multiline) == shown  # twice changes nothing
    if not UNSAFE.search(text.translate({ord(c): None for c in kept})):
        assert shown == text
