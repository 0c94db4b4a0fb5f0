"""Rich styles for numbers and log lines, taken from the current Textual theme."""

from __future__ import annotations

from textual.theme import Theme

from tui.engine import Side
from tui.session import Level

NumberStyles = dict[str, str]
"""``up``, ``down``, ``success``, ``error``, ``warning`` -> a Rich style (a colour)."""

LEVEL_STYLE: dict[Level, str] = {
    "info": "",
    "success": "success",
    "warning": "warning",
    "error": "error",
}
"""The :data:`NumberStyles` key a log line of each level is drawn in (``""``: plain)."""

_cache: dict[str, NumberStyles] = {}


def number_styles(theme: Theme) -> NumberStyles:
    """Colours for gains, losses, warnings and errors in ``theme`` (cached by theme name)."""
    styles = _cache.get(theme.name)
    if styles is None:
        success = theme.success or "green"
        error = theme.error or "red"
        warning = theme.warning or "yellow"
        styles = {
            "up": success,
            "down": error,
            "success": success,
            "error": error,
            "warning": warning,
        }
        _cache[theme.name] = styles
    return styles


def side_style(styles: NumberStyles, side: Side) -> str:
    """A long reads as a gain, a short as a loss."""
    return styles["up" if side is Side.LONG else "down"]
