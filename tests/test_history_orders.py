"""The Orders side of the history: one row per order, the order records, their CSV export, and
how they read in the event log."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.test_history import Clock, engine
from tui.describe import describe
from tui.engine import OrderEvent, OrderType, PaperEngine, Side
from tui.history import export_csv, order_events, order_history, practice_stats

LONG, SHORT = Side.LONG, Side.SHORT
LIMIT, STOP = OrderType.LIMIT, OrderType.STOP_MARKET


def session(clock: Clock) -> PaperEngine:
    """Four orders: a limit that fills, a stop-loss that fires, a take-profit cancelled by it
    (one cancels other), a limit cancelled by the trader, and one left open."""
    eng = engine(fees=0.0005, clock=clock)
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10)  # 1
    clock.now += 60
    eng.set_mark("BTC", 95_000)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=94_000)  # 2 tp, 3 sl
    gone = eng.place_order("ETH", SHORT, 1, LIMIT, price=4_400, leverage=5)  # 4
    eng.place_order("SOL", LONG, 5, STOP, trigger_price=220, leverage=5)  # 5
    clock.now += 30
    eng.cancel_order(gone.id)
    clock.now += 30
    eng.set_mark("BTC", 93_500)
    return eng


def test_order_history_has_one_row_per_order_with_how_it_ended() -> None:
    clock = Clock()
    eng = session(clock)
    start = 1_700_000_000.0
    rows = order_history(eng.events)
    assert [(r.order_id, r.label, r.status) for r in rows] == [
        (1, "Limit", "filled"),
        (2, "Take profit", "cancelled"),
        (3, "Stop loss", "filled"),
        (4, "Limit", "cancelled"),
        (5, "Stop market", "open"),
    ]
    limit, tp, sl, cancelled, open_ = rows
    assert (limit.placed_at, limit.ended_at) == (start, start + 60)
    assert (limit.filled_size, limit.fill_price, limit.level) == (0.1, 95_000, 95_000)
    assert sl.triggered_at == start + 120 and sl.fill_price == 93_500 and sl.size == 0.1
    assert tp.reason == "its stop-loss fired"
    assert cancelled.reason == "cancelled by you" and cancelled.ended_at == start + 90
    assert open_.ended_at is None and open_.level == 220 and open_.side is LONG
    assert [o.id for o in eng.open_orders()] == [5]
    assert [e.action for e in order_events(eng.events)] == [
        "placed",
        "filled",
        "placed",
        "placed",
        "placed",
        "placed",
        "cancelled",
        "triggered",
        "cancelled",
        "filled",
    ]


def test_order_records_leave_the_practice_stats_alone() -> None:
    eng = session(Clock())
    stats = practice_stats(eng.events)
    a = eng.account
    assert stats.overall.fees_paid == pytest.approx(a.fees_paid)
    assert stats.overall.realized_pnl == pytest.approx(a.realized_pnl)
    assert stats.overall.closed_positions == 1


def test_the_csv_export_includes_the_orders(tmp_path: Path) -> None:
    eng = session(Clock())
    path = export_csv(eng.events, tmp_path / "orders.csv", "orders")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(order_events(eng.events)) == 10
    first = rows[0]
    assert (first["order_id"], first["action"], first["type"], first["side"]) == (
        "1",
        "placed",
        "limit",
        "long",
    )
    assert float(first["price"]) == 95_000 and first["trigger_price"] == ""
    assert float(first["reserved_margin"]) == 950
    fired = next(r for r in rows if r["action"] == "filled" and r["tpsl"] == "sl")
    assert float(fired["fill_price"]) == 93_500 and fired["reduce_only"] == "yes"
    assert float(fired["mark_price"]) == 93_500
    assert [r["reason"] for r in rows if r["action"] == "cancelled"] == [
        "cancelled by you",
        "its stop-loss fired",
    ]


def test_order_records_read_plainly_in_the_event_log() -> None:
    eng = session(Clock())
    lines = [describe(e) for e in eng.events if isinstance(e, OrderEvent)]
    assert lines[0] == ("info", "Placed Limit #1 BUY 0.1 BTC @ 95,000.0 · holds 950.00 margin")
    assert lines[2] == ("info", "Placed Take profit #2 for the whole BTC position at 110,000.0")
    assert lines[6] == ("info", "Cancelled Limit #4 SELL 1 ETH @ 4,400.00 by you")  # said once
    assert lines[7][1].startswith(
        "Triggered Stop loss #3 for the whole BTC position at 94,000.0: the mark"
    )
    assert lines[9] == (
        "info",
        "Filled Stop loss #3 for the whole BTC position at 94,000.0: 0.1 @ 93,500.0 "
        "(mark 93,500.0)",
    )


def test_an_order_refused_at_fill_reads_as_bad_news() -> None:
    eng = engine()
    eng.place_order("BTC", LONG, 0.1, LIMIT, price=95_000, leverage=10, mode="cross")
    eng.open("BTC", LONG, 0.01, 10, "isolated")
    eng.set_mark("BTC", 95_000)
    level, text = describe(eng.events[-1])
    assert level == "bad" and text.startswith("Rejected Limit #1 BUY 0.1 BTC @ 95,000.0 when")
    assert "Isolated mode" in text
