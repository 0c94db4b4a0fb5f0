"""Command line: ``perpdesk [options]``. Bad arguments get a clear message and exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui import __version__

if TYPE_CHECKING:
    from tui.app import PerpDeskApp


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
            "Download a real day to replay: perpdesk fetch --help."
        ),
    )
    parser.add_argument("--version", action="version", version=f"perpdesk {__version__}")
    parser.add_argument("--config", metavar="PATH", help="settings file to use (TOML)")
    parser.add_argument(
        "--print-config-path", action="store_true", help="print the settings file in use and exit"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed for a repeatable simulated feed"
    )
    parser.add_argument(
        "--source",
        metavar="KIND",
        help="price source: sim (default), scenario, hyperliquid, binance, replay",
    )
    parser.add_argument(
        "--scenario", metavar="NAME", help="play a named scenario (see --list-scenarios)"
    )
    parser.add_argument("--list-scenarios", action="store_true", help="list scenarios and exit")
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
    parser.add_argument(
        "--accounts", action="store_true", help="list this account's seasons and exit"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["fetch"]:  # perpdesk fetch ...: download candles for a replay
        from tui.market.fetch_cli import main as fetch_main

        return fetch_main(words[1:])
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
    if args.accounts:
        try:
            print(format_seasons(list_seasons(data_dir)))
        except JournalError as exc:
            parser.exit(1, f"perpdesk: {exc}\n")
        return 0

    app = build_app(args, parser)
    try:
        app.run()
    finally:
        final = app.journal
        if final is not None:
            final.flush()
            if not final.close():
                print(f"perpdesk: {final.error or 'the last changes could not be saved'}")
    return app.return_code or 0


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

    from tui.market import make_source

    market = settings.market
    kind = args.source or (
        "replay" if args.replay else "scenario" if args.scenario else market.source
    )
    try:
        source = make_source(
            kind,
            symbols=market.markets or None,
            seed=args.seed if args.seed is not None else market.seed,
            scenario=args.scenario or market.scenario,
            url=args.feed_url or market.url,
            replay_file=args.replay or market.replay_file,
            speed=args.speed if args.speed is not None else market.speed,
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
        source = make_source("sim", symbols=market.markets or None, seed=market.seed)

    from tui.app import PerpDeskApp, markets_for

    journal: Journal | None = None
    problem: JournalError | None = None
    try:
        journal = Journal.open(
            data_dir,
            starting_balance=settings.account.starting_balance,
            markets=markets_for(settings),
            fresh=args.fresh,
        )
    except JournalError as exc:
        if exc.kind == "in_use":
            parser.exit(1, f"perpdesk: {exc}\n")
        problem = exc  # the app explains it and offers a fresh account
    if journal is not None:
        resume = getattr(source, "resume_from", None)
        if resume is not None:  # simulated prices continue from the saved marks
            resume(journal.engine.marks)

    marker = data_dir / "tip-shown"
    first_run = not marker.exists()
    if first_run:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # the tip shows again next time; nothing else depends on it
    return (app_class or PerpDeskApp)(
        settings,
        journal=journal,
        journal_problem=problem,
        source=source,
        config_path=config_path,
        messages=messages,
        data_dir=data_dir,
        first_run=first_run,
    )
