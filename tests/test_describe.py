"""The event log's words: a fill made by an order says which order made it."""

from __future__ import annotations

from tui.describe import describe
from tui.engine import MarginMode, OrderEvent, OrderType, PaperEngine, Side
from tui.engine import default_markets as markets

ISO = MarginMode.ISOLATED
LONG = Side.LONG


def test_a_fill_names_the_order_that_made_it() -> None:
    eng = PaperEngine(10_000, markets(), clock=lambda: 1_000.0)
    eng.set_mark("BTC", 100_000)
    eng.place_order("BTC", LONG, 0.01, OrderType.LIMIT, price=95_000, leverage=10, mode=ISO)
    eng.set_mark("BTC", 94_999)  # reaches the limit: fills at its own price, as a maker
    fill, filled = eng.events[-2], eng.events[-1]
    assert isinstance(filled, OrderEvent) and filled.action == "filled"
    assert describe(fill, filled)[1] == (
        "Opened LONG 0.01 BTC @ 95,000.0 · Isolated 10x · fee 0.14 · by Limit #1 (rested, "
        "maker fee)"
    )
    eng.set_tp_sl("BTC", stop_loss=90_000)
    eng.set_mark("BTC", 89_990)  # the stop fires at this mark, as a market order
    triggered = next(e for e in eng.events if isinstance(e, OrderEvent) and e.action == "triggered")
    assert describe(triggered)[1] == (
        "Triggered Stop loss #2 for the whole BTC position at 90,000.0: the mark 89,990 "
        "reached the stop-loss 90,000"
    )
    close = next(e for e in reversed(eng.events) if not isinstance(e, OrderEvent))
    done = next(e for e in reversed(eng.events) if isinstance(e, OrderEvent))
    assert describe(close, done)[1].endswith("· by Stop loss #2 (fired at mark 89,990.0)")
