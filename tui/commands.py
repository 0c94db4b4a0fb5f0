"""The trader's command line: one line of text in, one typed command out.

``parse("/long btc 0.1 10x iso", markets)`` returns an :class:`OrderCommand`; anything it cannot
read raises :class:`CommandError` whose message is one line saying what to write instead.
``parse`` raises nothing else, whatever the text.

Grammar (case-insensitive, the leading ``/`` optional, any amount of whitespace)::

    /long  MARKET SIZE [LEVERAGE] [MODE] [ORDER]   also /buy  (after the market, any order)
    /short MARKET SIZE [LEVERAGE] [MODE] [ORDER]   also /sell
    /close MARKET [50% | 0.05 | all]
    /close all
    /margin MARKET [+|-]AMOUNT               bare AMOUNT adds; "$" allowed
    /tp MARKET PRICE|off   /sl MARKET PRICE|off      the position's take-profit / stop-loss
    /cancel ID | MARKET | all                 an order (12 or #12), a market's orders, all
    /orders [MARKET]
    /leverage MARKET LEVERAGE                 an open position's leverage (20 or 20x)
    /drill [NAME]                             the drill picker, or start drill NAME
    /settings  /help (/?)  /history  /reset  (see SIMPLE_COMMANDS)

ORDER words, each at most once (a price may carry "$" and thousands commas):

    @PRICE  or  @ PRICE     a limit order at PRICE          (at most one of @, stop, take)
    stop PRICE              a stop market order triggered at PRICE
    take PRICE              a take-profit market order triggered at PRICE
    tp PRICE   sl PRICE     take-profit / stop-loss given to the position when it fills
    ro                      reduce-only (also reduce-only)
    post                    post-only, for a limit (also post-only, alo)

A line with none of these is an :class:`OrderCommand` (a market order, as before); with any of
them it is a :class:`PlaceOrderCommand`.

- SIZE is a number of coins (``0.1``, ``.5``, ``1e-3``, ``1,000``) or a USD notional
  (``$500``, ``$1,250.50``, ``500$``, ``500usd``). Decimals use a dot; commas only group
  thousands.
- LEVERAGE is ``10x`` or ``x10`` (``×`` works too). Only "positive and finite" is checked here;
  the engine checks it against the market's maximum.
- MODE is ``iso``, ``isolated`` or ``cross``. Single letters (``i``, ``c``) are refused on
  purpose: an order is the one thing that must never be misread.
- There are no one-letter command shortcuts either: ``/s`` could be short, sell or settings.
- The market comes first after the command and must be one of ``markets`` (case-insensitive);
  the command carries the symbol as spelled in ``markets`` (upper case for the default markets).
- ``/close all`` always means every position, even if a market were named ALL.

Messages quote what the trader typed, shortened and with control characters replaced, but
otherwise verbatim: show them without markup interpretation.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from tui import actions
from tui.engine.models import InvalidInput, MarginMode, OrderType, Side

__all__ = [
    "COMMAND_HELP",
    "SIMPLE_COMMANDS",
    "CancelCommand",
    "CloseAllCommand",
    "CloseCommand",
    "Command",
    "CommandError",
    "DrillCommand",
    "LeverageCommand",
    "MarginCommand",
    "OrderCommand",
    "OrdersCommand",
    "PlaceOrderCommand",
    "SimpleCommand",
    "TpSlCommand",
    "complete",
    "parse",
]


class CommandError(InvalidInput):
    """A command line that could not be read. ``str(error)`` is one line a person can act on.

    A kind of :class:`~tui.engine.models.InvalidInput` (and so of ``OrderRejected``), so one
    ``except OrderRejected`` can show parse errors and engine rejections alike.
    """


@dataclass(frozen=True, slots=True)
class OrderCommand:
    """Open, add to, reduce or flip a position. Exactly one of ``size`` (coins) and
    ``notional_usd`` is set; ``leverage`` and ``mode`` are ``None`` when not written (the app
    fills in its defaults)."""

    side: Side
    market: str
    size: float | None
    notional_usd: float | None
    leverage: float | None = None
    mode: MarginMode | None = None


@dataclass(frozen=True, slots=True)
class CloseCommand:
    """Close ``fraction`` of a position (1.0 = all of it), or ``size`` coins when ``size`` is
    set (``fraction`` is then 1.0 and unused)."""

    market: str
    fraction: float = 1.0
    size: float | None = None


@dataclass(frozen=True, slots=True)
class CloseAllCommand:
    """Close every open position (the app asks first)."""


@dataclass(frozen=True, slots=True)
class MarginCommand:
    """Move USD margin into (``amount > 0``) or out of (``amount < 0``) a position."""

    market: str
    amount: float


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """A command without arguments; ``name`` is a key of :data:`SIMPLE_COMMANDS`."""

    name: str


@dataclass(frozen=True, slots=True)
class PlaceOrderCommand:
    """An order with a price, a trigger, flags or an attached take-profit / stop-loss (see the
    ORDER words above). ``size`` / ``notional_usd``, ``leverage`` and ``mode`` as in
    :class:`OrderCommand`. ``price`` is set for a limit, ``trigger_price`` for a stop or
    take-profit market order; ``take_profit`` / ``stop_loss`` go to the position when it
    fills."""

    side: Side
    market: str
    size: float | None
    notional_usd: float | None
    leverage: float | None = None
    mode: MarginMode | None = None
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    trigger_price: float | None = None
    reduce_only: bool = False
    post_only: bool = False
    take_profit: float | None = None
    stop_loss: float | None = None

    @property
    def name(self) -> str:
        """The command as a person says it: "long limit", "short stop market", ..."""
        return f"{self.side.value} {self.order_type.label.lower()}"


@dataclass(frozen=True, slots=True)
class TpSlCommand:
    """Set (``price``) or remove (``price=None``) the take-profit (``kind="tp"``) or stop-loss
    (``kind="sl"``) of the position in ``market``."""

    market: str
    kind: str
    price: float | None

    @property
    def name(self) -> str:
        return self.kind


@dataclass(frozen=True, slots=True)
class CancelCommand:
    """Cancel order ``order_id``, or every order in ``market``; neither set: every order."""

    order_id: int | None = None
    market: str | None = None

    @property
    def name(self) -> str:
        return "cancel"


@dataclass(frozen=True, slots=True)
class OrdersCommand:
    """Show the open orders (of ``market`` only, when set)."""

    market: str | None = None

    @property
    def name(self) -> str:
        return "orders"


@dataclass(frozen=True, slots=True)
class LeverageCommand:
    """Change the leverage of the open position in ``market`` to ``leverage`` (the app shows
    what it does first)."""

    market: str
    leverage: float

    @property
    def name(self) -> str:
        return "leverage"


@dataclass(frozen=True, slots=True)
class DrillCommand:
    """Open the drill picker (``name`` None), or start the drill ``name`` (or end the one
    running, which the app asks about first)."""

    name: str | None = None


Command = (
    OrderCommand
    | PlaceOrderCommand
    | CloseCommand
    | CloseAllCommand
    | MarginCommand
    | TpSlCommand
    | CancelCommand
    | OrdersCommand
    | LeverageCommand
    | DrillCommand
    | SimpleCommand
)

# --------------------------------------------------------------------------- command table

_ORDER_COMMANDS: tuple[str, ...] = ("tp", "sl", "cancel", "orders")
_POSITION_COMMANDS: tuple[str, ...] = ("leverage",)
_WITH_ARGUMENTS: tuple[str, ...] = (
    "long",
    "short",
    "close",
    "margin",
    *_ORDER_COMMANDS,
    *_POSITION_COMMANDS,
    "drill",
)
"""Command words with a grammar of their own (below); every other command word in the action
table (:data:`tui.actions.ACTIONS`) takes no arguments."""

SIMPLE_COMMANDS: dict[str, str] = {
    word: a.usage[0][1] if a.usage else a.description
    for a in actions.ACTIONS
    for word in a.commands
    if word not in _WITH_ARGUMENTS
}
"""Commands that take no arguments, with their help line, from the action table: give an
action a command word and ``parse``, ``complete`` and :data:`COMMAND_HELP` know it; the app
runs that action for ``SimpleCommand(name)``."""

_SIDES: dict[str, Side] = {"long": Side.LONG, "short": Side.SHORT}
_ALIASES: dict[str, str] = {"buy": "long", "sell": "short", "?": "help"}
_PRIMARY: tuple[str, ...] = (
    "long",
    "short",
    "close",
    "margin",
    *SIMPLE_COMMANDS,
    *_ORDER_COMMANDS,
    *_POSITION_COMMANDS,
    "drill",
)
"""Every command word in completion order: the everyday four, the simple ones, the rest."""
_SUGGESTED: tuple[str, ...] = ("long", "short", "close", "margin", "settings", "help")

_MODES: dict[str, MarginMode] = {
    "iso": MarginMode.ISOLATED,
    "isolated": MarginMode.ISOLATED,
    "cross": MarginMode.CROSS,
}

COMMAND_HELP: tuple[tuple[str, str], ...] = actions.COMMAND_HELP
"""(usage, one-line description) for the help screen, one entry per command form."""

# --------------------------------------------------------------------------- tokens & numbers

# Unsigned; commas only as thousands separators; ASCII digits only.
_NUMBER = re.compile(
    r"(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?"
)
_NUMERIC_CHARS = frozenset("0123456789+-.,e")
_SHOW_LIMIT = 24
_LONE_MARKS = frozenset(("x", "×", "$", "usd", "%"))

_SIZE_HINT = "Write a size like 0.1 or a USD amount like $500."
_USD_HINT = "Write a USD amount like $500 or $1,250.50."
_LEVERAGE_HINT = "Write leverage like 10x."
_MARGIN_HINT = "Write +200 to add margin or -100 to remove it."
_CLOSE_HINT = "Write a percentage like 50% or a size like 0.05."


def _clean(token: str) -> str:
    """``token`` fit for a message: printable, on one line, not too long."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in token[: _SHOW_LIMIT + 1])
    if len(clean) > _SHOW_LIMIT:
        clean = clean[: _SHOW_LIMIT - 1] + "…"
    return clean


def _show(token: str) -> str:
    """``token`` cleaned and quoted for a message."""
    return f'"{_clean(token)}"'


def _words(items: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _has_digit(text: str) -> bool:
    return any("0" <= ch <= "9" for ch in text)


def _looks_numeric(text: str) -> bool:
    return _has_digit(text) and all(ch in _NUMERIC_CHARS for ch in text)


def _number(text: str) -> float | None:
    """A signed decimal number written the way people write them, or ``None``."""
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if not _NUMBER.fullmatch(text):
        return None
    return sign * float(text.replace(",", ""))


def _positive(what: str, token: str, core: str, hint: str) -> float:
    """``core`` (the number written in ``token``) as a finite number above zero."""
    value = _number(core)
    if value is None and "," in core and _looks_numeric(core):
        raise CommandError(
            f"{what} {_show(token)} is not a number. "
            "Use a dot for decimals (0.5); commas only group thousands (1,000)."
        )
    if value is None:
        raise CommandError(f"{what} {_show(token)} is not a number. {hint}")
    if math.isinf(value):
        raise CommandError(f"{what} {_show(token)} is too large. {hint}")
    if value <= 0:
        raise CommandError(f"{what} {_show(token)} must be more than zero. {hint}")
    return value


def _usd_core(word: str) -> str | None:
    """The number part of a USD amount (``$500``, ``500$``, ``500usd``), or ``None``."""
    if word.startswith("$"):
        return word[1:]
    if word.endswith("$"):
        return word[:-1]
    if word.endswith("usd") and _has_digit(word):
        return word[:-3]
    return None


def _leverage_core(word: str) -> str | None:
    """The number part of a leverage (``10x``, ``x10``, ``10×``), or ``None``."""
    if len(word) > 1 and word[-1] in ("x", "×") and _has_digit(word):
        return word[:-1]
    if len(word) > 1 and word[0] in ("x", "×") and _has_digit(word):
        return word[1:]
    return None


# --------------------------------------------------------------------------- markets


class _Markets:
    def __init__(self, markets: Collection[str]) -> None:
        self.symbols: list[str] = []
        self.by_key: dict[str, str] = {}
        for symbol in markets:
            key = str(symbol).casefold()
            if key not in self.by_key:
                self.by_key[key] = str(symbol)
                self.symbols.append(str(symbol))

    def resolve(self, token: str) -> str:
        symbol = self.by_key.get(token.casefold())
        if symbol is not None:
            return symbol
        shown = _show(token.upper())
        if not self.symbols:
            raise CommandError(f"Unknown market {shown}. No markets are loaded.")
        guesses = self._guesses(token.casefold())
        if guesses:
            raise CommandError(
                f"Unknown market {shown}. Did you mean {_words([_clean(g) for g in guesses])}?"
            )
        listed = ", ".join(_clean(s) for s in self.symbols[:6])
        more = len(self.symbols) - 6
        tail = f" and {more} more" if more > 0 else ""
        raise CommandError(f"Unknown market {shown}. Markets: {listed}{tail}.")

    def _guesses(self, key: str) -> list[str]:
        # "BTCUSDT", "BTC-PERP": the symbol the text starts with, longest first.
        starts = sorted((k for k in self.by_key if k and key.startswith(k)), key=len, reverse=True)
        close = difflib.get_close_matches(key[:64], list(self.by_key), n=3, cutoff=0.6)
        seen: list[str] = []
        for k in [*starts[:1], *close]:
            if self.by_key[k] not in seen:
                seen.append(self.by_key[k])
        return seen[:3]


# --------------------------------------------------------------------------- commands


def _need_market(args: list[str], example: str) -> None:
    if not args:
        raise CommandError(f"Which market? Write {example}.")


_PRICE_WORDS: dict[str, str] = {
    "@": "limit",
    "stop": "stop",
    "take": "take",
    "tp": "tp",
    "sl": "sl",
}
_PRICE_NAMES: dict[str, tuple[str, str]] = {  # (what it is, an example)
    "limit": ("Limit price", "@95000"),
    "stop": ("Stop price", "stop 3200"),
    "take": ("Take-profit trigger", "take 110000"),
    "tp": ("Take-profit price", "tp 110000"),
    "sl": ("Stop-loss price", "sl 92000"),
}
_FLAGS: dict[str, str] = {
    "ro": "reduce_only",
    "reduce-only": "reduce_only",
    "reduceonly": "reduce_only",
    "post": "post_only",
    "post-only": "post_only",
    "postonly": "post_only",
    "alo": "post_only",
}
_ORDER_TYPES: dict[str, OrderType] = {
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP_MARKET,
    "take": OrderType.TAKE_PROFIT_MARKET,
}


def _price(what: str, token: str, example: str) -> float:
    """A price as written (``95000``, ``95,000.5``, ``$95,000``)."""
    core = token[1:] if token.startswith("$") else token
    return _positive(what, token, core, f"Write it like {example}.")


def _parse_order(cmd: str, args: list[str], markets: _Markets) -> OrderCommand | PlaceOrderCommand:
    side = _SIDES[_ALIASES.get(cmd, cmd)]
    example = f"/{cmd} BTC 0.1 10x iso or /{cmd} BTC $500"
    _need_market(args, example)
    first = args[0].casefold()
    if first not in markets.by_key and (
        first in _MODES
        or _looks_numeric(first)
        or _usd_core(first) is not None
        or _leverage_core(first) is not None
        or first.startswith("@")
    ):
        raise CommandError(f"Write the market first, like {example}.")
    market = markets.resolve(args[0])

    size: tuple[str, float] | None = None
    usd: tuple[str, float] | None = None
    leverage: tuple[str, float] | None = None
    mode: tuple[str, MarginMode] | None = None
    prices: dict[str, tuple[str, float]] = {}
    flags: set[str] = set()

    rest = args[1:]
    for token in rest:  # "10 x", "500 usd": say so before "two sizes" could
        if token.casefold() in _LONE_MARKS:
            raise CommandError(_unknown_order_token(cmd, token))
    i = 0
    while i < len(rest):
        token = rest[i]
        word = token.casefold()
        i += 1
        key = "limit" if word.startswith("@") else _PRICE_WORDS.get(word)
        if key is not None:  # a price word and its price
            what, shown_example = _PRICE_NAMES[key]
            if word.startswith("@") and len(word) > 1:
                value_token = token[1:]
            elif i < len(rest):
                value_token = rest[i]
                i += 1
            else:
                raise CommandError(f"{what} missing: write it like {shown_example}.")
            if key in prices:
                raise CommandError(
                    f"Two {what.lower()}s given ({_show(prices[key][0])} and "
                    f"{_show(value_token)}). Write one."
                )
            prices[key] = (value_token, _price(what, value_token, shown_example))
            continue
        if word in _FLAGS:
            flags.add(_FLAGS[word])
            continue
        if word in _MODES:
            if mode is not None:
                raise CommandError(
                    f"Two margin modes given ({_show(mode[0])} and {_show(token)}). "
                    "Write one: iso or cross."
                )
            mode = (token, _MODES[word])
            continue
        lev_core = _leverage_core(word)
        usd_core = _usd_core(word)
        if usd_core is not None:
            value = _positive("USD amount", token, usd_core, _USD_HINT)
            kind = "usd"
        elif lev_core is not None:
            lev = _positive("Leverage", token, lev_core, _LEVERAGE_HINT)
            if leverage is not None:
                raise CommandError(
                    f"Two leverages given ({_show(leverage[0])} and {_show(token)}). Write one."
                )
            leverage = (token, lev)
            continue
        elif _looks_numeric(word):
            value = _positive("Size", token, word, _SIZE_HINT)
            kind = "size"
        else:
            raise CommandError(_unknown_order_token(cmd, token))
        given = size or usd
        if given is not None:
            raise CommandError(
                f"Two sizes given ({_show(given[0])} and {_show(token)}). "
                "Write one size: coins like 0.1 or USD like $500."
            )
        if kind == "usd":
            usd = (token, value)
        else:
            size = (token, value)

    if size is None and usd is None:
        raise CommandError(f"How much? Write a size after the market, like {example}.")
    if not prices and not flags:
        return OrderCommand(
            side=side,
            market=market,
            size=size[1] if size else None,
            notional_usd=usd[1] if usd else None,
            leverage=leverage[1] if leverage else None,
            mode=mode[1] if mode else None,
        )
    types = [k for k in _ORDER_TYPES if k in prices]
    if len(types) > 1:
        raise CommandError(
            "Give one order type: @PRICE for a limit, stop PRICE or take PRICE, "
            f"not {' and '.join(_PRICE_NAMES[k][1].split()[0] for k in types)}."
        )
    order_type = _ORDER_TYPES[types[0]] if types else OrderType.MARKET
    if "post_only" in flags and order_type is not OrderType.LIMIT:
        raise CommandError("Post-only is for limit orders: add a price, like @95000.")
    if "reduce_only" in flags and ("tp" in prices or "sl" in prices):
        raise CommandError(
            "A reduce-only order takes no tp or sl: set those on the position with /tp and /sl."
        )

    def price_of(key: str) -> float | None:
        found = prices.get(key)
        return found[1] if found else None

    return PlaceOrderCommand(
        side=side,
        market=market,
        size=size[1] if size else None,
        notional_usd=usd[1] if usd else None,
        leverage=leverage[1] if leverage else None,
        mode=mode[1] if mode else None,
        order_type=order_type,
        price=price_of("limit"),
        trigger_price=price_of("stop") or price_of("take"),
        reduce_only="reduce_only" in flags,
        post_only="post_only" in flags,
        take_profit=price_of("tp"),
        stop_loss=price_of("sl"),
    )


def _unknown_order_token(cmd: str, token: str) -> str:
    word = token.casefold()
    shown = _show(token)
    if word in ("x", "×"):
        return "Write leverage with no space, like 10x."
    if word == "%":
        return f"Order sizes cannot be a percentage. {_SIZE_HINT}"
    if word in ("$", "usd"):
        return "Write a USD amount as one word, like $500 or 500usd."
    if word.endswith("%"):
        return f"Order sizes cannot be a percentage ({shown}). {_SIZE_HINT}"
    if word in ("i", "c"):
        return f"Write the margin mode in full ({shown}): iso or cross."
    close = difflib.get_close_matches(word[:64], list(_MODES), n=1, cutoff=0.6)
    if close:
        return f"Unknown margin mode {shown}. Did you mean {close[0]}?"
    return (
        f"Did not understand {shown} in /{cmd}. After the market write a size (0.1 or $500), "
        "optionally leverage (10x), mode (iso or cross), @PRICE, stop PRICE, tp PRICE, sl "
        "PRICE, ro or post."
    )


def _parse_close(cmd: str, args: list[str], markets: _Markets) -> CloseCommand | CloseAllCommand:
    _need_market(args, "/close BTC, /close BTC 50% or /close all")
    if args[0].casefold() == "all":
        if len(args) > 1:
            raise CommandError(f"/close all takes nothing after it; remove {_show(args[1])}.")
        return CloseAllCommand()
    market = markets.resolve(args[0])
    if len(args) == 1:
        return CloseCommand(market)
    if "%" in args[2:]:
        raise CommandError("Write the percentage as one word, like 50%.")
    if len(args) > 2:
        raise CommandError(
            f"Give one amount to close, not {_show(args[1])} and {_show(args[2])}. {_CLOSE_HINT}"
        )
    token = args[1]
    word = token.casefold()
    if word == "all":
        return CloseCommand(market)
    if word == "%":
        raise CommandError("Write the percentage as one word, like 50%.")
    if word.endswith("%"):
        pct = _positive("Percentage", token, word[:-1], "Write a percentage like 50%.")
        if pct > 100:
            raise CommandError(f"Percentage {_show(token)} is more than 100%. Write 1% to 100%.")
        return CloseCommand(market, fraction=pct / 100)
    if _usd_core(word) is not None:
        raise CommandError(f"Close by percentage or size, not USD ({_show(token)}). {_CLOSE_HINT}")
    if _looks_numeric(word):
        return CloseCommand(market, size=_positive("Size to close", token, word, _CLOSE_HINT))
    raise CommandError(f"Did not understand {_show(token)} in /close. {_CLOSE_HINT}")


def _parse_margin(cmd: str, args: list[str], markets: _Markets) -> MarginCommand:
    example = "/margin BTC +200 to add or /margin BTC -100 to remove"
    _need_market(args, example)
    market = markets.resolve(args[0])
    if len(args) == 1:
        raise CommandError(f"How much? Write {example}.")
    if any(a.casefold() in ("+", "-", "$", "usd") for a in args[1:]) and len(args) > 2:
        raise CommandError(f"Write the margin amount as one word. {_MARGIN_HINT}")
    if len(args) > 2:
        raise CommandError(
            f"Give one margin amount, not {_show(args[1])} and {_show(args[2])}. {_MARGIN_HINT}"
        )
    token = args[1]
    word = token.casefold()
    sign = word[0] if word[:1] in ("+", "-") else ""
    rest = word[len(sign) :]
    core = _usd_core(rest)
    # "+$200", "-100usd" and "$-100" are read; "+-100" has two signs and is not a number.
    value = _number(sign + (rest if core is None else core))
    if value is None:
        raise CommandError(f"Margin amount {_show(token)} is not a number. {_MARGIN_HINT}")
    if math.isinf(value):
        raise CommandError(f"Margin amount {_show(token)} is too large. {_MARGIN_HINT}")
    if value == 0:
        raise CommandError(f"Margin amount {_show(token)} is zero. {_MARGIN_HINT}")
    return MarginCommand(market, amount=value)


_OFF = frozenset(("off", "none", "clear", "remove"))


def _parse_tpsl(cmd: str, args: list[str], markets: _Markets) -> TpSlCommand:
    what = "Take-profit price" if cmd == "tp" else "Stop-loss price"
    price_example = "110000" if cmd == "tp" else "92000"
    example = f"/{cmd} BTC {price_example}"
    _need_market(args, example)
    market = markets.resolve(args[0])
    if len(args) == 1:
        raise CommandError(f"At what price? Write {example}, or /{cmd} BTC off to remove it.")
    if len(args) > 2:
        raise CommandError(
            f"Give one price, not {_show(args[1])} and {_show(args[2])}. Write {example}."
        )
    token = args[1]
    if token.casefold() in _OFF:
        return TpSlCommand(market, cmd, None)
    return TpSlCommand(market, cmd, _price(what, token, price_example))


_MAX_ID_DIGITS = 12


def _parse_cancel(cmd: str, args: list[str], markets: _Markets) -> CancelCommand:
    example = "/cancel 12 (an order number), /cancel BTC (its orders) or /cancel all"
    if not args:
        raise CommandError(f"Which orders? Write {example}.")
    if len(args) > 1:
        raise CommandError(f"/cancel takes one thing, not {_show(args[1])} too. Write {example}.")
    token = args[0]
    word = token.casefold()
    if word == "all":
        return CancelCommand()
    digits = word[1:] if word.startswith("#") else word
    if digits.isascii() and digits.isdigit():
        if len(digits) > _MAX_ID_DIGITS or int(digits) == 0:
            raise CommandError(f"There is no order {_show(token)}; /orders lists them.")
        return CancelCommand(order_id=int(digits))
    if word.startswith("#"):
        raise CommandError(f"Order number {_show(token)} is not a number; write it like #12.")
    return CancelCommand(market=markets.resolve(token))


def _parse_orders(cmd: str, args: list[str], markets: _Markets) -> OrdersCommand:
    if not args or (len(args) == 1 and args[0].casefold() == "all"):
        return OrdersCommand()
    if len(args) > 1:
        raise CommandError(f"/orders takes at most a market; remove {_show(args[1])}.")
    return OrdersCommand(markets.resolve(args[0]))


def _parse_leverage(cmd: str, args: list[str], markets: _Markets) -> LeverageCommand:
    example = "/leverage BTC 20"
    _need_market(args, example)
    first = args[0].casefold()
    if first not in markets.by_key and (_looks_numeric(first) or _leverage_core(first)):
        raise CommandError(f"Write the market first, like {example}.")
    market = markets.resolve(args[0])
    if len(args) == 1:
        raise CommandError(f"Which leverage? Write {example}.")
    if len(args) > 2:
        if args[2].casefold() in ("x", "×"):
            raise CommandError("Write leverage with no space, like 20x.")
        raise CommandError(
            f"Give one leverage, not {_show(args[1])} and {_show(args[2])}. Write {example}."
        )
    token = args[1]
    word = token.casefold()
    core = _leverage_core(word)
    value = _positive("Leverage", token, word if core is None else core, _LEVERAGE_HINT)
    return LeverageCommand(market, value)


_DRILL_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def _parse_drill(cmd: str, args: list[str], markets: _Markets) -> DrillCommand:
    if not args:
        return DrillCommand()
    if len(args) > 1:
        raise CommandError(f"/drill takes one drill name; remove {_show(args[1])}.")
    name = args[0].casefold()
    if not _DRILL_NAME.fullmatch(name):
        raise CommandError(f"There is no drill named {_show(args[0])}; /drill alone lists them.")
    return DrillCommand(name)


def _parse_simple(cmd: str, args: list[str], markets: _Markets) -> SimpleCommand:
    name = _ALIASES.get(cmd, cmd)
    if args:
        raise CommandError(f"/{name} takes nothing after it; remove {_show(args[0])}.")
    return SimpleCommand(name)


_Parser = Callable[[str, list[str], _Markets], Command]

_PARSERS: dict[str, _Parser] = {
    "long": _parse_order,
    "short": _parse_order,
    "close": _parse_close,
    "margin": _parse_margin,
    "tp": _parse_tpsl,
    "sl": _parse_tpsl,
    "cancel": _parse_cancel,
    "orders": _parse_orders,
    "leverage": _parse_leverage,
    "drill": _parse_drill,
    **dict.fromkeys(SIMPLE_COMMANDS, _parse_simple),
}


def _command_names() -> list[str]:
    """Every accepted command word: the main ones in help order, then the aliases."""
    return [*_PRIMARY, *(a for a in _ALIASES if a not in _PRIMARY)]


def _unknown_command(word: str) -> str:
    shown = _show("/" + word)
    names = _command_names()
    guesses = [n for n in names if word and n.startswith(word)]
    if not guesses:
        guesses = difflib.get_close_matches(word[:64], names, n=3)
    if guesses:
        return f"Unknown command {shown}. Did you mean {_words(['/' + g for g in guesses[:3]])}?"
    return f"Unknown command {shown}. Try {', '.join('/' + n for n in _SUGGESTED)}."


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).strip()
    if text.startswith("/"):
        text = text[1:]
    return text.split()


def parse(text: str, markets: Collection[str]) -> Command:
    """The command ``text`` spells, checked against the market symbols ``markets``.

    Raises :class:`CommandError` (and nothing else) with a one-line message when the text is
    empty or cannot be read.
    """
    try:
        return _parse(text, markets)
    except CommandError:
        raise
    except Exception as exc:  # pragma: no cover - a bug here must not crash the app
        raise CommandError(
            "Could not read that command. /help lists the commands and how to write them."
        ) from exc


def _parse(text: str, markets: Collection[str]) -> Command:
    if not isinstance(text, str):
        raise CommandError("Type a command, like /long BTC 0.1 10x iso. /help lists them all.")
    tokens = _tokens(text)
    if not tokens:
        raise CommandError("Type a command, like /long BTC 0.1 10x iso. /help lists them all.")
    word = tokens[0].casefold()
    cmd = _ALIASES.get(word, word)
    parser = _PARSERS.get(cmd)
    if parser is None:
        raise CommandError(_unknown_command(word))
    return parser(word, tokens[1:], _Markets(markets))


# --------------------------------------------------------------------------- completion


def complete(text: str, markets: Collection[str], order_ids: Collection[int] = ()) -> list[str]:
    """Whole-line completions of ``text``, best first, for an input suggester.

    The word being typed (the text after the last space) is completed: the first word against
    the command names (``"/cl"`` -> ``["/close"]``; the ``/`` is kept or left off as typed, and
    an empty line gets ``/`` names), the word after ``/long``, ``/short``, ``/close``,
    ``/margin``, ``/tp``, ``/sl``, ``/orders`` and ``/leverage`` against ``markets``
    (``"/long b"`` -> ``["/long BTC", "/long BNB", ...]``), after ``/cancel`` against ``all``,
    ``order_ids`` (the open orders' numbers) and ``markets``, a later word of an order against
    the margin modes and the order words (``stop``, ``take``, ``tp``, ``sl``, ``ro``, ``post``)
    not yet written, and ``off`` after ``/tp MARKET`` / ``/sl MARKET``. Everything before that
    word is kept as typed;
    matching ignores case. Never raises; ``[]`` when there is nothing to offer.
    """
    try:
        return _complete(text, markets, order_ids)
    except Exception:  # pragma: no cover - suggestions are a nicety, never a crash
        return []


_ORDER_WORDS: tuple[str, ...] = ("stop", "take", "tp", "sl", "ro", "post")


def _complete(text: str, markets: Collection[str], order_ids: Collection[int]) -> list[str]:
    if not text or text[-1].isspace():
        head, word = text, ""
    else:
        parts = text.split()
        word = parts[-1]
        head = text[: len(text) - len(word)]
    before = _tokens(head)
    key = word.casefold()
    if not before:
        if key.startswith("/"):
            slash, stem = "/", key[1:]
        elif not key and not head.strip():  # an empty line: offer "/long", ...
            slash, stem = "/", ""
        else:  # "lo", or "/ lo" (the slash already typed)
            slash, stem = "", key
        return [f"{head}{slash}{name}" for name in _command_names() if name.startswith(stem)]
    cmd = _ALIASES.get(before[0].casefold(), before[0].casefold())
    if cmd not in ("long", "short", "close", "margin", "tp", "sl", "cancel", "orders", "leverage"):
        return []
    if len(before) == 1:
        options = _Markets(markets).symbols
        if cmd == "close":
            options = ["all", *options]
        elif cmd == "cancel":
            options = ["all", *(str(i) for i in order_ids), *options]
        return [head + s for s in options if s.casefold().startswith(key)]
    if cmd in ("tp", "sl") and len(before) == 2 and key:
        return [head + "off"] if "off".startswith(key) and key != "off" else []
    if cmd not in _SIDES or not key or not key.isalpha():
        return []
    written = {t.casefold() for t in before[2:]}
    if before[-1].casefold() in _PRICE_WORDS:  # a price comes next, not a word
        return []
    options = [] if written & set(_MODES) else list(_MODES)
    options += [w for w in _ORDER_WORDS if w not in written]
    return [head + m for m in options if m.startswith(key)]
