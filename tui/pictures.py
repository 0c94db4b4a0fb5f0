"""Pictures of a season (issue 15, item 5), pure: the equity curve with its drawdown, and each
liquidation's post-mortem path. No UI: :mod:`tui.widgets.pictures` draws what these hold.

- :class:`TimeBuckets`: values over time in at most ``capacity`` buckets of one span; when a
  value falls past the last bucket the span doubles and neighbours merge, so memory stays
  bounded and each value costs the same (amortised) however long the series runs. A bucket is
  a :class:`~tui.market.candles.Candle`: its first, highest, lowest and last value.
- :class:`EquityCurve`: the engine's records folded in order into the season's realized
  equity (the money the account holds with no position open: the starting balance plus
  realized PnL, less fees, net funding and what liquidations forfeited; margin transfers and
  order records move none), its running peak and drawdown, exactly as they happen (the
  largest drawdown is kept exactly, not read off the buckets). Fed record by record (a worker
  streaming the journal, oldest first), it never holds more than its buckets.
- :class:`TraceBook`: samples every open position (mark, liquidation price, margin ratio) on
  the heartbeat; when a position is liquidated its path up to that moment becomes a
  :class:`LiquidationPicture`, the last :data:`KEEP_PICTURES` of them kept by the
  liquidation's record number. The margin ratio is the account's cross margin ratio for a
  cross position and the position's own ``maintenance / (margin + unrealized PnL)`` for an
  isolated one (the engine's :func:`~tui.engine.margin.margin_ratio`; liquidation at 100 %).

Times are the engine's clock (the records' own ``time``), so a picture lines up with the
records it explains.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tui.engine import AccountView, MarginMode, PositionView
from tui.engine import margin as mg
from tui.engine.models import Event, Fill, FundingPayment, Liquidation
from tui.market.candles import Candle

__all__ = [
    "KEEP_PICTURES",
    "RATIO_CAP",
    "EquityCurve",
    "LiquidationPicture",
    "TimeBuckets",
    "TraceBook",
    "balance_change",
    "equity_curve",
    "position_ratio",
]

KEEP_PICTURES = 20
"""Liquidation pictures kept (the newest)."""

RATIO_CAP = 10.0
"""A margin ratio beyond this (1,000 %, or no account value left) is kept as this."""


# --------------------------------------------------------------------------- buckets


class TimeBuckets:
    """Values over time, bounded (see the module doc).

    Bucket ``k`` covers ``[t0 + k * span, t0 + (k + 1) * span)``. ``span`` starts at
    ``first_span`` seconds and doubles whenever a value falls at or past bucket ``capacity``;
    two series built with the same ``t0``, ``capacity`` and ``first_span`` and fed the same
    times keep the same bucket edges. A time before ``t0`` counts at ``t0``; one before the
    last bucket (a clock stepped back) joins the last bucket. A value that is not a finite
    number is ignored (``add`` returns ``False``).
    """

    __slots__ = ("_buckets", "capacity", "span", "t0")

    def __init__(self, t0: float, *, capacity: int = 256, first_span: float = 1.0) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 2:
            raise ValueError(f"capacity must be a whole number of buckets >= 2, not {capacity!r}")
        if not (math.isfinite(t0) and math.isfinite(first_span) and first_span > 0):
            raise ValueError("t0 and first_span must be finite numbers (first_span above 0)")
        self.t0 = float(t0)
        self.capacity = capacity
        self.span = float(first_span)
        self._buckets: list[list[float]] = []  # [index, first, high, low, last, last time]

    def add(self, time: float, value: float) -> bool:
        if not (math.isfinite(value) and math.isfinite(time)):
            return False
        index = math.floor(max(0.0, time - self.t0) / self.span)
        while index >= self.capacity:
            self._halve()
            index //= 2
        buckets = self._buckets
        last = buckets[-1] if buckets else None
        if last is not None and index <= last[0]:
            if value > last[2]:
                last[2] = value
            if value < last[3]:
                last[3] = value
            last[4] = value
            last[5] = max(last[5], time)
        else:
            buckets.append([index, value, value, value, value, time])
        return True

    def _halve(self) -> None:
        """Double the span: buckets ``2k`` and ``2k + 1`` become bucket ``k``."""
        self.span *= 2
        merged: list[list[float]] = []
        for b in self._buckets:
            k = b[0] // 2
            if merged and merged[-1][0] == k:
                m = merged[-1]
                m[2] = max(m[2], b[2])
                m[3] = min(m[3], b[3])
                m[4] = b[4]
                m[5] = b[5]
            else:
                merged.append([k, *b[1:]])
        self._buckets = merged

    def __len__(self) -> int:
        return len(self._buckets)

    def candles(self) -> tuple[Candle, ...]:
        """The buckets, oldest first, each as a candle starting at its edge."""
        t0, span = self.t0, self.span
        return tuple(Candle(t0 + b[0] * span, b[1], b[2], b[3], b[4], b[5]) for b in self._buckets)

    @property
    def last(self) -> float | None:
        """The last value added (``None`` before any)."""
        return self._buckets[-1][4] if self._buckets else None


# --------------------------------------------------------------------------- equity


def balance_change(event: Event) -> float:
    """What one record did to the realized equity: a fill its realized PnL less its fee, a
    liquidation its realized PnL less what it forfeited, a funding payment minus the payment
    (a payment received is negative); a margin transfer or an order record nothing."""
    if isinstance(event, Fill):
        return event.realized_pnl - event.fee
    if isinstance(event, Liquidation):
        return event.realized_pnl - event.forfeited
    if isinstance(event, FundingPayment):
        return -event.payment
    return 0.0


class EquityCurve:
    """The season's realized equity and drawdown, record by record (see the module doc).

    ``drawdown`` at any moment is ``peak - equity`` (money) with ``peak`` the highest equity
    so far (the starting balance included); :attr:`max_drawdown` the largest of them and
    :attr:`max_drawdown_share` that as a share of the peak it fell from.
    """

    def __init__(self, start_balance: float, start_time: float, *, capacity: int = 512) -> None:
        if not (math.isfinite(start_balance) and math.isfinite(start_time)):
            raise ValueError("the starting balance and time must be finite numbers")
        self.start_balance = float(start_balance)
        self.start_time = float(start_time)
        self.equity = self.start_balance
        self.peak = self.start_balance
        self.max_drawdown = 0.0
        self.max_drawdown_share = 0.0
        self.max_drawdown_at: float | None = None
        """When the largest drawdown was reached (``None``: never below a peak)."""
        self.records = 0
        """Records that moved the equity."""
        self.series = TimeBuckets(start_time, capacity=capacity)
        """The equity over time."""
        self.drawdowns = TimeBuckets(start_time, capacity=capacity)
        """The drawdown (money, >= 0) over time: a bucket's high is its worst."""
        self.series.add(start_time, self.start_balance)
        self.drawdowns.add(start_time, 0.0)

    def feed(self, event: Event) -> None:
        """Fold one record in (records must come oldest first)."""
        change = balance_change(event)
        if change == 0.0 or not math.isfinite(change):
            return
        self.records += 1
        self.equity += change
        if self.equity > self.peak:
            self.peak = self.equity
        drawdown = self.peak - self.equity
        if drawdown > self.max_drawdown:
            self.max_drawdown = drawdown
            self.max_drawdown_share = drawdown / self.peak if self.peak > 0 else 0.0
            self.max_drawdown_at = event.time
        self.series.add(event.time, self.equity)
        self.drawdowns.add(event.time, drawdown)

    @property
    def drawdown(self) -> float:
        """How far the equity is below its peak now (money)."""
        return self.peak - self.equity


def equity_curve(
    events: Iterable[Event], start_balance: float, start_time: float, *, capacity: int = 512
) -> EquityCurve:
    """:class:`EquityCurve` of ``events`` (oldest first; a stream is read once, never held)."""
    curve = EquityCurve(start_balance, start_time, capacity=capacity)
    for event in events:
        curve.feed(event)
    return curve


# --------------------------------------------------------------------------- post-mortems


@dataclass(frozen=True, slots=True)
class LiquidationPicture:
    """One liquidation and the path that led to it, from the first heartbeat that saw the
    position (its opening, or the launch) to the liquidation itself (the last mark is the
    liquidation's own). ``marks``, ``liquidation_prices`` and ``ratios`` share their bucket
    edges; a bucket with no liquidation price (none could be reached then) is missing from
    ``liquidation_prices``."""

    liquidation: Liquidation
    marks: tuple[Candle, ...]
    liquidation_prices: tuple[Candle, ...]
    ratios: tuple[Candle, ...]

    @property
    def liquidation_price(self) -> float | None:
        """The liquidation price last seen before the liquidation."""
        return self.liquidation_prices[-1].close if self.liquidation_prices else None

    @property
    def peak_ratio(self) -> float:
        """The highest margin ratio on the way."""
        return max((c.high for c in self.ratios), default=0.0)

    @property
    def ratio_name(self) -> str:
        """Whose margin ratio ``ratios`` is: the cross account's or the position's own."""
        return "cross" if self.liquidation.mode is MarginMode.CROSS else "position"


def position_ratio(p: PositionView, account: AccountView) -> float:
    """The margin ratio that liquidates ``p`` at 100 % (see the module doc), capped."""
    if p.mode is MarginMode.CROSS:
        ratio = account.margin_ratio
    else:
        ratio = mg.margin_ratio(p.maintenance_margin, p.margin + p.unrealized_pnl)
    return min(ratio, RATIO_CAP) if not math.isnan(ratio) else RATIO_CAP


class _Trace:
    __slots__ = ("liqs", "marks", "ratios")

    def __init__(self, t0: float, capacity: int) -> None:
        self.marks = TimeBuckets(t0, capacity=capacity)
        self.liqs = TimeBuckets(t0, capacity=capacity)
        self.ratios = TimeBuckets(t0, capacity=capacity)


class TraceBook:
    """Each open position's path, sampled on the heartbeat, and the pictures of the
    liquidations (see the module doc). Memory: ``capacity`` buckets per open position and
    per kept picture; a sample costs the same however long a position has been open."""

    def __init__(self, *, capacity: int = 240, keep: int = KEEP_PICTURES) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be a whole number of pictures >= 1, not {keep!r}")
        self.capacity = capacity
        self._traces: dict[tuple[str, float], _Trace] = {}
        self._pictures: deque[LiquidationPicture] = deque(maxlen=keep)

    def sample(self, time: float, account: AccountView, positions: Sequence[PositionView]) -> None:
        """Add each open position's mark, liquidation price and margin ratio at ``time``;
        forget the paths of positions no longer open."""
        seen: set[tuple[str, float]] = set()
        for p in positions:
            key = (p.market, p.opened_at)
            seen.add(key)
            trace = self._traces.get(key)
            if trace is None:
                trace = self._traces[key] = _Trace(time, self.capacity)
            trace.marks.add(time, p.mark_price)
            if p.liquidation_price is not None:
                trace.liqs.add(time, p.liquidation_price)
            trace.ratios.add(time, position_ratio(p, account))
        if len(seen) != len(self._traces):
            for key in [k for k in self._traces if k not in seen]:
                del self._traces[key]

    def liquidated(self, event: Liquidation) -> LiquidationPicture:
        """The picture of ``event`` (kept); its path so far, ending at the liquidation's mark.
        A partial liquidation (a slice) leaves the position's path going on."""
        key = (event.market, event.opened_at)
        trace = self._traces.get(key)
        if trace is None:  # never sampled (liquidated before a heartbeat saw it)
            trace = _Trace(event.time, self.capacity)
        trace.marks.add(event.time, event.mark_price)
        ratios = trace.ratios.candles()
        if ratios:  # at the liquidation, the ratio had reached 100 %
            last = ratios[-1]
            trace.ratios.add(event.time, max(1.0, last.close))
        else:
            trace.ratios.add(event.time, 1.0)
        picture = LiquidationPicture(
            event, trace.marks.candles(), trace.liqs.candles(), trace.ratios.candles()
        )
        self._pictures.append(picture)
        if event.remaining_size <= 0:
            self._traces.pop(key, None)
        return picture

    def picture(self, seq: int) -> LiquidationPicture | None:
        """The picture of the liquidation record ``seq`` (``None`` if not kept: before this
        launch, or one of the older ones)."""
        return next((p for p in self._pictures if p.liquidation.seq == seq), None)

    @property
    def pictures(self) -> list[LiquidationPicture]:
        """The kept pictures, oldest first."""
        return list(self._pictures)

    @property
    def open_traces(self) -> int:
        """Positions being traced (tests read it)."""
        return len(self._traces)
