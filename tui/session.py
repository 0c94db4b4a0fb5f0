"""A trading session without Textual: engine, journal, price feed, settings, and what to say.

The app builds one :class:`Session` and every screen reads it. The session is the price feed's
sink (:class:`tui.market.MarkSink`); it places and closes orders, moves margin, starts a new
season and switches the price source. It says what happened as data the UI shows: lines for
the event log (:attr:`Session.log`), toasts (:meth:`Session.take_toasts`), a standing tip
(:attr:`Session.tip`) and questions to ask before acting (:class:`Question`). Engine records
wait in a queue until the UI's heartbeat calls :meth:`Session.drain`, so a burst of marks or a
funding round costs one repaint.

Nothing here imports Textual or rich: tests/test_session.py drives it without Pilot.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui.describe import describe, liquidation_toast
from tui.drills import Drill, DrillError
from tui.drills.attempts import DrillResult, Started, begin, finish
from tui.drills.runner import DrillSink, Ending
from tui.engine import (
    AccountView,
    Event,
    Fill,
    LeveragePreview,
    Liquidation,
    MarginMode,
    Market,
    Order,
    OrderEvent,
    OrderRejected,
    OrderType,
    PaperEngine,
    PositionView,
    Preview,
    Side,
    Venue,
    default_markets,
)
from tui.engine.limits import MIN_SIZE
from tui.engine.orders import stop_beyond_liquidation
from tui.engine.venues import next_funding_time
from tui.format import fmt_money, fmt_pct, fmt_price, fmt_size
from tui.history import EXPORT_KINDS, AccountAt, ExportError, account_at, export_csv
from tui.journal import HistorySource, Journal, JournalError, MemoryView, set_aside
from tui.journal.drills import DrillScores, drill_scores
from tui.listing import apply_listing, listing_line, names_line
from tui.market import (
    MARKETS,
    SCENARIOS,
    FeedState,
    FeedStatus,
    LiveSource,
    MarkGuard,
    PriceSource,
    ReplaySource,
    ScenarioSource,
    SimSource,
    SteppedSource,
)
from tui.market.candles import CandleStore
from tui.pictures import TraceBook
from tui.risk import (
    AlertTracker,
    BetaEstimate,
    FundingOutlook,
    MapEntry,
    PendingComparison,
    ShockLadder,
    betas_to_btc,
    chart_levels,
    compare_pending,
    daily_sigmas,
    funding_outlook,
    liquidation_map,
    shock_ladder,
)
from tui.settings import Settings
from tui.ticket import (
    Execution,
    OrderTicket,
    VenueComparison,
    add_difference,
    compare_venues,
    execution,
    order_fields,
    preview_on,
    size_note,
)

__all__ = [
    "LOG_LINES",
    "SIMULATION",
    "TIP",
    "Beat",
    "BeatenStop",
    "ClosePlan",
    "LogLine",
    "OrderTicket",
    "Question",
    "Session",
    "Tip",
    "Toast",
    "configure_execution",
    "engine_for",
    "markets_for",
]

Level = Literal["info", "success", "warning", "error"]
"""How a log line reads: plain, good news, a warning, an error (the log colours them)."""
Severity = Literal["information", "warning", "error"]

LOG_LINES = 300
"""The event log keeps this many of the newest lines."""
MAX_UNKNOWN = 100
"""The most markets perpdesk does not list that a session remembers (and counts marks for):
a source pricing more is counted in ``bad_marks`` past these."""

TIP = (
    "Tip: new to perpetuals? Start with Isolated: a liquidation then takes only that position's "
    "margin. Press ? on the confirmation screen to compare the two modes."
)
SIMULATION = "simulation"
"""The scenario name that means the plain seeded simulation (the /scenario picker's first row)."""

_EVENT_LEVEL: dict[str, Level] = {
    "info": "info",
    "good": "success",
    "bad": "error",
    "alert": "error",
}


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the event log: when (``HH:MM:SS``, local time), what, how it reads."""

    stamp: str
    text: str
    level: Level = "info"


@dataclass(frozen=True, slots=True)
class Toast:
    """A notification to pop up (the text is shown as typed, never read as markup)."""

    message: str
    title: str = ""
    severity: Severity = "information"
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Tip:
    """The line above the tables: the first-run tip, or a standing warning."""

    text: str
    warning: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    """A yes/no question to ask before acting."""

    title: str
    body: str


@dataclass(slots=True)
class ExportJob:
    """A history table being written to CSV, in a worker thread (:meth:`Session.run_export`).
    The thread updates ``written`` of ``total`` rows as it goes; the UI reads them on its
    heartbeat. :meth:`cancel` stops it at its next chunk, leaving no file."""

    kind: str
    folder: Path
    written: int = 0
    total: int = 0
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def share(self) -> float | None:
        """How much is written, from 0 to 1 (None until the total is known)."""
        return min(self.written / self.total, 1.0) if self.total else None


class ExportCancelled(Exception):
    """An export stopped before it finished (perpdesk quit): no file was written."""


@dataclass(frozen=True, slots=True)
class ClosePlan:
    """A close the trader asked for: ``size`` coins, or the whole position when ``None``."""

    market: str
    size: float | None
    question: Question


@dataclass(frozen=True, slots=True)
class ClosePreview:
    """What closing ``size`` of the position in ``market`` would do now, at the mark's fill
    price: PnL realized (before the fee), the fee, the margin released, the size left.
    ``state`` identifies the position it was worked out for: side, size, mode, leverage,
    entry (a dialog compares it to notice the position changed under it)."""

    market: str
    side: Side
    size: float
    size_left: float
    fill_price: float
    mark_price: float
    realized_pnl: float
    fee: float
    margin_released: float
    state: tuple[object, ...]
    rejection: str | None = None
    orders_note: str | None = None
    """What becomes of the position's take-profit / stop-loss and reduce-only orders."""


@dataclass(frozen=True, slots=True)
class BeatenStop:
    """A stop that protects nothing: the stop order ``order_id`` (a position's stop-loss, or
    a stop on the side that closes it) sits at ``stop``, at or beyond the liquidation price
    ``liquidation`` of the ``side`` position in ``market``, so the liquidation comes first."""

    market: str
    side: Side
    order_id: int
    stop: float
    liquidation: float


@dataclass(frozen=True, slots=True)
class Beat:
    """What one heartbeat found. ``dirty``: marks, positions or the feed changed since the last
    beat, so figures on screen need repainting (the log and the tip compare for themselves)."""

    dirty: bool


@dataclass(frozen=True)
class _Parked:
    """The trader's desk, set aside untouched while a drill runs on its own account."""

    engine: PaperEngine
    journal: Journal | None
    feed: PriceSource | None
    feed_status: FeedStatus | None
    stale_markets: frozenset[str]
    launch_marks: dict[str, float]
    unsaved_accounts: dict[int, AccountAt]
    tip: Tip | None
    candles: CandleStore  # the risk views' own state, each feed's own
    alerts: AlertTracker
    traces: TraceBook
    feed_time: float


def markets_for(settings: Settings, venue: Venue | str | None = None) -> list[Market]:
    """The markets settings ask for (all defaults when none are named), with ``venue``'s
    margin tables, size steps and minimums (default: the settings' venue) and their fees."""
    venue = settings.account.venue if venue is None else venue
    markets = default_markets(settings.fees.taker, settings.fees.maker, venue=venue)
    wanted = settings.market.markets
    if wanted:
        by_name = {m.name: m for m in markets}
        markets = [by_name[name] for name in wanted if name in by_name]
    return markets


def engine_for(settings: Settings, clock: Callable[[], float] = time.time) -> PaperEngine:
    """A fresh in-memory engine from settings: starting balance, fees, markets and venue."""
    return PaperEngine(
        balance=settings.account.starting_balance,
        markets=markets_for(settings),
        clock=clock,
        venue=settings.account.venue,
    )


def configure_execution(engine: PaperEngine, settings: Settings) -> None:
    """How far a market order may walk the book, and how old a book may be (settings)."""
    market = settings.market
    engine.set_execution(slippage_limit=market.slippage_limit, book_max_age=market.book_max_age)


def alert_tracker(settings: Settings) -> AlertTracker:
    """The risk alerts at the thresholds settings ask for (``[ui] alert_*``)."""
    ui = settings.ui
    return AlertTracker(ui.alert_margin_ratio, ui.alert_liquidation_distance)


FUNDING_EVERY = 1.0
"""Seconds between two funding outlooks (each pays 24 h of funding on a copy of the engine)."""

ALERT_QUIET = 10.0
"""Seconds after an alert's toast and bell in which new alerts are only logged and bannered:
a crash that takes several positions near liquidation in a few beats rings once."""

ALERT_TOAST_LINES = 3
"""Alerts (or liquidations) named in one toast; more are counted (the log has them all)."""


def _grouped_toast(
    lines: Sequence[str], title: str, plural: str, severity: Literal["warning", "error"]
) -> Toast:
    """One toast for several things said at once (each also has its log line): the first
    :data:`ALERT_TOAST_LINES`, then how many more."""
    shown = list(lines[:ALERT_TOAST_LINES])
    if len(lines) > ALERT_TOAST_LINES:
        shown.append(f"… and {len(lines) - ALERT_TOAST_LINES} more (the log has them all).")
    heading = title if len(lines) == 1 else f"{len(lines)} {plural}"
    return Toast("\n".join(shown), title=heading, severity=severity, timeout=12)


def send(engine: PaperEngine, t: OrderTicket, size: float, mode: MarginMode) -> object:
    """Send ticket ``t`` (``size`` coins, in ``mode``) to ``engine``: a market order with
    nothing else through ``open``, every other through ``place_order``. The live engine when
    the trader confirms; a copy for the confirmation's compact shock ladder."""
    if t.plain:
        return engine.open(t.market, t.side, size, t.leverage, mode)
    return engine.place_order(t.market, t.side, size, t.order_type, **order_fields(t, mode))


EXECUTION_LABELS: dict[str, str] = {
    "frictionless": "fills at the mark",
    "realistic": "realistic fills",
    "thin": "thin-book fills",
}
"""How the header names each ``[market] execution`` preset."""


def _home_short(folder: Path) -> str:
    """``folder`` with the home folder written ``~`` (shorter, and it says the same)."""
    try:
        return "~/" + folder.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return str(folder)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class Session:
    """One trader's desk: the engine they trade on, where it is saved, where prices come from.

    ``engine`` is replaced by a fresh one on ``/reset`` and when a damaged account is set
    aside; everything else lives as long as the app.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: PaperEngine | None = None,
        journal: Journal | None = None,
        journal_problem: JournalError | None = None,
        feed: PriceSource | None = None,
        data_dir: Path | None = None,
        messages: Iterable[str] = (),
        first_run: bool = False,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        fresh: bool = False,
    ) -> None:
        self.settings = settings or Settings()
        self.fresh = fresh
        """Launched with ``--fresh``: the journal started a new season (said at start)."""
        self.journal = journal
        self.journal_problem = journal_problem
        if journal is not None:
            self.engine = journal.engine
        else:
            self.engine = engine or engine_for(self.settings, clock=wall_clock)
        self.feed = feed
        self.data_dir = data_dir
        self.startup_messages = list(messages)
        self.first_run = first_run
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.launch_marks: dict[str, float] = {}
        """The first mark of each market this session: the watchlist's change column."""
        self.prev_day: dict[str, float] = {}
        """Each market's price 24 hours ago, from a source that reports it (a 24 h change)."""
        self.unknown_marks: dict[str, int] = {}
        """Marks that came for markets the engine does not list, by symbol: counted, and each
        market explained once in the log (never rejected silently on every frame)."""
        self._unexplained: list[str] = []
        self._listings = 0  # market lists received from the feed
        self.stale_markets: frozenset[str] = frozenset()
        self.feed_status: FeedStatus | None = None
        self.bad_marks = 0
        """Marks and rates the engine refused (not finite, not positive): counted, not shown."""
        self.mark_guard = MarkGuard(self.settings.market.max_tick_move)
        """Holds back a feed price that jumps implausibly far in one tick (docs/rules.md)."""
        self._unsaved_accounts: dict[int, AccountAt] = {}  # liquidations, with no journal
        self.log: deque[LogLine] = deque(maxlen=LOG_LINES)
        """The event log, oldest first (the newest :data:`LOG_LINES` lines)."""
        self.log_count = 0
        """Lines ever said: a widget that has shown this many is up to date."""
        self.tip: Tip | None = None
        self._toasts: list[Toast] = []
        self._pending: list[Event] = []
        self._after_events: list[tuple[str, Level, Toast | None]] = []
        self._dirty = True
        self._journal_error: str | None = None
        self._book_focus: frozenset[str] | None = None  # what the feed was last told
        self._feed_clock: float | None = None  # the feed time last seen (funding instants)
        self._oracles: dict[str, float] = {}  # Hyperliquid's oracle prices, where given
        self.export_job: ExportJob | None = None
        """The history export running now (at most one), or None."""
        self.candles = CandleStore()
        """Each market's 1 m, 5 m and 1 h candles in feed time, from the marks the guard let
        through (the chart; the volatility and betas of the risk views)."""
        self.feed_time: float = feed.feed_time if feed is not None else wall_clock()
        """The feed's clock at its latest instant (``on_clock``), in seconds."""
        self.alerts = alert_tracker(self.settings)
        """Risk thresholds crossed (docs/risk.md, "Alerts"): checked on the heartbeat."""
        self._bell = False
        self._alerted_at = -math.inf  # monotonic time of the last alert toast and bell
        self.traces = TraceBook()
        """Each open position's path on the heartbeat, and the pictures of the liquidations
        (docs/risk.md, "Liquidation pictures"): kept in memory, for this launch."""
        self._funding: tuple[float, tuple[int, int, str], list[FundingOutlook]] | None = None
        self.drill: Started | None = None
        """The drill being played (its run, its journal), or ``None``."""
        self._parked: _Parked | None = None  # the trader's own desk while a drill runs
        self._drill_result: DrillResult | None = None
        self.engine.listeners.append(self._on_engine_event)
        configure_execution(self.engine, self.settings)

    # ------------------------------------------------------------------ saying things

    def say(self, text: str, level: Level = "info", toast: Toast | None = None) -> None:
        """Add a line to the event log (and pop up ``toast`` with it)."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall_clock()))
        self.log.append(LogLine(stamp, text, level))
        self.log_count += 1
        if toast is not None:
            self._toasts.append(toast)

    def reject(self, message: str, *, after_events: bool = False) -> None:
        """An order or action was refused: say why in the log and in a toast (below the
        engine records it caused, with ``after_events``)."""
        say = self.say_after_events if after_events else self.say
        say(
            f"Rejected: {message}",
            "error",
            Toast(message, title="Rejected", severity="error", timeout=8),
        )

    def say_after_events(
        self, text: str, level: Level = "info", toast: Toast | None = None
    ) -> None:
        """:meth:`say`, but after the engine records still waiting for the heartbeat: a
        comment on what just happened reads below it, not above."""
        if not self._pending:
            self.say(text, level, toast)
            return
        self._after_events.append((text, level, toast))
        self._dirty = True

    def toast(self, toast: Toast) -> None:
        """Pop up ``toast`` without a log line."""
        self._toasts.append(toast)

    def take_toasts(self) -> list[Toast]:
        """The toasts said since the last call, oldest first."""
        toasts, self._toasts = self._toasts, []
        return toasts

    # ------------------------------------------------------------------ launch

    def start(self) -> Question | None:
        """Say what needs saying at launch: settings trouble, the first-run tip, what the price
        source is, a restored account. Returns the question to ask when the saved account
        cannot be opened but a fresh one can be started beside it (see
        :meth:`start_fresh_account`)."""
        if isinstance(self.feed, SteppedSource):
            self.feed.snapshot().deliver(self)  # marks on the very first frame
        self.launch_marks.update(self.engine.marks)
        for message in self.startup_messages:
            self.say(
                message,
                "warning",
                Toast(message, title="Settings", severity="warning", timeout=10),
            )
        if self.first_run:
            self.tip = Tip(TIP)
        self.describe_feed()
        if self.journal_problem is not None:
            return self._journal_trouble(self.journal_problem)
        self._note_other_venue()
        if self.fresh and self.journal is not None:
            self.say(
                f"Fresh account (--fresh): season {self.journal.season} started with "
                f"{fmt_money(self.engine.account.wallet_balance)} on {self.engine.venue.label} "
                "rules; the previous season is kept (perpdesk --accounts lists them).",
                "success",
            )
        elif self.journal is not None:
            held = len(self.engine.positions())
            if self.journal.record_count or held:
                self.say(
                    f"Welcome back: season {self.journal.season} restored from "
                    f"{self.journal.path} with {_plural(held, 'open position')}."
                )
        return None

    def describe_feed(self) -> None:
        """Say what a scenario teaches, which rows of a replay file were skipped, and which
        open positions the source does not price."""
        feed = self.feed
        if feed is not None and not getattr(feed, "lists_markets", False):
            # (a source that carries the venue's whole list says so when the list comes)
            unfed = [p.market for p in self.engine.positions() if p.market not in feed.symbols]
            if unfed:
                self.say(
                    f"{', '.join(unfed)}: open position{'s' if len(unfed) > 1 else ''} that "
                    f"{feed.name} does not price. The mark stays where it was saved (marked ? "
                    "in Markets) until a source that carries it runs; close it or switch source.",
                    "warning",
                )
        if isinstance(feed, ScenarioSource):
            self.say(f"Scenario {feed.scenario.name}: {feed.scenario.teaches}")
        if isinstance(feed, ReplaySource) and feed.error_count:
            shown = feed.errors[:5]
            more = feed.error_count - len(shown)
            tail = f" (and {more} more)" if more > 0 else ""
            self.say(
                f"Replay skipped {_plural(feed.error_count, 'row')} it could not read{tail}: "
                + "; ".join(shown),
                "warning",
            )

    # ------------------------------------------------------------------ the journal

    def _journal_trouble(self, problem: JournalError) -> Question | None:
        """The saved account could not be opened: say so. When a fresh account can be started
        without harming the old file (corrupt, newer), return the question; otherwise trade
        unsaved."""
        message = str(problem)
        self.say(message, "error")
        if problem.kind not in ("corrupt", "newer"):
            self.tip = Tip(f"Not saving this session: {message}", warning=True)
            self._toasts.append(
                Toast(message, title="Account not saved", severity="error", timeout=20)
            )
            return None
        return Question(
            "Your paper account cannot be opened",
            f"{message}\n\nStart a fresh paper account instead? The file is kept: it is renamed "
            "beside the new one, and nothing is deleted. (n quits without changing anything.)",
        )

    def start_fresh_account(self) -> str | None:
        """Set the unreadable account aside and open a fresh one in its place. Returns why
        that failed (perpdesk should then quit with the message), or ``None``."""
        problem = self.journal_problem
        if self.data_dir is None:
            return str(problem) if problem is not None else "There is no account folder."
        try:
            kept = set_aside(self.data_dir)
            settings = self.settings
            journal = Journal.open(
                self.data_dir,
                starting_balance=settings.account.starting_balance,
                markets_for=lambda venue: markets_for(settings, venue),
                venue=settings.account.venue,
            )
        except (JournalError, OSError, ValueError) as exc:
            return str(exc)
        self.journal_problem = None
        self.journal = journal
        self.swap_engine(journal.engine)
        self.say(f"Started a fresh account; the unreadable one is kept at {kept}.")
        return None

    def retry_journal(self) -> None:
        """Try again to save records a failed write left waiting (the app calls this every
        few seconds)."""
        if self.journal is not None and self.journal.pending:
            self.journal.flush()

    def _check_journal(self) -> None:
        error = self.journal.error if self.journal is not None else None
        if error == self._journal_error:
            return
        self._journal_error = error
        if error:
            self.say(error, "error", Toast(error, title="Not saved", severity="error", timeout=15))
            self.tip = Tip(error, warning=True)
        else:
            self.say("Saved again: every trade is in the journal.", "success")
            self.tip = None

    def swap_engine(self, engine: PaperEngine) -> None:
        """Trade on ``engine`` from now on (a fresh account or a new season)."""
        self.engine.listeners[:] = [f for f in self.engine.listeners if f != self._on_engine_event]
        engine.listeners.append(self._on_engine_event)
        configure_execution(engine, self.settings)
        if engine.venue is self.engine.venue:  # markets the venue listed stay listed
            listed = engine.markets
            for name, market in self.engine.markets.items():
                if name not in listed:
                    engine.add_market(market)
        for name, mark in self.engine.marks.items():  # keep the screen live until the next tick
            if name in engine.markets and engine.mark(name) is None:  # a venue may lack it
                engine.set_mark(name, mark)
        self.engine = engine
        self._unsaved_accounts = {}
        self._pending.clear()
        self._dirty = True

    def reset_question(self) -> Question:
        balance = self.settings.account.starting_balance
        return Question(
            "Fresh account",
            f"Start a fresh paper account with {fmt_money(balance)}? This one is kept as a past "
            "season (perpdesk --accounts lists them); open positions are archived with it.",
        )

    def reset(self) -> None:
        """/reset, answered yes: archive this account as a season and start a fresh one."""
        if why := self.drill_problem():
            self.reject(why)
            return
        balance = self.settings.account.starting_balance
        if self.journal is None:
            self.swap_engine(engine_for(self.settings, clock=self.wall_clock))
            self.say(f"Fresh account with {fmt_money(balance)} (not saved).")
            return
        try:
            engine = self.journal.new_season(balance, venue=self.settings.account.venue)
        except JournalError as exc:
            self.reject(str(exc))
            return
        self.swap_engine(engine)
        self.say(
            f"Season {self.journal.season} started with {fmt_money(balance)} on "
            f"{engine.venue.label} rules; the last one is archived."
        )

    # ------------------------------------------------------------------ the venue

    def _settings_venue(self) -> Venue:
        return Venue.parse(self.settings.account.venue)

    def _note_other_venue(self) -> None:
        """At launch: say so when the settings name another venue than the account's."""
        wanted = self._settings_venue()
        if wanted is not self.engine.venue:
            self.say(
                f"This account follows {self.engine.venue.label} rules (a venue belongs to a "
                f"season); the settings name {wanted.label}. /reset starts a fresh season on "
                f"{wanted.label} rules, keeping this one with its history.",
                "warning",
            )

    def venue_question(self) -> Question | None:
        """After the settings changed ``[account] venue``: the question offering a fresh
        season on the new venue's rules (``None`` when the account already follows it)."""
        wanted = self._settings_venue()
        current = self.engine.venue
        if wanted is current:
            return None
        held = len(self.engine.positions())
        orders = len(self.engine.open_orders())
        open_things = ""
        if held or orders:
            open_things = (
                f" Its {_plural(held, 'open position')} and {_plural(orders, 'open order')} "
                "are archived with it."
            )
        return Question(
            f"Trade on {wanted.label} rules?",
            f"This account follows {current.label} rules, and a venue belongs to a season: "
            f"its history is never rewritten. Start a fresh season on {wanted.label} rules "
            f"with {fmt_money(self.settings.account.starting_balance)}? This one is kept as a "
            f"past season.{open_things}\n(n keeps trading this account on {current.label} "
            "rules; /reset starts the new season later.)",
        )

    def answer_venue(self, yes: bool) -> None:
        """The answer to :meth:`venue_question`: a fresh season on the new venue, or a line
        saying the account keeps its own."""
        if yes:
            self.reset()
            return
        self.say(
            f"This account keeps {self.engine.venue.label} rules; /reset starts a fresh season "
            f"on {self._settings_venue().label} rules.",
            "warning",
        )

    def use_settings(self, settings: Settings) -> None:
        """Make ``settings`` current (the next order's defaults read them; a new band for the
        mark guard starts a new guard)."""
        self.settings = settings
        configure_execution(self.engine, settings)
        if settings.market.max_tick_move != self.mark_guard.max_move:
            self.mark_guard = MarkGuard(settings.market.max_tick_move)
        tracker = self.alerts
        if (tracker.ratio_threshold, tracker.distance_threshold) != (
            settings.ui.alert_margin_ratio,
            settings.ui.alert_liquidation_distance,
        ):
            self.alerts = alert_tracker(settings)

    # ------------------------------------------------------------------ the markets list

    def toggle_favourite(self, market: str) -> tuple[Settings, str]:
        """Star ``market`` (or take its star away): returns the settings to save and apply,
        and what to say."""
        name = self.engine.market(market).name
        favourites = list(self.settings.ui.favourites)
        if name in favourites:
            favourites.remove(name)
            said = f"{name} is no longer starred."
        else:
            favourites.append(name)
            said = f"{name} starred: it stays at the top of Markets."
        return self.settings.with_value("ui.favourites", tuple(favourites)), said

    # ------------------------------------------------------------------ the feed (MarkSink)

    def on_mark(self, symbol: str, price: float) -> None:
        unknown = self.unknown_marks
        if unknown and symbol in unknown:  # explained once already: counted, nothing more
            unknown[symbol] += 1
            return
        guard = self.mark_guard
        if not guard.allows(symbol, price):  # an implausible jump: held back, never applied
            if guard.notes:
                self._dirty = True  # the next heartbeat logs it
            return
        if guard.notes:  # a real move, confirmed by the ticks after it
            self._dirty = True
        try:
            self.engine.set_mark(symbol, price)
        except ValueError:
            if self._listed(symbol):
                self.bad_marks += 1
            elif len(unknown) < MAX_UNKNOWN:
                unknown[symbol] = 1
                self._unexplained.append(symbol)
                self._dirty = True
            else:  # a source pricing hundreds of markets perpdesk lacks: counted, not kept
                self.bad_marks += 1
            return
        self.candles.add(symbol, price, self.feed_time)
        self._dirty = True

    def _listed(self, symbol: str) -> bool:
        try:
            self.engine.market(symbol)
        except (KeyError, ValueError):
            return False
        return True

    def on_markets(
        self, venue: str, markets: Sequence[Market], left_out: Sequence[str] = ()
    ) -> None:
        """The feed's venue lists ``markets`` (with its max leverage and margin tables): the
        new ones join the engine, listed ones take the venue's current table (open positions
        are re-tiered), and the log says what changed, and which entries of the list
        (``left_out``, with why) could not be read."""
        fees, own = self.settings.fees, self.engine.venue  # unset fees: the venue's base tier
        listing = apply_listing(
            self.engine,
            venue,
            markets,
            taker_fee=own.taker_fee if fees.taker is None else fees.taker,
            maker_fee=own.maker_fee if fees.maker is None else fees.maker,
            left_out=left_out,
        )
        line = listing_line(listing, first=self._listings == 0)
        self._listings += 1
        if line is not None:
            self.say(line, "warning" if listing.refused or listing.left_out else "info")
        for name in listing.added:
            self.unknown_marks.pop(name, None)
        names = {m.name for m in markets}
        gone = [p.market for p in self.engine.positions() if p.market not in names]
        if gone and getattr(self.feed, "lists_markets", False):
            self.say(
                f"{', '.join(gone)}: open position{'s' if len(gone) > 1 else ''} in a market "
                f"{listing.venue} no longer lists. The mark stays where it was (marked ? in "
                "Markets); close it or switch source.",
                "warning",
            )
        self._dirty = True

    def on_prev_day(self, symbol: str, price: float) -> None:
        """The venue's price of ``symbol`` 24 hours ago (the watchlist's 24 h change)."""
        self.prev_day[symbol] = price
        self._dirty = True

    @property
    def day_change(self) -> bool:
        """Whether the change column is a 24 h change (the source reports prices 24 hours
        ago); otherwise it is the change since launch."""
        return self.feed is not None and self.feed.provides_prev_day

    @property
    def change_bases(self) -> Mapping[str, float]:
        """Per market, the price the change column compares the mark with (see
        :attr:`day_change`)."""
        return self.prev_day if self.day_change else self.launch_marks

    def change_basis(self, market: str) -> float | None:
        return self.change_bases.get(market)

    def _explain_unknown(self) -> None:
        names, self._unexplained = self._unexplained, []
        feed = self.feed.name if self.feed is not None else "The feed"
        them = "them" if len(names) > 1 else "it"
        self.say(
            f"{feed} prices {_plural(len(names), 'market')} perpdesk does not list: "
            f"{names_line(names)}. Without a {self.engine.venue.label} margin table there is "
            f"nothing to trade {them} on, so Markets leaves {them} out (prices counted, not "
            "applied).",
            "warning",
            Toast(
                f"{feed} prices markets perpdesk does not list: {names_line(names)}.",
                title="Unknown markets",
                severity="warning",
                timeout=12,
            ),
        )

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        if symbol in self.unknown_marks:
            return
        try:
            self.engine.set_funding_rate(symbol, rate_per_hour)
        except ValueError:
            self.bad_marks += 1

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        """A source says a payment is due: perpdesk takes it as the rate at that instant.
        Payments themselves follow the venue's schedule on the feed's clock (:meth:`on_clock`):
        sources report every hour, and a Binance account pays every 8 (docs/rules.md)."""
        self.on_funding_rate(symbol, rate_per_hour)

    def on_clock(self, feed_time: float) -> None:
        """The feed's clock (live: the wall clock; a replay: its recording's; the simulation:
        seconds since it started). Every funding instant of the venue's schedule it passes is
        paid, at the marks standing then (before the marks of ``feed_time``). The first reading
        of a source, and a clock that runs backwards (a new source), only set where it is. The
        marks that follow happen at ``feed_time`` (the candles' time)."""
        if not isinstance(feed_time, int | float) or not math.isfinite(feed_time):
            self.bad_marks += 1
            return
        self.feed_time = float(feed_time)
        last, self._feed_clock = self._feed_clock, feed_time
        if last is None or feed_time < next_funding_time(last, 1.0):
            return  # nothing due (no instant before the next whole hour)
        markets = self.engine.markets
        oracles = {k: v for k, v in self._oracles.items() if k in markets}
        try:
            self.engine.settle_funding(feed_time, since=last, oracle_prices=oracles)
        except ValueError:
            self.bad_marks += 1

    def on_oracle_price(self, symbol: str, price: float) -> None:
        """Hyperliquid's oracle price, which its funding is paid on (the mark when none)."""
        if math.isfinite(price) and price > 0.0:
            self._oracles[symbol] = price
        else:
            self.bad_marks += 1

    def on_book(
        self,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        time: float,
    ) -> None:
        try:
            self.engine.set_book(symbol, bids, asks)
        except ValueError:
            self.bad_marks += 1

    def on_status(self, status: FeedStatus) -> None:
        self.feed_status = status
        self.stale_markets = status.stale_symbols
        self._dirty = True
        if status.state is FeedState.ENDED:
            self.say(status.detail, "warning")

    def focus_feed(self, selected: str | None) -> None:
        """Tell the feed which books matter: the ``selected`` market's and those of markets
        with a position or a resting order (a live source subscribes to just those)."""
        if self.feed is None or not isinstance(self.feed, LiveSource):
            return
        engine = self.engine
        wanted = {p.market for p in engine.positions()} | {o.market for o in engine.open_orders()}
        if selected:
            wanted.add(selected)
        books = frozenset(wanted)
        if books != self._book_focus:
            self._book_focus = books
            self.feed.focus(books=books)

    def desk_title(self) -> str:
        """Whose rules the account follows and how orders fill: "Hyperliquid · realistic
        fills" (the header's title)."""
        feed = self.feed
        if isinstance(feed, LiveSource):
            fills = "venue book fills" if feed.books else "fills at the mark"
        else:
            preset = getattr(feed, "execution", None) or self.settings.market.execution
            fills = EXECUTION_LABELS.get(str(preset), f"{preset} fills")
        return f"{self.engine.venue.label} · {fills}"

    def feed_title(self) -> str:
        """One line saying where prices come from and how that source is doing."""
        feed = self.feed
        if feed is None:
            return "no price feed"
        status = self.feed_status
        if status is None:
            return feed.name
        if status.state is FeedState.CONNECTED:
            return status.detail or feed.name
        if status.state is FeedState.ENDED and status.detail:
            return status.detail  # "Replay finished: 1,200 marks from day.csv": says it all
        detail = status.detail
        state = status.state.value
        if detail.casefold().startswith(state):  # "Paused at 00:12:30": no "paused: Paused"
            return f"{feed.name} · {detail}"
        return f"{feed.name} {state}: {detail}" if detail else f"{feed.name} {state}"

    def scenario_choices(self) -> list[tuple[str, str]]:
        """(name, what it teaches) for the /scenario picker: the plain simulation first."""
        choices = [(SIMULATION, "The everyday seeded random walk.")]
        choices += [(sc.name, sc.teaches) for sc in SCENARIOS.values()]
        return choices

    def switch_feed(self, scenario: str) -> PriceSource:
        """Price from ``scenario`` (or :data:`SIMULATION`) from now on, continuing from the
        current marks so open positions see no jump, at the same speed and with the same
        fills as before (said, when the new source cannot run at that speed). Returns the new
        source: the caller stops the old one and runs this one."""
        symbols = [m for m in self.engine.markets if m in MARKETS]
        old = self.feed
        speed = old.speed if old is not None else float(self.settings.market.speed)
        execution = getattr(old, "execution", None) or self.settings.market.execution
        source: SimSource | ScenarioSource
        if scenario == SIMULATION:
            source = SimSource(symbols, seed=self.settings.market.seed, execution=execution)
        else:
            source = ScenarioSource(scenario, symbols, execution=execution)
        kept = min(source.speed_options, key=lambda option: abs(option - speed))
        source.speed = kept
        source.resume_from(self.engine.marks)
        self.mark_guard.reset()
        self.candles.clear()  # a new clock: its candles start afresh
        self.feed_time = source.feed_time
        self.feed = source
        self._feed_clock = None  # the new source's clock starts afresh
        self._oracles.clear()
        self.feed_status = None
        self.stale_markets = frozenset()
        self._dirty = True
        self.describe_feed()
        if scenario == SIMULATION:
            self.say("Back to the simulated market.")
        if kept != speed:
            self.say(
                f"{source.name} runs at {kept:g}x: it has no {speed:g}x "
                f"(speeds: {', '.join(f'{o:g}x' for o in source.speed_options)})."
            )
        return source

    def speed_problem(self) -> str | None:
        """Why the source's speed cannot change (live prices run in real time), or ``None``."""
        feed = self.feed
        if feed is None or len(feed.speed_options) < 2:
            return "This price source runs in real time only."
        return None

    def pause_problem(self) -> str | None:
        """Why the source cannot be paused, or ``None``."""
        feed = self.feed
        if feed is None or not feed.can_pause:
            return "This price source cannot be paused."
        return None

    def change_speed(self, step: int) -> str | None:
        """One step slower (``step`` -1) or faster (+1); nothing when :meth:`speed_problem`.
        Returns what to tell the trader when the speed cannot go further that way."""
        feed = self.feed
        if feed is None or self.speed_problem():
            return None
        options = sorted(feed.speed_options)
        now = min(range(len(options)), key=lambda i: abs(options[i] - feed.speed))
        wanted = now + step
        if not 0 <= wanted < len(options):
            which = "top" if step > 0 else "slowest"
            other = "[ slows down" if step > 0 else "] speeds up"
            return f"Already at the {which} speed, {options[now]:g}x ({other})."
        feed.speed = options[wanted]
        self._dirty = True
        return None

    def toggle_pause(self) -> None:
        """Pause or resume the source; nothing when :meth:`pause_problem`."""
        feed = self.feed
        if feed is None or self.pause_problem():
            return
        feed.paused = not feed.paused
        self._dirty = True

    # ------------------------------------------------------------------ the heartbeat

    def _on_engine_event(self, event: Event) -> None:
        self._pending.append(event)
        self._dirty = True
        if isinstance(event, Liquidation):
            self.traces.liquidated(event)  # the path up to it, before the position is forgotten
        if self.journal is None and isinstance(event, Liquidation):
            # for the post-mortem's "what Cross would have lost" (a journal saves it itself)
            self._unsaved_accounts[event.seq] = account_at(self.engine)

    def drain(self) -> Beat:
        """Turn the engine records since the last call into log lines (a liquidation also into
        a toast), notice a journal that stopped or started saving again, and say whether the
        figures on screen need repainting. The UI calls this on its heartbeat."""
        events, self._pending = self._pending, []
        liquidated: list[str] = []
        # A fill made by an order is named with that order; the order's own "filled" record
        # then adds nothing (unless it says why it filled only in part).
        filled = {
            e.order_id: e
            for e in events
            if isinstance(e, OrderEvent) and e.action in ("filled", "partial")
        }
        told: set[int] = set()
        for event in events:
            if (
                isinstance(event, OrderEvent)
                and event.action == "filled"
                and event.order_type is OrderType.MARKET
                and event.tpsl is None
                and not event.reason
            ):
                continue  # a market order filled whole at once: its fill line says it all
            by = None
            if isinstance(event, Fill) and event.order_id is not None:
                by = filled.get(event.order_id)
                if by is not None:
                    told.add(event.order_id)
                    if by.order_type is OrderType.MARKET and by.tpsl is None:
                        by = None  # nothing to name: the trader sent it just now
            elif (
                isinstance(event, OrderEvent)
                and event.action == "filled"
                and event.order_id in told
                and not event.reason
            ):
                continue
            level, text = describe(event, by)
            if isinstance(event, Liquidation):
                liquidated.append(liquidation_toast(event))  # its short form
            self.say(text, _EVENT_LEVEL[level])
        if liquidated:  # one toast for those of a beat: a cross liquidation takes several
            self.toast(_grouped_toast(liquidated, "Liquidation", "liquidations", "error"))
        for note in self.mark_guard.drain():
            self.say(note.message, "warning")
        after, self._after_events = self._after_events, []
        for text, level, toast in after:
            self.say(text, level, toast)
        if self._dirty:
            account, positions = self.engine.account, self.engine.positions()
            self._check_alerts(account, positions)
            self.traces.sample(self.wall_clock(), account, positions)  # the engine's clock
        if self._unexplained:
            self._explain_unknown()
        self._check_journal()  # after the events: a save failure reads as the newest line
        if self.drill is not None and (ending := self.drill.run.check()) is not None:
            self._finish_drill(ending)
        for name, mark in self.engine.marks.items():
            self.launch_marks.setdefault(name, mark)
        dirty, self._dirty = self._dirty, False
        return Beat(dirty=dirty)

    def _check_alerts(self, account: AccountView, positions: Sequence[PositionView]) -> None:
        """Say each risk threshold newly crossed: a log line each; one toast and one bell for
        all those of a beat, and none again for :data:`ALERT_QUIET` seconds (the banner
        stands for every alert in force meanwhile)."""
        new = self.alerts.update(account, positions)
        if not new:
            return
        for alert in new:
            self.say(f"Risk alert: {alert.message}", "error")
        now = self.monotonic()
        if 0 <= now - self._alerted_at < ALERT_QUIET:
            return
        self._alerted_at = now
        messages = [alert.message for alert in new]
        self.toast(_grouped_toast(messages, "Risk alert", "risk alerts", "warning"))
        self._bell = True

    def take_bell(self) -> bool:
        """Whether to ring the terminal bell now (an alert since the last call, and ``[ui]
        bell`` on)."""
        rang, self._bell = self._bell, False
        return rang and self.settings.ui.bell

    # ------------------------------------------------------------------ orders

    def default_leverage(self, market: str) -> float:
        return float(
            min(self.settings.trading.default_leverage, self.engine.market(market).max_leverage)
        )

    def settings_mode(self) -> MarginMode:
        """The margin mode settings preselect for new orders."""
        return MarginMode.parse(self.settings.trading.default_margin_mode)

    def default_mode(self, market: str) -> MarginMode:
        """The mode an order in ``market`` starts in: the open position's, else settings'."""
        pos = self.engine.position(market)
        if pos is not None:
            return pos.mode
        return self.settings_mode()

    def no_price(self, market: str) -> str | None:
        """Why no order can be priced in ``market`` now, or None when it has a mark."""
        if self.engine.mark(market) is not None:
            return None
        return f"{market} has no price yet; wait for the feed, or pick a market the feed prices."

    def ticket(
        self,
        market: str,
        side: Side,
        *,
        size: float | None = None,
        usd: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | None = None,
        order_type: OrderType = OrderType.MARKET,
        price: float | None = None,
        trigger_price: float | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        take_profit: float | None = None,
        stop_loss: float | None = None,
    ) -> OrderTicket:
        """An order ticket with the market's own spelling and the leverage filled in when not
        given: the open position's (an add takes it anyway), else the default."""
        name = self.engine.market(market).name
        if leverage is None:
            pos = self.engine.position(name)
            leverage = pos.leverage if pos is not None else self.default_leverage(name)
        return OrderTicket(
            name,
            side,
            size=size,
            usd=usd,
            leverage=leverage,
            mode=mode,
            order_type=order_type,
            price=price,
            trigger_price=trigger_price,
            reduce_only=reduce_only,
            post_only=post_only,
            take_profit=take_profit,
            stop_loss=stop_loss,
        )

    def fix_size(self, ticket: OrderTicket) -> OrderTicket:
        """``ticket`` with its coin size fixed (a USD amount turned into coins on the market's
        size step, at the order's price or the mark now): what the confirmation shows is what
        fills."""
        return ticket.fixed(self.engine.market(ticket.market), self.engine.mark(ticket.market))

    def preview(self, ticket: OrderTicket, mode: MarginMode) -> Preview:
        """What ``ticket`` would do in ``mode`` now, changing nothing."""
        return preview_on(self.engine, ticket, mode)

    def execution(self, ticket: OrderTicket, preview: Preview) -> Execution | None:
        """What filling ``preview`` costs against the mark, and a round trip at today's book."""
        return execution(self.engine, preview, ticket)

    def add_difference(self, ticket: OrderTicket, preview: Preview) -> str | None:
        """Why an add will not use the leverage or mode the trader asked for, in words."""
        return add_difference(ticket, preview, self.engine)

    def size_note(self, ticket: OrderTicket, preview: Preview) -> str | None:
        """How the size was fixed or rounded to the market's size step, if it was."""
        return size_note(ticket, preview, self.engine.market(ticket.market))

    def compare_venues(self, ticket: OrderTicket, mode: MarginMode) -> VenueComparison:
        """``ticket`` under this account's venue and under the other one, side by side."""
        return compare_venues(self.engine, ticket, mode, self.wall_clock)

    def place(self, ticket: OrderTicket) -> bool:
        """Send a confirmed order (its size and mode resolved) to the engine: a market order
        with nothing else through ``open``, every other through ``place_order``. A rejection
        is said in the log and a toast; returns whether the engine took it."""
        t, size, mode = ticket, ticket.size, ticket.mode
        if size is None or mode is None:
            return False
        try:
            send(self.engine, t, size, mode)
        except OrderRejected as exc:
            self.reject(str(exc))
            return False
        if self.first_run and self._journal_error is None:
            self.tip = None  # the first trade is placed: the tip has done its job
        return True

    # ------------------------------------------------------------------ leverage

    def cannot_change_leverage(self, market: str) -> str | None:
        """Why the leverage of the position in ``market`` cannot be changed now, or ``None``."""
        if self.engine.position(market) is None:
            return f"There is no open {market} position to change the leverage of."
        return None

    def leverage_preview(self, market: str, leverage: float) -> LeveragePreview:
        """What changing the leverage of the position in ``market`` would do (nothing changes)."""
        return self.engine.leverage_preview(market, leverage)

    def set_leverage(self, market: str, leverage: float) -> bool:
        """Change an open position's leverage (answered yes on its preview). The change is an
        engine record (``LeverageChange``, after the ``MarginTransfer`` of any top-up from the
        wallet): the journal saves it, and the next heartbeat says what changed. Returns
        whether it changed."""
        try:
            self.engine.set_leverage(market, leverage)
        except OrderRejected as exc:
            self.reject(str(exc))
            return False
        self._dirty = True
        return True

    # ------------------------------------------------------------------ closing

    def cannot_close(
        self, market: str, *, fraction: float = 1.0, size: float | None = None
    ) -> str | None:
        """Why ``fraction`` (or ``size`` coins) of the position in ``market`` cannot be closed
        now, or ``None``."""
        pos = self.engine.position(market)
        if pos is None:
            return f"There is no open {market} position to close."
        qty = size if size is not None else pos.size * fraction
        if not qty >= MIN_SIZE:  # "Close 0 of ..." is no question to ask
            what = "That share of your position" if size is None else "That size"
            return (
                f"{what} is less than the smallest {pos.market} size the engine takes "
                f"({MIN_SIZE:.9f}); close a larger {'share' if size is None else 'size'}."
            )
        return None

    def close_plan(
        self, market: str, *, fraction: float = 1.0, size: float | None = None
    ) -> ClosePlan | None:
        """The question to ask before closing ``fraction`` (or ``size`` coins) of the position
        in ``market``; ``None`` (and a rejection said) when there is none."""
        pos = self.engine.position(market)
        if pos is None:
            self.reject(f"There is no open {market} position to close.")
            return None
        qty = min(size if size is not None else pos.size * fraction, pos.size)
        part = "all of" if qty >= pos.size else f"{fmt_size(qty, pos.mark_price)} of"
        share = qty / pos.size
        body = (
            f"Close {part} your {pos.side.value.upper()} {fmt_size(pos.size, pos.mark_price)} "
            f"{pos.market} ({pos.mode.label} {pos.leverage:g}x) at about "
            f"{fmt_price(pos.mark_price)}?\n"
            f"Realized PnL about {fmt_money(pos.unrealized_pnl * share, signed=True)} "
            f"({fmt_pct(pos.roe, signed=True, decimals=1)} ROE), before the fee."
        )
        return ClosePlan(
            market, None if qty >= pos.size else qty, Question(f"Close {pos.market}", body)
        )

    @staticmethod
    def position_state(pos: PositionView) -> tuple[object, ...]:
        """What identifies a position for a question about it: if any of these changes (an
        add, a partial close, a liquidation slice, a flip), the question is stale."""
        return (pos.side, pos.size, pos.mode, pos.leverage, pos.entry_price)

    def close_preview(
        self, market: str, *, fraction: float = 1.0, size: float | None = None
    ) -> ClosePreview | None:
        """What closing ``fraction`` (or ``size`` coins) of the position in ``market`` would
        do at the current price (``None`` without a position)."""
        pos = self.engine.position(market)
        if pos is None:
            return None
        qty = min(size if size is not None else pos.size * fraction, pos.size)
        preview = self.engine.preview(pos.market, pos.side.opposite, qty, pos.leverage, pos.mode)
        return ClosePreview(  # the engine's own figures for a reduce (docs/rules.md)
            market=pos.market,
            side=pos.side,
            size=qty,
            size_left=max(pos.size - qty, 0.0),
            fill_price=preview.fill_price,
            mark_price=pos.mark_price,
            realized_pnl=preview.realized_pnl,
            fee=preview.fee,
            margin_released=preview.margin_released,
            state=self.position_state(pos),
            rejection=self.cannot_close(market, fraction=fraction, size=size) or preview.rejection,
            orders_note=self._close_orders_note(pos, qty),
        )

    def _close_orders_note(self, pos: PositionView, qty: float) -> str | None:
        """What closing ``qty`` of ``pos`` does to the orders that protect or reduce it: a
        whole close cancels its take-profit / stop-loss and its reduce-only orders (docs/
        rules.md, orders rules 5 and 6); a part leaves them for what stays open."""
        tp, sl = self.engine.tp_sl(pos.market)
        bound = [name for name, order in (("take-profit", tp), ("stop-loss", sl)) if order]
        if qty < pos.size:
            if not bound:
                return None
            verb = "stay" if len(bound) > 1 else "stays"
            return f"Its {' and '.join(bound)} {verb}, for what is left."
        reducing = sum(
            1 for o in self.engine.open_orders(pos.market) if o.reduce_only and o.tpsl is None
        )
        gone = [f"its {' and '.join(bound)}"] if bound else []
        if reducing:
            gone.append(_plural(reducing, "reduce-only order"))
        if not gone:
            return None
        many = len(bound) + reducing > 1
        text = f"{' and '.join(gone)} {'are' if many else 'is'} cancelled with it."
        return text[0].upper() + text[1:]

    def close(self, plan: ClosePlan) -> None:
        """Close what ``plan`` says (answered yes), at the mark."""
        self.close_position(plan.market, plan.size)

    def close_position(self, market: str, size: float | None = None) -> None:
        """Close ``size`` coins of the position in ``market`` (``None``: all of it) at the
        mark; a refusal is said as a rejection."""
        try:
            self.engine.close(market, size)
        except OrderRejected as exc:
            self.reject(str(exc))

    def cannot_close_all(self) -> str | None:
        if not self.engine.positions():
            return "There are no open positions to close."
        return None

    def close_all_question(self) -> Question:
        positions = self.engine.positions()
        upnl = sum(p.unrealized_pnl for p in positions)
        names = ", ".join(p.market for p in positions)
        return Question(
            "Close all positions",
            f"Close all {_plural(len(positions), 'open position')} ({names}) at their marks?\n"
            f"Realized PnL about {fmt_money(upnl, signed=True)}, before fees.",
        )

    def close_all(self) -> None:
        """/close all, answered yes: every position closed at its mark."""
        for pos in self.engine.positions():  # re-read: one may have been liquidated
            try:
                self.engine.close(pos.market)
            except OrderRejected as exc:
                self.reject(str(exc))

    # ------------------------------------------------------------------ margin

    def cannot_move_margin(self, market: str) -> str | None:
        """Why margin cannot be moved on ``market`` now (from the command line), or ``None``."""
        pos = self.engine.position(market)
        if pos is None:
            return f"There is no open {market} position to move margin on."
        if pos.mode is MarginMode.CROSS:
            return f"{market} is a Cross position: it has no margin of its own."
        return None

    def margin_limit(self, market: str, sign: int) -> float | None:
        """The most margin that can be added (``sign > 0``) or removed now; ``None`` when the
        position is gone or not isolated."""
        try:
            if sign > 0:
                return self.engine.addable_margin(market)
            return self.engine.removable_margin(market)
        except OrderRejected:
            return None

    def transfer_margin(self, market: str, amount: float) -> None:
        """Add (``amount > 0``) or remove isolated margin; a refusal is said as a rejection."""
        try:
            if amount >= 0:
                self.engine.add_margin(market, amount)
            else:
                self.engine.remove_margin(market, -amount)
        except OrderRejected as exc:
            self.reject(str(exc))

    # ------------------------------------------------------------------ history

    @property
    def accounts(self) -> Mapping[int, AccountAt]:
        """The account figures at each record, for the post-mortems (by record number): the
        journal's, read from the account file when asked; with no journal, those kept for
        this session's liquidations."""
        return self.journal.accounts if self.journal is not None else self._unsaved_accounts

    def history(self) -> HistorySource:
        """The season's history, to read a page at a time from a worker thread: the
        journal's, on a connection of its own; without a journal, the engine's records in
        memory. The caller closes it (:meth:`tui.journal.HistorySource.close`)."""
        if self.journal is not None:
            return self.journal.history_view()
        return MemoryView(
            lambda: list(self.engine.events),
            lambda: self.engine.markets,
            self._unsaved_accounts,
            self._memory_start,
        )

    def _memory_start(self) -> tuple[float, float]:
        """An unsaved season's starting balance, and its first record's time (or now)."""
        events = self.engine.events
        return self.engine.account.deposits, events[0].time if events else self.wall_clock()

    @property
    def history_mark(self) -> tuple[int, int]:
        """Changes when the history does: a new record, or a new season (no query)."""
        engine = self.engine
        made = self.journal.record_count if self.journal is not None else len(engine.events)
        return id(engine), made

    def history_events(self) -> list[Event]:
        """Every record of the season, oldest first: read from the journal (a full read, for
        tools and tests: the history screen pages :meth:`history`), else the engine's own."""
        if self.journal is None:
            return list(self.engine.events)
        try:
            return list(self.journal.records())
        except JournalError as exc:
            self.say(str(exc), "error")
            return list(self.engine.events)

    @property
    def history_to_build(self) -> bool:
        """Is an older account's history ledger still to be built (:meth:`build_history`)?"""
        journal = self.journal
        return journal is not None and not journal.history_ready and journal.history_error is None

    def build_history(self, budget: float = 0.02) -> bool:
        """Fold a slice of an older account's records into its history ledger (see
        :meth:`tui.journal.Journal.build_history`); False once there is nothing left to do
        (built, or a damaged record stops it: said in the log). The UI calls it on a timer."""
        journal = self.journal
        if journal is None or not self.history_to_build:
            return False
        try:
            journal.build_history(budget)
        except JournalError as exc:
            self.say(str(exc), "warning")
            return False
        return not journal.history_ready

    def export_dir(self) -> Path:
        """Where history exports go: ``exports`` beside the account, else the working folder."""
        return (self.data_dir / "exports") if self.data_dir is not None else Path.cwd()

    def export_history(self, kind: str) -> Path | None:
        """Write the ``kind`` history table (see :data:`tui.history.EXPORT_KINDS`) as CSV now
        and say where; a failure is said in a toast. Returns the file written. (The history
        screen exports in a worker thread instead: :meth:`start_export`.)"""
        job = self.start_export(kind)
        if isinstance(job, str):
            self.toast(Toast(job, title="Export", severity="warning", timeout=8))
            return None
        try:
            path: Path | BaseException = self.run_export(job)
        except Exception as exc:
            path = exc
        self.finish_export(job, path)
        return path if isinstance(path, Path) else None

    def start_export(self, kind: str) -> ExportJob | str:
        """An export of table ``kind`` to run (:meth:`run_export`, in a worker thread, then
        :meth:`finish_export`), or why not: one is running already, or no such table."""
        if kind not in EXPORT_KINDS:
            return f"There is no {kind!r} table to export; choose one of {', '.join(EXPORT_KINDS)}."
        running = self.export_job
        if running is not None:
            share = running.share
            done = "" if share is None else f", {share:.0%} written"
            return f"An export of {running.kind} is still running{done}; wait for it to finish."
        self.export_job = ExportJob(kind, self.export_dir())
        return self.export_job

    def run_export(self, job: ExportJob) -> Path:
        """Write ``job``'s table, streaming it from the account file a chunk at a time and
        counting rows into ``job`` (safe in a worker thread: it reads on a connection of its
        own and says nothing). Raises :class:`tui.history.ExportError`, ``OSError``,
        :class:`JournalError`, or :class:`ExportCancelled` once ``job`` is cancelled."""

        def progress(written: int, total: int) -> None:
            job.written, job.total = written, total
            if job.cancelled:
                raise ExportCancelled

        job.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.journal is not None:
            return self.journal.export(job.kind, job.folder, progress)
        return export_csv(list(self.engine.events), job.folder, job.kind)

    def finish_export(self, job: ExportJob, result: Path | BaseException) -> None:
        """Say how ``job`` ended: where the file went, or why there is none (a toast)."""
        if self.export_job is job:
            self.export_job = None
        if isinstance(result, Path):
            self.say(f"Exported {job.kind} to {result}")
            # The toast is narrow: the file name whole on its own line, then the folder (the
            # home folder as ~), so no name is cut in the middle of a word.
            where = f"{result.name}\nin {_home_short(result.parent)}"
            self.toast(Toast(where, title=f"Exported {job.kind}", timeout=10))
        elif isinstance(result, ExportCancelled):
            self.say(f"The export of {job.kind} was stopped; no file was written.", "warning")
        elif isinstance(result, ExportError | OSError | JournalError):
            self.toast(Toast(str(result), title="Export failed", severity="error", timeout=10))
        else:  # a bug: said, never a traceback
            why = f"The export of {job.kind} failed: {type(result).__name__}: {result}"
            self.toast(Toast(why, title="Export failed", severity="error", timeout=10))

    def cancel_export(self) -> None:
        """Stop the export running now, if any (perpdesk is quitting)."""
        if self.export_job is not None:
            self.export_job.cancel()

    # ------------------------------------------------------------------ reading

    def position(self, market: str | None) -> PositionView | None:
        """The open position in ``market`` (``None`` for no market or no position)."""
        return self.engine.position(market) if market is not None else None

    # ------------------------------------------------------------------ risk views

    def feed_now(self) -> float:
        """The feed's clock now (the funding countdown counts in it)."""
        return self.feed.feed_time if self.feed is not None else self.feed_time

    def chart_levels(self, market: str) -> list[tuple[str, float, str]]:
        """The chart's lines for ``market``: entry, liquidation, TP, SL, resting orders."""
        return chart_levels(self.engine, market)

    def funding(self, market: str | None) -> FundingOutlook | None:
        """The funding outlook of the open position in ``market`` (``None`` without one): its
        own payments over 24 h on a copy of the engine. Worked out at most once every
        :data:`FUNDING_EVERY` seconds for a market, and again at once when a record (a fill, a
        payment) changed the account."""
        if market is None or self.engine.position(market) is None:
            return None
        now = self.monotonic()
        key = (id(self.engine), len(self.engine.events), market)
        cached = self._funding
        if cached is None or cached[1] != key or not 0 <= now - cached[0] < FUNDING_EVERY:
            try:
                outlook = funding_outlook(
                    self.engine, self.feed_now(), clock=self.wall_clock, markets=(market,)
                )
            except ValueError:
                outlook = []
            cached = self._funding = (now, key, outlook)
        return next((f for f in cached[2] if f.market == market), None)

    def funding_outlooks(self) -> dict[str, FundingOutlook]:
        """Every position's funding outlook, all paying on one copy (the liquidation map)."""
        try:
            outlooks = funding_outlook(self.engine, self.feed_now(), clock=self.wall_clock)
        except ValueError:
            return {}
        return {f.market: f for f in outlooks}

    def shock(self, market: str | None) -> ShockLadder | str:
        """The shock ladder of ``market`` (``None``: every market by its beta to BTC), or why
        there is none."""
        try:
            if market is not None:
                return shock_ladder(self.engine, market=market, clock=self.wall_clock)
            if not self.engine.positions() and not self.engine.open_orders():
                return "There are no open positions or orders to shock."
            betas = {m: b.beta for m, b in self.betas().items()}
            return shock_ladder(self.engine, betas=betas, clock=self.wall_clock)
        except ValueError as exc:
            return str(exc)

    def betas(self) -> dict[str, BetaEstimate]:
        """Each shocked market's beta to BTC from the 1 m candles (1, not estimated, while too
        few returns are known: docs/risk.md, "Beta to BTC")."""
        markets = [p.market for p in self.engine.positions()]
        markets += [o.market for o in self.engine.open_orders() if o.market not in markets]
        return betas_to_btc(self.candles, markets)

    def pending_ladder(self, ticket: OrderTicket, mode: MarginMode) -> PendingComparison | str:
        """The confirmation screen's compact ladder: the ticket's market moved -30 % .. +30 %
        with and without the order as it would be sent (a limit or a trigger rests on the copy
        and fills there if the walk reaches it; its TP/SL go with it); or why there is none
        (no size or price yet)."""
        size = ticket.resolved_size(self.engine.mark(ticket.market))
        if size is None:
            return f"{ticket.market} has no price yet."

        def order(engine: PaperEngine) -> object:
            return send(engine, ticket, size, mode)

        try:
            return compare_pending(
                self.engine,
                order,
                market=ticket.market,
                clock=self.wall_clock,
                # the book the confirmation prices the fill at, when it uses one
                books=(ticket.market,) if self.preview(ticket, mode).pricing == "book" else (),
            )
        except ValueError as exc:
            return str(exc)

    def liquidation_map(self) -> list[MapEntry]:
        """Every position's liquidation price, distance and sigmas, and the cross links."""
        markets = [p.market for p in self.engine.positions()]
        return liquidation_map(
            self.engine, daily_sigmas(self.candles, markets), clock=self.wall_clock
        )

    # ------------------------------------------------------------------ drills

    def drill_problem(self) -> str | None:
        """Why the account cannot be changed now (a drill is running), or ``None``."""
        if self.drill is None:
            return None
        return (
            f"A drill is running ({self.drill.run.drill.title}): finish it, or end it with "
            "/drill, first."
        )

    def start_drill(self, drill: Drill) -> DrillSink | str:
        """Play ``drill`` on an account of its own (a fresh season of the drills' account
        beside the trader's, when the trader's is saved), leaving the trader's account,
        feed and marks untouched until it ends. Returns the sink to run the drill's source
        (:attr:`feed`, paused until the trader presses p) with, or why it cannot start."""
        if self.drill is not None:
            return self.drill_problem() or ""
        saved_in = self.data_dir if self.journal is not None else None
        try:
            started = begin(drill, start=self.wall_clock(), data_dir=saved_in)
        except DrillError as exc:
            return f"Drill {drill.name} cannot start: {exc}"
        run = started.run
        self._parked = _Parked(
            self.engine,
            self.journal,
            self.feed,
            self.feed_status,
            self.stale_markets,
            self.launch_marks,
            self._unsaved_accounts,
            self.tip,
            self.candles,
            self.alerts,
            self.traces,
            self.feed_time,
        )
        # the drill's prices draw their own chart and raise their own alerts
        self.candles, self.alerts, self.traces = (
            CandleStore(),
            alert_tracker(self.settings),
            TraceBook(),
        )
        self.feed_time = run.source.feed_time
        self._install(run.engine, started.journal, run.source)
        self.tip = None  # the drill strip stands where the tip was
        self.launch_marks = dict(run.engine.marks)
        self.drill = started
        self.say(f"Drill: {drill.title}. Goal: {drill.goal}")
        self.say("The clock is stopped: press p to start it (and p to pause).", "warning")
        if started.unsaved:
            self.say(started.unsaved, "warning")
        return DrillSink(self, run)

    def end_drill(self) -> None:
        """The trader ends the drill now (or quits perpdesk): it is scored as it stands."""
        if self.drill is not None:
            self._finish_drill(self.drill.run.stop())

    def drill_scores(self) -> DrillScores:
        """Each drill's best score, attempts and last attempt in this account (none when the
        account is not saved; an unreadable drills file is said in the log)."""
        if self.data_dir is None or self.journal is None:
            return DrillScores({})
        try:
            return drill_scores(self.data_dir)
        except JournalError as exc:
            self.say(str(exc), "warning")
            return DrillScores({})

    def take_drill_result(self) -> DrillResult | None:
        """How the drill that just ended came out (once), for the end screen."""
        result, self._drill_result = self._drill_result, None
        return result

    def _install(
        self, engine: PaperEngine, journal: Journal | None, feed: PriceSource | None
    ) -> None:
        self.engine.listeners[:] = [f for f in self.engine.listeners if f != self._on_engine_event]
        engine.listeners.append(self._on_engine_event)
        configure_execution(engine, self.settings)
        self.engine = engine
        self.journal = journal
        self._journal_error = journal.error if journal is not None else None
        self.feed = feed
        self.feed_status = None
        self.stale_markets = frozenset()
        self.mark_guard.reset()
        self._feed_clock = None  # the new source's clock starts afresh (funding instants)
        self._oracles.clear()
        self._book_focus = None
        self._pending.clear()
        self._dirty = True

    def _finish_drill(self, ending: Ending) -> None:
        started, parked = self.drill, self._parked
        assert started is not None and parked is not None
        self.drill = None
        result = finish(started, ending, ended=self.wall_clock(), data_dir=self.data_dir)
        self._install(parked.engine, parked.journal, parked.feed)
        self.feed_status = parked.feed_status
        self.stale_markets = parked.stale_markets
        self.launch_marks = parked.launch_marks
        self._unsaved_accounts = parked.unsaved_accounts
        self.tip = parked.tip
        self.candles, self.alerts, self.traces = parked.candles, parked.alerts, parked.traces
        self.feed_time = parked.feed_time
        self._parked = None
        self._drill_result = result
        verdict = result.verdict
        how = f"won, score {verdict.score}" if verdict.won else "lost"
        self.say(
            f"Drill {result.drill.title}: {how}. {verdict.decided_by}",
            "success" if verdict.won else "error",
        )
        if result.problem:
            self.say(result.problem, "warning")
        self.say("Back to your own account, as you left it.")

    # ------------------------------------------------------------------ resting orders, TP/SL

    def order(self, order_id: int | None) -> Order | None:
        """The open order with this number (``None`` for none, or one no longer open)."""
        return self.engine.order(order_id) if order_id is not None else None

    def cannot_cancel(self, order_id: int | None = None, market: str | None = None) -> str | None:
        """Why ``/cancel`` cannot run: order ``order_id``, else every order in ``market``,
        else every order. ``None`` when there is something to cancel."""
        if order_id is not None:
            if self.engine.order(order_id) is None:
                return f"There is no open order #{order_id}; /orders lists them."
            return None
        if not self.engine.open_orders(market):
            where = f"{market} " if market else ""
            return f"There are no open {where}orders to cancel."
        return None

    def cancel_orders(self, order_id: int | None = None, market: str | None = None) -> int:
        """Cancel order ``order_id``, else every order in ``market``, else every order (their
        reserved margin comes back; the log says each one). Returns how many were cancelled;
        a refusal is said as a rejection."""
        why = self.cannot_cancel(order_id, market)
        if why is not None:
            self.reject(why)
            return 0
        try:
            if order_id is not None:
                self.engine.cancel_order(order_id)
                return 1
            return len(self.engine.cancel_orders(market))
        except OrderRejected as exc:
            self.reject(str(exc))
            return 0

    def cancel_question(self, market: str | None) -> Question:
        """The question before cancelling every open order in ``market`` (all when ``None``)."""
        orders = self.engine.open_orders(market)
        held = sum(o.reserved_margin for o in orders)
        protective = sum(
            1 for o in orders if o.tpsl == "sl" or o.order_type is OrderType.STOP_MARKET
        )
        where = f"{market} " if market else ""
        body = f"Cancel {_plural(len(orders), f'open {where}order')}?"
        if held:
            they = "it holds" if len(orders) == 1 else "they hold"
            body += f" The {fmt_money(held)} of margin {they} comes back to Available."
        if protective:
            which = "one is a stop" if protective == 1 else f"{protective} are stops"
            body += f"\nOf these, {which} protecting a position: it is left unprotected."
        title = f"Cancel {market} orders" if market else "Cancel all orders"
        return Question(title, body)

    def cannot_modify(self, order_id: int | None) -> str | None:
        """Why order ``order_id`` cannot be modified now, or ``None``."""
        if order_id is None:
            return "Select an open order first (o shows the open orders)."
        if self.engine.order(order_id) is None:
            return f"Order #{order_id} is not open any more."
        return None

    def modify_order(
        self, order_id: int, *, price: float | None = None, size: float | None = None
    ) -> Order | None:
        """Move an open order to ``price`` (its limit price or trigger) and / or ``size``:
        cancel and replace, so the new order has a new number. A position's take-profit or
        stop-loss only moves its trigger (it is always for the whole position). If the new
        order is refused the old one is placed again as it was, and the refusal is said.
        Returns the order now open (``None`` when refused)."""
        eng = self.engine
        old = eng.order(order_id)
        if old is None:
            self.reject(f"Order #{order_id} is not open any more.")
            return None
        new_price = old.level if price is None else price
        if old.tpsl is not None:
            kind = "take_profit" if old.tpsl == "tp" else "stop_loss"
            try:
                orders = eng.set_tp_sl(old.market, **{kind: new_price})
            except OrderRejected as exc:
                self.reject(f"Order #{order_id} not modified: {exc}")
                return None
            return next((o for o in orders if o.tpsl == old.tpsl), None)
        limit = old.order_type is OrderType.LIMIT
        replacement = {
            "price": new_price if limit else None,
            "trigger_price": None if limit else new_price,
        }
        eng.cancel_order(order_id)
        try:
            placed = eng.place_order(
                old.market,
                old.side,
                old.size - old.filled_size if size is None else size,
                old.order_type,
                leverage=old.leverage,
                mode=old.mode,
                reduce_only=old.reduce_only,
                post_only=old.post_only,
                take_profit=old.take_profit,
                stop_loss=old.stop_loss,
                **replacement,
            )
        except OrderRejected as exc:
            why = str(exc)
            try:  # put the old order back as it was (it gets a new number)
                back = eng.place_order(
                    old.market,
                    old.side,
                    old.size - old.filled_size,
                    old.order_type,
                    price=old.price,
                    trigger_price=old.trigger_price,
                    leverage=old.leverage,
                    mode=old.mode,
                    reduce_only=old.reduce_only,
                    post_only=old.post_only,
                    take_profit=old.take_profit,
                    stop_loss=old.stop_loss,
                )
            except OrderRejected as again:
                self.reject(
                    f"Order #{order_id} not modified: {why} It could not be placed again "
                    f"either ({again}), so it is cancelled.",
                    after_events=True,
                )
                return None
            self.reject(
                f"Order #{order_id} not modified: {why} It is open again as #{back.id}.",
                after_events=True,
            )
            return None
        self.say_after_events(
            f"Order #{order_id} modified: cancelled and replaced by #{placed.id}."
        )
        return placed

    def cannot_set_tp_sl(self, market: str | None) -> str | None:
        """Why ``market`` cannot get a take-profit or stop-loss now, or ``None``."""
        if market is None or self.engine.position(market) is None:
            where = f"{market} " if market else ""
            return (
                f"There is no open {where}position to give a take-profit or stop-loss; "
                "open one first, or give the order tp / sl prices."
            )
        return None

    def set_tp_sl(
        self,
        market: str,
        *,
        take_profit: float | Literal["keep"] | None = "keep",
        stop_loss: float | Literal["keep"] | None = "keep",
    ) -> bool:
        """Set (a price), clear (``None``) or keep (``"keep"``) the take-profit and
        stop-loss of the position in ``market``. A refusal is said as a rejection and changes
        nothing; a stop-loss the liquidation would beat is said as a warning (set anyway: the
        trader chose it). Returns whether it was set."""
        why = self.cannot_set_tp_sl(market)
        if why is not None:
            self.reject(why)
            return False
        changes: dict[str, float | None] = {}
        if take_profit != "keep":
            changes["take_profit"] = take_profit
        if stop_loss != "keep":
            changes["stop_loss"] = stop_loss
        try:
            self.engine.set_tp_sl(market, **changes)
        except OrderRejected as exc:
            self.reject(str(exc))
            return False
        if isinstance(stop_loss, float | int) and not isinstance(stop_loss, bool):
            for warning in self.stop_warnings(market, float(stop_loss)):
                self.say_after_events(
                    warning,
                    "warning",
                    Toast(warning, title="Stop-loss", severity="warning", timeout=12),
                )
        return True

    def tp_sl_problem(self, market: str, kind: str, price: float) -> str | None:
        """Why the engine would refuse a take-profit (``kind="tp"``) or stop-loss (``"sl"``)
        at ``price`` on the position in ``market`` now (a trigger the mark already reached),
        or ``None``. Changes nothing."""
        pos = self.engine.position(market)
        if pos is None:
            return self.cannot_set_tp_sl(market)
        order_type = OrderType.TAKE_PROFIT_MARKET if kind == "tp" else OrderType.STOP_MARKET
        preview = self.engine.preview_order(
            market,
            pos.side.opposite,
            pos.size,
            order_type,
            trigger_price=price,
            reduce_only=True,
        )
        if preview.rejection is None:
            return None
        label = "Take-profit" if kind == "tp" else "Stop-loss"
        return f"{label}: {preview.rejection}"

    def stop_warnings(self, market: str, stop_loss: float) -> list[str]:
        """What a trader should know about a stop-loss at ``stop_loss`` on the position in
        ``market`` (beyond its liquidation price, or a cross stop others can move)."""
        try:
            return self.engine.stop_warnings(market, stop_loss)
        except OrderRejected:
            return []

    def pnl_at(self, market: str, price: float) -> float | None:
        """What closing the whole position in ``market`` at ``price`` would realize, before
        fees (``None`` without a position)."""
        pos = self.engine.position(market)
        if pos is None:
            return None
        return pos.side.sign * (price - pos.entry_price) * pos.size

    def beaten_stops(self) -> list[BeatenStop]:
        """Every open stop that the liquidation of the position it protects would beat (see
        :class:`BeatenStop`), oldest first: the stop-versus-liquidation lesson, kept on screen
        while it holds (a cross position's liquidation price moves with the others). One pass
        over the positions and one over the open orders."""
        eng = self.engine
        held = {p.market: p for p in eng.positions() if p.liquidation_price is not None}
        if not held:
            return []
        stops = [eng.tp_sl(market)[1] for market in held]
        stops += [
            o
            for o in eng.open_orders()
            if o.order_type is OrderType.STOP_MARKET and o.tpsl is None and o.market in held
        ]
        out: list[BeatenStop] = []
        for order in stops:
            if order is None or order.trigger_price is None:
                continue
            pos = held[order.market]
            liq = pos.liquidation_price
            assert liq is not None
            if order.side is not pos.side and stop_beyond_liquidation(
                pos.side, order.trigger_price, liq
            ):
                out.append(BeatenStop(pos.market, pos.side, order.id, order.trigger_price, liq))
        return sorted(out, key=lambda b: b.order_id)

    def standing_tip(self, beaten: list[BeatenStop] | None = None) -> Tip | None:
        """The line above the tables: a warning the session holds (the journal not saving)
        first, then stops the liquidation would beat (``beaten``, when the caller has them),
        then the first-run tip."""
        if self.tip is not None and self.tip.warning:
            return self.tip
        if beaten is None:
            beaten = self.beaten_stops()
        if not beaten:
            return self.tip
        shown = "; ".join(
            f"{b.market} stop {fmt_price(b.stop, b.liquidation)} is past its Liq. price "
            f"{fmt_price(b.liquidation)}"
            for b in beaten[:3]
        )
        more = f" (and {len(beaten) - 3} more)" if len(beaten) > 3 else ""
        return Tip(
            f"⚠ {shown}{more}: the liquidation comes first, the stop never fires (t moves it).",
            warning=True,
        )
