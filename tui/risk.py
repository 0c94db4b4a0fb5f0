"""Risk you can see: the shock ladder, the liquidation map, alerts and funding outlook (pure).

No Textual here, and no margin maths either: every figure is read from the engine, most of them
from a *copy* of it (``PaperEngine.from_state(engine.to_state(), ...)``) on which prices are
moved, so liquidations happen in the engine's own order under the engine's own (venue) rules.
The live engine is never changed.

* :func:`shock_ladder` - for moves of -30 % .. +30 % of one market, or of every market at once
  (each moved by its beta to BTC): each position's PnL, equity, the cross margin ratio, and
  which positions are liquidated on the way, in what order and with what outcome under the
  account's venue (a Binance forfeit; a Hyperliquid close at market with the rest returned,
  a 20 % slice that leaves the position open and smaller, or the backstop).
  :func:`compare_pending` runs it with and without an order (the confirmation screen).
* :func:`liquidation_map` - each position's liquidation price, distance in % and in daily
  standard deviations of its market, and how a cross position's liquidation price moves when
  another cross market moves.
* :func:`daily_sigma` / :func:`beta_to_btc` - estimated from the candles' closes in feed time.
* :class:`AlertTracker` - crossings of a cross margin ratio and a liquidation distance
  threshold, once per crossing, with hysteresis.
* :func:`funding_outlook` - countdown to the next funding payment and the cost of holding 24 h
  at the current rate, in money and as a move of the liquidation price.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tui.engine import (
    AccountView,
    Event,
    Fill,
    Liquidation,
    MarginMode,
    OrderEvent,
    OrderType,
    PaperEngine,
    PositionView,
    Side,
)
from tui.format import fmt_size
from tui.market.candles import Candle, CandleStore, interval_seconds

__all__ = [
    "BETA_REFERENCE",
    "COMPACT_MOVES",
    "DEFAULT_MOVES",
    "Alert",
    "AlertTracker",
    "BetaEstimate",
    "CrossLink",
    "FundingOutlook",
    "LadderFill",
    "LadderLiquidation",
    "LadderPosition",
    "LadderRow",
    "MapEntry",
    "PendingComparison",
    "ShockLadder",
    "Volatility",
    "beta_to_btc",
    "betas_to_btc",
    "chart_levels",
    "compare_pending",
    "copy_engine",
    "daily_sigma",
    "daily_sigmas",
    "funding_outlook",
    "liquidation_map",
    "market_order",
    "moves_between",
    "pending_order",
    "shock_ladder",
]

DAY = 86_400.0
HOUR = 3_600.0
BETA_REFERENCE = "BTC"
"""Every market's beta is measured against this one."""


def moves_between(limit: float, step: float) -> tuple[float, ...]:
    """``-limit .. +limit`` in steps of ``step`` (fractions), 0 included: ``(0.3, 0.01)`` gives
    the 61 moves of the full ladder. ``ValueError`` for a limit outside (0, 0.95] or a step
    that gives more than 121 moves."""
    if not (0.0 < limit <= 0.95) or not (0.0 < step <= limit):
        raise ValueError(f"moves need 0 < step <= limit <= 95 %, not limit {limit}, step {step}")
    n = round(limit / step)
    if n > 60:
        raise ValueError(f"at most 121 moves: a step of {step:.2%} to {limit:.0%} is too fine")
    return tuple(round(k * step, 10) for k in range(-n, n + 1))


DEFAULT_MOVES = moves_between(0.30, 0.01)
"""The full ladder: -30 % .. +30 % in steps of 1 % (61 rows)."""
COMPACT_MOVES = moves_between(0.30, 0.05)
"""The confirmation screen's ladder: -30 % .. +30 % in steps of 5 % (13 rows)."""
RESOLUTION = 0.0025
"""Prices walk to each step in sub-steps of at most 0.25 % of the mark (4 per 1 % step; 120
per direction for +-30 % whatever the step)."""
STEP_SECONDS = 60.0
"""Engine seconds each sub-step takes on the ladder's copies: longer than Hyperliquid's 30 s
cooldown after a partial liquidation, so a move walked at this pace is sliced again at each
new crossing (docs/risk.md, "The shock ladder")."""


# --------------------------------------------------------------------------- engine copies


def copy_engine(
    engine: PaperEngine, clock: Callable[[], float] = time.time, *, books: Iterable[str] = ()
) -> PaperEngine:
    """An independent copy of ``engine`` (positions, balances, marks, funding rates; under
    the orders work, resting orders too, as ``to_state`` carries them): what-ifs run on it.
    The order books of the markets in ``books`` come too, with the engine's reach into them
    (slippage limit, book age), so an order placed on the copy now fills as it would live;
    a shocked walk needs none (a book is far and stale once the mark has moved)."""
    copy = PaperEngine.from_state(engine.to_state(), engine.markets.values(), clock=clock)
    for name in engine.markets:
        rate = engine.funding_rate(name)
        if rate is not None:
            copy.set_funding_rate(name, rate)
    copy.set_execution(book_max_age=engine.book_max_age)
    for name in books:
        book = engine.book(name)
        if book is not None:
            copy.set_execution(slippage_limit=engine.slippage_limit(name), market=name)
            copy.set_book(name, book.bids, book.asks)  # taken now, at the copy's mark
    return copy


def market_order(
    market: str, side: Side | str, size: float, leverage: float, mode: MarginMode | str
) -> Callable[[PaperEngine], object]:
    """A pending market order as something :func:`compare_pending` can apply to a copy."""

    def apply(engine: PaperEngine) -> object:
        return engine.open(market, side, size, leverage, mode)

    return apply


def pending_order(
    market: str,
    side: Side | str,
    size: float,
    order_type: OrderType | str = OrderType.MARKET,
    **options: object,
) -> Callable[[PaperEngine], object]:
    """Any pending order (``PaperEngine.place_order``'s arguments: ``price``,
    ``trigger_price``, ``leverage``, ``mode``, ``take_profit``, ...) for :func:`compare_pending`:
    a resting one rests on the copy and fills there if the ladder's prices reach it."""

    def apply(engine: PaperEngine) -> object:
        return engine.place_order(market, side, size, order_type, **options)  # type: ignore[arg-type]

    return apply


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True, slots=True)
class Volatility:
    """A market's recent moves: ``daily`` standard deviation of log returns (a fraction, e.g.
    0.025 = 2.5 % a day) or ``None`` while fewer than ``min_returns`` returns are known."""

    daily: float | None
    returns: int
    seconds: float
    """Feed time the returns cover."""


def daily_sigma(candles: Sequence[Candle], *, min_returns: int = 10) -> Volatility:
    """Daily standard deviation of a market's moves, from candle closes in feed time.

    Rule: the log returns ``r_k = ln(close_k / close_{k-1})`` between consecutive candles
    (the last, still open, included), each over ``dt_k``, the feed time between the two closes'
    last marks. Variance per second is ``sum(r_k^2) / sum(dt_k)`` (no mean taken out: drift is
    negligible over minutes), scaled to a day: ``sigma_day = sqrt(sum(r_k^2) / sum(dt_k) *
    86,400)``. Sampling closes on a fixed feed-time grid (1 m candles, the store's last 240,
    so 4 h) makes the figure independent of how many ticks a feed sends and of its speed; a
    gap counts with its own length. ``None`` with fewer than ``min_returns`` returns.
    """
    total_sq = 0.0
    total_dt = 0.0
    n = 0
    prev: Candle | None = None
    for c in candles:
        if prev is not None and c.close > 0 and prev.close > 0 and c.last > prev.last:
            r = math.log(c.close / prev.close)
            total_sq += r * r
            total_dt += c.last - prev.last
            n += 1
        prev = c
    if n < min_returns or total_dt <= 0:
        return Volatility(None, n, total_dt)
    return Volatility(math.sqrt(total_sq / total_dt * DAY), n, total_dt)


def daily_sigmas(
    store: CandleStore, markets: Iterable[str], interval: str = "1m"
) -> dict[str, Volatility]:
    """:func:`daily_sigma` of each market from ``store``'s candles of ``interval``."""
    return {m: daily_sigma(store.candles(m, interval)) for m in markets}


@dataclass(frozen=True, slots=True)
class BetaEstimate:
    """``beta`` to BTC; ``pairs`` returns it rests on. ``estimated`` is False when there were
    too few (then ``beta`` is 1: the market is assumed to move with BTC)."""

    beta: float
    pairs: int
    estimated: bool


def beta_to_btc(
    candles: Sequence[Candle],
    btc: Sequence[Candle],
    *,
    interval: str | float = "1m",
    min_pairs: int = 20,
) -> BetaEstimate:
    """Beta of a market to BTC: ``cov(r, r_btc) / var(r_btc)`` over the returns of candles
    present in both series at the same two consecutive starts (feed time), so a gap in either
    skips that return rather than pairing different moments. Fewer than ``min_pairs`` pairs, or
    BTC flat: beta 1, not estimated."""
    step = interval_seconds(interval)
    closes = {c.start: c.close for c in candles}
    btc_closes = {c.start: c.close for c in btc}
    xs: list[float] = []
    ys: list[float] = []
    for start, close in closes.items():
        before = start - step
        if before in closes and start in btc_closes and before in btc_closes:
            xs.append(math.log(btc_closes[start] / btc_closes[before]))
            ys.append(math.log(close / closes[before]))
    n = len(xs)
    if n < min_pairs:
        return BetaEstimate(1.0, n, False)
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    var = math.fsum((x - mx) ** 2 for x in xs)
    if var <= 0:
        return BetaEstimate(1.0, n, False)
    cov = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return BetaEstimate(cov / var, n, True)


def betas_to_btc(
    store: CandleStore, markets: Iterable[str], interval: str = "1m"
) -> dict[str, BetaEstimate]:
    """:func:`beta_to_btc` of each market from ``store`` (BTC itself: exactly 1)."""
    btc = store.candles(BETA_REFERENCE, interval)
    out: dict[str, BetaEstimate] = {}
    for m in markets:
        if m == BETA_REFERENCE:
            out[m] = BetaEstimate(1.0, max(len(btc) - 1, 0), True)
        else:
            out[m] = beta_to_btc(store.candles(m, interval), btc, interval=interval)
    return out


# --------------------------------------------------------------------------- shock ladder


@dataclass(frozen=True, slots=True)
class LadderPosition:
    """A position at one step of the ladder.

    While open: ``size`` is what is left of it (smaller once a Hyperliquid partial liquidation
    has taken slices) and ``pnl`` its unrealized PnL at ``mark``. Once gone on the way
    (``liquidated`` whole, or ``closed`` by one of its orders: a stop-loss, a take-profit, a
    reduce-only limit): ``size`` is 0, ``mark`` the price then and ``pnl`` everything the walk
    realized on it. ``realized`` is the PnL realized on the way so far: partial liquidation
    slices, reducing fills, and at the end the close or liquidation. ``liquidation`` is the
    outcome of the last liquidation that touched it on the way (``Liquidation.outcome``:
    ``"partial"`` for a slice, ``"market"``, ``"backstop"`` or ``"forfeit"``), ``None`` if
    none did."""

    market: str
    side: Side
    mode: MarginMode
    mark: float
    pnl: float
    liquidated: bool
    closed: bool = False
    size: float = 0.0
    realized: float = 0.0
    liquidation: str | None = None

    @property
    def open(self) -> bool:
        return not (self.liquidated or self.closed)

    @property
    def sliced(self) -> bool:
        """Still open, smaller, after a partial liquidation."""
        return self.open and self.liquidation == "partial"


@dataclass(frozen=True, slots=True)
class LadderLiquidation:
    """A liquidation met on the way out from the current prices: the engine's
    :class:`~tui.engine.Liquidation`, placed on the ladder. ``order`` counts from 1 in each
    direction; positions of one cross liquidation share ``group`` (they go together). A
    Hyperliquid partial liquidation is one entry per slice (``outcome`` ``"partial"``,
    ``remaining_size`` left open)."""

    order: int
    move: float
    """The move (of the shocked market, before any beta) at which it happened."""
    market: str
    side: Side
    mode: MarginMode
    mark: float
    realized_pnl: float
    margin_lost: float
    group: int
    outcome: str
    """The venue's outcome: ``"market"`` (closed, the rest returned), ``"partial"`` (a 20 %
    slice), ``"backstop"`` (position and margin taken), ``"forfeit"`` (Binance)."""
    size: float
    """The size closed."""
    remaining_size: float
    """The size left open (0 unless ``"partial"``)."""
    returned: float
    """What stayed with the trader (``Liquidation.returned``)."""

    @property
    def partial(self) -> bool:
        return self.remaining_size > 0.0


@dataclass(frozen=True, slots=True)
class LadderFill:
    """A resting order (a stop-loss, a take-profit, a limit) that filled on the way."""

    move: float
    order_id: int
    market: str
    side: Side
    order_type: OrderType
    tpsl: str | None
    size: float
    price: float


@dataclass(frozen=True, slots=True)
class LadderRow:
    move: float
    marks: dict[str, float]
    """The shocked marks of the markets moved."""
    positions: tuple[LadderPosition, ...]
    equity: float
    equity_change: float
    margin_ratio: float
    liquidations: tuple[LadderLiquidation, ...]
    """Those that happened between the previous row (nearer 0) and this one, in order."""
    fills: tuple[LadderFill, ...] = ()
    """Resting orders that filled between the previous row and this one, in order."""

    @property
    def liquidated(self) -> tuple[str, ...]:
        """Markets whose positions a liquidation took whole by this step (a position sliced by
        a partial liquidation is still open, smaller)."""
        return tuple(p.market for p in self.positions if p.liquidated)


@dataclass(frozen=True, slots=True)
class ShockLadder:
    """Rows from the largest fall to the largest rise. ``market`` is the market shocked, or
    ``None`` when every market moved with its ``betas`` entry."""

    market: str | None
    betas: dict[str, float]
    rows: tuple[LadderRow, ...]
    equity_now: float

    def row(self, move: float) -> LadderRow:
        """The row nearest ``move``."""
        return min(self.rows, key=lambda r: abs(r.move - move))

    @property
    def liquidations(self) -> tuple[LadderLiquidation, ...]:
        """Every liquidation, falls first (in the order they happen as prices fall), then
        rises; each partial slice is one entry."""
        down = [lq for r in reversed(self.rows) if r.move < 0 for lq in r.liquidations]
        down.sort(key=lambda lq: lq.order)
        up = [lq for r in self.rows if r.move > 0 for lq in r.liquidations]
        return (*down, *up)


def _check_moves(moves: Sequence[float]) -> tuple[float, ...]:
    out = []
    for m in moves:
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m):
            raise ValueError(f"a move must be a finite fraction, not {m!r}")
        if not -0.95 <= m <= 10.0:
            raise ValueError(f"a move must be between -95 % and +1000 %, not {m:.0%}")
        out.append(float(m))
    if not out or len(out) > 121:
        raise ValueError("a ladder needs between 1 and 121 moves")
    return tuple(sorted(set(out)))


def shock_ladder(
    engine: PaperEngine,
    *,
    market: str | None = None,
    betas: Mapping[str, float] | None = None,
    moves: Sequence[float] = DEFAULT_MOVES,
    clock: Callable[[], float] = time.time,
    step_seconds: float = STEP_SECONDS,
) -> ShockLadder:
    """What each move of prices would do to the account (see the module doc).

    ``market``: shock that market alone. ``None``: shock every market with a position or an open
    order, each by ``betas[m] * move`` (missing: 1). The moves are replayed on copies of the
    engine, walking each market's mark from its current value towards the shocked value in
    sub-steps of at most 0.25 %, out from 0 in each direction, so a liquidation on the way
    happens when and as the engine makes it happen under the account's venue (a Binance
    forfeit, a Hyperliquid close at market, partial slice or backstop), and the positions left
    carry on. A market's shocked price never goes below 1 % of its mark. Resting orders on the
    copy (stop-losses, take-profits, limits) fill when the walk reaches them, as they would.

    The copies' clock starts at ``clock()`` and each sub-step takes ``step_seconds`` of it: the
    default (60 s) is longer than Hyperliquid's 30 s cooldown, so a large position is sliced
    again at each new crossing; 0 walks a crash inside the cooldown, where a second liquidation
    takes the whole position. Cost: two copies of the engine plus, per sub-step, one mark per
    moved market (``set_mark`` costs the same whatever the number of positions), and one read
    of every position per row.

    Raises ``ValueError`` (with a message) for an unknown market, a market without a mark,
    moves that are not finite fractions, or a negative or non-finite ``step_seconds``.
    """
    shocked_moves = _check_moves(moves)
    if (
        isinstance(step_seconds, bool)
        or not isinstance(step_seconds, int | float)
        or not math.isfinite(step_seconds)
        or step_seconds < 0
    ):
        raise ValueError(f"step_seconds must be a finite number >= 0, not {step_seconds!r}")
    if market is not None:
        name = engine.market(market).name  # unknown market: InvalidInput (a ValueError)
        if engine.mark(name) is None:
            raise ValueError(f"{name} has no price yet: there is nothing to shock")
        moved = {name: 1.0}
    else:
        moved = {p.market: 1.0 for p in engine.positions()}
        moved.update((o.market, 1.0) for o in engine.open_orders() if o.market not in moved)
        for m in moved:
            beta = (betas or {}).get(m, 1.0)
            if isinstance(beta, bool) or not isinstance(beta, int | float):
                raise ValueError(f"the beta of {m} must be a number, not {beta!r}")
            moved[m] = float(beta) if math.isfinite(beta) else 1.0
    start = {m: engine.mark(m) or 0.0 for m in moved}
    equity_now = engine.account.equity
    order_now = [p.market for p in engine.positions()]
    began = clock()

    rows: dict[float, LadderRow] = {}
    if 0.0 in shocked_moves:
        rows[0.0] = _read(engine, 0.0, start, equity_now, order_now, _Walk())
    for direction in (-1, 1):
        path = [m for m in shocked_moves if m * direction > 0]
        path.sort(key=abs)
        if not path:
            continue
        walk_clock = _WalkClock(began)
        copy = copy_engine(engine, walk_clock)
        events: list[Event] = []
        copy.listeners.append(events.append)
        walk = _Walk()
        order = list(order_now)
        count = 0
        previous = 0.0
        for move in path:
            span = abs(move - previous) / RESOLUTION
            substeps = max(1, math.ceil(span - 1e-9))  # 1 % -> 4 (not 5 from float noise)
            found: list[LadderLiquidation] = []
            fills: list[LadderFill] = []
            for k in range(1, substeps + 1):
                at = previous + (move - previous) * k / substeps
                walk_clock.now += step_seconds
                for m, beta in moved.items():
                    copy.set_mark(m, start[m] * max(0.01, 1.0 + beta * at))
                for event in events:
                    if isinstance(event, Liquidation):
                        count += 1
                        found.append(_liquidation(event, count, at))
                        walk.liquidated(event)
                    elif isinstance(event, OrderEvent) and event.action == "filled":
                        fills.append(_fill(event, at))
                    elif isinstance(event, Fill):
                        walk.filled(event)
                        if event.market not in order:
                            order.append(event.market)  # a resting order opened a position
                events.clear()
            marks = {m: start[m] * max(0.01, 1.0 + b * move) for m, b in moved.items()}
            row = _read(copy, move, marks, equity_now, order, walk, tuple(found), tuple(fills))
            rows[move] = row
            previous = move
    return ShockLadder(
        market=next(iter(moved)) if market is not None else None,
        betas=dict(moved),
        rows=tuple(rows[m] for m in sorted(rows)),
        equity_now=equity_now,
    )


class _WalkClock:
    """The engine clock of a ladder copy: moved on by the walk, one sub-step at a time."""

    __slots__ = ("now",)

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(slots=True)
class _Walk:
    """What one direction of the walk has done to each market's position so far."""

    realized: dict[str, float] = field(default_factory=dict)
    outcome: dict[str, str] = field(default_factory=dict)
    gone: dict[str, LadderPosition] = field(default_factory=dict)

    def liquidated(self, event: Liquidation) -> None:
        name = event.market
        total = self.realized.get(name, 0.0) + event.realized_pnl
        self.realized[name] = total
        self.outcome[name] = event.outcome
        if event.remaining_size > 0.0:
            return  # a partial slice: the rest stays open (read live)
        self.gone[name] = LadderPosition(
            name,
            event.side,
            event.mode,
            event.mark_price,
            total,
            True,
            realized=total,
            liquidation=event.outcome,
        )

    def filled(self, event: Fill) -> None:
        name = event.market
        if event.kind == "open":  # a new position: nothing of the old one carries over
            self.realized.pop(name, None)
            self.outcome.pop(name, None)
            self.gone.pop(name, None)
            return
        if event.kind not in ("reduce", "close"):
            return
        total = self.realized.get(name, 0.0) + event.realized_pnl
        self.realized[name] = total
        if event.kind == "close":
            self.gone[name] = LadderPosition(
                name,
                event.side.opposite,
                event.mode,
                event.price,
                total,
                False,
                closed=True,
                realized=total,
                liquidation=self.outcome.get(name),
            )


def _fill(event: OrderEvent, move: float) -> LadderFill:
    return LadderFill(
        move=move,
        order_id=event.order_id,
        market=event.market,
        side=event.side,
        order_type=event.order_type,
        tpsl=event.tpsl,
        size=event.filled_size,
        price=event.fill_price if event.fill_price is not None else math.nan,
    )


def _liquidation(event: Liquidation, order: int, move: float) -> LadderLiquidation:
    return LadderLiquidation(
        order=order,
        move=move,
        market=event.market,
        side=event.side,
        mode=event.mode,
        mark=event.mark_price,
        realized_pnl=event.realized_pnl,
        margin_lost=event.margin_lost,
        group=event.group,
        outcome=event.outcome,
        size=event.size,
        remaining_size=event.remaining_size,
        returned=event.returned,
    )


def _read(
    engine: PaperEngine,
    move: float,
    marks: dict[str, float],
    equity_now: float,
    order: list[str],
    walk: _Walk,
    found: tuple[LadderLiquidation, ...] = (),
    fills: tuple[LadderFill, ...] = (),
) -> LadderRow:
    account = engine.account
    live = {p.market: p for p in engine.positions()}
    positions: list[LadderPosition] = []
    for name in order:
        view = live.get(name)
        if view is not None:
            positions.append(
                LadderPosition(
                    name,
                    view.side,
                    view.mode,
                    view.mark_price,
                    view.unrealized_pnl,
                    False,
                    size=view.size,
                    realized=walk.realized.get(name, 0.0),
                    liquidation=walk.outcome.get(name),
                )
            )
        elif name in walk.gone:
            positions.append(walk.gone[name])
    return LadderRow(
        move=move,
        marks=marks,
        positions=tuple(positions),
        equity=account.equity,
        equity_change=account.equity - equity_now,
        margin_ratio=account.margin_ratio,
        liquidations=found,
        fills=fills,
    )


@dataclass(frozen=True, slots=True)
class PendingComparison:
    """The ladder without and with a pending order; ``with_order`` is ``None`` and
    ``rejection`` says why when the engine would refuse the order."""

    without: ShockLadder
    with_order: ShockLadder | None
    rejection: str | None


def compare_pending(
    engine: PaperEngine,
    apply: Callable[[PaperEngine], object],
    *,
    market: str | None = None,
    betas: Mapping[str, float] | None = None,
    moves: Sequence[float] = COMPACT_MOVES,
    clock: Callable[[], float] = time.time,
    step_seconds: float = STEP_SECONDS,
    books: Iterable[str] = (),
) -> PendingComparison:
    """:func:`shock_ladder` of the account as it is, and as it would be once ``apply`` (e.g.
    :func:`market_order`) placed the pending order on a copy. The live engine is untouched.
    ``books``: the markets whose order books the order fills against (the order's own), as
    the confirmation screen prices it."""

    def ladder(of: PaperEngine) -> ShockLadder:
        return shock_ladder(
            of, market=market, betas=betas, moves=moves, clock=clock, step_seconds=step_seconds
        )

    without = ladder(engine)
    copy = copy_engine(engine, clock, books=books)
    try:
        apply(copy)
    except ValueError as exc:  # OrderRejected and InvalidInput are ValueErrors
        return PendingComparison(without, None, str(exc))
    with_order = ladder(copy)
    return PendingComparison(without, with_order, None)


def chart_levels(engine: PaperEngine, market: str) -> list[tuple[str, float, str]]:
    """The lines :class:`tui.widgets.chart.PriceChart` draws for ``market``, as ``(label,
    price, kind)``: the position's entry (``entry``) and liquidation price (``liq``), its
    take-profit (``tp``) and stop-loss (``sl``), and every other open order at its limit price
    or trigger (``order``, labelled ``Buy 0.1``, ``Stop sell 0.1``, ``Take sell 0.1``)."""
    name = engine.market(market).name
    levels: list[tuple[str, float, str]] = []
    pos = engine.position(name)
    if pos is not None:
        levels.append(("Entry", pos.entry_price, "entry"))
        if pos.liquidation_price is not None:
            levels.append(("Liq", pos.liquidation_price, "liq"))
    prefix = {OrderType.STOP_MARKET: "Stop ", OrderType.TAKE_PROFIT_MARKET: "Take "}
    for order in engine.open_orders(name):
        level = order.level
        if not math.isfinite(level):
            continue
        if order.tpsl == "tp":
            levels.append(("TP", level, "tp"))
        elif order.tpsl == "sl":
            levels.append(("SL", level, "sl"))
        else:
            verb = "buy" if order.side is Side.LONG else "sell"
            word = prefix.get(order.order_type, "") + verb
            label = f"{word[0].upper()}{word[1:]} {fmt_size(order.size, level)}"
            levels.append((label, level, "order"))
    return levels


# --------------------------------------------------------------------------- liquidation map


@dataclass(frozen=True, slots=True)
class CrossLink:
    """How this cross position's liquidation price moves when ``market`` (another cross
    position's market) rises 1 %: ``change`` in price, ``change_pct`` as a fraction of this
    position's mark. ``None``: that move would liquidate the cross account."""

    market: str
    change: float | None
    change_pct: float | None


@dataclass(frozen=True, slots=True)
class MapEntry:
    market: str
    side: Side
    mode: MarginMode
    mark: float
    liquidation_price: float | None
    distance: float | None
    """How far the mark may move against the position before liquidation (fraction)."""
    daily_sigma: float | None
    sigmas: float | None
    """``distance / daily_sigma``: "1.3 sigma away"."""
    links: tuple[CrossLink, ...] = field(default_factory=tuple)


BUMP = 0.001
"""The move used to measure cross links: 0.1 %, scaled to 1 % (cross liquidation prices are
linear in the other marks between tier edges)."""


def liquidation_map(
    engine: PaperEngine,
    volatility: Mapping[str, Volatility] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> list[MapEntry]:
    """Every open position's liquidation price and how far away it is, in % and in daily
    standard deviations of its market (``volatility``, e.g. from :func:`daily_sigmas`), with,
    for cross positions, how their liquidation price moves per +1 % of each other cross
    market (measured by bumping that mark 0.1 % on a copy of the engine)."""
    views = engine.positions()
    cross = [p for p in views if p.mode is MarginMode.CROSS]
    links: dict[str, list[CrossLink]] = {p.market: [] for p in cross}
    if len(cross) > 1:
        for other in cross:
            copy = copy_engine(engine, clock)
            events: list[Event] = []
            copy.listeners.append(events.append)
            copy.set_mark(other.market, other.mark_price * (1.0 + BUMP))
            liquidated = any(isinstance(e, Liquidation) for e in events)
            for p in cross:
                if p.market == other.market:
                    continue
                after = None if liquidated else copy.position(p.market)
                if after is None or after.liquidation_price is None or p.liquidation_price is None:
                    links[p.market].append(CrossLink(other.market, None, None))
                    continue
                change = (after.liquidation_price - p.liquidation_price) / (BUMP * 100)
                links[p.market].append(CrossLink(other.market, change, change / p.mark_price))
    out: list[MapEntry] = []
    for p in views:
        vol = (volatility or {}).get(p.market)
        sigma = vol.daily if vol is not None else None
        distance = p.liquidation_distance
        sigmas = distance / sigma if distance is not None and sigma else None
        out.append(
            MapEntry(
                market=p.market,
                side=p.side,
                mode=p.mode,
                mark=p.mark_price,
                liquidation_price=p.liquidation_price,
                distance=distance,
                daily_sigma=sigma,
                sigmas=sigmas,
                links=tuple(links.get(p.market, ())),
            )
        )
    return out


# --------------------------------------------------------------------------- alerts

AlertKind = Literal["margin_ratio", "liquidation_distance"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One threshold crossed. ``market`` is ``None`` for the cross margin ratio."""

    kind: AlertKind
    market: str | None
    value: float
    threshold: float
    message: str


@dataclass(slots=True)
class _Watch:
    armed: bool = True
    alert: Alert | None = None


class AlertTracker:
    """Reports threshold crossings once each, from account and position views (call
    :meth:`update` on every heartbeat; it keeps no history beyond one flag per position).

    * Cross margin ratio: alert when it reaches ``ratio_threshold`` (default 80 %); armed again
      once it falls below ``ratio_threshold - ratio_hysteresis`` (default 5 points: 75 %).
    * Liquidation distance of each position: alert when it falls to ``distance_threshold``
      (default 2 %) or below; armed again once it is above ``distance_threshold *
      (1 + distance_hysteresis)`` (default a quarter more: 2.5 %). A position closed and
      opened again is a new one (armed).

    Hysteresis keeps a ratio hovering at 80 % from alerting on every tick. :attr:`active`
    lists the conditions in force (crossed and not yet re-armed), for a standing banner.
    """

    def __init__(
        self,
        ratio_threshold: float = 0.80,
        distance_threshold: float = 0.02,
        *,
        ratio_hysteresis: float = 0.05,
        distance_hysteresis: float = 0.25,
    ) -> None:
        for name, value, allow_zero, high in (
            ("ratio_threshold", ratio_threshold, False, 1.0),
            ("distance_threshold", distance_threshold, False, 1.0),
            ("ratio_hysteresis", ratio_hysteresis, True, 1.0),
            ("distance_hysteresis", distance_hysteresis, True, 10.0),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if not (0.0 <= value <= high) or (value == 0.0 and not allow_zero):
                least = "0" if allow_zero else "above 0"
                raise ValueError(f"{name} must be {least} and at most {high:g}, not {value}")
        self.ratio_threshold = float(ratio_threshold)
        self.ratio_rearm = self.ratio_threshold - float(ratio_hysteresis)
        self.distance_threshold = float(distance_threshold)
        self.distance_rearm = self.distance_threshold * (1.0 + float(distance_hysteresis))
        self._ratio = _Watch()
        self._positions: dict[tuple[str, float], _Watch] = {}

    @property
    def active(self) -> list[Alert]:
        """Conditions in force now (the last alert of each), margin ratio first."""
        out = [self._ratio.alert] if self._ratio.alert is not None else []
        out.extend(w.alert for w in self._positions.values() if w.alert is not None)
        return out

    def update(self, account: AccountView, positions: Sequence[PositionView]) -> list[Alert]:
        """New crossings since the last call (each reported once)."""
        new: list[Alert] = []
        ratio = account.margin_ratio
        watch = self._ratio
        if watch.armed and ratio >= self.ratio_threshold:
            shown = "over 1,000 %" if not math.isfinite(ratio) or ratio > 10 else f"{ratio:.1%}"
            watch.alert = Alert(
                "margin_ratio",
                None,
                ratio,
                self.ratio_threshold,
                f"Cross margin ratio {shown}: at 100 % every cross position is liquidated "
                f"(alert at {self.ratio_threshold:.0%}).",
            )
            watch.armed = False
            new.append(watch.alert)
        elif not watch.armed and ratio < self.ratio_rearm:
            watch.armed, watch.alert = True, None
        seen: set[tuple[str, float]] = set()
        for p in positions:
            key = (p.market, p.opened_at)
            seen.add(key)
            w = self._positions.setdefault(key, _Watch())
            distance = p.liquidation_distance
            if distance is None or not math.isfinite(distance):
                if not w.armed:
                    w.armed, w.alert = True, None
                continue
            if w.armed and distance <= self.distance_threshold:
                w.alert = Alert(
                    "liquidation_distance",
                    p.market,
                    distance,
                    self.distance_threshold,
                    f"{p.market} {p.mode.label.lower()} {p.side.value} is {distance:.2%} from "
                    f"liquidation (alert at {self.distance_threshold:.1%}).",
                )
                w.armed = False
                new.append(w.alert)
            elif not w.armed and distance > self.distance_rearm:
                w.armed, w.alert = True, None
        for key in [k for k in self._positions if k not in seen]:
            del self._positions[key]  # closed or liquidated: forget it
        return new


# --------------------------------------------------------------------------- funding


@dataclass(frozen=True, slots=True)
class FundingOutlook:
    """One position's funding. ``rate`` per hour (``None``: no rate known yet, and then no
    projection). ``next_in`` seconds of feed time to the next payment. ``cost_24h`` is what
    holding 24 h at this rate and mark would pay (negative: receive). ``liquidation_after``
    is the position's liquidation price after those 24 h of funding (every position's, since
    cross payments come out of the shared balance); ``liquidated_by_funding`` is True when
    the payments alone would liquidate it."""

    market: str
    side: Side
    mode: MarginMode
    rate: float | None
    interval_hours: float
    next_in: float
    cost_24h: float | None
    liquidation_now: float | None
    liquidation_after: float | None
    liquidated_by_funding: bool

    @property
    def liquidation_move(self) -> float | None:
        """How far 24 h of funding moves the liquidation price (price units)."""
        if self.liquidation_now is None or self.liquidation_after is None:
            return None
        return self.liquidation_after - self.liquidation_now


def funding_outlook(
    engine: PaperEngine,
    feed_time: float,
    *,
    hours: float = 24.0,
    clock: Callable[[], float] = time.time,
    markets: Iterable[str] | None = None,
) -> list[FundingOutlook]:
    """Funding for every open position at the current rates and marks (see
    :class:`FundingOutlook`). ``feed_time`` is the feed's clock now (payments fall on whole
    multiples of the interval: hours of sim time for the simulation, UTC hours for live
    feeds). The projection pays ``hours / interval`` payments on a copy of the engine with the
    engine's own ``apply_funding``, so caps and intervals are the venue's. ``markets``: only
    the positions in these markets (their payments alone: a cross position's liquidation price
    after them then leaves out the other cross positions' funding); ``None``: every position,
    all paying on one copy."""
    if isinstance(feed_time, bool) or not isinstance(feed_time, int | float):
        raise ValueError(f"feed time must be a number, not {feed_time!r}")
    if not math.isfinite(feed_time):
        raise ValueError(f"feed time must be finite, not {feed_time!r}")
    views = engine.positions()
    if markets is not None:
        wanted = set(markets)
        views = [p for p in views if p.market in wanted]
    copy = copy_engine(engine, clock)
    costs: dict[str, float] = {}
    intervals = {p.market: engine.funding_interval_hours(p.market) for p in views}
    for p in views:
        rate = engine.funding_rate(p.market)
        if rate is None:
            continue
        payments = max(1, round(hours / intervals[p.market]))
        total = 0.0
        for _ in range(payments):
            if copy.position(p.market) is None:
                break  # liquidated by funding on the way
            total += copy.apply_funding(p.market, rate)
        costs[p.market] = total
    out: list[FundingOutlook] = []
    for p in views:
        iv = intervals[p.market] * HOUR
        next_in = (math.floor(feed_time / iv) + 1.0) * iv - feed_time
        after = copy.position(p.market)
        out.append(
            FundingOutlook(
                market=p.market,
                side=p.side,
                mode=p.mode,
                rate=engine.funding_rate(p.market),
                interval_hours=intervals[p.market],
                next_in=next_in,
                cost_24h=costs.get(p.market),
                liquidation_now=p.liquidation_price,
                liquidation_after=None if after is None else after.liquidation_price,
                liquidated_by_funding=after is None,
            )
        )
    return out
