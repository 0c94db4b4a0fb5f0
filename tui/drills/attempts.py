"""A drill attempt and the journal: where it is played (its own season of the drills'
account), how it is saved when it ends, and its score worked out again from what was saved.

No Textual: the session calls :func:`begin` and :func:`finish`; tests call :func:`rescore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.drills.model import Drill, DrillError
from tui.drills.runner import DrillRun, DrillSource, Ending, FeedClock, drill_markets
from tui.drills.scoring import Sample, Tape, Verdict, judge
from tui.engine import Fill, Liquidation, MarginTransfer, OrderEvent, PaperEngine, venue_markets
from tui.journal import Journal, JournalError
from tui.journal.drills import (
    DrillScore,
    SampleTable,
    attempt_run,
    drill_scores,
    open_drill_journal,
    save_attempt,
)

__all__ = [
    "DrillResult",
    "Started",
    "begin",
    "finish",
    "markers_of",
    "path_of",
    "rescore",
    "samples_from",
    "table_of",
]


@dataclass(frozen=True)
class Started:
    """A drill ready to play: the run, the journal saving it (``None``: unsaved) and, when it
    is unsaved for a reason, the reason."""

    run: DrillRun
    journal: Journal | None
    unsaved: str | None = None


@dataclass(frozen=True)
class DrillResult:
    """What the end screen shows: the drill, its verdict, the run (its mark path and the
    trader's records), the attempt's id when saved, the drill's record after it, and why it
    was not saved (if so)."""

    drill: Drill
    verdict: Verdict
    tape: Tape
    quit: bool
    attempt_id: int | None
    record: DrillScore | None
    problem: str | None = None


def table_of(samples: Sequence[Sample], markets: Sequence[str]) -> SampleTable:
    """Samples as the journal keeps them (see :class:`tui.journal.drills.SampleTable`)."""
    rows = tuple(
        (
            s.t,
            s.equity,
            s.margin_ratio,
            *(s.marks.get(m, 0.0) for m in markets),
            *(s.sizes.get(m, 0.0) for m in markets),
        )
        for s in samples
    )
    return SampleTable(tuple(markets), rows)


def samples_from(table: SampleTable) -> list[Sample]:
    n = len(table.markets)
    return [
        Sample(
            t=row[0],
            equity=row[1],
            margin_ratio=row[2],
            marks=dict(zip(table.markets, row[3 : 3 + n], strict=True)),
            sizes=dict(zip(table.markets, row[3 + n :], strict=True)),
        )
        for row in table.rows
    ]


def begin(drill: Drill, *, start: float, data_dir: Path | None) -> Started:
    """Build an attempt at ``drill`` starting at wall time ``start``: in a fresh season of the
    drills' account under ``data_dir`` (``None``: unsaved), its book placed. Raises
    :class:`DrillError` when the book cannot be placed (nothing is left open then)."""
    source = DrillSource(drill)
    source.paused = True  # the trader starts the clock
    clock = FeedClock(start)
    journal: Journal | None = None
    unsaved: str | None = None
    if data_dir is not None:
        try:
            journal = open_drill_journal(
                data_dir,
                balance=drill.balance,
                venue=drill.venue,
                markets_for=lambda venue: venue_markets(venue, symbols=drill.markets),
                clock=clock,
            )
        except (JournalError, ValueError) as exc:
            unsaved = f"This attempt is not saved: {exc}"
    if journal is not None:
        engine = journal.engine
    else:
        engine = PaperEngine(drill.balance, drill_markets(drill), clock=clock, venue=drill.venue)
    run = DrillRun(drill, source, engine, clock)
    try:
        run.set_up()
    except DrillError:
        if journal is not None:
            journal.close()
        raise
    return Started(run, journal, unsaved)


def finish(started: Started, ending: Ending, *, ended: float, data_dir: Path | None) -> DrillResult:
    """Save the attempt (when its journal is open), close that journal, and read the drill's
    record after it. Never raises: a failure to save is said in ``problem``."""
    run, journal = started.run, started.journal
    verdict = ending.verdict
    outcome = "won" if verdict.won else "quit" if ending.quit else "lost"
    problem = started.unsaved
    attempt_id: int | None = None
    record: DrillScore | None = None
    if journal is not None:
        try:
            attempt_id = save_attempt(
                journal,
                drill=run.drill.name,
                started=run.start,
                ended=max(ended, run.start),
                elapsed=ending.tape.end,
                setup_seq=run.setup_seq,
                outcome=outcome,
                score=verdict.score,
                decided_by=verdict.decided_by,
                samples=table_of(ending.tape.samples, run.drill.markets),
            )
        except (JournalError, ValueError) as exc:
            problem = f"This attempt could not be saved: {exc}"
        if not journal.close() and problem is None:
            problem = journal.error or "The drill's last records could not be saved."
    if data_dir is not None and attempt_id is not None:
        try:
            record = drill_scores(data_dir).get(run.drill.name)
        except JournalError as exc:
            problem = str(exc)
    return DrillResult(run.drill, verdict, ending.tape, ending.quit, attempt_id, record, problem)


def rescore(data_dir: Path, attempt_id: int, drill: Drill) -> Verdict:
    """The verdict on a saved attempt, worked out again from the journal alone (its season's
    records and its samples). Raises :class:`JournalError` or ``KeyError`` as
    :func:`tui.journal.drills.attempt_run` does."""
    attempt, records, table = attempt_run(data_dir, attempt_id)
    tape = Tape(
        start=attempt.started,
        setup_seq=attempt.setup_seq,
        records=tuple(records),
        samples=tuple(samples_from(table)),
        end=attempt.elapsed,
        quit=attempt.outcome == "quit",
    )
    verdict = judge(drill.rule, tape, drill.time_limit, final=True)
    assert verdict is not None
    return verdict


def path_of(tape: Tape, market: str) -> list[tuple[float, float]]:
    """``(feed seconds, mark)`` of ``market`` at each sample: the run's mark path."""
    return [(s.t, s.marks[market]) for s in tape.samples if market in s.marks]


def markers_of(tape: Tape, market: str | None = None) -> list[tuple[float, str]]:
    """The trader's actions after the start (in ``market`` only, when given), as ``(feed
    seconds, kind)``: ``buy``, ``sell``, ``add``, ``remove`` (margin), ``trigger`` (a stop or
    take-profit fired), ``liquidation``."""
    found: list[tuple[float, str]] = []
    for record in tape.records:
        if record.seq <= tape.setup_seq or (market is not None and record.market != market):
            continue
        t = record.time - tape.start
        if isinstance(record, Fill):
            found.append((t, "buy" if record.side.sign > 0 else "sell"))
        elif isinstance(record, MarginTransfer):
            found.append((t, "add" if record.amount > 0 else "remove"))
        elif isinstance(record, Liquidation):
            found.append((t, "liquidation"))
        elif isinstance(record, OrderEvent) and record.action == "triggered":
            found.append((t, "trigger"))
    return found
