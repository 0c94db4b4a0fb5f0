"""/drill: the drill picker. Each drill with its best score and attempts; the highlighted one's
brief, goal, clock and how it is scored. Enter starts it; Esc goes back."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header

from tui.drills import Catalogue, Drill
from tui.drills.scoring import clock, explain, usd
from tui.journal.drills import DrillScore, DrillScores
from tui.screens.base import DeskScreen
from tui.widgets.plain import Plain

WIDE = 100


def _minutes(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return clock(seconds)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def detail(drill: Drill, record: DrillScore) -> Group:
    """What the picker shows of one drill."""
    head = Text()
    head.append(drill.title, style="bold")
    head.append(
        f"\n{drill.name} · {_minutes(drill.time_limit)} of feed time · starts at "
        f"{drill.speed:g}x · {drill.venue.label} · {usd(drill.balance)}",
        style="dim",
    )
    if not drill.shipped:
        head.append(f"\nyour drill: {drill.origin}", style="dim")
    best = Text()
    if record.attempts == 0:
        best.append("not tried yet", style="dim")
    else:
        shown = "—" if record.best is None else str(record.best)
        best.append(
            f"{shown} · {record.attempts} attempt{'s' if record.attempts != 1 else ''}, "
            f"{record.wins} won"
        )
        if record.last is not None:
            last = record.last
            how = f"won {last.score}" if last.won else last.outcome
            best.append(f" · last {how} ({_when(last.ended)})", style="dim")
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    table.add_row("Goal", drill.goal)
    table.add_row("", "")
    table.add_row("Score", "\n".join(explain(drill.rule)))
    table.add_row("", "")
    table.add_row("Best", best)
    return Group(head, Text(""), Text(drill.brief), Text(""), table)


class DrillPickerScreen(DeskScreen[str | None]):
    """Pick a drill; the screen answers with its name (or ``None`` for Esc)."""

    SUB_TITLE = "Drills: a goal, a clock and a score"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="drills.back"),
        Binding("enter", "start", "Start", id="drills.start", priority=True),
    ]
    DEFAULT_CSS = """
    DrillPickerScreen #drill-body { height: 1fr; }
    DrillPickerScreen #drill-list { width: 48; height: 1fr; overflow-x: hidden; }
    DrillPickerScreen #drill-list.-narrow { width: 36; }
    DrillPickerScreen #drill-detail { width: 1fr; height: 1fr; padding: 0 1; }
    DrillPickerScreen .box { border: round $panel-lighten-2; border-title-color: $text-muted; }
    DrillPickerScreen #drill-problems { height: auto; max-height: 4; padding: 0 1;
        color: $warning; }
    DrillPickerScreen #drill-problems.-none { display: none; }
    """

    def __init__(self, catalogue: Catalogue, scores: DrillScores) -> None:
        super().__init__(id="drills")
        self.catalogue = catalogue
        self.scores = scores

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="drill-body"):
            table: DataTable[str] = DataTable(
                id="drill-list", cursor_type="row", zebra_stripes=True
            )
            table.add_class("box")
            table.border_title = "Drills"
            yield table
            with VerticalScroll(id="drill-detail", classes="box") as box:
                box.border_title = "Brief"
                yield Plain("", id="drill-text")
        problems = list(self.catalogue.problems)
        if self.scores.unreadable:
            problems.append(
                f"{self.scores.unreadable} saved attempt(s) could not be read and are left out."
            )
        yield Plain("\n".join(problems), id="drill-problems", classes="" if problems else "-none")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#drill-list", DataTable).focus()
        self._fit(self.size.width)
        self._show(self.selected())

    def on_resize(self) -> None:
        self._fit(self.size.width)

    def _fit(self, width: int) -> None:
        """The list's width for the terminal's, its rows cut to fit (built again: it is a
        short list that never ticks)."""
        narrow = width < WIDE
        table = self.query_one("#drill-list", DataTable)
        if table.row_count and narrow == table.has_class("-narrow"):
            return
        table.set_class(narrow, "-narrow")
        chosen = self.selected()
        # Borders, 1 cell of padding each side of each column, Best (4) and Tries (5; not
        # when narrow): what is left is the title's.
        room = 36 - 2 - 2 * 2 - 4 if narrow else 48 - 2 - 2 * 3 - 4 - 5
        table.clear(columns=True)
        table.add_column("Drill", key="title", width=room)
        table.add_column("Best", key="best", width=4)
        if not narrow:
            table.add_column("Tries", key="tries", width=5)
        for name, drill in self.catalogue.drills.items():
            record = self.scores.get(name)
            best = "—" if record.best is None else str(record.best)
            title = drill.title if len(drill.title) <= room else drill.title[: room - 1] + "…"
            cells = [title, Text(best, justify="right")]
            if not narrow:
                cells.append(Text(str(record.attempts), justify="right"))
            table.add_row(*cells, key=name)
        if chosen is not None:
            table.move_cursor(row=table.get_row_index(chosen))

    def selected(self) -> str | None:
        table = self.query_one("#drill-list", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    @on(DataTable.RowHighlighted)
    def _moved(self, event: DataTable.RowHighlighted) -> None:
        self._show(str(event.row_key.value) if event.row_key.value is not None else None)

    def _show(self, name: str | None) -> None:
        text = self.query_one("#drill-text", Plain)
        drill = self.catalogue.drills.get(name or "")
        if drill is None:
            text.update("No drills could be loaded.")
            return
        text.update(detail(drill, self.scores.get(drill.name)))

    def action_start(self) -> None:
        name = self.selected()
        if name is not None:
            self.dismiss(name)

    def action_back(self) -> None:
        self.dismiss(None)
