"""The season pictures: hand-worked layouts of the equity curve and of a liquidation's
post-mortem (pure), the widgets in a tiny app, and snapshots at 120x36 and 80x24 on a
deterministic season."""

from __future__ import annotations

from tests.ui.pictures_app import PicturesApp, seeded_season
from tui.engine import Liquidation, MarginMode, Side
from tui.engine.models import Fill
from tui.market.candles import Candle
from tui.pictures import EquityCurve, LiquidationPicture
from tui.widgets.chart import Run
from tui.widgets.pictures import (
    EquityPicture,
    PostMortemPicture,
    bar_cells,
    equity_layout,
    postmortem_layout,
    slices,
)

ISO = MarginMode.ISOLATED
LONG = Side.LONG


def text(row: list[Run]) -> str:
    return "".join(t for t, _ in row)


def seconds(t: float) -> str:
    return f"{t:g}s"


def test_bars_fill_eighths_from_the_bottom_or_halves_from_the_top() -> None:
    assert bar_cells(0.5, 2) == [" ", "█"]  # 8 of 16 eighths
    assert bar_cells(0.3, 2) == [" ", "▅"]  # 4.8 -> 5 eighths
    assert bar_cells(0.9, 2) == ["▆", "█"]  # 14.4 -> 14
    assert bar_cells(2.0, 1) == ["█"] and bar_cells(-1.0, 1) == [" "]  # clipped
    assert bar_cells(float("nan"), 2) == [" ", " "]
    assert bar_cells(0.75, 2, from_top=True) == ["█", "▀"]  # 3 of 4 halves, hanging


def test_slices_gather_points_by_time() -> None:
    points = [Candle(float(t), v, v, v, v, float(t)) for t, v in enumerate((5, 7, 3, 4))]
    assert slices(points, 0.0, 4.0, 2) == [
        Candle(0.0, 5, 7, 5, 7, 1.0),  # 0 s and 1 s
        Candle(2.0, 3, 4, 3, 4, 3.0),  # 2 s and 3 s
    ]
    assert slices(points, 0.0, 3.0, 6)[5] == Candle(3.0, 4, 4, 4, 4, 3.0)  # the end: last slice
    assert slices(points, 0.0, 3.0, 6)[1] is None


def fill(seq: int, time: float, realized: float) -> Fill:
    return Fill(seq, time, "BTC", LONG, 0.1, 100_000, 0.0, ISO, 10, "close", realized)


def test_the_equity_picture_by_hand() -> None:
    """1,000 -> 900 at 10 s -> 1,200 at 20 s, drawn 40 x 8: 3 equity rows, a rule, 2 drawdown
    rows. Range 900..1,200 padded by 8 % of 300 = 24: 876..1,224, 24 eighths over 348. The
    axis is 11 wide (``1,200.00`` and 3), so 29 columns: 0 s in column 0, 10 s in column
    int(10 / 20 * 29) = 14, 20 s in the last (28); empty columns carry the value before.
    1,000: (1,000 - 876) / 348 * 24 = 8.55 -> 9 eighths (a full bottom cell and a ▁);
    900: 1.66 -> 2 (▂); 1,200: 22.3 -> 22 (▆ over two full cells). The starting balance's
    row, int((1,224 - 1,000) / 348 * 3) = 1, shows ┄ where the area leaves it empty. The
    drawdown, 100 from 10 s to 20 s, is the largest: a full bar."""
    curve = EquityCurve(1_000, 0.0)
    curve.feed(fill(1, 10.0, -100))
    curve.feed(fill(2, 20.0, 300))
    rows = [text(r) for r in equity_layout(40, 8, curve, title="Equity", time_label=seconds)]
    assert rows == [
        "Equity 1,200.00 +200.00 (+20.00%) · peak",
        " " * 28 + "▆┤ 1,200.00 ",
        "▁" * 14 + "┄" * 14 + "█┤ 1,000.00 ",
        "█" * 14 + "▂" * 14 + "█┤ 900.00   ",
        "─" * 20 + " Drawdown" + " " * 11,
        " " * 14 + "█" * 14 + " ┤ 0.00     ",
        " " * 14 + "█" * 14 + " ┤ -100.00  ",
        "0s" + " " * 24 + "20s" + " " * 11,
    ]
    assert all(len(r) == 40 for r in rows)


def test_no_record_no_equity_picture() -> None:
    rows = [text(r) for r in equity_layout(40, 5, EquityCurve(1_000, 0.0))]
    assert rows[0].startswith("Equity 1,000.00 0.00 (0.00%)")  # a zero change has no sign
    assert "No trades yet" in rows[3]  # the middle of the 4 rows under the header


def picture(market: str = "BTC") -> LiquidationPicture:
    """A long bought at 100 and liquidated at 89, four seconds later: marks 100, 96, 93, 91,
    89; its liquidation price 90.5 all along; margin ratio 10, 30, 60, 85 and 100 %."""
    liq = Liquidation(7, 4.0, market, LONG, 1, 100, 89, ISO, 10, 10, -11, 0, 1, 0.0, "market")
    marks = tuple(
        Candle(float(t), p, p, p, p, float(t)) for t, p in enumerate((100, 96, 93, 91, 89))
    )
    liqs = tuple(Candle(float(t), 90.5, 90.5, 90.5, 90.5, float(t)) for t in range(4))
    ratios = tuple(
        Candle(float(t), r, r, r, r, float(t)) for t, r in enumerate((0.1, 0.3, 0.6, 0.85, 1.0))
    )
    return LiquidationPicture(liq, marks, liqs, ratios)


def test_the_post_mortem_picture_by_hand() -> None:
    """40 x 12: 6 price rows, a rule, 3 ratio rows. Range 89..100 (entry 100 in it) padded by
    6 % of 11: 88.34..100.66, row(p) = int((100.66 - p) / 12.32 * 6): 100 -> 0, 96 -> 2,
    93 -> 3, 91 -> 4, 89 -> 5, the liquidation price 90.5 -> 4. The axis: "Entry 100.000"
    and 5, 18 wide; 22 columns, a second every 5.5: columns 0, 5, 11, 16 and the last, each
    drawn flat until the next."""
    rows = postmortem_layout(40, 12, picture(), time_label=seconds)
    lines = [text(r) for r in rows]
    assert all(len(line) == 40 for line in lines)
    assert lines[0] == "BTC isolated long 1 at 10x · entry 100.0"  # cut to the width
    grid = [line[:22] for line in lines[1:7]]
    assert grid[0] == "┃" * 5 + "─" * 17  # 100 until 1 s, then the entry line alone
    assert grid[2] == " " * 5 + "┃" * 6 + " " * 11  # 96
    assert grid[3] == " " * 11 + "┃" * 5 + " " * 6  # 93
    assert grid[4] == "═" * 16 + "┃" * 5 + "═"  # the liquidation price, the mark at 91 over it
    assert grid[5] == " " * 21 + "✕"  # liquidated at 89
    assert lines[1][22:] == "┤ Entry 100.000   "
    assert lines[5][22:] == "┤ Liq 90.500      "
    assert lines[6][22:] == "┤ 89.000          "  # the liquidation's mark
    assert lines[7] == "─" * 6 + " Position margin ratio, up to 100%"
    ratio_rows = [line[:22] for line in lines[8:11]]
    # 10 %: round(0.1 * 24) = 2 eighths; 30 %: 7 (▇); 60 %: 14 (█ ▆); 85 %: 20 (█ █ ▄); 100 %:
    # the full bar, in the error colour
    assert ratio_rows == [
        " " * 16 + "▄" * 5 + "█",
        " " * 11 + "▆" * 5 + "█" * 6,
        "▂" * 5 + "▇" * 6 + "█" * 11,
    ]
    assert [r[21] for r in ratio_rows] == ["█", "█", "█"]
    danger = [role for t, role in rows[8] if "█" in t]
    assert danger == ["danger"]
    assert lines[11].startswith("0s") and lines[11][:22].endswith("4s")


def test_pictures_fit_every_size_and_escape_a_hostile_name() -> None:
    evil = picture("EV\x1b[2J\u202e")
    curve = EquityCurve(1_000, 0.0)
    curve.feed(fill(1, 10.0, -100))
    for width in (1, 10, 23, 24, 40, 81, 130):
        for height in (1, 3, 6, 7, 12, 30):
            for rows in (
                equity_layout(width, height, curve),
                postmortem_layout(width, height, evil),
            ):
                assert len(rows) == height
                assert all(len(text(r)) == width for r in rows)
    title = text(postmortem_layout(120, 12, evil)[0])
    assert "\x1b" not in title and "\u202e" not in title and "EV\\x1b[2J\\u202e" in title


async def test_the_widgets_draw_what_they_are_given() -> None:
    curve, pm = seeded_season()
    app = PicturesApp(curve, None)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PostMortemPicture)
        assert "No picture" in "".join(s.text for s in view.render_line(view.size.height // 2))
        view.show(pm)
        await pilot.pause()
        assert view.picture is pm
        assert view.render_line(0).text.startswith("SOL isolated long 100 at 20x")
        equity = app.query_one(EquityPicture)
        assert equity.render_line(0).text.startswith("Season 1 equity")


def pictures_app() -> PicturesApp:
    return PicturesApp(*seeded_season())


def test_pictures_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(pictures_app(), terminal_size=(120, 36))


def test_pictures_snapshot_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(pictures_app(), terminal_size=(80, 24))
