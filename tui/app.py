"""The Textual app: wires the engine, the price feed, settings and screens together. Thin."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.describe import describe
from tui.engine import (
    Event,
    Liquidation,
    MarginMode,
    Market,
    OrderRejected,
    PaperEngine,
    Side,
    default_markets,
)
from tui.engine.limits import MIN_SIZE
from tui.format import fmt_money, fmt_pct, fmt_price, fmt_size
from tui.history import AccountAt, account_at
from tui.journal import Journal, JournalError, set_aside
from tui.market import (
    MARKETS,
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
from tui.safe import safe_text
from tui.screens.help import ConfirmScreen, HelpScreen, MarginScreen
from tui.screens.main import MainScreen
from tui.screens.order import OrderFormScreen, OrderTicket, TradeConfirmScreen
from tui.screens.settings import SettingsScreen
from tui.settings import Settings, resolve_config_path

TIP = (
    "Tip: new to perpetuals? Start with Isolated: a liquidation then takes only that position's "
    "margin. Press ? on the confirmation screen to compare the two modes."
)
LEVEL_STYLE = {"info": "", "good": "success", "bad": "error", "alert": "error"}


def markets_for(settings: Settings) -> list[Market]:
    """The markets settings ask for (all defaults when none are named), with their fees."""
    markets = default_markets(settings.fees.taker, settings.fees.maker)
    wanted = settings.market.markets
    if wanted:
        by_name = {m.name: m for m in markets}
        markets = [by_name[name] for name in wanted if name in by_name]
    return markets


def engine_for(settings: Settings, clock: Callable[[], float] = time.time) -> PaperEngine:
    """A fresh in-memory engine from settings: starting balance, fees and markets."""
    return PaperEngine(
        balance=settings.account.starting_balance, markets=markets_for(settings), clock=clock
    )


def configure_execution(engine: PaperEngine, settings: Settings) -> None:
    """How far a market order may walk the book, and how old a book may be (settings)."""
    market = settings.market
    engine.set_execution(slippage_limit=market.slippage_limit, book_max_age=market.book_max_age)


class PerpDeskApp(App[None]):
    """perpdesk. ``app.engine`` is the paper-trading engine the screens display."""

    TITLE = "perpdesk"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    BINDINGS: ClassVar[list[BindingType]] = []  # the trading keys live on MainScreen

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: PaperEngine | None = None,
        journal: Journal | None = None,
        journal_problem: JournalError | None = None,
        source: PriceSource | None = None,
        config_path: Path | None = None,
        messages: Iterable[str] = (),
        data_dir: Path | None = None,
        autostart_feed: bool = True,
        first_run: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.journal = journal
        self.journal_problem = journal_problem
        if journal is not None:
            self.engine = journal.engine
        else:
            self.engine = engine or engine_for(self.settings, clock=wall_clock)
        self.feed = source
        self.config_path = config_path
        self.data_dir = data_dir
        self.startup_messages = list(messages)
        self.autostart_feed = autostart_feed
        self.first_run = first_run
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.launch_marks: dict[str, float] = {}
        self.stale_markets: frozenset[str] = frozenset()
        self.feed_status: FeedStatus | None = None
        self.bad_marks = 0
        self.mark_guard = MarkGuard(self.settings.market.max_tick_move)
        self._pending: list[Event] = []
        self._dirty = True
        self._styles: tuple[str, dict[str, str]] | None = None
        self._main_ready = False
        self._log_backlog: list[tuple[str, str, str]] = []
        self._journal_error: str | None = None
        self._book_focus: frozenset[str] | None = None  # what the feed was last told
        self.accounts: dict[int, AccountAt] = dict(journal.accounts) if journal else {}
        self.engine.listeners.append(self._on_engine_event)
        configure_execution(self.engine, self.settings)

    # ------------------------------------------------------------------ set-up

    def notify(  # type: ignore[override]
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications quote user input, file paths and feed errors: never read them as markup,
        and show their control characters escaped."""
        super().notify(
            safe_text(message, multiline=True),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @property
    def refresh_hz(self) -> float:
        return float(self.settings.ui.refresh_hz)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        self.apply_settings(self.settings, announce=False)
        if isinstance(self.feed, SteppedSource):
            self.feed.snapshot().deliver(self)  # marks on the very first frame
        self.launch_marks.update(self.engine.marks)
        if self.feed is not None and self.autostart_feed:
            self.run_worker(
                self.feed.run(self),
                name="feed",
                group="feed",
                exclusive=True,
                exit_on_error=False,
            )
        self._update_subtitle()
        self._refresh_timer = self.set_interval(1 / self.refresh_hz, self.refresh_now)
        self.set_interval(5, self._retry_journal)

    def main_ready(self) -> None:
        """The main screen is composed: say what needs saying, paint the first frame."""
        self._main_ready = True
        self.log_lines([])  # what was said before the log existed
        for message in self.startup_messages:
            self.log_line(message, "warning")
            self.notify(message, title="Settings", severity="warning", timeout=10)
        if self.first_run:
            self.main.show_tip(TIP)
        self._describe_feed()
        if self.journal_problem is not None:
            self._journal_trouble(self.journal_problem)
        elif self.journal is not None:
            held = len(self.engine.positions())
            if self.engine.events or held:
                self.log_line(
                    f"Welcome back: season {self.journal.season} restored from "
                    f"{self.journal.path} with {held} open position{'s' if held != 1 else ''}."
                )
        self.refresh_now()

    def _describe_feed(self) -> None:
        """Say what a scenario teaches, and which rows of a replay file were skipped."""
        feed = self.feed
        if feed is not None:
            unfed = [p.market for p in self.engine.positions() if p.market not in feed.symbols]
            if unfed:
                self.log_line(
                    f"{', '.join(unfed)}: open position{'s' if len(unfed) > 1 else ''} that "
                    f"{feed.name} does not price. The mark stays where it was saved (marked ? "
                    "in Markets) until a source that carries it runs; close it or switch source.",
                    "warning",
                )
        if isinstance(feed, ScenarioSource):
            self.log_line(f"Scenario {feed.scenario.name}: {feed.scenario.teaches}")
        if isinstance(feed, ReplaySource) and feed.error_count:
            shown = feed.errors[:5]
            more = feed.error_count - len(shown)
            tail = f" (and {more} more)" if more > 0 else ""
            self.log_line(
                f"Replay skipped {feed.error_count} row{'s' if feed.error_count != 1 else ''} "
                f"it could not read{tail}: " + "; ".join(shown),
                "warning",
            )

    # ------------------------------------------------------------------ the journal

    def _journal_trouble(self, problem: JournalError) -> None:
        """The saved account could not be opened: say so, and offer a fresh one when that
        keeps the old file whole (corrupt, newer version); otherwise trade unsaved."""
        message = str(problem)
        self.log_line(message, "error")
        if problem.kind not in ("corrupt", "newer"):
            self.main.show_tip(f"Not saving this session: {message}", warning=True)
            self.notify(message, title="Account not saved", severity="error", timeout=20)
            return
        body = (
            f"{message}\n\nStart a fresh paper account instead? The file is kept: it is renamed "
            "beside the new one, and nothing is deleted. (n quits without changing anything.)"
        )

        def answer(yes: bool | None) -> None:
            if not yes or self.data_dir is None:
                self.exit_with_error(message)
                return
            try:
                kept = set_aside(self.data_dir)
                journal = Journal.open(
                    self.data_dir,
                    starting_balance=self.settings.account.starting_balance,
                    markets=markets_for(self.settings),
                )
            except (JournalError, OSError, ValueError) as exc:
                self.exit_with_error(str(exc))
                return
            self.journal_problem = None
            self.journal = journal
            self.swap_engine(journal.engine)
            self.log_line(f"Started a fresh account; the unreadable one is kept at {kept}.")

        self.push_screen(ConfirmScreen("Your paper account cannot be opened", body), answer)

    def exit_with_error(self, message: str) -> None:
        """Quit with code 1, printing ``message`` afterwards as plain text (never markup; control
        characters escaped: it may quote a path or a file's contents)."""
        self.exit(return_code=1, message=Text(safe_text(message, multiline=True)))

    def swap_engine(self, engine: PaperEngine) -> None:
        """Trade on ``engine`` from now on (a fresh account or a new season)."""
        self.engine.listeners[:] = [f for f in self.engine.listeners if f != self._on_engine_event]
        engine.listeners.append(self._on_engine_event)
        configure_execution(engine, self.settings)
        for name, mark in self.engine.marks.items():  # keep the screen live until the next tick
            if engine.mark(name) is None and name in engine.markets:
                engine.set_mark(name, mark)
        self.engine = engine
        self.accounts = dict(self.journal.accounts) if self.journal is not None else {}
        self._pending.clear()
        self._dirty = True
        self.refresh_now()

    def _retry_journal(self) -> None:
        if self.journal is not None and self.journal.pending:
            self.journal.flush()

    def _check_journal(self) -> None:
        error = self.journal.error if self.journal is not None else None
        if error == self._journal_error:
            return
        self._journal_error = error
        if error:
            self.log_line(error, "error")
            self.notify(error, title="Not saved", severity="error", timeout=15)
            self.main.show_tip(error, warning=True)
        else:
            self.log_line("Saved again: every trade is in the journal.", "success")
            self.main.show_tip("")

    def start_reset(self) -> None:
        """/reset: archive this account as a season and start a fresh one."""
        balance = self.settings.account.starting_balance
        body = (
            f"Start a fresh paper account with {fmt_money(balance)}? This one is kept as a past "
            "season (perpdesk --accounts lists them); open positions are archived with it."
        )

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            if self.journal is None:
                self.swap_engine(engine_for(self.settings, clock=self.wall_clock))
                self.log_line(f"Fresh account with {fmt_money(balance)} (not saved).")
                return
            try:
                engine = self.journal.new_season(balance)
            except JournalError as exc:
                self.reject(str(exc))
                return
            self.swap_engine(engine)
            self.log_line(
                f"Season {self.journal.season} started with {fmt_money(balance)}; "
                "the last one is archived."
            )

        self.push_screen(ConfirmScreen("Fresh account", body), answer)

    def apply_settings(self, settings: Settings, announce: bool = True) -> None:
        """Make ``settings`` current: theme, keys, refresh rate (the next order's default mode
        and leverage read them directly)."""
        old_hz = self.refresh_hz
        self.settings = settings
        configure_execution(self.engine, settings)
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        elif announce or settings.ui.theme != "textual-dark":
            self.log_line(
                f"Unknown theme {settings.ui.theme!r}; keeping {self.theme}. Themes: "
                + ", ".join(sorted(self.available_themes)),
                "warning",
            )
        self.set_keymap(dict(settings.keymap))
        if settings.market.max_tick_move != self.mark_guard.max_move:
            self.mark_guard = MarkGuard(settings.market.max_tick_move)
        if announce and settings.ui.refresh_hz != old_hz:
            self._refresh_timer.stop()
            self._refresh_timer = self.set_interval(1 / self.refresh_hz, self.refresh_now)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    # ------------------------------------------------------------------ the feed (MarkSink)

    def on_mark(self, symbol: str, price: float) -> None:
        guard = self.mark_guard
        if not guard.allows(symbol, price):  # an implausible jump: held back, never applied
            if guard.notes:
                self._dirty = True  # the next refresh logs it
            return
        if guard.notes:  # a real move, confirmed by the ticks after it
            self._dirty = True
        try:
            self.engine.set_mark(symbol, price)
        except ValueError:
            self.bad_marks += 1
            return
        self._dirty = True

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        try:
            self.engine.set_funding_rate(symbol, rate_per_hour)
        except ValueError:
            self.bad_marks += 1

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        try:
            self.engine.apply_funding(symbol, rate_per_hour)
        except ValueError:
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
        self._update_subtitle()
        self._dirty = True
        if status.state is FeedState.ENDED:
            self.log_line(status.detail, "warning")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "feed" and event.state is WorkerState.ERROR:
            error = event.worker.error
            self.log_line(f"The price feed stopped: {error}", "error")
            self.notify(f"The price feed stopped: {error}", severity="error", timeout=15)

    def _update_subtitle(self) -> None:
        feed = self.feed
        status = self.feed_status
        if feed is None:
            title = "no price feed"
        elif status is None:
            title = feed.name
        elif status.state is FeedState.CONNECTED:
            title = status.detail or feed.name
        else:
            title = f"{feed.name} {status.state.value}: {status.detail}"
        self.sub_title = safe_text(title)  # feed details quote servers and files

    # ------------------------------------------------------------------ refresh

    def _on_engine_event(self, event: Event) -> None:
        self._pending.append(event)
        self._dirty = True
        if isinstance(event, Liquidation):  # for the post-mortem's "what Cross would have lost"
            self.accounts[event.seq] = account_at(self.engine)

    def refresh_now(self) -> None:
        """Drain engine events into the log and repaint the main screen (timer-driven)."""
        if not self._main_ready:
            return
        events, self._pending = self._pending, []
        lines: list[tuple[str, str]] = []
        for event in events:
            level, text = describe(event)
            lines.append((text, LEVEL_STYLE[level]))
            if isinstance(event, Liquidation):
                self.notify(text, title="Liquidation", severity="error", timeout=12)
        lines += [(note.message, "warning") for note in self.mark_guard.drain()]
        if lines:
            self.log_lines(lines)  # one repaint of the log for a whole funding round
        self._check_journal()  # after the events: a save failure reads as the newest line
        for name, mark in self.engine.marks.items():
            self.launch_marks.setdefault(name, mark)
        if self._dirty:
            self._dirty = False
            # Shutting down, the main screen's widgets may already be gone: skip the repaint.
            with contextlib.suppress(NoMatches):
                self.main.refresh_view()
        self._focus_feed()

    def _focus_feed(self) -> None:
        """Tell the feed which books matter: the selected market's and those of markets with
        a position or a resting order (a live source subscribes to just those)."""
        if self.feed is None or not isinstance(self.feed, LiveSource):
            return
        engine = self.engine
        wanted = {p.market for p in engine.positions()} | {o.market for o in engine.open_orders()}
        with contextlib.suppress(NoMatches, AssertionError):
            selected = self.main.selected_market()
            if selected:
                wanted.add(selected)
        books = frozenset(wanted)
        if books != self._book_focus:
            self._book_focus = books
            self.feed.focus(books=books)

    def log_line(self, text: str, style: str = "") -> None:
        """Add a line to the event log (kept until the log exists, if it does not yet)."""
        self.log_lines([(text, style)])

    def log_lines(self, lines: list[tuple[str, str]]) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall_clock()))
        styles = self.styles_for_numbers()
        self._log_backlog.extend((stamp, text, styles.get(style, style)) for text, style in lines)
        if not self._main_ready:
            return
        with contextlib.suppress(NoMatches):  # shutting down: nowhere left to show it
            self.main.log_widget.add_many(self._log_backlog)
            self._log_backlog = []

    def styles_for_numbers(self) -> dict[str, str]:
        """Rich styles for up/down/warning/error from the current theme."""
        if self._styles is None or self._styles[0] != self.theme:
            theme = self.current_theme
            success = theme.success or "green"
            error = theme.error or "red"
            warning = theme.warning or "yellow"
            styles = {
                "up": success,
                "down": error,
                "success": success,
                "error": error,
                "warning": warning,
            }
            self._styles = (self.theme, styles)
        return self._styles[1]

    def side_style(self, side: Side) -> str:
        return self.styles_for_numbers()["up" if side is Side.LONG else "down"]

    # ------------------------------------------------------------------ orders

    def default_leverage(self, market: str) -> float:
        return float(
            min(self.settings.trading.default_leverage, self.engine.market(market).max_leverage)
        )

    def start_order(
        self,
        market: str,
        side: Side,
        *,
        size: float | None = None,
        usd: float | None = None,
        leverage: float | None = None,
        mode: MarginMode | None = None,
    ) -> None:
        """Open the order form (`b` / `s`), or go straight to confirmation when the size is
        already known (the command line). A market with no price yet opens nothing."""
        name = self.engine.market(market).name
        unpriced = self.no_price(name)
        if unpriced is not None:
            self.notify(unpriced, title="No price yet", severity="warning", timeout=8)
            return
        lev = leverage if leverage is not None else self.default_leverage(name)
        ticket = OrderTicket(name, side, size=size, usd=usd, leverage=lev, mode=mode)
        if size is None and usd is None:
            default = self.settings.trading.default_order_size
            self.push_screen(OrderFormScreen(ticket, str(default)), self.confirm_order)
        else:
            self.confirm_order(ticket)

    def no_price(self, market: str) -> str | None:
        """Why no order can be priced in ``market`` now, or None when it has a mark."""
        if self.engine.mark(market) is not None:
            return None
        return f"{market} has no price yet; wait for the feed, or pick a market the feed prices."

    def default_mode(self, market: str) -> MarginMode:
        """The mode an order in ``market`` starts in: the open position's, else settings'."""
        pos = self.engine.position(market)
        if pos is not None:
            return pos.mode
        return MarginMode.parse(self.settings.trading.default_margin_mode)

    def confirm_order(self, ticket: OrderTicket | None) -> None:
        if ticket is None:
            return
        default = MarginMode.parse(self.settings.trading.default_margin_mode)
        self.push_screen(TradeConfirmScreen(ticket, ticket.mode or default), self.execute_order)

    def execute_order(self, ticket: OrderTicket | None) -> None:
        if ticket is None or ticket.size is None or ticket.mode is None:
            return
        try:
            self.engine.open(ticket.market, ticket.side, ticket.size, ticket.leverage, ticket.mode)
        except OrderRejected as exc:
            self.reject(str(exc))
        else:
            if self.first_run and self._journal_error is None:
                self.main.show_tip("")  # the first trade is placed: the tip has done its job
        self.refresh_now()

    def reject(self, message: str) -> None:
        self.log_line(f"Rejected: {message}", "error")
        self.notify(message, title="Rejected", severity="error", timeout=8)

    def confirm_close(
        self, market: str, *, fraction: float = 1.0, size: float | None = None
    ) -> None:
        pos = self.engine.position(market)
        if pos is None:
            self.reject(f"There is no open {market} position to close.")
            return
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

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.engine.close(market, None if qty >= pos.size else qty)
            except OrderRejected as exc:
                self.reject(str(exc))
            self.refresh_now()

        self.push_screen(ConfirmScreen(f"Close {pos.market}", body), done)

    def confirm_close_all(self) -> None:
        """/close all: one question, then every position closed at its mark."""
        positions = self.engine.positions()
        upnl = sum(p.unrealized_pnl for p in positions)
        names = ", ".join(p.market for p in positions)
        body = (
            f"Close all {len(positions)} open position{'s' if len(positions) != 1 else ''} "
            f"({names}) at their marks?\nRealized PnL about {fmt_money(upnl, signed=True)}, "
            "before fees."
        )

        def done(yes: bool | None) -> None:
            if not yes:
                return
            for pos in self.engine.positions():  # re-read: one may have been liquidated
                try:
                    self.engine.close(pos.market)
                except OrderRejected as exc:
                    self.reject(str(exc))
            self.refresh_now()

        self.push_screen(ConfirmScreen("Close all positions", body), done)

    def margin_limit(self, market: str, sign: int) -> float:
        if sign > 0:
            return self.engine.addable_margin(market)
        return self.engine.removable_margin(market)

    def start_margin_transfer(self, market: str, sign: int) -> None:
        def done(amount: float | None) -> None:
            if amount is not None:
                self.transfer_margin(market, amount if sign > 0 else -amount)

        self.push_screen(MarginScreen(market, sign), done)

    def transfer_margin(self, market: str, amount: float) -> None:
        try:
            if amount >= 0:
                self.engine.add_margin(market, amount)
            else:
                self.engine.remove_margin(market, -amount)
        except OrderRejected as exc:
            self.reject(str(exc))
        self.refresh_now()

    # ------------------------------------------------------------------ command line

    def run_command(self, text: str) -> str | None:
        """Run one line from the command line; returns an error line, or None when done."""
        from tui import commands as cmd

        try:
            command = cmd.parse(text, list(self.engine.markets))
        except cmd.CommandError as exc:
            return str(exc)
        if isinstance(command, cmd.OrderCommand):
            unpriced = self.no_price(command.market)
            if unpriced is not None:
                return unpriced
            self.start_order(
                command.market,
                command.side,
                size=command.size,
                usd=command.notional_usd,
                leverage=command.leverage,
                mode=command.mode,
            )
        elif isinstance(command, cmd.CloseAllCommand):
            if not self.engine.positions():
                return "There are no open positions to close."
            self.confirm_close_all()
        elif isinstance(command, cmd.CloseCommand):
            pos = self.engine.position(command.market)
            if pos is None:
                return f"There is no open {command.market} position to close."
            by_size = command.size is not None
            qty = command.size if command.size is not None else pos.size * command.fraction
            if not qty >= MIN_SIZE:  # "Close 0 of ..." is no question to ask
                what = "That share of your position" if not by_size else "That size"
                return (
                    f"{what} is less than the smallest {pos.market} size the engine takes "
                    f"({MIN_SIZE:.9f}); close a larger {'size' if by_size else 'share'}."
                )
            self.confirm_close(command.market, fraction=command.fraction, size=command.size)
        elif isinstance(command, cmd.MarginCommand):
            pos = self.engine.position(command.market)
            if pos is None:
                return f"There is no open {command.market} position to move margin on."
            if pos.mode is MarginMode.CROSS:
                return f"{command.market} is a Cross position: it has no margin of its own."
            self.transfer_margin(command.market, command.amount)
        else:
            name = getattr(command, "name", "")
            action = {
                "help": self.action_help,
                "settings": self.action_settings,
                "history": self.action_history,
                "reset": self.start_reset,
                "scenario": self.pick_scenario,
            }.get(name)
            if action is None:
                return f"/{name} is not available yet."
            action()
        return None

    # ------------------------------------------------------------------ app actions

    def action_help(self) -> None:
        from tui import commands as cmd

        keys: list[tuple[str, str]] = []
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action == "hide_command":
                continue
            key = self.get_key_display(binding)
            keys.append((key, binding.description))
        keys += [
            ("↑ ↓", "Move the selection"),
            ("Tab", "Switch between markets and positions"),
            ("ctrl+p", "Command palette: every action by name"),
        ]
        self.push_screen(HelpScreen(keys, list(cmd.COMMAND_HELP)))

    def action_settings(self) -> None:
        if isinstance(self.screen, SettingsScreen):
            return
        path = self.config_path or resolve_config_path()

        def done(settings: Settings | None) -> None:
            if settings is not None:
                self.apply_settings(settings)

        self.push_screen(SettingsScreen(self.settings, path), done)

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def pick_scenario(self) -> None:
        """/scenario: choose a practice price path, or the plain simulation, and switch now."""
        from tui.market import SCENARIOS
        from tui.screens.help import ScenarioScreen

        choices = [("simulation", "The everyday seeded random walk.")]
        choices += [(sc.name, sc.teaches) for sc in SCENARIOS.values()]

        def chosen(name: str | None) -> None:
            if name is not None:
                self.switch_feed(name)

        self.push_screen(ScenarioScreen(choices), chosen)

    def switch_feed(self, scenario: str) -> None:
        """Replace the price source by a scenario (or "simulation"), continuing from the
        current marks so open positions see no jump."""
        symbols = [m for m in self.engine.markets if m in MARKETS]
        if scenario == "simulation":
            source: PriceSource = SimSource(symbols, seed=self.settings.market.seed)
        else:
            source = ScenarioSource(scenario, symbols)
        source.resume_from(self.engine.marks)
        self.mark_guard.reset()
        self.workers.cancel_group(self, "feed")
        self.feed = source
        self.feed_status = None
        self.stale_markets = frozenset()
        self.run_worker(
            source.run(self), name="feed", group="feed", exclusive=True, exit_on_error=False
        )
        self._update_subtitle()
        self._describe_feed()
        if scenario == "simulation":
            self.log_line("Back to the simulated market.")

    def action_speed(self, step: int) -> None:
        feed = self.feed
        if feed is None or len(feed.speed_options) < 2:
            self.notify("This price source runs in real time only.")
            return
        options = sorted(feed.speed_options)
        now = min(range(len(options)), key=lambda i: abs(options[i] - feed.speed))
        feed.speed = options[max(0, min(len(options) - 1, now + step))]
        self._update_subtitle()

    def action_pause(self) -> None:
        feed = self.feed
        if feed is None or not feed.can_pause:
            self.notify("This price source cannot be paused.")
            return
        feed.paused = not feed.paused
        self._update_subtitle()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield SystemCommand("Long", "Open a long on the selected market", screen.action_buy)
            yield SystemCommand("Short", "Open a short on the selected market", screen.action_sell)
            yield SystemCommand(
                "Close position", "Close the selected position", screen.action_close_position
            )
            yield SystemCommand(
                "Add margin",
                "Add isolated margin to the selected position",
                lambda: screen.action_margin(1),
            )
            yield SystemCommand(
                "Remove margin",
                "Remove isolated margin from the selected position",
                lambda: screen.action_margin(-1),
            )
            yield SystemCommand("Command line", "Type a trade command", screen.action_command)
        yield SystemCommand("Settings", "Edit perpdesk's settings", self.action_settings)
        yield SystemCommand("History", "Fills, liquidations, funding, stats", self.action_history)
        yield SystemCommand("Help", "Every key and command", self.action_help)
