"""Hostile config files: escapes, depth, huge numbers, endless files, races, backups."""

from __future__ import annotations

import copy
import json
import os
import random
import stat
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzzing import SCALE, fuzz
from tui import settings as settings_module
from tui.safe import safe_text
from tui.settings import (
    DEFAULTS,
    MAX_BACKUPS,
    MAX_CONFIG_BYTES,
    LoadResult,
    SettingsChangedError,
    SettingsSaveError,
    load_settings,
    save_changes,
    save_settings,
)

OSC_TITLE = "\\u001b]0;pwned\\u001b\\\\"  # as written in TOML: ESC ] 0 ; pwned ESC \


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def assert_safe(text: str) -> None:
    assert safe_text(text) == text, f"raw control characters in {text!r}"


# --- terminal escapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, literal",
    [
        ("[ui]\ntheme", f'"{OSC_TITLE}"'),
        ("[market]\nreplay_file", '"rec\\u009b2J.csv"'),
        ("[market]\nurl", '"wss://x/\\u001bc"'),
        ("[keymap]\nbuy", '"b\\u001b[2J"'),
        ("[ui]\ntheme", '"\\u202edark"'),
    ],
)
def test_a_value_with_control_characters_is_refused_and_quoted_escaped(
    cfg: Path, key: str, literal: str
) -> None:
    cfg.write_text(f"{key} = {literal}\n", encoding="utf-8")
    result = load_settings(cfg)
    assert result.settings == DEFAULTS  # refused: the default applies
    (message,) = result.messages
    assert "must not contain control characters" in message
    assert "\\x1b" in message or "\\x9b" in message or "\\u202e" in message
    assert_safe(message)


def test_unknown_keys_and_paths_are_quoted_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "cfg\x1b]0;pwned\x07"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text('"\\u001b[2J" = 1\n[trading\n', encoding="utf-8")
    result = load_settings(path)
    assert result.broken
    assert "\\x1b]0;pwned\\x07" in result.messages[0]
    assert_safe(result.messages[0])
    path.write_text('"\\u001b[2J" = 1\n', encoding="utf-8")
    (message,) = load_settings(path).messages
    assert message == "unknown key \\x1b[2J is kept but ignored."


def test_save_errors_quote_the_path_escaped(tmp_path: Path) -> None:
    blocker = tmp_path / "x\x1bc"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), blocker / "config.toml")
    assert "x\\x1bc" in str(info.value)
    assert_safe(str(info.value))


# --- nesting, huge numbers, files that never end ----------------------------------------------


def deep(levels: int, kind: str) -> str:
    if kind == "array":
        return "x = " + "[" * levels + "]" * levels + "\n"
    return "x = " + "{a = " * levels + "1" + "}" * levels + "\n"


@pytest.mark.parametrize("kind", ["array", "table"])
def test_toml_nested_500_deep_is_reported_not_raised_and_never_rewritten(
    cfg: Path, kind: str
) -> None:
    text = "# my notes\n" + deep(500, kind)
    cfg.write_text(text, encoding="utf-8")
    result = load_settings(cfg)
    assert result.broken and result.settings == DEFAULTS
    assert result.messages == [
        f"{cfg} nests tables or arrays too deeply to be read. Using defaults; the file was not "
        "changed."
    ]
    with pytest.raises(SettingsSaveError, match="the file was not changed"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    assert cfg.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.toml"]  # no backup, no temp


@pytest.mark.parametrize("levels", [101, 200, 300])
def test_a_file_tomlkit_cannot_edit_is_not_replaced_by_a_fresh_one(cfg: Path, levels: int) -> None:
    text = '# my notes\n[ui]\ntheme = "nord"  # keep\n[plugins]\n' + deep(levels, "array")
    cfg.write_text(text, encoding="utf-8")
    loaded = load_settings(cfg)
    assert not loaded.broken and loaded.settings.ui.theme == "nord"  # tomllib reads it
    with pytest.raises(SettingsSaveError) as info:
        save_settings(loaded.settings.with_value("ui.refresh_hz", 20), cfg)
    assert "more than 100 levels deep" in str(info.value)
    assert "without losing your comments" in str(info.value)
    assert cfg.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.toml"]
    save_settings(loaded.settings, cfg)  # nothing to change: no error, nothing written
    assert cfg.read_text(encoding="utf-8") == text


def test_a_401_digit_balance_is_refused_at_load_with_a_clear_message(cfg: Path) -> None:
    cfg.write_text(
        f"[account]\nstarting_balance = {'9' * 401}\n[market]\nseed = {'9' * 30}\n"
        f'[trading]\ndefault_order_size = "${"9" * 20}"\n',
        encoding="utf-8",
    )
    result = load_settings(cfg)
    assert result.settings == DEFAULTS
    assert result.messages == [
        "account.starting_balance must be a number greater than 0, at most "
        "1,000,000,000,000 (got a number of 401 digits); using the default (10000) (line 2).",
        "market.seed must be a whole number of at most 19 digits, or left unset for a random "
        "seed (got 999999999999999999999999999999); using the default (unset) (line 4).",
        "trading.default_order_size must be a size in base units such as 0.5, or a USD amount "
        'such as "$500" (what the engine takes: at most 1e15 units, $1e14) (got '
        '"$99999999999999999999"); using the default ("$1000") (line 6).',
    ]


def test_the_largest_allowed_balance_loads(cfg: Path) -> None:
    cfg.write_text("[account]\nstarting_balance = 1_000_000_000_000\n", encoding="utf-8")
    assert load_settings(cfg).settings.account.starting_balance == 10**12


def test_a_number_python_cannot_read_is_reported(cfg: Path) -> None:
    text = f"[account]\nstarting_balance = {'1' * 5000}\n"
    cfg.write_text(text, encoding="utf-8")
    result = load_settings(cfg)
    assert result.broken
    assert "holds a number too long to be read" in result.messages[0]
    with pytest.raises(SettingsSaveError, match="was not changed"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    assert cfg.read_text(encoding="utf-8") == text


LOAD_DEV_ZERO = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # reading forever dies fast
from tui.settings import load_settings
print(load_settings(sys.argv[1]).messages[0])
"""


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_without_reading_it(tmp_path: Path, device: str) -> None:
    link = tmp_path / "config.toml"
    link.symlink_to(device)
    for path in (device, str(link)):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_DEV_ZERO, path],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-500:]
        assert done.stdout == (
            f"{path} could not be read (it is a character device, not a regular file). "
            "Using defaults.\n"
        )
    with pytest.raises(SettingsSaveError, match="not a regular file"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), link)
    assert link.is_symlink()


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    results: list[LoadResult] = []
    reader = threading.Thread(target=lambda: results.append(load_settings(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():  # blocked: release it (a writer opens and closes), then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=5)
        pytest.fail("load_settings waited for a writer on a FIFO")
    assert results[0].broken
    assert results[0].messages == [
        f"{fifo} could not be read (it is a FIFO, not a regular file). Using defaults."
    ]
    with pytest.raises(SettingsSaveError, match="it is a FIFO, not a regular file"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), fifo)


def test_a_file_over_the_size_cap_is_refused_unread(cfg: Path) -> None:
    with cfg.open("wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no disk used, no time spent
    result = load_settings(cfg)
    assert result.broken
    assert result.messages == [
        f"{cfg} could not be read (it is larger than 16 MB, the most a settings file may be). "
        "Using defaults."
    ]
    with pytest.raises(SettingsSaveError, match="larger than 16 MB"):
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    assert cfg.stat().st_size == MAX_CONFIG_BYTES + 1


# --- backups ----------------------------------------------------------------------------------


def test_backups_are_numbered_and_never_overwritten(cfg: Path) -> None:
    versions = [f"[trading\n# broken version {n}\n".encode() for n in range(MAX_BACKUPS + 1)]
    for n, broken in enumerate(versions[:MAX_BACKUPS]):
        cfg.write_bytes(broken)
        cfg.chmod(0o640)
        (message,) = save_settings(DEFAULTS.with_value("ui.refresh_hz", 20 + n), cfg)
        name = "config.toml.bak" if n == 0 else f"config.toml.bak.{n}"
        assert message == (
            f"{cfg} was not valid TOML, so it was copied to {cfg.with_name(name)} "
            "and replaced with a fresh settings file."
        )
        assert cfg.with_name(name).read_bytes() == broken
        assert stat.S_IMODE(cfg.with_name(name).stat().st_mode) == 0o640
    for n, broken in enumerate(versions[:MAX_BACKUPS]):  # every earlier backup still whole
        name = "config.toml.bak" if n == 0 else f"config.toml.bak.{n}"
        assert cfg.with_name(name).read_bytes() == broken
    cfg.write_bytes(versions[-1])
    with pytest.raises(SettingsSaveError) as info:
        save_settings(DEFAULTS.with_value("ui.refresh_hz", 50), cfg)
    assert str(info.value) == (
        f"{cfg} is not valid TOML, and all 10 backup names (config.toml.bak to "
        "config.toml.bak.9) are taken, so it was not changed. Remove the backups you no longer "
        "need, then save again."
    )
    assert cfg.read_bytes() == versions[-1]


# --- line endings ------------------------------------------------------------------------------


def test_a_crlf_file_keeps_crlf_line_endings(cfg: Path) -> None:
    cfg.write_bytes(b'# mine\r\n[ui]\r\ntheme = "nord"\r\n\r\n[plugins]\r\nx = 1\r\n')
    loaded = load_settings(cfg).settings
    changed = loaded.with_value("ui.refresh_hz", 20).with_value("trading.default_leverage", 7)
    save_settings(changed.with_value("keymap.buy", "b"), cfg)
    assert cfg.read_bytes() == (
        b'# mine\r\n[ui]\r\ntheme = "nord"\r\nrefresh_hz = 20\r\n\r\n[plugins]\r\nx = 1\r\n'
        b'\r\n[trading]\r\ndefault_leverage = 7\r\n\r\n[keymap]\r\nbuy = "b"\r\n'
    )


def test_a_mixed_line_ending_file_is_left_mixed(cfg: Path) -> None:
    cfg.write_bytes(b'# mine\r\n[ui]\ntheme = "nord"\r\n')
    save_settings(DEFAULTS.with_value("ui.theme", "nord").with_value("ui.refresh_hz", 20), cfg)
    assert cfg.read_bytes() == b'# mine\r\n[ui]\ntheme = "nord"\r\nrefresh_hz = 20\n'


# --- another program saves the file while perpdesk saves it ---------------------------------

MINE = '# my notes\n[ui]\ntheme = "nord"  # keep\n'
THEIRS = MINE + "[market]\nseed = 7  # typed in an editor meanwhile\n"


def quiet(path: Path, text: str) -> None:
    """Write ``text`` as a file last modified a minute ago (no half-written doubt about it)."""
    path.write_text(text, encoding="utf-8")
    os.utime(path, (path.stat().st_atime - 60, path.stat().st_mtime - 60))


def editor_save(path: Path, how: str) -> None:
    if how == "in-place":
        path.write_text(THEIRS, encoding="utf-8")
    else:
        tmp = path.with_name(".editor-swap")
        tmp.write_text(THEIRS, encoding="utf-8")
        os.replace(tmp, path)


@pytest.mark.parametrize("how", ["in-place", "rename"])
@pytest.mark.parametrize("stage", ["while-editing", "at-the-swap", "at-a-plain-rename"])
def test_a_file_saved_by_another_program_meanwhile_is_never_overwritten(
    cfg: Path, monkeypatch: pytest.MonkeyPatch, how: str, stage: str
) -> None:
    quiet(cfg, MINE)
    if stage == "while-editing":  # between reading the file and the last checks
        real_edit = settings_module._edited_text

        def edit(*args: Any) -> str:
            editor_save(cfg, how)
            return real_edit(*args)

        monkeypatch.setattr(settings_module, "_edited_text", edit)
    else:  # the last instant: between the final check and the rename/swap
        real_exchange = settings_module._exchange
        fired: list[bool] = []

        def exchange(a: str | Path, b: str | Path) -> bool:
            if Path(b) == cfg and not fired:
                fired.append(True)
                editor_save(cfg, how)
            return stage == "at-the-swap" and real_exchange(a, b)

        monkeypatch.setattr(settings_module, "_exchange", exchange)
        if stage == "at-a-plain-rename":  # no atomic swap here: the stat check must see it
            real_stat = os.stat

            def late(name: Any, *args: Any, **kwargs: Any) -> os.stat_result:
                result = real_stat(name, *args, **kwargs)
                if Path(str(name)) == cfg and cfg.read_text(encoding="utf-8") == MINE:
                    editor_save(cfg, how)
                    return real_stat(name, *args, **kwargs)
                return result

            monkeypatch.setattr(os, "stat", late)
    with pytest.raises(SettingsChangedError) as info:
        save_changes({"ui.refresh_hz": 20}, cfg)
    assert "changed by another program while perpdesk was saving" in str(info.value)
    assert cfg.read_text(encoding="utf-8") == THEIRS
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.toml"]
    monkeypatch.undo()
    result = save_changes({"ui.refresh_hz": 20}, cfg)  # saving again applies onto theirs
    assert result.settings.market.seed == 7 and result.settings.ui.refresh_hz == 20
    assert cfg.read_text(encoding="utf-8") == THEIRS.replace(
        'theme = "nord"  # keep\n', 'theme = "nord"  # keep\nrefresh_hz = 20\n'
    )


def test_an_in_place_write_that_lands_in_the_swapped_out_file_is_put_back(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet(cfg, MINE)
    held = cfg.open("r+", encoding="utf-8")  # an editor holding the file open
    real_unlink = os.unlink

    def unlink(name: Any, *args: Any, **kwargs: Any) -> None:
        real_unlink(name, *args, **kwargs)
        if Path(str(name)).name.startswith(".config.toml.") and not held.closed:
            held.seek(0)  # it writes through its descriptor, into the file just swapped out
            held.truncate()
            held.write(THEIRS)
            held.close()

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(SettingsChangedError):
        save_changes({"ui.refresh_hz": 20}, cfg)
    assert cfg.read_text(encoding="utf-8") == THEIRS
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["config.toml"]


def test_a_half_written_file_is_read_once_it_settles(cfg: Path) -> None:
    cfg.write_text("[ui\n", encoding="utf-8")  # an editor's first chunk: not valid yet

    def finish() -> None:
        time.sleep(0.004)
        cfg.write_text(MINE, encoding="utf-8")

    writer = threading.Thread(target=finish)
    writer.start()
    result = save_changes({"ui.refresh_hz": 20}, cfg)
    writer.join()
    assert result.messages == []  # not taken for a broken file, so no backup and no fresh file
    assert result.settings.ui.theme == "nord"
    assert cfg.read_text(encoding="utf-8") == MINE.replace(
        "  # keep\n", "  # keep\nrefresh_hz = 20\n"
    )


@pytest.mark.parametrize("how", ["in-place", "rename"])
def test_fuzz_saving_while_an_editor_rewrites_the_file_never_loses_its_edit(
    tmp_path: Path, how: str
) -> None:
    """The race the issue measured (262 of 300 edits lost): an editor thread saves at a random
    moment while perpdesk saves. Either perpdesk's save comes first (the editor's text then
    replaces it) or perpdesk sees the editor's save and stands back; the editor's seed is
    always in the file afterwards. 40 rounds each way (times PERPDESK_FUZZ)."""
    rounds = 40 * SCALE
    rng = random.Random(9)
    cfg = tmp_path / "config.toml"
    filler = "".join(f"# filler line {n}\n" for n in range(200))
    outcomes = {"conflict": 0, "saved": 0}
    for round_ in range(rounds):
        quiet(cfg, MINE + filler)
        edit = f"{MINE}{filler}[market]\nseed = {round_ + 1}\n"

        def editor(delay: float = rng.uniform(0, 0.004), text: str = edit) -> None:
            time.sleep(delay)
            if how == "in-place":
                cfg.write_text(text, encoding="utf-8")
            else:
                tmp = tmp_path / ".editor-swap"
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, cfg)

        thread = threading.Thread(target=editor)
        thread.start()
        try:
            save_changes({"ui.refresh_hz": 20}, cfg)
            outcomes["saved"] += 1
        except SettingsChangedError:
            outcomes["conflict"] += 1
        thread.join()
        assert load_settings(cfg).settings.market.seed == round_ + 1, f"round {round_} lost"
    assert sum(outcomes.values()) == rounds


def test_two_programs_saving_around_the_swap_lose_neither_text(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet(cfg, MINE)
    real_exchange = settings_module._exchange
    texts = iter([THEIRS, THEIRS + "# and a second program's save\n"])

    def exchange(a: str | Path, b: str | Path) -> bool:
        if Path(b) == cfg and (text := next(texts, None)) is not None:
            tmp = cfg.with_name(".editor-swap")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, cfg)
        return real_exchange(a, b)

    monkeypatch.setattr(settings_module, "_exchange", exchange)
    with pytest.raises(SettingsChangedError):
        save_changes({"ui.refresh_hz": 20}, cfg)
    assert cfg.read_text(encoding="utf-8") == THEIRS
    kept = cfg.with_name("config.toml.bak").read_text(encoding="utf-8")
    assert kept == THEIRS + "# and a second program's save\n"


# --- large files: only the edited sections go through tomlkit ----------------------------------

_SECTION_NAMES = st.sampled_from(["trading", "account", "fees", "market", "ui", "keymap", "other"])
_LINES = st.sampled_from(
    [
        "# a comment",
        "",
        "x = 1  # trailing",
        'name = "[ui]"',
        "list = [\n  1,\n  2,\n]",
        'text = """\n[trading]\nnot a header\n"""',
        "default_leverage = 3",
        'theme = "nord"',
        "refresh_hz = 500",
        "sub.key = true",
        "[ui.nested]\ny = 2",
    ]
)
_CHUNKS = st.lists(
    st.tuples(_SECTION_NAMES, st.lists(_LINES, max_size=4)), max_size=5, unique_by=lambda c: c[0]
)
_EDITS = st.lists(
    st.sampled_from(
        [
            ("trading", "default_leverage", 9),
            ("ui", "refresh_hz", 20),
            ("ui", "theme", "textual-light"),
            ("market", "markets", ["BTC", "ETH"]),
            ("keymap", "buy", "b,f1"),
            ("account", "starting_balance", 2500.5),
            ("ui", "theme", None),
        ]
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda e: (e[0], e[1]),
)


@fuzz(200)
@given(_CHUNKS, _EDITS)
def test_fuzz_editing_by_section_reads_back_as_the_intended_data(
    chunks: list[tuple[str, list[str]]], edits: list[tuple[str, str, Any]]
) -> None:
    text = "# top comment\n" + "".join(
        f"[{name}]  # {name} notes\n" + "".join(f"{line}\n" for line in lines)
        for name, lines in chunks
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # e.g. the same key twice: not a file either path is given
    present = [e for e in edits if e[2] is not None or e[1] in data.get(e[0], {})]
    if not present or any(not isinstance(data.get(s, {}), dict) for s, _, _ in present):
        return
    expected = copy.deepcopy(data)
    for section, name, value in present:
        if value is None:
            expected[section].pop(name)
        else:
            expected.setdefault(section, {})[name] = value
    by_section = settings_module._edit_by_section(text, data, present)
    event("whole document" if by_section is None else "by section")
    if by_section is None:
        return  # the whole document is edited instead
    assert tomllib.loads(by_section) == expected
    for line in text.splitlines():
        if line.lstrip().startswith("#") or "# " in line:
            assert line in by_section.splitlines()  # every comment kept


def test_a_large_file_is_edited_by_section_not_whole(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filler = "".join(f'key_{n} = "value {n}"  # comment {n}\n' for n in range(3000))
    text = f'# mine\n[ui]\ntheme = "nord"  # keep\n\n[pasted]\n{filler}'
    quiet(cfg, text)
    assert len(text) > settings_module.LARGE_CONFIG_BYTES
    real_parse = tomlkit.parse
    parsed: list[int] = []

    def parse(source: str) -> Any:
        parsed.append(len(source))
        return real_parse(source)

    monkeypatch.setattr(tomlkit, "parse", parse)
    save_changes({"ui.refresh_hz": 20, "trading.default_leverage": 9}, cfg)
    assert parsed and max(parsed) < 100  # the [ui] table alone, never the whole file
    assert (
        cfg.read_text(encoding="utf-8")
        == text.replace('"nord"  # keep\n', '"nord"  # keep\nrefresh_hz = 20\n')
        + "\n[trading]\ndefault_leverage = 9\n"
    )


# --- the config fuzzer ----------------------------------------------------------------------

_KEYS = st.sampled_from(
    ["theme", "refresh_hz", "starting_balance", "seed", "default_leverage", "markets", "x"]
)
_STRINGS = st.one_of(
    st.sampled_from(["\x1b]0;pwned\x07", "\x1bc", "\x1b[2J", "\x9b2J", "\u202e", "$500", "nord"]),
    st.text(max_size=10),
)
_NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.integers(1, 4).map(lambda n: 10 ** (n * 120) - 1),  # up to 480 digits
    st.floats(),
)


def _nest(depth: int, inline: bool) -> str:
    return ("{a = " * depth + "1" + "}" * depth) if inline else ("[" * depth + "]" * depth)


_VALUES = st.one_of(
    _STRINGS.map(lambda s: json.dumps(s)),  # a TOML basic string: escapes as \\u001b etc.
    _NUMBERS.map(lambda n: "nan" if n != n else repr(n).replace("inf", "inf")),
    st.builds(_nest, st.integers(1, 700), st.booleans()),
    st.just("true"),
)
_DOCS = st.lists(
    st.tuples(st.sampled_from(["ui", "account", "market", "trading", "keymap", "other"]),
              st.lists(st.tuples(_KEYS, _VALUES), max_size=3)),
    max_size=4,
)  # fmt: skip


@fuzz(120)
@given(doc=_DOCS, crlf=st.booleans(), bom=st.booleans(), raw=st.binary(max_size=80),
       use_raw=st.booleans())  # fmt: skip
def test_fuzz_hostile_config_files_never_raise_and_never_lose_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    doc: list[tuple[str, list[tuple[str, str]]]],
    crlf: bool,
    bom: bool,
    raw: bytes,
    use_raw: bool,
) -> None:
    """Deep nesting, huge numbers, control characters, CRLF, BOMs, raw bytes: loading never
    raises and shows every message escaped; saving either writes a file that loads back as
    what was saved, or refuses with SettingsSaveError and leaves the file as it was."""
    folder = tmp_path_factory.mktemp("cfg")
    path = folder / "config.toml"
    if use_raw:
        content = raw
    else:
        text = "".join(
            f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in pairs)
            for section, pairs in doc
        )
        text = text.replace("\n", "\r\n") if crlf else text
        content = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    path.write_bytes(content)
    result = load_settings(path)
    for message in result.messages:
        assert safe_text(message) == message
    if result.broken:
        assert result.settings == DEFAULTS
    wanted = result.settings.with_value("ui.refresh_hz", 42)
    try:
        save_settings(wanted, path)
    except SettingsSaveError as refused:
        assert safe_text(str(refused)) == str(refused)
        assert path.read_bytes() == content  # refused: not one byte changed
        return
    again = load_settings(path)
    assert not again.broken and again.settings == wanted
    if crlf and not use_raw and b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b""):
        saved = path.read_bytes()
        assert b"\n" not in saved.replace(b"\r\n", b"")  # still CRLF throughout


def test_a_broken_crlf_file_is_replaced_by_a_crlf_one(cfg: Path) -> None:
    cfg.write_bytes(b"[trading\r\n# notes\r\n")
    save_settings(DEFAULTS.with_value("ui.refresh_hz", 20), cfg)
    saved = cfg.read_bytes()
    assert saved.count(b"\r\n") == saved.count(b"\n") > 10
    assert cfg.with_name("config.toml.bak").read_bytes() == b"[trading\r\n# notes\r\n"
