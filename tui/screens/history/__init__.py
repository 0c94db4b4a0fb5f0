"""History (`h`): the season's fills, liquidations with their post-mortems, funding, margin
moves, closed positions, orders and stats, read a page at a time.

Nothing here reads the whole history. Each tab is built the first time it is shown, and reads
its first page in a worker thread (``asyncio.to_thread``): the feed, the heartbeat and the
liquidation checks go on while it loads. Further pages are read as the cursor nears the end.
Counts and stats come from the journal's ledger. New records while the screen is open: a table
showing its newest page reads that page again (one bounded query); one scrolled further down
says how many are new, and ``r`` shows them. Exports run in a worker with their progress
shown here. Closing the screen closes its view of the account and drops what it loaded.

Adding a tab: a :class:`~tui.screens.history.pane.HistoryPane` subclass (a
:class:`~tui.screens.history.pane.TablePane` for a table) and one :class:`Tab` in
:data:`TABS`; its number key, label and export follow from the entry. Adding a picture: a
widget yielded from ``StatsPane.compose_pictures`` (the season) or
``LiquidationsPane.compose_detail`` (the post-mortem of the highlighted liquidation, updated
in ``show_detail``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header, ProgressBar, TabbedContent, TabPane

from tui.journal import HistorySource
from tui.messages import ExportRequested
from tui.screens.base import DeskScreen
from tui.screens.history.drills import DrillsPane
from tui.screens.history.pane import HistoryPane
from tui.screens.history.pictures import PicturesPane
from tui.screens.history.stats import StatsPane, summary
from tui.screens.history.tables import (
    ClosedPane,
    FillsPane,
    FundingPane,
    LiquidationsPane,
    OrdersPane,
    TransfersPane,
)
from tui.session import Beat
from tui.widgets.plain import Plain


def forget_render_caches() -> None:
    """Let the lines the closed screen's widgets last drew go. Textual 8 keeps every widget's
    cache of drawn lines alive after the widget is gone (``StylesCache.get_inner_outer`` is an
    ``lru_cache`` keyed on the cache itself: textual issue 6665), up to 1,024 widgets' worth:
    with a table of history among them, megabytes that a closed screen would keep. Emptying
    that cache costs the next frame a few style additions. (Gone from a Textual that fixed it.)"""
    try:
        from textual._styles_cache import StylesCache

        StylesCache.get_inner_outer.cache_clear()
    except (ImportError, AttributeError):
        pass


@dataclass(frozen=True, slots=True)
class Tab:
    """A tab of the history screen: its id (``#tab-<id>``, the key binding ``history.<id>``),
    its label, and the pane that shows it."""

    id: str
    label: str
    pane: type[HistoryPane]


TABS: tuple[Tab, ...] = (
    Tab("fills", "Fills", FillsPane),
    Tab("liquidations", "Liquidations", LiquidationsPane),
    Tab("funding", "Funding", FundingPane),
    Tab("transfers", "Transfers", TransfersPane),
    Tab("closed", "Closed", ClosedPane),
    Tab("orders", "Orders", OrdersPane),
    Tab("stats", "Stats", StatsPane),
    Tab("drills", "Drills", DrillsPane),
    Tab("pictures", "Pictures", PicturesPane),
)
"""The tabs, in order: the n-th is shown by the key n."""


class HistoryScreen(DeskScreen[None]):
    """Read-only; pages the season's history (see the module's docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Back", id="history.close"),
        Binding("e", "export", "Export CSV", id="history.export"),
        Binding("r", "newest", "Newest", id="history.newest"),
        *(
            Binding(str(n), f"tab('{tab.id}')", tab.label, id=f"history.{tab.id}", show=False)
            for n, tab in enumerate(TABS, start=1)
        ),
    ]

    DEFAULT_CSS = """
    HistoryScreen #summary { height: 1; padding: 0 1; }
    HistoryScreen TabbedContent { height: 1fr; }
    HistoryScreen TabPane { padding: 0; height: 1fr; }
    HistoryScreen #export { height: 1; display: none; padding: 0 1; }
    HistoryScreen #export.-running { display: block; }
    HistoryScreen #export-text { width: auto; margin-right: 2; }
    HistoryScreen #export ProgressBar { width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.source: HistorySource | None = None
        self.panes: dict[str, HistoryPane] = {}
        self._stale: set[str] = set()  # built tabs that records came for while hidden
        self._mark: tuple[int, int] = (0, -1)
        self._summary_stats: object = None

    def compose(self) -> ComposeResult:
        self.source = self.session.history()
        self._mark = self.session.history_mark
        first = TABS[0]
        yield Header(show_clock=False, icon="◆")
        yield Plain("", id="summary")
        with TabbedContent(id="tabs", initial=f"tab-{first.id}"):
            for n, tab in enumerate(TABS, start=1):
                with TabPane(f"{n} {tab.label}", id=f"tab-{tab.id}"):
                    if tab is first:  # composed with the screen: one layout, not two
                        yield self._pane(tab, self.source)
        with Horizontal(id="export"):
            yield Plain("", id="export-text")
            yield ProgressBar(show_eta=False, id="export-bar")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "History"
        self.follow_heartbeat(self.show_beat)
        self._load_summary()
        pane = self.panes[TABS[0].id]
        pane.start()
        pane.focus_content()

    def _pane(self, tab: Tab, source: HistorySource) -> HistoryPane:
        pane = self.panes[tab.id] = tab.pane(source, self.number_styles(), id=tab.id)
        return pane

    def on_unmount(self) -> None:
        self._close_source()
        forget_render_caches()

    def _close_source(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None

    # ------------------------------------------------------------------ tabs

    @property
    def active_tab(self) -> str:
        active = self.query_one(TabbedContent).active or f"tab-{TABS[0].id}"
        return active.removeprefix("tab-")

    @property
    def active_pane(self) -> HistoryPane | None:
        return self.panes.get(self.active_tab)

    async def show_tab(self, tab_id: str) -> None:
        """Build the tab the first time it is shown; catch it up if records came meanwhile."""
        source = self.source
        if source is None:
            return
        pane = self.panes.get(tab_id)
        if pane is None:
            pane = self._pane(next(tab for tab in TABS if tab.id == tab_id), source)
            await self.query_one(f"#tab-{tab_id}", TabPane).mount(pane)
            pane.start()
        elif tab_id in self._stale:
            pane.records_changed()
        self._stale.discard(tab_id)
        pane.focus_content()
        self.call_after_refresh(pane.focus_content)  # (the tabs take the focus on a click)

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.source is not None:
            await self.show_tab(self.active_tab)

    # ------------------------------------------------------------------ live

    def show_beat(self, beat: Beat) -> None:
        self._show_export()
        mark = self.session.history_mark
        if mark == self._mark:
            return
        new_season = mark[0] != self._mark[0]
        self._mark = mark
        if new_season:
            self._restart()
            return
        self._load_summary()
        active = self.active_tab
        for tab_id, pane in self.panes.items():
            if tab_id == active:
                pane.records_changed()
            else:
                self._stale.add(tab_id)

    def _restart(self) -> None:
        """A new season: forget every tab and read the new season's history."""
        self._close_source()
        panes = list(self.panes.values())
        self.panes.clear()
        self._stale.clear()

        async def again() -> None:
            for pane in panes:
                await pane.remove()
            self.source = self.session.history()
            self._load_summary()
            await self.show_tab(self.active_tab)

        self.run_worker(again(), group="restart", exclusive=True)

    def _load_summary(self) -> None:
        self.run_worker(self._summary(), group="summary", exclusive=True, exit_on_error=False)

    async def _summary(self) -> None:
        import asyncio

        source = self.source
        if source is None:
            return
        try:
            stats = await asyncio.to_thread(source.stats)
        except asyncio.CancelledError:
            raise
        except Exception:
            return  # the tabs say what cannot be read
        self._summary_stats = stats.overall
        self._show_summary()

    def _show_summary(self) -> None:
        from tui.history import Stats

        stats = self._summary_stats
        if isinstance(stats, Stats):
            width = max(self.size.width - 2, 20)
            self.query_one("#summary", Plain).update(summary(stats, width))

    def on_resize(self) -> None:
        self._show_summary()  # the figures are kept: only the line is cut again

    def _show_export(self) -> None:
        job = self.session.export_job
        box = self.query_one("#export", Horizontal)
        box.set_class(job is not None, "-running")
        if job is None:
            return
        total = max(job.total, job.written)
        text = f"Exporting {job.kind}: {job.written:,}"
        text += f" of {total:,} rows" if total else " rows"
        self.query_one("#export-text", Plain).update(text)
        self.query_one("#export-bar", ProgressBar).update(total=total or None, progress=job.written)

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab_id: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab_id}"

    def action_close(self) -> None:
        self.dismiss(None)

    def action_newest(self) -> None:
        pane = self.active_pane
        if pane is not None:
            pane.reload()

    def action_export(self) -> None:
        pane = self.active_pane
        kind = pane.export if pane is not None else None
        if kind is None:
            label = next((tab.label for tab in TABS if tab.id == self.active_tab), "")
            self.notify(
                f"The {label.lower() or 'tab'} are not a table: show one of the tables (1-6) "
                "and press e.",
                title="Export",
                severity="warning",
            )
            return
        self.post_message(ExportRequested(kind))
