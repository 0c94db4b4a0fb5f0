"""Every action a trader can take, in one table (pure: no Textual).

The key bindings of the trading screen, the command palette, the help screen, the command-line
words and their help are all generated from :data:`ACTIONS`. To add an action: add one
:class:`Action` here, then its handler (an ``action_<name>`` method on the main screen, or on
the app for ``app.`` actions). A command word without arguments then works at once (``/word``
runs the action); one with arguments also needs its grammar in :mod:`tui.commands` and a
``case`` in the app's command dispatch.

Order matters twice: the table's order is the order of the help screen's command list, the
palette and the command line's completions; ``footer`` gives the order of the keys in the
Footer (importance order: a narrow terminal cuts the Footer from the right).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.engine.models import MarginMode

if TYPE_CHECKING:
    from tui.session import Session

Check = Callable[["Session", "str | None"], "str | None"]
"""``check(session, selected_market)``: why the action does not apply now, in words the
trader can act on, or ``None`` when it does."""


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a trader can do.

    ``id`` names the key binding (``[keymap]`` in the settings file remaps it: ``buy =
    "f2"``). ``action`` is the Textual action run on the trading screen (``app.`` runs it on
    the app); ``None`` for an action that only the command line reaches (its command has
    arguments, and a ``case`` in the app's dispatch runs it). ``key`` is the default key
    (Textual key names, comma-separated). ``description`` labels the key in the Footer and the
    help screen; ``footer`` is its place in the Footer (``None``: not shown there).
    ``palette`` is (title, help) in the command palette. ``commands`` are its command-line
    words and ``usage`` the command help, one (form, text) row per form. ``unavailable``
    says why it does not apply now; ``greys_out`` shows its key greyed in the Footer while it
    does not (pressed anyway, the key says why). ``subject`` is what the check and the
    handler act on: the selected ``"market"``, or the selected ``"order"`` (its number, as
    text). ``tab`` names the table below the markets ("positions" or "orders") the key belongs
    to: it is in the Footer only while that table is shown. ``priority`` runs the key before
    the focused table sees it, so the keys typed right after it reach what it opened (``/``
    and the command line).
    """

    id: str
    action: str | None
    description: str
    key: str | None = None
    footer: int | None = None
    palette: tuple[str, str] | None = None
    commands: tuple[str, ...] = ()
    usage: tuple[tuple[str, str], ...] = ()
    unavailable: Check | None = None
    greys_out: bool = False
    subject: str = "market"
    tab: str | None = None
    priority: bool = False

    @property
    def on_app(self) -> bool:
        """Whether the action runs on the app (global) rather than the trading screen."""
        return self.action is not None and self.action.startswith("app.")

    @property
    def name(self) -> str:
        """The Textual action's name: ``"margin(1)"`` -> ``"margin"``, ``"app.help"`` ->
        ``"help"`` (``""`` for a command-line-only action)."""
        return (self.action or "").removeprefix("app.").split("(", 1)[0]

    def why_not(self, session: Session, market: str | None = None) -> str | None:
        """Why the action does not apply now (``None`` when it does)."""
        return self.unavailable(session, market) if self.unavailable is not None else None


# --------------------------------------------------------------------------- availability


def _needs_market(session: Session, market: str | None) -> str | None:
    # A market with no price yet still takes the key: the order flow says why not.
    return "Select a market first." if market is None else None


def _needs_position(session: Session, market: str | None) -> str | None:
    if session.position(market) is None:
        return "Select an open position first (Tab moves to the positions table)."
    return None


def _needs_isolated(session: Session, market: str | None) -> str | None:
    pos = session.position(market)
    if pos is None:
        return "Select an open isolated position first."
    if pos.mode is MarginMode.CROSS:
        return (
            f"{pos.market} is a Cross position: its margin is your whole cross balance, so "
            "there is no margin of its own to move."
        )
    return None


def _needs_tp_sl(session: Session, market: str | None) -> str | None:
    return session.cannot_set_tp_sl(market)


def _needs_order(session: Session, order: str | None) -> str | None:
    if order is None or not order.isdigit():
        return "Select an open order first (o shows the open orders)."
    return session.cannot_modify(int(order))


def _needs_market_orders(session: Session, market: str | None) -> str | None:
    if market is None:
        return "Select a market first."
    return session.cannot_cancel(market=market)


def _needs_speeds(session: Session, market: str | None) -> str | None:
    return session.speed_problem()


def _needs_pause(session: Session, market: str | None) -> str | None:
    return session.pause_problem()


# --------------------------------------------------------------------------- the table

ACTIONS: tuple[Action, ...] = (
    Action(
        "buy",
        "buy",
        "Long",
        key="b",
        footer=1,
        palette=("Long", "Open a long on the selected market"),
        commands=("long",),
        usage=(
            (
                "/long MARKET SIZE [10x] [iso|cross]",
                "Buy: open or add to a long. SIZE in coins (0.1) or USD ($500). Also /buy.",
            ),
        ),
        unavailable=_needs_market,
        greys_out=True,
    ),
    Action(
        "sell",
        "sell",
        "Short",
        key="s",
        footer=2,
        palette=("Short", "Open a short on the selected market"),
        commands=("short",),
        usage=(
            (
                "/short MARKET SIZE [10x] [iso|cross]",
                "Sell: open or add to a short. SIZE in coins (0.1) or USD ($500). Also /sell.",
            ),
        ),
        unavailable=_needs_market,
        greys_out=True,
    ),
    Action(
        "close",
        "close_position",
        "Close",
        key="x",
        footer=3,
        palette=("Close position", "Close the selected position"),
        tab="positions",
        commands=("close",),
        usage=(
            ("/close MARKET", "Close the whole position."),
            ("/close MARKET 50%", "Close part of the position, by percentage."),
            ("/close MARKET 0.05", "Close part of the position, by size in coins."),
            ("/close all", "Close every open position."),
        ),
        unavailable=_needs_position,
        greys_out=True,
    ),
    Action(
        "add_margin",
        "margin(1)",
        "+Margin",
        key="plus",
        footer=13,
        palette=("Add margin", "Add isolated margin to the selected position"),
        commands=("margin",),
        usage=(
            (
                "/margin MARKET +200",
                "Add USD margin to an isolated position (a bare 200 adds too).",
            ),
            ("/margin MARKET -100", "Remove USD margin from an isolated position."),
        ),
        unavailable=_needs_isolated,
        greys_out=True,
        tab="positions",
    ),
    Action(
        "remove_margin",
        "margin(-1)",
        "-Margin",
        key="minus",
        footer=15,
        palette=("Remove margin", "Remove isolated margin from the selected position"),
        unavailable=_needs_isolated,
        greys_out=True,
        tab="positions",
    ),
    Action(
        "leverage",
        "leverage",
        "Leverage",
        key="L",
        palette=("Change leverage", "Change the leverage of the selected position"),
        commands=("leverage",),
        usage=(
            (
                "/leverage MARKET 20",
                "Change an open position's leverage (shows what it does first).",
            ),
        ),
        unavailable=_needs_position,
        greys_out=True,
    ),
    Action(
        "price_order",
        None,
        "Limit, stop and take-profit orders",
        usage=(
            (
                "/long MARKET SIZE [10x] @PRICE",
                "Limit order: rests at PRICE (fills now if the mark is already there); add post "
                "to only ever rest.",
            ),
            (
                "/short MARKET SIZE [10x] stop PRICE",
                "Stop market order: becomes a market order when the mark reaches PRICE.",
            ),
            (
                "/short MARKET SIZE [10x] take PRICE",
                "Take-profit market order: becomes a market order when the mark reaches PRICE.",
            ),
            (
                "/long MARKET SIZE [10x] tp PRICE sl PRICE",
                "Give the position a take-profit and/or stop-loss when this order fills.",
            ),
            (
                "/short MARKET SIZE @PRICE ro",
                "Reduce-only: the order only ever shrinks the position.",
            ),
        ),
    ),
    Action(
        "tp_sl",
        "tp_sl",
        "TP/SL",
        key="t",
        footer=9,
        palette=("Take-profit / stop-loss", "Set or clear the selected position's TP and SL"),
        commands=("tp", "sl"),
        usage=(
            ("/tp MARKET PRICE", "Set the position's take-profit (closes all of it at PRICE)."),
            ("/sl MARKET PRICE", "Set the position's stop-loss (closes all of it at PRICE)."),
            (
                "/tp MARKET off",
                "Remove the position's take-profit (/sl MARKET off: its stop-loss).",
            ),
        ),
        unavailable=_needs_tp_sl,
        greys_out=True,
    ),
    Action(
        "cancel",
        "cancel_order",
        "Cancel",
        key="delete",
        footer=4,
        palette=("Cancel order", "Cancel the selected open order"),
        commands=("cancel",),
        usage=(
            ("/cancel ID", "Cancel one order by its number (12 or #12)."),
            ("/cancel MARKET", "Cancel every open order in a market."),
            ("/cancel all", "Cancel every open order."),
        ),
        unavailable=_needs_order,
        greys_out=True,
        subject="order",
        tab="orders",
    ),
    Action(
        "modify_order",
        "modify_order",
        "Modify",
        key="e",
        footer=10,
        palette=(
            "Modify order",
            "Change the selected order's price or size (cancel + replace: a new number)",
        ),
        unavailable=_needs_order,
        greys_out=True,
        subject="order",
        tab="orders",
    ),
    Action(
        "cancel_market",
        "cancel_market",
        "Cancel market",
        key="C",
        footer=14,
        palette=("Cancel market's orders", "Cancel every open order in the selected market"),
        unavailable=_needs_market_orders,
        greys_out=True,
        tab="orders",
    ),
    Action(
        "orders",
        "switch_tab",
        "Orders",
        key="o",
        footer=11,
        palette=("Positions / orders", "Switch the table below between positions and orders"),
        commands=("orders",),
        usage=(
            (
                "/orders [MARKET]",
                "Show the open orders (of one market); o switches back to positions.",
            ),
        ),
    ),
    Action(
        "command",
        "command",
        "Cmd",
        key="slash",
        footer=5,
        palette=("Command line", "Type a trade command"),
        priority=True,
    ),
    Action(
        "settings",
        "app.settings",
        "Settings",
        key="comma",
        footer=8,
        palette=("Settings", "Edit perpdesk's settings"),
        commands=("settings",),
        usage=(("/settings", "Open the settings."),),
    ),
    Action(
        "help",
        "app.help",
        "Help",
        key="question_mark",
        footer=6,
        palette=("Help", "Every key and command"),
        commands=("help",),
        usage=(("/help", "List the commands and keys (also /?)."),),
    ),
    Action(
        "history",
        "app.history",
        "History",
        key="h",
        footer=12,
        palette=("History", "Fills, liquidations, funding, stats"),
        commands=("history",),
        usage=(("/history", "Show the trade history."),),
    ),
    Action(
        "reset",
        "app.reset",
        "Fresh account",
        commands=("reset",),
        usage=(("/reset", "Start over with a fresh paper account."),),
    ),
    Action(
        "scenario",
        "app.scenario",
        "Practice scenario",
        commands=("scenario",),
        usage=(
            (
                "/scenario",
                "Pick a practice scenario (flash-crash, short-squeeze, ...) or plain simulation.",
            ),
        ),
    ),
    Action(
        "shock",
        "app.shock",
        "Shock ladder",
        key="w",
        palette=("Shock ladder", "What -30 % .. +30 % moves would do to your positions"),
        commands=("shock",),
        usage=(
            (
                "/shock",
                "Shock ladder: the selected market (or every market by beta) -30 % .. +30 %.",
            ),
        ),
    ),
    Action(
        "liqmap",
        "app.liquidation_map",
        "Liquidation map",
        key="m",
        palette=("Liquidation map", "Where each position is liquidated, in % and in sigmas"),
        commands=("liqmap",),
        usage=(
            (
                "/liqmap",
                "Liquidation map: every position's distance, cross links, funding.",
            ),
        ),
    ),
    Action(
        "chart",
        "toggle_chart",
        "Chart",
        key="g",
        palette=("Chart", "Show or hide the selected market's price chart"),
    ),
    Action(
        "chart_interval",
        "chart_interval",
        "Candles 1m/5m/1h",
        key="i",
        palette=("Chart interval", "Switch the chart's candles: 1 minute, 5 minutes, 1 hour"),
    ),
    Action(
        "drill",
        "app.drill",
        "Drill",
        palette=("Drill", "Practise with a goal, a clock and a score"),
        commands=("drill",),
        usage=(
            (
                "/drill",
                "Pick a drill: a scenario with a goal, a clock and a score (again: end it).",
            ),
            ("/drill NAME", "Start the drill NAME (perpdesk --list-drills lists them)."),
        ),
    ),
    Action(
        "filter",
        "filter_markets",
        "Filter markets",
        key="f",
        palette=("Filter markets", "Show only the markets whose name contains what you type"),
    ),
    Action(
        "sort",
        "sort_markets",
        "Sort markets",
        key="greater_than_sign",
        palette=(
            "Sort markets",
            "Markets most traded first, by change, by funding or by name (each press: the next)",
        ),
    ),
    Action(
        "star",
        "star_market",
        "Star market",
        key="asterisk",
        palette=("Star market", "Star the selected market: starred ones stay on top (saved)"),
        unavailable=_needs_market,
        greys_out=True,
    ),
    Action("quit", "app.quit", "Quit", key="q", footer=7),
    Action(
        "slower", "app.speed(-1)", "Slower", key="left_square_bracket", unavailable=_needs_speeds
    ),
    Action(
        "faster", "app.speed(1)", "Faster", key="right_square_bracket", unavailable=_needs_speeds
    ),
    Action("pause", "app.pause", "Pause", key="p", unavailable=_needs_pause),
    Action("cursor_down", "cursor(1)", "Down", key="j"),
    Action("cursor_up", "cursor(-1)", "Up", key="k"),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}
BY_COMMAND: dict[str, Action] = {word: a for a in ACTIONS for word in a.commands}
BY_NAME: dict[str, Action] = {}
"""By Textual action name (the first action of a name: ``margin`` -> add_margin; actions
that share a name share their availability check)."""
for _action in ACTIONS:
    if _action.action is not None:
        BY_NAME.setdefault(_action.name, _action)

OTHER_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓", "Move the selection"),
    ("Esc", "Clear the markets filter (or close the command line)"),
    ("Tab", "Switch between the markets and the positions (or orders) table"),
    ("ctrl+p", "Command palette: every action by name"),
)
"""Keys the help screen lists that are not actions of their own (Textual's built-in ones)."""


def keyed() -> list[Action]:
    """The actions with a key, in key-binding order: the Footer's (by ``footer``), then the
    rest in table order."""
    shown = sorted((a for a in ACTIONS if a.key and a.footer), key=lambda a: a.footer or 0)
    return [*shown, *(a for a in ACTIONS if a.key and a.footer is None)]


COMMAND_HELP: tuple[tuple[str, str], ...] = tuple(row for a in ACTIONS for row in a.usage)
"""(usage, one-line description) for the help screen, one entry per command form."""
