"""The drill strip on the trading screen: while a drill runs, its title, the clock in feed time
against the limit, whether the clock is stopped, and the goal. Hidden otherwise."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.drills.runner import DrillRun
from tui.drills.scoring import clock


def bar_text(run: DrillRun, styles: dict[str, str], width: int = 120) -> Text:
    """Two lines: the drill and its clock, then the goal (wrapped by the widget). What fits
    in ``width`` cells: the hints go first on a narrow terminal."""
    drill = run.drill
    source = run.source
    warning = styles.get("warning", "")
    long = drill.time_limit >= 3600  # the clock as the limit is written: 0:29:13 / 24:00:00
    parts: list[tuple[str, str]] = [
        (" DRILL ", f"bold reverse {warning}"),
        (f" {drill.title}", "bold"),
        (f"   {clock(run.elapsed, long)} / {clock(drill.time_limit)}", "bold"),
        (f" · {source.speed:g}x", "dim"),
    ]
    hints: list[tuple[str, str]] = []
    if source.paused and not run.time_up:
        hints.append(("   p starts the clock", f"bold {warning}"))
    hints.append(("   /drill ends it", "dim"))
    used = sum(len(t) for t, _ in parts) + 2
    for hint in hints:  # in order of importance: stop at the first that does not fit
        if used + len(hint[0]) > width:
            break
        parts.append(hint)
        used += len(hint[0])
    text = Text(no_wrap=False)
    for piece, style in parts:
        text.append(piece, style=style)
    text.append("\nGoal: ", style="dim")
    text.append(drill.goal)
    return text


class DrillBar(Static):
    """Shown while ``session.drill`` is set; repaints when its text changes."""

    DEFAULT_CSS = """
    DrillBar { height: auto; padding: 0 1; background: $warning 10%; display: none; }
    DrillBar.-running { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._shown: object = None

    def show(self, run: DrillRun | None, styles: dict[str, str]) -> None:
        self.set_class(run is not None, "-running")
        if run is None:
            self._shown = None
            return
        width = self.app.size.width
        key = (
            run.drill.name,
            int(run.elapsed),
            run.source.paused,
            run.source.speed,
            run.time_up,
            width,
        )
        if key == self._shown:
            return
        self._shown = key
        self.update(bar_text(run, styles, width))
