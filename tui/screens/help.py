"""Help (every key and command), the Isolated/Cross explainer, and small y/n + amount modals."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui import actions
from tui.format import fmt_money
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


class MarginScreen(Dialog[float | None]):
    """`+` / `-`: an amount of isolated margin to add or remove."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="margin.cancel"),
    ]
    DEFAULT_CSS = """
    MarginScreen #margin { width: 64; }
    """

    def __init__(self, market: str, sign: int) -> None:
        super().__init__()
        self.market = market
        self.sign = sign

    def limit(self) -> float | None:
        """The most that can move now; None when the position is gone or not isolated."""
        return self.session.margin_limit(self.market, self.sign)

    def compose(self) -> ComposeResult:
        verb = "Add margin to" if self.sign > 0 else "Remove margin from"
        with Vertical(id="margin", classes="dialog") as box:
            box.border_title = f"{verb} {self.market}"
            yield Plain("", id="margin-info")
            yield Input(placeholder="amount in USD, e.g. 200", id="amount")
            yield Plain("", id="margin-error", classes="dialog-error")
            yield Plain("Enter: apply   Esc: cancel", id="margin-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        what = "available to add" if self.sign > 0 else "removable"
        self.query_one("#margin-info", Static).update(f"Most {what} now: {fmt_money(self.limit())}")
        self.query_one("#amount", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        if self.replied:
            return
        raw = event.value.strip().replace(",", "").removeprefix("$").removeprefix("+")
        try:
            amount = float(raw)
        except ValueError:
            amount = float("nan")
        if not amount > 0 or amount == float("inf"):
            self.query_one("#margin-error", Static).update(
                f"{event.value.strip()!r} is not an amount; enter a number above zero, like 200."
            )
            return
        self.reply(amount)

    def action_cancel(self) -> None:
        self.reply(None)


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
