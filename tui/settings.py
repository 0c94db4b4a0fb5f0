"""User settings: a typed model, loaded from TOML with ``tomllib`` and saved with ``tomlkit``.

Loading never raises: a bad file or a bad value falls back to defaults and is reported in
``LoadResult.messages``. Saving edits the existing file in place (only the values that changed),
so the user's comments, order and unknown keys survive. Each rule is implemented once, in the
``_check_*`` validators, which both the loader and :func:`parse_field` use.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs

from tui.engine.limits import MAX_BALANCE
from tui.safe import safe_text

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

ENV_VAR = "PERPDESK_CONFIG"
MARGIN_MODES = ("isolated", "cross")
VENUES = ("hyperliquid", "binance")
SOURCES = ("sim", "scenario", "hyperliquid", "binance", "replay")
SPEEDS = (1, 10, 60)
EXECUTIONS = ("frictionless", "realistic", "thin")


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
    taker: float = 0.00045
    maker: float = 0.00015


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


def _check_seed(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise ValueError("must be a whole number, or left unset for a random seed")
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
        if raw > 0:
            return OrderSize(raw, "base")
    elif isinstance(raw, str) and raw.strip().startswith("$"):
        try:
            usd = float(raw.strip()[1:].replace(",", ""))
        except ValueError:
            usd = math.nan
        if math.isfinite(usd) and usd > 0:
            return OrderSize(usd, "usd")
    raise ValueError('must be a size in base units such as 0.5, or a USD amount such as "$500"')


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
        _number(0, 0.01), "Taker fee rate, 0 to 0.01 (0.00045 = 0.045%).", _text_number
    ),
    "fees.maker": FieldSpec(
        _number(0, 0.01), "Maker fee rate, 0 to 0.01 (0.00015 = 0.015%).", _text_number
    ),
    "market.source": FieldSpec(
        _choice(*SOURCES),
        'Where prices come from: "sim", "scenario", "hyperliquid", "binance" or "replay".',
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
        _choice(*SPEEDS), "Playback speed for scenario and replay: 1, 10 or 60.", _text_number
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


def _show(raw: object) -> str:
    """A value as TOML-ish text for messages."""
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        return "an array of tables"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        shown = f'"{safe_text(raw)}"'
    elif isinstance(raw, list | tuple):
        shown = "[" + ", ".join(_show(item) for item in raw) + "]"
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
    settings, messages, invalid = DEFAULTS, [], set()
    for section, content in data.items():
        if section not in SECTIONS:
            kind = "table" if isinstance(content, dict) else "key"
            messages.append(f"unknown {kind} {section} is kept but ignored.")
        elif not isinstance(content, dict):
            messages.append(
                f"{section} must be a table ([{section}]), not {_show(content)}; "
                f"using the defaults for all {section} settings."
            )
        elif section == "keymap":
            for name, raw in content.items():
                try:
                    settings = settings.with_value(f"keymap.{name}", raw)
                except ValueError as exc:
                    messages.append(f"{exc}; binding ignored.")
                    invalid.add(f"keymap.{name}")
        else:
            for name, raw in content.items():
                key = f"{section}.{name}"
                if key not in FIELDS:
                    messages.append(f"unknown key {key} is kept but ignored.")
                    continue
                try:
                    settings = settings.with_value(key, raw)
                except ValueError as exc:
                    default = _toml_value(DEFAULTS.get(key))
                    fallback = "unset" if default is None else _show(default)
                    messages.append(f"{exc}; using the default ({fallback}).")
                    invalid.add(key)
    return settings, messages, invalid


def _decode_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    text = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", text, re.S)
    if found:
        what, where = found[1], f"line {found[2]}, column {found[3]}"
    else:
        what, where = text.replace(" (at end of document)", ""), "at the end of the file"
    what = what[:1].lower() + what[1:]
    return f"{path} {where}: {what}. Using defaults; the file was not changed."


def load_settings(path: str | os.PathLike[str] | None = None) -> LoadResult:
    """Load settings from ``path`` (default: :func:`resolve_config_path`). Never raises."""
    path = resolve_config_path() if path is None else Path(path)
    unchanged = "Using defaults; the file was not changed."
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # a BOM is tolerated
    except FileNotFoundError:
        return LoadResult(Settings(), path, [], False)
    except OSError as exc:
        problem = f"{path} could not be read ({_reason(exc)}). Using defaults."
    except UnicodeDecodeError as exc:
        problem = f"{path} is not UTF-8 text (bad byte at offset {exc.start}). {unchanged}"
    except tomllib.TOMLDecodeError as exc:
        problem = _decode_error(path, exc)
    else:
        settings, messages, _ = _from_data(data)
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


def _edit_document(doc: TOMLDocument, old: Settings, invalid: set[str], new: Settings) -> str:
    """``doc`` with only the keys where ``new`` differs from the file changed.

    ``old`` holds the file's valid values (defaults where a key is absent); keys in ``invalid``
    hold a bad value in the file and are always rewritten (or removed when unset in ``new``).
    """
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

    bindings = {f"keymap.{name}": None for name in {**old.keymap, **new.keymap}}
    for key in [*FIELDS, *bindings, *sorted(invalid - bindings.keys() - FIELDS.keys())]:
        value = new.get(key)
        if value == old.get(key) and key not in invalid:
            continue
        section, name = key.split(".", 1)
        toml_value = _toml_value(value)
        if toml_value is None:
            del table(section)[name]
        else:
            table(section)[name] = toml_value
    return doc.as_string()


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_settings(settings: Settings, path: str | os.PathLike[str]) -> list[str]:
    """Write ``settings`` to ``path``, changing only what differs from the file.

    Returns messages for the user (e.g. a backup was made); raises :class:`SettingsSaveError`.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    messages: list[str] = []
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise SettingsSaveError(f"Could not save settings to {path}: {_reason(exc)}.") from exc
    mode = None if raw is None else os.stat(target).st_mode & 0o7777
    new_text: str | None = None
    if raw is not None:
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        try:
            old_text = raw.decode("utf-8-sig")
            old_settings, _, invalid = _from_data(tomllib.loads(old_text))
            doc = tomlkit.parse(old_text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, TOMLKitError):
            backup = Path(f"{path}.bak")
            try:
                _atomic_write(backup, raw, mode)
            except OSError as exc:
                raise SettingsSaveError(
                    f"{path} is not valid TOML and could not be backed up to {backup} "
                    f"({_reason(exc)}), so it was not changed."
                ) from exc
            messages.append(
                f"{path} was not valid TOML, so it was copied to {backup} "
                "and replaced with a fresh settings file."
            )
        else:
            bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
            new_text = bom + _edit_document(doc, old_settings, invalid, settings)
    if new_text is None:
        new_text = example_text(settings)
    data = new_text.encode("utf-8")
    if data == raw:
        return messages
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data, mode)
    except OSError as exc:
        raise SettingsSaveError(f"Could not save settings to {path}: {_reason(exc)}.") from exc
    return messages


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
