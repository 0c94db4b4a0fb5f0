"""Hostile account files: escapes, deep JSON, wrong types, a deleted lock, a swapped file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tests.test_journal import MARKETS, digest, make_real_account, open_journal
from tui.engine import Fill, MarginMode, OrderRejected, Side
from tui.history import EXPORT_KINDS, closed_positions, export_csv, post_mortems
from tui.history import _rows as export_rows
from tui.journal import (
    DB_NAME,
    Journal,
    JournalError,
    NonFiniteError,
    encode_event,
    list_seasons,
    read_account,
)
from tui.safe import safe_text

LONG, ISO = Side.LONG, MarginMode.ISOLATED


def assert_safe(text: str) -> None:
    assert safe_text(text) == text, f"raw control characters in {text!r}"


def test_errors_quote_a_hostile_folder_name_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "acct\x1b]0;pwned\x07\x9b2J"
    folder.mkdir()
    (folder / DB_NAME).write_text("balance = 10000\n")
    with pytest.raises(JournalError) as info:
        open_journal(folder)
    assert info.value.kind == "corrupt"
    assert "acct\\x1b]0;pwned\\x07\\x9b2J" in str(info.value)
    assert_safe(str(info.value))


# --- damaged records: refused at opening, never a crash later ---------------------------------


def tamper(data_dir: Path, sql: str, *args: object) -> None:
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        conn.execute(sql, args)
        conn.commit()


def first_payload(data_dir: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        (payload,) = conn.execute("SELECT payload FROM events ORDER BY seq LIMIT 1").fetchone()
    return dict(json.loads(payload))


def read_whole_history(journal: Journal) -> None:
    """Everything the history screen and the exports read from the journal: every page of
    every table to the end, the counts, the stats, every record and an export."""
    pages = (
        journal.fills_page,
        journal.liquidations_page,
        journal.funding_page,
        journal.transfers_page,
        journal.order_events_page,
        journal.orders_page,
        journal.closed_page,
    )
    for page_of in pages:
        cursor: int | None = None
        while True:
            page = page_of(before=cursor, limit=7)
            for row in page.rows:
                if hasattr(row, "line"):
                    assert_safe(row.line)  # a post-mortem's sentence
            if page.next is None:
                break
            cursor = page.next
    journal.counts()
    stats = journal.stats()
    assert all(math.isfinite(v) for v in dataclasses.astuple(stats.overall) if v is not None)
    list(journal.records())
    journal.recent(20)
    for kind in EXPORT_KINDS:
        journal.export(kind, journal.data_dir / f"{kind}.csv")


def assert_refused_when_read(data_dir: Path, detail: str) -> None:
    """A damaged record: tools that read the whole account refuse it as corrupt; the app
    opens the account (its saved state is sound, and opening reads no record) and the history
    refuses the record when it reaches it, naming it; trading goes on and is saved."""
    with pytest.raises(JournalError, match="cannot be read") as info:
        read_account(data_dir, markets=MARKETS)
    assert info.value.kind == "corrupt" and detail in str(info.value)
    journal = open_journal(data_dir)
    try:
        with pytest.raises(JournalError) as info:
            read_whole_history(journal)
        assert info.value.kind == "history", str(info.value)
        assert detail in str(info.value)
        assert "Your account, its positions and new trades are not affected" in str(info.value)
        assert_safe(str(info.value))
        journal.engine.open("BTC", LONG, 0.001, 5, ISO)
        assert journal.error is None and journal.pending == 0
    finally:
        journal.close()


def assert_refused_as_corrupt(data_dir: Path, detail: str) -> None:
    before = digest(data_dir / DB_NAME)
    with pytest.raises(JournalError) as info:
        open_journal(data_dir)
    assert info.value.kind == "corrupt", str(info.value)
    assert detail in str(info.value)
    assert "start a fresh account" in str(info.value)  # the offer the app makes
    with pytest.raises(JournalError, match="cannot be read"):
        read_account(data_dir, markets=MARKETS)
    assert digest(data_dir / DB_NAME) == before


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("where", ["state", "markets", "payload"])
def test_deeply_nested_json_is_refused_as_corrupt_not_raised(tmp_path: Path, where: str) -> None:
    make_real_account(tmp_path)
    if where == "payload":
        tamper(tmp_path, "UPDATE events SET payload = ? WHERE seq = 1", DEEP)
        assert_refused_when_read(tmp_path, "nested too deeply")
        return
    tamper(tmp_path, f"UPDATE seasons SET {where} = ?", DEEP)
    assert_refused_as_corrupt(tmp_path, "nested too deeply")
    if where == "state":  # (the market list only prices the listing: it falls back)
        with pytest.raises(JournalError, match="nested too deeply"):
            list_seasons(tmp_path)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE meta SET value = CAST(x'ffc3' AS TEXT) WHERE key = 'app'",
        "UPDATE events SET payload = CAST(x'7b22ff' AS TEXT) WHERE seq = 1",
        "UPDATE seasons SET state = CAST(x'c328' AS TEXT)",
    ],
    ids=["meta", "record", "state"],
)
def test_text_that_is_not_utf8_inside_the_database_is_refused_as_corrupt(
    tmp_path: Path, sql: str
) -> None:
    make_real_account(tmp_path)
    tamper(tmp_path, sql)
    if "events" in sql:
        assert_refused_when_read(tmp_path, "UTF-8")
    else:
        assert_refused_as_corrupt(tmp_path, "UTF-8")


@pytest.mark.parametrize("value", [0, 3, 255])
def test_a_header_sqlite_would_open_read_only_is_refused_as_corrupt(
    tmp_path: Path, value: int
) -> None:
    """Found by the long byte-flip run: a file-format byte of 3 made SQLite open the file
    read-only, and perpdesk then blamed the disk ("free some space")."""
    make_real_account(tmp_path)
    data = bytearray((tmp_path / DB_NAME).read_bytes())
    data[18] = value  # the write-format version: 1 (legacy) or 2 (WAL)
    (tmp_path / DB_NAME).write_bytes(bytes(data))
    assert_refused_as_corrupt(tmp_path, "its header names a file format SQLite cannot write")


def test_a_schema_byte_that_is_not_utf8_is_refused_as_corrupt(tmp_path: Path) -> None:
    """Found by the byte-flip fuzzer: SQLite's error message then quotes the damaged schema,
    and decoding that message raised UnicodeDecodeError out of opening."""
    make_real_account(tmp_path)
    data = bytearray((tmp_path / DB_NAME).read_bytes())
    at = data.index(b"PRIMARY KEY (season, seq)") + len(b"PRIMARY ")
    data[at] ^= 0x80  # "K" becomes 0xcb: not UTF-8 (the fuzzer's own find)
    (tmp_path / DB_NAME).write_bytes(bytes(data))
    assert_refused_as_corrupt(tmp_path, "can't decode byte")


@pytest.mark.parametrize(
    "field, value, detail",
    [
        ("size", "0.1", "a fill record's size is str '0.1', not a number"),
        ("time", "yesterday", "a fill record's time is str 'yesterday', not a number"),
        ("price", True, "a fill record's price is bool True, not a number"),
        ("price", None, "a fill record's price is NoneType None, not a number"),
        ("fee", [1], "a fill record's fee is list [1], not a number"),
        ("seq", 1.0, "a fill record's seq is float 1.0, not a whole number"),
        ("market", 7, "a fill record's market is int 7, not text"),
        ("side", 1, "a fill record's side is int 1, not text"),
        ("side", "up", "'up' is not a valid Side"),
        ("size", 10**400, "a fill record's size is a number too large to hold"),  # the fuzzer's
        ("seq", 2**64, "a fill record's seq is a whole number too large to hold"),
        # found by the long record fuzz run: times no date can show crashed the history screen
        ("time", 9.223372036854776e18, "not a time between 1970 and the year 9999"),
        ("time", 6.77680361916768e16, "not a time between 1970 and the year 9999"),
        ("time", 253402300800.0, "not a time between 1970 and the year 9999"),
        ("time", -1.0, "not a time between 1970 and the year 9999"),
    ],
)
def test_a_record_with_a_field_of_the_wrong_type_is_refused_when_read(
    tmp_path: Path, field: str, value: object, detail: str
) -> None:
    make_real_account(tmp_path)
    payload = first_payload(tmp_path)
    payload[field] = value
    tamper(tmp_path, "UPDATE events SET payload = ? WHERE seq = 1", json.dumps(payload))
    assert_refused_when_read(tmp_path, detail)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_record_holding_nan_or_infinity_is_refused_when_read_a_state_at_opening(
    tmp_path: Path, literal: str
) -> None:
    make_real_account(tmp_path)
    raw = json.dumps(first_payload(tmp_path)).replace('"size": 0.1', f'"size": {literal}')
    tamper(tmp_path, "UPDATE events SET payload = ? WHERE seq = 1", raw)
    assert_refused_when_read(tmp_path, "a fill record's size is")

    make_real_account(tmp_path / "state")
    with contextlib.closing(sqlite3.connect(tmp_path / "state" / DB_NAME)) as conn:
        (state,) = conn.execute("SELECT state FROM seasons").fetchone()
    broken = re.sub(r'"wallet":[^,]+', f'"wallet":{literal}', state)
    tamper(tmp_path / "state", "UPDATE seasons SET state = ?", broken)
    assert_refused_as_corrupt(tmp_path / "state", "the saved wallet is")
    with pytest.raises(JournalError, match="the saved wallet is"):
        list_seasons(tmp_path / "state")


@pytest.mark.parametrize(
    "column, value, detail",
    [
        ("wallet", "lots", "record 1's wallet is str 'lots', not a number"),
        ("cross_excess", "x", "record 1's cross excess is str 'x', not a number"),
    ],
)
def test_saved_account_figures_of_the_wrong_type_are_refused(
    tmp_path: Path, column: str, value: object, detail: str
) -> None:
    make_real_account(tmp_path)
    tamper(tmp_path, f"UPDATE events SET {column} = ? WHERE seq = 1", value)
    assert_refused_when_read(tmp_path, detail)


# --- never saving NaN or infinity -----------------------------------------------------------


def test_a_non_finite_record_or_state_is_never_written(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    saved = digest(tmp_path / DB_NAME), read_account(tmp_path, markets=MARKETS)
    journal.engine._wallet = math.nan  # what the engine must never hold; the journal refuses it
    assert not journal.checkpoint()
    assert journal.error is not None
    assert "not finite (state.wallet = nan)" in journal.error
    assert "never saves NaN or infinity" in journal.error
    reread = read_account(tmp_path, markets=MARKETS)
    assert reread is not None and saved[1] is not None
    assert reread.account.wallet_balance == saved[1].account.wallet_balance  # the last good one
    journal.engine._wallet = 10_000.0
    assert journal.checkpoint() and journal.error is None  # fixed: saved again
    journal.close()

    fill = Fill(1, math.inf, "BTC", LONG, 1.0, 100.0, 0.1, ISO, 5.0, "open")
    with pytest.raises(NonFiniteError, match=r"fill record 1\.time = inf"):
        encode_event(fill)


# --- one perpdesk per account, even without account.lock ----------------------------------------

SECOND_INSTANCE = """
import sys
from tui.journal import Journal, JournalError
try:
    Journal.open(sys.argv[1]).close()
except JournalError as exc:
    print(exc.kind, exc)
else:
    print("opened")
"""


def second_instance(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_INSTANCE, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    return done.stdout


def test_deleting_account_lock_does_not_let_a_second_perpdesk_in(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    (tmp_path / "account.lock").unlink()  # what a cleanup script or a person might do
    out = second_instance(tmp_path)
    assert out.startswith("in_use Another perpdesk has the paper account in"), out
    with pytest.raises(JournalError) as info:  # in this process too
        open_journal(tmp_path)
    assert info.value.kind == "in_use"
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # the first one goes on saving
    assert journal.error is None
    journal.close()
    assert second_instance(tmp_path) == "opened\n"  # released on close


def test_a_killed_perpdesk_leaves_no_lock_behind(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{SECOND_INSTANCE.replace('.close()', '')}\nimport time\n"
            "print(flush=True)\ntime.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "opened\n"
        assert second_instance(tmp_path).startswith("in_use")
    finally:
        child.kill()
        child.wait()
    assert second_instance(tmp_path) == "opened\n"


# --- a database replaced under a running perpdesk ---------------------------------------------


@pytest.mark.parametrize("how", ["replaced", "removed"])
def test_a_database_replaced_under_a_running_perpdesk_is_not_written(
    tmp_path: Path, how: str
) -> None:
    journal = open_journal(tmp_path / "acct")
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # saved: record 1
    live = tmp_path / "acct" / DB_NAME
    moved = tmp_path / "moved.db"
    os.rename(live, moved)
    if how == "replaced":  # e.g. a backup restored over it while perpdesk runs
        make_real_account(tmp_path / "backup")
        journal_db = (tmp_path / "backup" / DB_NAME).read_bytes()
        live.write_bytes(journal_db)
        before = digest(live)
    journal.engine.open("BTC", LONG, 0.02, 5, ISO)  # record 2: must not go into the new file
    error = journal.error
    assert error is not None
    assert "was replaced or removed while perpdesk was running" in error
    assert "Your trades since" in error and "are not saved" in error
    assert journal.pending == 1
    assert not journal.flush() and not journal.checkpoint()
    with pytest.raises(JournalError, match="replaced or removed"):
        journal.new_season(5_000)
    assert not journal.close()
    if how == "replaced":
        assert digest(live) == before  # not one byte of this account in the new file
        assert (
            not (tmp_path / "acct" / f"{DB_NAME}-wal").exists()
            or (tmp_path / "acct" / f"{DB_NAME}-wal").stat().st_size == 0
        )
        restored = read_account(tmp_path / "acct", markets=MARKETS)
        backup = read_account(tmp_path / "backup", markets=MARKETS)
        assert restored is not None and backup is not None
        assert len(restored.events) == len(backup.events)
    else:
        assert not live.exists()
    with contextlib.closing(sqlite3.connect(moved)) as conn:  # the file it opened keeps record 1
        assert conn.execute("SELECT seq FROM events").fetchall() == [(1,)]


# --- permissions ------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_and_account_files_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "new" / "perpdesk"
    journal = open_journal(data)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    assert mode(data) == 0o700
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", "account.lock"):
        assert mode(data / name) == 0o600, name
    path = journal.export("fills", data)
    assert mode(path) == 0o600
    journal.close()
    path = export_csv(journal.engine.events, data / "again.csv", "fills")
    assert mode(path) == 0o600


def test_account_files_an_older_perpdesk_left_readable_are_narrowed(tmp_path: Path) -> None:
    make_real_account(tmp_path)
    for name in (DB_NAME, "account.lock"):
        (tmp_path / name).chmod(0o644)
    tmp_path.chmod(0o755)
    open_journal(tmp_path).close()
    assert mode(tmp_path / DB_NAME) == 0o600 and mode(tmp_path / "account.lock") == 0o600
    assert mode(tmp_path) == 0o755  # a folder that exists may be the user's choice: left alone


def test_a_corrupt_file_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_text("balance = 10000\n")
    (tmp_path / DB_NAME).chmod(0o644)
    with pytest.raises(JournalError):
        open_journal(tmp_path)
    assert mode(tmp_path / DB_NAME) == 0o644


# --- the damaged-account fuzzers --------------------------------------------------------------

_ANY_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**400), 10**400),
        st.floats(),  # NaN and infinities too: json writes them as NaN / Infinity
        st.text(max_size=6),
        st.sampled_from(["0.1", "BTC", "long", "isolated", "\x1b[2J", ""]),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def real_account(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("real")
    make_real_account(folder)
    return folder / DB_NAME


def history_of(journal: Journal) -> None:
    """What the history screen and the exports read, and the account strip's figures: shown,
    or refused with a message that names the damaged record."""
    try:
        read_whole_history(journal)
        events = list(journal.records())
        closed_positions(events)  # the full-scan functions the ledger is tested against
        post_mortems(events, journal.engine.markets, journal.accounts)
        for kind in EXPORT_KINDS:
            export_rows(events, kind)
    except JournalError as exc:
        assert exc.kind == "history", str(exc)
        assert safe_text(str(exc)) == str(exc)
    engine = journal.engine
    assert all(math.isfinite(v) for v in dataclasses.astuple(engine.account))


def with_deep(text: str, deep: int) -> str:
    """A JSON object's text with a key nested ``deep`` arrays deep added (no parse needed)."""
    return (
        text
        if not deep or not text.endswith("}")
        else (text[:-1] + (", " if text != "{}" else "") + '"z": ' + "[" * deep + "]" * deep + "}")
    )


@fuzz(80)
@given(
    target=st.sampled_from(["record", "state", "markets", "wallet"]),
    seq=st.integers(1, 45),
    key=st.sampled_from(["size", "time", "price", "side", "mode", "seq", "fee", "wallet",
                         "positions", "marks", "deposits", "x"]),
    value=_ANY_JSON,
    deep=st.one_of(st.just(0), st.integers(1, 5000)),
)  # fmt: skip
def test_fuzz_damaged_records_are_refused_at_opening_or_when_read_or_work_everywhere(
    tmp_path_factory: pytest.TempPathFactory,
    real_account: Path,
    target: str,
    seq: int,
    key: str,
    value: object,
    deep: int,
) -> None:
    """One field of a saved record or state replaced by anything JSON can hold (wrong types,
    NaN, huge or deeply nested values): opening either refuses the file as corrupt (offering a
    fresh account) or gives an account that trades and saves, whose history the screens can
    show or refuse with a message (a damaged record, when it is read). Nothing else."""
    folder = tmp_path_factory.mktemp("acct")
    (folder / DB_NAME).write_bytes(real_account.read_bytes())
    with contextlib.closing(sqlite3.connect(folder / DB_NAME)) as conn:
        if target == "record":
            found = conn.execute("SELECT payload FROM events WHERE seq = ?", (seq,)).fetchone()
            payload = json.loads(found[0]) if found else {}
            payload[key] = value
            text = with_deep(json.dumps(payload), deep)
            conn.execute("UPDATE events SET payload = ? WHERE seq = ?", (text, seq))
        elif target == "wallet":
            stored = value if isinstance(value, float | str) or value is None else "x"
            conn.execute("UPDATE events SET wallet = ? WHERE seq = ?", (stored, seq))
        else:
            column = "state" if target == "state" else "markets"
            (text,) = conn.execute(f"SELECT {column} FROM seasons").fetchone()
            data = json.loads(text)
            if isinstance(data, dict):
                data[key] = value
            elif deep:
                data.append([])
            else:
                data = [value]
            text = (
                with_deep(json.dumps(data), deep)
                if isinstance(data, dict)
                else (
                    json.dumps(data)[:-3] + "[" * deep + "]" * deep + "]"
                    if deep
                    else json.dumps(data)
                )
            )
            conn.execute(f"UPDATE seasons SET {column} = ?", (text,))
        conn.commit()
    try:
        journal = open_journal(folder)
    except JournalError as exc:
        assert exc.kind == "corrupt", str(exc)
        assert safe_text(str(exc)) == str(exc)
        return
    try:
        history_of(journal)
        journal.engine.set_mark("BTC", 101_000.0)  # and it goes on trading and saving
        with contextlib.suppress(OrderRejected):  # (a damaged wallet of 0 can refuse it)
            journal.engine.open("BTC", LONG, 0.001, 5, ISO)
        assert journal.error is None
    finally:
        journal.close()


@fuzz(60)
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                      max_size=8))  # fmt: skip
def test_fuzz_damaged_bytes_are_refused_or_read_never_raised(
    tmp_path_factory: pytest.TempPathFactory, real_account: Path, flips: list[tuple[int, int]]
) -> None:
    folder = tmp_path_factory.mktemp("bytes")
    data = bytearray(real_account.read_bytes())
    for at, mask in flips:
        data[at % len(data)] ^= mask
    (folder / DB_NAME).write_bytes(bytes(data))
    try:
        journal = open_journal(folder)
    except JournalError as exc:
        assert exc.kind in ("corrupt", "newer"), str(exc)
        assert (folder / DB_NAME).read_bytes() == bytes(data)  # refused: untouched
        return
    try:
        history_of(journal)
    finally:
        journal.close()


def test_a_damaged_key_index_of_meta_is_refused_as_corrupt(
    real_account: Path, tmp_path: Path
) -> None:
    """The meta table's rows read fine by a scan while its key index (what opening looks the
    version up through, and writes through) lies: refused as corrupt, the file untouched
    (the fuzzer found a byte flip there that raised, then one misread as unwritable)."""
    data = bytearray(real_account.read_bytes())
    with sqlite3.connect(real_account) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_meta_1'"
        ).fetchone()
    conn.close()
    start = (root - 1) * page_size
    cell = start + int.from_bytes(data[start + 8 : start + 10], "big")  # its first cell
    data[cell + 3] ^= 0x20  # a byte of its first entry's record: the index now lies
    (tmp_path / DB_NAME).write_bytes(bytes(data))
    with pytest.raises(JournalError) as caught:
        open_journal(tmp_path)
    assert caught.value.kind == "corrupt" and "integrity" in str(caught.value)
    assert (tmp_path / DB_NAME).read_bytes() == bytes(data)


def test_every_saved_field_has_a_check() -> None:
    """A record or order field of a type the journal cannot check would slip through unchecked
    (or make opening fail): every field of every saved dataclass has a check."""
    from tui.engine import Order
    from tui.history import ClosedPosition, OpenTrip, OrderRecord
    from tui.journal import _TYPES, _converter
    from tui.journal.codec import _TIMES

    saved = (*_TYPES.values(), Order, ClosedPosition, OpenTrip, OrderRecord)
    for cls in saved:
        for f in dataclasses.fields(cls):
            check = _converter(f.type, time=f.name in _TIMES)
            assert callable(check), f"{cls.__name__}.{f.name}: {f.type}"


@pytest.mark.parametrize(
    "table, key, value, detail",
    [
        ("closed", "closed_at", 1e300, "closed round trip 1's closed_at is 1e+300, not a time"),
        ("closed", "fees", "x", "closed round trip 1's fees is str 'x', not a number"),
        ("closed", "side", "up", "'up' is not a valid Side"),
        ("orders", "ended_at", -5.0, "order 1's row's ended_at is -5.0, not a time"),
        ("orders", "status", 3, "order 1's row's status is int 3, not text"),
    ],
)
def test_a_damaged_history_row_is_refused_when_read(
    tmp_path: Path, table: str, key: str, value: object, detail: str
) -> None:
    """The ledger's own rows (closed round trips, orders) are checked as records are."""
    journal = open_journal(tmp_path)
    eng = journal.engine
    eng.open("BTC", LONG, 0.01, 5, ISO)
    eng.close("BTC")
    order = eng.place_order("ETH", LONG, 0.1, "limit", price=3_000, leverage=5)
    eng.cancel_order(order.id)
    journal.close()
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        (payload,) = conn.execute(f"SELECT payload FROM {table}").fetchone()
        data = json.loads(payload)
        data[key] = value
        conn.execute(f"UPDATE {table} SET payload = ?", (json.dumps(data),))
        conn.commit()
    journal = open_journal(tmp_path)
    fetch = journal.closed_page if table == "closed" else journal.orders_page
    with pytest.raises(JournalError) as info:
        fetch()
    assert info.value.kind == "history" and detail in str(info.value)
    assert_safe(str(info.value))
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # the account goes on
    assert journal.error is None
    journal.close()
