"""The standing risk banner: every alert still in force, until its condition has eased.

The session's :class:`tui.risk.AlertTracker` decides what is in force (a threshold crossed
and not yet re-armed); this line only shows it, hidden while there is nothing to show.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tui.risk import Alert
from tui.safe import safe_text
from tui.widgets.plain import Plain


class AlertBanner(Plain):
    """One line (two when it must) in the error colour; hidden when no alert is in force."""

    DEFAULT_CSS = """
    AlertBanner { height: auto; max-height: 2; padding: 0 1; background: $error 25%;
        color: $text; display: none; }
    AlertBanner.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: tuple[str, ...] = ()

    def show(self, alerts: Sequence[Alert]) -> None:
        """Show ``alerts`` (the tracker's ``active`` list); nothing changes if they did not."""
        messages = tuple(safe_text(a.message) for a in alerts)
        if messages == self._shown:
            return
        self._shown = messages
        self.set_class(bool(messages), "-shown")
        text = Text(no_wrap=False, overflow="ellipsis")
        for i, message in enumerate(messages):
            text.append("  ·  " if i else "⚠ ", style="bold")
            text.append(message)
        self.update(text)
