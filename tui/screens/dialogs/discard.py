"""Escape on a form with edits: three clear choices, and a second Escape leaves.

"Discard changes?" as a yes/no question made Escape mean "no, keep editing", so pressing Escape
again and again flipped between the form and the question forever. Here Escape (again) means
what the trader pressed it for: discard and leave.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical

from tui.screens.base import Dialog
from tui.widgets.plain import Plain

Choice = Literal["discard", "save", "keep"]

KEYS = "Esc / d: discard and leave · s: save and leave · k / Enter: keep editing"


class DiscardScreen(Dialog[Choice]):
    """Leave a form with unsaved edits: discard them, save them, or keep editing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,d", "choose('discard')", "Discard", id="discard.discard"),
        Binding("s,ctrl+s", "choose('save')", "Save", id="discard.save"),
        Binding("k,enter,n", "choose('keep')", "Keep editing", id="discard.keep"),
    ]
    DEFAULT_CSS = """
    DiscardScreen #discard { width: 64; border: thick $warning; }
    DiscardScreen #discard-keys { padding: 1 0 0 0; }
    """

    def __init__(self, body: str = "Your edits are not saved.") -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="discard", classes="dialog") as box:
            box.border_title = "Unsaved changes"
            yield Plain(self.body)
            yield Plain(KEYS, id="discard-keys", classes="dialog-keys")

    def action_choose(self, choice: Choice) -> None:
        self.reply(choice)
