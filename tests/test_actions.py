"""The action table: one entry per action, and what it says when an action does not apply."""

from __future__ import annotations

from textual.actions import parse as parse_action

from tui import actions
from tui.app import PerpDeskApp
from tui.commands import _WITH_ARGUMENTS, COMMAND_HELP, SIMPLE_COMMANDS, SimpleCommand, parse
from tui.engine import MarginMode, Side
from tui.market import SAMPLE_REPLAY, ReplaySource, SimSource
from tui.screens.main import MainScreen
from tui.session import Session

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS


def test_ids_keys_commands_and_footer_places_are_unique() -> None:
    table = actions.ACTIONS
    assert len({a.id for a in table}) == len(table)
    keys = [k for a in table if a.key for k in a.key.split(",")]
    assert len(set(keys)) == len(keys)
    words = [word for a in table for word in a.commands]
    assert len(set(words)) == len(words)
    places = sorted(a.footer for a in table if a.footer is not None)
    assert places == list(range(1, len(places) + 1))
    assert all(a.key for a in table if a.footer is not None)  # only keys go in the Footer


def test_every_action_has_a_handler_where_it_runs() -> None:
    for action in actions.ACTIONS:
        if action.action is None:  # the command line only: its words take arguments
            assert action.commands or action.usage, action.id
            assert not action.key and not action.palette, action.id
            assert all(word in _WITH_ARGUMENTS for word in action.commands), action.id
            continue
        target, name, _ = parse_action(action.action)
        owner = PerpDeskApp if action.on_app else MainScreen
        assert target == ("app" if action.on_app else "")
        assert callable(getattr(owner, f"action_{name}", None)), action.id


def test_every_command_word_parses_and_every_grammar_word_has_an_action() -> None:
    for word in SIMPLE_COMMANDS:
        assert parse(f"/{word}", []) == SimpleCommand(word)
        assert word in actions.BY_COMMAND[word].commands
        assert actions.BY_COMMAND[word].action is not None  # what /word runs
    for word in _WITH_ARGUMENTS:
        assert word in actions.BY_COMMAND, word
    assert tuple(row for a in actions.ACTIONS for row in a.usage) == COMMAND_HELP


def test_the_footer_order_and_the_help_order_are_the_ones_people_know() -> None:
    # Importance order (a narrow Footer keeps the first that fit): trading, the command line,
    # help, quit and settings, then what works on the table below (one table's keys at a time).
    assert [a.id for a in actions.keyed()][:15] == [
        "buy",
        "sell",
        "close",
        "cancel",
        "command",
        "help",
        "quit",
        "settings",
        "tp_sl",
        "modify_order",
        "orders",
        "history",
        "add_margin",
        "cancel_market",
        "remove_margin",
    ]
    assert list(SIMPLE_COMMANDS) == [
        "settings",
        "help",
        "history",
        "reset",
        "scenario",
        "shock",
        "liqmap",
    ]


def session_with_prices() -> Session:
    session = Session(feed=SimSource(None, seed=1))
    session.on_mark("BTC", 100_000)
    session.on_mark("ETH", 4_000)
    return session


def test_trading_actions_say_why_they_do_not_apply() -> None:
    session = session_with_prices()
    buy, close = actions.BY_ID["buy"], actions.BY_ID["close"]
    add, remove = actions.BY_ID["add_margin"], actions.BY_ID["remove_margin"]
    assert buy.why_not(session, None) == "Select a market first."
    assert buy.why_not(session, "SOL") is None  # no price yet: the order flow says why
    assert buy.why_not(session, "BTC") is None
    assert close.why_not(session, "BTC") == (
        "Select an open position first (Tab moves to the positions table)."
    )
    assert add.why_not(session, "BTC") == "Select an open isolated position first."
    session.engine.open("BTC", Side.LONG, 0.01, 10, ISO)
    session.engine.open("ETH", Side.SHORT, 1, 5, CROSS)
    assert close.why_not(session, "BTC") is None and add.why_not(session, "BTC") is None
    assert remove.why_not(session, "ETH") == (
        "ETH is a Cross position: its margin is your whole cross balance, so there is no "
        "margin of its own to move."
    )
    assert all(a.greys_out for a in (buy, close, add, remove))


def test_feed_actions_explain_instead_of_greying_out() -> None:
    live_like = Session(feed=ReplaySource(SAMPLE_REPLAY))
    assert actions.BY_ID["pause"].why_not(live_like) is None  # a replay can pause
    nothing = Session()
    for action_id in ("slower", "faster"):
        action = actions.BY_ID[action_id]
        assert action.why_not(nothing) == "This price source runs in real time only."
        assert not action.greys_out
    assert actions.BY_ID["pause"].why_not(nothing) == "This price source cannot be paused."
    assert actions.BY_ID["help"].why_not(nothing) is None  # no check: always applies
