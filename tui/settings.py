"""User settings: a typed model, loaded from TOML with ``tomllib`` and saved with ``tomlkit``.

Loading never raises: a bad file or a bad value falls back to defaults and is reported in
``LoadResult.messages`` (control characters shown escaped). Only a regular file of at most
:data:`MAX_CONFIG_BYTES` is read (never a device or FIFO); too deep nesting and numbers too long
to read are reported, and amounts are bounded by what the engine takes.

Saving edits the existing file (only the values that changed), so the user's comments, order,
unknown keys, byte-order mark and CRLF line endings survive; a file ``tomlkit`` cannot edit is
refused rather than replaced. A file that is not TOML is kept as a numbered backup first (see
:data:`MAX_BACKUPS`). If another program saves the file meanwhile, nothing is written
(:class:`SettingsChangedError`; see :func:`_save`). Each rule is implemented once, in the
``_check_*`` validators, which both the loader and :func:`parse_field` use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import os
import re
import stat
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs

from tui.engine.limits import MAX_BALANCE, MAX_NOTIONAL, MAX_SIZE
from tui.engine.models import MAKER_FEE, TAKER_FEE
from tui.engine.venues import Venue
from tui.market import EXECUTIONS as EXECUTIONS  # the settings' choices, re-exported
from tui.market import SIM_SPEEDS, SOURCE_KINDS
from tui.safe import safe_text

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

ENV_VAR = "PERPDESK_CONFIG"
MARGIN_MODES = ("isolated", "cross")
VENUES = tuple(venue.value for venue in Venue)
SOURCES = SOURCE_KINDS
SPEEDS = tuple(int(speed) for speed in SIM_SPEEDS)


@dataclass(frozen=True)
class OrderSize:
    """A default order size: ``amount`` in base units, or a USD notional when ``unit == "usd"``."""

    amount: float
    unit: Literal["base", "usd"] = "base"

    def __str__(self) -> str:
        return f"${_fmt(self.amount)}" if self.unit == "usd" else _fmt(self.amount)


@dataclass(frozen=True)
class TradingSettings:
    default_margin_mode: str = "isolated"
    default_leverage: float = 5
    default_order_size: OrderSize = OrderSize(1000, "usd")


@dataclass(frozen=True)
class AccountSettings:
    starting_balance: float = 10000
    venue: str = "hyperliquid"


@dataclass(frozen=True)
class FeeSettings:
    """Fee rates; ``None`` (unset) means the account's venue's base tier."""

    taker: float | None = None
    maker: float | None = None


@dataclass(frozen=True)
class MarketSettings:
    source: str = "sim"
    seed: int | None = None
    markets: tuple[str, ...] = ()
    url: str | None = None
    scenario: str | None = None
    replay_file: str | None = None
    speed: int = 1
    max_tick_move: float = 0.5
    execution: str = "realistic"
    slippage_limit: float = 0.08
    book_max_age: float = 10


@dataclass(frozen=True)
class UISettings:
    refresh_hz: float = 10
    theme: str = "textual-dark"
    bell: bool = True
    alert_margin_ratio: float = 0.8
    alert_liquidation_distance: float = 0.02
    favourites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """All settings. Copy with changes via :meth:`with_value` or ``dataclasses.replace``."""

    trading: TradingSettings = field(default_factory=TradingSettings)
    account: AccountSettings = field(default_factory=AccountSettings)
    fees: FeeSettings = field(default_factory=FeeSettings)
    market: MarketSettings = field(default_factory=MarketSettings)
    ui: UISettings = field(default_factory=UISettings)
    keymap: Mapping[str, str] = field(default_factory=dict)  # binding id -> "b,f1"

    def get(self, key: str) -> Any:
        """Value of a dotted key such as ``"trading.default_leverage"`` or ``"keymap.buy"``."""
        section, name = _split_key(key)
        if section == "keymap":
            return self.keymap.get(name)
        return getattr(getattr(self, section), name)

    def with_value(self, key: str, value: Any) -> Settings:
        """A copy with one key changed; the value is validated (``ValueError`` if invalid).

        ``with_value("keymap.buy", None)`` removes that binding.
        """
        section, name = _split_key(key)
        if section == "keymap":
            if not name:
                raise ValueError("keymap has a binding with an empty id")
            keymap = dict(self.keymap)
            if value is None:
                keymap.pop(name, None)
            else:
                keymap[name] = _check(key, _check_keys, value)
            return dataclasses.replace(self, keymap=keymap)
        value = _check(key, FIELDS[key].check, value)
        table = dataclasses.replace(getattr(self, section), **{name: value})
        return dataclasses.replace(self, **{section: table})


DEFAULTS = Settings()


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    path: Path
    messages: list[str]  # one sentence each, ready to show to the user
    broken: bool  # True when the file exists but could not be used at all (defaults apply)


class SettingsSaveError(Exception):
    """The settings could not be written; the message names the path and the reason (control
    characters shown escaped: it may quote a path)."""

    def __init__(self, message: str) -> None:
        super().__init__(safe_text(message))


# --- validators: raw TOML value (or model value) -> model value, ValueError(reason) -------


def _fmt(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() and abs(x) < 1e16 else str(x)


def _is_number(raw: object) -> bool:
    if isinstance(raw, bool):
        return False
    return isinstance(raw, int) or (isinstance(raw, float) and math.isfinite(raw))


_SEED_RANGE = range(-(2**63), 2**63)  # what TOML holds: a signed 64-bit integer


def _number(lo: float, hi: float | None = None) -> Callable[[object], float]:
    """``lo <= x <= hi``, or ``x > lo`` when there is no ``hi``."""
    wanted = f"a number greater than {lo}" if hi is None else f"a number from {lo} to {hi}"

    def check(raw: object) -> float:
        if not _is_number(raw):
            raise ValueError(f"must be {wanted}")
        assert isinstance(raw, int | float)
        if not (raw > lo if hi is None else lo <= raw <= hi):
            raise ValueError(f"must be {wanted}")
        return raw

    return check


def _choice(*allowed: Any) -> Callable[[object], Any]:
    shown = [f'"{a}"' if isinstance(a, str) else str(a) for a in allowed]
    wanted = ", ".join(shown[:-1]) + f" or {shown[-1]}"

    def check(raw: object) -> Any:
        if isinstance(raw, bool) or raw not in allowed:
            raise ValueError(f"must be {wanted}")
        return allowed[allowed.index(raw)]  # 10.0 -> 10

    return check


def _nonempty(wanted: str = "a non-empty string") -> Callable[[object], str]:
    def check(raw: object) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"must be {wanted}")
        _no_controls(raw)
        return raw.strip()

    return check


_text = _nonempty()
_check_keys = _nonempty('a non-empty string of keys, such as "b,f1"')


def _no_controls(raw: str) -> None:
    """Text shown on screen must not steer the terminal (ESC, C1, bidi overrides, ...)."""
    if safe_text(raw) != raw:
        raise ValueError("must not contain control characters")


def _optional(check: Callable[[object], Any]) -> Callable[[object], Any]:
    def optional(raw: object) -> Any:
        return None if raw is None or raw == "" else check(raw)

    return optional


def _boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    return raw


def _text_boolean(text: str) -> object:
    word = text.strip().lower()
    if word in ("true", "on", "yes"):
        return True
    if word in ("false", "off", "no"):
        return False
    return text  # the validator rejects it with the field's own message


def _check_seed(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw not in _SEED_RANGE:
        raise ValueError(
            "must be a whole number of at most 19 digits, or left unset for a random seed"
        )
    return raw


def _check_balance(raw: object) -> float:
    """More than 0 and at most what the engine takes (no 401-digit balance)."""
    value = _number(0)(raw)
    if not value <= MAX_BALANCE:
        raise ValueError(f"must be a number greater than 0, at most {MAX_BALANCE:,.0f}")
    return value


def _check_order_size(raw: object) -> OrderSize:
    if isinstance(raw, OrderSize):
        raw = _toml_value(raw)
    if _is_number(raw):
        assert isinstance(raw, int | float)
        if 0 < raw <= MAX_SIZE:
            return OrderSize(raw, "base")
    elif isinstance(raw, str) and raw.strip().startswith("$"):
        try:
            usd = float(raw.strip()[1:].replace(",", ""))
        except ValueError:
            usd = math.nan
        if math.isfinite(usd) and 0 < usd <= MAX_NOTIONAL:
            return OrderSize(usd, "usd")
    raise ValueError(
        'must be a size in base units such as 0.5, or a USD amount such as "$500" '
        "(what the engine takes: at most 1e15 units, $1e14)"
    )


_SYMBOL = re.compile(r"[A-Z0-9]{1,20}")


def _check_markets(raw: object) -> tuple[str, ...]:
    wanted = 'must be a list of symbols made of letters and digits, such as ["BTC", "ETH"]'
    if not isinstance(raw, list | tuple):
        raise ValueError(wanted)
    symbols: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not _SYMBOL.fullmatch(item.strip().upper()):
            raise ValueError(wanted)
        if item.strip().upper() not in symbols:
            symbols.append(item.strip().upper())
    return tuple(symbols)


_NAME = re.compile(r"[A-Za-z0-9]{1,20}")
MAX_FAVOURITES = 1000


def _check_names(raw: object) -> tuple[str, ...]:
    """Market names as the venue spells them (Hyperliquid's kPEPE keeps its k), each once."""
    wanted = 'must be a list of market names made of letters and digits, such as ["BTC", "ETH"]'
    if not isinstance(raw, list | tuple) or len(raw) > MAX_FAVOURITES:
        raise ValueError(wanted)
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not _NAME.fullmatch(item.strip()):
            raise ValueError(wanted)
        if item.strip() not in names:
            names.append(item.strip())
    return tuple(names)


def _check_url(raw: object) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"wss?://\S+", raw.strip()):
        raise ValueError('must be a websocket address starting with "ws://" or "wss://"')
    _no_controls(raw)
    return raw.strip()


# --- text from the settings screen -> raw value -------------------------------------------


def _text_number(text: str) -> object:
    cleaned = text.strip().replace(",", "")
    for convert in (int, float):
        try:
            return convert(cleaned)
        except ValueError:
            pass
    return text  # the validator rejects it with the field's own message


def _text_order_size(text: str) -> object:
    return text if text.strip().startswith("$") else _text_number(text)


def _text_list(text: str) -> object:
    return [part for part in re.split(r"[\s,]+", text) if part]


@dataclass(frozen=True)
class FieldSpec:
    """How one key is validated, typed in and documented (``FIELDS[key].help``)."""

    check: Callable[[object], Any]
    help: str
    from_text: Callable[[str], object] = str.strip
    example: str = ""  # shown commented out in the example file when the default is unset


def fee_example(rate: float) -> str:
    """A fee rate as written in the file and as a percentage: ``0.00045 = 0.045%``."""
    return f"{rate:g} = {rate:.3%}"


def _either(words: Iterable[str]) -> str:
    """``a, b or c``."""
    items = list(words)
    return ", ".join(items[:-1]) + f" or {items[-1]}"


FIELDS: dict[str, FieldSpec] = {
    "trading.default_margin_mode": FieldSpec(
        _choice(*MARGIN_MODES), 'Margin mode preselected for new orders: "isolated" or "cross".'
    ),
    "trading.default_leverage": FieldSpec(
        _number(1, 100),
        "Leverage preselected for new orders, 1 to 100; lowered to each market's maximum.",
        _text_number,
    ),
    "trading.default_order_size": FieldSpec(
        _check_order_size,
        'Order size preselected for new orders: base units (0.5) or USD notional ("$500").',
        _text_order_size,
    ),
    "account.starting_balance": FieldSpec(
        _check_balance,
        "Paper money, in USD, the account starts with (greater than 0, at most 1 trillion).",
        _text_number,
    ),
    "account.venue": FieldSpec(
        _choice(*VENUES),
        'Venue whose rules the paper account follows: "hyperliquid" or "binance".',
    ),
    "fees.taker": FieldSpec(
        _optional(_number(0, 0.01)),
        f"Taker fee rate, 0 to 0.01; unset = the venue's (Hyperliquid {TAKER_FEE:g}, Binance "
        f"{Venue.BINANCE.taker_fee:g}).",
        _text_number,
        f"{TAKER_FEE:g}",
    ),
    "fees.maker": FieldSpec(
        _optional(_number(0, 0.01)),
        f"Maker fee rate, 0 to 0.01; unset = the venue's (Hyperliquid {MAKER_FEE:g}, Binance "
        f"{Venue.BINANCE.maker_fee:g}).",
        _text_number,
        f"{MAKER_FEE:g}",
    ),
    "market.source": FieldSpec(
        _choice(*SOURCES),
        "Where prices come from: " + _either(f'"{kind}"' for kind in SOURCES) + ".",
    ),
    "market.seed": FieldSpec(
        _optional(_check_seed),
        "Random seed for simulated prices (a whole number); unset = different every run.",
        _text_number,
        "42",
    ),
    "market.markets": FieldSpec(
        _check_markets,
        'Symbols to show, e.g. ["BTC", "ETH"]; an empty list shows all default markets.',
        _text_list,
    ),
    "market.url": FieldSpec(
        _optional(_check_url),
        "Websocket endpoint for a live source; unset = the source's usual address.",
        example='"wss://api.hyperliquid.xyz/ws"',
    ),
    "market.scenario": FieldSpec(
        _optional(_text), 'Scenario name, used when source = "scenario".', example='"my-scenario"'
    ),
    "market.replay_file": FieldSpec(
        _optional(_text),
        'Recorded price file to play back, used when source = "replay".',
        example='"path/to/recording"',
    ),
    "market.speed": FieldSpec(
        _choice(*SPEEDS),
        f"Playback speed for scenario and replay: {_either(str(s) for s in SPEEDS)}.",
        _text_number,
    ),
    "market.max_tick_move": FieldSpec(
        _number(0, 100),
        "Largest believable price move in one tick (0.5 = 50 %); a bigger jump waits for 3 "
        "ticks to confirm it. 0 = off.",
        _text_number,
    ),
    "market.execution": FieldSpec(
        _choice(*EXECUTIONS),
        'Fills: "frictionless" (at the mark), "realistic" or "thin" (through an order book).',
    ),
    "market.slippage_limit": FieldSpec(
        _number(0.0001, 0.5),
        "Farthest from the mark a market order fills, 0.0001 to 0.5 (0.08 = 8%).",
        _text_number,
    ),
    "market.book_max_age": FieldSpec(
        _number(0.1, 3600),
        "Seconds a book may lag its market's last mark and still price a fill.",
        _text_number,
    ),
    "ui.refresh_hz": FieldSpec(
        _number(1, 60), "Screen refreshes per second, 1 to 60.", _text_number
    ),
    "ui.theme": FieldSpec(_text, 'Colour theme name, e.g. "textual-dark" or "nord".'),
    "ui.bell": FieldSpec(
        _boolean, "Ring the terminal bell with a risk alert: true or false.", _text_boolean
    ),
    "ui.alert_margin_ratio": FieldSpec(
        _number(0.05, 1),
        "Alert when the cross margin ratio reaches this, 0.05 to 1 (0.8 = 80%).",
        _text_number,
    ),
    "ui.alert_liquidation_distance": FieldSpec(
        _number(0.001, 0.5),
        "Alert when a position is this close to liquidation, 0.001 to 0.5 (0.02 = 2%).",
        _text_number,
    ),
    "ui.favourites": FieldSpec(
        _check_names,
        'Starred markets (* in Markets), listed first, e.g. ["BTC", "ETH"].',
        _text_list,
    ),
}
SECTIONS = ("trading", "account", "fees", "market", "ui", "keymap")


def _split_key(key: str) -> tuple[str, str]:
    section, _, name = key.partition(".")
    if key not in FIELDS and not key.startswith("keymap."):
        raise KeyError(f"unknown setting {key!r}")
    return section, name


def _check(key: str, check: Callable[[object], Any], raw: object) -> Any:
    try:
        return check(raw)
    except ValueError as exc:
        raise ValueError(f"{key} {exc} (got {_show(raw)})") from None


def parse_field(key: str, text: str) -> Any:
    """Validate text typed into the settings screen; returns the model value for ``key``.

    Raises ``ValueError`` with a sentence naming the key and the allowed values.
    """
    _split_key(key)
    if key.startswith("keymap."):
        return _check(key, _check_keys, text)
    spec = FIELDS[key]
    return _check(key, spec.check, spec.from_text(text))


def format_field(key: str, value: Any) -> str:
    """A model value as text for the settings screen; :func:`parse_field` reads it back."""
    _split_key(key)
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(value)
    return _fmt(value) if isinstance(value, float) else str(value)  # OrderSize: "$500" / "0.5"


def _show(raw: object, depth: int = 0) -> str:
    """A value as TOML-ish text for messages (nested lists beyond three levels as ``[...]``)."""
    if depth > 3 and isinstance(raw, list | tuple):
        return "[...]"
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        return "an array of tables"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        shown = f'"{safe_text(raw)}"'
    elif isinstance(raw, list | tuple):
        items = [_show(item, depth + 1) for item in raw[:5]] + (["..."] if len(raw) > 5 else [])
        shown = "[" + ", ".join(items) + "]"
    elif isinstance(raw, int) and raw.bit_length() > 128:  # str() of 4,300+ digits raises
        shown = f"a number of {len(str(abs(raw))) if raw.bit_length() < 14000 else 'many'} digits"
    else:
        shown = str(raw)
    return shown if len(shown) <= 40 else shown[:37] + "..."


# --- paths and loading ------------------------------------------------------------------


def resolve_config_path(
    cli_path: str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """``--config`` wins over ``$PERPDESK_CONFIG``, which wins over the default location.

    The default is ``config.toml`` in the platform's config directory
    (``$XDG_CONFIG_HOME/perpdesk`` on Linux). ``environ`` (default ``os.environ``) is only
    consulted for ``PERPDESK_CONFIG``.
    """
    env = os.environ if environ is None else environ
    chosen = cli_path or env.get(ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return platformdirs.user_config_path("perpdesk") / "config.toml"


def _from_data(data: Mapping[str, Any]) -> tuple[Settings, list[str], set[str]]:
    """Validated settings from parsed TOML, a message per problem, and the invalid keys."""
    settings, problems, invalid = _checked(data)
    return settings, [message for _, message in problems], invalid


def _checked(data: Mapping[str, Any]) -> tuple[Settings, list[tuple[str, str]], set[str]]:
    """:func:`_from_data`, each message with the key (or table) it is about."""
    settings, messages, invalid = DEFAULTS, [], set()
    for section, content in data.items():
        if section not in SECTIONS:
            kind = "table" if isinstance(content, dict) else "key"
            messages.append((section, f"unknown {kind} {section} is kept but ignored."))
        elif not isinstance(content, dict):
            messages.append(
                (
                    section,
                    f"{section} must be a table ([{section}]), not {_show(content)}; "
                    f"using the defaults for all {section} settings.",
                )
            )
        elif section == "keymap":
            for name, raw in content.items():
                try:
                    settings = settings.with_value(f"keymap.{name}", raw)
                except ValueError as exc:
                    messages.append((f"keymap.{name}", f"{exc}; binding ignored."))
                    invalid.add(f"keymap.{name}")
        else:
            for name, raw in content.items():
                key = f"{section}.{name}"
                if key not in FIELDS:
                    messages.append((key, f"unknown key {key} is kept but ignored."))
                    continue
                try:
                    settings = settings.with_value(key, raw)
                except ValueError as exc:
                    default = _toml_value(DEFAULTS.get(key))
                    fallback = "unset" if default is None else _show(default)
                    messages.append((key, f"{exc}; using the default ({fallback})."))
                    invalid.add(key)
    return settings, messages, invalid


_HEADER = re.compile(r"\s*\[\s*(\"?)([^\[\]\"]+)\1\s*\]\s*(#.*)?$")
_KEY = re.compile(r"\s*(\"?)([A-Za-z0-9_.-]+)\1\s*=")


def _lines_of_keys(text: str) -> dict[str, int]:
    """Where each key (``"trading.default_leverage"``) and table (``"trading"``) is written
    in ``text``: its line number, from 1 (the first place, for one written twice). Keys
    written in shapes this does not follow (inline tables, quoted dotted keys) are absent."""
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header[2].strip()
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault(f"{table}.{key[2]}" if table else key[2], number)
    return found


def _with_lines(text: str, problems: list[tuple[str, str]]) -> list[str]:
    """Each message ending with the line it is about ("... (line 3)."), where known."""
    lines = _lines_of_keys(text)
    out = []
    for key, message in problems:
        if key in lines:
            message = f"{message.removesuffix('.')} (line {lines[key]})."
        out.append(message)
    return out


def _decode_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    text = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", text, re.S)
    if found:
        what, where = found[1], f"line {found[2]}, column {found[3]}"
    else:
        what, where = text.replace(" (at end of document)", ""), "at the end of the file"
    what = what[:1].lower() + what[1:]
    return f"{path} {where}: {what}. Using defaults; the file was not changed."


MAX_CONFIG_BYTES = 16 * 2**20
"""A settings file larger than this (16 MiB) is refused unread: perpdesk's own file is a few
kilobytes, and a path such as ``/dev/zero`` or a FIFO must never be read forever."""


@dataclass(frozen=True)
class _Snapshot:
    """A settings file as read: its bytes and what identifies this version of it."""

    data: bytes
    identity: tuple[int, int, int, int]  # device, inode, size, modification time (ns)
    mode: int


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _read_file(path: Path) -> _Snapshot | None:
    """``path`` read whole, or None when it does not exist.

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read; anything else raises
    ``OSError`` with a reason for the user. Opened non-blocking, so a FIFO without a writer
    cannot hang the caller either.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"it is {_kind(info.st_mode)}, not a regular file")
        too_big = OSError(
            errno.EFBIG,
            f"it is larger than {MAX_CONFIG_BYTES // 2**20} MB, the most a settings file may be",
        )
        if info.st_size > MAX_CONFIG_BYTES:
            raise too_big
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(2**20, MAX_CONFIG_BYTES + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_CONFIG_BYTES:  # it grew while being read
                raise too_big
        return _Snapshot(b"".join(chunks), _identity(info), stat.S_IMODE(info.st_mode))
    finally:
        os.close(fd)


def _parse(data: bytes) -> tuple[str, dict[str, Any]]:
    """The text (a BOM is tolerated) and its TOML data. Raises ``UnicodeDecodeError``,
    ``tomllib.TOMLDecodeError``, ``RecursionError`` (nested too deeply for Python's stack) or
    ``ValueError`` (a number of more than 4,300 digits)."""
    text = data.decode("utf-8-sig")
    return text, tomllib.loads(text)


_TOO_DEEP = "nests tables or arrays too deeply to be read"
_TOO_LONG = "holds a number too long to be read (more than 4,300 digits)"


def load_settings(path: str | os.PathLike[str] | None = None) -> LoadResult:
    """Load settings from ``path`` (default: :func:`resolve_config_path`). Never raises."""
    path = resolve_config_path() if path is None else Path(path)
    unchanged = "Using defaults; the file was not changed."
    try:
        snapshot = _read_file(path)
        if snapshot is None:
            return LoadResult(Settings(), path, [], False)
        text, data = _parse(snapshot.data)
        settings, problems, _ = _checked(data)
        messages = _with_lines(text, problems)
    except OSError as exc:
        problem = f"{path} could not be read ({_reason(exc)}). Using defaults."
    except UnicodeDecodeError as exc:
        problem = f"{path} is not UTF-8 text (bad byte at offset {exc.start}). {unchanged}"
    except tomllib.TOMLDecodeError as exc:
        problem = _decode_error(path, exc)
    except RecursionError:
        problem = f"{path} {_TOO_DEEP}. {unchanged}"
    except ValueError:
        problem = f"{path} {_TOO_LONG}. {unchanged}"
    else:
        return LoadResult(settings, path, [safe_text(m) for m in messages], False)
    return LoadResult(Settings(), path, [safe_text(problem)], True)


# --- saving -------------------------------------------------------------------------------


def _toml_value(value: Any) -> Any:
    """Model value -> TOML value; None means the key is absent."""
    if isinstance(value, OrderSize):
        return str(value) if value.unit == "usd" else value.amount
    if isinstance(value, tuple):
        return list(value)
    return value


def _toml_literal(value: Any) -> str:
    import tomlkit

    return str(tomlkit.item(value).as_string())


def example_text(settings: Settings = DEFAULTS) -> str:
    """A complete, commented config file holding ``settings`` (``config.example.toml``)."""
    lines = [
        "# perpdesk settings. Every key is optional: a missing key uses the default shown here.",
        "# Location: $XDG_CONFIG_HOME/perpdesk/config.toml (usually ~/.config/perpdesk/),",
        "# or the file named by $PERPDESK_CONFIG, or by --config PATH (which wins).",
    ]
    for key, spec in FIELDS.items():
        section, name = key.split(".")
        if f"[{section}]" not in lines:
            lines += ["", f"[{section}]"]
        lines.append(f"# {spec.help}")
        value = _toml_value(settings.get(key))
        if value is None:
            lines.append(f"# {name} = {spec.example}")
        else:
            lines.append(f"{name} = {_toml_literal(value)}")
    lines += [
        "",
        "[keymap]",
        "# Key bindings: binding id = keys (comma-separated), e.g.",
        '# buy = "b,f1"',
    ]
    lines += [f"{_toml_literal(k)} = {_toml_literal(v)}" for k, v in settings.keymap.items()]
    return "\n".join(lines) + "\n"


Edit = tuple[str, str, Any]  # (section, name, TOML value or None to remove the key)


def _edits(old: Settings, invalid: set[str], new: Settings) -> list[Edit]:
    """The keys where ``new`` differs from the file, in file-writing order.

    ``old`` holds the file's valid values (defaults where a key is absent); keys in ``invalid``
    hold a bad value in the file and are always rewritten (or removed when unset in ``new``).
    """
    edits: list[Edit] = []
    bindings = {f"keymap.{name}": None for name in {**old.keymap, **new.keymap}}
    for key in [*FIELDS, *bindings, *sorted(invalid - bindings.keys() - FIELDS.keys())]:
        value = new.get(key)
        if value == old.get(key) and key not in invalid:
            continue
        section, name = key.split(".", 1)
        edits.append((section, name, _toml_value(value)))
    return edits


def _edit_document(doc: TOMLDocument, edits: list[Edit]) -> str:
    """``doc`` with ``edits`` applied (a section that is not a table is replaced by one)."""
    import tomlkit
    from tomlkit.items import InlineTable, Table

    def table(section: str) -> Table | InlineTable:
        if not isinstance(doc.get(section), Table | InlineTable):
            if section in doc:
                del doc[section]  # e.g. "trading = 5": reported on load, replaced now
            doc.add(section, tomlkit.table())
        found = doc[section]
        assert isinstance(found, Table | InlineTable)
        return found

    for section, name, value in edits:
        if value is None:
            del table(section)[name]
        else:
            table(section)[name] = value
    return doc.as_string()


_ANY_HEADER = re.compile(r"^[ \t]*\[", re.M)


def _edit_by_section(text: str, data: Mapping[str, Any], edits: list[Edit]) -> str | None:
    """``text`` with ``edits`` applied, sending only the tables they touch through ``tomlkit``
    (a few lines) instead of the whole file: the cost of a save then follows what changed, not
    the file's size. None when the file's shape needs the whole document (a section defined by
    dotted keys, an inline table, a quoted or repeated header) or the result does not read back
    as exactly the intended data (checked with ``tomllib``); the caller then edits it whole.
    """
    import copy

    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    starts = [found.start() for found in _ANY_HEADER.finditer(text)]
    pieces: dict[int, tuple[int, str]] = {}  # chunk start -> (chunk end, edited chunk)
    appended: list[str] = []
    expected = copy.deepcopy(dict(data))
    for section in dict.fromkeys(section for section, _, _ in edits):
        mine = [(section, name, value) for s, name, value in edits if s == section]
        header = re.compile(rf"[ \t]*\[[ \t]*{section}[ \t]*\][ \t]*(#[^\n]*)?(\r?\n|$)")
        own = [start for start in starts if header.match(text, start)]
        if section in data:
            if len(own) != 1 or not isinstance(data[section], dict):
                return None
            begin = own[0]
            end = next((start for start in starts if start > begin), len(text))
            try:
                doc = tomlkit.parse(text[begin:end])
            except TOMLKitError:
                return None
            if list(doc) != [section]:
                return None
            pieces[begin] = (end, _edit_document(doc, mine))
        else:
            if own:
                return None
            doc = tomlkit.document()
            appended.append(_edit_document(doc, mine))
        table = expected.setdefault(section, {})
        for _, name, value in mine:
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value
    out: list[str] = []
    at = 0
    for begin in sorted(pieces):
        end, edited = pieces[begin]
        out += [text[at:begin], edited]
        at = end
    out.append(text[at:])
    for piece in appended:
        so_far = "".join(out)
        gap = "\n\n"[: 2 - len(so_far[-2:]) + len(so_far[-2:].rstrip("\n"))] if so_far else ""
        out.append(gap + piece)  # one blank line before a new table, as tomlkit does
    result = "".join(out)
    try:
        if tomllib.loads(result) != expected:
            return None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None
    return result


MAX_BACKUPS = 10
"""Backups kept of files that were not valid TOML: ``config.toml.bak``, ``.bak.1`` ...
``.bak.9``. An existing backup is never overwritten: with all ten present, saving over another
invalid file is refused until the user removes some."""

LARGE_CONFIG_BYTES = 64 * 1024
"""Above this size a settings file is edited section by section (only the tables that change
go through ``tomlkit``, whose whole-file parse takes seconds on megabytes), and the settings
screen saves it off the event loop (reading and checking it still takes ``tomllib`` time)."""


class SettingsChangedError(SettingsSaveError):
    """The file changed on disk (another program saved it) while perpdesk was saving: nothing
    was written, so that program's edit stands. Save again to apply the changes onto it."""


@dataclass(frozen=True)
class SaveResult:
    settings: Settings
    """What the file holds now: the file's own settings with the requested changes applied."""
    messages: list[str]
    """For the user, one sentence each (e.g. a backup was made)."""


def save_settings(settings: Settings, path: str | os.PathLike[str]) -> list[str]:
    """Write ``settings`` to ``path``, changing only what differs from the file.

    Returns messages for the user (e.g. a backup was made); raises :class:`SettingsSaveError`
    (:class:`SettingsChangedError` when another program changed the file meanwhile).
    """
    return _save(Path(path), lambda _: settings).messages


def save_changes(
    changes: Mapping[str, Any], path: str | os.PathLike[str], *, fallback: Settings = DEFAULTS
) -> SaveResult:
    """Apply ``changes`` (key -> model value) onto the settings file as it is at this moment
    and write it, changing only those keys: whatever else the file holds (edits made by hand
    while perpdesk ran) stands. ``fallback`` is the base when the file is not valid TOML (it is
    then backed up and replaced). Raises like :func:`save_settings`.
    """

    def apply(on_file: Settings | None) -> Settings:
        result = fallback if on_file is None else on_file
        for key, value in changes.items():
            result = result.with_value(key, value)
        return result

    return _save(Path(path), apply)


def _save(path: Path, build: Callable[[Settings | None], Settings]) -> SaveResult:
    """The one way settings are written. ``build`` gets the file's valid settings (defaults
    for a missing file, None for a file that is not valid TOML) and returns what to save.

    The file is read once. Just before the new version replaces it, it is read again and
    compared (device, inode, size, modification time and every byte); if anything differs, a
    program saved it meanwhile and nothing is written (:class:`SettingsChangedError`). The
    replacement is atomic (a temporary file renamed over it), keeps the file's permissions,
    its byte-order mark and its CRLF line endings.
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    cannot = f"Could not save settings to {path}"
    try:
        snapshot = _settled(target)
    except OSError as exc:
        raise SettingsSaveError(f"{cannot}: {_reason(exc)}.") from exc
    messages: list[str] = []
    text: str | None = None
    replaced: list[str] = []  # keys whose invalid value in the file this save replaces
    if snapshot is None:
        new = build(DEFAULTS)
    else:
        try:
            old_text, data = _parse(snapshot.data)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            new = build(None)  # not TOML at all: backed up below, then replaced
        except RecursionError as exc:
            raise SettingsSaveError(_cannot_edit(path, _TOO_DEEP)) from exc
        except ValueError as exc:
            raise SettingsSaveError(_cannot_edit(path, _TOO_LONG)) from exc
        else:
            old, _, invalid = _from_data(data)
            new = build(old)
            if new == old and not invalid:
                return SaveResult(new, messages)  # nothing to change: not even parsed again
            text = _edited_text(path, old_text, data, _edits(old, invalid, new))
            if snapshot.data.startswith(b"\xef\xbb\xbf"):
                text = "\ufeff" + text
            replaced = sorted(invalid)
    backup = snapshot is not None and (text is None or bool(replaced))
    if text is None:  # a fresh file (none yet, or one that was not TOML: CRLF stays CRLF)
        text = _endings_like(b"" if snapshot is None else snapshot.data, example_text(new))
    data_out = text.encode("utf-8")
    if snapshot is not None and data_out == snapshot.data:
        return SaveResult(new, messages)
    mode = None if snapshot is None else snapshot.mode
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _temporary(target, data_out, mode) as tmp:
            _check_unchanged(path, target, snapshot)
            if backup:
                assert snapshot is not None
                why = "has values perpdesk could not use" if replaced else "is not valid TOML"
                saved_to = _backup(path, snapshot.data, snapshot.mode, why)
                if replaced:
                    shown = ", ".join(replaced[:5]) + (" ..." if len(replaced) > 5 else "")
                    messages.append(
                        f"{path} had values perpdesk could not use ({shown}); saving replaced "
                        f"them with the values in effect. The file as it was is kept at "
                        f"{saved_to}."
                    )
                else:
                    messages.append(
                        f"{path} was not valid TOML, so it was copied to {saved_to} "
                        "and replaced with a fresh settings file."
                    )
            _replace(path, target, tmp, snapshot)
    except OSError as exc:
        raise SettingsSaveError(f"{cannot}: {_reason(exc)}.") from exc
    return SaveResult(new, [safe_text(m) for m in messages])


SETTLE_SECONDS = 0.05
"""A file modified less than this long ago may be half-written (an editor truncates it, then
writes): it is read again after a short wait until two readings agree."""


def _settled(target: Path) -> _Snapshot | None:
    """:func:`_read_file`, read again until it stops changing if it was only just modified
    (at most half a second of waiting, and only for a file touched in the last moments)."""
    snapshot = _read_file(target)
    deadline = time.monotonic() + 0.5
    while snapshot is not None and time.monotonic() < deadline:
        age = time.time() - snapshot.identity[3] / 1e9
        if not 0 <= age < SETTLE_SECONDS:  # quiet for a while (or a clock in the future)
            break
        time.sleep(SETTLE_SECONDS / 5)
        again = _read_file(target)
        if again == snapshot:
            break
        snapshot = again
    return snapshot


def _cannot_edit(path: Path, why: str) -> str:
    return (
        f"Not saved: {path} is not something perpdesk can edit without losing your comments "
        f"and other keys (it {why}), so the file was not changed. Edit it by hand instead."
    )


def _edited_text(
    path: Path,
    old_text: str,
    data: Mapping[str, Any],
    edits: list[Edit],
) -> str:
    """``old_text`` with only ``edits`` applied (comments, order, unknown keys and line endings
    kept); :class:`SettingsSaveError` if ``tomlkit`` cannot edit it. A large file is edited
    section by section (see :func:`_edit_by_section`)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    by_section = None
    if len(old_text) > LARGE_CONFIG_BYTES:
        by_section = _edit_by_section(old_text, data, edits)
    try:
        text = (
            by_section if by_section is not None else _edit_document(tomlkit.parse(old_text), edits)
        )
    except (TOMLKitError, RecursionError, ValueError) as exc:
        # tomllib read it, tomlkit will not (e.g. nested more than 100 levels): replacing it
        # with a fresh file would lose the user's comments, so it is left alone.
        raise SettingsSaveError(
            _cannot_edit(path, "nests tables or arrays more than 100 levels deep")
        ) from exc
    return _endings_like(old_text.encode("utf-8", "surrogatepass"), text)


def _endings_like(old: bytes, text: str) -> str:
    """``text`` with CRLF line endings if every line of ``old`` ends CRLF."""
    crlf = old.count(b"\r\n")
    if crlf and crlf == old.count(b"\n"):
        return re.sub(r"(?<!\r)\n", "\r\n", text)
    return text


@contextlib.contextmanager
def _temporary(target: Path, data: bytes, mode: int | None) -> Iterator[str]:
    """A temporary file beside ``target`` holding ``data`` (synced, with ``mode``); removed
    afterwards unless it was renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _check_unchanged(
    path: Path, target: Path, snapshot: _Snapshot | None, *, quick: bool = False
) -> None:
    """Raise :class:`SettingsChangedError` unless ``target`` is still the version read (or
    still absent). ``quick`` compares what ``stat`` says only (the last check before the
    rename, as close to it as possible); otherwise every byte is compared too."""
    try:
        if quick:
            now: tuple[int, int, int, int] | None = _identity(os.stat(target))
            same = snapshot is not None and now == snapshot.identity
        else:
            again = _read_file(target)
            now = None if again is None else again.identity
            same = snapshot is not None and again is not None and again == snapshot
    except FileNotFoundError:
        now, same = None, False
    except OSError:
        now, same = (0, 0, 0, 0), False
    if same or (snapshot is None and now is None):
        return
    raise SettingsChangedError(
        f"Not saved: {path} was changed by another program while perpdesk was saving, so it "
        "was left as that program wrote it. Save again (ctrl+s) to apply your changes onto it, "
        "or Esc to discard them."
    )


def _replace(path: Path, target: Path, tmp: str, snapshot: _Snapshot | None) -> None:
    """Put ``tmp`` in place of ``target`` unless another program changed ``target`` since it
    was read (:class:`SettingsChangedError`, and that program's text stands).

    On Linux the two are swapped atomically (``renameat2(RENAME_EXCHANGE)``) and what was
    swapped out is checked afterwards: if it is not the file that was read, it is swapped
    straight back, so no window exists in which a program's save can be overwritten. Elsewhere
    a last ``stat`` comparison precedes a plain rename (a program renaming its own file into
    place in the microseconds between the two is the one case that cannot be seen there).

    The file read is also held open across the swap: a program writing into it in place (an
    editor truncating and rewriting it) around that instant writes into the file just swapped
    out. Its size or time then differs afterwards: perpdesk waits for that writing to settle
    and puts the text back whole.
    """
    changed = SettingsChangedError(
        f"Not saved: {path} was changed by another program while perpdesk was saving, so it "
        "was left as that program wrote it. Save again (ctrl+s) to apply your changes onto "
        "it, or Esc to discard them."
    )
    if snapshot is None:
        _check_unchanged(path, target, None, quick=True)
        os.replace(tmp, target)
        return
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC)
    except FileNotFoundError:
        raise changed from None
    try:
        ours = os.stat(tmp).st_ino
        if _identity(os.fstat(fd)) != snapshot.identity:
            raise changed
        if _exchange(tmp, target):  # tmp now names what target was an instant ago
            if _identity(os.stat(tmp)) != snapshot.identity:
                _exchange(tmp, target)  # theirs goes back in place
                if os.stat(tmp).st_ino != ours:  # and yet another one came meanwhile
                    _backup(path, Path(tmp).read_bytes(), snapshot.mode)
                raise changed
            os.unlink(tmp)
        else:
            _check_unchanged(path, target, snapshot, quick=True)
            os.replace(tmp, target)
        if _identity(os.fstat(fd))[2:] == snapshot.identity[2:]:
            return
        written = _settled_content(fd)  # written in place around the swap: put it back
        if os.stat(target).st_ino == ours:
            with _temporary(target, written, snapshot.mode) as back:
                os.replace(back, target)
        else:
            _backup(path, written, snapshot.mode)
        raise changed
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_no_exchange = False


def _exchange(a: str | Path, b: str | Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not available."""
    global _no_exchange
    if _no_exchange or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        _no_exchange = True
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # old kernel, or this filesystem
        return False
    raise OSError(code, os.strerror(code), str(b))


def _settled_content(fd: int) -> bytes:
    """Everything in the open file ``fd`` once it has stopped changing (waits at most 1 s)."""
    deadline = time.monotonic() + 1.0
    before = os.fstat(fd)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_SECONDS / 5)
        after = os.fstat(fd)
        if _identity(after) == _identity(before):
            break
        before = after
    size = min(os.fstat(fd).st_size, MAX_CONFIG_BYTES)
    chunks, offset = [], 0
    while offset < size and (chunk := os.pread(fd, min(2**20, size - offset), offset)):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _backup(path: Path, data: bytes, mode: int, why: str = "is not valid TOML") -> Path:
    """Copy ``data`` to the first free name of ``path.bak``, ``path.bak.1`` ... (never over an
    existing file: ``O_EXCL``); ``SettingsSaveError`` when all :data:`MAX_BACKUPS` are taken.
    ``why`` says why the file is backed up, in those messages."""
    names = [Path(f"{path}.bak")] + [Path(f"{path}.bak.{n}") for n in range(1, MAX_BACKUPS)]
    for name in names:
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            raise SettingsSaveError(
                f"{path} {why} and could not be backed up to {name} "
                f"({_reason(exc)}), so it was not changed."
            ) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, mode)  # O_CREAT applies the umask
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise SettingsSaveError(
                f"{path} {why} and could not be backed up to {name} "
                f"({_reason(exc)}), so it was not changed."
            ) from exc
        return name
    raise SettingsSaveError(
        f"{path} {why}, and all {MAX_BACKUPS} backup names ({names[0].name} to "
        f"{names[-1].name}) are taken, so it was not changed. Remove the backups you no longer "
        "need, then save again."
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
