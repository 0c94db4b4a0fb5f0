"""The risk views' pure parts, hand-worked: the depth view's rows and bars, sizes and money in
a few cells, the liquidation map's axis, the funding line, the shock ladder's and the compact
ladder's words. No app runs here."""

from __future__ import annotations

import math

from tests.engine.conftest import make_engine
from tui.engine import MarginMode, Side
from tui.engine.book import OrderBook
from tui.risk import (
    FundingOutlook,
    LadderLiquidation,
    MapEntry,
    compare_pending,
    market_order,
    shock_ladder,
)
from tui.screens.ladder import liquidation_line, liquidations_text, row_events
from tui.screens.liqmap import axis, axis_scale, distance_words
from tui.widgets.depth import bar, depth_rows, short_size
from tui.widgets.market_pane import funding_line
from tui.widgets.pending_ladder import compact_money, first_liquidations, ladder_lines

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT

BOOK = OrderBook(
    "BTC",
    bid_prices=(99_990.0, 99_980.0),
    bid_sizes=(1.0, 2.5),
    ask_prices=(100_010.0, 100_020.0),
    ask_sizes=(1.0, 2.5),
    time=0.0,
)


def text(row: list[tuple[str, str]]) -> str:
    return "".join(t for t, _ in row)


# ------------------------------------------------------------------ depth


def test_bars_are_drawn_in_eighths_of_a_cell() -> None:
    assert bar(1.0, 9) == "█" * 9
    assert bar(0.4, 9) == "███▋     "  # 0.4 x 9 x 8 = 28.8 -> 29 eighths: 3 cells and 5/8
    assert bar(1e-6, 5) == "▏    "  # any size at all shows a sliver
    assert bar(0.0, 5) == bar(float("nan"), 5) == "     "
    assert bar(3.0, 4) == "████" and bar(0.5, 0) == ""


def test_sizes_fit_in_six_cells() -> None:
    assert [short_size(x) for x in (6.135129, 0.105, 812.3, 12_345, 4.5e6, 0.0)] == [
        "6.14",
        "0.105",
        "812",
        "12.3k",
        "4.5M",
        "0",
    ]
    assert short_size(float("inf")) == "—" and short_size(-1.0) == "—"


def test_the_depth_view_puts_the_best_prices_by_the_spread() -> None:
    rows = depth_rows(24, 7, BOOK, title="BTC book")
    assert all(len(text(r)) == 24 for r in rows) and len(rows) == 7
    # 3 levels a side would fit in 7 rows (no room for the title); the book has 2. Prices
    # take 9 cells, sizes 4, the bars the other 9.
    assert [text(r) for r in rows] == [
        " " * 24,
        "100,020.0 2.50 █████████",
        "100,010.0 1.00 ███▋     ",
        "  spread 20.0 · 2.0 bp  ",  # 20 on a mid of 100,000 is 2 basis points
        " 99,990.0 1.00 ███▋     ",
        " 99,980.0 2.50 █████████",
        " " * 24,
    ]
    tall = depth_rows(24, 22, BOOK, title="BTC book")  # room for 10 a side and the title
    assert text(tall[0]) == "BTC book".ljust(24) and text(tall[10]) == text(rows[2])
    assert ("100,020.0", "ask") in rows[1] and (" 99,990.0", "bid") in rows[4]
    assert ("█████████", "bid-bar") in rows[5]


def test_the_depth_view_says_why_it_shows_no_levels() -> None:
    assert "No order book" in text(depth_rows(24, 7, None)[3])
    assert "Select a market" in text(depth_rows(24, 7, BOOK, message="Select a market")[3])
    assert "Too small" in text(depth_rows(24, 2, BOOK)[0] + depth_rows(24, 2, BOOK)[1])
    empty = OrderBook("BTC", (), (), (), (), time=0.0)
    assert any("The book is empty" in text(r) for r in depth_rows(24, 7, empty))
    one_side = OrderBook("BTC", (99_990.0,), (1.0,), (), (), time=0.0)
    assert any("no asks" in text(r) for r in depth_rows(24, 7, one_side))


# ------------------------------------------------------------------ liquidation map


def entry(liq: float | None, sigma: float | None, mark: float = 100.0) -> MapEntry:
    distance = None if liq is None else abs(mark - liq) / mark
    return MapEntry(
        "BTC",
        LONG,
        ISO,
        mark,
        liq,
        distance,
        sigma,
        None if distance is None or not sigma else distance / sigma,
    )


def test_the_axis_marks_the_mark_the_liquidation_and_the_sigmas() -> None:
    # half 10 cells for 20 %: 2 % a cell. Liq at 90 (-10 %) -> cell 5; sigma 4 % -> 8 and 12,
    # two sigmas -> 6 and 14; the stretch between the liquidation and the mark is the danger.
    runs = axis(entry(90.0, 0.04), 21, 0.20)
    assert text(runs) == "─────✕┊━┊━●─┊─┊──────"
    assert ("✕", "liq") in runs and ("●", "mark") in runs and ("━", "danger") in runs
    # beyond the axis: an arrow at the edge, the whole way to it in danger
    far = text(axis(entry(60.0, None), 21, 0.20))
    assert far == "◂━━━━━━━━━●──────────"
    assert text(axis(entry(None, None), 11, 0.2)) == "─────●─────"


def test_one_scale_for_every_axis_ignores_the_far_ones() -> None:
    assert axis_scale([entry(90.0, None), entry(40.0, None)]) == 0.125  # 10 % x 1.25
    assert axis_scale([entry(99.5, None)]) == 0.02 and axis_scale([]) == 0.02


def test_distance_in_percent_and_in_sigmas() -> None:
    assert distance_words(entry(90.0, 0.04)) == ("10.00% away · 2.5 sigma (daily sigma 4.0%)")
    assert distance_words(entry(90.0, None)).endswith("sigma after 10 minutes of prices")
    assert distance_words(entry(None, None)).startswith("no liquidation price")


# ------------------------------------------------------------------ funding


def outlook(**changes: object) -> FundingOutlook:
    base: dict[str, object] = dict(
        market="BTC",
        side=LONG,
        mode=ISO,
        rate=0.0001,
        interval_hours=1.0,
        next_in=2_532.0,
        cost_24h=120.0,
        liquidation_now=91_139.24,
        liquidation_after=91_260.0,
        liquidated_by_funding=False,
    )
    base.update(changes)
    return FundingOutlook(**base)  # type: ignore[arg-type]


def test_the_funding_line() -> None:
    assert funding_line(outlook(), "BTC") == (
        "Funding in 42m 12s · 24 h costs 120.00 · liq 91,139.2 → 91,260.0 · at +0.0100%/h"
    )
    assert funding_line(outlook(cost_24h=-30.0), "BTC").startswith(
        "Funding in 42m 12s · 24 h earns 30.00 ·"
    )
    assert "that alone would liquidate it" in funding_line(
        outlook(liquidated_by_funding=True, liquidation_after=None), "BTC"
    )
    assert funding_line(outlook(rate=None, cost_24h=None), "BTC") == (
        "Funding in 42m 12s · no rate yet"
    )
    assert funding_line(None, "BTC") == funding_line(outlook(), None) == ""


# ------------------------------------------------------------------ the ladders in words


def liq(order: int, market: str, mode: MarginMode, outcome: str, **kw: object) -> LadderLiquidation:
    base: dict[str, object] = dict(
        order=order,
        move=-0.09,
        market=market,
        side=LONG,
        mode=mode,
        mark=90_750.0,
        realized_pnl=-925.0,
        margin_lost=925.0,
        group=order,
        outcome=outcome,
        size=0.1,
        remaining_size=0.0,
        returned=75.0,
    )
    base.update(kw)
    return LadderLiquidation(**base)  # type: ignore[arg-type]


def test_each_liquidation_says_its_venue_outcome_and_what_it_took() -> None:
    assert liquidation_line(liq(1, "BTC", ISO, "market"), []) == (
        "#1 at -9.0 %: BTC Isolated long 0.1 at 90,750.0 · closed at market, the rest "
        "returned · lost 925.00, 75.00 returned (only its own margin)"
    )
    forfeit = liq(2, "ETH", CROSS, "forfeit", returned=0.0, margin_lost=9_000.0)
    assert liquidation_line(forfeit, ["SOL"]).endswith(
        "margin forfeited (Binance) · lost 9,000.00 (the shared cross balance, with SOL)"
    )
    sliced = liq(1, "BTC", CROSS, "partial", size=0.4, remaining_size=1.6)
    assert "20 % slice closed, the rest stays open (1.6 left)" in liquidation_line(sliced, [])


def test_the_ladder_in_words_on_a_real_ladder() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)  # liq 91,139.24: -8.86 %
    ladder = shock_ladder(eng, market="BTC", clock=lambda: 0.0)
    words = liquidations_text(ladder)
    # walked in 0.25 % sub-steps: -8.75 % is 91,250 (above), -9.00 % is 91,000 (below)
    assert "  #1 at -9.0 %: BTC Isolated long 0.1 at 91,000.0 · closed at market" in words
    assert "If prices rise: no liquidation within +30 %." in words
    assert row_events(ladder.row(-0.09)) == "#1 BTC liq"
    assert row_events(ladder.row(-0.08)) == "" == row_events(ladder.row(-0.10))


def test_money_in_five_characters() -> None:
    cases = {
        150: "+150",
        -1_234: "-1.2k",
        35_000: "+35k",
        -1.4e6: "-1.4M",
        0.3: "0",
        -0.4: "0",
        999.4: "+999",
        999.6: "+1.0k",  # 999.6 / 1,000 = 0.9996 -> 1.0
        9_940: "+9.9k",
        9_990: "+10k",  # +10.0k would fill the 6-cell column: no space before it
        -99_940: "-100k",
        99_960: "+100k",  # 99.96 k: +100.0k is 7 wide, so no decimal
        999_960: "+1.0M",  # +1000k is 6 wide: the next unit
        9.99e6: "+10M",
        -2.5e9: "-2.5B",
        3e14: "+300T",
        4e15: "+4e15",
        math.nan: "—",
    }
    assert {x: compact_money(x) for x in cases} == cases
    assert all(len(text) <= 5 for text in cases.values())


def test_the_compact_ladder_with_and_without_the_order() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000, liq 91,139.24 (-8.86 %)
    compared = compare_pending(
        eng, market_order("BTC", LONG, 0.1, 10, ISO), market="BTC", clock=lambda: 0.0
    )
    shown = ladder_lines(compared, 100, "red")
    lines = shown.plain.splitlines()
    moves = "".join((f"{m:+d}%" if m else "0%").rjust(6) for m in range(-30, 31, 5))
    assert lines[0] == "What if BTC " + moves
    # without: 0.1 BTC gains or loses 500 per 5 %. Walking down in 0.25 % sub-steps it is
    # liquidated at 91,000 (-9 %), closed at the mark (Hyperliquid): 0.1 x 9,000 = 900 lost,
    # the other 100 of margin returned; from there on the loss stays 900.
    cells = ["-900"] * 5 + ["-500", "0", "+500", "+1.0k", "+1.5k", "+2.0k", "+2.5k", "+3.0k"]
    assert lines[1] == "Now".ljust(12) + "".join(c.rjust(6) for c in cells)
    # with the order: 0.2 BTC at the same liquidation price, twice the figures
    cells = ["-1.8k"] * 5 + ["-1.0k", "0", "+1.0k", "+2.0k", "+3.0k", "+4.0k", "+5.0k", "+6.0k"]
    assert lines[2] == "With order".ljust(12) + "".join(c.rjust(6) for c in cells)
    # the -10 % cell (the liquidation met since -5 %) in reverse; those beyond it in red
    at_10 = len(lines[0]) + 1 + 12 + 4 * 6 + 2
    at_20 = at_10 - 2 * 6
    assert {str(s.style) for s in shown.spans if s.start <= at_10 < s.end} == {"bold reverse red"}
    assert {str(s.style) for s in shown.spans if s.start <= at_20 < s.end} == {"red"}
    assert lines[3] == (
        "First liq.".ljust(12) + "now: falls -9.0 % BTC iso · with order: falls -9.0 % BTC iso"
    )
    assert first_liquidations(compared.without)[1] is None
    narrow = ladder_lines(compared, 60).plain.splitlines()
    assert narrow[0] == "What if BTC " + "".join(
        (f"{m:+d}%" if m else "0%").rjust(6) for m in range(-30, 31, 10)
    )


def test_a_refused_order_says_why_in_the_compact_ladder() -> None:
    eng = make_engine()
    eng.open("BTC", LONG, 0.1, 10, ISO)
    compared = compare_pending(
        eng, market_order("BTC", LONG, 0.1, 10, CROSS), market="BTC", clock=lambda: 0.0
    )
    assert compared.rejection
    lines = ladder_lines(compared, 100).plain.splitlines()
    assert lines[2].startswith("With order   refused: ")
    assert lines[3] == "First liq.".ljust(12) + "now: falls -9.0 % BTC iso"
    assert ladder_lines("BTC has no price yet.", 100).plain == "What if: BTC has no price yet."
