"""/leverage MARKET LEVERAGE: the command line's grammar for changing a position's leverage."""

from __future__ import annotations

import pytest

from tests.test_commands import MARKETS, error
from tui.commands import LeverageCommand, complete, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/leverage btc 20", LeverageCommand("BTC", 20.0)),
        ("/leverage BTC 20x", LeverageCommand("BTC", 20.0)),
        ("leverage eth x3", LeverageCommand("ETH", 3.0)),
    ],
)
def test_leverage_parses(text: str, expected: LeverageCommand) -> None:
    assert parse(text, MARKETS) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/leverage", "Which market? Write /leverage BTC 20."),
        ("/leverage btc", "Which leverage? Write /leverage BTC 20."),
        ("/leverage 20 btc", "Write the market first, like /leverage BTC 20."),
        ("/leverage btc 0", 'Leverage "0" must be more than zero. Write leverage like 10x.'),
        ("/leverage btc lots", 'Leverage "lots" is not a number. Write leverage like 10x.'),
        ("/leverage btc 20 x", "Write leverage with no space, like 20x."),
        ("/leverage btc 2 3", 'Give one leverage, not "2" and "3". Write /leverage BTC 20.'),
    ],
)
def test_leverage_mistakes_are_explained(text: str, says: str) -> None:
    assert error(text) == says


def test_leverage_completes_its_market() -> None:
    assert complete("/lev", MARKETS) == ["/leverage"]
    assert complete("/leverage e", ["BTC", "ETH"]) == ["/leverage ETH"]
