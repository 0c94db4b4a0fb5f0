"""Help: every key and command (from the action table and each screen's own bindings), and the
Isolated/Cross explainer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
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
        (
            "Adjust",
            "Reduce or close positions to move it; there is no per-position margin to add.",
        ),
    ],
}
MODES_FOOTNOTE = (
    "The margin mode is chosen when a position is opened and cannot be changed while it is "
    "open: close it and reopen it in the other mode. New to perpetuals? Start with Isolated."
)
MARKET_COLUMNS = (
    "Markets: Session is how far each mark moved since perpdesk started (it starts again at "
    "each launch; it is not the venue's 24 h change); on a live feed that gives the price a "
    "day ago (Hyperliquid) the column is 24h, the venue's change. Fund/h is the funding rate "
    "per hour (+: longs pay shorts). Max is the most leverage the market allows. f filters by "
    "name, > sorts, * stars a market (starred ones stay on top)."
)
"""What the markets table's columns mean (the help screen, and the table's tooltip)."""


def screen_keys(app: App[Any], bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) for a screen's own key bindings, one row per binding, in the
    screen's order ("enter,y" shows as "enter / y")."""
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        keys = [key.strip() for key in binding.key.split(",") if key.strip()]
        shown = " / ".join(app.get_key_display(Binding(key, binding.action)) for key in keys)
        rows.append((shown, binding.description))
    return rows


def other_screens() -> list[tuple[str, list[BindingType]]]:
    """The screens whose keys the help lists besides the trading screen's, with their key
    bindings (read from the screens themselves, so the help follows them)."""
    from tui.screens.dialogs.close import ClosePositionScreen
    from tui.screens.history import HistoryScreen
    from tui.screens.order import OrderFormScreen, TradeConfirmScreen

    return [
        ("On the order form (b / s)", list(OrderFormScreen.BINDINGS)),
        ("On the confirmation screen", list(TradeConfirmScreen.BINDINGS)),
        ("Closing a position (x)", list(ClosePositionScreen.BINDINGS)),
        ("On the history screen (h)", list(HistoryScreen.BINDINGS)),
    ]


COMMAND_LINE_KEYS: tuple[tuple[str, str], ...] = (
    ("→", "Accept the greyed-out suggestion"),
    ("enter", "Run the command"),
    ("escape", "Close the command line"),
)
"""What the command line's own keys do (Textual's Input gives them)."""


class ModesScreen(Dialog[None]):
    """`?` on the confirmation screen: Isolated vs Cross, side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q,enter", "close", "Close", id="modes.close"),
    ]
    DEFAULT_CSS = """
    ModesScreen #modes { width: 100; scrollbar-size-vertical: 1; }
    ModesScreen #modes > Horizontal { height: auto; }
    ModesScreen .mode { width: 1fr; height: auto; padding: 0 1; }
    ModesScreen #modes-foot { padding: 1 0 0 0; height: auto; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="modes", classes="dialog") as box:
            box.can_focus = True  # ↑ / ↓ scroll it when the terminal is too short for it all
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
            yield Plain("Esc: back · ↑ ↓ scroll", id="modes-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#modes", VerticalScroll).focus()

    def action_close(self) -> None:
        self.reply(None)


class HelpScreen(Dialog[None]):
    """`?`: every key of the trading screen and every command, from the action table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen #help { width: 100; height: 90%; scrollbar-size-vertical: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.key_rows: list[tuple[str, str]] = []
        self.command_rows = list(actions.COMMAND_HELP)
        self.screen_rows: list[tuple[str, list[tuple[str, str]]]] = []
        """(title, (keys, what they do)) for the command line and the other screens."""

    def compose(self) -> ComposeResult:
        self.key_rows = [
            (
                self.app.get_key_display(binding_of(action)),
                f"{action.description}: {action.palette[1]}"
                if action.palette
                else action.description,
            )
            for action in actions.keyed()
        ]
        self.key_rows += actions.OTHER_KEYS
        self.screen_rows = [
            (title, screen_keys(self.app, bindings)) for title, bindings in other_screens()
        ]
        self.screen_rows.insert(0, ("On the command line ( / )", list(COMMAND_LINE_KEYS)))
        commands = Table(title="Commands ( / )", title_justify="left", show_edge=False, expand=True)
        commands.add_column("Command", style="bold", no_wrap=True)
        commands.add_column("Does")
        for usage, text in self.command_rows:
            commands.add_row(Text(usage), Text(text))
        with VerticalScroll(id="help", classes="dialog") as box:
            box.border_title = "Help  (Esc to close)"
            yield Plain(_key_table("Keys", self.key_rows))
            yield Plain("")
            yield Plain(commands)
            for title, rows in self.screen_rows:
                yield Plain("")
                yield Plain(_key_table(title, rows))
            yield Plain("")
            yield Plain(MODES_FOOTNOTE)
            yield Plain("")
            yield Plain(MARKET_COLUMNS)

    def action_close(self) -> None:
        self.reply(None)


def _key_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, expand=True)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Does")
    for key, text in rows:  # Text, not markup: "[" and "[iso|cross]" are literal
        table.add_row(Text(key), Text(text))
    return table
