"""The drill strip on the trading screen: while a drill runs, its title, the clock in feed time
against the limit, whether the clock is stopped, and the goal. Hidden otherwise."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.drills.runner import DrillRun
from tui.drills.scoring import clock


def bar_text(run: DrillRun, styles: dict[str, str]) -> Text:
    """Two lines: the drill and its clock, then the goal (wrapped by the widget)."""
    drill = run.drill
    source = run.source
    text = Text()
    text.append(" DRILL ", style=f"bold reverse {styles.get('warning', '')}")
    text.append(f" {drill.title}", style="bold")
    text.append(f"   {clock(run.elapsed)} / {clock(drill.time_limit)}", style="bold")
    text.append(f" feed time · {source.speed:g}x", style="dim")
    if source.paused and not run.time_up:
        text.append("   ⏸ clock stopped: p starts it", style=f"bold {styles.get('warning', '')}")
    text.append("   /drill ends it", style="dim")
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
        key = (
            run.drill.name,
            int(run.elapsed),
            run.source.paused,
            run.source.speed,
            run.time_up,
        )
        if key == self._shown:
            return
        self._shown = key
        self.update(bar_text(run, styles))
