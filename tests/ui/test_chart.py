"""The price chart: hand-worked layouts (pure), repaint pacing, and snapshots of the widget
alone at 120x36 and 80x24 on candles from a seeded simulation."""

from __future__ import annotations

import math

from tests.ui.chart_app import ChartApp, levels_around, seeded_candles
from tui.market.candles import Candle
from tui.widgets.chart import PriceChart, Run, layout

# One candle, hand-worked. Range 90..115, padded by 4 % of 25 = 1: bottom 89, top 116; 9 plot
# rows = 18 half-rows, 2/3 of a half-row per unit. half(v) = int((116 - v) * 2 / 3):
# high 115 -> 0, close 108 -> 5, open 100.5 -> 10, low 90 -> 17.
CANDLE = Candle(start=0.0, open=100.5, high=115.0, low=90.0, close=108.0, last=30.0)


def text(row: list[Run]) -> str:
    return "".join(t for t, _ in row)


def test_a_candle_is_drawn_at_half_row_resolution() -> None:
    rows = layout(40, 11, [CANDLE], title="BTC · 1m")
    assert len(rows) == 11 and all(len(text(r)) == 40 for r in rows)
    assert text(rows[0]) == "BTC · 1m  O 100.500  H 115.000  L 90.000"  # cut at the width
    # prices need 7 cells: the axis is 11 wide, so 28 plot columns + a gap: the candle is at 27
    column = [text(rows[1 + r])[27] for r in range(9)]
    # halves 0-4 wick, 5-10 body, 11-17 wick
    assert column == ["│", "│", "╽", "┃", "┃", "╿", "│", "│", "│"]
    assert text(rows[1 + 2])[29:] == "┤  108.000 "  # the current price, at half(108) // 2 = 2
    assert text(rows[1 + 5])[29:] == "┤ 100.000  "  # round ticks every 20: only 100 fits
    assert text(rows[-1]).startswith("00:00")


def test_up_and_down_candles_take_their_roles() -> None:
    down = CANDLE._replace(start=60.0, open=108.0, close=100.5)
    rows = layout(40, 11, [CANDLE, down])
    # both bodies cover row 3; two colours, so two runs side by side, never one "┃┃"
    assert [(t, role) for t, role in rows[1 + 3] if "┃" in t] == [("┃", "up"), ("┃", "down")]


def test_levels_in_range_are_lines_and_far_ones_are_pinned_to_the_edge() -> None:
    rows = layout(40, 11, [CANDLE], [("Liq", 94.0, "liq"), ("TP", 200.0, "tp")])
    # the labels need 4 more cells: the axis takes a third (13), so 26 plot columns
    liq = rows[1 + 7]  # half(94) = int(22 * 2 / 3) = 14 -> row 7
    assert text(liq)[:27] == "═" * 25 + "│═"  # the wick of the candle at column 25 stays on top
    assert text(liq)[27:] == "┤ Liq 94.000 "
    assert ("Liq 94.000", "liq") in liq
    # TP at 200 would squeeze the candles below a third of the height: pinned, no line, and
    # its label keeps the name's first letter rather than cut the price
    top = text(rows[1])
    assert top[27:] == "┤ ↑ T 200.000" and "╌" not in top
    assert all("╌" not in text(r) for r in rows)


def test_on_a_narrow_axis_a_label_keeps_its_first_letter_then_only_its_price() -> None:
    # 40 wide: the axis takes a third, 13 cells, so 11 for a label: "Entry 100.000" (13) does
    # not fit, "E 100.000" (9) does; a pinned one takes the arrow too: "↓ L 10.000" (10)
    rows = layout(40, 11, [CANDLE], [("Entry", 100.0, "entry"), ("Liq", 10.0, "liq")])
    screen = [text(r)[27:] for r in rows[1:-1]]
    assert screen[5] == "┤ E 100.000  " and screen[8] == "┤ ↓ L 10.000 "


def test_a_level_inside_three_times_the_candles_range_is_drawn_in_range() -> None:
    rows = layout(40, 11, [CANDLE], [("SL", 70.0, "sl")])  # 70..115 is 1.8x the range
    assert any(text(r).startswith("╌╌╌") for r in rows[1:-1])
    assert not any("↓" in text(r) for r in rows)


def test_nothing_to_draw_says_so() -> None:
    rows = layout(30, 6, [], title="ETH · 5m")
    assert text(rows[0]).startswith("ETH · 5m")
    assert any("Waiting for prices…" in text(r) for r in rows)
    bad = CANDLE._replace(close=math.nan)
    assert any("Waiting" in text(r) for r in layout(30, 6, [bad]))
    assert any("Too small" in text(r) for r in layout(12, 6, [CANDLE]))
    assert any("install" in text(r) for r in layout(30, 6, [CANDLE], message="install it"))


def test_text_from_outside_is_shown_with_control_characters_escaped() -> None:
    rows = layout(60, 8, [CANDLE], [("x\x1b[2J", 100.0, "order")], title="B\x07TC")
    screen = "".join(text(r) for r in rows)
    assert "\x1b" not in screen and "\x07" not in screen
    assert "B\\x07TC" in screen


def test_every_size_gives_rows_of_exactly_the_width() -> None:
    candles = seeded_candles(60)
    levels = levels_around(candles[-1].close)
    for width in (1, 10, 16, 17, 25, 40, 80, 133):
        for height in (1, 2, 5, 9, 24):
            rows = layout(width, height, candles, levels, title="BTC · 1m")
            assert len(rows) == height
            assert all(len(text(r)) == width for r in rows), (width, height)


async def test_show_repaints_at_most_twice_a_second_and_coalesces() -> None:
    now = [100.0]
    candles = seeded_candles(30)
    app = ChartApp(candles, [])
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(PriceChart)
        chart._monotonic = lambda: now[0]
        await pilot.pause()
        built = chart.frames_built
        chart.show("BTC · 1m", candles[:-1], [])  # first change after a quiet spell: at once
        await pilot.pause()
        assert chart.frames_built == built + 1
        now[0] += 0.125
        for i in range(5):  # five updates within the half second: one repaint, later
            chart.show("BTC · 1m", candles[: -2 - i], [])
        await pilot.pause()
        assert chart.frames_built == built + 1
        assert chart.showing[1] == tuple(candles[:-6])  # the newest is kept, not yet drawn
        now[0] += 0.25
        chart.show("BTC · 1m", candles[:-6], [])  # 0.375 s: still held back
        await pilot.pause()
        assert chart.frames_built == built + 1
        now[0] += 0.125
        chart.show("BTC · 1m", candles[:-6], [])  # the next beat after half a second draws it
        await pilot.pause()
        assert chart.frames_built == built + 2
        now[0] += 1.0
        chart.show("BTC · 1m", candles[:-6], [])  # the same data again: nothing to do
        await pilot.pause()
        assert chart.frames_built == built + 2
        chart.show("BTC · 1m", candles[:-7], [])
        chart.show("BTC · 1m", candles[:-8], [])  # within the half second: held back ...
        await pilot.pause()
        assert chart.frames_built == built + 3
        chart.flush()  # ... unless the caller wants it now (a key changed the view)
        await pilot.pause()
        assert chart.frames_built == built + 4
        chart.flush()  # nothing new: nothing to draw
        await pilot.pause()
        assert chart.frames_built == built + 4
        chart.show("BTC · 1m", candles[:-9], [])  # held back: drawn a moment ago
        chart.catch_up()
        await pilot.pause()
        assert chart.frames_built == built + 4
        now[0] += 0.5
        chart.catch_up()  # a beat with nothing new draws what waits, once it is due
        await pilot.pause()
        assert chart.frames_built == built + 5 and chart.showing[1] == tuple(candles[:-9])


def chart_app() -> ChartApp:
    candles = seeded_candles(120)
    return ChartApp(candles, levels_around(candles[-1].close))


def test_chart_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(chart_app(), terminal_size=(120, 36))


def test_chart_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(chart_app(), terminal_size=(80, 24))
