"""A drill being played: its price source, its engine with the starting book, the samples it
takes on the feed's clock, and the verdict (no Textual).

:class:`DrillRun` is built by :meth:`DrillRun.begin`: a :class:`DrillSource` (the drill's
scenario, paused until the trader starts the clock), an engine on the drill's venue whose
clock is feed time (each record says when in the drill it happened), the starting book placed
on it, and a first :class:`~tui.drills.scoring.Sample`. The session feeds it through
:class:`DrillSink` (the session's own sink, plus a sample every :attr:`DrillRun.resolution`
seconds of feed time), and asks :meth:`DrillRun.check` on its heartbeat whether the drill is
decided or its time is up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.drills.model import BookOrder, BookPosition, Drill, DrillError
from tui.drills.scoring import Sample, Tape, Verdict, judge
from tui.engine import OrderRejected, PaperEngine, venue_markets
from tui.engine.models import Market
from tui.market import FeedStatus, MarkSink
from tui.market.scenarios import ScenarioSource
from tui.market.sim import DEFAULT_TICK

__all__ = [
    "DrillRun",
    "DrillSink",
    "DrillSource",
    "FeedClock",
    "build_book",
    "check_drill",
    "drill_markets",
]

MAX_SAMPLES = 1000
"""Samples per run at most: one every ``time_limit / MAX_SAMPLES`` seconds of feed time."""
MIN_RESOLUTION = 0.2


class DrillSource(ScenarioSource):
    """A drill's scenario, with the drill's own speeds (a day of funding runs at 1440x)."""

    kind = "drill"

    def __init__(self, drill: Drill, *, tick_interval: float = DEFAULT_TICK) -> None:
        self.speed_options = drill.speeds
        super().__init__(
            drill.scenario,
            drill.markets,
            seed=drill.seed,
            speed=drill.speed,
            tick_interval=tick_interval,
        )
        self.name = f"Drill: {drill.title}"

    def _validate_speed(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"drill speed must be a number, not {value!r}")
        if float(value) not in self.speed_options:
            allowed = ", ".join(f"{s:g}" for s in self.speed_options)
            raise ValueError(f"this drill runs at {allowed}x, not {value!r}")
        return float(value)

    def _detail(self) -> str:
        phase = self.scenario.phase(self._sim_time)
        where = f" · {phase}" if phase else ""
        return f"Drill {self.scenario.name}{where} · {self._speed:g}x"


def drill_markets(drill: Drill) -> list[Market]:
    """The drill's markets with its venue's tables and base fees (the same for everyone, so
    scores compare)."""
    return venue_markets(drill.venue, symbols=drill.markets)


def _size(engine: PaperEngine, market: str, notional: float | None, size: float | None) -> float:
    if size is not None:
        return size
    mark = engine.mark(market)
    assert notional is not None and mark is not None
    return notional / mark


def _place_position(engine: PaperEngine, pos: BookPosition) -> None:
    engine.open(
        pos.market,
        pos.side,
        _size(engine, pos.market, pos.notional, pos.size),
        pos.leverage,
        pos.mode,
    )
    if pos.margin is not None:
        view = engine.position(pos.market)
        assert view is not None
        change = pos.margin - view.margin
        if change > 0:
            engine.add_margin(pos.market, change)
        elif change < 0:
            engine.remove_margin(pos.market, -change)


def _place_order(engine: PaperEngine, order: BookOrder) -> None:
    mark = engine.mark(order.market)
    assert mark is not None
    level = mark * (1 + order.at)
    limit = order.kind.value == "limit"
    engine.place_order(
        order.market,
        order.side,
        _size(engine, order.market, order.notional, order.size),
        order.kind,
        price=level if limit else None,
        trigger_price=None if limit else level,
        leverage=order.leverage,
        mode=order.mode,
        reduce_only=order.reduce_only,
    )


def build_book(engine: PaperEngine, drill: Drill) -> None:
    """Open the drill's starting positions and place its resting orders at the start marks.
    :class:`DrillError` names the entry the engine refused."""
    for i, pos in enumerate(drill.positions):
        try:
            _place_position(engine, pos)
        except OrderRejected as exc:
            raise DrillError(f"book.positions[{i + 1}]", str(exc)) from None
    for i, order in enumerate(drill.orders):
        try:
            _place_order(engine, order)
        except OrderRejected as exc:
            raise DrillError(f"book.orders[{i + 1}]", str(exc)) from None


def _deliver_start(source: DrillSource, engine: PaperEngine) -> None:
    """The marks and funding rates at feed time 0, straight to the engine."""
    for name, price in source.prices.items():
        engine.set_mark(name, price)
    for name, rate in source.funding_rates.items():
        engine.set_funding_rate(name, rate)


def check_drill(drill: Drill) -> None:
    """Build the drill on a scratch engine: :class:`DrillError` if its starting book cannot
    be placed (too little balance, leverage beyond the market's, a trigger already crossed)."""
    source = DrillSource(drill)
    engine = PaperEngine(drill.balance, drill_markets(drill), clock=lambda: 0.0, venue=drill.venue)
    _deliver_start(source, engine)
    build_book(engine, drill)


def take_sample(engine: PaperEngine, markets: Sequence[str], t: float) -> Sample:
    """The account now, as a sample at feed time ``t``: times to the millisecond, equity to
    the cent, the ratio to six decimals (what is saved is what is scored)."""
    account = engine.account
    marks = engine.marks
    sizes = {name: 0.0 for name in markets}
    for pos in engine.positions():
        sizes[pos.market] = pos.side.sign * pos.size
    return Sample(
        t=round(t, 3),
        equity=round(account.equity, 2),
        margin_ratio=round(account.margin_ratio, 6),
        marks={name: marks[name] for name in markets if name in marks},
        sizes=sizes,
    )


@dataclass
class Ending:
    """How a run ended: the verdict, and the tape it was read from."""

    verdict: Verdict
    tape: Tape
    quit: bool


class FeedClock:
    """The drill engine's clock: ``start`` (wall time when the drill began) plus the feed time
    of the instant being delivered, so every record says when in the drill it happened."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.t = 0.0

    def __call__(self) -> float:
        return self.start + self.t


class DrillRun:
    """One attempt at a drill (see the module doc). ``source`` starts paused; ``engine`` runs
    on ``clock``."""

    def __init__(
        self, drill: Drill, source: DrillSource, engine: PaperEngine, clock: FeedClock
    ) -> None:
        self.drill = drill
        self.source = source
        self.engine = engine
        self.clock = clock
        self.start = clock.start
        self.resolution = max(drill.time_limit / MAX_SAMPLES, MIN_RESOLUTION)
        self.samples: list[Sample] = []
        self.setup_seq = 0
        self.ending: Ending | None = None
        self._clock: float | None = None  # the feed time of the marks last delivered
        self._seen = (-1, -1)  # (records, samples) when last judged

    # ------------------------------------------------------------------ building

    def set_up(self) -> None:
        """Prices at feed time 0, the starting book, the first sample. :class:`DrillError`
        if the book cannot be placed."""
        _deliver_start(self.source, self.engine)
        build_book(self.engine, self.drill)
        self.setup_seq = max((e.seq for e in self.engine.events), default=0)
        self._clock = 0.0
        self.samples.append(take_sample(self.engine, self.drill.markets, 0.0))

    # ------------------------------------------------------------------ running

    @property
    def elapsed(self) -> float:
        """Feed seconds since the drill started."""
        return self.source.feed_time

    @property
    def time_left(self) -> float:
        return max(0.0, self.drill.time_limit - self.elapsed)

    def on_clock(self, feed_time: float) -> None:
        """A new instant of the feed: sample the account as the last instant left it, when a
        sample is due; at the time limit, stop the feed (the drill is over)."""
        if not math.isfinite(feed_time):
            return
        last, self._clock = self._clock, feed_time
        if last is None or self.ending is not None:
            return
        limit = self.drill.time_limit
        if last <= limit and last - self.samples[-1].t >= self.resolution:
            self.samples.append(take_sample(self.engine, self.drill.markets, last))
        self.clock.t = feed_time  # the records of this instant carry its time
        if feed_time >= limit:
            self.source.paused = True  # the marks of this instant are the last

    def tape(self, *, quit: bool = False) -> Tape:
        end = min(self._clock if self._clock is not None else 0.0, self.drill.time_limit)
        return Tape(
            start=self.start,
            setup_seq=self.setup_seq,
            records=tuple(self.engine.events),
            samples=tuple(self.samples),
            end=end,
            quit=quit,
        )

    @property
    def time_up(self) -> bool:
        return self._clock is not None and self._clock >= self.drill.time_limit

    def check(self) -> Ending | None:
        """Is the drill over (decided, or time up)? Judges only when something new came in."""
        if self.ending is not None:
            return self.ending
        seen = (len(self.engine.events), len(self.samples))
        if seen == self._seen and not self.time_up:
            return None
        self._seen = seen
        if self.time_up:
            return self._end(quit=False)
        verdict = judge(self.drill.rule, self.tape(), self.drill.time_limit, final=False)
        if verdict is None:
            return None
        return self._end(quit=False, verdict=verdict)

    def stop(self) -> Ending:
        """The trader ends the drill now (or quits perpdesk): judged as it stands."""
        if self.ending is not None:
            return self.ending
        return self._end(quit=not self.time_up)

    def _end(self, *, quit: bool, verdict: Verdict | None = None) -> Ending:
        self.source.paused = True
        now = min(self._clock if self._clock is not None else 0.0, self.drill.time_limit)
        if not self.samples or self.samples[-1].t < now:
            self.samples.append(take_sample(self.engine, self.drill.markets, now))
        tape = self.tape(quit=quit)
        if verdict is None:
            verdict = judge(self.drill.rule, tape, self.drill.time_limit, final=True)
            assert verdict is not None
        self.ending = Ending(verdict, tape, quit)
        return self.ending


class DrillSink:
    """The feed's sink while a drill runs: the session, plus :meth:`DrillRun.on_clock` before
    the session's own (when it has one) at each new instant."""

    def __init__(self, session: MarkSink, run: DrillRun) -> None:
        self._session = session
        self._run = run

    def on_clock(self, feed_time: float) -> None:
        self._run.on_clock(feed_time)
        own = getattr(self._session, "on_clock", None)
        if own is not None:
            own(feed_time)

    def on_mark(self, symbol: str, price: float) -> None:
        self._session.on_mark(symbol, price)

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        self._session.on_funding_rate(symbol, rate_per_hour)

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        self._session.on_funding(symbol, rate_per_hour)

    def on_status(self, status: FeedStatus) -> None:
        self._session.on_status(status)

    def on_book(
        self,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        time: float,
    ) -> None:
        self._session.on_book(symbol, bids, asks, time)

    def __getattr__(self, name: str) -> Any:  # whatever else a source asks the session
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._session, name)
