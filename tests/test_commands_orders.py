"""Order commands: limit, stop, take-profit, attached TP/SL, reduce-only, post-only, /tp, /sl,
/cancel and /orders: every form, every mistake, completion and help."""

from __future__ import annotations

import pytest

from tests.test_commands import MARKETS, assert_one_line, error
from tui.commands import (
    COMMAND_HELP,
    CancelCommand,
    OrderCommand,
    OrdersCommand,
    PlaceOrderCommand,
    TpSlCommand,
    complete,
    parse,
)
from tui.engine import MarginMode, OrderType, Side

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
LIMIT, STOP, TAKE = OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET


def place(side: Side, market: str, size: float | None = None, **kw: object) -> PlaceOrderCommand:
    return PlaceOrderCommand(side, market, size, kw.pop("usd", None), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the forms
        (
            "/long btc 0.1 10x iso @95000",
            place(LONG, "BTC", 0.1, leverage=10, mode=ISO, order_type=LIMIT, price=95_000),
        ),
        ("/short eth 2 stop 3200", place(SHORT, "ETH", 2, order_type=STOP, trigger_price=3_200)),
        # a limit written every way
        ("/long btc 0.1 @ 95000", place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000)),
        ("/long btc @95,000.5 0.1", place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000.5)),
        ("/long btc 0.1 @$95,000", place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000)),
        ("/buy btc $500 @95000", place(LONG, "BTC", usd=500, order_type=LIMIT, price=95_000)),
        (
            "/long btc 0.1 @95000 post",
            place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000, post_only=True),
        ),
        (
            "/long btc 0.1 @95000 POST-ONLY",
            place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000, post_only=True),
        ),
        (
            "/long btc 0.1 @95000 alo",
            place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000, post_only=True),
        ),
        # take-profit market and stop market orders
        (
            "/short btc 0.1 take 110000 ro",
            place(SHORT, "BTC", 0.1, order_type=TAKE, trigger_price=110_000, reduce_only=True),
        ),
        (
            "/sell btc 0.1 stop 92,000 reduce-only",
            place(SHORT, "BTC", 0.1, order_type=STOP, trigger_price=92_000, reduce_only=True),
        ),
        (
            "/long eth 2 5x cross stop 4200",
            place(LONG, "ETH", 2, leverage=5, mode=CROSS, order_type=STOP, trigger_price=4_200),
        ),
        # attached take-profit and stop-loss, on a market or a limit order
        (
            "/long btc 0.1 10x tp 110000 sl 92000",
            place(LONG, "BTC", 0.1, leverage=10, take_profit=110_000, stop_loss=92_000),
        ),
        (
            "/long btc 0.1 sl 92000 @95000",
            place(LONG, "BTC", 0.1, order_type=LIMIT, price=95_000, stop_loss=92_000),
        ),
        ("/short btc 0.1 ro", place(SHORT, "BTC", 0.1, reduce_only=True)),
        # nothing new on the line: the plain market order, as before
        ("/long btc 0.1 10x iso", OrderCommand(LONG, "BTC", 0.1, None, 10, ISO)),
    ],
)
def test_order_forms(text: str, expected: object) -> None:
    assert parse(text, MARKETS) == expected


def test_every_order_word_can_come_in_any_order() -> None:
    words = ["0.1", "10x", "iso", "@95000", "tp", "110000"]
    expected = place(
        LONG, "BTC", 0.1, leverage=10, mode=ISO, order_type=LIMIT, price=95_000, take_profit=110_000
    )
    for shift in range(4):
        parts = words[shift:] + words[:shift]
        if parts[0] == "110000":  # "tp" must stay before its price
            continue
        assert parse("/long btc " + " ".join(parts), MARKETS) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/long btc 0.1 @", ["Limit price missing", "@95000"]),
        ("/long btc 0.1 stop", ["Stop price missing", "stop 3200"]),
        ("/long btc 0.1 tp", ["Take-profit price missing"]),
        ("/long btc 0.1 @abc", ['Limit price "abc" is not a number']),
        ("/long btc 0.1 stop -5", ['Stop price "-5" must be more than zero']),
        ("/long btc 0.1 stop 0", ['Stop price "0" must be more than zero']),
        ("/long btc 0.1 sl 1e999", ['Stop-loss price "1e999" is too large']),
        ("/long btc 0.1 @95,00", ["Use a dot for decimals"]),
        ("/long btc 0.1 @95000 @96000", ['Two limit prices given ("95000" and "96000")']),
        ("/long btc 0.1 @95000 stop 90000", ["Give one order type", "not @95000 and stop"]),
        ("/long btc 0.1 stop 9e4 take 1e5", ["Give one order type"]),
        ("/long btc 0.1 post", ["Post-only is for limit orders"]),
        ("/long btc 0.1 stop 101000 post", ["Post-only is for limit orders"]),
        ("/short btc 0.1 ro tp 90000", ["reduce-only order takes no tp or sl", "/tp and /sl"]),
        ("/long btc @95000", ["How much?"]),
        ("/long @95000 btc 0.1", ["Write the market first"]),
        ("/long btc 0.1 limit 95000", ['Did not understand "limit"', "@PRICE"]),
    ],
)
def test_order_mistakes_say_what_to_write(text: str, words: list[str]) -> None:
    message = error(text)
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/tp btc 110000", TpSlCommand("BTC", "tp", 110_000)),
        ("/sl BTC 92,000", TpSlCommand("BTC", "sl", 92_000)),
        ("/sl eth $3,100.5", TpSlCommand("ETH", "sl", 3_100.5)),
        ("/tp btc off", TpSlCommand("BTC", "tp", None)),
        ("/SL sol NONE", TpSlCommand("SOL", "sl", None)),
        ("/cancel 12", CancelCommand(order_id=12)),
        ("/cancel #7", CancelCommand(order_id=7)),
        ("/cancel btc", CancelCommand(market="BTC")),
        ("/cancel ALL", CancelCommand()),
        ("/orders", OrdersCommand()),
        ("/orders eth", OrdersCommand("ETH")),
        ("/orders all", OrdersCommand()),
    ],
)
def test_tp_sl_cancel_and_orders_forms(text: str, expected: object) -> None:
    assert parse(text, MARKETS) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/tp", ["Which market?", "/tp BTC 110000"]),
        ("/sl btc", ["At what price?", "/sl BTC 92000", "off"]),
        ("/tp btc 110000 120000", ['not "110000" and "120000"']),
        ("/sl btc cheap", ['Stop-loss price "cheap" is not a number']),
        ("/tp doge2 1", ["Unknown market"]),
        ("/cancel", ["Which orders?", "/cancel 12", "/cancel all"]),
        ("/cancel 0", ['There is no order "0"', "/orders"]),
        ("/cancel " + "9" * 40, ["There is no order"]),
        ("/cancel #x", ['Order number "#x" is not a number']),
        ("/cancel 1 2", ['takes one thing, not "2" too']),
        ("/cancel bitcoin", ["Unknown market"]),
        ("/orders btc eth", ['remove "eth"']),
    ],
)
def test_tp_sl_cancel_and_orders_mistakes(text: str, words: list[str]) -> None:
    message = error(text)
    assert_one_line(message)
    for word in words:
        assert word in message, (word, message)


def test_new_commands_say_their_name_to_an_app_that_does_not_run_them_yet() -> None:
    assert parse("/long btc 0.1 @95000", MARKETS).name == "long limit"  # type: ignore[union-attr]
    assert parse("/short btc 0.1 stop 9e4", MARKETS).name == "short stop market"  # type: ignore[union-attr]
    assert parse("/tp btc 1", MARKETS).name == "tp"  # type: ignore[union-attr]
    assert parse("/cancel all", MARKETS).name == "cancel"  # type: ignore[union-attr]
    assert parse("/orders", MARKETS).name == "orders"  # type: ignore[union-attr]


def test_help_has_the_order_forms() -> None:
    usages = [usage for usage, _ in COMMAND_HELP]
    for form in ("@PRICE", "stop PRICE", "take PRICE", "tp PRICE sl PRICE", " ro"):
        assert any(form in u for u in usages), form
    for command in ("/tp MARKET PRICE", "/sl MARKET PRICE", "/cancel ID", "/cancel all"):
        assert command in usages
    assert "/orders [MARKET]" in usages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/t", ["/tp"]),
        ("/ca", ["/cancel"]),
        ("/or", ["/orders"]),
        ("/tp b", ["/tp BTC", "/tp BNB", "/tp BCH"]),
        ("/sl et", ["/sl ETH"]),
        ("/orders so", ["/orders SOL"]),
        ("/tp btc o", ["/tp btc off"]),
        ("/tp btc 1", []),
        ("/long btc 0.1 s", ["/long btc 0.1 stop", "/long btc 0.1 sl"]),
        ("/long btc 0.1 t", ["/long btc 0.1 take", "/long btc 0.1 tp"]),
        ("/long btc 0.1 tp 110000 t", ["/long btc 0.1 tp 110000 take"]),
        ("/long btc 0.1 P", ["/long btc 0.1 post"]),
        ("/long btc 0.1 r", ["/long btc 0.1 ro"]),
        ("/long btc 0.1 stop ", []),
        ("/long btc 0.1 stop s", []),  # a price comes next
        ("/short eth 1 iso s", ["/short eth 1 iso stop", "/short eth 1 iso sl"]),
    ],
)
def test_complete_order_words(text: str, expected: list[str]) -> None:
    assert complete(text, MARKETS) == expected


def test_complete_cancel_offers_all_the_open_orders_and_the_markets() -> None:
    assert complete("/cancel ", MARKETS, order_ids=[3, 12]) == [
        "/cancel all",
        "/cancel 3",
        "/cancel 12",
        *(f"/cancel {m}" for m in MARKETS),
    ]
    assert complete("/cancel 1", MARKETS, order_ids=[3, 12]) == ["/cancel 12"]
    assert complete("/cancel a", MARKETS) == [
        "/cancel all",
        *(f"/cancel {m}" for m in MARKETS if m.startswith("A")),
    ]
    for suggestion in complete("/cancel ", MARKETS, order_ids=[3, 12]):
        parse(suggestion, MARKETS)  # every suggestion reads
