"""/scenario: pick a practice price path, or the plain simulation."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.screens.base import Dialog
from tui.widgets.plain import Plain


class ScenarioScreen(Dialog[str | None]):
    """/scenario: pick a named price path (or the plain simulation) to practise on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="scenario.cancel"),
    ]
    DEFAULT_CSS = """
    ScenarioScreen #scenario { width: 100; max-height: 90%; }
    ScenarioScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="scenario", classes="dialog") as box:
            box.border_title = "Practise on"
            yield OptionList(
                *(
                    Option(Text.assemble((name, "bold"), f"  {teaches}"), id=name)
                    for name, teaches in self.choices
                )
            )
            yield Plain(
                "↑↓ choose · Enter: switch now (open positions stay) · Esc: cancel",
                id="scenario-keys",
                classes="dialog-keys",
            )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.reply(event.option.id)

    def action_cancel(self) -> None:
        self.reply(None)
