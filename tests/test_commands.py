"""The command-line parser: every form, token orders, case, errors, garbage, completion."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.commands import (
    COMMAND_HELP,
    SIMPLE_COMMANDS,
    CancelCommand,
    CloseAllCommand,
    CloseCommand,
    Command,
    CommandError,
    DrillCommand,
    LeverageCommand,
    MarginCommand,
    OrderCommand,
    OrdersCommand,
    PlaceOrderCommand,
    SimpleCommand,
    TpSlCommand,
    complete,
    parse,
)
from tui.engine import DEFAULT_MARKETS, MarginMode, OrderRejected, Side

MARKETS = [m.name for m in DEFAULT_MARKETS]  # BTC, ETH, SOL, ... most traded first
COMMAND_TYPES = (
    OrderCommand,
    PlaceOrderCommand,
    CloseCommand,
    CloseAllCommand,
    MarginCommand,
    TpSlCommand,
    CancelCommand,
    OrdersCommand,
    LeverageCommand,
    DrillCommand,
    SimpleCommand,
)
ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS


def order(
    side: Side,
    market: str,
    size: float | None = None,
    usd: float | None = None,
    lev: float | None = None,
    mode: MarginMode | None = None,
) -> OrderCommand:
    return OrderCommand(side, market, size=size, notional_usd=usd, leverage=lev, mode=mode)


def error(text: str, markets: list[str] = MARKETS) -> str:
    with pytest.raises(CommandError) as info:
        parse(text, markets)
    message = str(info.value)
    assert_one_line(message)
    return message


def assert_one_line(message: str) -> None:
    assert message.strip() == message and message
    assert len(message.splitlines()) == 1
    assert message.isprintable()
    assert len(message) <= 220
    assert "Could not read that command" not in message  # the internal-bug fallback


# --------------------------------------------------------------------------- orders


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/long btc 0.1 10x iso", order(Side.LONG, "BTC", 0.1, lev=10, mode=ISO)),
        ("/short eth $2000 5x cross", order(Side.SHORT, "ETH", usd=2000, lev=5, mode=CROSS)),
        ("/long btc 0.1", order(Side.LONG, "BTC", 0.1)),
        ("/long sol .5", order(Side.LONG, "SOL", 0.5)),
        ("/long sol 1e-3", order(Side.LONG, "SOL", 0.001)),
        ("/long sol 2.", order(Side.LONG, "SOL", 2.0)),
        ("/long doge 1,000", order(Side.LONG, "DOGE", 1000)),
        ("/long doge 12,345,678.5", order(Side.LONG, "DOGE", 12_345_678.5)),
        ("/long btc $500", order(Side.LONG, "BTC", usd=500)),
        ("/long btc $1,250.50", order(Side.LONG, "BTC", usd=1250.5)),
        ("/long btc 500$", order(Side.LONG, "BTC", usd=500)),
        ("/long btc 500usd", order(Side.LONG, "BTC", usd=500)),
        ("/long btc 500USD", order(Side.LONG, "BTC", usd=500)),
        ("/long btc 0.1 x10", order(Side.LONG, "BTC", 0.1, lev=10)),
        ("/long btc 0.1 2.5x", order(Side.LONG, "BTC", 0.1, lev=2.5)),
        ("/long btc 0.1 10×", order(Side.LONG, "BTC", 0.1, lev=10)),
        ("/long btc 0.1 isolated", order(Side.LONG, "BTC", 0.1, mode=ISO)),
        ("/short btc 0.1 cross", order(Side.SHORT, "BTC", 0.1, mode=CROSS)),
        ("/buy btc 0.1", order(Side.LONG, "BTC", 0.1)),
        ("/sell btc 0.1", order(Side.SHORT, "BTC", 0.1)),
        # leading slash optional, case-insensitive, extra spaces, full-width characters
        ("long btc 0.1", order(Side.LONG, "BTC", 0.1)),
        ("/LONG BTC 0.1 10X ISO", order(Side.LONG, "BTC", 0.1, lev=10, mode=ISO)),
        (
            "  /Short   eTh\t$2,000   X5  Cross  ",
            order(Side.SHORT, "ETH", usd=2000, lev=5, mode=CROSS),
        ),
        ("/ long btc 0.1", order(Side.LONG, "BTC", 0.1)),
        ("／ＬＯＮＧ ｂｔｃ ０.１", order(Side.LONG, "BTC", 0.1)),
        # a huge but finite size is the engine's business, not the parser's
        ("/long btc 1e300", order(Side.LONG, "BTC", 1e300)),
    ],
)
def test_order_forms(text: str, expected: OrderCommand) -> None:
    assert parse(text, MARKETS) == expected


@pytest.mark.parametrize("rest", list(itertools.permutations(["0.1", "10x", "iso"])))
def test_size_leverage_and_mode_in_any_order(rest: tuple[str, ...]) -> None:
    text = "/long btc " + " ".join(rest)
    assert parse(text, MARKETS) == order(Side.LONG, "BTC", 0.1, lev=10, mode=ISO)


@pytest.mark.parametrize("rest", list(itertools.permutations(["$250", "x3"])))
def test_usd_and_leverage_in_any_order(rest: tuple[str, ...]) -> None:
    assert parse("/short sol " + " ".join(rest), MARKETS) == order(
        Side.SHORT, "SOL", usd=250, lev=3
    )


@given(
    market=st.sampled_from(MARKETS),
    side=st.sampled_from(["long", "short", "buy", "sell"]),
    size=st.one_of(
        st.decimals(min_value="0.0001", max_value="1000000", places=4).map(
            lambda d: (str(d), False)
        ),
        st.integers(min_value=1, max_value=10**9).map(lambda n: (f"${n:,}", True)),
    ),
    lev=st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
    mode=st.one_of(st.none(), st.sampled_from(["iso", "isolated", "cross"])),
    data=st.data(),
)
def test_any_valid_order_parses_to_what_was_written(
    market: str,
    side: str,
    size: tuple[str, bool],
    lev: int | None,
    mode: str | None,
    data: st.DataObject,
) -> None:
    size_text, is_usd = size
    extras = [size_text]
    if lev is not None:
        extras.append(f"{lev}x")
    if mode is not None:
        extras.append(mode)
    extras = data.draw(st.permutations(extras))
    cmd = parse(f"/{side} {market.lower()} {' '.join(extras)}", MARKETS)
    amount = float(size_text.lstrip("$").replace(",", ""))
    assert cmd == OrderCommand(
        side=Side.parse(side),
        market=market,
        size=None if is_usd else amount,
        notional_usd=amount if is_usd else None,
        leverage=None if lev is None else float(lev),
        mode=None if mode is None else MarginMode.parse(mode),
    )


def test_market_keeps_the_spelling_of_the_known_symbols() -> None:
    assert parse("/long kpepe 1000", ["BTC", "kPEPE"]) == order(Side.LONG, "kPEPE", 1000)
    assert parse("/long eth 1", {"BTC": 1, "ETH": 2}) == order(Side.LONG, "ETH", 1)


def test_a_market_that_looks_like_a_number_is_still_a_market() -> None:
    assert parse("/long 1000pepe 5", ["1000PEPE"]) == order(Side.LONG, "1000PEPE", 5)


# --------------------------------------------------------------------------- order errors


def test_order_without_market_or_size() -> None:
    assert "Which market?" in error("/long")
    assert "/long BTC 0.1" in error("/long")
    message = error("/short btc")
    assert "How much?" in message and "/short BTC $500" in message
    assert "How much?" in error("/long btc 10x cross")


@pytest.mark.parametrize(
    "text", ["/long 0.1 btc", "/long $500 btc", "/long 10x btc 1", "/long iso", "/long 5"]
)
def test_market_must_come_first(text: str) -> None:
    assert "Write the market first" in error(text)


def test_unknown_market_suggests_close_symbols() -> None:
    assert error("/long btcc 0.1") == 'Unknown market "BTCC". Did you mean BTC?'
    assert "Did you mean ETH?" in error("/long ethereum 1")
    assert "Did you mean BTC" in error("/close btc-perp")
    assert "Did you mean SOL?" in error("/margin sool +5")


def test_unknown_market_without_a_close_match_lists_some_markets() -> None:
    message = error("/long zzzz 1")
    assert message.startswith('Unknown market "ZZZZ". Markets: BTC, ETH, SOL')
    assert f"and {len(MARKETS) - 6} more" in message
    assert error("/long zzzz 1", ["BTC", "ETH"]) == 'Unknown market "ZZZZ". Markets: BTC, ETH.'
    assert "No markets are loaded" in error("/long btc 1", [])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/long btc 0.1.2", ['Size "0.1.2" is not a number', "0.1", "$500"]),
        ("/long btc 0,5", ['Size "0,5" is not a number', "dot for decimals"]),
        ("/long btc 1,00", ["dot for decimals", "1,000"]),
        ("/long btc -0.1", ['Size "-0.1" must be more than zero']),
        ("/long btc 0", ['Size "0" must be more than zero']),
        ("/long btc 1e-999", ["must be more than zero"]),
        ("/long btc 1e999", ['Size "1e999" is too large']),
        ("/long btc " + "9" * 400, ["is too large"]),
        ("/long btc $0", ['USD amount "$0" must be more than zero']),
        ("/long btc $abc", ['USD amount "$abc" is not a number']),
        ("/long btc $", ["USD amount as one word"]),
        ("/long btc 500 usd", ["USD amount as one word"]),
        ("/long btc 0.1 0x", ['Leverage "0x" must be more than zero', "10x"]),
        ("/long btc 0.1 -5x", ['Leverage "-5x" must be more than zero']),
        ("/long btc 0.1 1e999x", ['Leverage "1e999x" is too large']),
        ("/long btc 0.1 1.2.3x", ['Leverage "1.2.3x" is not a number']),
        ("/long btc 0.1 10 x", ["leverage with no space", "10x"]),
        ("/long btc 0.1 nanx", ['"nanx"', "size", "leverage", "mode"]),
        ("/long btc 0.1 infx", ['"infx"']),
        ("/long btc nan", ['Did not understand "nan" in /long']),
        ("/long btc 50%", ["cannot be a percentage", '"50%"']),
        ("/long btc 0.1 c", ["margin mode in full", "iso or cross"]),
        ("/long btc 0.1 i", ["margin mode in full"]),
        ("/long btc 0.1 crss", ['Unknown margin mode "crss". Did you mean cross?']),
        ("/long btc 0.1 isolatd", ["Did you mean isolated?"]),
        ("/buy btc 1 foo", ['Did not understand "foo" in /buy']),
    ],
)
def test_order_errors_name_the_problem(text: str, words: list[str]) -> None:
    message = error(text)
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/long btc 0.1 0.2", ['Two sizes given ("0.1" and "0.2")']),
        ("/long btc 0.1 $500", ['Two sizes given ("0.1" and "$500")']),
        ("/long btc $5 $6", ["Two sizes given"]),
        ("/long btc 0.1 10x 5x", ['Two leverages given ("10x" and "5x")']),
        ("/long btc 0.1 x2 x2", ["Two leverages given"]),
        ("/long btc 0.1 iso cross", ['Two margin modes given ("iso" and "cross")']),
        ("/long btc 0.1 iso isolated", ["Two margin modes given"]),
    ],
)
def test_duplicate_order_tokens_are_refused(text: str, words: list[str]) -> None:
    message = error(text)
    for word in words:
        assert word in message


# --------------------------------------------------------------------------- close


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/close btc", CloseCommand("BTC")),
        ("/close btc 50%", CloseCommand("BTC", fraction=0.5)),
        ("/close btc 100%", CloseCommand("BTC", fraction=1.0)),
        ("/close btc 12.5%", CloseCommand("BTC", fraction=0.125)),
        ("/close btc 0.05", CloseCommand("BTC", size=0.05)),
        ("/close btc 1,000", CloseCommand("BTC", size=1000.0)),
        ("/close btc all", CloseCommand("BTC")),
        ("/CLOSE  Eth  25%", CloseCommand("ETH", fraction=0.25)),
        ("/close all", CloseAllCommand()),
        ("close ALL", CloseAllCommand()),
    ],
)
def test_close_forms(text: str, expected: Command) -> None:
    assert parse(text, MARKETS) == expected


def test_close_all_wins_even_over_a_market_called_all() -> None:
    assert parse("/close all", ["ALL", "BTC"]) == CloseAllCommand()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/close", ["Which market?", "/close all"]),
        ("/close btc 150%", ['Percentage "150%" is more than 100%']),
        ("/close btc 0%", ['Percentage "0%" must be more than zero']),
        ("/close btc -5%", ["must be more than zero"]),
        ("/close btc x%", ['Percentage "x%" is not a number']),
        ("/close btc 50 %", ["percentage as one word"]),
        ("/close btc 0", ['Size to close "0" must be more than zero']),
        ("/close btc 1e999", ["is too large"]),
        ("/close btc $500", ["not USD", "50%", "0.05"]),
        ("/close btc half", ['Did not understand "half" in /close']),
        ("/close btc 50% 0.1", ['Give one amount to close, not "50%" and "0.1"']),
        ("/close all btc", ['/close all takes nothing after it; remove "btc"']),
        ("/close btx", ['Unknown market "BTX"', "BTC"]),
    ],
)
def test_close_errors(text: str, words: list[str]) -> None:
    message = error(text)
    for word in words:
        assert word in message


# --------------------------------------------------------------------------- margin


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("/margin btc +200", 200.0),
        ("/margin btc -100", -100.0),
        ("/margin btc 200", 200.0),
        ("/margin btc $200", 200.0),
        ("/margin btc +$200", 200.0),
        ("/margin btc -$100", -100.0),
        ("/margin btc $-100", -100.0),
        ("/margin btc 1,500.25$", 1500.25),
        ("/margin btc -50usd", -50.0),
        ("/MARGIN  Btc   +.5", 0.5),
    ],
)
def test_margin_forms(text: str, amount: float) -> None:
    assert parse(text, MARKETS) == MarginCommand("BTC", amount=amount)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/margin", ["Which market?", "+200", "-100"]),
        ("/margin btc", ["How much?", "/margin BTC +200", "/margin BTC -100"]),
        ("/margin btc 0", ['Margin amount "0" is zero']),
        ("/margin btc -0", ["is zero"]),
        ("/margin btc abc", ['Margin amount "abc" is not a number', "+200", "-100"]),
        ("/margin btc +-100", ['"+-100" is not a number']),
        ("/margin btc $", ['"$" is not a number']),
        ("/margin btc 1e999", ["is too large"]),
        ("/margin btc +200 +300", ['Give one margin amount, not "+200" and "+300"']),
        ("/margin btc + 200", ["margin amount as one word", "+200"]),
        ("/margin btc $ 200", ["margin amount as one word"]),
        ("/margin bitcoin 5", ['Unknown market "BITCOIN"']),
    ],
)
def test_margin_errors(text: str, words: list[str]) -> None:
    message = error(text)
    for word in words:
        assert word in message


# --------------------------------------------------------------------------- simple commands


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("/settings", "settings"),
        ("/help", "help"),
        ("/?", "help"),
        ("?", "help"),
        ("/history", "history"),
        ("/reset", "reset"),
        ("  HISTORY ", "history"),
    ],
)
def test_simple_commands(text: str, name: str) -> None:
    assert parse(text, MARKETS) == SimpleCommand(name)


def test_simple_commands_take_no_arguments() -> None:
    assert error("/reset btc") == '/reset takes nothing after it; remove "btc".'
    assert "/help takes nothing after it" in error("/? long")


def test_every_simple_command_is_parsed_helped_and_completed() -> None:
    usages = [usage for usage, _ in COMMAND_HELP]
    for name in SIMPLE_COMMANDS:
        assert parse(f"/{name}", []) == SimpleCommand(name)
        assert f"/{name}" in usages
        assert f"/{name}" in complete(f"/{name[:2]}", [])


# --------------------------------------------------------------------------- unknown / empty


def test_unknown_command_without_a_close_match_lists_the_main_commands() -> None:
    assert error("/foo") == (
        'Unknown command "/foo". Try /long, /short, /close, /margin, /settings, /help.'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/lng btc 1", 'Unknown command "/lng". Did you mean /long?'),
        ("/shrot", 'Unknown command "/shrot". Did you mean /short or /shock?'),
        ("/sett", 'Unknown command "/sett". Did you mean /settings?'),
        ("/hist", 'Unknown command "/hist". Did you mean /history?'),
        ("/s btc 1", 'Unknown command "/s". Did you mean /short, /settings or /scenario?'),
        ("/l btc 1", 'Unknown command "/l". Did you mean /long, /liqmap or /leverage?'),
        ("//long btc 1", 'Unknown command "//long". Did you mean /long?'),
    ],
)
def test_unknown_command_suggests(text: str, expected: str) -> None:
    assert error(text) == expected


@pytest.mark.parametrize("text", ["", " ", "   \t  ", "/", " / ", "\u3000"])
def test_empty_input_asks_for_a_command(text: str) -> None:
    message = error(text)
    assert message.startswith("Type a command")
    assert "/help" in message


def test_messages_quote_user_text_safely() -> None:
    message = error("/long \x1b[31mred 1")
    assert "\x1b" not in message and '"?[31MRED"' in message
    long_word = "x" * 10_000
    message = error(long_word)
    assert len(message) < 120 and "…" in message


def test_command_error_is_an_engine_rejection() -> None:
    with pytest.raises(OrderRejected):
        parse("/nope", MARKETS)


# --------------------------------------------------------------------------- garbage


def _check_outcome(text: str, markets: list[str] = MARKETS) -> None:
    try:
        cmd = parse(text, markets)
    except CommandError as exc:
        assert_one_line(str(exc))
    else:
        assert isinstance(cmd, COMMAND_TYPES)
        if isinstance(cmd, OrderCommand):
            assert (cmd.size is None) != (cmd.notional_usd is None)


@settings(max_examples=400)
@given(st.text())
def test_arbitrary_text_gives_a_command_or_a_one_line_error(text: str) -> None:
    _check_outcome(text)


VOCAB = [
    "/long", "/short", "/buy", "/sell", "/close", "/margin", "/help", "/?", "long", "close",
    "/tp", "/sl", "/cancel", "/orders", "@95000", "@", "stop", "take", "tp", "sl", "ro", "post",
    "#12", "12", "off", "$95,000",
    "btc", "ETH", "sol", "all", "btcc", "0.1", ".5", "1e-3", "1,000", "1,00", "0", "-1", "+2",
    "$500", "$", "500$", "usd", "5usd", "10x", "x10", "0x", "x", "-3x", "iso", "cross", "c",
    "50%", "%", "150%", "+200", "-100", "$-5", "1e999", "nan", "inf", "\x00", "é", "💥", "",
]  # fmt: skip


@settings(max_examples=600)
@given(
    st.lists(st.sampled_from(VOCAB), max_size=6),
    st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2028"]),
)
def test_near_miss_commands_give_a_command_or_a_one_line_error(words: list[str], sep: str) -> None:
    _check_outcome(sep.join(words))


@settings(max_examples=100)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=5), st.text(max_size=40))
def test_arbitrary_market_lists_never_break_the_parser(markets: list[str], text: str) -> None:
    _check_outcome(text, markets)
    _check_outcome("/long " + text, markets)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        " " * 10_000,
        "/long btc " + "1" * 10_000,
        "/long btc " + "1," * 5_000 + "000",
        "/margin btc -" + "9" * 10_000,
        "/close btc " + "5" * 10_000 + "%",
        "/long " + "b" * 10_000 + " 1",
        "/long btc 1e" + "9" * 5_000,
        "/long btc 0.1 " + "9" * 10_000 + "x",
    ],
)
def test_huge_inputs(text: str) -> None:
    _check_outcome(text)


# --------------------------------------------------------------------------- help & completion


def test_command_help_has_one_line_per_form() -> None:
    usages = [usage for usage, _ in COMMAND_HELP]
    assert len(usages) == len(set(usages))
    for expected in (
        "/long",
        "/short",
        "/close MARKET",
        "/close MARKET 50%",
        "/close MARKET 0.05",
        "/close all",
        "/margin MARKET +200",
        "/margin MARKET -100",
        "/settings",
        "/help",
        "/history",
        "/reset",
    ):
        assert any(u == expected or u.startswith(expected + " ") for u in usages), expected
    for usage, text in COMMAND_HELP:
        assert usage.startswith("/") and text.endswith(".")
        assert "\n" not in usage + text


def test_help_examples_parse() -> None:
    examples = {
        "/long MARKET SIZE [10x] [iso|cross]": "/long BTC 0.1 10x iso",
        "/short MARKET SIZE [10x] [iso|cross]": "/short BTC $500 10x cross",
        "/close MARKET": "/close BTC",
        "/close MARKET 50%": "/close BTC 50%",
        "/close MARKET 0.05": "/close BTC 0.05",
        "/margin MARKET +200": "/margin BTC +200",
        "/margin MARKET -100": "/margin BTC -100",
        "/long MARKET SIZE [10x] @PRICE": "/long BTC 0.1 10x @95000",
        "/short MARKET SIZE [10x] stop PRICE": "/short ETH 2 stop 3200",
        "/short MARKET SIZE [10x] take PRICE": "/short BTC 0.1 take 110000 ro",
        "/long MARKET SIZE [10x] tp PRICE sl PRICE": "/long BTC 0.1 10x tp 110000 sl 92000",
        "/short MARKET SIZE @PRICE ro": "/short BTC 0.1 @105000 ro",
        "/tp MARKET PRICE": "/tp BTC 110000",
        "/sl MARKET PRICE": "/sl BTC 92000",
        "/tp MARKET off": "/tp BTC off",
        "/cancel ID": "/cancel 12",
        "/cancel MARKET": "/cancel BTC",
        "/orders [MARKET]": "/orders BTC",
        "/leverage MARKET 20": "/leverage BTC 20",
    }
    for usage, _ in COMMAND_HELP:
        parse(examples.get(usage, usage), MARKETS)  # raises if the help lies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/lo", ["/long"]),
        ("lo", ["long"]),
        ("/LO", ["/long"]),
        ("/s", ["/short", "/settings", "/scenario", "/shock", "/sl", "/sell"]),
        ("/cl", ["/close"]),
        ("/h", ["/help", "/history"]),
        ("/?", ["/?"]),
        ("/zz", []),
        ("/long b", ["/long BTC", "/long BNB", "/long BCH"]),
        ("/long  B", ["/long  BTC", "/long  BNB", "/long  BCH"]),
        ("/BUY et", ["/BUY ETH"]),
        ("/close a", ["/close all", "/close ADA", "/close AVAX", "/close APT", "/close ARB",
                      "/close AAVE"]),
        ("/margin so", ["/margin SOL"]),
        ("/long zz", []),
        ("/long btc 0.1 i", ["/long btc 0.1 iso", "/long btc 0.1 isolated"]),
        ("/long btc 0.1 C", ["/long btc 0.1 cross"]),
        ("/long btc 0.1 iso c", []),  # a mode is already there
        ("/long btc 0.1 ", []),
        ("/long btc 0", []),
        ("/close btc 5", []),
        ("/settings ", []),
        ("/nope b", []),
    ],
)  # fmt: skip
def test_complete(text: str, expected: list[str]) -> None:
    assert complete(text, MARKETS) == expected


def test_complete_empty_line_offers_every_command_with_a_slash() -> None:
    names = complete("", MARKETS)
    assert names[:6] == ["/long", "/short", "/close", "/margin", "/settings", "/help"]
    assert {"/buy", "/sell", "/?", "/history", "/reset"} <= set(names)
    assert complete("/", MARKETS) == names


def test_complete_after_a_command_offers_every_market_in_order() -> None:
    assert complete("/long ", MARKETS) == [f"/long {m}" for m in MARKETS]
    assert complete("/close ", MARKETS) == ["/close all"] + [f"/close {m}" for m in MARKETS]


def test_completions_extend_what_was_typed() -> None:
    for text in ["/lo", "/long b", "/close a", "/long btc 0.1 i", "/margin e"]:
        for suggestion in complete(text, MARKETS):
            assert suggestion.casefold().startswith(text.casefold())
            assert len(suggestion) > len(text)


def test_completions_parse_or_ask_for_more() -> None:
    assert parse(complete("/long btc 0.1 cr", MARKETS)[0], MARKETS) == order(
        Side.LONG, "BTC", 0.1, mode=CROSS
    )
    assert parse(complete("/close al", MARKETS)[0], MARKETS) == CloseAllCommand()


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_complete_never_raises(text: str) -> None:
    result = complete(text, MARKETS)
    assert isinstance(result, list) and all(isinstance(s, str) for s in result)


def test_drill_takes_an_optional_name() -> None:
    assert parse("/drill", MARKETS) == DrillCommand()
    assert parse("drill  Flash-Crash ", MARKETS) == DrillCommand("flash-crash")
    with pytest.raises(CommandError, match=r'^/drill takes one drill name; remove "b"\.$'):
        parse("/drill a b", MARKETS)
    with pytest.raises(CommandError, match=r'^There is no drill named "\?\[2J"; /drill alone'):
        parse("/drill \x1b[2J", MARKETS)
    assert "/drill" in complete("/dr", MARKETS)
