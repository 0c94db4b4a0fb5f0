"""How a drill is scored: a pure function of the run's journal (no Textual, no I/O).

A run is a :class:`Tape`: every engine record of the drill's season (fills, liquidations,
funding, margin transfers, order events), the records that built the starting book counted
apart (``setup_seq``), and :class:`Sample` rows the runner took on the feed's clock (equity,
cross margin ratio, marks, position sizes). :func:`judge` reads a tape against one rule and
says whether the drill is decided, and how: a :class:`Verdict` with ``won``, a ``score`` and
the sentence that decided it.

Scores: a loss scores 0; a win scores 50 to 100, graded by the rule's own measure (docs/drills.md
gives each rule's formula). Every rule also checks two things common to all drills:

* a liquidation after the start loses (unless the rule says ``liquidation_loses = false``);
* each :class:`Hold` (keep at least this much open) is checked at every sample from its
  ``after`` time: a sample under it loses.

A drill ends at the first decisive moment (the earliest win or loss found; a loss first when
they fall together), or when its time is up (the rule's final verdict), or when the trader
ends it (a loss). Nothing after the time limit counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tui.engine.models import (
    Event,
    Fill,
    FundingPayment,
    Liquidation,
    MarginMode,
    MarginTransfer,
    OrderEvent,
    OrderType,
    Side,
)
from tui.format import fmt_money, fmt_pct, fmt_price

__all__ = [
    "RULES",
    "Drawdown",
    "FinalEquity",
    "FundingCap",
    "Hold",
    "LeastMargin",
    "MarginRatio",
    "Rule",
    "Sample",
    "StopLoss",
    "SurviveSize",
    "TakeProfit",
    "Tape",
    "Verdict",
    "clock",
    "explain",
    "judge",
    "usd",
]

FLAT = 1e-9
"""A position size below this is no position (sizes rebuilt from records carry rounding)."""


def usd(amount: float, signed: bool = False) -> str:
    """``$1,234.50``, ``-$12`` (whole dollars without cents; ``+$80`` when ``signed``)."""
    text = fmt_money(abs(amount))
    sign = "-" if amount < 0 and text != "0.00" else "+" if signed else ""
    return f"{sign}${text.removesuffix('.00')}"


def clock(seconds: float, hours: bool = False) -> str:
    """Feed time since the drill started: ``"04:05"``, past an hour (or with ``hours``)
    ``"1:02:05"``."""
    s = max(0, int(seconds))
    if s < 3600 and not hours:
        return f"{s // 60:02d}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, slots=True)
class Sample:
    """The account at ``t`` seconds of feed time since the drill started.

    ``margin_ratio`` is the cross maintenance margin over the cross account value (0 with no
    cross position); ``marks`` the drill's markets' marks; ``sizes`` each open position's size,
    signed (long positive)."""

    t: float
    equity: float
    margin_ratio: float
    marks: Mapping[str, float]
    sizes: Mapping[str, float]

    def notional(
        self,
        market: str | None = None,
        side: Side | None = None,
        marks: Mapping[str, float] | None = None,
    ) -> float:
        """Open notional of ``market`` (``None``: every market), counting only positions on
        ``side`` when given, valued at ``marks`` (default: this sample's)."""
        prices = self.marks if marks is None else marks
        total = 0.0
        for name, size in self.sizes.items():
            if market is not None and name != market:
                continue
            if abs(size) < FLAT or (side is not None and (size > 0) != (side is Side.LONG)):
                continue
            total += abs(size) * prices.get(name, 0.0)
        return total


@dataclass(frozen=True, slots=True)
class Tape:
    """Everything one run left in the journal.

    ``start`` is the engine clock at the drill's feed time 0 (records carry engine time, so a
    record happened ``record.time - start`` seconds into the drill). Records up to
    ``setup_seq`` built the starting book. ``end`` is the feed time the run ended at;
    ``quit`` says the trader ended it before it was decided."""

    start: float
    setup_seq: int
    records: Sequence[Event]
    samples: Sequence[Sample]
    end: float
    quit: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a run came out: ``won``, ``score`` (0 for a loss, 50-100 for a win), the sentence
    that decided it, and when (feed seconds)."""

    won: bool
    score: int
    decided_by: str
    at: float


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Hold:
    """Keep at least ``min_notional`` open in ``market`` (``None``: all positions together),
    on ``side`` when given, at every sample from ``after`` seconds on. Sizes are valued at the
    drill's start marks, so a position that only lost value still counts whole."""

    min_notional: float
    market: str | None = None
    side: Side | None = None
    after: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """What every rule has: the holds to keep and whether a liquidation loses."""

    hold: tuple[Hold, ...] = ()
    liquidation_loses: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Drawdown(Rule):
    """Keep the equity's drawdown from its peak under ``max_drawdown`` (a fraction)."""

    max_drawdown: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginRatio(Rule):
    """Bring the cross margin ratio under ``below`` within ``within`` seconds of the shock at
    ``shock_at``."""

    below: float
    shock_at: float
    within: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalEquity(Rule):
    """End with equity of at least ``target``; ``excellent`` or more scores 100."""

    target: float
    excellent: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLoss(Rule):
    """Have a stop order close the position in ``market`` before anything else does, and not
    before ``not_before`` seconds (a stop the chop sets off is too tight); losing ``budget``
    from the starting equity scores 50, losing nothing 100."""

    market: str
    budget: float
    not_before: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeProfit(Rule):
    """Realize at least ``target`` (fills' PnL less fees and funding); ``excellent`` scores
    100. Decided early once every position is closed with the target reached."""

    target: float
    excellent: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingCap(Rule):
    """Pay at most ``max_funding`` in funding over the drill (paying nothing scores 100)."""

    max_funding: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SurviveSize(Rule):
    """Hold a ``side`` position in ``market`` from ``at`` to the end without liquidation, at
    least ``min_notional`` (the smallest size held from ``at`` on, valued at the mark at
    ``at``); ``excellent`` scores 100. With ``mode``, the position must be in that mode."""

    market: str
    side: Side
    at: float
    min_notional: float
    excellent: float
    mode: MarginMode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeastMargin(Rule):
    """Keep the position in ``market`` open at its size to the end by adding margin: adding
    ``par`` or less scores 100, ``max_added`` scores 50, more loses. Reducing it loses."""

    market: str
    par: float
    max_added: float


# --------------------------------------------------------------------------- judging


@dataclass
class _Run:
    """A tape cut to the drill's time limit, with the trader's records apart."""

    tape: Tape
    limit: float
    records: list[tuple[float, Event]] = field(default_factory=list)  # (feed time, record)
    samples: list[Sample] = field(default_factory=list)

    @classmethod
    def of(cls, tape: Tape, limit: float) -> _Run:
        run = cls(tape, limit)
        for record in tape.records:
            t = record.time - tape.start
            if record.seq > tape.setup_seq and t <= limit:
                run.records.append((t, record))
        run.samples = [s for s in tape.samples if s.t <= limit]
        return run


def _win(score: float, text: str, at: float) -> Verdict:
    """A win: ``score`` (a fraction of the way from 50 to 100, clamped) and what decided it."""
    grade = 0.0 if not math.isfinite(score) else min(1.0, max(0.0, score))
    return Verdict(True, round(50 + 50 * grade), text, at)


def _loss(text: str, at: float) -> Verdict:
    return Verdict(False, 0, text, at)


def _side_of(sign: float) -> str:
    return "long" if sign > 0 else "short"


def _common(rule: Rule, run: _Run) -> list[Verdict]:
    found: list[Verdict] = []
    if rule.liquidation_loses:
        for t, record in run.records:
            if isinstance(record, Liquidation):
                found.append(
                    _loss(
                        f"Your {record.market} {record.side.value} was liquidated at {clock(t)} "
                        f"(mark {fmt_price(record.mark_price)}).",
                        t,
                    )
                )
                break
    start = run.samples[0].marks if run.samples else {}
    for hold in rule.hold:
        for sample in run.samples:
            if sample.t < hold.after:
                continue
            held = sample.notional(hold.market, hold.side, start)
            if held < hold.min_notional:
                found.append(
                    _loss(
                        f"At {clock(sample.t)} you held {usd(held)} of "
                        f"{hold.market or 'positions'}"
                        f"{f' {hold.side.value}' if hold.side is not None else ''} (at the start "
                        f"prices); the drill asks you to keep at least "
                        f"{usd(hold.min_notional)} open.",
                        sample.t,
                    )
                )
                break
    return found


def _end_sample(run: _Run) -> Sample | None:
    return run.samples[-1] if run.samples else None


# Each rule: decisive moments found so far (wins and losses), and the verdict when time is up.
_Early = Callable[[Rule, _Run], list[Verdict]]
_Final = Callable[[Rule, _Run], Verdict]


def _drawdown_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, Drawdown)
    peak = -math.inf
    for sample in run.samples:
        peak = max(peak, sample.equity)
        dd = 1 - sample.equity / peak if peak > 0 else 1.0
        if dd > rule.max_drawdown:
            return [
                _loss(
                    f"At {clock(sample.t)} your equity was {usd(sample.equity)}, "
                    f"{fmt_pct(dd, decimals=1)} under its peak of {usd(peak)}: more than "
                    f"the {fmt_pct(rule.max_drawdown, decimals=1)} cap.",
                    sample.t,
                )
            ]
    return []


def worst_drawdown(samples: Sequence[Sample]) -> float:
    """The largest fall of equity from its running peak, as a fraction (0 when it never fell)."""
    peak = -math.inf
    worst = 0.0
    for sample in samples:
        peak = max(peak, sample.equity)
        if peak > 0:
            worst = max(worst, 1 - sample.equity / peak)
    return worst


def _drawdown_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, Drawdown)
    worst = worst_drawdown(run.samples)
    return _win(
        1 - worst / rule.max_drawdown,
        f"Your worst drawdown was {fmt_pct(worst, decimals=1)}, inside the "
        f"{fmt_pct(rule.max_drawdown, decimals=1)} cap.",
        run.limit,
    )


def _ratio_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, MarginRatio)
    deadline = rule.shock_at + rule.within
    last: Sample | None = None
    for sample in run.samples:
        if sample.t < rule.shock_at:
            continue
        if sample.t > deadline:
            break
        last = sample
        if sample.margin_ratio < rule.below:
            late = sample.t - rule.shock_at
            return [
                _win(
                    1 - late / rule.within,
                    f"The cross margin ratio was {fmt_pct(sample.margin_ratio, decimals=1)} at "
                    f"{clock(sample.t)}, {late:.0f} s after the shock: under "
                    f"{fmt_pct(rule.below, decimals=0)} with time to spare.",
                    sample.t,
                )
            ]
    if last is not None and run.samples[-1].t >= deadline:
        return [
            _loss(
                f"{rule.within:.0f} s after the shock ({clock(deadline)}) the cross margin ratio "
                f"was still {fmt_pct(last.margin_ratio, decimals=1)}, not under "
                f"{fmt_pct(rule.below, decimals=0)}.",
                deadline,
            )
        ]
    return []


def _ratio_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, MarginRatio)
    return _loss(
        f"The cross margin ratio never went under {fmt_pct(rule.below, decimals=0)} within "
        f"{rule.within:.0f} s of the shock.",
        run.limit,
    )


def _final_equity_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, FinalEquity)
    end = _end_sample(run)
    if end is None:
        return _loss("The run recorded no prices.", run.limit)
    if end.equity < rule.target:
        return _loss(
            f"You ended with equity of {usd(end.equity)}, under the {usd(rule.target)} target.",
            run.limit,
        )
    return _win(
        (end.equity - rule.target) / (rule.excellent - rule.target),
        f"You ended with equity of {usd(end.equity)}, at or above the {usd(rule.target)} target.",
        run.limit,
    )


def _stop_ids(run: _Run, market: str) -> set[int]:
    return {
        record.order_id
        for _, record in run.records
        if isinstance(record, OrderEvent)
        and record.market == market
        and (record.tpsl == "sl" or record.order_type is OrderType.STOP_MARKET)
    }


def _stop_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, StopLoss)
    stops = _stop_ids(run, rule.market)
    for t, record in run.records:
        if not isinstance(record, Fill) or record.market != rule.market or record.kind != "close":
            continue
        if record.order_id is None or record.order_id not in stops:
            return [
                _loss(
                    f"You closed {rule.market} yourself at {clock(t)}; the drill asks for a stop "
                    "that closes it for you.",
                    t,
                )
            ]
        if t < rule.not_before:
            return [
                _loss(
                    f"Your stop closed {rule.market} at {fmt_price(record.price)} at {clock(t)}, "
                    f"in the chop before {clock(rule.not_before)}: set that tight, the noise "
                    "takes you out.",
                    t,
                )
            ]
        lost = -sum(_realized(r) for when, r in run.records if when <= t)
        return [
            _win(
                1 - lost / rule.budget,
                f"Your stop closed {rule.market} at {fmt_price(record.price)} at {clock(t)}, "
                f"before liquidation; the trade lost {usd(lost)} with fees and funding "
                f"({usd(rule.budget)} scores 50).",
                t,
            )
        ]
    return []


def _stop_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, StopLoss)
    return _loss(
        f"No stop closed {rule.market} before the time was up: a stop that never fires is not "
        "a plan.",
        run.limit,
    )


def _realized(record: Event) -> float:
    if isinstance(record, Fill):
        return record.realized_pnl - record.fee
    if isinstance(record, FundingPayment):
        return -record.payment
    return 0.0


def _sizes_after(sizes: dict[str, float], record: Event) -> None:
    """Move the open sizes (signed) by one record: a fill by its side, a liquidation by what it
    closed."""
    if isinstance(record, Fill):
        sizes[record.market] = sizes.get(record.market, 0.0) + record.side.sign * record.size
    elif isinstance(record, Liquidation):
        sizes[record.market] = sizes.get(record.market, 0.0) - record.side.sign * record.size


def _take_profit_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, TakeProfit)
    sizes = dict(run.samples[0].sizes) if run.samples else {}
    net = 0.0
    for t, record in run.records:
        net += _realized(record)
        _sizes_after(sizes, record)
        flat = all(abs(size) < FLAT for size in sizes.values())
        if isinstance(record, Fill) and flat and net >= rule.target:
            return [
                _win(
                    (net - rule.target) / (rule.excellent - rule.target),
                    f"You took {usd(net, signed=True)} (after fees and funding) and were "
                    f"flat at {clock(t)}: the target was {usd(rule.target)}.",
                    t,
                )
            ]
    return []


def _take_profit_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, TakeProfit)
    net = sum(_realized(record) for _, record in run.records)
    if net < rule.target:
        end = _end_sample(run)
        still_open = end is not None and end.notional() > 0
        return _loss(
            f"You realized {usd(net, signed=True)} (after fees and funding); the target "
            f"was {usd(rule.target)}."
            + (" Profit still open when time runs out does not count." if still_open else ""),
            run.limit,
        )
    return _win(
        (net - rule.target) / (rule.excellent - rule.target),
        f"You realized {usd(net, signed=True)} (after fees and funding), at or above "
        f"the {usd(rule.target)} target.",
        run.limit,
    )


def _funding_paid(run: _Run) -> list[tuple[float, float]]:
    """(feed time, funding paid so far) after each payment."""
    paid = 0.0
    out: list[tuple[float, float]] = []
    for t, record in run.records:
        if isinstance(record, FundingPayment):
            paid += record.payment
            out.append((t, paid))
    return out


def _funding_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, FundingCap)
    for t, paid in _funding_paid(run):
        if paid > rule.max_funding:
            return [
                _loss(
                    f"By {clock(t)} you had paid {usd(paid)} in funding, over the "
                    f"{usd(rule.max_funding)} cap.",
                    t,
                )
            ]
    return []


def _funding_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, FundingCap)
    history = _funding_paid(run)
    paid = history[-1][1] if history else 0.0
    verb = "paid" if paid >= 0 else "received"
    return _win(
        1 - paid / rule.max_funding,
        f"You {verb} {usd(abs(paid))} in funding over the drill; the cap was "
        f"{usd(rule.max_funding)}.",
        run.limit,
    )


def _held_size(sample: Sample, market: str, side: Side) -> float:
    size = sample.sizes.get(market, 0.0)
    return abs(size) if size * side.sign > FLAT else 0.0


def _mode_at(run: _Run, market: str, at: float) -> MarginMode | None:
    mode: MarginMode | None = None
    for t, record in run.records:
        if t > at:
            break
        if isinstance(record, Fill) and record.market == market:
            mode = record.mode
    return mode


def _smallest_held(rule: SurviveSize, run: _Run) -> tuple[float, float, float] | None:
    """(smallest size held from ``at`` on, the mark at ``at``, when it was smallest)."""
    held = [s for s in run.samples if s.t >= rule.at]
    if not held:
        return None
    mark = held[0].marks.get(rule.market, 0.0)
    smallest = min(held, key=lambda s: _held_size(s, rule.market, rule.side))
    return _held_size(smallest, rule.market, rule.side), mark, smallest.t


def _size_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, SurviveSize)
    if rule.mode is not None and run.samples and run.samples[-1].t >= rule.at:
        mode = _mode_at(run, rule.market, rule.at)
        if mode is not None and mode is not rule.mode:
            return [
                _loss(
                    f"Your {rule.market} position was {mode.label} at {clock(rule.at)}; this "
                    f"drill is about sizing a {rule.mode.label} position.",
                    rule.at,
                )
            ]
    held = [s for s in run.samples if s.t >= rule.at]
    if not held:
        return []
    mark = held[0].marks.get(rule.market, 0.0)
    for sample in held:
        notional = _held_size(sample, rule.market, rule.side) * mark
        if notional < rule.min_notional:
            return [
                _loss(
                    f"At {clock(sample.t)} your {rule.market} {rule.side.value} was "
                    f"{usd(notional)} (at the {clock(rule.at)} mark); the drill asks for "
                    f"at least {usd(rule.min_notional)} held to the end.",
                    sample.t,
                )
            ]
    return []


def _size_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, SurviveSize)
    found = _smallest_held(rule, run)
    if found is None:
        return _loss("The run ended before the move.", run.limit)
    size, mark, _ = found
    notional = size * mark
    return _win(
        (notional - rule.min_notional) / (rule.excellent - rule.min_notional),
        f"You held {usd(notional)} of {rule.market} {rule.side.value} (at the "
        f"{clock(rule.at)} mark) through the move without liquidation.",
        run.limit,
    )


def _added(run: _Run, market: str) -> list[tuple[float, float]]:
    added = 0.0
    out: list[tuple[float, float]] = []
    for t, record in run.records:
        if isinstance(record, MarginTransfer) and record.market == market:
            added += record.amount
            out.append((t, added))
    return out


def _margin_early(rule: Rule, run: _Run) -> list[Verdict]:
    assert isinstance(rule, LeastMargin)
    found: list[Verdict] = []
    for t, record in run.records:
        if isinstance(record, Fill) and record.market == rule.market and record.kind != "add":
            found.append(
                _loss(
                    f"You {'closed' if record.kind == 'close' else 'changed'} the {rule.market} "
                    f"position at {clock(t)}; the drill is to keep it whole by adding margin.",
                    t,
                )
            )
            break
    for t, added in _added(run, rule.market):
        if added > rule.max_added:
            found.append(
                _loss(
                    f"By {clock(t)} you had added {usd(added)} of margin, more than the "
                    f"{usd(rule.max_added)} the drill allows.",
                    t,
                )
            )
            break
    return found


def _margin_final(rule: Rule, run: _Run) -> Verdict:
    assert isinstance(rule, LeastMargin)
    history = _added(run, rule.market)
    added = history[-1][1] if history else 0.0
    return _win(
        1 - (added - rule.par) / (rule.max_added - rule.par),
        f"The {rule.market} position survived with {usd(added)} of margin added "
        f"({usd(rule.par)} or less scores 100).",
        run.limit,
    )


def _none(rule: Rule, run: _Run) -> list[Verdict]:
    return []


RULES: dict[type[Rule], tuple[_Early, _Final]] = {
    Drawdown: (_drawdown_early, _drawdown_final),
    MarginRatio: (_ratio_early, _ratio_final),
    FinalEquity: (_none, _final_equity_final),
    StopLoss: (_stop_early, _stop_final),
    TakeProfit: (_take_profit_early, _take_profit_final),
    FundingCap: (_funding_early, _funding_final),
    SurviveSize: (_size_early, _size_final),
    LeastMargin: (_margin_early, _margin_final),
}
"""Each rule kind: its decisive moments before time is up, and its verdict when time is up."""


def judge(rule: Rule, tape: Tape, limit: float, *, final: bool = True) -> Verdict | None:
    """The verdict on ``tape`` under ``rule`` for a drill of ``limit`` seconds, or ``None``
    while nothing is decided and the run goes on (``final=False``). With ``final`` (the run
    is over: time up, or the trader ended it) there is always a verdict."""
    early, at_the_end = RULES[type(rule)]
    run = _Run.of(tape, limit)
    found = _common(rule, run) + early(rule, run)
    if found:
        return min(found, key=lambda v: (v.at, v.won))
    if not final:
        return None
    if tape.quit and tape.end < limit:
        return _loss(f"You ended the drill at {clock(tape.end)}, before it was decided.", tape.end)
    return at_the_end(rule, run)


def _pct(x: float) -> str:
    """``0.08`` -> ``8%``, ``0.125`` -> ``12.5%``."""
    return f"{x * 100:.2f}".rstrip("0").rstrip(".") + "%"


def explain(rule: Rule) -> list[str]:
    """How ``rule`` scores, in a few short lines for the picker (and what else loses)."""
    lines: list[str]
    if isinstance(rule, Drawdown):
        cap = _pct(rule.max_drawdown)
        lines = [f"Equity's drawdown from its peak under {cap}: 50 + 50 × (1 − worst ÷ {cap})."]
    elif isinstance(rule, MarginRatio):
        lines = [
            f"Cross margin ratio under {_pct(rule.below)} within {rule.within:g} s of the shock at "
            f"{clock(rule.shock_at)}: 100 at once, 50 at the deadline."
        ]
    elif isinstance(rule, FinalEquity):
        lines = [
            f"Equity at the end of at least {usd(rule.target)}: 50 there, 100 at "
            f"{usd(rule.excellent)} or more."
        ]
    elif isinstance(rule, StopLoss):
        after = f" after {clock(rule.not_before)}" if rule.not_before else ""
        lines = [
            f"A stop closes {rule.market}{after}, before liquidation: 100 losing nothing, 50 "
            f"losing {usd(rule.budget)}."
        ]
    elif isinstance(rule, TakeProfit):
        lines = [
            f"Realized PnL after fees and funding of at least {usd(rule.target)}: 50 there, 100 "
            f"at {usd(rule.excellent)}."
        ]
    elif isinstance(rule, FundingCap):
        lines = [
            f"Funding paid of at most {usd(rule.max_funding)}: 100 paying nothing, 50 paying "
            f"{usd(rule.max_funding)}."
        ]
    elif isinstance(rule, SurviveSize):
        mode = f"{rule.mode.label} " if rule.mode is not None else ""
        lines = [
            f"A {mode}{rule.market} {rule.side.value} held from {clock(rule.at)} to the end: 50 "
            f"at {usd(rule.min_notional)}, 100 at {usd(rule.excellent)}."
        ]
    elif isinstance(rule, LeastMargin):
        lines = [
            f"{rule.market} kept whole to the end: 100 adding {usd(rule.par)} or less, 50 adding "
            f"{usd(rule.max_added)}, more loses."
        ]
    else:  # pragma: no cover - every rule kind is above
        lines = []
    for hold in rule.hold:
        when = f" from {clock(hold.after)}" if hold.after else ""
        lines.append(f"Keep at least {usd(hold.min_notional)} of {_held(hold)} open{when}.")
    if rule.liquidation_loses:
        lines.append("A liquidation loses.")
    return lines


def _held(hold: Hold) -> str:
    what = hold.market or "positions"
    return f"{what} {hold.side.value}" if hold.side is not None else what
