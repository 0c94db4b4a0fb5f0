"""The event log: fills, rejections, funding and liquidations, newest first."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.safe import safe_text


class EventLog(VerticalScroll):
    """A scrollable list of timestamped lines, newest at the top (keeps the last 300)."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; }
    EventLog > Static { width: 1fr; }
    """

    MAX_LINES = 300

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self._lines: deque[tuple[str, str, str]] = deque(maxlen=self.MAX_LINES)
        self._body = Static("", markup=False)

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def add_many(self, lines: list[tuple[str, str, str]]) -> None:
        if not lines:
            return
        for stamp, text, style in lines:  # text from outside: control characters escaped
            self._lines.appendleft((stamp, safe_text(text, multiline=True), style))
        out = Text(no_wrap=False)
        for i, (stamp, text, style) in enumerate(self._lines):
            if i:
                out.append("\n")
            out.append(f"{stamp} ", style="dim")
            out.append(text, style=style)
        self._body.update(out)

    @property
    def lines(self) -> list[str]:
        """The plain lines, newest first (for tests and copy)."""
        return [text for _, text, _ in self._lines]
