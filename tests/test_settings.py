"""Settings model, TOML loading (never raises) and comment-preserving saving."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui import settings as settings_module
from tui.safe import safe_text
from tui.settings import (
    DEFAULTS,
    FIELDS,
    OrderSize,
    Settings,
    SettingsSaveError,
    example_text,
    format_field,
    load_settings,
    parse_field,
    resolve_config_path,
    save_settings,
)

REPO = Path(__file__).resolve().parents[1]

HAND_WRITTEN = """\
# My perpdesk setup.
# I trade small.

[trading]
default_margin_mode = "cross"   # I like cross
default_leverage = 3

# sizes in dollars
default_order_size = "$250"
my_note = "remember to breathe"   # unknown key, must survive

[market]
source   =   "sim"
seed=7
markets = ["BTC", "ETH"]  # just these two

[plugins]   # unknown table
enabled = true

[ui]
theme = "nord"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


# --- model and defaults ----------------------------------------------------------------


def test_defaults_match_the_issue() -> None:
    s = Settings()
    assert s == DEFAULTS
    assert s.trading.default_margin_mode == "isolated"
    assert type(s.trading.default_margin_mode) is str
    assert s.trading.default_leverage == 5
    assert s.trading.default_order_size == OrderSize(1000, "usd")
    assert str(s.trading.default_order_size) == "$1000"
    assert s.account.starting_balance == 10000
    assert (s.fees.taker, s.fees.maker) == (None, None)  # unset: the venue's base tier
    assert s.market.source == "sim"
    assert s.market.seed is None
    assert s.market.markets == ()
    assert (s.market.url, s.market.scenario, s.market.replay_file) == (None, None, None)
    assert s.market.speed == 1
    assert (s.ui.refresh_hz, s.ui.theme) == (10, "textual-dark")
    assert dict(s.keymap) == {}


def test_with_value_validates_and_copies() -> None:
    changed = DEFAULTS.with_value("trading.default_leverage", 20)
    assert changed.trading.default_leverage == 20
    assert DEFAULTS.trading.default_leverage == 5
    assert changed.ui == DEFAULTS.ui
    assert changed.with_value("keymap.buy", "b,f1").keymap == {"buy": "b,f1"}
    assert dict(DEFAULTS.keymap) == {}
    with pytest.raises(ValueError, match=r"^trading\.default_leverage "):
        DEFAULTS.with_value("trading.default_leverage", 0)
    with pytest.raises(KeyError):
        DEFAULTS.with_value("trading.nope", 1)
    # dataclasses.replace works too (frozen dataclasses)
    assert dataclasses.replace(DEFAULTS.ui, theme="nord").theme == "nord"


def test_tomlkit_is_not_imported_at_startup() -> None:
    code = "import sys, tui.settings; sys.exit('tomlkit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


# --- config path resolution ------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PERPDESK_CONFIG", raising=False)
    if sys.platform.startswith("linux"):
        assert resolve_config_path() == tmp_path / "xdg" / "perpdesk" / "config.toml"
    assert resolve_config_path().name == "config.toml"

    monkeypatch.setenv("PERPDESK_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path() == tmp_path / "env.toml"
    assert resolve_config_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"

    env = {"PERPDESK_CONFIG": "/from/mapping.toml"}
    assert resolve_config_path(None, env) == Path("/from/mapping.toml")
    assert resolve_config_path("/cli.toml", env) == Path("/cli.toml")
    assert resolve_config_path("~/x.toml") == Path.home() / "x.toml"
    # an explicit mapping replaces os.environ (which still names env.toml)
    for empty in ({}, {"PERPDESK_CONFIG": ""}):
        assert resolve_config_path(None, empty).parent.name == "perpdesk"


def test_load_without_path_uses_resolved_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "env.toml", "[ui]\nrefresh_hz = 30\n")
    monkeypatch.setenv("PERPDESK_CONFIG", str(target))
    result = load_settings()
    assert result.path == target
    assert result.settings.ui.refresh_hz == 30


# --- loading ---------------------------------------------------------------------------


def test_missing_file_gives_defaults_silently(cfg: Path) -> None:
    result = load_settings(cfg)
    assert (result.settings, result.messages, result.broken) == (DEFAULTS, [], False)


def test_example_file_loads_clean_and_equals_defaults() -> None:
    result = load_settings(REPO / "config.example.toml")
    assert result.messages == []
    assert not result.broken
    assert result.settings == DEFAULTS


def test_example_file_is_current_and_documents_every_key() -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    assert text == example_text(), "regenerate config.example.toml from example_text()"
    lines = text.splitlines()
    for key in FIELDS:
        section, name = key.split(".")
        header = lines.index(f"[{section}]")
        at = next(
            i for i, line in enumerate(lines) if i > header and line.lstrip("# ").startswith(name)
        )
        assert lines[at - 1].startswith("# "), f"{key} has no comment"
    assert "[keymap]" in lines


def test_hand_written_file_loads(cfg: Path) -> None:
    result = load_settings(write(cfg, HAND_WRITTEN))
    s = result.settings
    assert s.trading.default_margin_mode == "cross"
    assert s.trading.default_leverage == 3
    assert s.trading.default_order_size == OrderSize(250, "usd")
    assert s.market.seed == 7
    assert s.market.markets == ("BTC", "ETH")
    assert s.ui.theme == "nord"
    assert s.ui.refresh_hz == 10  # absent: default
    assert result.messages == [  # each names the line it is about
        "unknown key trading.my_note is kept but ignored (line 10).",
        "unknown table plugins is kept but ignored (line 17).",
    ]
    assert not result.broken


def test_malformed_toml_gives_defaults_and_position(cfg: Path) -> None:
    write(cfg, "[trading]\ndefault_leverage = 3\ndefault_margin_mode = cross\n")
    result = load_settings(cfg)
    assert result.settings == DEFAULTS
    assert result.broken
    assert len(result.messages) == 1
    message = result.messages[0]
    assert message.startswith(f"{cfg} line 3, column 23: invalid value.")
    assert message.endswith("Using defaults; the file was not changed.")
    assert cfg.read_text() == "[trading]\ndefault_leverage = 3\ndefault_margin_mode = cross\n"


def test_malformed_toml_at_end_of_file(cfg: Path) -> None:
    result = load_settings(write(cfg, "[ui]\nrefresh_hz = [1,\n"))
    assert result.broken and result.settings == DEFAULTS
    assert result.messages[0].startswith(f"{cfg} at the end of the file: ")


BAD_VALUES = [
    ("trading.default_margin_mode", '"crossed"', '"isolated" or "cross"'),
    ("trading.default_margin_mode", "1", '"isolated" or "cross"'),
    ("trading.default_leverage", "0", "from 1 to 100"),
    ("trading.default_leverage", "101", "from 1 to 100"),
    ("trading.default_leverage", '"5"', "from 1 to 100"),
    ("trading.default_leverage", "true", "from 1 to 100"),
    ("trading.default_leverage", "nan", "from 1 to 100"),
    ("trading.default_order_size", "0", '"$500"'),
    ("trading.default_order_size", '"500"', '"$500"'),
    ("trading.default_order_size", '"$-5"', '"$500"'),
    ("account.starting_balance", "-100", "greater than 0"),
    ("account.starting_balance", "0", "greater than 0"),
    ("account.venue", '"bybit"', '"hyperliquid" or "binance"'),
    ("account.venue", '"Binance"', '"hyperliquid" or "binance"'),
    ("account.starting_balance", "1e13", "at most 1,000,000,000,000"),  # the engine's bound
    ("account.starting_balance", "1" + "0" * 400, "at most 1,000,000,000,000"),
    ("fees.taker", "0.02", "from 0 to 0.01"),
    ("fees.maker", "-0.0001", "from 0 to 0.01"),
    ("market.source", '"bybit"', '"sim", "scenario", "hyperliquid", "binance" or "replay"'),
    ("market.seed", "1.5", "whole number"),
    ("market.seed", '"abc"', "whole number"),
    ("market.markets", '"BTC"', "list of symbols"),
    ("market.markets", '["BTC-PERP"]', "list of symbols"),
    ("market.markets", "[1]", "list of symbols"),
    ("market.url", '"https://example.com"', '"wss://"'),
    ("market.url", "5", '"wss://"'),
    ("market.scenario", "[]", "non-empty string"),
    ("market.replay_file", "3", "non-empty string"),
    ("market.speed", "5", "1, 10 or 60"),
    ("market.speed", '"10"', "1, 10 or 60"),
    ("market.max_tick_move", "-0.1", "from 0 to 100"),
    ("market.max_tick_move", '"50%"', "from 0 to 100"),
    ("ui.refresh_hz", "500", "from 1 to 60"),
    ("ui.refresh_hz", "0.5", "from 1 to 60"),
    ("ui.theme", '""', "non-empty string"),
    ("ui.theme", "{ name = 'x' }", "non-empty string"),
    ("ui.bell", '"no"', "true or false"),
    ("ui.bell", "0", "true or false"),
    ("ui.alert_margin_ratio", "80", "from 0.05 to 1"),
    ("ui.alert_liquidation_distance", "0", "from 0.001 to 0.5"),
]


def test_alert_settings_load_from_the_ui_table(cfg: Path) -> None:
    assert (DEFAULTS.ui.bell, DEFAULTS.ui.alert_margin_ratio) == (True, 0.8)
    assert DEFAULTS.ui.alert_liquidation_distance == 0.02
    text = "[ui]\nbell = false\nalert_margin_ratio = 0.9\nalert_liquidation_distance = 0.05\n"
    cfg.write_text(text, encoding="utf-8")
    result = load_settings(cfg)
    assert result.messages == []
    ui = result.settings.ui
    assert (ui.bell, ui.alert_margin_ratio, ui.alert_liquidation_distance) == (False, 0.9, 0.05)
    assert parse_field("ui.bell", " Off ") is False and parse_field("ui.bell", "on") is True


def test_venue_setting_loads_and_defaults_to_hyperliquid(cfg: Path) -> None:
    assert DEFAULTS.account.venue == "hyperliquid"
    cfg.write_text('[account]\nvenue = "binance"\n', encoding="utf-8")
    result = load_settings(cfg)
    assert result.messages == [] and result.settings.account.venue == "binance"
    assert DEFAULTS.with_value("account.venue", "binance").account.venue == "binance"
    with pytest.raises(ValueError, match='"hyperliquid" or "binance"'):
        DEFAULTS.with_value("account.venue", "okx")


# A valid, non-default value that can sit in the same table as the bad one.
SIBLINGS = {
    "trading.default_margin_mode": ("trading.default_leverage", "7", 7),
    "fees.taker": ("fees.maker", "0.001", 0.001),
    "market.source": ("market.speed", "60", 60),
    "ui.theme": ("ui.refresh_hz", "30", 30),
}


@pytest.mark.parametrize(("key", "literal", "allowed"), BAD_VALUES)
def test_bad_value_defaults_only_that_key(cfg: Path, key: str, literal: str, allowed: str) -> None:
    section, name = key.split(".")
    lines = [f"[{section}]", f"{name} = {literal}"]
    checks: dict[str, object] = {}
    for sibling_of, (sibling, sibling_literal, value) in SIBLINGS.items():
        if sibling_of.startswith(f"{section}.") and key not in (sibling_of, sibling):
            lines.append(f"{sibling.split('.')[1]} = {sibling_literal}")
            checks[sibling] = value
    other, other_literal, other_value = (
        ("ui.theme", '"nord"', "nord") if section != "ui" else ("fees.maker", "0", 0)
    )
    lines += [f"[{other.split('.')[0]}]", f"{other.split('.')[1]} = {other_literal}"]
    checks[other] = other_value
    write(cfg, "\n".join(lines) + "\n")

    result = load_settings(cfg)
    assert not result.broken
    assert result.settings.get(key) == DEFAULTS.get(key)
    for good_key, good_value in checks.items():
        assert result.settings.get(good_key) == good_value
    assert len(result.messages) == 1
    message = result.messages[0]
    assert message.startswith(f"{key} must be ")
    assert allowed in message
    assert "using the default" in message


def test_many_bad_values_each_reported(cfg: Path) -> None:
    write(
        cfg,
        '[trading]\ndefault_leverage = 0\ndefault_margin_mode = "crossed"\n'
        '[account]\nstarting_balance = -1\n[ui]\nrefresh_hz = 500\ntheme = "nord"\n',
    )
    result = load_settings(cfg)
    assert result.settings == DEFAULTS.with_value("ui.theme", "nord")
    assert [m.split(" ")[0] for m in result.messages] == [
        "trading.default_leverage",
        "trading.default_margin_mode",
        "account.starting_balance",
        "ui.refresh_hz",
    ]


def test_section_that_is_not_a_table(cfg: Path) -> None:
    write(cfg, 'trading = 5\nkeymap = "b"\n[ui]\ntheme = "nord"\n[[fees]]\ntaker = 0.001\n')
    result = load_settings(cfg)
    assert result.settings == DEFAULTS.with_value("ui.theme", "nord")
    assert result.messages == [
        "trading must be a table ([trading]), not 5; using the defaults for all trading "
        "settings (line 1).",
        'keymap must be a table ([keymap]), not "b"; using the defaults for all keymap '
        "settings (line 2).",
        "fees must be a table ([fees]), not an array of tables; "
        "using the defaults for all fees settings.",  # [[fees]]: not a line this follows
    ]


def test_keymap_entries(cfg: Path) -> None:
    write(cfg, '[keymap]\nbuy = "b,f1"\nsell = ""\nquit = 3\n"close.all" = "ctrl+x"\n')
    result = load_settings(cfg)
    assert dict(result.settings.keymap) == {"buy": "b,f1", "close.all": "ctrl+x"}
    assert [m.split(" ")[0] for m in result.messages] == ["keymap.sell", "keymap.quit"]
    assert all("binding ignored" in m for m in result.messages)


def test_lowercase_and_duplicate_symbols_are_normalised(cfg: Path) -> None:
    result = load_settings(write(cfg, '[market]\nmarkets = ["btc", "ETH", "BTC"]\n'))
    assert result.settings.market.markets == ("BTC", "ETH")
    assert result.messages == []


def test_float_values_and_base_order_size(cfg: Path) -> None:
    text = "[trading]\ndefault_leverage = 2.5\ndefault_order_size = 0.01\n[market]\nspeed = 10.0\n"
    result = load_settings(write(cfg, text))
    assert result.messages == []
    assert result.settings.trading.default_leverage == 2.5
    assert result.settings.trading.default_order_size == OrderSize(0.01, "base")
    assert result.settings.market.speed == 10


def test_unreadable_directory(tmp_path: Path) -> None:
    result = load_settings(tmp_path)
    assert result.settings == DEFAULTS and result.broken
    assert result.messages == [f"{tmp_path} could not be read (Is a directory). Using defaults."]


def test_not_utf8(cfg: Path) -> None:
    cfg.write_bytes(b'[ui]\ntheme = "caf\xe9"\n')
    result = load_settings(cfg)
    assert result.settings == DEFAULTS and result.broken
    assert result.messages == [
        f"{cfg} is not UTF-8 text (bad byte at offset 17). Using defaults; the file was not "
        "changed."
    ]


def test_permission_denied(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(cfg, '[ui]\ntheme = "nord"\n')
    real = os.open

    def denied(name: object, *args: object, **kwargs: object) -> int:
        if Path(str(name)) == cfg:  # chmod cannot stop root, who runs CI: simulate it
            raise PermissionError(13, "Permission denied", str(name))
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    result = load_settings(cfg)
    assert result.settings == DEFAULTS and result.broken
    assert "Permission denied" in result.messages[0]


def test_byte_order_mark_is_tolerated(cfg: Path) -> None:
    cfg.write_bytes(b'\xef\xbb\xbf[ui]\ntheme = "nord"\n')
    loaded = load_settings(cfg).settings
    assert loaded.ui.theme == "nord"
    save_settings(loaded.with_value("ui.refresh_hz", 20), cfg)
    assert cfg.read_bytes() == b'\xef\xbb\xbf[ui]\ntheme = "nord"\nrefresh_hz = 20\n'


# --- parse_field (settings screen) -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("trading.default_margin_mode", " cross ", "cross"),
        ("trading.default_leverage", "20", 20),
        ("trading.default_leverage", "2.5", 2.5),
        ("trading.default_order_size", "$1,500", OrderSize(1500, "usd")),
        ("trading.default_order_size", "0.25", OrderSize(0.25, "base")),
        ("account.starting_balance", "25,000", 25000),
        ("fees.taker", "0.0005", 0.0005),
        ("market.source", "replay", "replay"),
        ("market.seed", "42", 42),
        ("market.seed", "", None),
        ("market.seed", "-9223372036854775808", -(2**63)),
        ("market.seed", "9223372036854775807", 2**63 - 1),
        ("market.markets", "btc, eth sol", ("BTC", "ETH", "SOL")),
        ("market.markets", "", ()),
        ("market.url", "wss://api.hyperliquid.xyz/ws", "wss://api.hyperliquid.xyz/ws"),
        ("market.url", "  ", None),
        ("market.scenario", "crash", "crash"),
        ("market.replay_file", "", None),
        ("market.speed", "60", 60),
        ("ui.refresh_hz", "30", 30),
        ("ui.theme", "nord", "nord"),
        ("keymap.buy", "b,f1", "b,f1"),
    ],
)
def test_parse_field_accepts(key: str, text: str, expected: object) -> None:
    assert parse_field(key, text) == expected


@pytest.mark.parametrize(
    ("key", "text", "allowed"),
    [
        ("trading.default_margin_mode", "crossed", '"isolated" or "cross"'),
        ("trading.default_leverage", "0", "from 1 to 100"),
        ("trading.default_leverage", "5x", "from 1 to 100"),
        ("trading.default_leverage", "inf", "from 1 to 100"),
        ("trading.default_order_size", "$", '"$500"'),
        ("trading.default_order_size", "-1", '"$500"'),
        ("trading.default_order_size", "500 USD", '"$500"'),
        ("account.starting_balance", "0", "greater than 0"),
        ("account.venue", '"bybit"', '"hyperliquid" or "binance"'),
        ("account.venue", '"Binance"', '"hyperliquid" or "binance"'),
        ("fees.taker", "0.05", "from 0 to 0.01"),
        ("market.source", "sims", '"binance" or "replay"'),
        ("market.seed", "1.5", "whole number"),
        ("market.seed", "9223372036854775808", "whole number"),
        ("market.markets", "BTC-PERP", "list of symbols"),
        ("market.url", "api.hyperliquid.xyz", '"wss://"'),
        ("market.speed", "2", "1, 10 or 60"),
        ("ui.refresh_hz", "120", "from 1 to 60"),
        ("ui.theme", "   ", "non-empty string"),
    ],
)
def test_parse_field_rejects(key: str, text: str, allowed: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_field(key, text)
    assert str(info.value).startswith(f"{key} must be ")
    assert allowed in str(info.value)


@pytest.mark.parametrize("key", [*FIELDS, "keymap.buy"])
def test_format_field_round_trips_through_parse_field(key: str) -> None:
    samples = {
        "trading.default_order_size": OrderSize(0.125, "base"),
        "market.markets": ("BTC", "ETH"),
        "market.seed": 42,
        "market.url": "wss://x.test/ws",
        "fees.maker": 1e-05,
        "ui.refresh_hz": 12.5,
        "keymap.buy": "b,f1",
    }
    values = [DEFAULTS.get(key), samples[key]] if key in samples else [DEFAULTS.get(key)]
    for value in values:
        if value is not None or key in FIELDS:  # an unset binding is not typed as text
            assert parse_field(key, format_field(key, value)) == value
    assert format_field("market.markets", ("BTC", "ETH")) == "BTC, ETH"
    assert format_field("trading.default_order_size", DEFAULTS.trading.default_order_size) == (
        "$1000"
    )
    assert format_field("market.seed", None) == ""


def test_parse_field_messages_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r'must be a number from 1 to 100 \(got "lots"\)'):
        parse_field("trading.default_leverage", "lots")
    with pytest.raises(ValueError, match=r"^keymap\.buy must be a non-empty string"):
        parse_field("keymap.buy", " ")
    with pytest.raises(ValueError, match=r"^ui\.theme "):
        parse_field("ui.theme", "")
    with pytest.raises(KeyError):
        parse_field("ui.colour", "red")


# --- saving ----------------------------------------------------------------------------


def test_round_trip_changes_only_the_changed_values(cfg: Path) -> None:
    write(cfg, HAND_WRITTEN)
    loaded = load_settings(cfg).settings
    changed = loaded.with_value("trading.default_leverage", 10).with_value(
        "market.markets", ("BTC", "SOL")
    )
    assert save_settings(changed, cfg) == []

    old_lines = HAND_WRITTEN.splitlines()
    new_lines = cfg.read_text(encoding="utf-8").splitlines()
    assert len(new_lines) == len(old_lines)
    expected = {
        "default_leverage = 3": "default_leverage = 10",
        'markets = ["BTC", "ETH"]  # just these two': 'markets = ["BTC", "SOL"]  # just these two',
    }
    for old, new in zip(old_lines, new_lines, strict=True):
        assert new == expected.get(old, old)
    assert load_settings(cfg).settings == changed


def test_saving_unchanged_settings_does_not_touch_the_file(cfg: Path) -> None:
    write(cfg, HAND_WRITTEN)
    before = cfg.stat()
    assert save_settings(load_settings(cfg).settings, cfg) == []
    after = cfg.stat()
    assert cfg.read_text(encoding="utf-8") == HAND_WRITTEN
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_defaults_absent_from_file_stay_absent_and_new_keys_are_added(cfg: Path) -> None:
    write(cfg, '# mine\n[ui]\ntheme = "nord"\n')
    loaded = load_settings(cfg).settings
    changed = loaded.with_value("ui.refresh_hz", 30).with_value("fees.maker", 0.0002)
    save_settings(changed, cfg)
    assert cfg.read_text(encoding="utf-8") == (
        '# mine\n[ui]\ntheme = "nord"\nrefresh_hz = 30\n\n[fees]\nmaker = 0.0002\n'
    )
    assert load_settings(cfg).settings == changed


def test_unset_optional_and_keymap_changes(cfg: Path) -> None:
    write(cfg, '[market]\nseed = 7  # fixed\nsource = "sim"\n\n[keymap]\nbuy = "b"\nsell = "s"\n')
    loaded = load_settings(cfg).settings
    changed = (
        loaded.with_value("market.seed", None)
        .with_value("keymap.sell", None)
        .with_value("keymap.buy", "b,f1")
        .with_value("keymap.quit", "ctrl+q")
    )
    save_settings(changed, cfg)
    assert cfg.read_text(encoding="utf-8") == (
        '[market]\nsource = "sim"\n\n[keymap]\nbuy = "b,f1"\nquit = "ctrl+q"\n'
    )
    assert load_settings(cfg).settings == changed


def test_unknown_keys_survive_save_and_invalid_values_are_replaced(cfg: Path) -> None:
    text = (
        "[trading]\ndefault_leverage = 0  # oops\nfoo = 1\n\n[market]\nseed = true\n\n"
        '[extra]\nbar = "x"\n\n[keymap]\nbuy = ""\nsell = 5\n'
    )
    write(cfg, text)
    result = load_settings(cfg)
    assert "unknown key trading.foo is kept but ignored (line 3)." in result.messages
    assert "unknown table extra is kept but ignored (line 8)." in result.messages
    # The file's invalid values are what the app did not use, so saving writes the values in
    # effect (or removes unset ones); everything else is left alone.
    changed = result.settings.with_value("trading.default_margin_mode", "cross")
    messages = save_settings(changed.with_value("keymap.sell", "s"), cfg)
    assert cfg.read_text(encoding="utf-8") == (
        '[trading]\ndefault_leverage = 5  # oops\nfoo = 1\ndefault_margin_mode = "cross"\n\n'
        '[market]\n\n[extra]\nbar = "x"\n\n[keymap]\nsell = "s"\n'
    )
    # The values replaced are not lost: the file as it was is kept, and the message says where.
    backup = cfg.with_name("config.toml.bak")
    assert backup.read_text(encoding="utf-8") == text
    assert messages == [
        f"{cfg} had values perpdesk could not use (keymap.buy, keymap.sell, market.seed, "
        "trading.default_leverage); saving replaced them with the values in effect. The file "
        f"as it was is kept at {backup}."
    ]
    result = load_settings(cfg)
    assert result.messages == [
        "unknown key trading.foo is kept but ignored (line 3).",
        "unknown table extra is kept but ignored (line 8).",
    ]
    assert result.settings == changed.with_value("keymap.sell", "s")


def test_section_that_is_not_a_table_is_replaced_only_when_needed(cfg: Path) -> None:
    write(cfg, 'trading = 5\n[ui]\ntheme = "nord"\n')
    loaded = load_settings(cfg).settings
    save_settings(loaded.with_value("ui.refresh_hz", 20), cfg)
    assert cfg.read_text(encoding="utf-8").startswith("trading = 5\n")
    save_settings(loaded.with_value("trading.default_leverage", 9), cfg)
    result = load_settings(cfg)
    assert result.messages == []
    assert result.settings.trading.default_leverage == 9


def test_order_size_and_float_formatting(cfg: Path) -> None:
    changed = DEFAULTS.with_value("trading.default_order_size", OrderSize(0.5, "base"))
    save_settings(changed.with_value("account.starting_balance", 2500.0), cfg)
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data["trading"]["default_order_size"] == 0.5
    assert data["account"]["starting_balance"] == 2500
    save_settings(DEFAULTS.with_value("trading.default_order_size", OrderSize(2.5, "usd")), cfg)
    assert load_settings(cfg).settings.trading.default_order_size == OrderSize(2.5, "usd")


def test_new_file_in_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "config.toml"
    changed = DEFAULTS.with_value("market.seed", 3).with_value("keymap.buy", "b")
    assert save_settings(changed, target) == []
    result = load_settings(target)
    assert (result.settings, result.messages) == (changed, [])
    assert "# Margin mode preselected" in target.read_text(encoding="utf-8")
    assert os.listdir(target.parent) == ["config.toml"]


def test_save_keeps_permissions_and_leaves_no_temp_files(cfg: Path) -> None:
    write(cfg, HAND_WRITTEN)
    cfg.chmod(0o640)
    for hz in (20, 30, 40):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", hz), cfg)
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    assert os.listdir(cfg.parent) == ["config.toml"]
    assert load_settings(cfg).settings.ui.refresh_hz == 40


def test_save_through_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = write(tmp_path / "dotfiles.toml", '[ui]\ntheme = "nord"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), link)
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == '[ui]\ntheme = "textual-dark"\nrefresh_hz = 20\n'


@pytest.mark.parametrize(
    "original",
    [b"[trading\ndefault_leverage = 3\n# my notes\n", b'[ui]\ntheme = "caf\xe9"\n'],
    ids=["malformed", "not-utf8"],
)
def test_broken_file_is_backed_up_before_save(cfg: Path, original: bytes) -> None:
    cfg.write_bytes(original)
    cfg.chmod(0o600)
    changed = DEFAULTS.with_value("trading.default_leverage", 12)
    messages = save_settings(changed, cfg)
    backup = cfg.with_name("config.toml.bak")
    assert backup.read_bytes() == original
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert messages == [
        f"{cfg} was not valid TOML, so it was copied to {backup} "
        "and replaced with a fresh settings file."
    ]
    result = load_settings(cfg)
    assert (result.settings, result.messages) == (changed, [])
    assert cfg.read_text(encoding="utf-8") == example_text(changed)
    assert sorted(os.listdir(cfg.parent)) == ["config.toml", "config.toml.bak"]


def test_unwritable_location_raises_and_changes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("keep me", encoding="utf-8")
    target = blocker / "config.toml"
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), target)
    assert str(info.value) == f"Could not save settings to {target}: Not a directory."
    assert blocker.read_text(encoding="utf-8") == "keep me"
    assert os.listdir(tmp_path) == ["not-a-dir"]


def test_broken_file_that_cannot_be_backed_up_is_left_alone(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg.write_bytes(b"[trading\n")
    cfg.with_name("config.toml.bak").mkdir()  # taken: the next name is tried
    backup = cfg.with_name("config.toml.bak.1")
    real = os.open

    def denied(name: object, *args: object, **kwargs: object) -> int:
        if Path(str(name)) == backup:  # chmod cannot stop root, who runs CI: simulate it
            raise PermissionError(13, "Permission denied", str(name))
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    assert str(info.value).startswith(
        f"{cfg} is not valid TOML and could not be backed up to {backup} ("
    )
    assert str(info.value).endswith("(Permission denied), so it was not changed.")
    assert cfg.read_bytes() == b"[trading\n"
    assert sorted(os.listdir(cfg.parent)) == ["config.toml", "config.toml.bak"]
    assert os.listdir(cfg.with_name("config.toml.bak")) == []


def test_existing_file_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SettingsSaveError, match="Is a directory"):
        save_settings(DEFAULTS, tmp_path)


@pytest.mark.parametrize("failing", ["mkstemp", "replace", "exchange"])
def test_failed_write_keeps_original_and_cleans_up(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    write(cfg, HAND_WRITTEN)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "mkstemp":
        monkeypatch.setattr("tui.settings.tempfile.mkstemp", disk_full)
    elif failing == "replace":  # where the atomic swap is not available
        monkeypatch.setattr(settings_module, "_exchange", lambda a, b: False)
        monkeypatch.setattr("tui.settings.os.replace", disk_full)
    else:
        monkeypatch.setattr(settings_module, "_exchange", disk_full)
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    assert str(info.value) == f"Could not save settings to {cfg}: No space left on device."
    assert cfg.read_text(encoding="utf-8") == HAND_WRITTEN
    assert os.listdir(cfg.parent) == ["config.toml"]


def test_read_only_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    target = write(folder / "config.toml", HAND_WRITTEN)

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:  # root ignores chmod
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(SettingsSaveError, match="Permission denied"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), target)
    assert target.read_text(encoding="utf-8") == HAND_WRITTEN
    assert os.listdir(folder) == ["config.toml"]


def _settings_strategy() -> st.SearchStrategy[Settings]:
    number = st.floats(allow_nan=False, allow_infinity=False)
    shown_as_is = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1).filter(
        lambda x: safe_text(x) == x  # control characters (bidi overrides too) are refused
    )
    maybe = st.none() | shown_as_is
    values = {
        "trading.default_margin_mode": st.sampled_from(["isolated", "cross"]),
        "trading.default_leverage": st.integers(1, 100) | number.filter(lambda x: 1 <= x <= 100),
        "trading.default_order_size": st.builds(
            OrderSize, st.floats(0.001, 1e9), st.sampled_from(["base", "usd"])
        ),
        "account.starting_balance": st.floats(0.01, 1e12),
        "fees.taker": st.floats(0, 0.01),
        "fees.maker": st.floats(0, 0.01),
        "market.source": st.sampled_from(["sim", "binance", "replay"]),
        "market.seed": st.none() | st.integers(-(2**63), 2**63 - 1),
        "market.markets": st.lists(st.from_regex(r"[A-Z0-9]{1,6}", fullmatch=True)).map(tuple),
        "market.scenario": maybe.filter(lambda x: x is None or x.strip() == x),
        "market.replay_file": maybe.filter(lambda x: x is None or x.strip() == x),
        "market.speed": st.sampled_from([1, 10, 60]),
        "ui.refresh_hz": st.integers(1, 60),
        "ui.theme": st.sampled_from(["nord", "textual-light"]),
        "ui.bell": st.booleans(),
        "ui.alert_margin_ratio": st.floats(0.05, 1),
        "ui.alert_liquidation_distance": st.floats(0.001, 0.5),
    }
    keymap = st.dictionaries(st.sampled_from(["buy", "sell", "quit"]), st.just("ctrl+x"))

    def build(chosen: dict[str, object], bindings: dict[str, str]) -> Settings:
        result = DEFAULTS
        for key, value in chosen.items():
            result = result.with_value(key, value)
        for name, keys in bindings.items():
            result = result.with_value(f"keymap.{name}", keys)
        return result

    return st.builds(build, st.fixed_dictionaries({}, optional=values), keymap)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_settings_strategy())
def test_any_valid_settings_survive_save_and_load(value: Settings) -> None:
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "fresh.toml"
        save_settings(value, fresh)
        assert load_settings(fresh) == load_settings(fresh)  # deterministic
        assert (load_settings(fresh).settings, load_settings(fresh).messages) == (value, [])

        edited = write(Path(folder) / "edited.toml", HAND_WRITTEN)
        save_settings(value, edited)
        result = load_settings(edited)
        assert result.settings == value
        text = edited.read_text(encoding="utf-8")
        for line in HAND_WRITTEN.splitlines():
            if line.startswith("#") or "unknown" in line or not line:
                assert line in text.splitlines()


_KEYS = st.sampled_from(["x", "close.all", ""] + [key.split(".")[1] for key in FIELDS])
_SCALARS = (
    st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.text(max_size=8)
    | st.sampled_from(["cross", "$500", "wss://a.b", "BTC", "b,f1"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)
_DOCUMENTS = st.dictionaries(
    st.sampled_from([*{key.split(".")[0] for key in FIELDS}, "keymap", "other"]),
    st.dictionaries(_KEYS, _VALUES, max_size=5) | _SCALARS,
    max_size=7,
)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120) | _DOCUMENTS.map(lambda doc: tomlkit.dumps(doc).encode()))
def test_any_file_loads_without_raising_and_saves_exactly(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_bytes(content)
        result = load_settings(path)
        if result.broken:
            assert result.settings == DEFAULTS and len(result.messages) == 1
        wanted = result.settings.with_value("ui.refresh_hz", 42)
        save_settings(wanted, path)
        reloaded = load_settings(path)
        assert reloaded.settings == wanted
        assert not reloaded.broken
        assert sorted(os.listdir(folder)) in (["config.toml"], ["config.toml", "config.toml.bak"])
