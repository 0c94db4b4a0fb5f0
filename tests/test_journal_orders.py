"""Resting orders survive quitting, ``kill -9`` and a relaunch; order records are journaled."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_journal import (
    BASE,
    MARKETS,
    MAX_LEV,
    Clock,
    assert_same_account,
    open_journal,
    watch_disk,
)
from tui.engine import (
    Event,
    Fill,
    MarginMode,
    OrderEvent,
    OrderRejected,
    OrderType,
    Side,
)
from tui.journal import Journal, decode_event, encode_event, read_account

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
LIMIT, STOP, TP = OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET
HELPER = Path(__file__).parent / "journal_helpers" / "order_trader.py"


def test_order_records_round_trip_through_json() -> None:
    records: list[Event] = [
        OrderEvent(1, 1.5, "placed", 1, "BTC", LONG, LIMIT, 0.1, 95_000.0, None, 10.0, ISO,
                   post_only=True, mark_price=100_000.0, reserved_margin=950.0),
        OrderEvent(2, 2.0, "triggered", 2, "ETH", SHORT, STOP, 1.0, None, 3_200.0, 5.0, CROSS,
                   reduce_only=True, tpsl="sl", mark_price=3_199.5, reason="the mark reached it"),
        OrderEvent(3, 2.5, "filled", 2, "ETH", SHORT, TP, 1.0, None, 3_200.0, 5.0, CROSS,
                   filled_size=0.75, fill_price=3_199.5),
        Fill(4, 3.0, "BTC", LONG, 0.1, 95_000.0, 1.425, ISO, 10.0, "open", 0.0, 1),
    ]  # fmt: skip
    for record in records:
        back = decode_event(*encode_event(record))
        assert back == record and type(back) is type(record)


def place_a_book(journal: Journal) -> None:
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    eng.place_order("ETH", SHORT, 1, LIMIT, price=4_400, leverage=5, take_profit=4_000)
    eng.place_order("SOL", LONG, 10, STOP, trigger_price=210, leverage=5, mode=CROSS)
    gone = eng.place_order("SOL", SHORT, 10, LIMIT, price=230, leverage=5, post_only=True)
    eng.cancel_order(gone.id)


def test_resting_orders_come_back_after_quitting_and_a_relaunch(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    place_a_book(journal)
    live = journal.engine
    assert len(live.open_orders()) == 4 and live.account.order_margin > 0
    # Killed right now: the disk already has every order (saved before the call returned).
    saved = read_account(tmp_path, markets=MARKETS)
    assert saved is not None
    assert saved.open_orders() == live.open_orders()
    assert saved.account == live.account
    assert journal.close()

    again = Journal.open(tmp_path, markets=MARKETS, clock=Clock())
    eng = again.engine
    assert_same_account(again, live, live.events)
    assert eng.open_orders() == live.open_orders() and eng.tp_sl("BTC") == live.tp_sl("BTC")
    eng.set_mark("ETH", 4_400)  # the restored limit fills and attaches its take-profit
    tp, sl = eng.tp_sl("ETH")
    assert tp is not None and tp.trigger_price == 4_000 and sl is None
    new = eng.place_order("BTC", SHORT, 0.05, LIMIT, price=120_000, reduce_only=True)
    # ids 1-4 are open, 5 was cancelled before quitting, 6 is ETH's new take-profit
    assert tp.id == 6 and new.id == 7  # ids go on, never reused
    assert again.close()

    third = Journal.open(tmp_path, markets=MARKETS, clock=Clock())
    assert third.engine.open_orders() == eng.open_orders()
    third.close()


def test_a_triggered_order_and_its_fill_are_saved_as_one(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, lock=False)
    eng = journal.engine
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    eng.place_order("BTC", SHORT, 0.05, LIMIT, price=111_000, reduce_only=True)
    on_disk: list[list[str]] = []

    def words(events: list[Any]) -> list[str]:
        return [
            f"{e.action}:{e.order_id}" if isinstance(e, OrderEvent) else f"fill:{e.kind}"
            for e in events
        ]

    def look(event: object) -> None:  # runs after the journal's listener
        saved = read_account(tmp_path, markets=MARKETS)
        assert saved is not None
        on_disk.append(words(saved.events[4:]))

    eng.listeners.append(look)
    eng.set_mark("BTC", 112_000)  # the take-profit fires (the limit never gets its turn)
    whole = ["triggered:1", "cancelled:2", "fill:close", "filled:1", "cancelled:3"]
    got = words(eng.events[4:])
    assert got == whole
    assert on_disk == [[]] * 4 + [whole]  # the disk never holds a part of it
    journal.close()


def test_a_position_in_a_market_no_longer_listed_keeps_its_orders(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.engine.place_order("SOL", LONG, 10, LIMIT, price=150, leverage=5)
    assert journal.close()
    fewer = [m for m in MARKETS if m.name != "SOL"]
    again = Journal.open(tmp_path, markets=fewer, clock=Clock())
    [order] = again.engine.open_orders()
    assert order.market == "SOL" and order.price == 150
    again.close()


# --------------------------------------------------------------------------- property

market_st = st.sampled_from(list(BASE))
order_st = st.tuples(
    st.just("order"),
    market_st,
    st.sampled_from([LONG, SHORT]),
    st.sampled_from([LIMIT, STOP, TP, OrderType.MARKET]),
    st.integers(min_value=1, max_value=10),  # % away from the mark, on the resting side
    st.floats(min_value=1_000, max_value=40_000),
    st.integers(min_value=2, max_value=20),
    st.sampled_from([CROSS, ISO]),
    st.booleans(),  # reduce-only
)
op_st = st.one_of(
    order_st,
    order_st,
    st.tuples(st.just("tpsl"), market_st, st.integers(min_value=1, max_value=10)),
    st.tuples(st.just("cancel"), market_st),
    st.tuples(st.just("open"), market_st, st.sampled_from([LONG, SHORT])),
    st.tuples(st.just("mark"), market_st, st.integers(min_value=-12, max_value=12)),
    st.tuples(st.just("mark"), market_st, st.integers(min_value=-12, max_value=12)),
    st.tuples(st.just("reopen"), market_st),
)


def run_op(journal: Journal, op: tuple[Any, ...]) -> Journal:
    eng = journal.engine
    kind, name = op[0], op[1]
    mark = eng.mark(name)
    assert mark is not None
    with contextlib.suppress(OrderRejected):
        if kind == "order":
            _, _, side, otype, pct, usd, lev, mode, ro = op
            down = (side is LONG) != (otype is STOP)  # where a resting order of its kind waits
            level = mark * (1 - pct / 100 if down else 1 + pct / 100)
            kw: dict[str, Any] = {"leverage": min(lev, MAX_LEV[name]), "mode": mode}
            if otype is LIMIT:
                kw["price"] = level
            elif otype.is_trigger:
                kw["trigger_price"] = level
            eng.place_order(name, side, usd / mark, otype, reduce_only=ro, **kw)
        elif kind == "tpsl":
            pos = eng.position(name)
            up = 1 if pos is None or pos.side is LONG else -1
            pct = op[2] / 100
            eng.set_tp_sl(name, take_profit=mark * (1 + up * pct), stop_loss=mark * (1 - up * pct))
        elif kind == "cancel":
            mine = eng.open_orders(name)
            if mine:
                eng.cancel_order(mine[0].id)
        elif kind == "open":
            eng.open(name, op[2], 5_000 / mark, 5, CROSS)
        elif kind == "mark":
            eng.set_mark(name, mark * (1 + op[2] / 100))
    if kind == "reopen":
        data_dir, clock = journal.data_dir, journal._clock
        assert journal.close()
        journal = Journal.open(data_dir, markets=MARKETS, clock=clock)
        assert_same_account(journal, eng)
        assert journal.engine.open_orders() == eng.open_orders()
    return journal


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_st, min_size=5, max_size=30))
def test_rebuilt_order_book_equals_the_live_one_after_random_sessions(ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        journal = open_journal(data_dir)
        snapshots: dict[int, dict[str, Any]] = {}
        made: list[Event] = []
        watch_disk(journal, snapshots, made)
        for op in ops:
            journal = run_op(journal, op)
            if op[0] == "reopen":
                watch_disk(journal, snapshots, made)
                if made:
                    snapshots[made[-1].seq] = journal.engine.to_state()
            assert journal.error is None and journal.pending == 0
            saved = read_account(data_dir, markets=MARKETS)
            assert saved is not None and saved.events == made
            assert saved.open_orders() == journal.engine.open_orders()
        live = journal.engine
        if any(isinstance(e, OrderEvent) and e.action == "filled" for e in made):
            hypothesis.event("an order filled")
        if live.open_orders():
            hypothesis.event("orders open at the end")
        assert journal.close()
        again = Journal.open(data_dir, markets=MARKETS, clock=Clock())
        assert_same_account(again, live, made)
        assert again.engine.open_orders() == live.open_orders()
        again.close()


# --------------------------------------------------------------------------- kill -9


def test_kill_9_keeps_every_order_reported_placed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, str(HELPER), str(data_dir), "11"],
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

    journal = Journal.open(data_dir, markets=MARKETS)
    eng = journal.engine
    records = list(journal.records())
    seqs = [e.seq for e in records]
    assert seqs == list(range(1, len(seqs) + 1))
    last_done = done[-1][0]
    assert seqs[-1] >= last_done
    saved = eng.to_state()
    reported = next((s for q, s in done if q == saved["seq"]), None)
    if reported is not None:  # the book as the screen showed it after that operation
        assert saved == reported
        assert saved["orders"] == reported["orders"]
    else:  # killed after the commit, before the DONE line
        assert saved["seq"] > last_done
    actions = {e.action for e in records if isinstance(e, OrderEvent)}
    assert {"placed", "filled", "cancelled", "triggered"} <= actions
    assert any(s["orders"] for _, s in done)  # the session really had resting orders
    assert journal.close()
