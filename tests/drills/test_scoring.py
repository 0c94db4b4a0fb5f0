"""Each rule kind on hand-built runs, with the numbers worked out by hand in the comments.

A run is records and samples; the scoring reads nothing else (tui/drills/scoring.py). Wins
score ``50 + 50 * grade`` (grade clamped to 0..1, rounded half to even), losses 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tui.drills.scoring import (
    Drawdown,
    FinalEquity,
    FundingCap,
    Hold,
    LeastMargin,
    MarginRatio,
    Rule,
    Sample,
    StopLoss,
    SurviveSize,
    TakeProfit,
    Tape,
    Verdict,
    clock,
    judge,
    usd,
    worst_drawdown,
)
from tui.engine import (
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

START = 1_800_000_000.0
LONG, SHORT = Side.LONG, Side.SHORT
CROSS, ISO = MarginMode.CROSS, MarginMode.ISOLATED


def at(
    t: float,
    equity: float = 10_000.0,
    ratio: float = 0.0,
    btc: float = 100_000.0,
    size: float = 0.0,
) -> Sample:
    """A sample ``t`` seconds in: one market, BTC, at ``btc`` with ``size`` open."""
    return Sample(t, equity, ratio, {"BTC": btc}, {"BTC": size})


def fill(
    seq: int,
    t: float,
    side: Side,
    size: float,
    kind: str,
    *,
    price: float = 100_000.0,
    realized: float = 0.0,
    fee: float = 0.0,
    order_id: int | None = None,
    mode: MarginMode = CROSS,
) -> Fill:
    return Fill(
        seq=seq,
        time=START + t,
        market="BTC",
        side=side,
        size=size,
        price=price,
        fee=fee,
        mode=mode,
        leverage=10,
        kind=kind,
        realized_pnl=realized,
        order_id=order_id,
    )


def liquidation(seq: int, t: float, mark: float = 90_000.0) -> Liquidation:
    return Liquidation(
        seq=seq,
        time=START + t,
        market="BTC",
        side=LONG,
        size=0.3,
        entry_price=100_000.0,
        mark_price=mark,
        mode=CROSS,
        leverage=5,
        margin_lost=3_000.0,
        realized_pnl=-3_000.0,
        forfeited=0.0,
        group=1,
        opened_at=START,
    )


def funding(seq: int, t: float, payment: float) -> FundingPayment:
    return FundingPayment(
        seq=seq,
        time=START + t,
        market="BTC",
        side=LONG,
        size=0.3,
        mark_price=100_000.0,
        rate=0.0003,
        payment=payment,
        mode=CROSS,
    )


def transfer(seq: int, t: float, amount: float) -> MarginTransfer:
    return MarginTransfer(seq=seq, time=START + t, market="BTC", amount=amount)


def stop_fired(seq: int, t: float, order_id: int) -> OrderEvent:
    return OrderEvent(
        seq=seq,
        time=START + t,
        action="triggered",
        order_id=order_id,
        market="BTC",
        side=SHORT,
        order_type=OrderType.STOP_MARKET,
        size=0.2,
        price=None,
        trigger_price=97_000.0,
        leverage=20,
        mode=ISO,
        reduce_only=True,
        tpsl="sl",
    )


def tape(
    samples: Sequence[Sample],
    records: Sequence[Event] = (),
    *,
    end: float | None = None,
    setup_seq: int = 0,
    quit: bool = False,
) -> Tape:
    last = samples[-1].t if samples else 0.0
    end = last if end is None else end
    return Tape(START, setup_seq, tuple(records), tuple(samples), end, quit)


def final(rule: Rule, run: Tape, limit: float = 1_800.0) -> Verdict:
    verdict = judge(rule, run, limit, final=True)
    assert verdict is not None
    return verdict


# ------------------------------------------------------------------ wording helpers


def test_clock_and_usd_read_as_a_person_writes_them() -> None:
    assert clock(0) == "00:00"
    assert clock(653.4) == "10:53"
    assert clock(3_725) == "1:02:05"
    assert clock(86_400) == "24:00:00"
    assert clock(1_753, hours=True) == "0:29:13"
    assert usd(1234.5) == "$1,234.50"
    assert usd(-12) == "-$12"
    assert usd(80, signed=True) == "+$80"
    assert usd(-0.001) == "$0"  # no "-$0"


# ------------------------------------------------------------------ drawdown


def test_drawdown_measures_from_the_running_peak() -> None:
    # Peak 10,200; the low 9,690 is 1 - 9,690/10,200 = 5 % under it.
    samples = [at(0, 10_000), at(60, 10_200), at(120, 9_690), at(1_800, 10_050)]
    assert worst_drawdown(samples) == pytest.approx(0.05)
    rule = Drawdown(max_drawdown=0.08)
    assert judge(rule, tape(samples[:3]), 1_800, final=False) is None  # nothing decided yet
    verdict = final(rule, tape(samples))
    # 50 + 50 * (1 - 0.05 / 0.08) = 50 + 50 * 0.375 = 68.75 -> 69
    assert verdict == Verdict(True, 69, verdict.decided_by, 1_800)
    assert "5.0%" in verdict.decided_by and "8.0%" in verdict.decided_by


def test_drawdown_over_the_cap_loses_at_that_sample() -> None:
    # 1 - 9,300 / 10,200 = 8.82 % > 8 %: lost at 02:00, without waiting for the end.
    samples = [at(0, 10_000), at(60, 10_200), at(120, 9_300), at(180, 10_000)]
    verdict = judge(Drawdown(max_drawdown=0.08), tape(samples), 1_800, final=False)
    assert verdict is not None
    assert (verdict.won, verdict.score, verdict.at) == (False, 0, 120)
    assert verdict.decided_by == (
        "At 02:00 your equity was $9,300, 8.8% under its peak of $10,200: more than the 8.0% cap."
    )


def test_a_liquidation_loses_even_with_equity_to_spare() -> None:
    samples = [at(0), at(600), at(1_800)]
    verdict = final(Drawdown(max_drawdown=0.5), tape(samples, [liquidation(3, 500)]))
    assert (verdict.won, verdict.at) == (False, 500)
    assert verdict.decided_by == "Your BTC long was liquidated at 08:20 (mark 90,000.0)."
    keep = Drawdown(max_drawdown=0.5, liquidation_loses=False)
    assert final(keep, tape(samples, [liquidation(3, 500)])).won


def test_a_hold_is_valued_at_the_start_marks() -> None:
    # Hold 0.05 BTC: $5,000 at the start's 100,000, worth only $4,400 at 88,000 but still held.
    hold = Hold(4_500, "BTC", LONG)
    rule = Drawdown(max_drawdown=0.5, hold=(hold,))
    kept = [at(0, size=0.3), at(60, size=0.05, btc=88_000), at(1_800, size=0.05)]
    assert final(rule, tape(kept)).won
    # 0.04 BTC is $4,000 at the start price: under $4,500 at 01:00.
    cut = [at(0, size=0.3), at(60, size=0.04), at(1_800, size=0.04)]
    verdict = final(rule, tape(cut))
    assert (verdict.won, verdict.at) == (False, 60)
    assert "$4,000 of BTC long (at the start prices)" in verdict.decided_by
    # A short does not count for a long hold; a hold with no market counts every position.
    short = [at(0, size=0.3), at(60, size=-0.3), at(1_800, size=-0.3)]
    assert not final(rule, tape(short)).won
    assert final(Drawdown(max_drawdown=0.5, hold=(Hold(4_500),)), tape(short)).won


def test_a_hold_applies_from_its_after_time() -> None:
    rule = FinalEquity(target=9_000, excellent=9_200, hold=(Hold(19_000, "BTC", LONG, 60),))
    late = [at(0), at(30), at(61, size=0.2), at(900, 9_080, size=0.2)]
    # 50 + 50 * (9,080 - 9,000) / (9,200 - 9,000) = 50 + 50 * 0.4 = 70
    assert final(rule, tape(late), 900).score == 70
    never = [at(0), at(30), at(61), at(900, 9_080)]
    assert final(rule, tape(never), 900).at == 61


def test_records_of_the_starting_book_and_after_the_limit_do_not_count() -> None:
    samples = [at(0), at(1_800)]
    setup = [liquidation(1, 0)]  # (a book is never liquidated; a record before setup_seq)
    assert final(Drawdown(max_drawdown=0.1), tape(samples, setup, setup_seq=1)).won
    late = [liquidation(2, 1_801)]
    assert final(Drawdown(max_drawdown=0.1), tape(samples, late)).won


def test_the_trader_ending_it_early_loses() -> None:
    verdict = final(Drawdown(max_drawdown=0.08), tape([at(0), at(300)], quit=True))
    assert verdict == Verdict(False, 0, "You ended the drill at 05:00, before it was decided.", 300)


def test_the_earliest_decisive_moment_wins_and_a_loss_goes_first() -> None:
    rule = Drawdown(max_drawdown=0.08, hold=(Hold(4_500, "BTC", LONG),))
    samples = [at(0, size=0.3), at(50, size=0.01), at(1_800, size=0.3)]
    verdict = final(rule, tape(samples, [liquidation(2, 100)]))
    assert verdict.at == 50  # the hold broke before the liquidation
    ratio = MarginRatio(below=0.5, shock_at=70, within=60, hold=(Hold(1_000),))
    both = [at(0, size=0.2), at(70, ratio=0.4, size=0.0)]
    assert not final(ratio, tape(both)).won  # won and lost at 70: the loss stands


# ------------------------------------------------------------------ margin ratio


def test_margin_ratio_scores_how_fast_it_came_under() -> None:
    rule = MarginRatio(below=0.5, shock_at=70, within=60)
    samples = [at(10, ratio=0.1), at(70, ratio=0.58), at(76, ratio=0.56), at(82, ratio=0.45)]
    verdict = judge(rule, tape(samples), 180, final=False)
    assert verdict is not None
    # Under 50 % 12 s after the shock: 50 + 50 * (1 - 12 / 60) = 90. (The 10 % before the
    # shock does not count.)
    assert (verdict.won, verdict.score, verdict.at) == (True, 90, 82)
    at_once = [at(70, ratio=0.2)]
    assert final(rule, tape(at_once), 180).score == 100


def test_margin_ratio_still_high_at_the_deadline_loses() -> None:
    rule = MarginRatio(below=0.5, shock_at=70, within=60)
    samples = [at(t, ratio=0.586) for t in (70, 100, 129, 131)]
    verdict = judge(rule, tape(samples), 180, final=False)
    assert verdict is not None
    assert (verdict.won, verdict.at) == (False, 130)
    assert verdict.decided_by == (
        "60 s after the shock (02:10) the cross margin ratio was still 58.6%, not under 50%."
    )
    assert judge(rule, tape(samples[:3]), 180, final=False) is None  # 02:10 not reached yet


# ------------------------------------------------------------------ final equity


def test_final_equity_is_read_at_the_last_sample() -> None:
    rule = FinalEquity(target=9_000, excellent=9_200)
    assert judge(rule, tape([at(0), at(600, 8_000)]), 900, final=False) is None
    lost = final(rule, tape([at(0), at(900, 8_999)]), 900)
    assert not lost.won
    assert lost.decided_by == "You ended with equity of $8,999, under the $9,000 target."
    assert final(rule, tape([at(0), at(900, 9_500)]), 900).score == 100  # clamped


# ------------------------------------------------------------------ stop loss


def test_a_stop_that_closes_after_the_chop_wins_by_what_it_cost() -> None:
    rule = StopLoss(market="BTC", budget=1_000, not_before=1_200)
    records: list[Event] = [
        fill(1, 0, LONG, 0.2, "open", fee=9.0, mode=ISO),  # the book (setup_seq 1)
        stop_fired(2, 1_300, 7),
        fill(3, 1_300, SHORT, 0.2, "close", price=97_000, realized=-600, fee=8.73, order_id=7),
    ]
    verdict = final(rule, tape([at(0), at(1_300)], records, setup_seq=1), 1_560)
    # Lost 600 + 8.73 = 608.73 (the book's opening fee is not the trader's):
    # 50 + 50 * (1 - 608.73 / 1,000) = 50 + 19.56 = 69.56 -> 70
    assert (verdict.won, verdict.score, verdict.at) == (True, 70, 1_300)
    assert "$608.73" in verdict.decided_by


def test_a_stop_in_the_chop_or_a_close_by_hand_loses() -> None:
    rule = StopLoss(market="BTC", budget=1_000, not_before=1_200)
    early: list[Event] = [stop_fired(2, 700, 7), fill(3, 700, SHORT, 0.2, "close", order_id=7)]
    verdict = final(rule, tape([at(0), at(700)], early), 1_560)
    assert (verdict.won, verdict.at) == (False, 700)
    assert "in the chop before 20:00" in verdict.decided_by
    by_hand = [fill(2, 1_300, SHORT, 0.2, "close")]
    assert "closed BTC yourself" in final(rule, tape([at(0)], by_hand), 1_560).decided_by
    nothing = final(rule, tape([at(0), at(1_560)]), 1_560)
    assert not nothing.won and "No stop closed BTC" in nothing.decided_by


# ------------------------------------------------------------------ take profit


def test_take_profit_ends_once_flat_with_the_target() -> None:
    rule = TakeProfit(target=800, excellent=1_500)
    records: list[Event] = [
        fill(2, 600, SHORT, 0.1, "reduce", realized=500, fee=4.5),
        funding(3, 650, 20.0),
        fill(4, 780, SHORT, 0.1, "close", realized=800, fee=4.6),
    ]
    samples = [at(0, size=0.2), at(700, size=0.1)]
    assert judge(rule, tape(samples, records[:2]), 1_500, final=False) is None  # not flat
    verdict = judge(rule, tape(samples, records), 1_500, final=False)
    assert verdict is not None
    # 500 - 4.5 - 20 + 800 - 4.6 = 1,270.90: 50 + 50 * 470.9 / 700 = 83.64 -> 84
    assert (verdict.won, verdict.score, verdict.at) == (True, 84, 780)
    assert "+$1,270.90" in verdict.decided_by


def test_take_profit_counts_only_what_was_realized() -> None:
    rule = TakeProfit(target=800, excellent=1_500)
    samples = [at(0, size=0.2), at(1_500, size=0.1, equity=12_000)]
    short_of_it = final(rule, tape(samples, [fill(2, 600, SHORT, 0.1, "reduce", realized=500)]))
    assert not short_of_it.won and "+$500" in short_of_it.decided_by
    # Open at the end but 1,000 realized: 50 + 50 * 200 / 700 = 64.29 -> 64
    enough = [fill(2, 600, SHORT, 0.1, "reduce", realized=1_000)]
    assert final(rule, tape(samples, enough), 1_500).score == 64


# ------------------------------------------------------------------ funding cap


def test_funding_over_the_cap_loses_at_that_payment() -> None:
    rule = FundingCap(max_funding=100)
    payments = [funding(i + 1, 3_600 * (i + 1), 9.0) for i in range(24)]
    verdict = final(rule, tape([at(0), at(86_400)], payments), 86_400)
    # 9 an hour: 99 after 11 hours, 108 after 12 (43,200 s).
    assert (verdict.won, verdict.at) == (False, 43_200)
    assert verdict.decided_by == ("By 12:00:00 you had paid $108 in funding, over the $100 cap.")


def test_funding_under_the_cap_scores_what_was_left() -> None:
    rule = FundingCap(max_funding=100)
    paid = [funding(1, 3_600, 10.0), funding(2, 7_200, 8.0)]
    # 18 paid: 50 + 50 * (1 - 18 / 100) = 91
    assert final(rule, tape([at(0), at(86_400)], paid), 86_400).score == 91
    received = final(rule, tape([at(0), at(86_400)], [funding(1, 3_600, -5.0)]), 86_400)
    assert received.score == 100 and "received $5" in received.decided_by


# ------------------------------------------------------------------ survive size


def test_survive_size_values_the_smallest_size_held_at_the_move_s_start() -> None:
    rule = SurviveSize(
        market="BTC", side=LONG, at=120, min_notional=30_000, excellent=125_000, mode=CROSS
    )
    records = [fill(1, 10, LONG, 1.0, "open")]
    samples = [at(0), at(120, size=1.0), at(600, size=1.0, btc=94_000), at(1_200, size=1.0)]
    verdict = final(rule, tape(samples, records), 1_200)
    # 1 BTC at the 02:00 mark of 100,000: 50 + 50 * 70,000 / 95,000 = 86.84 -> 87
    assert (verdict.won, verdict.score) == (True, 87)
    small = [at(0), at(120, size=0.2), at(1_200, size=0.2)]
    lost = final(rule, tape(small, records), 1_200)
    assert (lost.won, lost.at) == (False, 120)
    assert "$20,000 (at the 02:00 mark)" in lost.decided_by


def test_survive_size_wants_its_mode() -> None:
    rule = SurviveSize(
        market="BTC", side=LONG, at=120, min_notional=30_000, excellent=125_000, mode=CROSS
    )
    records = [fill(1, 10, LONG, 1.0, "open", mode=ISO)]
    verdict = final(rule, tape([at(0), at(120, size=1.0)], records), 1_200)
    assert (verdict.won, verdict.at) == (False, 120)
    assert "Isolated" in verdict.decided_by


# ------------------------------------------------------------------ least margin


def test_least_margin_scores_the_margin_added() -> None:
    rule = LeastMargin(market="BTC", par=500, max_added=1_500)
    samples = [at(0, size=0.25), at(720, size=0.25)]
    # 600 added: 50 + 50 * (1 - 100 / 1,000) = 95
    assert final(rule, tape(samples, [transfer(2, 5, 600)]), 720).score == 95
    assert final(rule, tape(samples, [transfer(2, 5, 450)]), 720).score == 100
    # 700 added then 200 taken back: 500 net.
    back = [transfer(2, 5, 700), transfer(3, 600, -200)]
    assert final(rule, tape(samples, back), 720).score == 100


def test_least_margin_loses_on_too_much_or_a_smaller_position() -> None:
    rule = LeastMargin(market="BTC", par=500, max_added=1_500)
    samples = [at(0, size=0.25), at(720, size=0.25)]
    much = final(rule, tape(samples, [transfer(2, 0, 2_000)]), 720)
    assert (much.won, much.at) == (False, 0)
    assert "$2,000" in much.decided_by
    cut = final(rule, tape(samples, [fill(2, 60, SHORT, 0.1, "reduce")]), 720)
    assert (cut.won, cut.at) == (False, 60)
    grown = final(rule, tape(samples, [fill(2, 60, LONG, 0.1, "add")]), 720)
    assert grown.won  # adding to it is not giving up on it
