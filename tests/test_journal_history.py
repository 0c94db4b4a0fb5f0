"""The history read from SQLite (pages, counts, stats, exports, the ledger and its migration)
against the full-scan functions of tui.history over every record, on random accounts."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_journal import (
    BASE,
    CROSS,
    ISO,
    LONG,
    MARKETS,
    SHORT,
    Clock,
    mark_st,
    trade_st,
)
from tests.test_journal import run_op as trade_op
from tests.test_journal_orders import order_st
from tests.test_journal_orders import run_op as order_op
from tui.engine import (
    Event,
    Fill,
    FundingPayment,
    Liquidation,
    MarginMode,
    MarginTransfer,
    OrderEvent,
)
from tui.history import (
    EXPORT_CHUNK,
    EXPORT_KINDS,
    AccountAt,
    ClosedPosition,
    OrderRecord,
    PostMortem,
    StatsBook,
    account_at,
    add_exactly,
    closed_positions,
    export_csv,
    order_history,
    post_mortems,
    practice_stats,
)
from tui.journal import DB_NAME, Journal, JournalError, MemoryView, read_account
from tui.journal import store as journal_store
from tui.journal.ledger import LEDGER_VERSION
from tui.journal.pages import Page

T = TypeVar("T")


def open_fast(data_dir: Path, **kw: Any) -> Journal:
    """A journal that does not wait for the disk (these tests are not about power cuts)."""
    kw.setdefault("starting_balance", 10_000)
    kw.setdefault("markets", MARKETS)
    kw.setdefault("clock", Clock())
    journal = Journal.open(data_dir, synchronous="OFF", lock=False, **kw)
    for name, price in BASE.items():
        if journal.engine.mark(name) is None:
            journal.engine.set_mark(name, price)
    return journal


class Recorder:
    """Every record the engine makes, with the account right after it (the oracle's own
    copy, kept in memory, independent of what the journal saves)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.accounts: dict[int, AccountAt] = {}

    def attach(self, journal: Journal) -> None:
        engine = journal.engine

        def hear(event: Event) -> None:
            self.events.append(event)
            self.accounts[event.seq] = account_at(engine)

        engine.listeners.append(hear)


def every_page(fetch: Callable[..., Page[T]], limit: int) -> list[T]:
    """All rows of a table, newest first, through its cursors; each page read again through
    its ``top`` is the same page (what a table that let it go reads back)."""
    rows: list[T] = []
    cursor: int | None = None
    for _ in range(100_000):
        page = fetch(before=cursor, limit=limit)
        assert len(page.rows) <= limit
        assert (page.next is None) or len(page.rows) == limit
        assert (page.top is None) == (not page.rows)
        if page.rows:
            assert fetch(before=page.top, limit=limit) == page
        rows += page.rows
        if page.next is None:
            return rows
        cursor = page.next
    raise AssertionError("the pages never ended")


def of(events: Sequence[Event], cls: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, cls)]


def assert_history_matches(journal: Journal, events: list[Event], limit: int) -> None:
    """Everything the journal reads from SQLite equals the full scan of ``events``."""
    assert journal.history_ready
    assert every_page(journal.fills_page, limit) == of(events, Fill)[::-1]
    assert every_page(journal.funding_page, limit) == of(events, FundingPayment)[::-1]
    assert every_page(journal.transfers_page, limit) == of(events, MarginTransfer)[::-1]
    assert every_page(journal.order_events_page, limit) == of(events, OrderEvent)[::-1]
    closed = closed_positions(events)
    assert every_page(journal.closed_page, limit) == closed[::-1]
    orders = order_history(events)
    assert every_page(journal.orders_page, limit) == orders[::-1]
    counts = journal.counts()
    assert counts.complete
    assert (
        counts.fills,
        counts.liquidations,
        counts.funding,
        counts.transfers,
        counts.order_events,
        counts.orders,
        counts.closed,
    ) == (
        len(of(events, Fill)),
        len(of(events, Liquidation)),
        len(of(events, FundingPayment)),
        len(of(events, MarginTransfer)),
        len(of(events, OrderEvent)),
        len(orders),
        len(closed),
    )
    assert journal.stats() == practice_stats(events)  # exactly: the ledger's sums are exact


def assert_post_mortems_match(
    journal: Journal, events: list[Event], accounts: dict[int, AccountAt], limit: int
) -> None:
    expected = post_mortems(events, journal.engine.markets, accounts)
    got: list[PostMortem] = every_page(journal.liquidations_page, limit)
    assert got == expected[::-1]


def assert_memory_view_matches(
    journal: Journal, events: list[Event], accounts: dict[int, AccountAt], limit: int
) -> None:
    """A session without a journal pages the same rows from memory."""
    view = MemoryView(lambda: events, lambda: journal.engine.markets, accounts)
    for name in ("fills", "liquidations", "funding", "transfers", "order_events", "orders"):
        page = f"{name}_page"
        assert every_page(getattr(view, page), limit) == every_page(
            getattr(journal, page), limit
        ), name
    assert every_page(view.closed_page, limit) == every_page(journal.closed_page, limit)
    assert view.counts() == journal.counts() and view.stats() == journal.stats()


def assert_exports_match(journal: Journal, events: list[Event], folder: Path) -> None:
    for kind in EXPORT_KINDS:
        streamed = journal.export(kind, folder / f"journal-{kind}.csv")
        scanned = export_csv(events, folder / f"scan-{kind}.csv", kind)
        assert streamed.read_text() == scanned.read_text(), kind


# --------------------------------------------------------------------------- property

bold_cross_st = st.tuples(  # large cross positions: marks then set off cross liquidations
    st.just("open"),
    st.sampled_from(list(BASE)),
    st.sampled_from([LONG, SHORT]),
    st.floats(min_value=20_000, max_value=60_000),
    st.integers(min_value=10, max_value=20),
    st.just(CROSS),
)
book_st = st.tuples(  # a book around the mark: fills then pay spread, and impact beyond it
    st.just("book"),
    st.sampled_from(list(BASE)),
    st.integers(min_value=1, max_value=40),  # half the spread, in basis points
    st.floats(min_value=2_000, max_value=40_000),  # USD at each level
)
step_st = st.one_of(
    trade_st,
    bold_cross_st,
    bold_cross_st,
    order_st,
    book_st,
    st.tuples(st.just("reopen"), st.just("BTC")),
)


def set_book(journal: Journal, op: tuple[Any, ...]) -> None:
    """Five levels each side, ``half`` bps apart, ``usd`` of size at each."""
    _, name, half, usd = op
    mark = journal.engine.mark(name)
    assert mark is not None
    step = half / 10_000
    bids = [(mark * (1 - step * k), usd / mark) for k in range(1, 6)]
    asks = [(mark * (1 + step * k), usd / mark) for k in range(1, 6)]
    journal.engine.set_book(name, bids, asks)


def random_session() -> Any:
    pairs = st.lists(st.tuples(step_st, mark_st), min_size=6, max_size=26)
    return pairs.map(lambda steps: [op for pair in steps for op in pair])


def run(journal: Journal, op: tuple[Any, ...], recorder: Recorder) -> Journal:
    if op[0] == "reopen":
        data_dir, clock = journal.data_dir, journal._clock
        assert journal.close()
        journal = Journal.open(
            data_dir, markets=MARKETS, clock=clock, synchronous="OFF", lock=False
        )
        recorder.attach(journal)
        assert journal.engine.events == []  # opening read the state, not the records
        return journal
    if op[0] == "book":
        set_book(journal, op)
        return journal
    if op[0] in ("order", "tpsl", "cancel"):
        return order_op(journal, op)
    return trade_op(journal, op)


def label(events: list[Event]) -> None:
    groups: dict[int, int] = {}
    for e in events:
        if isinstance(e, Liquidation):
            hypothesis.event(f"{e.mode.value} liquidation")
            if e.mode is MarginMode.CROSS:
                groups[e.group] = groups.get(e.group, 0) + 1
    if any(n > 1 for n in groups.values()):
        hypothesis.event("cross liquidation of several positions")
    if any(isinstance(e, OrderEvent) and e.action == "filled" for e in events):
        hypothesis.event("an order filled")
    if any(isinstance(e, Fill) and e.impact_cost for e in events):
        hypothesis.event("a fill walked the book")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_session(), st.integers(min_value=1, max_value=5))
def test_pages_counts_stats_and_exports_equal_the_full_scan(
    ops: list[tuple[Any, ...]], limit: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        journal = open_fast(data_dir)
        recorder = Recorder()
        recorder.attach(journal)
        for op in ops:
            journal = run(journal, op, recorder)
            assert journal.error is None and journal.history_ready
        events = recorder.events
        label(events)
        saved = read_account(data_dir, markets=MARKETS)  # every record, read and checked
        assert saved is not None and saved.events == events
        assert list(journal.records()) == events
        assert journal.record_count == len(events)
        assert_history_matches(journal, events, limit)
        assert_post_mortems_match(journal, events, recorder.accounts, limit)
        assert_memory_view_matches(journal, events, recorder.accounts, limit)
        assert journal.post_mortems() == post_mortems(
            events, journal.engine.markets, recorder.accounts
        )
        assert_exports_match(journal, events, data_dir)
        journal.close()


def downgrade_to_schema_1(data_dir: Path) -> None:
    """What a perpdesk before the ledger left: schema 1, no index, no ledger tables."""
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        for table in ("ledger", "closed", "orders"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP INDEX events_by_type")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.commit()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    random_session(),
    random_session(),
    st.integers(min_value=1, max_value=7),
    st.integers(min_value=1, max_value=6),
)
def test_an_older_account_builds_its_ledger_in_slices_while_it_trades(
    before: list[tuple[Any, ...]], after: list[tuple[Any, ...]], chunk: int, limit: int
) -> None:
    """Schema 1, then opened by this perpdesk: the ledger is folded a few records at a time
    (budget 0: one chunk per call), with trading (and a relaunch) in between; once built it
    equals the full scan, and it goes on folding new records as they are saved."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        data_dir = Path(tmp)
        journal = open_fast(data_dir)
        recorder = Recorder()
        recorder.attach(journal)
        for op in before:
            journal = run(journal, op, recorder)
        journal.close()
        downgrade_to_schema_1(data_dir)
        mp.setattr(journal_store, "SYNC_HISTORY", 0)
        mp.setattr(journal_store, "HISTORY_CHUNK", chunk)
        journal = open_fast(data_dir)
        recorder.attach(journal)
        n = len(recorder.events)
        assert journal.history_ready is (n == 0)
        for op in after:
            if not journal.history_ready:  # each call folds one more chunk (budget 0)
                through = journal._ledger.through
                assert 0.0 <= journal.build_history(0.0) <= 1.0
                assert journal._ledger.through == min(through + chunk, journal.record_count)
            journal = run(journal, op, recorder)
            assert journal.error is None
        while not journal.history_ready:
            journal.build_history(0.0)
        assert journal.history_progress == 1.0
        with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
            [(version,)] = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version == "2"
        events = recorder.events
        label(events)
        assert_history_matches(journal, events, limit)
        assert_post_mortems_match(journal, events, recorder.accounts, limit)
        journal.close()


# --------------------------------------------------------------------------- by hand


def fills_account(data_dir: Path, n: int) -> list[Event]:
    journal = open_fast(data_dir)
    for i in range(n):
        journal.engine.open("BTC", LONG if i % 2 == 0 else SHORT, 0.01, 5, ISO)
    events = list(journal.engine.events)
    journal.close()
    return events


def test_pages_walk_back_by_cursor_without_offset(tmp_path: Path) -> None:
    """Five fills, two a page: seqs [5, 4], [3, 2], [1]; the cursor is the oldest seq shown."""
    fills_account(tmp_path, 5)
    journal = open_fast(tmp_path)
    first = journal.fills_page(limit=2)
    assert [f.seq for f in first.rows] == [5, 4] and first.next == 4
    second = journal.fills_page(before=first.next, limit=2)
    assert [f.seq for f in second.rows] == [3, 2] and second.next == 2
    last = journal.fills_page(before=second.next, limit=2)
    assert [f.seq for f in last.rows] == [1] and last.next is None
    exact = journal.fills_page(limit=5)  # exactly the rows left: no empty page after it
    assert len(exact.rows) == 5 and exact.next is None
    assert journal.fills_page(before=1).rows == []
    assert journal.liquidations_page().rows == [] and journal.liquidations_page().next is None
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="at least one row"):
            journal.fills_page(limit=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        journal.fills_page(before="3")  # type: ignore[arg-type]
    journal.close()


def test_launch_reads_the_state_and_bounded_queries_only(tmp_path: Path) -> None:
    events = fills_account(tmp_path, 6)
    journal = open_fast(tmp_path)
    assert journal.engine.events == []
    assert journal.record_count == 6
    assert journal.recent(2) == events[-2:]
    assert journal.recent(50) == events
    journal.engine.open("BTC", LONG, 0.01, 5, ISO)
    assert journal.record_count == 7 and journal.recent(1) == journal.engine.events
    journal.close()


def test_every_query_a_page_runs_is_an_index_search_not_a_scan(tmp_path: Path) -> None:
    """SQLite's own plan for every statement the history runs: searches, never a scan of the
    records (a scan would read all 100,000 of them for a page)."""
    journal = cross_liquidation_of_three(tmp_path)
    eng = journal.engine
    eng.open("ETH", LONG, 0.5, 5, ISO)
    eng.apply_funding("ETH", 0.0001)
    eng.add_margin("ETH", 10)
    eng.place_order("ETH", SHORT, 0.1, "limit", price=9_000, leverage=5)
    statements: list[str] = []
    journal._conn.set_trace_callback(statements.append)
    try:
        for fetch in (
            journal.fills_page,
            journal.liquidations_page,
            journal.funding_page,
            journal.transfers_page,
            journal.order_events_page,
            journal.orders_page,
            journal.closed_page,
        ):
            first = fetch(limit=1)
            fetch(before=first.next, limit=1)
        journal.recent(5)
        journal.accounts[1]
    finally:
        journal._conn.set_trace_callback(None)
    assert len(statements) >= 15
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        for sql in statements:
            plan = " ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert plan.startswith("SEARCH") and "SCAN" not in plan, (sql, plan)
    journal.close()


def test_the_accounts_saved_with_records_are_read_when_asked(tmp_path: Path) -> None:
    journal = open_fast(tmp_path)
    journal.engine.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000, fee 4.50: W = 8,995.50
    journal.close()
    journal = open_fast(tmp_path)
    assert journal.accounts[1] == AccountAt(8_995.5, 8_995.5)  # no cross position: excess W
    assert len(journal.accounts) == 1 and list(journal.accounts) == [1]
    with pytest.raises(KeyError):
        journal.accounts[2]
    journal.engine.open("ETH", SHORT, 1, 5, CROSS)  # fee 1.8 at 4,000
    assert journal.accounts[2].wallet == pytest.approx(8_995.5 - 1.8)
    journal.close()


def test_an_isolated_post_mortem_uses_the_wallet_saved_with_its_record(tmp_path: Path) -> None:
    """Long 0.5 BTC at 100,000, 10x isolated: margin 5,000, fee 22.50, W = 4,977.50 after.
    Liquidated at 91,100: the post-mortem's Cross loss is W + M = 9,977.50, read from the
    record's saved wallet after a relaunch (nothing recomputed)."""
    journal = open_fast(tmp_path)
    journal.engine.open("BTC", LONG, 0.5, 10, ISO)
    journal.engine.set_mark("BTC", 91_100)
    journal.close()
    journal = open_fast(tmp_path)
    [pm] = journal.liquidations_page().rows
    assert pm.cross_loss == pytest.approx(4_977.5 + 5_000)
    journal.close()


def cross_liquidation_of_three(data_dir: Path) -> Journal:
    journal = open_fast(data_dir, starting_balance=10_000)
    eng = journal.engine
    eng.open("BTC", LONG, 0.5, 20, CROSS)
    eng.open("ETH", LONG, 5, 20, CROSS)
    eng.open("SOL", LONG, 100, 20, CROSS)
    eng.set_marks({name: price * 0.9 for name, price in BASE.items()})  # all fall 10 %
    return journal


def test_a_cross_liquidation_split_across_pages_keeps_its_post_mortems(tmp_path: Path) -> None:
    journal = cross_liquidation_of_three(tmp_path)
    recorder_events = list(journal.records())
    liqs = of(recorder_events, Liquidation)
    assert len(liqs) == 3 and len({e.group for e in liqs}) == 1  # one liquidation, 3 positions
    accounts = dict(journal.accounts)
    expected = post_mortems(recorder_events, journal.engine.markets, accounts)[::-1]
    for limit in (1, 2, 3):
        assert every_page(journal.liquidations_page, limit) == expected
    journal.close()


def test_export_streams_with_progress_and_leaves_nothing_when_stopped(tmp_path: Path) -> None:
    events = fills_account(tmp_path / "acct", 7)
    journal = open_fast(tmp_path / "acct")
    seen: list[tuple[int, int]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tui.history.EXPORT_CHUNK", 3)
        path = journal.export("fills", tmp_path, lambda n, total: seen.append((n, total)))
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert path.parent == tmp_path and path.name.startswith("perpdesk-fills-")
    assert path.read_text() == export_csv(events, tmp_path / "scan.csv", "fills").read_text()

    def stop(n: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tui.history.EXPORT_CHUNK", 2)
        with pytest.raises(KeyboardInterrupt):
            journal.export("fills", tmp_path / "stopped.csv", stop)
    assert not (tmp_path / "stopped.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    with pytest.raises(ValueError, match="Unknown export"):
        journal.export("positions", tmp_path)
    assert EXPORT_CHUNK > 0
    journal.close()


def test_an_export_in_a_worker_thread_reads_one_snapshot_while_trading_goes_on(
    tmp_path: Path,
) -> None:
    fills_account(tmp_path / "acct", 5)
    journal = open_fast(tmp_path / "acct")
    started, go_on = threading.Event(), threading.Event()
    result: list[Path] = []

    def progress(n: int, total: int) -> None:
        started.set()
        go_on.wait(10)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tui.history.EXPORT_CHUNK", 1)
        worker = threading.Thread(
            target=lambda: result.append(journal.export("fills", tmp_path / "f.csv", progress))
        )
        worker.start()
        assert started.wait(10)
        journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # saved while the export runs
        assert journal.error is None
        go_on.set()
        worker.join(10)
    lines = result[0].read_text().splitlines()
    assert len(lines) == 1 + 5  # the header and the five fills of its snapshot
    assert journal.counts().fills == 6
    journal.close()


def test_counts_and_stats_come_from_the_ledger_and_survive_a_relaunch(tmp_path: Path) -> None:
    """Open 0.1 BTC at 100,000 (fee 4.50), close at 101,000 (fee 4.545, +100): one win of
    net 90.955; funding on nothing pays nothing and makes no record."""
    journal = open_fast(tmp_path)
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 101_000)
    eng.close("BTC")
    journal.close()
    journal = open_fast(tmp_path)
    stats = journal.stats().overall
    assert stats.realized_pnl == pytest.approx(100.0)
    assert stats.fees_paid == pytest.approx(4.5 + 4.545)
    assert (stats.closed_positions, stats.wins, stats.largest_loss) == (1, 1, 0.0)
    counts = journal.counts()
    assert (counts.fills, counts.closed, counts.complete) == (2, 1, True)
    [trip] = journal.closed_page().rows
    assert isinstance(trip, ClosedPosition) and trip.net_pnl == pytest.approx(90.955)
    journal.close()


def test_a_damaged_ledger_is_folded_again_from_the_records(tmp_path: Path) -> None:
    events = fills_account(tmp_path, 4)
    for data in ('{"counts": 3}', "[" * 50_000, '{"counts": {"fills": "x"}}'):
        with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
            conn.execute("UPDATE ledger SET data = ?", (data,))
            conn.commit()
        journal = open_fast(tmp_path)
        assert journal.history_ready  # small: folded again while it opened
        assert journal.stats() == practice_stats(events) and journal.counts().fills == 4
        journal.close()
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        conn.execute("UPDATE ledger SET through = 99")  # counts records that are not there
        conn.commit()
    journal = open_fast(tmp_path)
    assert journal.counts().fills == 4 and journal.history_ready
    journal.close()


def test_a_damaged_record_stops_the_ledger_build_not_the_account(tmp_path: Path) -> None:
    journal = open_fast(tmp_path)
    journal.engine.open("BTC", LONG, 0.1, 10, ISO)
    journal.engine.open("ETH", LONG, 1, 10, ISO)
    journal.engine.apply_funding("ETH", 0.0001)
    journal.close()
    downgrade_to_schema_1(tmp_path)
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        conn.execute("UPDATE events SET payload = '{\"seq\": 2}' WHERE seq = 2")
        conn.commit()
    journal = open_fast(tmp_path)  # the account itself opens
    assert not journal.history_ready
    assert journal.history_error is not None and "a fill record has no" in journal.history_error
    with pytest.raises(JournalError) as info:
        journal.build_history()
    assert info.value.kind == "history" and "not affected" in str(info.value)
    assert [f.seq for f in journal.funding_page().rows] == [3]  # other tables still read
    journal.engine.open("SOL", LONG, 10, 4, ISO)  # and the account trades and saves
    assert journal.error is None and journal.record_count == 4
    assert not journal.counts().complete
    journal.close()


def test_the_ledger_keeps_sums_exact_where_a_running_total_would_drift() -> None:
    partials: list[float] = []
    for x in (1e16, 1.0, -1e16, 0.1, 0.2, -0.3):
        add_exactly(partials, x)
    assert math.fsum(partials) == math.fsum([1e16, 1.0, -1e16, 0.1, 0.2, -0.3])
    assert math.fsum(partials) != ((((1e16 + 1.0) - 1e16) + 0.1) + 0.2) - 0.3
    book = StatsBook()
    fills = [
        Fill(i + 1, 1.0, "BTC", LONG, 1.0, 1.0, fee, ISO, 5.0, "open")
        for i, fee in enumerate((1e16, 1.0, -1e16))
    ]
    for fill in fills:
        book.feed(fill)
    assert book.stats().overall.fees_paid == 1.0 == practice_stats(fills).overall.fees_paid


def test_order_rows_are_kept_one_per_order(tmp_path: Path) -> None:
    journal = open_fast(tmp_path)
    eng = journal.engine
    from tui.engine import OrderType

    resting = eng.place_order("BTC", LONG, 0.1, OrderType.LIMIT, price=95_000, leverage=5)
    eng.cancel_order(resting.id)
    eng.place_order("ETH", SHORT, 1, OrderType.LIMIT, price=4_400, leverage=5)
    eng.set_mark("ETH", 4_400)  # fills
    journal.close()
    journal = open_fast(tmp_path)
    rows: list[OrderRecord] = journal.orders_page().rows
    assert [(r.market, r.status) for r in rows] == [("ETH", "filled"), ("BTC", "cancelled")]
    assert journal.counts().orders == 2
    journal.close()


def test_seasons_are_listed_from_their_ledgers_or_counted(tmp_path: Path) -> None:
    from tui.journal import list_seasons

    journal = open_fast(tmp_path)
    journal.engine.open("BTC", LONG, 0.5, 10, ISO)
    journal.engine.set_mark("BTC", 91_100)  # liquidated
    journal.new_season(5_000)
    journal.engine.open("ETH", LONG, 1, 5, ISO)
    journal.engine.close("ETH")
    journal.close()
    listed = [(s.number, s.n_fills, s.n_liquidations) for s in list_seasons(tmp_path)]
    assert listed == [(1, 1, 1), (2, 2, 0)]
    downgrade_to_schema_1(tmp_path)  # no ledger: counted
    assert [(s.number, s.n_fills, s.n_liquidations) for s in list_seasons(tmp_path)] == listed
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as conn:
        conn.execute("CREATE TABLE ledger (season INTEGER PRIMARY KEY, through, data)")
        conn.execute("INSERT INTO ledger VALUES (1, 1, '{}')")  # behind, and damaged
        conn.commit()
    assert [(s.number, s.n_fills, s.n_liquidations) for s in list_seasons(tmp_path)] == listed


# --------------------------------------------------------------------------- ledger format 2


def downgrade_ledger_to_format_1(data_dir: Path) -> None:
    """What a perpdesk before execution costs saved: its ledger has no version, no spread or
    impact sums and no wins before fees (the file itself stays at schema 2)."""
    with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
        for season, data in conn.execute("SELECT season, data FROM ledger").fetchall():
            old = json.loads(data)
            del old["version"]
            for tally in old["tallies"].values():
                del tally["sums"]["spread"], tally["sums"]["impact"], tally["gross_wins"]
            conn.execute("UPDATE ledger SET data = ? WHERE season = ?", (json.dumps(old), season))
        conn.commit()


def book_account(journal: Journal) -> None:
    """Fills through a book: long 0.3 BTC takes asks 100,010 x 0.2 and 100,020 x 0.1 at a
    mark of 100,000: spread 0.3 x 10 = 3.00, impact 0.1 x 10 = 1.00; closed into bids
    99,990 x 1: spread 0.3 x 10 = 3.00, no impact."""
    eng = journal.engine
    eng.set_book("BTC", [(99_990.0, 1.0)], [(100_010.0, 0.2), (100_020.0, 0.1)])
    eng.open("BTC", LONG, 0.3, 10, ISO)
    eng.close("BTC")


def test_execution_costs_by_hand(tmp_path: Path) -> None:
    journal = open_fast(tmp_path)
    book_account(journal)
    stats = journal.stats()
    assert stats.overall.spread_cost == pytest.approx(6.0)
    assert stats.overall.impact_cost == pytest.approx(1.0)
    # fees: taker 0.045 % of 30,004.00 and of 29,997.00
    fees = 0.00045 * (0.2 * 100_010 + 0.1 * 100_020) + 0.00045 * 0.3 * 99_990
    assert stats.overall.fees_paid == pytest.approx(fees)
    assert stats.overall.execution_cost == pytest.approx(7.0 + fees)
    assert stats.cross.execution_cost == 0.0 and stats.isolated == stats.overall
    # realized 0.3 x 99,990 - 30,004 = -7.00: the spread and impact, inside the fill prices
    assert stats.overall.realized_pnl == pytest.approx(-7.0)
    assert (stats.overall.wins, stats.overall.gross_wins) == (0, 0)
    journal.close()


def test_a_gross_win_can_be_a_net_loss(tmp_path: Path) -> None:
    """Long 0.1 BTC at 100,000 (fee 4.50), closed at 100,030 (+3.00 before fees, fee
    4.50135): a win before fees, a loss of 6.00 net."""
    journal = open_fast(tmp_path)
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 100_030)
    eng.close("BTC")
    stats = journal.stats().overall
    assert stats.realized_pnl == pytest.approx(3.0)
    assert (stats.closed_positions, stats.wins, stats.gross_wins) == (1, 0, 1)
    assert (stats.win_rate, stats.gross_win_rate) == (0.0, 1.0)
    assert stats.net_pnl == pytest.approx(3.0 - 4.5 - 4.50135)
    journal.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_session(), st.integers(min_value=1, max_value=7))
def test_a_format_1_ledger_is_folded_again_with_the_execution_costs(
    ops: list[tuple[Any, ...]], chunk: int
) -> None:
    """The migration: a ledger saved before execution costs is not used; the records are
    folded again, a slice at a time, into a format-2 ledger equal to the full scan."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        data_dir = Path(tmp)
        journal = open_fast(data_dir)
        recorder = Recorder()
        recorder.attach(journal)
        book_account(journal)
        for op in ops:
            journal = run(journal, op, recorder)
        journal.close()
        downgrade_ledger_to_format_1(data_dir)
        mp.setattr(journal_store, "SYNC_HISTORY", 0)
        mp.setattr(journal_store, "HISTORY_CHUNK", chunk)
        journal = open_fast(data_dir)
        assert not journal.history_ready  # nothing folded yet: the old ledger is not used
        assert journal.stats() == StatsBook().stats()
        while not journal.history_ready:
            journal.build_history(0.0)
        events = recorder.events
        assert journal.stats() == practice_stats(events)
        assert any(isinstance(e, Fill) and e.impact_cost for e in events)  # (book_account)
        assert_history_matches(journal, events, 3)
        journal.close()
        with contextlib.closing(sqlite3.connect(data_dir / DB_NAME)) as conn:
            [(data,)] = conn.execute("SELECT data FROM ledger")
        assert json.loads(data)["version"] == LEDGER_VERSION == 2


# --------------------------------------------------------------------------- the screen's view


def test_a_view_reads_pages_in_a_thread_while_the_journal_commits(tmp_path: Path) -> None:
    fills_account(tmp_path, 6)
    journal = open_fast(tmp_path)
    view = journal.history_view()
    pages: list[list[int]] = []
    done = threading.Event()

    def reader() -> None:
        for _ in range(20):
            pages.append([f.seq for f in view.fills_page(limit=3).rows])
        done.set()

    worker = threading.Thread(target=reader)
    worker.start()
    for _ in range(10):
        journal.engine.open("BTC", LONG, 0.01, 5, ISO)  # committed on this thread meanwhile
    worker.join(10)
    assert done.is_set()
    for seqs in pages:  # each page is whole and newest first, whichever commit it saw
        assert seqs == sorted(seqs, reverse=True) and seqs[0] - seqs[-1] == 2
    assert [f.seq for f in view.fills_page(limit=3).rows] == [16, 15, 14]
    assert view.counts() == journal.counts() and view.stats() == journal.stats()
    assert view.ready and view.progress == 1.0
    view.close()
    with pytest.raises(JournalError, match="closed"):
        view.fills_page()
    journal.close()


def test_a_view_counts_through_the_index_while_an_older_ledger_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fills_account(tmp_path, 5)
    downgrade_to_schema_1(tmp_path)
    monkeypatch.setattr(journal_store, "SYNC_HISTORY", 0)
    journal = open_fast(tmp_path)
    view = journal.history_view()
    assert not view.ready and view.progress == 0.0
    counts = view.counts()
    assert (counts.fills, counts.closed, counts.complete) == (5, 0, False)
    journal.new_season(10_000)  # the view belongs to the season it was opened on
    with pytest.raises(JournalError, match="new season"):
        view.fills_page()
    view.close()
    journal.close()
