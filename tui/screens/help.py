"""Help: every key and command (from the action table), and the Isolated/Cross explainer."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll

from tui import actions
from tui.screens.base import Dialog, binding_of
from tui.widgets.plain import Plain

MODES_TEXT = {
    "Isolated": [
        ("Risk per trade", "Only the margin you put on this position."),
        ("Liquidation", "Closes this position alone; the rest of your balance is untouched."),
        ("Suits", "High-risk or experimental trades, new assets, limiting your downside."),
        (
            "Capital",
            "Less efficient: each position needs its own margin, and profit on one "
            "does not help another.",
        ),
        ("Adjust", "Add or remove margin on the position (+ / -) to move its liquidation."),
    ],
    "Cross": [
        ("Risk per trade", "Your whole cross balance backs every cross position."),
        (
            "Liquidation",
            "When the account falls to maintenance, ALL cross positions close and "
            "the whole cross balance is lost.",
        ),
        ("Suits", "Several positions at once, and hedges such as long BTC / short ETH."),
        ("Capital", "Efficient: unrealized profit on one position holds up the others."),
        ("Adjust", "Deposit more, or reduce positions; there is no per-position margin."),
    ],
}
MODES_FOOTNOTE = (
    "The margin mode is chosen when a position is opened and cannot be changed while it is "
    "open: close it and reopen it in the other mode. New to perpetuals? Start with Isolated."
)


class ModesScreen(Dialog[None]):
    """`?` on the confirmation screen: Isolated vs Cross, side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q,enter", "close", "Close", id="modes.close"),
    ]
    DEFAULT_CSS = """
    ModesScreen #modes { width: 100; }
    ModesScreen .mode { width: 1fr; height: auto; padding: 0 1; }
    ModesScreen #modes-foot { padding: 1 0 0 0; height: auto; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="modes", classes="dialog") as box:
            box.border_title = "Isolated or Cross?"
            with Horizontal():
                for name, rows in MODES_TEXT.items():
                    table = Table.grid(padding=(0, 1))
                    table.add_column(style="dim", width=14)
                    table.add_column(ratio=1)
                    for label, text in rows:
                        table.add_row(label, text)
                    body = Table.grid()
                    body.add_row(Text(name, style="bold underline"))
                    body.add_row(table)
                    yield Plain(body, classes="mode")
            yield Plain(MODES_FOOTNOTE, id="modes-foot")
            yield Plain("Esc: back", id="modes-keys", classes="dialog-keys")

    def action_close(self) -> None:
        self.reply(None)


class HelpScreen(Dialog[None]):
    """`?`: every key of the trading screen and every command, from the action table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen #help { width: 100; height: 90%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.key_rows: list[tuple[str, str]] = []
        self.command_rows = list(actions.COMMAND_HELP)

    def compose(self) -> ComposeResult:
        self.key_rows = [
            (self.app.get_key_display(binding_of(action)), action.description)
            for action in actions.keyed()
        ]
        self.key_rows += actions.OTHER_KEYS
        keys = Table(title="Keys", title_justify="left", show_edge=False, expand=True)
        keys.add_column("Key", style="bold", no_wrap=True)
        keys.add_column("Does")
        for key, text in self.key_rows:  # Text, not markup: "[" and "[iso|cross]" are literal
            keys.add_row(Text(key), Text(text))
        commands = Table(title="Commands ( / )", title_justify="left", show_edge=False, expand=True)
        commands.add_column("Command", style="bold", no_wrap=True)
        commands.add_column("Does")
        for usage, text in self.command_rows:
            commands.add_row(Text(usage), Text(text))
        with VerticalScroll(id="help", classes="dialog") as box:
            box.border_title = "Help  (Esc to close)"
            yield Plain(keys)
            yield Plain("")
            yield Plain(commands)
            yield Plain("")
            yield Plain(MODES_FOOTNOTE)

    def action_close(self) -> None:
        self.reply(None)
