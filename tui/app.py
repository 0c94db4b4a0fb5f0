"""The Textual app: lifecycle, the heartbeat, global actions, the palette, and the one place
where the screens' requests are handled. Thin.

Data flows one way. The price feed calls the session (:class:`tui.session.Session`); a timer
calls :meth:`PerpDeskApp.refresh_now` at the refresh rate, which drains the session and
publishes :attr:`PerpDeskApp.heartbeat`; every screen that shows live figures follows that one
signal. What the trader asks for comes back up as messages (:mod:`tui.messages`), handled
below: the app runs the flow (a form, a question) and the session acts and says the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, assert_never, cast

from rich.text import Text
from textual import on
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from tui import actions
from tui.commands import (
    CancelCommand,
    CloseAllCommand,
    CloseCommand,
    Command,
    DrillCommand,
    LeverageCommand,
    MarginCommand,
    OrderCommand,
    OrdersCommand,
    PlaceOrderCommand,
    SimpleCommand,
    TpSlCommand,
)
from tui.drills import Catalogue, load_drills, user_drills_dir
from tui.drills.attempts import DrillResult
from tui.engine import MarginMode, OrderType, PaperEngine, Side
from tui.journal import Journal, JournalError
from tui.market import MarkSink, PriceSource
from tui.messages import (
    CancelRequested,
    CloseRequested,
    CommandEntered,
    ExportRequested,
    LeverageRequested,
    MarginRequested,
    ModifyRequested,
    OrderRequested,
    StarRequested,
    TpSlRequested,
)
from tui.safe import safe_text
from tui.screens.base import invoke
from tui.screens.dialogs.close import CloseChoice, ClosePositionScreen
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.screens.dialogs.leverage import LeverageScreen
from tui.screens.dialogs.margin import MarginScreen
from tui.screens.dialogs.modify import ModifyOrderScreen, OrderChange
from tui.screens.dialogs.tpsl import TpSlChoice, TpSlScreen
from tui.screens.help import HelpScreen
from tui.screens.main import ORDERS, MainScreen
from tui.screens.order import OrderFormScreen, TradeConfirmScreen
from tui.screens.settings import SettingsScreen
from tui.session import Beat, ExportJob, OrderTicket, Question, Session, Toast
from tui.settings import Settings, SettingsSaveError, resolve_config_path, save_changes

IDLE_HZ = 2.0
"""The heartbeat's rate while nothing is open (no position, no resting order): prices that
move four or five times a second read as well twice a second, and a desk left open all day
costs a fraction of the CPU. With anything open it beats at the refresh rate (settings)."""


class PerpDeskApp(App[None]):
    """perpdesk. ``app.session`` is the trading session the screens display."""

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
        drill: str | None = None,
        fresh: bool = False,
    ) -> None:
        super().__init__()
        self.session = Session(
            settings,
            engine=engine,
            journal=journal,
            journal_problem=journal_problem,
            feed=source,
            data_dir=data_dir,
            messages=messages,
            first_run=first_run,
            wall_clock=wall_clock,
            monotonic=monotonic,
            fresh=fresh,
        )
        self.heartbeat: Signal[Beat] = Signal(self, "heartbeat")
        """Published on every refresh tick with what changed; screens follow it."""
        self.config_path = config_path
        self.autostart_feed = autostart_feed
        self._question: Question | None = None
        self._launch_drill = drill  # perpdesk --drill NAME: started once the first frame is up

    # ------------------------------------------------------------------ lifecycle

    def notify(
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
        return float(self.session.settings.ui.refresh_hz)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    def on_mount(self) -> None:
        self.apply_settings(self.session.settings, announce=False)
        self._question = self.session.start()
        feed = self.session.feed
        if feed is not None and self.autostart_feed:
            self._run_feed(feed)
        self._refresh_timer = self.set_interval(1 / self.refresh_hz, self.refresh_now)
        self._beat_hz = self.refresh_hz
        self.set_interval(5, self.session.retry_journal)
        if self.session.history_to_build:  # an older account: its history built meanwhile
            self._history_timer = self.set_interval(0.1, self._build_history)
        self.refresh_now()

    def _build_history(self) -> None:
        if not self.session.build_history():
            self._history_timer.stop()

    def on_ready(self) -> None:
        """The first frame is up: ask what the launch could not decide alone."""
        if self._question is not None:
            self.ask(self._question, self._fresh_account_answer)
        elif self._launch_drill is not None:
            self.start_drill(self._launch_drill)
        self.set_timer(1.0, self._load_history_screen)

    def _load_history_screen(self) -> None:
        """Import the history screen once the desk is up, so that ``h`` opens it at once."""
        import tui.screens.history  # noqa: F401

    def _fresh_account_answer(self, yes: bool | None) -> None:
        problem = self.session.journal_problem
        if not yes:
            self.exit_with_error(str(problem) if problem is not None else "")
            return
        error = self.session.start_fresh_account()
        if error is not None:
            self.exit_with_error(error)
            return
        self.refresh_now()

    def exit_with_error(self, message: str) -> None:
        """Quit with code 1, printing ``message`` afterwards as plain text (never markup; control
        characters escaped: it may quote a path or a file's contents)."""
        self.exit(return_code=1, message=Text(safe_text(message, multiline=True)))

    def apply_settings(self, settings: Settings, announce: bool = True) -> None:
        """Make ``settings`` current: theme, keys, refresh rate (the next order's default mode
        and leverage read them directly)."""
        old_hz = self.refresh_hz
        self.session.use_settings(settings)
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        elif announce or settings.ui.theme != "textual-dark":
            self.session.say(
                f"Unknown theme {settings.ui.theme!r}; keeping {self.theme}. Themes: "
                + ", ".join(sorted(self.available_themes)),
                "warning",
            )
        self.set_keymap(dict(settings.keymap))
        if announce and settings.ui.refresh_hz != old_hz:
            self._refresh_timer.stop()
            self._refresh_timer = self.set_interval(1 / self.refresh_hz, self.refresh_now)
            self._beat_hz = self.refresh_hz
        if announce and (question := self.session.venue_question()) is not None:

            def answer(yes: bool | None) -> None:
                self.session.answer_venue(bool(yes))
                self.refresh_now()

            self.ask(question, answer)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def _run_feed(self, feed: PriceSource, sink: MarkSink | None = None) -> None:
        self.run_worker(
            feed.run(sink or self.session),
            name="feed",
            group="feed",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "export" and event.state is WorkerState.SUCCESS:
            done: object = event.worker.result
            job, result = cast("tuple[ExportJob, Path | BaseException]", done)
            self.session.finish_export(job, result)
            self.refresh_now()
        if event.worker.group == "feed" and event.state is WorkerState.ERROR:
            message = f"The price feed stopped: {event.worker.error}"
            self.session.say(message, "error", Toast(message, severity="error", timeout=15))
            self.refresh_now()

    # ------------------------------------------------------------------ the heartbeat

    def refresh_now(self) -> None:
        """The heartbeat: drain the session, pop up its toasts, publish :attr:`heartbeat`.
        Runs at the refresh rate, and right after each action so its result shows at once."""
        beat = self.session.drain()
        for toast in self.session.take_toasts():
            self.notify(
                toast.message, title=toast.title, severity=toast.severity, timeout=toast.timeout
            )
        self.sub_title = safe_text(self.session.feed_title())  # details quote servers, files
        if self.session.take_bell():  # a risk alert ([ui] bell = false keeps it quiet)
            self.bell()
        if self.size.width < 100:  # the feed's words and the speed need the room
            self.title = self.session.engine.venue.label
        else:
            self.title = f"{self.TITLE} · {self.session.desk_title()}"
        self.heartbeat.publish(beat)
        if (result := self.session.take_drill_result()) is not None:
            self._drill_over(result)
        self._pace()

    def _pace(self) -> None:
        """Beat at the refresh rate while anything is open or a drill runs, else at
        :data:`IDLE_HZ`."""
        hz = self.refresh_hz
        if not self.session.engine.anything_open and self.session.drill is None:
            hz = min(hz, IDLE_HZ)
        timer = getattr(self, "_refresh_timer", None)
        if timer is not None and hz != self._beat_hz:
            timer.stop()
            self._refresh_timer = self.set_interval(1 / hz, self.refresh_now)
            self._beat_hz = hz

    def ask(self, question: Question, then: Callable[[bool | None], None]) -> None:
        """Ask a yes/no question; ``then`` gets the answer."""
        self.push_screen(ConfirmScreen(question.title, question.body), then)

    # ------------------------------------------------------------------ requests from the screens

    @on(OrderRequested)
    def _order_requested(self, event: OrderRequested) -> None:
        self.start_order(
            event.market,
            event.side,
            size=event.size,
            usd=event.usd,
            leverage=event.leverage,
            mode=event.mode,
        )

    @on(CloseRequested)
    def _close_requested(self, event: CloseRequested) -> None:
        self.confirm_close(event.market, fraction=event.fraction, size=event.size)

    @on(MarginRequested)
    def _margin_requested(self, event: MarginRequested) -> None:
        market, sign = event.market, event.sign

        def done(amount: float | None) -> None:
            if amount is not None:
                self.session.transfer_margin(market, amount if sign > 0 else -amount)
            self.refresh_now()

        self.push_screen(MarginScreen(market, sign), done)

    @on(LeverageRequested)
    def _leverage_requested(self, event: LeverageRequested) -> None:
        self.change_leverage(event.market, event.leverage)

    @on(TpSlRequested)
    def _tp_sl_requested(self, event: TpSlRequested) -> None:
        def done(choice: TpSlChoice | None) -> None:
            if choice is not None:
                self.session.set_tp_sl(
                    choice.market, take_profit=choice.take_profit, stop_loss=choice.stop_loss
                )
            self.refresh_now()

        self.push_screen(TpSlScreen(event.market), done)

    @on(CancelRequested)
    def _cancel_requested(self, event: CancelRequested) -> None:
        if event.order_id is not None:  # one order: at once (the log says which)
            self.session.cancel_orders(order_id=event.order_id)
            self.refresh_now()
            return
        self.confirm_cancel(event.market)

    @on(ModifyRequested)
    def _modify_requested(self, event: ModifyRequested) -> None:
        order = self.session.order(event.order_id)
        if order is None:
            self.session.reject(f"Order #{event.order_id} is not open any more.")
            self.refresh_now()
            return

        def done(change: OrderChange | None) -> None:
            if change is not None:
                self.session.modify_order(change.order_id, price=change.price, size=change.size)
            self.refresh_now()

        self.push_screen(ModifyOrderScreen(order), done)

    @on(CommandEntered)
    def _command_entered(self, event: CommandEntered) -> None:
        event.line.finish(self.run_command(event.command))

    @on(ExportRequested)
    def _export_requested(self, event: ExportRequested) -> None:
        """Write a history table in a worker thread (the screen shows its progress from
        ``session.export_job``); the session says where it went when it ends."""
        job = self.session.start_export(event.kind)
        if isinstance(job, str):
            self.notify(job, title="Export", severity="warning", timeout=8)
            return

        def export() -> tuple[ExportJob, Path | BaseException]:
            try:
                return job, self.session.run_export(job)
            except Exception as exc:  # said by finish_export, never a traceback
                return job, exc

        self.run_worker(export, thread=True, group="export", name=f"export {event.kind}")
        self.refresh_now()

    @on(StarRequested)
    def _star_requested(self, event: StarRequested) -> None:
        """Star a market (or not) at once, and keep it in the settings file."""
        settings, said = self.session.toggle_favourite(event.market)
        self.session.use_settings(settings)
        self.notify(said, timeout=3)
        favourites = settings.ui.favourites
        try:
            save_changes({"ui.favourites": favourites}, self.config_path or resolve_config_path())
        except SettingsSaveError as exc:
            self.notify(f"Starred for now, not saved: {exc}", severity="warning", timeout=10)
        self.main.refresh_markets()

    def start_order(
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
    ) -> None:
        """Open the order form (`b` / `s`), or go straight to confirmation when the size is
        already known (the command line); place the order once confirmed. A market with no
        price yet opens nothing: a toast says why."""
        unpriced = self.session.no_price(self.session.engine.market(market).name)
        if unpriced is not None:
            self.notify(unpriced, title="No price yet", severity="warning", timeout=8)
            return
        ticket = self.session.ticket(
            market,
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
        if size is None and usd is None:
            default = self.session.settings.trading.default_order_size
            self.push_screen(OrderFormScreen(ticket, str(default)), self._review_order)
        else:
            self._review_order(ticket)

    def _review_order(self, ticket: OrderTicket | None) -> None:
        if ticket is None:
            return
        mode = ticket.mode or self.session.settings_mode()
        ticket = self.session.fix_size(ticket)  # the size confirmed is the size filled
        self.push_screen(TradeConfirmScreen(ticket, mode), self._place_order)

    def _place_order(self, ticket: OrderTicket | None) -> None:
        if ticket is not None:
            self.session.place(ticket)
        self.refresh_now()

    def change_leverage(self, market: str, leverage: float | None = None) -> None:
        """`L` / `/leverage`: show what a new leverage does, change it once confirmed."""

        def done(chosen: float | None) -> None:
            if chosen is not None:
                self.session.set_leverage(market, chosen)
            self.refresh_now()

        self.push_screen(LeverageScreen(market, leverage), done)

    def confirm_close(
        self, market: str, *, fraction: float = 1.0, size: float | None = None
    ) -> None:
        """The close dialog (live, 25 / 50 / 75 / 100 %), then the close at the mark."""
        if self.session.position(market) is None:
            self.session.reject(f"There is no open {market} position to close.")
            self.refresh_now()
            return

        def done(choice: CloseChoice | None) -> None:
            if choice is not None:
                self.session.close_position(choice.market, choice.size)
            self.refresh_now()

        self.push_screen(ClosePositionScreen(market, fraction=fraction, size=size), done)

    def confirm_close_all(self) -> None:
        """/close all: one question, then every position closed at its mark."""

        def done(yes: bool | None) -> None:
            if yes:
                self.session.close_all()
            self.refresh_now()

        self.ask(self.session.close_all_question(), done)

    def confirm_cancel(self, market: str | None) -> None:
        """Cancel every open order in ``market`` (every order when ``None``), asking first."""
        why = self.session.cannot_cancel(market=market)
        if why is not None:
            self.session.reject(why)
            self.refresh_now()
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.session.cancel_orders(market=market)
            self.refresh_now()

        self.ask(self.session.cancel_question(market), done)

    def run_tp_sl(self, command: TpSlCommand) -> str | None:
        """/tp MARKET PRICE|off, /sl MARKET PRICE|off: why not (the line keeps it), or set."""
        session = self.session
        if why := session.cannot_set_tp_sl(command.market):
            return why
        if command.price is not None and (
            why := session.tp_sl_problem(command.market, command.kind, command.price)
        ):
            return why
        if command.kind == "tp":
            session.set_tp_sl(command.market, take_profit=command.price)
        else:
            session.set_tp_sl(command.market, stop_loss=command.price)
        self.refresh_now()
        return None

    def run_cancel(self, command: CancelCommand) -> str | None:
        """/cancel ID | MARKET | all: one order at once, a market's or all after a question."""
        session = self.session
        if why := session.cannot_cancel(command.order_id, command.market):
            return why
        if command.order_id is not None:
            session.cancel_orders(order_id=command.order_id)
            self.refresh_now()
        else:
            self.confirm_cancel(command.market)
        return None

    def run_command(self, command: Command) -> str | None:
        """Run a parsed command line; returns why it cannot run now, or None once started."""
        session = self.session
        match command:
            case OrderCommand():
                if unpriced := session.no_price(command.market):
                    return unpriced
                self.start_order(
                    command.market,
                    command.side,
                    size=command.size,
                    usd=command.notional_usd,
                    leverage=command.leverage,
                    mode=command.mode,
                )
            case CloseAllCommand():
                if why := session.cannot_close_all():
                    return why
                self.confirm_close_all()
            case CloseCommand():
                why = session.cannot_close(
                    command.market, fraction=command.fraction, size=command.size
                )
                if why:
                    return why
                self.confirm_close(command.market, fraction=command.fraction, size=command.size)
            case MarginCommand():
                if why := session.cannot_move_margin(command.market):
                    return why
                session.transfer_margin(command.market, command.amount)
                self.refresh_now()
            case PlaceOrderCommand():
                if unpriced := session.no_price(command.market):
                    return unpriced
                self.start_order(
                    command.market,
                    command.side,
                    size=command.size,
                    usd=command.notional_usd,
                    leverage=command.leverage,
                    mode=command.mode,
                    order_type=command.order_type,
                    price=command.price,
                    trigger_price=command.trigger_price,
                    reduce_only=command.reduce_only,
                    post_only=command.post_only,
                    take_profit=command.take_profit,
                    stop_loss=command.stop_loss,
                )
            case LeverageCommand():
                if why := session.cannot_change_leverage(command.market):
                    return why
                self.change_leverage(command.market, command.leverage)
            case DrillCommand():
                if command.name is None:
                    self.action_drill()
                elif why := self.session.drill_problem():
                    return why
                else:
                    return self.start_drill(command.name)
            case TpSlCommand():
                return self.run_tp_sl(command)
            case CancelCommand():
                return self.run_cancel(command)
            case OrdersCommand():
                if why := session.cannot_cancel(market=command.market):
                    return why.replace(" to cancel", "")
                self.main.show_tab(ORDERS, command.market)
            case SimpleCommand():  # the action table says what each simple word does
                action = actions.BY_COMMAND.get(command.name)
                if action is None or action.action is None:
                    return f"/{command.name} is not available yet."
                invoke(self if action.on_app else self.main, action)
            case _:
                assert_never(command)
        return None

    # ------------------------------------------------------------------ app actions

    def action_help_quit(self) -> None:
        """ctrl+c does not quit (it copies in a field): say which key does, in plain words
        (Textual's own toast is markup, and perpdesk shows toasts as typed)."""
        keys = self.session.settings.keymap.get("quit", "q").split(",")
        self.notify(f"Press {keys[0].strip()} to quit perpdesk.", title="Do you want to quit?")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_settings(self) -> None:
        if isinstance(self.screen, SettingsScreen):
            return
        path = self.config_path or resolve_config_path()

        def done(settings: Settings | None) -> None:
            if settings is not None:
                self.apply_settings(settings)
            self.refresh_now()

        self.push_screen(SettingsScreen(self.session.settings, path), done)

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_shock(self) -> None:
        """The shock ladder of the selected market (every market by beta when none is)."""
        from tui.screens.ladder import ShockLadderScreen

        if isinstance(self.screen, ShockLadderScreen):
            return
        market = self.main.selected_market()
        self.push_screen(ShockLadderScreen(market))

    def action_liquidation_map(self) -> None:
        from tui.screens.liqmap import LiquidationMapScreen

        if not isinstance(self.screen, LiquidationMapScreen):
            self.push_screen(LiquidationMapScreen())

    def action_reset(self) -> None:
        """/reset: archive this account as a season and start a fresh one (asks first)."""
        if why := self.session.drill_problem():
            self.notify(why)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.session.reset()
            self.refresh_now()

        self.ask(self.session.reset_question(), answer)

    def action_scenario(self) -> None:
        """/scenario: choose a practice price path, or the plain simulation, and switch now."""
        from tui.screens.dialogs.scenario import ScenarioScreen

        if why := self.session.drill_problem():
            self.notify(why)
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                self.switch_feed(name)

        self.push_screen(ScenarioScreen(self.session.scenario_choices()), chosen)

    def switch_feed(self, scenario: str) -> None:
        """Replace the price source by a scenario (or "simulation"), from the current marks."""
        source = self.session.switch_feed(scenario)
        self.workers.cancel_group(self, "feed")
        self._run_feed(source)
        self.refresh_now()

    def action_speed(self, step: int) -> None:
        why = self.session.speed_problem()
        if why is not None:
            self.notify(why)
            return
        if at_the_end := self.session.change_speed(step):
            self.notify(at_the_end)
        self.refresh_now()

    def action_pause(self) -> None:
        why = self.session.pause_problem()
        if why is not None:
            self.notify(why)
            return
        self.session.toggle_pause()
        self.refresh_now()

    # ------------------------------------------------------------------ drills

    def drills(self) -> Catalogue:
        """Every drill: the shipped ones and the trader's (``drills`` beside the settings)."""
        return load_drills(user_drills_dir(self.config_path or resolve_config_path()))

    def action_drill(self) -> None:
        """/drill: the picker; while a drill runs, offer to end it."""
        if self.session.drill is not None:
            title = self.session.drill.run.drill.title

            def answer(yes: bool | None) -> None:
                if yes:
                    self.session.end_drill()
                self.refresh_now()

            self.ask(
                Question(
                    "End the drill",
                    f"End {title} now? It counts as an attempt, lost; your own account comes "
                    "back as you left it.",
                ),
                answer,
            )
            return
        from tui.screens.drills import DrillPickerScreen

        catalogue = self.drills()
        scores = self.session.drill_scores()

        def chosen(name: str | None) -> None:
            if name is not None:
                self.start_drill(name, catalogue)

        self.push_screen(DrillPickerScreen(catalogue, scores), chosen)

    def start_drill(self, name: str, catalogue: Catalogue | None = None) -> str | None:
        """Start the drill ``name`` on its own account (its feed paused until p); returns why
        it cannot start (also shown as a toast), or ``None``."""
        catalogue = catalogue or self.drills()
        drill = catalogue.drills.get(name)
        if drill is None:
            why = f"There is no drill named {safe_text(name)}. Drills: {catalogue.names()}."
        else:
            started = self.session.start_drill(drill)
            if not isinstance(started, str):
                self.workers.cancel_group(self, "feed")
                if self.autostart_feed and self.session.feed is not None:
                    self._run_feed(self.session.feed, started)
                self.refresh_now()
                return None
            why = started
        self.notify(why, title="Drill", severity="warning", timeout=10)
        return why

    def _drill_over(self, result: DrillResult) -> None:
        """A drill ended: the trader's own feed runs again, and the end screen shows."""
        from tui.screens.drill_end import DrillEndScreen

        while len(self.screen_stack) > 1:  # an order form left open acts on the drill no more
            self.pop_screen()
        self.workers.cancel_group(self, "feed")
        if self.autostart_feed and self.session.feed is not None:
            self._run_feed(self.session.feed)

        def then(answer: str | None) -> None:
            if answer == "retry":
                self.start_drill(result.drill.name)
            elif answer == "drills":
                self.action_drill()

        self.push_screen(DrillEndScreen(result), then)

    def on_unmount(self) -> None:
        """Quitting during a drill ends it (journaled as an attempt) and brings the trader's
        own account back, so it is the one closed and saved on the way out. A long export
        stops at its next chunk, leaving no file."""
        self.session.cancel_export()
        self.session.end_drill()
        self.session.take_drill_result()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own commands, then every action of the table with a palette entry: the
        app's everywhere, the trading screen's on it."""
        yield from super().get_system_commands(screen)
        for action in actions.ACTIONS:
            if action.palette is None:
                continue
            title, help_text = action.palette
            if action.on_app:
                yield SystemCommand(title, help_text, partial(invoke, self, action))
            elif isinstance(screen, MainScreen):
                yield SystemCommand(title, help_text, partial(invoke, screen, action))
