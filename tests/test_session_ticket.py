"""The session's side of the trade ticket: tickets with the position's leverage, orders beyond
market placed through place_order, what the log says, and a leverage change that is saved
even when the engine records nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tui.engine import LeverageChange, MarginMode, OrderType, Side
from tui.journal import Journal
from tui.session import OrderTicket, Session

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
NOON = 1_795_521_600.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def priced(session: Session) -> Session:
    session.on_mark("BTC", 100_000)
    session.on_mark("ETH", 4_000)
    return session


def texts(session: Session) -> list[str]:
    session.drain()
    return [line.text for line in session.log]


def test_a_ticket_takes_the_positions_leverage_unless_given() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    assert session.ticket("btc", LONG).leverage == 5  # settings' default
    session.engine.open("BTC", LONG, 0.01, 20, ISO)
    assert session.ticket("BTC", LONG).leverage == 20  # an add takes it anyway
    assert session.ticket("BTC", LONG, leverage=3).leverage == 3  # said on the confirmation


def test_fix_size_turns_dollars_into_coins_on_the_step() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    ticket = session.fix_size(session.ticket("ETH", SHORT, usd=2_000))
    assert ticket.size == 0.5 and ticket.sized_at == 4_000  # ETH steps 0.0001 on Hyperliquid
    session.on_mark("ETH", 3_498.25)
    odd = session.fix_size(session.ticket("ETH", SHORT, usd=2_000))
    assert odd.size == 0.5717  # 0.571714... on the step: what the fill will be
    assert session.place(OrderTicket("ETH", SHORT, size=odd.size, leverage=10, mode=ISO))
    pos = session.engine.position("ETH")
    assert pos is not None and pos.size == 0.5717


def test_a_limit_order_rests_and_the_log_says_what_it_holds() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    ticket = OrderTicket(
        "BTC", LONG, size=0.1, leverage=10, mode=ISO, order_type=OrderType.LIMIT, price=95_000
    )
    assert session.place(ticket)
    [order] = session.engine.open_orders()
    assert (order.price, order.reserved_margin) == (95_000, 950)
    log = texts(session)
    assert log[-1] == "Placed Limit #1 BUY 0.1 BTC @ 95,000.0 · holds 950.00 margin"


def test_a_stop_with_a_position_fires_and_the_log_says_what_fired_it() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    stop = OrderTicket(
        "BTC",
        SHORT,
        size=0.1,
        leverage=10,
        mode=ISO,
        order_type=OrderType.STOP_MARKET,
        trigger_price=95_000,
        reduce_only=True,
    )
    assert session.place(stop)
    session.on_mark("BTC", 94_900)
    log = texts(session)
    fired = [line for line in log if "Stop market #1" in line]
    assert fired[0].startswith("Placed Stop market #1 SELL 0.1 BTC at 95,000.0 · reduce-only")
    assert any(line.startswith("Triggered Stop market #1") for line in fired)
    # the fill names the order that made it (one line: the order's own "filled" adds nothing)
    assert fired[-1].startswith("Closed LONG 0.1 BTC @ 94,900.0")
    assert fired[-1].endswith("· by Stop market #1 (fired at mark 94,900.0)")
    assert not any(line.startswith("Filled Stop market #1") for line in fired)
    assert session.engine.position("BTC") is None


def test_a_market_order_with_tp_and_sl_gives_them_to_the_position() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    ticket = OrderTicket(
        "BTC", LONG, size=0.1, leverage=10, mode=ISO, take_profit=110_000, stop_loss=95_000
    )
    assert session.place(ticket)
    tp, sl = session.engine.tp_sl("BTC")
    assert tp is not None and tp.trigger_price == 110_000
    assert sl is not None and sl.trigger_price == 95_000


def test_a_refused_order_is_said_once_and_changes_nothing() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    post = OrderTicket(
        "BTC",
        LONG,
        size=0.1,
        leverage=10,
        mode=ISO,
        order_type=OrderType.LIMIT,
        price=101_000,
        post_only=True,
    )
    assert not session.place(post)
    log = texts(session)
    assert len(log) == 1 and log[0].startswith("Rejected: Post-only: this limit buy at 101,000")
    assert session.engine.open_orders() == [] and session.engine.events == []


def test_leverage_change_is_said_and_refusals_are_sentences() -> None:
    session = priced(Session(wall_clock=lambda: NOON))
    assert session.cannot_change_leverage("BTC") == (
        "There is no open BTC position to change the leverage of."
    )
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    session.drain()
    assert session.cannot_change_leverage("BTC") is None
    assert session.leverage_preview("BTC", 20.5).rejection == (
        "Leverage is a whole number on Hyperliquid; 20.5x is not."
    )
    assert not session.set_leverage("BTC", 500)
    assert texts(session)[-1].startswith("Rejected: BTC at a notional of 10,000.00 allows 1x")
    assert session.set_leverage("BTC", 5)  # lowering it posts 1,000 more from the wallet
    pos = session.engine.position("BTC")
    assert pos is not None and pos.leverage == 5 and pos.margin == pytest.approx(2_000)
    session.drain()  # the change is a record, said on the heartbeat
    said = texts(session)[-2:]
    assert said[0] == "Added 1,000.00 margin to BTC"  # the top-up's own record, first
    assert said[1].startswith(
        "BTC leverage 10x → 5x (Isolated): margin 2,000.00 (1,000.00 posted from your wallet), "
        "liquidation "
    )


def test_a_pure_leverage_change_survives_a_relaunch(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = priced(Session(journal=journal, wall_clock=lambda: NOON))
    session.engine.open("BTC", LONG, 0.1, 10, CROSS)
    records = len(session.engine.events)
    assert session.set_leverage("BTC", 20)
    [change] = session.engine.events[records:]  # a cross change moves no money...
    assert isinstance(change, LeverageChange) and change.margin_added == 0
    journal.close()
    again = Journal.open(tmp_path, lock=False, synchronous="OFF")
    pos = again.engine.position("BTC")
    assert pos is not None and pos.leverage == 20  # ...and is saved as a record all the same
    again.close()
