"""The Drills tab (issue 17): one row per drill, with its attempts, wins, best score and last
attempt, read from the drills' account in a worker thread (the catalogue's files and the
drills' SQLite file are both read off the event loop). With no attempt yet it says how to
start one (``/drill``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.drills import Catalogue, load_drills
from tui.format import DASH
from tui.journal import JournalError
from tui.journal.drills import DrillScore, DrillScores, drill_scores
from tui.safe import safe_text
from tui.screens.base import desk
from tui.screens.history.pane import HistoryPane
from tui.widgets.plain import Plain

HOW_TO_START = "No drill tried yet: type /drill on the desk to pick one and start it."
NOT_SAVED = "Drill scores are kept only when the account is saved (this launch has no journal)."


@dataclass(frozen=True, slots=True)
class DrillRow:
    """One drill's line: its title, and its record in this account."""

    name: str
    title: str
    record: DrillScore


def drill_rows(catalogue: Catalogue, scores: DrillScores) -> list[DrillRow]:
    """Every drill of the catalogue in its order, then any drill with attempts that is no
    longer in it (a removed file of the trader's), by name."""
    rows = [
        DrillRow(name, drill.title, scores.get(name)) for name, drill in catalogue.drills.items()
    ]
    known = set(catalogue.drills)
    rows += [
        DrillRow(name, name, record)
        for name, record in sorted(scores.by_drill.items())
        if name not in known
    ]
    return rows


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def drills_table(rows: list[DrillRow], styles: dict[str, str]) -> Table:
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("Drill", no_wrap=True, overflow="ellipsis", max_width=36)
    table.add_column("Tries", justify="right", no_wrap=True)
    table.add_column("Won", justify="right", no_wrap=True)
    table.add_column("Best", justify="right", no_wrap=True)
    table.add_column("Last", no_wrap=True)
    table.add_column("When", no_wrap=True)
    for row in rows:
        record = row.record
        last = record.last
        if last is None:
            outcome, at = Text(DASH if record.attempts else "not tried", style="dim"), DASH
        else:
            colour = styles["up"] if last.won else styles["down"]
            outcome, at = Text(f"{last.outcome} {last.score}", style=colour), when(last.ended)
        table.add_row(
            Text(safe_text(row.title)),
            f"{record.attempts:,}",
            f"{record.wins:,}",
            DASH if record.best is None else str(record.best),
            outcome,
            at,
        )
    return table


class DrillsPane(HistoryPane):
    """Each drill's attempts, wins, best and last attempt (see the module doc)."""

    DEFAULT_CSS = """
    DrillsPane #drills-scroll { height: 1fr; padding: 0 1; }
    DrillsPane #drills-note { color: $text-muted; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="drills-scroll"):
            yield Plain("Loading…", id="drills-table")
            yield Plain("", id="drills-note")

    def start(self) -> None:
        super().start()
        self._reload()

    def reload(self) -> None:
        if self.started:
            self._reload()

    def _reload(self) -> None:
        self.run_worker(self._load(), group="drills", exclusive=True, exit_on_error=False)

    def focus_content(self) -> None:
        self.query_one("#drills-scroll").focus()

    def _read(self) -> tuple[list[DrillRow], str]:
        """In a worker thread: the catalogue and the scores, and a note under them."""
        app = self.app
        drills = getattr(app, "drills", None)
        catalogue = drills() if callable(drills) else None
        if not isinstance(catalogue, Catalogue):
            catalogue = load_drills(None)
        session = desk(app).session
        note = ""
        if session.data_dir is None or session.journal is None:
            scores, note = DrillScores({}), NOT_SAVED
        else:
            try:
                scores = drill_scores(session.data_dir)
            except JournalError as exc:
                scores, note = DrillScores({}), f"The drill scores cannot be read: {exc}"
        if scores.unreadable:
            note = f"{scores.unreadable:,} attempt(s) could not be read and are left out."
        if not any(record.attempts for record in scores.by_drill.values()):
            note = f"{note}\n{HOW_TO_START}".strip()
        return drill_rows(catalogue, scores), note

    async def _load(self) -> None:
        try:
            rows, note = await asyncio.to_thread(self._read)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.query_one("#drills-table", Plain).update(
                safe_text(f"Could not read the drills: {exc}")
            )
            return
        self.show(rows, note)

    def show(self, rows: list[DrillRow], note: str) -> None:
        table = self.query_one("#drills-table", Plain)
        if rows:
            table.update(Group(drills_table(rows, self.colours)))
        else:
            table.update("No drills could be loaded.")
        self.query_one("#drills-note", Plain).update(safe_text(note))
