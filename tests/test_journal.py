"""The journal: the account survives quitting, kill -9, bad files and failing disks."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    LeverageChange,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
    Venue,
    venue_markets,
)
from tui.journal import (
    DB_NAME,
    Journal,
    JournalError,
    Synchronous,
    decode_event,
    encode_event,
    format_seasons,
    list_seasons,
    read_account,
    set_aside,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
MARKETS = [
    Market("BTC", max_leverage=40),
    Market("ETH", max_leverage=25),
    Market("SOL", max_leverage=20),
]
BASE = {"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0}
MAX_LEV = {"BTC": 40, "ETH": 25, "SOL": 20}
HELPER = Path(__file__).parent / "journal_helpers" / "trader.py"


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.25  # every reading moves on: times in records differ
        return self.now


# No fsync per commit in the tests: what they check is what is committed, and a commit is
# visible to the next reader with or without it. Only the kill -9 test (its writer is
# journal_helpers/trader.py) keeps the default, FULL, that perpdesk itself uses.
RELAXED: Synchronous = "OFF"


def open_journal(data_dir: Path, **kw: Any) -> Journal:
    kw.setdefault("synchronous", RELAXED)
    kw.setdefault("starting_balance", 10_000)
    kw.setdefault("markets", MARKETS)
    kw.setdefault("clock", Clock())
    journal = Journal.open(data_dir, **kw)
    for name, price in BASE.items():
        if journal.engine.mark(name) is None:
            journal.engine.set_mark(name, price)
    return journal


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def trade_a_little(eng: PaperEngine) -> None:
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.open("ETH", SHORT, 2, 5, CROSS)
    eng.add_margin("BTC", 250)
    eng.apply_funding("ETH", 0.0001)
    eng.set_mark("ETH", 3_900)
    eng.close("ETH", 1)
    eng.open("SOL", LONG, 10, 4, CROSS)


def close_enough(a: object, b: object) -> None:
    for name in a.__dataclass_fields__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and isinstance(y, float):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (name, x, y)
        else:
            assert x == y, (name, x, y)


def assert_same_account(
    rebuilt: Journal, live: PaperEngine, made: Sequence[Event] | None = None
) -> None:
    """A journal just opened holds the live engine's account; its saved records are ``made``
    (when given). Opening reads the saved state, not the records: the engine has none."""
    engine = rebuilt.engine
    assert engine.to_state() == live.to_state()
    assert engine.events == []
    if made is not None:
        assert list(rebuilt.records()) == list(made)
        assert rebuilt.record_count == len(made)
    close_enough(engine.account, live.account)
    assert len(engine.positions()) == len(live.positions())
    for a, b in zip(engine.positions(), live.positions(), strict=True):
        close_enough(a, b)


# --------------------------------------------------------------------------- basics


def test_new_account_then_reopen_gives_the_same_account(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "data")
    assert (journal.engine.account.wallet_balance, journal.season) == (10_000, 1)
    assert journal.path == tmp_path / "data" / DB_NAME
    trade_a_little(journal.engine)
    assert journal.error is None and journal.pending == 0
    live = journal.engine
    assert journal.close() is True
    assert journal.closed and journal.close() is True

    again = open_journal(tmp_path / "data", starting_balance=500)  # balance only funds a new one
    assert_same_account(again, live, live.events)
    assert again.accounts.keys() == {e.seq for e in live.events}
    # The rebuilt engine goes on numbering and saving where the old one stopped.
    fill = again.engine.close("BTC")
    assert fill.seq == live.events[-1].seq + 1
    again.close()
    reread = read_account(tmp_path / "data", markets=MARKETS)
    assert reread is not None and reread.events[-1] == fill


def test_every_record_type_round_trips_through_json() -> None:
    records: list[Event] = [
        Fill(1, 1.5, "BTC", LONG, 0.1, 100_000.0, 4.5, ISO, 10.0, "open"),
        Fill(2, 2, "BTC", SHORT, 0.1, 1e-7, 0.0, CROSS, 3, "close", -1 / 3),
        Liquidation(
            3, 3.0, "ETH", SHORT, 1.0, 4000.0, 4400.0, CROSS, 5.0, 800.1, -400.0, 1e-300, 2, 0.5
        ),
        FundingPayment(4, 4.0, "SOL", LONG, 10.0, 200.0, -0.0001, -0.2, ISO),
        MarginTransfer(5, 5.0, "BTC", -12.345678901234567),
        LeverageChange(6, 6.0, "BTC", ISO, 0.1, 10.0, 5.0, 2_000.0, 1_000.0),
    ]  # fmt: skip
    for record in records:
        back = decode_event(*encode_event(record))
        assert back == record and type(back) is type(record)
    with pytest.raises(ValueError):
        decode_event("trade", "{}")
    with pytest.raises(ValueError):
        decode_event("fill", json.dumps({"seq": 1}))


def test_a_leverage_change_is_saved_as_it_happens(tmp_path: Path) -> None:
    """No checkpoint, no close: what a kill -9 right after the change would leave on disk."""
    journal = open_journal(tmp_path, lock=False)
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, CROSS)
    eng.open("ETH", LONG, 1, 10, ISO)
    eng.set_leverage("BTC", 20)
    eng.set_leverage("ETH", 5)  # posts 400 from the wallet
    saved = read_account(tmp_path, markets=MARKETS)
    assert saved is not None
    levs = {p.market: p.leverage for p in saved.positions()}
    assert levs == {"BTC": 20, "ETH": 5}
    assert saved.position("ETH").margin == pytest.approx(800)  # type: ignore[union-attr]
    changes = [e for e in saved.events if isinstance(e, LeverageChange)]
    assert [(c.market, c.leverage_before, c.leverage) for c in changes] == [
        ("BTC", 10, 20),
        ("ETH", 10, 5),
    ]
    journal.close()


def test_a_flip_and_a_cross_liquidation_are_each_one_transaction(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, lock=False)
    eng = journal.engine
    seen_on_disk: list[list[int]] = []

    def look(event: object) -> None:  # runs after the journal's listener
        saved = read_account(tmp_path, markets=MARKETS)
        assert saved is not None
        seen_on_disk.append([e.seq for e in saved.events])

    eng.listeners.append(look)
    eng.open("SOL", SHORT, 10, 5, ISO)
    eng.open("SOL", LONG, 30, 5, CROSS)  # flip: close + open, seq 2 and 3
    assert seen_on_disk == [[1], [1], [1, 2, 3]]  # not the first leg alone
    eng.open("BTC", LONG, 0.5, 20, CROSS)
    eng.open("ETH", SHORT, 5, 20, CROSS)
    seen_on_disk.clear()
    eng.set_mark("BTC", 80_000)  # takes every cross position, seq 6, 7, 8
    assert [e.seq for e in eng.liquidations] == [6, 7, 8]
    assert seen_on_disk == [[1, 2, 3, 4, 5]] * 2 + [[1, 2, 3, 4, 5, 6, 7, 8]]
    journal.close()


# --------------------------------------------------------------------------- property


market_st = st.sampled_from(list(BASE))
open_st = st.tuples(
    st.just("open"),
    market_st,
    st.sampled_from(list(Side)),
    st.floats(min_value=1_000, max_value=80_000),
    st.integers(min_value=2, max_value=40),
    st.sampled_from([CROSS, CROSS, ISO]),
)
trade_st = st.one_of(
    open_st,
    open_st,
    open_st,
    st.tuples(st.just("close"), market_st, st.floats(min_value=0.05, max_value=1.0)),
    st.tuples(st.just("add_margin"), market_st, st.floats(min_value=1, max_value=3_000)),
    st.tuples(st.just("remove_margin"), market_st, st.floats(min_value=1, max_value=3_000)),
    st.tuples(st.just("funding"), market_st, st.floats(min_value=-0.003, max_value=0.003)),
)
mark_st = st.tuples(st.just("mark"), market_st, st.integers(min_value=-25, max_value=25))
op_st = st.one_of(trade_st, st.tuples(st.just("reopen"), market_st))


def session(ops: Any, max_steps: int) -> Any:
    """Steps of an action then a mark move, so sessions reach liquidations often."""
    steps = st.lists(st.tuples(ops, mark_st), min_size=max_steps // 3, max_size=max_steps)
    return steps.map(lambda pairs: [op for pair in pairs for op in pair])


def label(events: list[Any]) -> None:
    """Say what a session went through (--hypothesis-show-statistics)."""
    groups: dict[int, int] = {}
    for e in events:
        if isinstance(e, Liquidation):
            hypothesis.event(f"{e.mode.value} liquidation")
            if e.mode is CROSS:
                groups[e.group] = groups.get(e.group, 0) + 1
    if any(n > 1 for n in groups.values()):
        hypothesis.event("cross liquidation of several positions")
    fills = [e for e in events if isinstance(e, Fill)]
    if any(
        a.kind == "close" and b.kind == "open" and a.seq + 1 == b.seq
        for a, b in itertools.pairwise(fills)
    ):
        hypothesis.event("flip")


def run_op(journal: Journal, op: tuple[Any, ...]) -> Journal:
    eng = journal.engine
    kind, name = op[0], op[1]
    with contextlib.suppress(OrderRejected):
        if kind == "open":
            _, _, side, usd, lev, mode = op
            eng.open(name, side, usd / eng.mark(name), min(lev, MAX_LEV[name]), mode)
        elif kind == "close":
            pos = eng.position(name)
            eng.close(name, None if pos is None else pos.size * op[2])
        elif kind == "add_margin":
            eng.add_margin(name, op[2])
        elif kind == "remove_margin":
            eng.remove_margin(name, op[2])
        elif kind == "funding":
            eng.apply_funding(name, op[2])
        elif kind == "mark":
            eng.set_mark(name, eng.mark(name) * (1 + op[2] / 100))
    if kind == "reopen":  # quit and launch again, then go on trading on the rebuilt engine
        data_dir, clock = journal.data_dir, journal._clock
        assert journal.close()
        journal = Journal.open(data_dir, markets=MARKETS, clock=clock, synchronous=RELAXED)
        assert_same_account(journal, eng)
    return journal


def watch_disk(journal: Journal, snapshots: dict[int, dict[str, Any]], made: list[Event]) -> None:
    """After every record, what a process killed right now would find on disk: the state and
    history of a whole operation, never a part of one. ``made`` collects the records."""
    eng = journal.engine

    def check(event: Any) -> None:
        made.append(event)
        snapshots[event.seq] = eng.to_state()
        saved = read_account(journal.data_dir, markets=MARKETS)
        assert saved is not None
        n = len(saved.events)
        assert saved.events == made[:n]
        state = saved.to_state()
        assert state["seq"] == (saved.events[-1].seq if n else 0)
        if n and state["seq"] in snapshots:
            assert state == snapshots[state["seq"]]

    eng.listeners.append(check)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session(op_st, 24))
def test_rebuilt_account_equals_the_live_one_after_random_sessions(ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        journal = open_journal(data_dir)
        snapshots: dict[int, dict[str, Any]] = {}
        made: list[Event] = []
        watch_disk(journal, snapshots, made)
        for op in ops:
            journal = run_op(journal, op)
            if op[0] == "reopen":  # closing saved the marks of the moment too
                watch_disk(journal, snapshots, made)
                if made:
                    snapshots[made[-1].seq] = journal.engine.to_state()
            assert journal.error is None and journal.pending == 0
            # Killed now: the disk has every record, and the state as of the last one.
            saved = read_account(data_dir, markets=MARKETS)
            assert saved is not None and saved.events == made
            if saved.events:
                assert saved.to_state() == snapshots[saved.events[-1].seq]
        live = journal.engine
        label(made)
        if any(op[0] == "reopen" for op in ops):
            hypothesis.event("reopened mid-session")
        live_accounts = dict(journal.accounts)
        assert live_accounts.keys() == {e.seq for e in made}
        assert journal.close()
        again = Journal.open(data_dir, markets=MARKETS, clock=Clock(), synchronous=RELAXED)
        assert_same_account(again, live, made)
        assert again.accounts == live_accounts
        again.close()


# --------------------------------------------------------------------------- kill -9


def test_kill_9_in_the_middle_of_trading_loses_nothing_reported_done(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, str(HELPER), str(data_dir), "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    done: list[tuple[int, dict[str, Any]]] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY", child.stderr
        while len(done) < 300:
            line = child.stdout.readline()
            assert line.startswith("DONE "), (line, child.stderr and child.stderr.read())
            _, seq, state = line.split(" ", 2)
            done.append((int(seq), json.loads(state)))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    journal = Journal.open(data_dir, markets=MARKETS)  # the dead process's lock is gone
    eng = journal.engine
    records = list(journal.records())
    seqs = [e.seq for e in records]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing missing, nothing torn
    last_done = done[-1][0]
    assert last_done > 20 and seqs[-1] >= last_done  # every DONE record is there
    saved = eng.to_state()
    assert saved["seq"] == seqs[-1]
    reported = next((s for q, s in done if q == saved["seq"]), None)
    if reported is not None:  # the state as the screen showed it after that operation
        assert saved == reported
    else:  # killed after the commit, before the DONE line
        assert saved["seq"] > last_done
    assert any(isinstance(e, Liquidation) for e in records)
    assert journal.close()


# --------------------------------------------------------------------------- bad files


def make_real_account(data_dir: Path) -> None:
    journal = open_journal(data_dir)
    trade_a_little(journal.engine)
    for i in range(40):
        journal.engine.apply_funding("ETH", 0.00001 * i)
    journal.close()


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("damage", ["random", "truncated", "text", "foreign"])
def test_a_corrupt_file_is_reported_and_left_untouched(tmp_path: Path, damage: str) -> None:
    path = tmp_path / DB_NAME
    if damage == "random":
        path.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        make_real_account(tmp_path)
        data = path.read_bytes()
        assert len(data) >= 4 * 4096
        path.write_bytes(data[: len(data) // 2 + 100])
    elif damage == "text":
        path.write_text("balance = 10000\n")
    else:
        with contextlib.closing(sqlite3.connect(path)) as other:
            other.execute("CREATE TABLE notes (body TEXT)")
            other.commit()
    before, listing = digest(path), files(tmp_path)
    with pytest.raises(JournalError) as info:
        open_journal(tmp_path)
    error = info.value
    assert error.kind == "corrupt"
    assert str(path) in str(error) and "fresh account" in str(error)
    assert digest(path) == before
    assert files(tmp_path) - listing <= {"account.lock"}  # no -wal / -shm beside it
    with pytest.raises(JournalError, match="cannot be read"):
        list_seasons(tmp_path)
    assert digest(path) == before


def test_a_newer_account_is_reported_and_left_untouched(tmp_path: Path) -> None:
    make_real_account(tmp_path)
    path = tmp_path / DB_NAME
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
    before = digest(path)
    with pytest.raises(JournalError) as info:
        open_journal(tmp_path)
    assert info.value.kind == "newer"
    assert "newer perpdesk" in str(info.value) and "999" in str(info.value)
    assert digest(path) == before
    assert not (tmp_path / f"{DB_NAME}-wal").exists()


def test_setting_a_bad_file_aside_keeps_its_bytes_and_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    junk = os.urandom(5000)
    path.write_bytes(junk)
    (tmp_path / f"{DB_NAME}-wal").write_bytes(b"stale wal")
    with pytest.raises(JournalError):
        open_journal(tmp_path)
    kept = set_aside(tmp_path, clock=lambda: 1_700_000_000.0)
    assert kept.name.startswith(f"{DB_NAME}.unreadable-2023111")
    assert kept.read_bytes() == junk
    assert Path(f"{kept}-wal").read_bytes() == b"stale wal"
    journal = open_journal(tmp_path, starting_balance=2_500)
    assert journal.engine.account.wallet_balance == 2_500 and journal.engine.events == []
    journal.close()
    with pytest.raises(ValueError, match="nothing to set aside"):
        set_aside(tmp_path)
    assert kept.read_bytes() == junk


def test_an_empty_file_left_by_a_dead_first_launch_becomes_a_new_account(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"")
    journal = open_journal(tmp_path)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    journal.close()
    saved = read_account(tmp_path, markets=MARKETS)
    assert saved is not None and len(saved.events) == 1


def test_an_unwritable_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(JournalError) as info:
        open_journal(blocker / "perpdesk")
    assert info.value.kind == "unwritable"
    assert "--data-dir" in str(info.value) and str(blocker) in str(info.value)
    assert blocker.read_text() == "not a folder"


def test_one_perpdesk_per_account(tmp_path: Path) -> None:
    first = open_journal(tmp_path)
    with pytest.raises(JournalError) as info:
        open_journal(tmp_path)
    assert info.value.kind == "in_use"
    assert f"process {os.getpid()}" in str(info.value)
    first.close()
    open_journal(tmp_path).close()


def test_a_saved_position_in_a_market_no_longer_listed_keeps_its_market(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.open("SOL", LONG, 10, 5, CROSS)
    live = journal.engine
    journal.close()
    again = Journal.open(tmp_path, markets=MARKETS[:2], clock=Clock(), synchronous=RELAXED)
    assert again.engine.market("SOL") == MARKETS[2]
    assert again.engine.to_state() == live.to_state()
    again.close()


# --------------------------------------------------------------------------- failing writes


class FaultyConnection:
    """A real connection whose writes fail on demand, at a chosen statement."""

    def __init__(self, real: sqlite3.Connection, at: str = "BEGIN") -> None:
        self.real = real
        self.at = at
        self.failing = True
        self.calls = 0

    def _check(self, sql: str) -> None:
        if self.failing and sql.lstrip().upper().startswith(self.at):
            self.calls += 1
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self.real.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self.real.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextlib.contextmanager
def faulty(journal: Journal, at: str = "BEGIN") -> Iterator[FaultyConnection]:
    real = journal._conn
    fault = FaultyConnection(real, at)
    journal._conn = fault  # type: ignore[assignment]
    try:
        yield fault
    finally:
        journal._conn = real


@pytest.mark.parametrize("at", ["BEGIN", "INSERT", "UPDATE", "COMMIT"])
def test_disk_full_keeps_trading_in_memory_and_saves_when_it_can(tmp_path: Path, at: str) -> None:
    clock = Clock()
    journal = open_journal(tmp_path, clock=clock, lock=False)
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, ISO)
    with faulty(journal, at) as fault:
        fill = eng.open("ETH", SHORT, 1, 5, CROSS)  # completes in memory, nothing raised
        assert eng.position("ETH") is not None and fill.seq == 2
        since = time.strftime("%H:%M:%S", time.localtime(fill.time))
        assert journal.error == (
            f"Could not save to {journal.path}: database or disk is full. Your trades since "
            f"{since} are not saved yet; perpdesk retries on the next change."
        )
        eng.add_margin("BTC", 100)  # the next change retries, fails again, keeps both
        eng.set_mark("BTC", 89_000)  # an isolated liquidation while the disk is full
        assert fault.calls == 3 and journal.pending == 3
        assert journal.flush() is False
        saved = read_account(tmp_path, markets=MARKETS)
        assert saved is not None and [e.seq for e in saved.events] == [1]  # no partial write
        assert saved.to_state()["seq"] == 1
    assert journal.error is not None  # still failing until something is written
    assert journal.flush() is True
    assert journal.error is None and journal.pending == 0
    live = journal.engine
    journal.close()
    again = Journal.open(tmp_path, markets=MARKETS, clock=clock, synchronous=RELAXED)
    assert_same_account(again, live, live.events)
    again.close()


def test_a_real_full_database_recovers_on_the_next_change(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, lock=False)
    eng = journal.engine
    conn = journal._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite itself says the disk is full
    for i in range(200):
        eng.apply_funding("BTC", 0.0) if i % 2 else eng.open("SOL", LONG, 0.1, 2, CROSS)
        if journal.error:
            break
    assert journal.error is not None and "database or disk is full" in journal.error
    assert journal.pending > 0
    conn.execute("PRAGMA max_page_count = 1073741823")
    eng.open("SOL", LONG, 0.1, 2, CROSS)  # the next change writes everything waiting
    assert journal.error is None and journal.pending == 0
    live = journal.engine
    journal.close()
    again = open_journal(tmp_path)
    assert_same_account(again, live, live.events)
    again.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    session(st.one_of(trade_st, st.just(("fault",))), 20),
    st.sampled_from(["BEGIN", "INSERT", "UPDATE", "COMMIT"]),
)
def test_intermittent_write_failures_never_lose_or_tear_anything(ops: list[Any], at: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = open_journal(Path(tmp), lock=False)
        real = journal._conn
        fault = FaultyConnection(real, at)
        fault.failing = False
        journal._conn = fault  # type: ignore[assignment]
        for op in ops:
            if op[0] == "fault":
                fault.failing = not fault.failing
                continue
            run_op(journal, op)
            saved = read_account(tmp, markets=MARKETS)
            assert saved is not None
            n = len(saved.events)
            assert saved.events == journal.engine.events[:n]
            assert saved.to_state()["seq"] == (saved.events[-1].seq if n else 0)
            assert (journal.error is None) == (journal.pending == 0)
        fault.failing = False
        assert journal.flush() and journal.error is None
        live = journal.engine
        label(live.events)
        journal._conn = real
        journal.close()
        again = Journal.open(tmp, markets=MARKETS, clock=Clock(), synchronous=RELAXED)
        assert_same_account(again, live, live.events)
        again.close()


# --------------------------------------------------------------------------- seasons


def test_seasons_archive_and_list(tmp_path: Path) -> None:
    clock = Clock()
    journal = open_journal(tmp_path, clock=clock)
    trade_a_little(journal.engine)
    old = journal.engine
    old_events = list(old.events)
    new = journal.new_season(25_000)
    assert journal.engine is new and journal.season == 2
    assert new.account.wallet_balance == 25_000 and new.events == [] and new.positions() == []
    assert new.marks == old.marks
    old.open("BTC", LONG, 0.01, 5, ISO)  # the archived engine is no longer journalled
    new.open("BTC", SHORT, 0.01, 5, ISO)
    seasons = journal.seasons()
    assert list_seasons(tmp_path) == seasons  # another process can list while this one runs
    assert [(s.number, s.current, s.starting_balance) for s in seasons] == [
        (1, False, 10_000),
        (2, True, 25_000),
    ]
    first = seasons[0]
    assert first.n_fills == sum(isinstance(e, Fill) for e in old_events)
    assert first.ended is not None and first.started < first.ended
    journal.close()
    assert list_seasons(tmp_path) == seasons

    table = format_seasons(seasons)
    assert (
        "25,000.00" in table and "current" in table and table.splitlines()[0].startswith("Season")
    )

    again = open_journal(tmp_path)
    assert again.season == 2 and [e.seq for e in again.records()] == [1]
    again.close()


def test_fresh_start_archives_and_an_unused_season_is_restarted_in_place(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    journal.close()
    fresh = open_journal(tmp_path, starting_balance=3_000, fresh=True)
    assert fresh.season == 2 and fresh.engine.account.wallet_balance == 3_000
    fresh.new_season(4_000)  # nothing traded in season 2: restarted, not archived empty
    assert fresh.season == 2
    fresh.close()
    assert [(s.number, s.starting_balance) for s in list_seasons(tmp_path)] == [
        (1, 10_000),
        (2, 4_000),
    ]
    assert list_seasons(tmp_path / "nowhere") == []
    assert "No paper account yet" in format_seasons([])


def test_the_venue_belongs_to_the_season(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, venue=Venue.BINANCE)
    journal.engine.open("BTC", LONG, 0.1, 10, ISO)
    journal.close()
    # A relaunch uses the season's venue, whatever it is asked to start a new account with.
    again = open_journal(tmp_path, venue=Venue.HYPERLIQUID)
    assert again.engine.venue is Venue.BINANCE
    assert again.engine.position("BTC") is not None
    same = again.new_season(5_000)  # a new season keeps the venue unless told otherwise
    assert same.venue is Venue.BINANCE
    same.open("ETH", LONG, 1, 5, ISO)
    hl_markets = [m for m in venue_markets(Venue.HYPERLIQUID) if m.name in ("BTC", "HYPE")]
    switched = again.new_season(5_000, venue="hyperliquid", markets=hl_markets)
    assert switched.venue is Venue.HYPERLIQUID and set(switched.markets) == {"BTC", "HYPE"}
    assert switched.mark("BTC") == BASE["BTC"]  # marks carried over where the market exists
    again.close()
    reopened = Journal.open(tmp_path, markets=hl_markets, clock=Clock())
    assert reopened.engine.venue is Venue.HYPERLIQUID and reopened.season == 3
    reopened.close()


def test_a_new_season_is_refused_while_the_last_trades_are_unsaved(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, lock=False)
    with faulty(journal):
        journal.engine.open("BTC", LONG, 0.01, 5, ISO)
        with pytest.raises(JournalError) as info:
            journal.new_season(10_000)
        assert info.value.kind == "unwritable"
        assert journal.season == 1 and len(journal.engine.events) == 1
    with pytest.raises(ValueError):
        journal.new_season(-5)
    journal.new_season(10_000)
    assert [s.n_fills for s in journal.seasons()] == [1, 0]
    journal.close()


def test_post_mortems_use_the_saved_account(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.open("BTC", LONG, 0.5, 10, ISO)
    journal.engine.set_mark("BTC", 91_100)
    journal.close()
    again = open_journal(tmp_path)
    [pm] = again.post_mortems()
    assert pm.cross_loss == pytest.approx(10_000 - 0.5 * 100_000 * 0.00045)  # W + M, after fee
    again.close()


def test_no_journal_failure_reaches_the_engine(tmp_path: Path, monkeypatch: Any) -> None:
    journal = open_journal(tmp_path)

    def broken(event: object) -> Any:
        raise TypeError("unexpected")

    monkeypatch.setattr("tui.journal.store.encode_event", broken)
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # nothing raised
    assert journal.error is not None and "unexpected" in journal.error
    assert journal.flush() is False
    monkeypatch.undo()
    assert journal.flush() is True and journal.error is None
    journal.close()
    saved = read_account(tmp_path, markets=MARKETS)
    assert saved is not None and len(saved.events) == 1
