"""Risk views, hand-worked: the shock ladder, the liquidation map, sigma and beta, alerts and
funding. Engine: no fees; BTC 40x (maintenance 1.25 %) at 100,000, ETH 25x (2 %) at 4,000.
Liquidation prices (docs/rules.md): isolated ``(E - s*M/q) / (1 - s*mmr)``; the cross account
goes when ``W + sum(u - MM) <= 0``.

What a liquidation takes (docs/rules.md, "What a liquidation takes") is the venue's, and the
ladder shows it: Binance (``forfeit``) keeps the isolated margin ``M`` or the whole cross
balance; Hyperliquid (the default) closes at the mark and returns the rest, ``M + u``
(isolated) or ``V = W + sum(u)`` (cross) (``market``); slices a position above 100,000 of
notional 20 % at a time (``partial``; the margin stays behind the rest; 30 s cooldown, in which
any liquidation takes the whole position); and below two thirds of maintenance (``M + u <
2/3 MM``, ``V < 2/3 R``) the backstop takes position and margin (``backstop``)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.engine.conftest import make_engine
from tui.engine import AccountView, MarginMode, PaperEngine, PositionView, Side, Venue
from tui.market import MARKETS, SimSource
from tui.market.candles import Candle, CandleStore
from tui.risk import (
    COMPACT_MOVES,
    DEFAULT_MOVES,
    AlertTracker,
    BetaEstimate,
    beta_to_btc,
    betas_to_btc,
    chart_levels,
    compare_pending,
    daily_sigma,
    daily_sigmas,
    funding_outlook,
    liquidation_map,
    market_order,
    moves_between,
    pending_order,
    shock_ladder,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
HL, BN = Venue.HYPERLIQUID, Venue.BINANCE


def btc_iso_long(eng: PaperEngine) -> None:
    """0.1 BTC at 10x isolated: margin 1,000; liq (100,000 - 1,000/0.1) / 0.9875 = 91,139.24."""
    eng.open("BTC", LONG, 0.1, 10, ISO)


# ------------------------------------------------------------------ the shock ladder


def test_the_default_ladder_is_61_moves_of_1_percent() -> None:
    assert len(DEFAULT_MOVES) == 61 and DEFAULT_MOVES[0] == -0.3 and DEFAULT_MOVES[30] == 0.0
    assert DEFAULT_MOVES[31] == 0.01 and len(COMPACT_MOVES) == 13
    with pytest.raises(ValueError, match="at most 121"):
        moves_between(0.3, 0.001)
    with pytest.raises(ValueError):
        moves_between(1.5, 0.1)


@pytest.mark.parametrize(
    ("venue", "outcome", "returned", "lost"),
    [
        # HL: closed at 91,000; M + u = 1,000 - 900 = 100 >= 2/3 MM = 2/3 * 0.1 * 91,000 *
        # 1.25 % = 75.83 (no backstop), notional 9,100 <= 100,000 (no slice): 100 comes back
        (HL, "market", 100.0, 900.0),
        # BN: the whole 1,000 of margin is forfeited
        (BN, "forfeit", 0.0, 1_000.0),
    ],
)
def test_one_market_shock_of_an_isolated_long(
    venue: Venue, outcome: str, returned: float, lost: float
) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)
    before = eng.to_state()
    ladder = shock_ladder(eng, market="BTC")
    assert eng.to_state() == before  # the live engine is never touched
    assert [r.move for r in ladder.rows] == list(DEFAULT_MOVES)
    now = ladder.row(0.0)
    assert now.equity == 10_000 and now.equity_change == 0
    down8 = ladder.row(-0.08)  # mark 92,000: u = 0.1 * -8,000
    assert down8.marks == {"BTC": pytest.approx(92_000)}
    assert down8.positions[0].pnl == pytest.approx(-800)
    assert not down8.positions[0].liquidated and down8.liquidations == ()
    # sub-steps of 0.25 %: 91,250 > 91,139.24 lives; 91,000 is past it
    down9 = ladder.row(-0.09)
    (liq,) = down9.liquidations
    assert (liq.order, liq.market, liq.mode) == (1, "BTC", ISO)
    assert liq.move == pytest.approx(-0.09) and liq.mark == pytest.approx(91_000)
    assert liq.realized_pnl == pytest.approx(-900)  # u = 0.1 * -9,000, within the margin
    assert liq.outcome == outcome and liq.size == pytest.approx(0.1)
    assert liq.remaining_size == 0.0
    assert liq.returned == pytest.approx(returned) and liq.margin_lost == pytest.approx(lost)
    btc = down9.positions[0]
    assert btc.liquidated and down9.liquidated == ("BTC",) and btc.liquidation == outcome
    assert btc.size == 0 and btc.pnl == pytest.approx(-900) and btc.realized == btc.pnl
    # the wallet kept 9,000 when the margin was posted; it gets back what the venue returns:
    # HL 9,100 (a loss of 900), BN 9,000 (a loss of the whole 1,000); nothing open
    assert down9.equity == pytest.approx(9_000 + returned)
    assert down9.equity_change == pytest.approx(-lost)
    assert ladder.row(-0.30).equity == pytest.approx(9_000 + returned)
    assert ladder.row(-0.30).liquidations == ()  # reported once, where it happened
    up10 = ladder.row(0.10)
    assert up10.positions[0].pnl == pytest.approx(1_000) and up10.equity == pytest.approx(11_000)
    assert up10.positions[0].size == pytest.approx(0.1) and up10.positions[0].liquidation is None
    assert ladder.liquidations == (liq,)


def test_a_short_dies_on_the_way_up() -> None:
    eng = make_engine()
    # 1 ETH short at 10x isolated: margin 400; liq (4,000 + 400) / 1.02 = 4,313.73 (+7.84 %)
    eng.open("ETH", SHORT, 1, 10, ISO)
    ladder = shock_ladder(eng, market="ETH")
    assert ladder.row(0.07).liquidations == () and not ladder.row(0.07).positions[0].liquidated
    (liq,) = ladder.row(0.08).liquidations  # 4,310 at +7.75 % lives, 4,320 at +8 % does not
    assert liq.move == pytest.approx(0.08) and liq.side is SHORT
    assert all(r.liquidations == () for r in ladder.rows if r.move < 0)


@pytest.mark.parametrize("venue", [HL, BN])
def test_a_cross_account_goes_at_once_when_every_market_falls(venue: Venue) -> None:
    eng = make_engine(venue=venue)
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    eng.open("ETH", LONG, 5, 10, CROSS)
    # all down x: 10,000 - 70,000x - (625 + 400)(1 - x) <= 0 -> x >= 8,975 / 68,975 = 13.01 %
    ladder = shock_ladder(eng)
    assert ladder.market is None and ladder.betas == {"BTC": 1.0, "ETH": 1.0}
    assert ladder.row(-0.13).liquidations == ()
    first, second = ladder.row(-0.14).liquidations  # at the sub-step -13.25 %
    assert {first.market, second.market} == {"BTC", "ETH"}
    assert (first.order, second.order) == (1, 2) and first.group == second.group
    assert first.move == pytest.approx(-0.1325)
    assert ladder.row(-0.14).margin_ratio == 0.0  # no cross position left
    # before it: ratio R / V = (625 + 400) * 0.87 / (10,000 - 9,100) = 891.75 / 900
    assert ladder.row(-0.13).margin_ratio == pytest.approx(891.75 / 900)
    # Within a sub-step the markets move one after another, BTC (the first position) first:
    # BTC at 86,750 with ETH still at 3,480 (-13 %) is already the end. There
    # V = 10,000 + 0.5 * -13,250 + 5 * -520 = 775, R = 542.19 + 348 = 890.19.
    # HL: 775 >= 2/3 R = 593.46 (no backstop); notionals 43,375 and 17,400 <= 100,000 (no
    # slice): both close at market and W keeps 775, shared by notional: 553.12 and 221.88.
    # BN: the whole cross balance is forfeited: nothing returned, equity 0.
    assert (first.mark, second.mark) == pytest.approx((86_750, 3_480))
    kept = 775.0 if venue is HL else 0.0
    assert [lq.outcome for lq in (first, second)] == (
        ["market"] * 2 if venue is HL else ["forfeit"] * 2
    )
    shares = {lq.market: lq.returned for lq in (first, second)}
    assert shares == {
        "BTC": pytest.approx(kept * 43_375 / 60_775),
        "ETH": pytest.approx(kept * 17_400 / 60_775),
    }
    assert ladder.row(-0.14).equity == pytest.approx(kept, abs=1e-6)
    assert ladder.row(-0.14).liquidated == ("BTC", "ETH")


def test_every_market_moves_by_its_beta() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    eng.open("ETH", LONG, 5, 10, CROSS)
    # ETH moves 2x: 10,000 - 90,000x - (1,025 - 1,425x) <= 0 -> x >= 8,975 / 88,575 = 10.13 %
    ladder = shock_ladder(eng, betas={"ETH": 2.0})
    assert ladder.betas == {"BTC": 1.0, "ETH": 2.0}
    assert ladder.row(-0.05).marks == {
        "BTC": pytest.approx(95_000),
        "ETH": pytest.approx(3_600),
    }
    assert ladder.row(-0.10).liquidations == ()
    assert [lq.move for lq in ladder.row(-0.11).liquidations] == [pytest.approx(-0.1025)] * 2


@pytest.mark.parametrize(
    ("venue", "cross_end", "outcomes"),
    [
        # HL: BTC's close at -9 % returns 100 to the wallet: 9,100 - 40,000x - 800(1 - x) <= 0
        # -> x >= 8,300 / 39,200 = 21.17 %, met at the sub-step -21.25 % (at -21 %: V = 700 >
        # R = 632). There V = 9,100 - 8,500 = 600 >= 2/3 R = 2/3 * 630 = 420: closed at market.
        (HL, -0.2125, ["market", "market"]),
        # BN: BTC forfeits its margin, the wallet stays 9,000:
        # 9,000 - 40,000x - 800(1 - x) <= 0 -> x >= 8,200 / 39,200 = 20.92 %, met at -21 %
        (BN, -0.21, ["forfeit", "forfeit"]),
    ],
)
def test_liquidations_come_in_the_engines_order_isolated_then_cross(
    venue: Venue, cross_end: float, outcomes: list[str]
) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)  # dies at -9 %
    # 10 ETH cross (40,000 of notional, maintenance 800 at 4,000) on the 9,000 wallet left
    eng.open("ETH", LONG, 10, 10, CROSS)
    ladder = shock_ladder(eng)
    order = [(lq.order, lq.market, lq.mode, round(lq.move, 4)) for lq in ladder.liquidations]
    assert order == [(1, "BTC", ISO, -0.09), (2, "ETH", CROSS, cross_end)]
    assert [lq.outcome for lq in ladder.liquidations] == outcomes
    # shocking BTC alone never reaches the cross account
    alone = shock_ladder(eng, market="BTC")
    assert [lq.market for lq in alone.liquidations] == ["BTC"]
    assert not alone.row(-0.3).positions[1].liquidated


def btc_big_iso_long(eng: PaperEngine) -> None:
    """2 BTC at 25x isolated: notional 200,000, margin 8,000 (M/q = 4,000), wallet 2,000 left;
    liq (100,000 - 4,000) / 0.9875 = 97,215.19, first passed at the sub-step -3 % (97,000)."""
    eng.open("BTC", LONG, 2, 25, ISO)


def test_hyperliquid_slices_a_large_position_as_the_ladder_walks() -> None:
    """docs/rules.md, HL ``partial``: above 100,000 of notional, 20 % closes at the mark, its
    PnL settles against the margin, which stays behind the rest (so M/q becomes
    (M/q + 0.2 (P - E)) / 0.8 and the liquidation price falls below the mark again). The walk
    takes 60 s a sub-step, past the 30 s cooldown, so each new crossing is sliced again."""
    eng = make_engine()
    btc_big_iso_long(eng)
    ladder = shock_ladder(eng, market="BTC")
    # -3 %, 97,000: M + u = 8,000 - 6,000 = 2,000 >= 2/3 MM = 2/3 * 2,425 = 1,616.67 (no
    # backstop); notional 194,000: slice 0.4, realizes 0.4 * -3,000 = -1,200; M = 6,800,
    # q = 1.6, M/q = 4,250: liq (100,000 - 4,250) / 0.9875 = 96,962.03 < 97,000, open.
    down3 = ladder.row(-0.03)
    (cut,) = down3.liquidations
    assert (cut.order, cut.outcome, cut.partial) == (1, "partial", True)
    assert cut.size == pytest.approx(0.4) and cut.remaining_size == pytest.approx(1.6)
    assert cut.realized_pnl == pytest.approx(-1_200) and cut.returned == 0
    (btc,) = down3.positions
    assert btc.open and btc.sliced and not btc.liquidated and down3.liquidated == ()
    assert btc.size == pytest.approx(1.6) and btc.pnl == pytest.approx(1.6 * -3_000)
    assert btc.realized == pytest.approx(-1_200)
    # equity is what it would be unsliced: 10,000 - 1,200 - 4,800 = 4,000
    assert down3.equity == pytest.approx(4_000)
    # -3.25 %, 96,750 < 96,962.03: M + u = 1,600 >= 2/3 * 1,935; notional 154,800: slice
    # 0.32 (-1,040), M = 5,760, q = 1.28, M/q = 4,500, liq 96,708.86.
    # -3.5 %, 96,500 < 96,708.86: M + u = 1,280 >= 2/3 * 1,544; notional 123,520: slice
    # 0.256 (-896), M = 4,864, q = 1.024, M/q = 4,750, liq 96,455.70.
    # -3.75 %, 96,250 < 96,455.70: M + u = 4,864 - 3,840 = 1,024 >= 2/3 * 1,232; notional
    # 98,560 <= 100,000: the rest closes at market (-3,840) and 1,024 comes back.
    down4 = ladder.row(-0.04)
    steps = [
        (lq.order, round(lq.move, 4), lq.outcome, round(lq.size, 6), round(lq.remaining_size, 6))
        for lq in down4.liquidations
    ]
    assert steps == [
        (2, -0.0325, "partial", 0.32, 1.28),
        (3, -0.035, "partial", 0.256, 1.024),
        (4, -0.0375, "market", 1.024, 0.0),
    ]
    assert [lq.realized_pnl for lq in down4.liquidations] == [
        pytest.approx(-1_040),
        pytest.approx(-896),
        pytest.approx(-3_840),
    ]
    assert down4.liquidations[-1].returned == pytest.approx(1_024)
    (btc,) = down4.positions
    assert btc.liquidated and not btc.sliced and btc.liquidation == "market" and btc.size == 0
    # everything realized on the way: -1,200 - 1,040 - 896 - 3,840 = -6,976
    assert btc.pnl == pytest.approx(-6_976) and btc.realized == pytest.approx(-6_976)
    assert down4.liquidated == ("BTC",) and down4.equity == pytest.approx(2_000 + 1_024)
    assert [lq.order for lq in ladder.liquidations] == [1, 2, 3, 4]


def test_a_crash_inside_the_cooldown_takes_the_rest_at_once() -> None:
    """With no time between sub-steps the second crossing falls in the 30 s cooldown, where
    "all market liquidation orders ... will be for the entire position" (docs/rules.md)."""
    eng = make_engine()
    btc_big_iso_long(eng)
    ladder = shock_ladder(eng, market="BTC", step_seconds=0)
    # -3 %: the same first slice (1.6 left, liq 96,962.03). -3.25 %, 96,750: in the cooldown,
    # M + u = 6,800 + 1.6 * -3,250 = 1,600 >= 2/3 * 1.6 * 96,750 * 1.25 % = 1,290: the whole
    # 1.6 closes at market (-5,200) and 1,600 comes back.
    kinds = [(lq.outcome, round(lq.size, 6), lq.returned) for lq in ladder.liquidations]
    assert kinds == [("partial", 0.4, 0.0), ("market", 1.6, pytest.approx(1_600))]
    (btc,) = ladder.row(-0.04).positions
    assert btc.liquidated and btc.pnl == pytest.approx(-1_200 - 5_200)
    assert ladder.row(-0.04).equity == pytest.approx(2_000 + 1_600)
    with pytest.raises(ValueError, match="step_seconds"):
        shock_ladder(eng, market="BTC", step_seconds=-1)
    with pytest.raises(ValueError, match="step_seconds"):
        shock_ladder(eng, market="BTC", step_seconds=math.inf)


def test_binance_takes_the_large_position_whole() -> None:
    eng = make_engine(venue=BN)
    btc_big_iso_long(eng)
    ladder = shock_ladder(eng, market="BTC")
    # BN: no slices; at 97,000 the position goes and its 8,000 of margin is forfeited
    # (u = 2 * -3,000 = -6,000 realized, the 2,000 left of the margin kept by the venue)
    (liq,) = ladder.liquidations
    assert liq.outcome == "forfeit" and liq.move == pytest.approx(-0.03) and liq.size == 2
    assert liq.realized_pnl == pytest.approx(-6_000) and liq.margin_lost == pytest.approx(8_000)
    assert ladder.row(-0.03).equity == pytest.approx(2_000)
    assert ladder.row(-0.04).equity == pytest.approx(2_000)  # HL: 3,024 (above)


@pytest.mark.parametrize(
    ("venue", "beta", "outcome", "mark", "equity"),
    [
        # 0.1 BTC at 40x isolated: M = 250, liq (100,000 - 2,500) / 0.9875 = 98,734.18; the
        # backstop is below M + u < 2/3 MM: 250 + 0.1 (P - 100,000) < 2/3 * 0.1 P * 1.25 %
        # -> P < 9,750 / 0.0991667 = 98,319.33.
        # beta 1: 0.25 % sub-steps; 98,500 is the first past 98,734.18 and above 98,319.33:
        # closed at market, M + u = 250 - 150 = 100 returned: 9,750 + 100.
        (HL, 1.0, "market", 98_500.0, 9_850.0),
        # beta 4: BTC moves 1 % a sub-step, 99,000 then 98,000, past the backstop line at once:
        # the backstop takes the position and the 250 of margin: 9,750.
        (HL, 4.0, "backstop", 98_000.0, 9_750.0),
        # BN forfeits the 250 either way.
        (BN, 1.0, "forfeit", 98_500.0, 9_750.0),
        (BN, 4.0, "forfeit", 98_000.0, 9_750.0),
    ],
)
def test_a_gap_past_two_thirds_of_maintenance_is_a_backstop(
    venue: Venue, beta: float, outcome: str, mark: float, equity: float
) -> None:
    eng = make_engine(venue=venue)
    eng.open("BTC", LONG, 0.1, 40, ISO)
    ladder = shock_ladder(eng, betas={"BTC": beta})
    (liq,) = ladder.liquidations
    assert liq.outcome == outcome and liq.mark == pytest.approx(mark)
    assert liq.returned == pytest.approx(equity - 9_750)
    row = ladder.row(-0.02)
    assert row.liquidated == ("BTC",) and row.positions[0].liquidation == outcome
    assert row.equity == pytest.approx(equity)


@pytest.mark.parametrize(
    ("venue", "left"),
    [
        # HL: BTC returns 100 at -9 %, the cross account goes at -21.25 % (see the order test)
        # with V = 9,100 - 10 * 850 = 600, which stays with the trader
        (HL, 600.0),
        # BN: BTC forfeits, the cross account goes at -21 % and forfeits the whole balance
        (BN, 0.0),
    ],
)
def test_the_pending_order_variant(venue: Venue, left: float) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)
    before = eng.to_state()
    both = compare_pending(eng, market_order("ETH", LONG, 10, 10, CROSS))
    assert eng.to_state() == before
    assert [r.move for r in both.without.rows] == list(COMPACT_MOVES)
    assert both.rejection is None and both.with_order is not None
    assert [p.market for p in both.without.row(0).positions] == ["BTC"]
    assert [p.market for p in both.with_order.row(0).positions] == ["BTC", "ETH"]
    # with 5 % steps, the cross account's end (-21 % BN, -21.25 % HL) shows in the -25 % row
    assert [lq.market for lq in both.with_order.row(-0.25).liquidations] == ["ETH"]
    assert both.with_order.row(-0.25).equity == pytest.approx(left, abs=1e-6)
    (eth,) = both.with_order.row(-0.25).liquidations
    assert eth.returned == pytest.approx(left, abs=1e-6)
    refused = compare_pending(eng, market_order("ETH", LONG, 1_000, 10, CROSS))
    assert refused.with_order is None and refused.rejection
    assert "available" in refused.rejection.lower() or "margin" in refused.rejection.lower()


def test_the_pending_order_fills_against_the_book_it_is_priced_at() -> None:
    """ETH's book asks 5 at 4,001 and 10 at 4,003 (mark 4,000). Buying 10 takes 5 at 4,001
    and 5 at 4,003: entry 4,002, so at 0 % the order costs 10 x (4,000 - 4,002) = -20 of
    equity (no fees here). Without the book on the copy it fills at the mark: 0. The live
    engine's book and orders are untouched."""
    eng = make_engine()
    eng.set_book("ETH", [(3_999, 10)], [(4_001, 5), (4_003, 10)])
    before = eng.to_state()
    order = market_order("ETH", LONG, 10, 10, CROSS)
    priced = compare_pending(eng, order, market="ETH", books=("ETH",))
    assert priced.with_order is not None
    now = priced.without.equity_now
    assert priced.with_order.row(0).equity - now == pytest.approx(-20)
    (eth,) = priced.with_order.row(0).positions
    assert eth.pnl == pytest.approx(-20)
    at_mark = compare_pending(eng, order, market="ETH")
    assert at_mark.with_order is not None
    assert at_mark.with_order.row(0).equity - now == pytest.approx(0)
    assert eng.to_state() == before and eng.book("ETH") is not None


def test_bad_requests_say_why_and_change_nothing() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    before = eng.to_state()
    with pytest.raises(ValueError, match="Unknown market 'XYZ'"):
        shock_ladder(eng, market="XYZ")
    with pytest.raises(ValueError, match="finite"):
        shock_ladder(eng, moves=[0.1, math.nan])
    with pytest.raises(ValueError, match="between -95 %"):
        shock_ladder(eng, moves=[-2.0])
    with pytest.raises(ValueError, match="beta of BTC"):
        shock_ladder(eng, betas={"BTC": "x"})  # type: ignore[dict-item]
    assert eng.to_state() == before


def test_a_stop_loss_and_a_take_profit_fill_on_the_way() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    before = eng.to_state()
    ladder = shock_ladder(eng, market="BTC")
    assert eng.to_state() == before and len(eng.open_orders()) == 2
    # the stop fires at the sub-step that reaches 95,000 (-5 %): 0.1 * -5,000 realized
    down5 = ladder.row(-0.05)
    (fill,) = down5.fills
    assert fill.tpsl == "sl" and fill.side is SHORT and fill.price == pytest.approx(95_000)
    (btc,) = down5.positions
    assert btc.closed and not btc.liquidated and not btc.open
    assert btc.pnl == pytest.approx(-500) and down5.equity == pytest.approx(9_500)
    assert ladder.row(-0.04).fills == () and ladder.row(-0.04).positions[0].open
    assert ladder.liquidations == ()  # the stop saved it from the -9 % liquidation
    assert ladder.row(-0.30).equity == pytest.approx(9_500)
    (fill,) = ladder.row(0.10).fills
    assert fill.tpsl == "tp" and ladder.row(0.10).positions[0].pnl == pytest.approx(1_000)


@pytest.mark.parametrize(
    ("venue", "cross_end"),
    [
        # HL: the wallet is 9,100 after BTC's close returned 100:
        # 9,100 - 10 (3,800 - P) - 0.2 P <= 0 -> P <= 28,900 / 9.8 = 2,948.98 (-26.28 %), met
        # at the sub-step -26.5 % (2,940; at 2,950: V = 600 > R = 590)
        (HL, -0.265),
        # BN: the wallet stays 9,000:
        # 9,000 - 10 (3,800 - P) - 0.2 P <= 0 -> P <= 29,000 / 9.8 = 2,959.18 (-26.02 %), met
        # at the sub-step -26.25 % (2,950)
        (BN, -0.2625),
    ],
)
def test_a_pending_limit_order_fills_on_the_way_and_joins_the_ladder(
    venue: Venue, cross_end: float
) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)
    order = pending_order("ETH", LONG, 10, "limit", price=3_800, leverage=10, mode="cross")
    both = compare_pending(eng, order)
    assert both.rejection is None and both.with_order is not None
    assert eng.open_orders() == []  # placed on the copy only
    ladder = both.with_order
    assert [p.market for p in ladder.row(0).positions] == ["BTC"]  # it rests at first
    (fill,) = ladder.row(-0.05).fills  # ETH reaches 3,800 at -5 %
    assert fill.order_type.value == "limit" and fill.price == pytest.approx(3_800)
    assert [p.market for p in ladder.row(-0.05).positions] == ["BTC", "ETH"]
    # BTC isolated goes at -9 %; then ETH cross, bought at 3,800 (maintenance 2 % of 10 P)
    assert [(lq.market, lq.mode) for lq in ladder.liquidations] == [("BTC", ISO), ("ETH", CROSS)]
    assert ladder.liquidations[1].move == pytest.approx(cross_end)  # first sub-step past
    assert both.without.row(-0.30).positions[0].market == "BTC"


def test_chart_levels_are_the_engines_own_prices() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    eng.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    eng.place_order("BTC", LONG, 0.05, "limit", price=97_000, leverage=10, mode="isolated")
    eng.place_order("BTC", SHORT, 0.02, "stop_market", trigger_price=93_000, reduce_only=True)
    levels = chart_levels(eng, "btc")
    assert levels == [
        ("Entry", 100_000, "entry"),
        ("Liq", pytest.approx(90_000 / 0.9875), "liq"),
        ("TP", 110_000, "tp"),
        ("SL", 95_000, "sl"),
        ("Buy 0.05", 97_000, "order"),
        ("Stop sell 0.02", 93_000, "order"),
    ]
    assert chart_levels(eng, "ETH") == []
    with pytest.raises(ValueError, match="Unknown market"):
        chart_levels(eng, "NOPE")


# ------------------------------------------------------------------ the liquidation map


def test_the_map_gives_distance_in_percent_and_in_sigmas() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    (entry,) = liquidation_map(eng, {"BTC": daily_sigma(alternating(0.04))})
    assert entry.liquidation_price == pytest.approx(90_000 / 0.9875)
    assert entry.distance == pytest.approx(1 - 90_000 / 0.9875 / 100_000)  # 8.86 %
    assert entry.daily_sigma == pytest.approx(0.04, rel=1e-9)
    assert entry.distance is not None
    assert entry.sigmas == pytest.approx(entry.distance / 0.04)  # 2.2 sigma away
    assert entry.links == ()
    (bare,) = liquidation_map(eng)
    assert bare.sigmas is None and bare.distance == entry.distance


def test_how_a_cross_liquidation_price_moves_with_another_market() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    eng.open("ETH", LONG, 5, 10, CROSS)
    before = eng.to_state()
    btc, eth = liquidation_map(eng)
    assert eng.to_state() == before
    # ETH +1 % (+40): the others' buffer grows (5 - 5 * 0.02) * 40 = 196, so BTC's
    # liquidation price moves by -(196 / 0.5) / (1 - 0.0125) = -396.96
    (link,) = btc.links
    assert link.market == "ETH" and link.change == pytest.approx(-396.96, abs=0.01)
    assert link.change_pct == pytest.approx(-396.96 / 100_000, abs=1e-7)
    # BTC +1 % (+1,000): (0.5 - 0.5 * 0.0125) * 1,000 = 493.75; ETH's liq moves
    # -(493.75 / 5) / (1 - 0.02) = -100.77
    (link,) = eth.links
    assert link.market == "BTC" and link.change == pytest.approx(-100.765, abs=0.01)


def test_an_isolated_position_has_no_cross_links() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    eng.open("ETH", LONG, 1, 10, CROSS)
    entries = liquidation_map(eng)
    assert [e.links for e in entries] == [(), ()]


# ------------------------------------------------------------------ sigma and beta


def alternating(daily: float, n: int = 61) -> list[Candle]:
    """Closes alternating 100 and 100 * e^r every 60 s, with r chosen so that the daily sigma
    is ``daily``: sigma_day = r * sqrt(1,440)."""
    r = daily / math.sqrt(1440)
    out = []
    for i in range(n):
        close = 100 * math.exp(r) if i % 2 else 100.0
        out.append(Candle(60.0 * i, close, close, close, close, 60.0 * i + 59))
    return out


def test_daily_sigma_by_hand() -> None:
    # closes 100, 101, 100, 101, ... a minute apart: r = +-ln(1.01) = 0.00995033;
    # sigma_day = 0.00995033 * sqrt(86,400 / 60) = 0.00995033 * 37.9473 = 0.377588
    candles = [Candle(60.0 * i, 1, 1, 1, 100.0 + i % 2, 60.0 * i) for i in range(11)]
    vol = daily_sigma(candles)
    assert vol.returns == 10 and vol.seconds == 600
    assert vol.daily == pytest.approx(0.377588, rel=1e-5)
    assert daily_sigma(candles[:10]).daily is None  # 9 returns: not enough
    # a two-minute gap counts with its length: r^2 / 120 s instead of / 60 s
    gap = [
        Candle(0, 1, 1, 1, 100, 0),
        *(Candle(60 * i, 1, 1, 1, 100 + i % 2, 60 * i) for i in range(2, 12)),
    ]
    assert daily_sigma(gap).returns == 10 and daily_sigma(gap).seconds == 660


def feed_sim(hours: float, symbols: list[str], seed: int = 11) -> CandleStore:
    store = CandleStore()
    # no jumps: the diffusion's own volatility and beta are the truth to recover
    source = SimSource(symbols, seed=seed, speed=60, market_jumps_per_day=0, idio_jumps_per_day=0)
    now = [0.0]

    class Sink:
        def on_clock(self, t: float) -> None:
            now[0] = t

        def on_mark(self, symbol: str, price: float) -> None:
            store.add(symbol, price, now[0])

        def on_funding_rate(self, symbol: str, rate: float) -> None:
            pass

        def on_funding(self, symbol: str, rate: float) -> None:
            pass

        def on_status(self, status: object) -> None:
            pass

        def on_book(self, symbol: str, bids: object, asks: object, time: float) -> None:
            pass

    sink = Sink()
    source.snapshot().deliver(sink)
    for _ in range(int(hours * 3600 / 10)):
        source.step(10 / 60).deliver(sink)  # 10 s of sim time a step
    return store


def test_sigma_and_beta_recover_the_simulations_own_figures() -> None:
    store = feed_sim(4.5, ["BTC", "ETH", "SOL"])
    vols = daily_sigmas(store, ["BTC", "ETH"])
    assert vols["BTC"].returns == 239  # 240 one-minute candles kept
    for m in ("BTC", "ETH"):
        truth = MARKETS[m].annual_vol / math.sqrt(365)
        assert vols[m].daily == pytest.approx(truth, rel=0.15), m
    betas = betas_to_btc(store, ["BTC", "ETH", "SOL"])
    assert betas["BTC"].beta == 1.0
    for m in ("ETH", "SOL"):
        assert betas[m].estimated and betas[m].pairs == 239
        assert betas[m].beta == pytest.approx(MARKETS[m].beta, abs=0.2), m


def test_beta_by_hand_and_when_history_is_short() -> None:
    # ETH = 10 * (BTC / 100)^2: every ETH log return is exactly twice BTC's -> beta 2
    btc = [Candle(60.0 * i, 1, 1, 1, 100.0 + i % 3, 0) for i in range(30)]
    eth = [c._replace(close=10 * (c.close / 100) ** 2) for c in btc]
    est = beta_to_btc(eth, btc)
    assert est.estimated and est.pairs == 29 and est.beta == pytest.approx(2.0)
    # a missing ETH minute removes the two returns that would span it
    holed = eth[:10] + eth[11:]
    assert beta_to_btc(holed, btc).pairs == 27
    assert beta_to_btc(eth[:10], btc) == BetaEstimate(1.0, 9, False)  # too few: assume 1
    flat = [c._replace(close=100.0) for c in btc]
    assert beta_to_btc(eth, flat) == BetaEstimate(1.0, 29, False)  # BTC did not move


# ------------------------------------------------------------------ alerts


def views(eng: PaperEngine) -> tuple[AccountView, list[PositionView]]:
    return eng.account, eng.positions()


def test_margin_ratio_alerts_once_per_crossing_with_hysteresis() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    account = eng.account
    tracker = AlertTracker()
    seen = []
    for ratio in (0.5, 0.81, 0.85, 0.78, 0.80, 0.74, 0.80, math.inf):
        new = tracker.update(dataclasses.replace(account, margin_ratio=ratio), [])
        seen.append([a.kind for a in new])
    # 0.81 alerts; 0.85 and 0.78 and 0.80 do not (not re-armed until below 75 %); 0.74 re-arms;
    # 0.80 alerts again; inf (account value gone) is still the same crossing
    assert seen == [[], ["margin_ratio"], [], [], [], [], ["margin_ratio"], []]
    assert [a.kind for a in tracker.active] == ["margin_ratio"]
    assert "80.0%" in tracker.active[0].message


def test_liquidation_distance_alerts_per_position() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    account, (btc,) = eng.account, eng.positions()
    tracker = AlertTracker()

    def at(distance: float) -> list[str]:
        view = dataclasses.replace(btc, liquidation_price=100_000 * (1 - distance))
        return [a.message for a in tracker.update(account, [view])]

    assert at(0.05) == []
    (msg,) = at(0.019)
    assert msg.startswith("BTC isolated long is 1.90% from liquidation")
    assert at(0.01) == [] and at(0.024) == []  # not re-armed until above 2.5 %
    assert at(0.026) == [] and tracker.active == []
    assert len(at(0.02)) == 1  # at the threshold counts
    # closed: forgotten; a new position in the same market is armed
    assert tracker.update(account, []) == [] and tracker.active == []
    reopened = dataclasses.replace(btc, opened_at=btc.opened_at + 1, liquidation_price=99_000)
    assert len(tracker.update(account, [reopened])) == 1


def test_alert_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ratio_threshold"):
        AlertTracker(ratio_threshold=0)
    with pytest.raises(ValueError, match="distance_threshold"):
        AlertTracker(distance_threshold=1.5)
    with pytest.raises(ValueError, match="must be a number"):
        AlertTracker(ratio_threshold="80%")  # type: ignore[arg-type]
    AlertTracker(ratio_hysteresis=0, distance_hysteresis=0)


# ------------------------------------------------------------------ funding


@pytest.mark.parametrize(
    ("venue", "interval", "next_in"),
    [
        # HL pays every hour: from 1.5 h the next payment is at 2 h, in 1,800 s; 24 payments
        (HL, 1.0, 1_800.0),
        # BN pays every 8 h (00:00, 08:00, 16:00 UTC): from 1.5 h the next is at 8 h, in
        # 23,400 s; 3 payments, each of the hourly rate times 8
        (BN, 8.0, 23_400.0),
    ],
)
def test_funding_countdown_and_24_hours_at_the_current_rate(
    venue: Venue, interval: float, next_in: float
) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)
    eng.open("ETH", SHORT, 5, 10, CROSS)
    eng.set_funding_rate("BTC", 0.0001)
    eng.set_funding_rate("ETH", 0.0001)
    before = eng.to_state()
    btc, eth = funding_outlook(eng, feed_time=5_400.0)  # 1.5 h of sim time
    assert eng.to_state() == before
    assert btc.next_in == next_in and btc.interval_hours == interval
    assert eth.next_in == next_in and eth.interval_hours == interval
    # the long pays 0.1 * 100,000 * 0.0001 = 1 an hour (HL: 24 payments of 1; BN: 3 of 8):
    # 24 either way; its margin falls to 976, so its
    # liquidation price rises to (100,000 - 9,760) / 0.9875 = 91,382.28 (+243.04)
    assert btc.cost_24h == pytest.approx(24.0)
    assert btc.liquidation_after == pytest.approx(90_240 / 0.9875)
    assert btc.liquidation_move == pytest.approx(90_240 / 0.9875 - 90_000 / 0.9875)
    # the short receives 5 * 4,000 * 0.0001 = 2 an hour: -48
    assert eth.cost_24h == pytest.approx(-48.0) and not eth.liquidated_by_funding
    # on a boundary, the next payment is a whole interval away
    assert funding_outlook(eng, feed_time=interval * 3_600)[0].next_in == interval * 3_600


@pytest.mark.parametrize(
    ("venue", "cost"),
    [
        # HL: 100 an hour; liquidated once the margin is <= MM = 125 (liq >= mark): after the
        # 9th payment (margin 100): 900 paid
        (HL, 900.0),
        # BN: 800 every 8 h; after the 1st the margin is 200 (liq (100,000 - 2,000) / 0.9875 =
        # 99,240.51, below the mark), after the 2nd -600: liquidated, 1,600 paid
        (BN, 1_600.0),
    ],
)
def test_funding_that_would_liquidate_on_its_own_says_so(venue: Venue, cost: float) -> None:
    eng = make_engine(venue=venue)
    btc_iso_long(eng)
    eng.set_funding_rate("BTC", 0.01)  # 0.1 * 100,000 * 1 % = 100 an hour, margin 1,000
    (btc,) = funding_outlook(eng, feed_time=0.0)
    assert btc.liquidated_by_funding and btc.liquidation_after is None
    assert btc.cost_24h == pytest.approx(cost)


def test_no_rate_no_projection() -> None:
    eng = make_engine()
    btc_iso_long(eng)
    (btc,) = funding_outlook(eng, feed_time=10.0)
    assert btc.rate is None and btc.cost_24h is None and btc.liquidation_move == 0
    with pytest.raises(ValueError, match="finite"):
        funding_outlook(eng, feed_time=math.nan)


# ------------------------------------------------------------------ purity and cost


# That tui.risk and tui.market.candles import no Textual is an import-linter contract
# (pyproject.toml, run by CI as lint-imports).
