"""What the drill screens draw, as plain data: the rule in words, the mark path with the
trader's actions, the drill strip."""

from __future__ import annotations

from tests.drills.play import drill, trader_session
from tui.drills.scoring import Drawdown, Hold, LeastMargin, MarginRatio, explain
from tui.engine import Side
from tui.widgets.drill_bar import bar_text
from tui.widgets.path_chart import path_layout


def test_each_rule_says_how_it_scores() -> None:
    assert explain(Drawdown(max_drawdown=0.08, hold=(Hold(4_500, "BTC", Side.LONG),))) == [
        "Equity's drawdown from its peak under 8%: 50 + 50 × (1 − worst ÷ 8%).",
        "Keep at least $4,500 of BTC long open.",
        "A liquidation loses.",
    ]
    assert explain(MarginRatio(below=0.5, shock_at=70, within=60, liquidation_loses=False)) == [
        "Cross margin ratio under 50% within 60 s of the shock at 01:10: 100 at once, 50 at "
        "the deadline."
    ]
    margin = explain(LeastMargin(market="BTC", par=500, max_added=1_500, hold=(Hold(1, after=60),)))
    assert margin[1] == "Keep at least $1 of positions open from 01:00."
    for d in (drill(name) for name in ("flash-crash", "funding-day", "two-sigma")):
        assert explain(d.rule)[-1] == "A liquidation loses."


def _text(rows: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(text for text, _ in row) for row in rows]


def test_the_path_runs_across_the_chart_with_the_actions_on_it() -> None:
    points = [(0.0, 100.0), (30.0, 100.0), (60.0, 90.0), (90.0, 95.0), (120.0, 95.0)]
    markers = [(0.0, "sell"), (60.0, "add"), (61.0, "liquidation"), (5.0, "nonsense")]
    rows = path_layout(points, markers, 120.0, width=40, height=8)
    text = _text(rows)
    assert len(rows) == 8 and all(len(line) == 40 for line in text[:6])
    label = len("100.000") + 1  # the widest price label and its tick
    assert text[0].startswith("100.000┤▼")  # sold at the start, at the top
    assert text[5].startswith(" 90.000┤")
    # 60 s of 120 is the middle column of 32: the liquidation sits on the path at the low,
    # drawn over the margin added there (it matters more).
    assert text[5][label + 16] == "✕"
    assert "│" in text[3]  # the fall from 100 to 90 is joined up
    assert text[6].split() == ["00:00", "02:00"]
    assert text[7].split() == ["▼", "sold", "✕", "liquidated"]
    roles = {role for row in rows for _, role in row}
    assert {"axis", "path", "sell", "liquidation"} <= roles


def test_a_flat_path_and_a_tiny_chart_still_draw() -> None:
    flat = _text(path_layout([(0.0, 5.0), (10.0, 5.0)], [], 10.0, width=30, height=5))
    assert flat[0].startswith("5.0250┤") and flat[2].startswith("4.9750┤")
    assert _text(path_layout([], [], 10.0, width=30, height=5)) == ["No prices were recorded."]
    assert _text(path_layout([(0.0, 1.0)], [], 10.0, width=10, height=3)) == ["(too small"]


def test_the_strip_shows_the_clock_and_what_fits() -> None:
    session = trader_session()
    session.start_drill(drill("flash-crash"))
    assert session.drill is not None
    run = session.drill.run
    wide = str(bar_text(run, {}, 120))
    assert wide.startswith(" DRILL  Survive the flash crash   00:00 / 30:00 · 10x")
    assert "p starts the clock" in wide and "/drill ends it" in wide
    assert wide.splitlines()[1].startswith("Goal: Keep your equity's drawdown under 8%")
    narrow = str(bar_text(run, {}, 80))
    assert "p starts the clock" in narrow and "/drill ends it" not in narrow
    assert "p starts the clock" not in str(bar_text(run, {}, 60))
    run.source.paused = False
    assert "p starts the clock" not in str(bar_text(run, {}, 120))
    session.end_drill()
    session.start_drill(drill("funding-day"))
    assert session.drill is not None
    assert "0:00:00 / 24:00:00 · 720x" in str(bar_text(session.drill.run, {}, 120))
