"""``perpdesk fetch``: download a venue's public candles into a replay CSV.

The download itself lives in :mod:`tui.market.fetch`; this module reads the command line,
draws the progress bar (``rich``, imported only to draw on a terminal; a plain line when stdout
is not one) and turns every failure into one clear message and an exit code: 2 for bad
arguments, 1 when the download cannot finish, 130 when interrupted. A download that stops
keeps what it fetched; the same command continues it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from tui.market.fetch import (
    FETCH_SOURCES,
    FetchError,
    FetchJob,
    Reporter,
    make_client,
    partial_hint,
    run_fetch,
)

__all__ = ["PlainReporter", "build_parser", "main"]

EXAMPLE = (
    "perpdesk fetch --source hyperliquid --market BTC --from 2025-10-10T18:00 "
    "--to 2025-10-11T06:00 --interval 1m -o btc-crash.csv"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perpdesk fetch",
        description=(
            "Download a venue's public candles and write them as a replay file "
            "(timestamp,symbol,price) for perpdesk --replay. Each candle becomes its open, "
            "both extremes and its close, so a wick is in the replay. Times are UTC unless "
            "they name a zone. An interrupted download continues when run again."
        ),
        epilog=f"Example: {EXAMPLE}",
    )
    parser.add_argument(
        "--source",
        default="hyperliquid",
        metavar="VENUE",
        help=f"where the candles come from: {', '.join(FETCH_SOURCES)} (default hyperliquid)",
    )
    parser.add_argument(
        "--market",
        action="append",
        required=True,
        metavar="NAME",
        help="market(s): BTC, or BTC,ETH; repeat for more",
    )
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="WHEN",
        help="first candle, e.g. 2025-10-10T18:00 (UTC) or 2025-10-10",
    )
    parser.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="WHEN",
        help="end (exclusive), e.g. 2025-10-11T06:00, or now",
    )
    parser.add_argument(
        "--interval", default="1m", metavar="WIDTH", help="candle width: 1m (default), 5m, 1h, ..."
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE.csv", help="file to write")
    parser.add_argument(
        "--feed-url", metavar="URL", help="the venue's address (websocket for Hyperliquid)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace FILE.csv if it exists, and discard a partial download of it",
    )
    return parser


class PlainReporter:
    """Progress as plain lines (stdout not a terminal): one at the start, then one each time
    another tenth is done, and every note."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self._shown = -1
        self.description = ""

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _show(self) -> None:
        tenth = 10 if self.total <= 0 else min(10, self.done * 10 // self.total)
        if tenth > self._shown:
            self._shown = tenth
            pct = 100 if self.total <= 0 else self.done * 100 // self.total
            self._line(f"{self.description}: {self.done:,}/{self.total:,} candles ({pct} %)")

    def start(self, total: int, done: int, description: str) -> None:
        self.total, self.done, self.description = total, done, description
        self._show()

    def advance(self, candles: int) -> None:
        self.done = min(self.total, self.done + candles)
        self._show()

    def note(self, message: str) -> None:
        self._line(message)

    def finish(self) -> None:
        pass


class RichReporter:
    """A ``rich`` progress bar on the terminal; notes print above it."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("candles"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: Any = None

    def start(self, total: int, done: int, description: str) -> None:
        self._task = self.progress.add_task(description, total=total, completed=done)
        self.progress.start()

    def advance(self, candles: int) -> None:
        if self._task is not None:
            self.progress.advance(self._task, candles)

    def note(self, message: str) -> None:
        self.progress.console.print(message, markup=False, highlight=False)

    def finish(self) -> None:
        self.progress.stop()


def _reporter(stream: TextIO) -> Reporter:
    if stream.isatty():
        return RichReporter()
    return PlainReporter(stream)


def main(
    argv: Sequence[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now_ms: int | None = None,
) -> int:
    """Run ``perpdesk fetch``; returns the exit code (argparse exits 2 on its own)."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    out, err = sys.stdout, sys.stderr

    def fail(code: int, message: str) -> int:
        err.write(f"perpdesk fetch: {message}\n")
        err.flush()
        return code

    try:
        job, notes = FetchJob.from_args(
            source=args.source,
            markets=args.market,
            interval=args.interval,
            start=args.start,
            end=args.end,
            now_ms=now_ms,
        )
        client = make_client(job.source, args.feed_url)
    except ImportError as exc:  # the live extra (websockets) is missing
        return fail(1, str(exc))
    except ValueError as exc:
        return fail(2, str(exc))
    for note in notes:
        out.write(note + "\n")
    reporter = _reporter(out)
    try:
        summary = run_fetch(
            job, client, args.output, force=args.force, reporter=reporter, sleep=sleep
        )
    except FetchError as exc:
        reporter.finish()
        hint = partial_hint(args.output)
        return fail(1, f"{exc}" + (f"\n{hint}" if hint else ""))
    except KeyboardInterrupt:
        reporter.finish()
        hint = partial_hint(args.output)
        return fail(130, "interrupted" + (f"; {hint}" if hint else ""))
    for line in summary.lines():
        out.write(line + "\n")
    out.write(f"Replay it: perpdesk --replay {summary.output}\n")
    out.flush()
    return 0
