"""Offline simulated prices: a seeded, correlated, log-normal random walk with jumps and funding.

Deterministic: the same ``seed`` and the same sequence of :meth:`SimSource.step` calls (and
``speed`` / ``paused`` changes between them) give identical marks, funding rates and payments.
"""

from __future__ import annotations

import math
import random
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence

from tui.market.base import Event, EventKind, SteppedSource, StepResult, _check_number
from tui.market.books import BookMaker, Stress, book_style
from tui.market.markets import (
    BASE_FUNDING_RATE,
    MARKETS,
    MAX_FUNDING_RATE,
    MarketParams,
    normalize_symbols,
)

__all__ = ["SIM_SPEEDS", "SimSource"]

YEAR_SECONDS = 365.0 * 24.0 * 3600.0
HOUR_SECONDS = 3600.0
DAY_SECONDS = 86_400.0
SIM_SPEEDS: tuple[float, ...] = (1.0, 10.0, 60.0)
DEFAULT_TICK = 0.22  # ~4.5 ticks a second of wall time

FUNDING_HALF_LIFE = 4.0 * HOUR_SECONDS
"""Funding rates revert to the base rate with this half-life (source time)."""
FUNDING_SENSITIVITY = 0.002
"""Hourly funding rate added per unit of log return (a +1 % move adds ~0.002 %/h)."""


def clamp_rate(rate: float) -> float:
    return max(-MAX_FUNDING_RATE, min(MAX_FUNDING_RATE, rate))


def validate_sim_speed(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in SIM_SPEEDS:
        allowed = ", ".join(f"{s:g}" for s in SIM_SPEEDS)
        raise ValueError(f"{what} speed must be one of {allowed} (got {value!r})")
    return float(value)


def resolve_seed(seed: int | None) -> int:
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, not {seed!r}")
    return seed


class CorrelatedWalk:
    """Log returns for several markets sharing one BTC factor.

    Per step of ``dt`` years: ``r_i = -sigma_i^2/2 dt + beta_i sigma_btc sqrt(dt) z_btc
    + idio_i sqrt(dt) z_i`` with ``idio_i^2 = sigma_i^2 - (beta_i sigma_btc)^2`` (so each
    market keeps its own total volatility), plus Poisson jumps: market-wide ones scaled by
    beta, and idiosyncratic ones. ``vol_scale`` shrinks every volatility (scenario noise).
    """

    def __init__(
        self,
        params: Sequence[MarketParams],
        rng: random.Random,
        *,
        vol_scale: float = 1.0,
        market_jumps_per_day: float = 1.0,
        market_jump_size: float = 0.015,
        idio_jumps_per_day: float = 0.5,
        idio_jump_size: float = 0.025,
    ) -> None:
        self._rng = rng
        factor_vol = MARKETS["BTC"].annual_vol * vol_scale
        self._betas = [p.beta for p in params]
        self._load = [p.beta * factor_vol for p in params]
        self._idio = [
            math.sqrt(max((p.annual_vol * vol_scale) ** 2 - load**2, 0.0))
            for p, load in zip(params, self._load, strict=True)
        ]
        self._drift = [
            -0.5 * (load**2 + idio**2) for load, idio in zip(self._load, self._idio, strict=True)
        ]
        self._market_rate = market_jumps_per_day / DAY_SECONDS
        self._market_size = market_jump_size
        self._idio_rate = idio_jumps_per_day / DAY_SECONDS
        self._idio_size = idio_jump_size

    def returns(self, sim_dt: float) -> list[float]:
        """Log returns for one step of ``sim_dt`` seconds, in ``params`` order."""
        rng = self._rng
        gauss = rng.gauss
        dt = sim_dt / YEAR_SECONDS
        sq = math.sqrt(dt)
        z_m = gauss(0.0, 1.0)
        jump = 0.0
        if self._market_rate and rng.random() < -math.expm1(-self._market_rate * sim_dt):
            jump = gauss(0.0, self._market_size)
        p_idio = -math.expm1(-self._idio_rate * sim_dt) if self._idio_rate else 0.0
        out: list[float] = []
        for drift, load, idio, beta in zip(
            self._drift, self._load, self._idio, self._betas, strict=True
        ):
            r = drift * dt + sq * (load * z_m + idio * gauss(0.0, 1.0)) + beta * jump
            if p_idio and rng.random() < p_idio:
                r += gauss(0.0, self._idio_size)
            out.append(r)
        return out


class WalkSource(SteppedSource):
    """Shared machinery of the simulation and the scenarios: per-symbol log prices and
    funding rates, hourly funding payments at every whole hour of source time (a step that
    crosses an hour is split there, so the payment uses that hour's mark and rate), and with
    an ``execution`` preset other than ``"frictionless"`` an order book around every mark at
    the end of each step (tui/market/books.py)."""

    speed_options = SIM_SPEEDS

    def __init__(
        self,
        symbols: Iterable[str] | None,
        *,
        speed: float,
        tick_interval: float,
        purpose: str,
        execution: str = "frictionless",
        book_seed: int = 0,
    ) -> None:
        syms = normalize_symbols(symbols, known_only=True, purpose=purpose)
        style = book_style(execution)
        super().__init__(syms, tick_interval=tick_interval)
        self.execution = execution.strip().lower()
        self._params = [MARKETS[s] for s in syms]
        self._decimals = [p.decimals for p in self._params]
        self._log_px = [math.log(p.ref_price) for p in self._params]
        self._rates = [BASE_FUNDING_RATE for _ in syms]
        self._next_funding = HOUR_SECONDS
        self._books = None if style is None else BookMaker(syms, style, book_seed)
        self._stress = [Stress(p.annual_vol) for p in self._params]
        self.speed = speed

    def _validate_speed(self, value: object) -> float:
        return validate_sim_speed(value, "simulation")

    def resume_from(self, prices: Mapping[str, float]) -> None:
        """Continue from these prices (a saved account's last marks) instead of the reference
        levels, so reopening perpdesk does not jump every market back to where it started.
        Unknown symbols and prices that are not finite and positive are ignored."""
        for i, symbol in enumerate(self.symbols):
            price = prices.get(symbol)
            if isinstance(price, (int, float)) and math.isfinite(price) and price > 0:
                self._log_px[i] = math.log(price)
        self._rebase()

    def _rebase(self) -> None:
        """Hook for sources whose path is relative to the starting prices."""

    @property
    def prices(self) -> dict[str, float]:
        """Current (rounded) price of every symbol."""
        return dict(self._marks())

    @property
    def funding_rates(self) -> dict[str, float]:
        return dict(zip(self.symbols, self._rates, strict=True))

    def _marks(self) -> list[tuple[str, float]]:
        exp = math.exp
        return [
            (s, round(exp(lp), d))
            for s, lp, d in zip(self.symbols, self._log_px, self._decimals, strict=True)
        ]

    def _emit_state(self, out: list[Event]) -> None:
        mark, rate_kind = EventKind.MARK, EventKind.FUNDING_RATE
        out.append((EventKind.CLOCK, "", self._sim_time))
        out.extend([(mark, s, p) for s, p in self._marks()])
        out.extend([(rate_kind, s, r) for s, r in zip(self.symbols, self._rates, strict=True)])

    def snapshot(self) -> StepResult:
        result = StepResult()
        self._emit_state(result.events)
        self._add_books(result)
        return result

    def _liquidity(self) -> float:
        """Hook: a multiplier on every book's depth now (scenarios thin their books)."""
        return 1.0

    def _add_books(self, result: StepResult) -> None:
        maker = self._books
        if maker is None:
            return
        depth = self._liquidity()
        result.time = self._sim_time
        book = maker.book
        result.books = [
            (s, *book(s, price, stress.value, depth))
            for (s, price), stress in zip(self._marks(), self._stress, strict=True)
        ]

    @property
    def stress(self) -> dict[str, float]:
        """How far each mark has run in the last minute, in its normal standard deviations
        (tui/market/books.py, Stress): the books widen and thin with it."""
        return {s: st.value for s, st in zip(self.symbols, self._stress, strict=True)}

    def _advance(self, sim_dt: float, out: list[Event]) -> None:
        remaining = sim_dt
        while remaining > 0.0:
            to_hour = self._next_funding - self._sim_time
            if remaining >= to_hour - 1e-9:
                seg = to_hour
                remaining -= to_hour
                self._move(seg)
                self._sim_time = self._next_funding
                self._next_funding += HOUR_SECONDS
                self._emit_state(out)
                funding = EventKind.FUNDING
                out.extend(
                    [(funding, s, r) for s, r in zip(self.symbols, self._rates, strict=True)]
                )
            else:
                self._move(remaining)
                self._sim_time += remaining
                remaining = 0.0
                self._emit_state(out)
        for stress, log_px in zip(self._stress, self._log_px, strict=True):
            stress.update(log_px, sim_dt)

    @abstractmethod
    def _move(self, sim_dt: float) -> None:
        """Update ``_log_px`` and ``_rates`` over ``sim_dt`` seconds (``_sim_time`` is the
        segment's start)."""


class SimSource(WalkSource):
    """The default, offline price source: a seeded random walk (see module doc).

    ``step(dt)`` advances ``dt * speed`` seconds of sim time. Funding rates drift with each
    market's recent return and mean-revert to 0.00125 %/h, clamped to +-0.05 %/h; a payment is
    due at every whole sim hour. ``seed=None`` picks a random seed, kept in ``self.seed``.
    ``execution`` (``"frictionless"``, ``"realistic"``, ``"thin"``) says whether each step
    also carries an order book per market, and how deep (tui/market/books.py).
    """

    kind = "sim"
    name = "Simulation"

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        *,
        seed: int | None = None,
        speed: float = 1,
        tick_interval: float = DEFAULT_TICK,
        market_jumps_per_day: float = 1.0,
        idio_jumps_per_day: float = 0.5,
        execution: str = "frictionless",
    ) -> None:
        self.seed = resolve_seed(seed)
        jm = _check_number("market_jumps_per_day", market_jumps_per_day)
        ji = _check_number("idio_jumps_per_day", idio_jumps_per_day)
        if jm < 0 or ji < 0:
            raise ValueError("jump rates must not be negative")
        super().__init__(
            symbols,
            speed=speed,
            tick_interval=tick_interval,
            purpose="simulation",
            execution=execution,
            book_seed=self.seed,
        )
        self._rng = random.Random(self.seed)
        self._walk = CorrelatedWalk(
            self._params, self._rng, market_jumps_per_day=jm, idio_jumps_per_day=ji
        )
        # Start each market slightly off the resting rate so the board is not uniform.
        self._rates = [
            clamp_rate(BASE_FUNDING_RATE + self._rng.gauss(0.0, 0.000004)) for _ in self.symbols
        ]
        self._decay_per_second = math.log(2.0) / FUNDING_HALF_LIFE

    def _move(self, sim_dt: float) -> None:
        rets = self._walk.returns(sim_dt)
        keep = math.exp(-self._decay_per_second * sim_dt)
        log_px = self._log_px
        rates = self._rates
        for i, r in enumerate(rets):
            log_px[i] += r
            rate = BASE_FUNDING_RATE + (rates[i] - BASE_FUNDING_RATE) * keep
            rates[i] = clamp_rate(rate + FUNDING_SENSITIVITY * r)

    def _detail(self) -> str:
        return f"Simulated prices · seed {self.seed} · {self._speed:g}x"
