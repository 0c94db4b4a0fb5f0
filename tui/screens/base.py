"""What every perpdesk modal shares."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

T = TypeVar("T")


class OnceModal(ModalScreen[T]):
    """A modal that answers exactly once.

    Two Enter keys read from the terminal together both reach the screen before it is gone;
    a second ``dismiss`` would pop whatever screen is on top (Textual raises
    ScreenStackError) or act twice. :meth:`reply` ignores every answer after the first.
    """

    replied = False

    def reply(self, result: T) -> None:
        if self.replied:
            return
        self.replied = True
        self.dismiss(result)
