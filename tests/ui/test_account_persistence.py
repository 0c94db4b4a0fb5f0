"""The app on a real journal: restore, /reset, a corrupt account, an unwritable disk."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.ui.pilot_helpers import beat, enter_command, make_app
from tui.engine import MarginMode, Side
from tui.journal import Journal, JournalError
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.main import MainScreen


def open_journal(data: Path) -> Journal:
    return Journal.open(data, starting_balance=10_000, lock=False, synchronous="OFF")


async def test_positions_come_back_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "acct"
    journal = open_journal(data)
    app = make_app(journal=journal, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.set_mark("BTC", 100_000)
        app.session.engine.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)
        await pilot.pause()
    journal.close()

    again = open_journal(data)
    app = make_app(journal=again, data_dir=data)
    async with app.run_test(size=(120, 36)):
        pos = app.session.engine.position("BTC")
        assert pos is not None and pos.size == 0.1 and pos.mode is MarginMode.ISOLATED
        assert app.main.positions_table.row_ids == ["BTC"]
        assert app.main.log_widget.lines[0].startswith("Welcome back: season 1 restored")
    again.close()


async def test_reset_archives_the_season_after_confirming(tmp_path: Path) -> None:
    data = tmp_path / "acct"
    journal = open_journal(data)
    app = make_app(journal=journal, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.engine.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)
        old = app.session.engine
        await enter_command(pilot, "reset")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.session.engine is old
        await enter_command(pilot, "reset")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.session.engine is not old and app.session.engine.positions() == []
        assert app.session.engine.account.wallet_balance == 10_000
        assert app.main.positions_table.row_ids == []
        # The new engine is journaled too.
        app.session.engine.open("ETH", Side.SHORT, 1, 5, MarginMode.CROSS)
        await pilot.pause()
    seasons = journal.seasons()
    journal.close()
    assert [s.number for s in seasons] == [1, 2]
    assert seasons[0].n_fills == 1 and seasons[1].n_fills == 1


async def test_corrupt_account_is_kept_and_a_fresh_one_offered(tmp_path: Path) -> None:
    data = tmp_path / "acct"
    data.mkdir()
    bad = data / "account.db"
    bad.write_bytes(b"this is not a database" * 100)
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    with pytest.raises(JournalError) as err:
        open_journal(data)
    app = make_app(journal_problem=err.value, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, ConfirmScreen)
        assert "cannot be read" in app.main.log_widget.lines[0]
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.journal is not None
        app.session.engine.open("BTC", Side.LONG, 0.01, 10, MarginMode.ISOLATED)
        await pilot.pause()
        app.session.journal.close()
    kept = [p for p in data.iterdir() if p.name.startswith("account.db.unreadable-")]
    assert len(kept) == 1 and hashlib.sha256(kept[0].read_bytes()).hexdigest() == digest


async def test_corrupt_account_declined_quits_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "acct"
    data.mkdir()
    bad = data / "account.db"
    bad.write_bytes(b"garbage" * 500)
    with pytest.raises(JournalError) as err:
        open_journal(data)
    app = make_app(journal_problem=err.value, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        await pilot.pause()
    assert app.return_code == 1
    assert sorted(p.name for p in data.iterdir()) == ["account.db"]
    assert bad.read_bytes() == b"garbage" * 500


async def test_a_failed_write_is_shown_and_trading_state_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "acct"
    journal = open_journal(data)
    app = make_app(journal=journal, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        real = journal._conn

        class Full:
            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

            def execute(self, *args: object) -> object:
                raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(journal, "_conn", Full())
        app.session.engine.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)
        await beat(pilot)
        assert app.session.engine.position("BTC") is not None
        assert "disk is full" in app.main.log_widget.lines[0]
        assert app.main.query_one("#tip").has_class("-warning")
        monkeypatch.setattr(journal, "_conn", real)
        assert journal.flush()
        await beat(pilot)
        assert app.main.log_widget.lines[0].startswith("Saved again")
    journal.close()
    again = open_journal(data)
    assert again.engine.position("BTC") is not None
    again.close()


async def test_an_older_account_gets_its_history_built_while_the_app_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account saved before the history ledger existed opens at once; the app folds its
    records in between frames until the history is complete (and the feed keeps ticking)."""
    from tests.test_journal_history import downgrade_to_schema_1
    from tui.history import practice_stats
    from tui.journal import store

    data = tmp_path / "acct"
    journal = open_journal(data)
    journal.engine.set_mark("BTC", 100_000)
    for i in range(30):
        journal.engine.open("BTC", Side.LONG if i % 2 else Side.SHORT, 0.01, 5, MarginMode.CROSS)
    journal.close()
    downgrade_to_schema_1(data)
    monkeypatch.setattr(store, "SYNC_HISTORY", 0)  # as if it were too long to build at launch
    monkeypatch.setattr(store, "HISTORY_CHUNK", 4)
    again = open_journal(data)
    assert not again.history_ready and again.history_progress == 0.0
    app = make_app(journal=again, data_dir=data)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.main.log_widget.lines[0].startswith("Welcome back: season 1 restored")
        for _ in range(100):
            if again.history_ready:
                break
            await pilot.pause(0.05)
        assert again.history_ready
        assert again.stats() == practice_stats(list(again.records()))
        assert again.counts().fills == 30
    again.close()
