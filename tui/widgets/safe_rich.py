"""Rich text built from outside names (a venue's market list) made safe to show.

:func:`tui.safe.safe_text` works on strings; the risk views build styled :class:`rich.text.Text`
from market names. :func:`safe_rich` returns the text as it is when it holds nothing to escape
(always, for the catalogue's names), and otherwise its plain characters escaped, without the
styles (whose positions would no longer match): a hostile name reads as text, never steers
the terminal.
"""

from __future__ import annotations

from rich.text import Text

from tui.safe import safe_text

__all__ = ["safe_rich"]


def safe_rich(text: Text) -> Text:
    """``text`` unchanged if it is safe to show, else its characters escaped (unstyled)."""
    plain = text.plain
    safe = safe_text(plain, multiline=True)
    return text if safe == plain else Text(safe)
