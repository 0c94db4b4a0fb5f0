"""Command line: ``perpdesk [options]``. Bad arguments get a clear message and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui import __version__

if TYPE_CHECKING:
    from tui.app import PerpDeskApp
    from tui.drills import Catalogue
    from tui.market import PriceSource
    from tui.settings import Settings


def _add_usual_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose what perpdesk runs: ``perpdesk`` and ``perpdesk serve`` share
    them (serve passes them on to the perpdesk each browser tab runs)."""
    parser.add_argument("--config", metavar="PATH", help="settings file to use (TOML)")
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed for a repeatable simulated feed"
    )
    parser.add_argument(
        "--source",
        metavar="KIND",
        help="price source: sim (default), scenario, live (your venue's own: [account] venue), "
        "hyperliquid, binance, replay",
    )
    parser.add_argument(
        "--scenario", metavar="NAME", help="play a named scenario (see --list-scenarios)"
    )
    parser.add_argument(
        "--replay", metavar="FILE.csv", help="replay recorded prices from a CSV file"
    )
    parser.add_argument("--feed-url", metavar="URL", help="websocket endpoint for a live source")
    parser.add_argument(
        "--speed", type=float, metavar="X", help="time acceleration (1, 10, 60; replay 1-100)"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="where the paper account is kept")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start a fresh account with the starting balance (the old one is kept as a season)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perpdesk",
        description=(
            "Practise perpetual-futures trading with paper money: live marks, long and short "
            "positions from the keyboard, Isolated or Cross margin. No exchange account, no "
            "keys, no real money."
        ),
        epilog=(
            "Keys: b long, s short, x close, / command line, ? help, q quit. "
            "Download a real day to replay: perpdesk fetch --help. "
            "In a browser tab instead: perpdesk serve --help."
        ),
    )
    parser.add_argument("--version", action="version", version=f"perpdesk {__version__}")
    parser.add_argument(
        "--print-config-path", action="store_true", help="print the settings file in use and exit"
    )
    parser.add_argument("--list-scenarios", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--list-drills",
        action="store_true",
        help="list the drills with their briefs and best scores, and exit",
    )
    parser.add_argument(
        "--drill", metavar="NAME", help="start a drill (see --list-drills) on its own account"
    )
    parser.add_argument(
        "--accounts", action="store_true", help="list this account's seasons and exit"
    )
    _add_usual_options(parser)
    # Set by ``perpdesk serve`` on the perpdesk it starts for each browser tab: the server's pid.
    parser.add_argument("--served", type=int, metavar="PID", help=argparse.SUPPRESS)
    return parser


def build_serve_parser() -> argparse.ArgumentParser:
    from tui.serve import DEFAULT_HOST, DEFAULT_PORT

    parser = argparse.ArgumentParser(
        prog="perpdesk serve",
        description=(
            "Run perpdesk in a browser tab (needs the serve extra: pip install 'perpdesk[serve]'). "
            "Each tab runs its own perpdesk on the same paper account; one tab at a time may "
            "trade it, a second one is told the account is open elsewhere."
        ),
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: only this computer can connect)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other computers can reach: anyone who can reach the port can "
        "trade the paper account (there is no password)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when it is not the one they asked for "
        "(behind a reverse proxy, e.g. https://desk.example)",
    )
    _add_usual_options(parser)
    return parser


class AccountInUse(Exception):
    """A served perpdesk found its account open elsewhere: its tab shows why, and ends."""

    def __init__(self, message: str, theme: str) -> None:
        super().__init__(message)
        self.theme = theme


# How long a served perpdesk waits for the account's lock before saying it is open elsewhere:
# reloading a tab starts the new perpdesk while the old one is still quitting.
SERVED_LOCK_WAIT = 4.0


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["fetch"]:  # perpdesk fetch ...: download candles for a replay
        from tui.market.fetch_cli import main as fetch_main

        return fetch_main(words[1:])
    if words[:1] == ["serve"]:  # perpdesk serve ...: in a browser tab
        return serve_main(words[1:])
    parser = build_parser()
    args = parser.parse_args(words)

    from tui.settings import resolve_config_path

    config_path = resolve_config_path(args.config)
    if args.print_config_path:
        print(config_path)
        return 0
    if args.list_scenarios:
        from tui.market import SCENARIOS

        for scenario in SCENARIOS.values():
            print(f"{scenario.name:<14} {scenario.teaches}")
        return 0

    from tui.journal import JournalError, default_data_dir, format_seasons, list_seasons

    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    if args.list_drills or args.drill is not None:
        from tui.drills import load_drills, user_drills_dir

        catalogue = load_drills(user_drills_dir(config_path))
        for problem in catalogue.problems:
            print(f"perpdesk: {problem}", file=sys.stderr)
        if args.list_drills:
            print(list_drills(catalogue, data_dir))
            return 0
        if args.drill not in catalogue.drills:
            from tui.safe import safe_text

            parser.exit(
                2,
                f"perpdesk: there is no drill named {safe_text(args.drill)}. Drills: "
                f"{catalogue.names()}\n",
            )
    if args.accounts:
        try:
            print(format_seasons(list_seasons(data_dir)))
        except JournalError as exc:
            parser.exit(1, f"perpdesk: {exc}\n")
        return 0

    if args.served is not None:
        from tui.serve import watch_parent

        watch_parent(args.served)
    try:
        app = build_app(args, parser)
    except AccountInUse as exc:
        from tui.serve import AccountBusyApp

        AccountBusyApp(str(exc), theme=exc.theme).run()
        return 1
    try:
        app.run()
    finally:
        final = app.session.journal
        if final is not None:
            final.flush()
            if not final.close():
                print(f"perpdesk: {final.error or 'the last changes could not be saved'}")
    return app.return_code or 0


def list_drills(catalogue: Catalogue, data_dir: Path) -> str:
    """What ``perpdesk --list-drills`` prints: each drill's name, title, best score and
    attempts, and its brief."""
    import textwrap

    from tui.journal import JournalError
    from tui.journal.drills import DrillScores, drill_scores

    lines: list[str] = []
    try:
        scores = drill_scores(data_dir)
    except JournalError as exc:
        lines.append(f"(scores cannot be read: {exc})")
        scores = DrillScores({})
    for name, drill in catalogue.drills.items():
        record = scores.get(name)
        if record.attempts:
            best = "-" if record.best is None else str(record.best)
            tries = f"best {best}, {record.attempts} attempt{'s' if record.attempts > 1 else ''}"
        else:
            tries = "not tried yet"
        origin = "" if drill.shipped else f" [{drill.origin}]"
        lines.append(f"{name:<20} {drill.title}  ({tries}){origin}")
        lines += textwrap.wrap(
            drill.brief, width=96, initial_indent=" " * 21, subsequent_indent=" " * 21
        )
    if not catalogue.drills:
        lines.append("No drills could be loaded.")
    lines.append("Start one with: perpdesk --drill NAME (or /drill inside perpdesk).")
    return "\n".join(lines)


def build_app(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    app_class: type[PerpDeskApp] | None = None,
) -> PerpDeskApp:
    """Everything between the command line and a ready-to-run app: settings, price source,
    the journal. Exits with a message (code 2 or 1) on arguments that cannot work."""
    from tui.journal import Journal, JournalError, default_data_dir
    from tui.settings import load_settings, resolve_config_path

    config_path = resolve_config_path(args.config)
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    loaded = load_settings(config_path)
    settings = loaded.settings
    messages = list(loaded.messages)

    source = price_source(args, parser, settings, messages)

    from tui.app import PerpDeskApp
    from tui.session import markets_for

    journal: Journal | None = None
    problem: JournalError | None = None
    served = getattr(args, "served", None) is not None
    deadline = time.monotonic() + (SERVED_LOCK_WAIT if served else 0.0)
    while True:
        try:
            journal = Journal.open(
                data_dir,
                starting_balance=settings.account.starting_balance,
                markets_for=lambda venue: markets_for(settings, venue),
                fresh=args.fresh,
                venue=settings.account.venue,
            )
        except JournalError as exc:
            if exc.kind != "in_use":
                problem = exc  # the app explains it and offers a fresh account
            elif time.monotonic() < deadline:
                time.sleep(0.2)  # a reloaded tab: the perpdesk it replaces is still quitting
                continue
            elif served:
                raise AccountInUse(str(exc), settings.ui.theme) from exc
            else:
                parser.exit(1, f"perpdesk: {exc}\n")
        break
    if journal is not None:
        resume = getattr(source, "resume_from", None)
        if resume is not None:  # simulated prices continue from the saved marks
            resume(journal.engine.marks)

    marker = data_dir / "tip-shown"
    first_run = not marker.exists()
    if first_run:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            marker.touch()
        except OSError:
            pass  # the tip shows again next time; nothing else depends on it
    return (app_class or PerpDeskApp)(
        settings,
        drill=getattr(args, "drill", None),
        journal=journal,
        journal_problem=problem,
        source=source,
        config_path=config_path,
        messages=messages,
        data_dir=data_dir,
        first_run=first_run,
        fresh=bool(args.fresh) and journal is not None,
    )


def price_source(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    settings: Settings,
    messages: list[str],
) -> PriceSource:
    """The price source the command line and settings ask for (not started). A bad choice on
    the command line exits with code 2 and says why; a bad one in the settings file falls back
    to the simulated feed with a message in ``messages``."""
    from tui.market import make_source

    market = settings.market
    kind = args.source or (
        "replay" if args.replay else "scenario" if args.scenario else market.source
    )
    if isinstance(kind, str) and kind.strip().lower() == "live":
        kind = settings.account.venue  # "live" is the venue's own feed
    try:
        source = make_source(
            kind,
            symbols=market.markets or None,
            seed=args.seed if args.seed is not None else market.seed,
            scenario=args.scenario or market.scenario,
            url=args.feed_url or market.url,
            replay_file=args.replay or market.replay_file,
            speed=args.speed if args.speed is not None else market.speed,
            execution=market.execution,
        )
    except (ValueError, ImportError, OSError) as exc:
        chosen_here = any(
            (args.source, args.replay, args.scenario, args.feed_url, args.speed is not None)
        )
        if chosen_here:  # the command line asked for it: say why it cannot work, and stop
            parser.exit(2, f"perpdesk: {exc}\n")
        # The settings file asked for it: a bad value falls back to its default, with a message.
        messages.append(
            f"market.source {market.source!r} cannot start ({exc}); using the simulated feed. "
            "Fix it in settings (,) or the config file."
        )
        source = make_source(
            "sim", symbols=market.markets or None, seed=market.seed, execution=market.execution
        )
    return source


# The options a served perpdesk gets from ``perpdesk serve``, as they were given (paths made
# absolute). ``--fresh`` is not among them: serve starts the fresh account once, not per tab.
_FORWARDED = (
    ("config", "--config", True),
    ("seed", "--seed", False),
    ("source", "--source", False),
    ("scenario", "--scenario", False),
    ("replay", "--replay", True),
    ("feed_url", "--feed-url", False),
    ("speed", "--speed", False),
    ("data_dir", "--data-dir", True),
)


def served_command(args: argparse.Namespace, server: int) -> list[str]:
    """The perpdesk each browser tab runs: this Python, the same options, and ``--served``
    with the server's pid (the perpdesk ends itself if that process goes away)."""
    command = [sys.executable, "-m", "tui"]
    for name, flag, is_path in _FORWARDED:
        value = getattr(args, name)
        if value is None:
            continue
        text = os.path.abspath(os.path.expanduser(value)) if is_path else str(value)
        command.append(f"{flag}={text}")
    command.append(f"--served={server}")
    return command


def serve_main(argv: Sequence[str]) -> int:
    """``perpdesk serve``: check everything a tab would trip over, then serve until Ctrl+C."""
    parser = build_serve_parser()
    args = parser.parse_args(list(argv))

    from tui import serve

    try:
        serve.require_textual_serve()
    except serve.ServeExtraMissingError as exc:
        parser.exit(1, f"perpdesk: {exc}\n")
    host = args.host.strip()
    local = serve.is_loopback(host)
    if not local and not args.allow_remote:
        parser.exit(
            2,
            f"perpdesk serve: --host {serve.printable(host)} lets other computers connect, and "
            "anyone who can reach the port can trade this paper account (there is no "
            "password). Add --allow-remote if that is what you want.\n",
        )
    if not 1 <= args.port <= 65535:
        parser.exit(2, f"perpdesk serve: --port must be 1 to 65535, not {args.port}\n")

    from tui.journal import Journal, JournalError, default_data_dir
    from tui.settings import load_settings, resolve_config_path

    settings = load_settings(resolve_config_path(args.config)).settings
    price_source(args, parser, settings, [])  # a source that cannot start stops us here
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()

    from tui.session import markets_for

    try:  # the lock is free, and --fresh starts the new season once rather than per tab
        Journal.open(
            data_dir,
            starting_balance=settings.account.starting_balance,
            markets_for=lambda venue: markets_for(settings, venue),
            fresh=args.fresh,
            venue=settings.account.venue,
        ).close()
    except JournalError as exc:
        if exc.kind == "in_use":
            parser.exit(1, f"perpdesk: {exc}\n")
        # Anything else each tab explains, offering a fresh account, as in the terminal.

    shown = f"[{host}]" if ":" in host else host
    url = args.public_url or (
        f"http://{shown}:{args.port}"
        if local or host not in ("0.0.0.0", "::")
        else f"http://<this computer's address>:{args.port}"
    )
    banner = [
        f"perpdesk serve: open {serve.printable(url)} in a browser.",
        f"Paper account: {serve.printable(str(data_dir))} (one tab at a time can trade it).",
    ]
    if local:
        banner.append(f"Listening on {shown} only: other computers cannot connect.")
    else:
        banner.append(
            f"WARNING: listening on {serve.printable(shown)}:{args.port}. Anyone who can reach "
            "this port can trade the paper account; there is no password."
        )
    banner.append("Ctrl+C stops the server.")
    try:
        serve.run_server(
            serve.shell_command(served_command(args, os.getpid())),
            host=host,
            port=args.port,
            public_url=args.public_url,
            banner=banner,
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        parser.exit(
            1,
            f"perpdesk serve: cannot listen on {serve.printable(shown)}:{args.port}: "
            f"{serve.printable(reason)}. Choose another --port (or --host).\n",
        )
    return 0
