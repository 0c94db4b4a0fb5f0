"""Drill attempts in the journal: saved beside their season, per-drill best / last / attempts
read back in SQL, damaged rows counted and left out, never shown."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tui.engine import Venue, venue_markets
from tui.journal import JournalError
from tui.journal.drills import (
    DRILLS_FOLDER,
    DrillScore,
    SampleTable,
    attempt_run,
    attempts,
    drill_scores,
    open_drill_journal,
    save_attempt,
)

T0 = 1_800_000_000.0
SAMPLES = SampleTable(
    ("BTC",), ((0.0, 10_000.0, 0.0, 100_000.0, 0.1), (60.0, 9_900.0, 0.1, 99_000.0, 0.1))
)


def _save(data_dir: Path, drill: str, outcome: str, score: int, when: float) -> int:
    journal = open_drill_journal(
        data_dir,
        balance=10_000,
        venue=Venue.HYPERLIQUID,
        markets_for=lambda venue: venue_markets(venue, symbols=("BTC",)),
        clock=lambda: when,
    )
    try:
        journal.engine.set_mark("BTC", 100_000)
        journal.engine.open("BTC", "long", 0.1, 10, "cross")
        return save_attempt(
            journal,
            drill=drill,
            started=when,
            ended=when + 60,
            elapsed=60.0,
            setup_seq=0,
            outcome=outcome,
            score=score,
            decided_by=f"{outcome} with {score}",
            samples=SAMPLES,
        )
    finally:
        journal.close()


def test_no_drills_played_yet(tmp_path: Path) -> None:
    assert drill_scores(tmp_path).by_drill == {}
    assert drill_scores(tmp_path).get("x") == DrillScore("x", 0, 0, None, None)
    assert attempts(tmp_path) == []
    with pytest.raises(KeyError):
        attempt_run(tmp_path, 1)


def test_best_last_and_attempts_per_drill(tmp_path: Path) -> None:
    _save(tmp_path, "crash", "won", 70, T0)
    _save(tmp_path, "crash", "won", 88, T0 + 100)
    last = _save(tmp_path, "crash", "quit", 0, T0 + 200)
    _save(tmp_path, "squeeze", "lost", 0, T0 + 300)
    scores = drill_scores(tmp_path)
    crash = scores.get("crash")
    assert (crash.attempts, crash.wins, crash.best) == (3, 2, 88)
    assert crash.last is not None
    assert (crash.last.id, crash.last.outcome, crash.last.score) == (last, "quit", 0)
    assert crash.last.started == T0 + 200 and crash.last.ended == T0 + 260
    squeeze = scores.get("squeeze")
    assert (squeeze.attempts, squeeze.wins, squeeze.best) == (1, 0, 0)
    assert scores.unreadable == 0
    assert [a.score for a in attempts(tmp_path, "crash")] == [0, 88, 70]
    assert [a.drill for a in attempts(tmp_path, limit=2)] == ["squeeze", "crash"]


def test_each_attempt_has_its_own_season_and_records(tmp_path: Path) -> None:
    first = _save(tmp_path, "crash", "won", 70, T0)
    second = _save(tmp_path, "crash", "won", 80, T0 + 100)
    a1, records1, samples1 = attempt_run(tmp_path, first)
    a2, records2, _ = attempt_run(tmp_path, second)
    assert a1.season != a2.season
    assert [r.seq for r in records1] == [1] and [r.seq for r in records2] == [1]
    assert records2[0].time == T0 + 100
    assert samples1 == SAMPLES
    assert (tmp_path / DRILLS_FOLDER / "account.db").exists()
    assert not (tmp_path / "account.db").exists()  # the trader's account is not made or touched


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / DRILLS_FOLDER / "account.db", isolation_level=None)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("score", "'eighty'"),
        ("score", "101"),
        ("score", "9.5"),
        ("outcome", "'cheated'"),
        ("drill", "x'00ff'"),
    ],
)
def test_damaged_rows_are_counted_and_left_out(tmp_path: Path, column: str, value: str) -> None:
    _save(tmp_path, "crash", "won", 70, T0)
    bad = _save(tmp_path, "crash", "won", 90, T0 + 100)
    with _db(tmp_path) as conn:
        conn.execute(f"UPDATE drill_attempts SET {column} = {value} WHERE id = ?", (bad,))
    scores = drill_scores(tmp_path)
    assert scores.unreadable == 1
    crash = scores.get("crash")
    assert (crash.attempts, crash.best) == (1, 70)
    assert crash.last is not None and crash.last.score == 70
    assert [a.score for a in attempts(tmp_path, "crash")] == [70]


def test_a_last_attempt_with_a_bad_time_is_not_shown(tmp_path: Path) -> None:
    _save(tmp_path, "crash", "won", 70, T0)
    with _db(tmp_path) as conn:
        conn.execute("UPDATE drill_attempts SET started = 1e300")
    crash = drill_scores(tmp_path).get("crash")
    assert crash.attempts == 1 and crash.last is None
    assert drill_scores(tmp_path).unreadable == 1


def test_text_from_the_file_is_escaped(tmp_path: Path) -> None:
    n = _save(tmp_path, "crash", "won", 70, T0)
    with _db(tmp_path) as conn:
        conn.execute("UPDATE drill_attempts SET decided_by = ?", ("ok\x1b]0;pwn\x07",))
    (attempt,) = attempts(tmp_path)
    assert attempt.decided_by == "ok\\x1b]0;pwn\\x07"
    assert attempt_run(tmp_path, n)[0].decided_by == "ok\\x1b]0;pwn\\x07"


@pytest.mark.parametrize(
    "samples",
    [
        "not json",
        json.dumps({"markets": ["BTC"], "rows": [[0, 1, 0, 100]]}),  # one number short
        json.dumps({"markets": ["BTC"], "rows": [[0, 1, 0, -5, 0]]}),  # not a price
        json.dumps({"markets": ["BTC"], "rows": [[5, 1, 0, 1, 0], [1, 1, 0, 1, 0]]}),  # back
        json.dumps({"markets": ["BTC"], "rows": [[0, "1", 0, 1, 0]]}),
        '{"markets": ["BTC"], "rows": [[0, NaN, 0, 1, 0]]}',
        json.dumps({"markets": "BTC", "rows": []}),
        "[" * 100_000,
    ],
)
def test_damaged_samples_make_the_attempt_unreadable(tmp_path: Path, samples: str) -> None:
    n = _save(tmp_path, "crash", "won", 70, T0)
    with _db(tmp_path) as conn:
        conn.execute("UPDATE drill_attempts SET samples = ?", (samples,))
    with pytest.raises(JournalError) as caught:
        attempt_run(tmp_path, n)
    assert caught.value.kind == "history"
    assert f"drill attempt {n}" in str(caught.value)
    assert drill_scores(tmp_path).get("crash").best == 70  # the score itself still reads


def test_saving_refuses_what_it_must_never_write(tmp_path: Path) -> None:
    journal = open_drill_journal(
        tmp_path,
        balance=10_000,
        venue=Venue.HYPERLIQUID,
        markets_for=lambda venue: venue_markets(venue, symbols=("BTC",)),
        clock=lambda: T0,
    )
    try:
        kwargs = dict(
            drill="x",
            started=T0,
            ended=T0,
            elapsed=1.0,
            setup_seq=0,
            outcome="won",
            score=50,
            decided_by="",
            samples=SAMPLES,
        )
        for change in (
            {"outcome": "draw"},
            {"elapsed": float("nan")},
            {"score": 101},
            {"samples": SampleTable(("BTC",), ((0.0, float("inf"), 0.0, 1.0, 0.0),))},
            {"samples": SampleTable(("BTC",), ((0.0, 1.0),))},
        ):
            with pytest.raises(ValueError):
                save_attempt(journal, **{**kwargs, **change})  # type: ignore[arg-type]
    finally:
        journal.close()
    assert drill_scores(tmp_path).by_drill == {}
