"""Fills against the book are journaled with their cost split; a part-filled limit survives a
relaunch with what it filled; records from before books read as unknown cost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_journal import MARKETS, Clock, assert_same_account, open_journal
from tui.engine import Fill, Liquidation, MarginMode, OrderEvent, OrderType, Side
from tui.journal import Journal, decode_event, encode_event

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
LIMIT = OrderType.LIMIT


def test_execution_fields_round_trip_and_old_records_read_as_unknown() -> None:
    fill = Fill(7, 3.0, "BTC", LONG, 1.5, 100_013.25, 67.5, ISO, 10.0, "open", 0.0, 3,
                mark_price=100_000.0, spread_cost=15.0, impact_cost=4.875, unfilled=0.5,
                pricing="book")  # fmt: skip
    partial = OrderEvent(8, 3.0, "partial", 3, "BTC", LONG, LIMIT, 5.0, 100_020.0, None, 10.0,
                         ISO, filled_size=3.5, fill_price=100_017.0,
                         reason="the book held no more up to its price")  # fmt: skip
    for record in (fill, partial):
        assert decode_event(*encode_event(record)) == record
    kind, payload = encode_event(fill)
    old = json.loads(payload)
    for key in ("mark_price", "spread_cost", "impact_cost", "unfilled", "pricing"):
        del old[key]
    before_books = decode_event(kind, json.dumps(old))
    assert isinstance(before_books, Fill)
    assert (before_books.spread_cost, before_books.pricing, before_books.slippage) == (0, "", 0)


def test_a_part_filled_limit_comes_back_after_a_relaunch(tmp_path: Path) -> None:
    journal = open_journal(tmp_path, starting_balance=100_000)
    eng = journal.engine
    eng.set_book("BTC", [(99_990.0, 1.0)], [(100_010.0, 1.0), (100_020.0, 2.5)])
    eng.open("BTC", SHORT, 0.5, 10, ISO)  # closed again below, at the ask
    eng.close("BTC")
    order = eng.place_order("BTC", LONG, 5.0, LIMIT, price=100_020, leverage=10, mode=ISO)
    assert order.filled_size == 3.5 and order.is_open
    assert journal.close()

    again = Journal.open(tmp_path, markets=MARKETS, clock=Clock())
    assert_same_account(again, eng, eng.events)
    [back] = again.engine.open_orders()
    assert (back.filled_size, back.fill_price) == (3.5, order.fill_price)
    assert back.reserved_margin == order.reserved_margin  # for the 1.5 left only
    fills = list(again.fills_page().rows)[::-1]
    assert [f.pricing for f in fills] == ["book", "book", "book"]
    assert fills[1].spread_cost == 0.5 * 10 and fills[2].impact_cost == 2.5 * 10
    assert again.engine.book("BTC") is None  # books are not saved: the feed sends them anew
    again.close()


def test_a_cross_liquidation_that_closes_some_positions_is_saved_at_once(
    tmp_path: Path,
) -> None:
    """Hyperliquid closes a cross account's positions through their books: a position whose
    book takes nothing stays open. The journal saved a cross liquidation only once every open
    cross position had its record, so these records waited unsaved (and the history missed
    them) until something else was saved."""
    journal = open_journal(tmp_path)
    eng = journal.engine
    eng.open("ETH", SHORT, 5.0, 10, CROSS)
    eng.open("BTC", LONG, 0.07, 2, CROSS)
    eng.set_book("ETH", [(3_990.0, 10.0)], [(9_000.0, 10.0)])  # no ask within the limit
    eng.set_mark("ETH", 5_900)
    liquidations = [e for e in eng.events if isinstance(e, Liquidation)]
    assert [e.market for e in liquidations] == ["BTC"]  # ETH's book took nothing: it stays
    assert eng.position("ETH") is not None
    assert journal.pending == 0  # saved at once
    assert journal.counts().liquidations == 1
    journal.close()
