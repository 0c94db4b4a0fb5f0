"""Text from outside (files, feeds, exceptions quoting them) made safe to show in a terminal.

One rule, in one place: :func:`safe_text` shows every character that could steer the terminal
or reorder what a person reads as a visible escape (``\\x1b``, ``\\x9b``, ``\\u202e``), and leaves
everything else alone. What it escapes:

* C0 controls U+0000-U+001F (ESC starts every terminal escape sequence; BEL ends some; CR
  overwrites a line), except that a multi-line body (``multiline=True``) keeps ``\\n`` and tab;
* DEL U+007F and the 8-bit C1 controls U+0080-U+009F (U+009B is a one-character CSI, U+009D
  an OSC: many terminals act on them as they act on ESC [ and ESC ]);
* Unicode bidirectional overrides, embeddings, isolates and marks (U+202A-U+202E,
  U+2066-U+2069, U+200E, U+200F, U+061C), which make text read in a different order than it is
  stored ("Trojan Source");
* the line and paragraph separators U+2028 and U+2029 (a line break a single-line message must
  not have);
* lone surrogates U+D800-U+DFFF: what Python makes of a file name's undecodable bytes; writing
  one to the terminal raises ``UnicodeEncodeError``.

The escapes are printable ASCII, so applying it twice changes nothing (a message made safe
where it is built can pass through the display's own call again). Backslashes are not doubled:
a file that already holds the four characters ``\\x1b`` shows the same as one holding ESC, and
neither can reach the terminal. Markup is a separate matter: perpdesk never parses text from
outside as markup (``markup=False`` everywhere).

Pure standard library: the engine, market and journal layers may use it.
"""

from __future__ import annotations

import re

__all__ = ["safe_text"]

_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_UNSAFE_BODY = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
    "\ud800-\udfff]"
)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(text: object, *, multiline: bool = False) -> str:
    """``str(text)`` with control characters shown escaped (see the module doc).

    ``safe_text("a\\x1b]0;pwn\\x07")`` is ``'a\\\\x1b]0;pwn\\\\x07'``: the same characters a
    person typed, made visible. ``multiline=True`` keeps newlines and tabs (for a body of
    several lines); otherwise they are escaped too, so one message stays one line.
    """
    try:
        value = text if isinstance(text, str) else str(text)
    except Exception:  # an exception whose __str__ fails must still be reportable
        value = f"<{type(text).__name__}>"
    pattern = _UNSAFE_BODY if multiline else _UNSAFE_LINE
    return pattern.sub(_escape, value)
