"""The event log: fills, rejections, funding and liquidations, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.safe import safe_text
from tui.session import LogLine
from tui.widgets.styles import LEVEL_STYLE, number_styles


class LogSource(Protocol):
    """Where the lines come from (a :class:`tui.session.Session`): the newest lines, oldest
    first, and how many were ever said."""

    @property
    def log(self) -> Sequence[LogLine]: ...

    @property
    def log_count(self) -> int: ...


class EventLog(VerticalScroll):
    """A scrollable list of timestamped lines, newest at the top. Shows what its source holds
    when it mounts, and again whenever :meth:`sync` finds new lines."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; }
    EventLog > Static { width: 1fr; }
    """

    def __init__(self, source: LogSource, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self.source = source
        self._shown = -1
        self._lines: list[str] = []
        self._body = Static("", markup=False)

    def compose(self) -> ComposeResult:
        yield self._body

    def on_mount(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Repaint if lines were said since the last time (cheap when none were)."""
        count = self.source.log_count
        if count == self._shown:
            return
        self._shown = count
        styles = number_styles(self.app.current_theme)
        newest_first = list(reversed(self.source.log))
        # Text from outside (paths, feed errors, file contents): control characters escaped.
        self._lines = [safe_text(line.text, multiline=True) for line in newest_first]
        out = Text(no_wrap=False)
        for i, (line, text) in enumerate(zip(newest_first, self._lines, strict=True)):
            if i:
                out.append("\n")
            out.append(f"{line.stamp} ", style="dim")
            out.append(text, style=styles.get(LEVEL_STYLE[line.level], ""))
        self._body.update(out)

    @property
    def lines(self) -> list[str]:
        """The plain lines on show, newest first (for tests and copy)."""
        return self._lines
