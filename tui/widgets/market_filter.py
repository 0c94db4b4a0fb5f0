"""The markets filter: a one-line prompt at the bottom (``f``) that narrows Markets as you type.

Typing posts :class:`MarketFilter.Changed` at once, so the list follows each key. Enter keeps
the filter and closes the prompt (the Markets box's subtitle then shows it); Esc clears it.
Only letters and digits can be typed: market names are made of nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input

from tui.widgets.plain import Plain

PLACEHOLDER = "part of a name, e.g. eth   (Enter keeps it, Esc clears it)"


class MarketFilter(Horizontal):
    """Hidden until :meth:`open`."""

    DEFAULT_CSS = """
    MarketFilter { height: 1; display: none; background: $boost; }
    MarketFilter.-open { display: block; }
    MarketFilter #filter-prompt { width: auto; padding: 0 1; color: $accent; text-style: bold; }
    MarketFilter #filter { border: none; height: 1; width: 1fr; padding: 0 1 0 0;
        background: $boost; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", show=False),
    ]

    @dataclass
    class Changed(Message):
        """The filter text is now ``text`` (empty: no filter)."""

        text: str

    @dataclass
    class Closed(Message):
        """The prompt closed: the screen puts the focus back on Markets."""

    def compose(self) -> ComposeResult:
        yield Plain("Filter markets:", id="filter-prompt")
        yield Input(
            placeholder=PLACEHOLDER,
            id="filter",
            restrict=r"[A-Za-z0-9]*",
            max_length=20,
            select_on_focus=False,
        )

    @property
    def input(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, text: str = "") -> None:
        self.input.value = text
        self.input.cursor_position = len(text)
        self.add_class("-open")
        self.display = True
        self.screen.set_focus(self.input)  # keys typed right after "f" belong to the prompt

    def close(self, *, refocus: bool = True) -> None:
        """Hide the prompt (the filter stays); with ``refocus``, the screen gets
        :class:`Closed` to put the focus back on Markets."""
        self.remove_class("-open")
        self.display = False
        if refocus:
            self.post_message(self.Closed())

    def action_clear(self) -> None:
        self.input.value = ""  # posts Changed("")
        self.close()

    @on(Input.Changed, "#filter")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value.strip()))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
