"""Every shipped drill played through the session (no Pilot): a script that wins it and one
that loses it, on the drill's own seeded path. And the trader's own account, which the drill
must leave exactly as it was, with attempts saved beside it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.drills.play import Move, drill, play, trader_session
from tui.drills import load_drills
from tui.drills.attempts import rescore
from tui.engine import MarginMode, Side
from tui.journal.drills import attempt_run, attempts, drill_scores
from tui.market import SimSource
from tui.session import Session

LONG, SHORT = Side.LONG, Side.SHORT
CROSS, ISO = MarginMode.CROSS, MarginMode.ISOLATED


def buy(market: str, side: Side, usd: float, leverage: float, mode: MarginMode) -> Move:
    def move(session: Session) -> None:
        mark = session.engine.mark(market)
        assert mark is not None
        session.engine.open(market, side, usd / mark, leverage, mode)

    return move


def close(market: str, size: float | None = None) -> Move:
    return lambda session: session.engine.close(market, size)


def stop_below_entry(fraction: float) -> Move:
    def move(session: Session) -> None:
        pos = session.engine.position("BTC")
        assert pos is not None
        session.engine.set_tp_sl("BTC", stop_loss=pos.entry_price * (1 - fraction))

    return move


def add_margin(amount: float) -> Move:
    return lambda session: session.transfer_margin("BTC", amount)


def both(*moves: Move) -> Move:
    def move(session: Session) -> None:
        for m in moves:
            m(session)

    return move


# (drill, moves that win it, the score they get, moves that lose it, what decides the loss)
CASES: list[tuple[str, dict[float, Move], int, dict[float, Move], str]] = [
    (
        "flash-crash",
        {0: close("BTC", 0.25)},  # keep 0.05 BTC: worst drawdown 6.1 %
        62,
        {},  # 3x through a 12 % crash
        "8.0% under its peak",
    ),
    (
        "margin-shock",
        {75: close("BTC", 0.25)},  # 5 s after the shock: 44.6 %
        96,
        {75: close("BTC")},  # everything closed
        "keep at least $20,000 open",
    ),
    (
        "hedge-mode",
        {0: both(buy("BTC", LONG, 20_000, 10, CROSS), buy("ETH", SHORT, 20_000, 10, CROSS))},
        67,
        {0: both(buy("BTC", LONG, 20_000, 10, ISO), buy("ETH", SHORT, 20_000, 10, ISO))},
        "ETH short was liquidated",
    ),
    (
        "stop-in-chop",
        {0: stop_below_entry(0.025)},
        74,
        {0: stop_below_entry(0.01)},  # set off by the chop at 11:39
        "in the chop before 20:00",
    ),
    (
        "take-profit-squeeze",
        {780: close("BTC")},  # near the top of the squeeze
        100,
        {1_400: close("BTC")},  # after the cool-off: +$700
        "the target was $800",
    ),
    (
        "funding-day",
        {0: buy("ETH", SHORT, 25_000, 10, CROSS)},  # ETH's hotter funding pays the long's
        91,
        {},
        "over the $100 cap",
    ),
    (
        "two-sigma",
        {0: buy("BTC", LONG, 100_000, 20, CROSS)},
        87,
        {0: buy("BTC", LONG, 160_000, 20, CROSS)},
        "BTC long was liquidated",
    ),
    (
        "margin-rescue",
        {0: add_margin(600)},  # 600 added: the low is survived
        95,
        {0: add_margin(400)},  # not enough
        "BTC long was liquidated",
    ),
]


def test_every_shipped_drill_has_a_case() -> None:
    names = list(load_drills().drills)
    assert len(names) >= 8
    assert sorted(names) == sorted(case[0] for case in CASES)


@pytest.mark.parametrize(("name", "win", "score", "lose", "why"), CASES, ids=[c[0] for c in CASES])
def test_each_drill_can_be_won_and_lost(
    name: str, win: dict[float, Move], score: int, lose: dict[float, Move], why: str
) -> None:
    won = play(trader_session(), drill(name), win)
    assert won.verdict.won, won.verdict.decided_by
    assert won.verdict.score == score
    lost = play(trader_session(), drill(name), lose)
    assert not lost.verdict.won
    assert lost.verdict.score == 0
    assert why in lost.verdict.decided_by


def test_doing_nothing_loses_every_drill() -> None:
    for name in load_drills().drills:
        assert not play(trader_session(), drill(name)).verdict.won, name


def test_the_drill_ends_at_its_time_limit_in_feed_time() -> None:
    result = play(trader_session(), drill("flash-crash"), {0: close("BTC", 0.25)}, speed=60)
    assert result.verdict.at == 1_800
    assert result.tape.end == 1_800
    assert result.tape.samples[-1].t == 1_800
    assert max(s.t for s in result.tape.samples) <= 1_800


def test_quitting_loses_and_is_said() -> None:
    session = trader_session()
    result = play(session, drill("flash-crash"), quit_at=120)
    assert result.quit and not result.verdict.won
    assert result.verdict.decided_by.startswith("You ended the drill at 02:")
    assert any("Drill Survive the flash crash: lost" in line.text for line in session.log)


# ------------------------------------------------------------------ the trader's own account


def _file_digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_the_trader_s_account_is_untouched_and_back_as_it_was(tmp_path: Path) -> None:
    session = trader_session(tmp_path)
    feed = SimSource(["BTC", "ETH"], seed=1)
    session.feed = feed
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    session.engine.open("ETH", SHORT, 1.0, 5, CROSS)
    assert session.journal is not None
    session.journal.checkpoint()
    engine, journal = session.engine, session.journal
    state = engine.to_state()
    marks = engine.marks
    before = _file_digest(tmp_path)
    risk_views = (session.candles, session.alerts, session.traces)  # the chart's, the alerts'
    during: list[object] = []

    def look(s: Session) -> None:
        during.extend((s.candles, s.alerts, s.traces))

    result = play(session, drill("margin-shock"), {1: look, 75: close("BTC", 0.25)})
    assert result.verdict.won

    assert session.engine is engine and session.journal is journal and session.feed is feed
    assert engine.to_state() == state and engine.marks == marks
    assert session.drill is None and session.drill_problem() is None
    assert _file_digest(tmp_path) == before  # not a byte of the trader's files changed
    assert (session.candles, session.alerts, session.traces) == risk_views
    assert len(during) == 3 and not any(a is b for a, b in zip(during, risk_views, strict=True))
    assert engine.listeners.count(session._on_engine_event) == 1
    session.on_mark("BTC", engine.mark("BTC") or 0.0)  # the trader's engine is live again
    session.engine.close("ETH")
    assert journal.record_count == 3  # two opens and this close, in the trader's season


def test_attempts_are_saved_and_scored_again_from_the_journal(tmp_path: Path) -> None:
    d = drill("margin-rescue")
    first = play(trader_session(tmp_path), d, {0: add_margin(1_000)})
    session = trader_session(tmp_path)  # relaunch: a new session on the same account
    second = play(session, d, {0: add_margin(600)})
    third = play(session, d, {0: add_margin(400)})
    assert (first.verdict.score, second.verdict.score, third.verdict.score) == (75, 95, 0)

    record = drill_scores(tmp_path).get(d.name)
    assert (record.attempts, record.wins, record.best) == (3, 2, 95)
    assert record.last is not None and record.last.outcome == "lost" and record.last.score == 0
    assert third.record == record  # the end screen's figures
    assert [a.score for a in attempts(tmp_path, d.name)] == [0, 95, 75]  # newest first

    for result in (first, second, third):
        assert result.attempt_id is not None and result.problem is None
        assert rescore(tmp_path, result.attempt_id, d) == result.verdict
        attempt, records, samples = attempt_run(tmp_path, result.attempt_id)
        assert attempt.setup_seq == 1 and records[0].seq == 1  # the book: one open
        assert len(samples.rows) == len(result.tape.samples)
    assert drill_scores(tmp_path).get("flash-crash").attempts == 0


def test_a_drill_refuses_to_start_twice_and_says_why() -> None:
    session = trader_session()
    sink = session.start_drill(drill("flash-crash"))
    assert not isinstance(sink, str)
    again = session.start_drill(drill("two-sigma"))
    assert isinstance(again, str) and "A drill is running (Survive the flash crash)" in again
    assert session.drill_problem() == again
    session.end_drill()
    result = session.take_drill_result()
    assert result is not None and result.quit
    assert session.take_drill_result() is None  # once


def test_an_unreadable_drills_account_runs_the_drill_unsaved(tmp_path: Path) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    (folder / "account.db").write_bytes(b"not an account\x1b[2J" * 100)
    session = trader_session(tmp_path)
    result = play(session, drill("margin-rescue"), {0: add_margin(600)})
    assert result.verdict.won and result.attempt_id is None and result.record is None
    assert result.problem is not None
    assert result.problem.startswith("This attempt is not saved: The paper account in")
    assert "\x1b" not in result.problem
    said = [line.text for line in session.log]
    assert any(text.startswith("This attempt is not saved:") for text in said)
    assert (folder / "account.db").read_bytes() == b"not an account\x1b[2J" * 100  # untouched
    assert session.journal is not None and session.journal.error is None
