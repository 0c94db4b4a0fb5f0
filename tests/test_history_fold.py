"""A history view's fold: every record of the season, oldest first, on the view's own
connection (the Pictures tab folds the equity curve with it in a worker thread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.engine import MarginMode, Side
from tui.journal import Journal, MemoryView
from tui.pictures import equity_curve

T0 = 1_800_000_000.0


def test_the_journal_view_folds_every_record_as_the_engine_made_them(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, clock=lambda: T0, starting_balance=10_000)
    try:
        eng = journal.engine
        eng.set_mark("BTC", 100_000)
        eng.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)  # fee 4.50 (0.045 %)
        eng.set_mark("BTC", 101_000)
        eng.close("BTC")  # +100 realized, fee 4.545
        journal.flush()
        view = journal.history_view()
        memory = MemoryView(lambda: list(eng.events), lambda: eng.markets, {}, lambda: view.start)
        try:
            assert view.start == (10_000, journal.started)
            assert view.fold(list) == list(eng.events) == memory.fold(list)
            balance, started = view.start
            curve = view.fold(lambda records: equity_curve(records, balance, started))
            # 10,000 - 4.50 + 100 - 4.545 = 10,090.955
            assert curve.equity == pytest.approx(10_090.955, abs=1e-9)
            assert curve.records == 2 and curve.max_drawdown == 4.5
        finally:
            view.close()
    finally:
        journal.close()
