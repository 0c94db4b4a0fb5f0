"""Scripted play of a drill through the session (no Pilot): the drill's source stepped by a
fixed tick, the trader's moves run at feed times, the heartbeat drained after each step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from tui.drills import Drill, load_drills
from tui.drills.attempts import DrillResult
from tui.drills.runner import DrillSource
from tui.journal import Journal
from tui.session import Session

NOON = 1_795_521_600.0  # 2026-11-24 12:00:00 UTC
TICK = 0.22  # wall seconds per step: the sources' own tick

Move = Callable[[Session], object]

_CATALOGUE = load_drills()


def drill(name: str) -> Drill:
    return _CATALOGUE.drills[name]


def trader_session(data_dir: Path | None = None) -> Session:
    """A trader's session with marks of its own (and a saved account in ``data_dir``)."""
    journal = None
    if data_dir is not None:
        journal = Journal.open(data_dir, lock=False, clock=lambda: NOON)
    session = Session(journal=journal, data_dir=data_dir, wall_clock=lambda: NOON)
    session.on_mark("BTC", 90_000.0)
    session.on_mark("ETH", 3_000.0)
    return session


def play(
    session: Session,
    drill: Drill,
    moves: Mapping[float, Move] | None = None,
    *,
    speed: float | None = None,
    quit_at: float | None = None,
) -> DrillResult:
    """Play ``drill`` on ``session``: each move runs once the feed reaches its time (seconds
    of feed time since the start; 0 runs before the clock starts). Returns the result."""
    sink = session.start_drill(drill)
    assert not isinstance(sink, str), sink
    source = session.feed
    assert isinstance(source, DrillSource)
    if speed is not None:
        source.speed = speed
    pending = sorted((moves or {}).items())
    while pending and pending[0][0] <= 0:
        pending.pop(0)[1](session)
    source.paused = False
    while session.drill is not None:
        if quit_at is not None and source.sim_time >= quit_at:
            session.end_drill()
            break
        source.step(TICK).deliver(sink)
        while pending and pending[0][0] <= source.sim_time:
            pending.pop(0)[1](session)
        session.drain()
    result = session.take_drill_result()
    assert result is not None
    return result
