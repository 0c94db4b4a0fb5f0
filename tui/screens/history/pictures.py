"""The Pictures tab (issue 15 item 5): the season's equity curve and drawdown, and the latest
liquidation pictures this launch.

The curve is folded from every record of the season, oldest first, in a worker thread on the
history view's own connection (:meth:`tui.journal.HistorySource.fold`: streamed a chunk at a
time, into the curve's bounded buckets), so a large account never holds the event loop; it is
folded again when records come while the tab is shown. The liquidation pictures are the
session's (:attr:`tui.session.Session.traces`, at most 20, in memory): the newest
:data:`SHOWN` are drawn, newest first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll

from tui.journal import HistorySource
from tui.pictures import EquityCurve, LiquidationPicture, equity_curve
from tui.safe import safe_text
from tui.screens.base import desk
from tui.screens.history.pane import HistoryPane
from tui.widgets.pictures import EquityPicture, PostMortemPicture
from tui.widgets.plain import Plain
from tui.widgets.styles import NumberStyles

SHOWN = 3
"""Liquidation pictures drawn (the newest)."""
NO_PICTURES = (
    "No liquidation pictures this launch: a liquidation's path is drawn here once perpdesk "
    "has seen its prices (earlier launches kept no prices)."
)


def fold_equity(source: HistorySource) -> EquityCurve:
    """The season's equity curve from every record (call from a worker thread)."""
    balance, started = source.start
    return source.fold(lambda records: equity_curve(records, balance, started))


class PicturesPane(HistoryPane):
    """The equity curve with its drawdown, then the latest liquidation pictures."""

    DEFAULT_CSS = """
    PicturesPane #pictures-scroll { height: 1fr; padding: 0 1; }
    PicturesPane EquityPicture { height: 12; min-height: 8; }
    PicturesPane #equity-status { color: $text-muted; }
    PicturesPane #liquidation-pictures { height: auto; }
    PicturesPane PostMortemPicture { height: 11; margin-top: 1; }
    PicturesPane #liquidations-note { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, source: HistorySource, colours: NumberStyles, **kwargs: Any) -> None:
        super().__init__(source, colours, **kwargs)
        self.curve: EquityCurve | None = None
        self.shown: list[int] = []  # the liquidation pictures drawn, by record number

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pictures-scroll"):
            yield EquityPicture(id="equity-picture")
            yield Plain("Loading…", id="equity-status")
            yield Vertical(id="liquidation-pictures")
            yield Plain("", id="liquidations-note")

    def start(self) -> None:
        super().start()
        self._refresh()

    def records_changed(self) -> None:
        if self.started:
            self._refresh()

    reload = records_changed

    def focus_content(self) -> None:
        self.query_one("#pictures-scroll").focus()

    def _refresh(self) -> None:
        self.run_worker(self._load(), group="equity", exclusive=True, exit_on_error=False)
        self.run_worker(self._liquidations(), group="liqs", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        status = self.query_one("#equity-status", Plain)
        try:
            curve = await asyncio.to_thread(fold_equity, self.source)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status.update(safe_text(f"Could not read the records: {exc}"))
            return
        self.curve = curve
        self.query_one(EquityPicture).show(curve, "Equity this season")
        moved = curve.records
        status.update(
            f"Realized equity after each of {moved:,} record{'s' if moved != 1 else ''} that "
            "moved it (fills, funding, liquidations); the drawdown from its peak under it."
            if moved
            else "Nothing has moved the equity yet: it changes as positions are closed, "
            "funding is paid and liquidations happen."
        )

    async def _liquidations(self) -> None:
        pictures: list[LiquidationPicture] = desk(self.app).session.traces.pictures
        newest = pictures[::-1][:SHOWN]
        seqs = [p.liquidation.seq for p in newest]
        note = self.query_one("#liquidations-note", Plain)
        if not newest:
            note.update(NO_PICTURES)
        elif len(pictures) > SHOWN:
            note.update(f"The newest {SHOWN} of {len(pictures)} liquidation pictures this launch.")
        else:
            note.update("")
        if seqs == self.shown:
            return
        self.shown = seqs
        box = self.query_one("#liquidation-pictures", Vertical)
        await box.remove_children()
        widgets = [PostMortemPicture() for _ in newest]
        await box.mount_all(widgets)
        for widget, picture in zip(widgets, newest, strict=True):
            widget.show(picture)
