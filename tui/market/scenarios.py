"""Named, deterministic price paths that each teach one lesson.

A scenario scripts BTC's move (percent from the start, keyframed over minutes of source time,
linear in between) and the funding rate; every other market follows BTC's log move times
``alt_follow * max(beta, 0.8)``. A little seeded noise (a fraction of each market's normal
volatility) keeps the board alive; with the same seed the path is identical every run. After
the last keyframe the level holds and only the noise continues.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from tui.market.markets import MAX_FUNDING_RATE
from tui.market.sim import DEFAULT_TICK, CorrelatedWalk, WalkSource, clamp_rate, resolve_seed

__all__ = ["SCENARIOS", "Keyframe", "Scenario", "ScenarioSource", "scenario_names"]


@dataclass(frozen=True, slots=True)
class Keyframe:
    """At ``minute`` of source time BTC stands ``btc_move`` (fraction) from its start price.
    ``phase`` (optional) names what is happening from here on, for the status line."""

    minute: float
    btc_move: float
    phase: str = ""


def _interp(points: tuple[tuple[float, float], ...], x: float) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named price path. ``teaches`` is a one-line lesson for the picker."""

    name: str
    teaches: str
    keyframes: tuple[Keyframe, ...]
    funding: tuple[tuple[float, float], ...]
    """``(minute, hourly rate)`` keyframes for BTC; alts scale it by their follow factor."""
    alt_follow: float = 1.0
    noise: float = 0.3
    wave: tuple[float, float] = (0.0, 0.0)
    """``(amplitude, period in minutes)`` of a sine added to BTC's move (chop)."""
    default_seed: int = 7
    liquidity: tuple[tuple[float, float], ...] = ((0, 1.0),)
    """``(minute, depth multiplier)`` keyframes for every market's order book (1 = normal)."""

    def __post_init__(self) -> None:
        minutes = [k.minute for k in self.keyframes]
        if not minutes or minutes != sorted(minutes) or minutes[0] != 0:
            raise ValueError(f"scenario {self.name}: keyframes must start at 0 and be sorted")
        if not self.funding or self.funding[0][0] != 0:
            raise ValueError(f"scenario {self.name}: funding keyframes must start at 0")
        if any(k.btc_move <= -1.0 for k in self.keyframes):
            raise ValueError(f"scenario {self.name}: a move of -100 % or worse is not a price")

    @property
    def duration(self) -> float:
        """Seconds of source time until the last keyframe (of price or funding)."""
        return 60.0 * max(self.keyframes[-1].minute, self.funding[-1][0])

    def btc_move(self, t: float) -> float:
        """BTC's scripted move at ``t`` seconds, as a fraction (-0.12 = down 12 %)."""
        minute = t / 60.0
        move = _interp(tuple((k.minute, k.btc_move) for k in self.keyframes), minute)
        amp, period = self.wave
        if amp and period:
            move += amp * math.sin(2.0 * math.pi * minute / period)
        return move

    def funding_rate(self, t: float) -> float:
        return _interp(self.funding, t / 60.0)

    def depth(self, t: float) -> float:
        """How deep the books are at ``t`` seconds, as a multiplier of their normal depth."""
        return _interp(self.liquidity, t / 60.0)

    def phase(self, t: float) -> str:
        label = ""
        for k in self.keyframes:
            if k.minute * 60.0 <= t and k.phase:
                label = k.phase
        return label


_BASE = 0.0000125
MIN_FOLLOW_BETA = 0.8
"""In a scenario every alt follows BTC's log move times ``alt_follow * max(beta, 0.8)``, so
with ``alt_follow > 1.25`` every alt moves harder than BTC."""

_LIST: tuple[Scenario, ...] = (
    Scenario(
        name="calm",
        teaches="A quiet market: practise sizing, margin modes and closing without pressure.",
        keyframes=(Keyframe(0, 0.0, "quiet market"),),
        funding=((0, _BASE),),
        noise=0.35,
    ),
    Scenario(
        name="trend-up",
        teaches="A steady uptrend: shorts bleed on price and longs pay rising funding.",
        keyframes=(
            Keyframe(0, 0.0, "steady bid"),
            Keyframe(240, 0.08, "trend extends"),
            Keyframe(480, 0.14, "trend pauses"),
        ),
        funding=((0, _BASE), (120, 0.00005), (480, 0.0001), (720, 0.00005)),
        alt_follow=1.3,
        noise=0.5,
    ),
    Scenario(
        name="flash-crash",
        teaches="BTC drops 12 % in minutes, alts harder: leverage and liquidation prices matter.",
        keyframes=(
            Keyframe(0, 0.0, "quiet before the storm"),
            Keyframe(10, 0.0, "selling starts"),
            Keyframe(11, -0.03, "flash crash"),
            Keyframe(14, -0.12, "capitulation"),
            Keyframe(16, -0.115, "partial recovery"),
            Keyframe(40, -0.06, "settling"),
        ),
        funding=((0, _BASE), (10, _BASE), (14, -0.0003), (40, -0.00005), (120, _BASE)),
        alt_follow=1.5,
        noise=0.3,
        # Market makers pull their quotes as it falls: a tenth of the depth at the bottom.
        liquidity=((0, 1.0), (10, 1.0), (11, 0.3), (14, 0.1), (16, 0.2), (40, 0.7), (60, 1.0)),
    ),
    Scenario(
        name="short-squeeze",
        teaches="Crowded shorts earn funding until a sharp rally liquidates them.",
        keyframes=(
            Keyframe(0, 0.0, "shorts pile in"),
            Keyframe(30, -0.03, "short squeeze"),
            Keyframe(36, 0.06, "shorts liquidated"),
            Keyframe(40, 0.08, "cooling off"),
            Keyframe(90, 0.05),
        ),
        funding=((0, -0.00005), (30, -0.0002), (36, 0.0001), (60, 0.00003), (120, _BASE)),
        alt_follow=1.4,
        noise=0.3,
        liquidity=((0, 1.0), (30, 1.0), (33, 0.3), (36, 0.2), (40, 0.5), (90, 1.0)),
    ),
    Scenario(
        name="chop",
        teaches="Sideways chop: overtrading and tight stops lose fees both ways.",
        keyframes=(Keyframe(0, 0.0, "range-bound"),),
        funding=((0, _BASE), (30, -0.00001), (60, 0.00003), (90, _BASE)),
        noise=0.6,
        wave=(0.025, 20.0),
    ),
    Scenario(
        name="funding-spike",
        teaches="Funding spikes to 0.05 %/h: carrying a crowded long costs money every hour.",
        keyframes=(
            Keyframe(0, 0.0, "grind up"),
            Keyframe(20, 0.02, "funding spikes"),
            Keyframe(60, 0.04),
            Keyframe(145, 0.045, "funding normalises"),
            Keyframe(240, 0.05),
        ),
        funding=(
            (0, _BASE),
            (20, 0.00002),
            (25, MAX_FUNDING_RATE),
            (145, MAX_FUNDING_RATE),
            (205, 0.00003),
            (240, _BASE),
        ),
        noise=0.3,
    ),
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in _LIST}
"""Every scenario by name, in picker order."""


def scenario_names() -> str:
    return ", ".join(SCENARIOS)


class ScenarioSource(WalkSource):
    """Plays a :class:`Scenario` with the simulation's interface (``step``, ``speed``,
    ``paused``, hourly funding). ``seed=None`` uses the scenario's own fixed seed."""

    kind = "scenario"

    def __init__(
        self,
        scenario: str | Scenario,
        symbols: Iterable[str] | None = None,
        *,
        seed: int | None = None,
        speed: float = 1,
        tick_interval: float = DEFAULT_TICK,
        execution: str = "frictionless",
    ) -> None:
        if isinstance(scenario, Scenario):
            sc = scenario
        elif isinstance(scenario, str) and scenario.strip().lower() in SCENARIOS:
            sc = SCENARIOS[scenario.strip().lower()]
        else:
            raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {scenario_names()}")
        self.scenario = sc
        self.seed = sc.default_seed if seed is None else resolve_seed(seed)
        super().__init__(
            symbols,
            speed=speed,
            tick_interval=tick_interval,
            purpose="scenarios",
            execution=execution,
            book_seed=self.seed,
        )
        self.name = f"Scenario: {sc.name}"
        self._rng = random.Random(self.seed)
        self._walk = CorrelatedWalk(
            self._params,
            self._rng,
            vol_scale=sc.noise,
            market_jumps_per_day=0.0,
            idio_jumps_per_day=0.0,
        )
        self._base_log = list(self._log_px)
        self._noise = [0.0 for _ in self.symbols]
        self._follow = [
            1.0 if p.symbol == "BTC" else sc.alt_follow * max(p.beta, MIN_FOLLOW_BETA)
            for p in self._params
        ]
        self._set_path(0.0)

    def _set_path(self, t: float) -> None:
        sc = self.scenario
        btc_log = math.log1p(sc.btc_move(t))
        rate = sc.funding_rate(t)
        for i, follow in enumerate(self._follow):
            self._log_px[i] = self._base_log[i] + follow * btc_log + self._noise[i]
            self._rates[i] = clamp_rate(rate * follow)

    def _liquidity(self) -> float:
        return self.scenario.depth(self._sim_time)

    def _rebase(self) -> None:
        """The scenario's path is relative to where it starts: start it from the prices now."""
        self._base_log = [lp - n for lp, n in zip(self._log_px, self._noise, strict=True)]

    def _move(self, sim_dt: float) -> None:
        for i, r in enumerate(self._walk.returns(sim_dt)):
            self._noise[i] += r
        self._set_path(self._sim_time + sim_dt)

    def _detail(self) -> str:
        phase = self.scenario.phase(self._sim_time)
        where = f" · {phase}" if phase else ""
        return f"Scenario {self.scenario.name}{where} · {self._speed:g}x"
