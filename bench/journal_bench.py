"""The journal at scale: launch, history and memory against the number of records (prints
figures and ratios; asserts nothing).

Run from the repository root: ``python bench/journal_bench.py [--sizes 1000,10000,100000]``
(add ``1000000`` for the million-record account: building it takes several minutes, once).

Accounts are built through the real journal and engine (``bench/journal_bench_build.py``: a
seeded trader with fills, liquidations, funding, margin moves and orders) and cached under
``--cache`` (default: a folder in the temp dir) by schema version and size. Every
measurement runs on a copy, in a fresh Python process, with the OS cache warm (a relaunch).

Figures per size:

1. launch to state: ``Journal.open`` (the account's engine rebuilt), median of ``--runs``;
   the first open of the copy separately (it builds what a migration adds, if anything), and
   the bare baseline measured in the same process: connecting to the SQLite file and reading
   one row (the saved state);
2. launch to first frame: a fresh ``perpdesk --seed 1 --data-dir COPY`` process, headless,
   from process start to the app's ``on_ready``; baseline: a bare Textual app (Header,
   DataTable, Footer) to ``on_ready``;
3. history: the first page of every history table (fills, liquidations with post-mortems,
   funding, transfers, order records, orders, closed positions) with their counts and the
   practice stats, as the history screen asks for them; on a journal without paging (before
   issue 18), what that screen computed from ``engine.events`` before drawing;
4. memory: RSS of a process with the account open (at rest) and after (3);
5. the history screen itself (``--screen``, on by default): a headless perpdesk on the
   account (seeded simulation ticking), ``h`` pressed once the app has run a second:
   the time until the first page of fills is painted, the longest gap between two
   heartbeats (screen refreshes) and the event loop's longest stall while it opens, and
   the process's memory at rest, with history open, and after closing it; baseline: a bare
   Textual app pushing a screen with a 100-row DataTable;
6. with ``--migrate`` (and a schema-1 account of that size in the cache, built by a perpdesk
   before the ledger): its first open by this perpdesk (which adds the index by kind), then
   the ledger built the way the app builds it (``build_history(0.02)`` slices), with the
   longest slice: the longest the event loop waits for it.

Targets (issue 18): 100k launch within 1.3x of 1k, 1M within 1.5x of 1k; first page of
history within 0.3 s at 100k (``h`` until painted); the longest gap between screen refreshes
while history opens under 250 ms; history within 30 MB of rest.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHILD = "--child"
PAGE = 100


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


# --------------------------------------------------------------------------- accounts


def schema_version() -> int:
    from tui.journal import SCHEMA_VERSION

    return int(SCHEMA_VERSION)


def cache_tag(version: int) -> str:
    """The cache folder of accounts built by this perpdesk: its schema, and its ledger's
    format when it has one (a ledger of an older format is folded again on opening)."""
    try:
        from tui.journal.ledger import LEDGER_VERSION
    except ImportError:
        return f"v{version}"
    return f"v{version}" if LEDGER_VERSION == 1 else f"v{version}.{LEDGER_VERSION}"


def cached_account(cache: Path, n: int, version: int) -> Path:
    folder = cache / (cache_tag(version) if version > 1 else f"v{version}") / str(n)
    if (folder / "account.db").exists():
        return folder
    from journal_bench_build import build

    tmp = folder.with_name(f"{n}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"building a {n:,}-record account (cached in {folder}) ...", flush=True)
    start = time.perf_counter()
    got = build(tmp, n, report=True)
    print(f"  {got:,} records in {time.perf_counter() - start:.0f} s", flush=True)
    tmp.rename(folder)
    return folder


def work_copy(source: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="perpdesk-jbench-"))
    for item in source.iterdir():
        if item.name.startswith("account.db"):
            shutil.copy2(item, target / item.name)
    return target


def record_count(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "account.db") as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM events WHERE season = (SELECT MAX(number) FROM seasons)"
        ).fetchone()
    return int(row[0])


# --------------------------------------------------------------------------- children


def _open(folder: Path) -> Any:
    from tui.engine import default_markets
    from tui.journal import Journal

    return Journal.open(folder, markets=default_markets())


def _finish_history(journal: Any) -> float:
    """Build what a migration left to build (new journals only); seconds taken."""
    if not hasattr(journal, "build_history"):
        return 0.0
    start = time.perf_counter()
    while not journal.history_ready:
        journal.build_history(1.0)
    return time.perf_counter() - start


def child_launch(folder: Path, runs: int) -> None:
    import sqlite3

    import tui.history  # noqa: F401 - imported before any timing, as the app would have it

    bare: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        conn = sqlite3.connect(folder / "account.db")
        conn.execute("SELECT state FROM seasons ORDER BY number DESC LIMIT 1").fetchone()
        conn.close()
        bare.append(time.perf_counter() - start)
    start = time.perf_counter()
    journal = _open(folder)
    first = time.perf_counter() - start
    catch_up = _finish_history(journal)
    journal.close()
    opens: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        journal = _open(folder)
        opens.append(time.perf_counter() - start)
        journal.close()
        del journal
    print(
        json.dumps(
            {
                "bare": statistics.median(bare),
                "first_open": first,
                "catch_up": catch_up,
                "open": statistics.median(opens),
                "open_min": min(opens),
            }
        )
    )


def history_now(journal: Any) -> int:
    """What the history screen needs to show its first page of every table; rows fetched."""
    if hasattr(journal, "fills_page"):
        pages = [
            journal.fills_page(limit=PAGE),
            journal.liquidations_page(limit=PAGE),
            journal.funding_page(limit=PAGE),
            journal.transfers_page(limit=PAGE),
            journal.order_events_page(limit=PAGE),
            journal.orders_page(limit=PAGE),
            journal.closed_page(limit=PAGE),
        ]
        journal.counts()
        journal.stats()
        return sum(len(p.rows) for p in pages)
    from tui.engine import Fill, FundingPayment, Liquidation, MarginTransfer, OrderEvent
    from tui.history import (
        closed_positions,
        order_history,
        post_mortems,
        practice_stats,
    )

    events = list(journal.engine.events)  # the old screen: everything, every time it opens
    tables = [
        [e for e in events if isinstance(e, Fill)],
        post_mortems(events, journal.engine.markets, journal.accounts),
        [e for e in events if isinstance(e, FundingPayment)],
        [e for e in events if isinstance(e, MarginTransfer)],
        [e for e in events if isinstance(e, OrderEvent)],
        order_history(events),
        closed_positions(events),
        [e for e in events if isinstance(e, Liquidation)],
    ]
    practice_stats(events)
    return sum(len(t) for t in tables)


def child_migrate(folder: Path) -> None:
    import tui.history  # noqa: F401

    start = time.perf_counter()
    journal = _open(folder)
    first = time.perf_counter() - start
    slices: list[float] = []
    start = time.perf_counter()
    while not journal.history_ready:
        t = time.perf_counter()
        journal.build_history(0.02)
        slices.append(time.perf_counter() - t)
    built = time.perf_counter() - start
    journal.close()
    print(
        json.dumps(
            {
                "first_open": first,
                "built": built,
                "slices": len(slices),
                "longest": max(slices, default=0.0),
            }
        )
    )


def child_memory(folder: Path) -> None:
    import tui.history  # noqa: F401

    journal = _open(folder)
    _finish_history(journal)
    gc.collect()
    rest = rss_mb()
    start = time.perf_counter()
    rows = history_now(journal)
    took = time.perf_counter() - start
    gc.collect()
    print(json.dumps({"rest": rest, "history": rss_mb(), "history_s": took, "rows": rows}))
    journal.close()


def child_frame(folder: str | None) -> None:
    if folder is None:
        from textual.app import App, ComposeResult
        from textual.widgets import DataTable, Footer, Header

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield DataTable()
                yield Footer()

            def on_ready(self) -> None:
                print(time.time())
                self.exit()

        Bare().run(headless=True, size=(120, 36))
        return
    from tui.app import PerpDeskApp
    from tui.cli import build_app, build_parser

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            super().on_ready()
            print(time.time())  # the parent subtracts the moment it started this process
            self.exit()

    parser = build_parser()
    app = build_app(
        parser.parse_args(["--seed", "1", "--data-dir", folder]), parser, app_class=Bench
    )
    app.run(headless=True, size=(120, 36))
    journal = getattr(getattr(app, "session", app), "journal", None)  # (app.journal before)
    if journal is not None:
        journal.close()


def child_screen(folder: str | None) -> None:
    """The history screen opened in a headless perpdesk on ``folder`` (None: the bare
    baseline, a screen with a 100-row DataTable pushed on a bare app)."""
    import asyncio

    from textual.app import App, ComposeResult
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer, Header

    async def painted(app: App[Any]) -> float:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        app.screen.call_after_refresh(lambda: done.set_result(time.perf_counter()))
        return await done

    if folder is None:

        class Table(Screen[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield DataTable()
                yield Footer()

            def on_mount(self) -> None:
                table = self.query_one(DataTable)
                table.add_columns(*(f"col {i}" for i in range(10)))
                for r in range(100):
                    table.add_row(*(f"{r * i:,.2f}" for i in range(10)))

        class Bare(App[None]):
            async def on_ready(self) -> None:
                ticks: list[float] = []
                self.set_interval(0.005, lambda: ticks.append(time.perf_counter()))
                await asyncio.sleep(0.5)
                start = time.perf_counter()
                await self.push_screen(Table())
                shown = await painted(self)
                await asyncio.sleep(0.05)
                near = [t for t in ticks if start - 0.2 <= t <= shown + 0.05]
                stall = max((b - a for a, b in itertools.pairwise(near)), default=0.0)
                print(json.dumps({"first_page": shown - start, "longest_stall": stall}))
                self.exit()

        Bare().run(headless=True, size=(120, 36))
        return

    from tui.app import PerpDeskApp
    from tui.cli import build_app, build_parser
    from tui.screens.history import HistoryScreen

    class Bench(PerpDeskApp):
        beats: ClassVar[list[float]] = []
        ticks: ClassVar[list[float]] = []

        def refresh_now(self) -> None:
            super().refresh_now()
            self.beats.append(time.perf_counter())

        def on_ready(self) -> None:
            super().on_ready()
            self.set_interval(0.005, lambda: self.ticks.append(time.perf_counter()))
            self.run_worker(self.measure(), exit_on_error=True)

        async def measure(self) -> None:
            await asyncio.sleep(1.0)  # at rest: the feed ticking, the main screen drawn
            gc.collect()
            rest = rss_mb()
            start = time.perf_counter()
            self.action_history()
            while True:
                await asyncio.sleep(0.001)
                screen = self.screen
                pane = screen.panes.get("fills") if isinstance(screen, HistoryScreen) else None
                table = getattr(pane, "table", None)
                if table is not None and table.row_count and not table.reading:
                    break
            shown = await painted(self)
            await asyncio.sleep(0.5)  # open: the feed ticking under it
            gc.collect()
            with_history = rss_mb()
            self.pop_screen()
            await asyncio.sleep(0.5)
            gc.collect()
            closed = rss_mb()

            def longest(times: list[float]) -> float:
                near = [t for t in times if start - 0.2 <= t <= shown + 0.2]
                return max((b - a for a, b in itertools.pairwise(near)), default=0.0)

            print(
                json.dumps(
                    {
                        "first_page": shown - start,
                        "longest_beat_gap": longest(self.beats),
                        "longest_stall": longest(self.ticks),
                        "rest": rest,
                        "history": with_history,
                        "closed": closed,
                        "rows": table.row_count,
                    }
                )
            )
            self.exit()

    parser = build_parser()
    app = build_app(
        parser.parse_args(["--seed", "1", "--data-dir", folder]), parser, app_class=Bench
    )
    app.run(headless=True, size=(120, 36))
    journal = app.session.journal
    if journal is not None:
        journal.close()


# --------------------------------------------------------------------------- parent


def run_child(*args: str, since_spawn: bool = False) -> Any:
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="perpdesk-jbench-home-")
    env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
    env["PYTHONPATH"] = str(ROOT)
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, __file__, CHILD, *args], capture_output=True, text=True, env=env
    )
    shutil.rmtree(home, ignore_errors=True)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    last = out.stdout.strip().splitlines()[-1]
    if since_spawn:
        return float(last) - spawned
    return json.loads(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated")
    default_cache = Path(tempfile.gettempdir()) / "perpdesk-journal-bench"
    parser.add_argument("--cache", default=str(default_cache))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=3, help="first-frame runs (0: skip)")
    parser.add_argument(
        "--migrate", action="store_true", help="also time opening schema-1 accounts (cached)"
    )
    parser.add_argument("--screens", type=int, default=3, help="history-screen runs (0: skip)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    cache = Path(args.cache)
    version = schema_version()
    print(f"journal schema {version}; cache {cache}")

    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        source = cached_account(cache, n, version)
        copy = work_copy(source)
        try:
            runs = args.runs if n < 1_000_000 else max(2, args.runs // 2)
            launch = run_child("launch", str(copy), str(runs))
            memory = run_child("memory", str(copy))
            frames = [run_child("frame", str(copy), since_spawn=True) for _ in range(args.frames)]
            bare_frames = [run_child("frame", since_spawn=True) for _ in range(args.frames)]
            screens = [run_child("screen", str(copy)) for _ in range(args.screens)]
            bare_screens = [run_child("screen") for _ in range(args.screens)]
            results[n] = {
                "records": record_count(copy),
                **launch,
                **memory,
                "frame": statistics.median(frames) if frames else None,
                "bare_frame": statistics.median(bare_frames) if bare_frames else None,
                "screen": screens,
                "bare_screen": statistics.median(b["first_page"] for b in bare_screens)
                if bare_screens
                else None,
                "bare_stall": max((b["longest_stall"] for b in bare_screens), default=None),
            }
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        r = results[n]
        print(
            f"\n{r['records']:,} records (size {n:,})\n"
            f"  bare baseline (connect, read one row): {r['bare'] * 1000:8.2f} ms\n"
            f"  launch to state (Journal.open):        {r['open'] * 1000:8.2f} ms"
            f"  ({r['open'] / r['bare']:.0f}x bare; fastest {r['open_min'] * 1000:.2f} ms)\n"
            f"  first open of the copy:                {r['first_open'] * 1000:8.2f} ms"
            + (f", then {r['catch_up']:.2f} s building history" if r["catch_up"] else "")
            + "\n"
            f"  history, first page of every table:    {r['history_s'] * 1000:8.2f} ms"
            f"  ({r['rows']:,} rows)\n"
            f"  memory at rest / with history:         {r['rest']:6.1f} / {r['history']:6.1f} MB"
            f"  (+{r['history'] - r['rest']:.1f} MB)",
            flush=True,
        )
        if r["frame"] is not None:
            print(
                f"  launch to first frame (process start): {r['frame'] * 1000:8.0f} ms"
                f"  (bare Textual app {r['bare_frame'] * 1000:.0f} ms,"
                f" {r['frame'] / r['bare_frame']:.2f}x)",
                flush=True,
            )
        if r["screen"]:
            sc = r["screen"]

            def med(key: str, runs: list[dict[str, float]] = sc) -> float:
                return statistics.median(run[key] for run in runs)

            bare_page = r["bare_screen"]
            runs_ms = ", ".join(f"{x['first_page'] * 1000:.0f}" for x in sc)
            print(
                f"  h until the first page is painted:     {med('first_page') * 1000:8.0f} ms"
                f"  (runs: {runs_ms} ms;"
                f" bare 100-row table {bare_page * 1000:.0f} ms,"
                f" {med('first_page') / bare_page:.2f}x)\n"
                f"  longest gap between refreshes meanwhile: "
                f"{max(x['longest_beat_gap'] for x in sc) * 1000:6.0f} ms"
                f" (heartbeat every {1000 / 10:.0f} ms); longest event-loop stall"
                f" {max(x['longest_stall'] for x in sc) * 1000:.0f} ms"
                f" (bare 100-row table's {r['bare_stall'] * 1000:.0f} ms)\n"
                f"  app memory at rest / history open / closed: {med('rest'):6.1f} /"
                f" {med('history'):6.1f} / {med('closed'):6.1f} MB"
                f"  (+{med('history') - med('rest'):.1f} MB open,"
                f" +{med('closed') - med('rest'):.1f} MB after closing)",
                flush=True,
            )

    if args.migrate and version > 1:
        print("\nA schema-1 account opened by this perpdesk (ledger built in 20 ms slices):")
        for n in sizes:
            old = cache / "v1" / str(n)
            if not (old / "account.db").exists():
                print(f"  {n:>9,}: no schema-1 account cached ({old})")
                continue
            copy = work_copy(old)
            try:
                m = run_child("migrate", str(copy))
            finally:
                shutil.rmtree(copy, ignore_errors=True)
            print(
                f"  {n:>9,}: first open {m['first_open'] * 1000:7.1f} ms (index added), ledger"
                f" built in {m['built']:6.2f} s of work over {m['slices']} slices, longest"
                f" {m['longest'] * 1000:.0f} ms"
            )

    base = results.get(min(results)) if results else None
    if base is None:
        return
    print(f"\nRatios to the smallest account ({base['records']:,} records):")
    for r in results.values():
        line = (
            f"  {r['records']:>9,}: launch to state {r['open'] / base['open']:5.2f}x"
            f" (fastest {r['open_min'] / base['open_min']:4.2f}x)"
        )
        if r["frame"] is not None and base["frame"] is not None:
            line += f", first frame {r['frame'] / base['frame']:5.2f}x"
        line += f", history {r['history_s'] * 1000:7.1f} ms, +{r['history'] - r['rest']:.1f} MB"
        if r["screen"]:
            page = statistics.median(x["first_page"] for x in r["screen"])
            grown = statistics.median(x["history"] - x["rest"] for x in r["screen"])
            line += f"; screen: h {page * 1000:.0f} ms, +{grown:.1f} MB"
        print(line)
    print(
        "Targets: 100k launch <= 1.3x of 1k, 1M <= 1.5x; first page <= 300 ms at 100k;"
        " longest refresh gap while history opens < 250 ms; history within 30 MB of rest."
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == CHILD:
        mode = sys.argv[2]
        if mode == "launch":
            child_launch(Path(sys.argv[3]), int(sys.argv[4]))
        elif mode == "memory":
            child_memory(Path(sys.argv[3]))
        elif mode == "migrate":
            child_migrate(Path(sys.argv[3]))
        elif mode == "frame":
            child_frame(sys.argv[3] if len(sys.argv) > 3 else None)
        elif mode == "screen":
            child_screen(sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        main()
