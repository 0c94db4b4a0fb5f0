"""The end of a drill: won or lost, the score, what decided it, the lesson, the run's mark path
with the trader's actions on it, and the drill's record. r tries again, d picks another drill,
Esc (or Enter) goes back to the trader's own account."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header

from tui.drills.attempts import DrillResult, markers_of, path_of
from tui.drills.scoring import clock
from tui.screens.base import DeskScreen
from tui.widgets.path_chart import PathChart
from tui.widgets.plain import Plain


def verdict_text(result: DrillResult, styles: dict[str, str]) -> Group:
    """The headline, what decided it, and the lesson."""
    verdict = result.verdict
    head = Text()
    if verdict.won:
        head.append(" WON ", style=f"bold reverse {styles.get('success', '')}")
        head.append(f"  score {verdict.score} of 100", style="bold")
    else:
        head.append(" LOST ", style=f"bold reverse {styles.get('error', '')}")
        head.append("  score 0", style="bold")
    head.append(f"   {result.drill.title} · at {clock(verdict.at)} of feed time", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    table.add_row("What decided it", verdict.decided_by)
    table.add_row("Lesson", result.drill.lesson)
    return Group(head, Text(""), table)


def record_text(result: DrillResult) -> str:
    record = result.record
    lines = []
    if record is not None and record.attempts:
        best = "—" if record.best is None else str(record.best)
        lines.append(
            f"Best {best} · {record.attempts} attempt{'s' if record.attempts != 1 else ''}, "
            f"{record.wins} won"
        )
    elif result.attempt_id is None:
        lines.append("This attempt was not saved.")
    if result.problem:
        lines.append(result.problem)
    lines.append("Your own account is back as you left it.")
    return "  ·  ".join(lines)


class DrillEndScreen(DeskScreen[str | None]):
    """Answers ``"retry"`` (r), ``"drills"`` (d) or ``None`` (Esc / Enter: back)."""

    SUB_TITLE = "Drill over"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "answer('retry')", "Try again", id="drill_end.retry"),
        Binding("d", "answer('drills')", "Drills", id="drill_end.drills"),
        Binding("escape,enter", "answer('')", "Back to your account", id="drill_end.back"),
    ]
    DEFAULT_CSS = """
    DrillEndScreen #end-body { height: 1fr; padding: 0 1; }
    DrillEndScreen #end-verdict { height: auto; padding: 1 0; }
    DrillEndScreen #end-path { height: 1fr; min-height: 6;
        border: round $panel-lighten-2; border-title-color: $text-muted; }
    DrillEndScreen #end-record { height: auto; color: $text-muted; }
    """

    def __init__(self, result: DrillResult) -> None:
        super().__init__(id="drill-end")
        self.result = result
        self._answered = False

    def compose(self) -> ComposeResult:
        result = self.result
        market = result.drill.market
        yield Header(show_clock=False, icon="◆")
        with Vertical(id="end-body"):
            yield Plain(verdict_text(result, self.number_styles()), id="end-verdict")
            chart = PathChart(
                path_of(result.tape, market),
                markers_of(result.tape, market),
                result.tape.end,
                self.number_styles(),
                id="end-path",
            )
            chart.border_title = f"{market} mark, feed time"
            yield chart
            yield Plain(record_text(result), id="end-record")
        yield Footer(compact=True)

    def action_answer(self, answer: str) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(answer or None)
