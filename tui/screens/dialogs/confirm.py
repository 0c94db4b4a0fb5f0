"""A yes/no question: y or Enter confirms, n or Escape cancels."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical

from tui.screens.base import Dialog
from tui.widgets.plain import Plain


class ConfirmScreen(Dialog[bool]):
    """A yes/no question: y or Enter confirms, n or Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="ask.yes"),
        Binding("n,escape", "answer(False)", "No", id="ask.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen #ask { width: 70; border: thick $warning; }
    ConfirmScreen #ask-keys { padding: 1 0 0 0; }
    """

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="ask", classes="dialog") as box:
            box.border_title = self.title_text
            yield Plain(self.body, markup=False)
            yield Plain("y / Enter: yes    n / Esc: no", id="ask-keys", classes="dialog-keys")

    def action_answer(self, yes: bool) -> None:
        self.reply(yes)
