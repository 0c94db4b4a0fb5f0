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
5. the history screen itself (``--screens N`` runs, 3 by default): a headless perpdesk on
   the account (seeded simulation ticking), ``h`` pressed once the app has run two seconds:
   the wall and CPU time until the first page of fills is painted, against a bare Textual
   app pushing a screen with a 100-row DataTable (run in turn with it, so both see the same
   load); the longest gap between two heartbeats (screen refreshes) and the event loop's
   longest stall while it opens, against the same process at rest just before; and the
   process's memory at rest, with history open, and after closing it;
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


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest gap between two of ``times`` from ``start`` to ``end``."""
    near = [t for t in times if start <= t <= end]
    return max((b - a for a, b in itertools.pairwise(near)), default=0.0)


REST = 1.5
"""Seconds at rest, before ``h``, over which the gaps at rest are measured (the baseline)."""


def child_screen(folder: str | None) -> None:
    """The history screen opened in a headless perpdesk on ``folder`` (None: the bare
    baseline, a screen with a 100-row DataTable pushed on a bare app). Both measure, in the
    same process, the longest gaps at rest just before (the baseline of the gaps) and while
    the screen opens, and the wall and CPU time from the key to the first page painted."""
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
                await asyncio.sleep(0.5 + REST)
                start, cpu = time.perf_counter(), time.process_time()
                await self.push_screen(Table())
                shown = await painted(self)
                cpu = time.process_time() - cpu
                await asyncio.sleep(0.25)
                figures = {
                    "first_page": shown - start,
                    "cpu": cpu,
                    "longest_stall": longest_gap(ticks, start - 0.05, shown + 0.2),
                    "rest_stall": longest_gap(ticks, start - REST, start),
                }
                print(json.dumps(figures))
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
            await asyncio.sleep(0.5)  # the feed ticking, the main screen drawn
            rest_cpu = time.process_time()
            await asyncio.sleep(REST)  # at rest: the baseline of the gaps, and of the CPU
            rate = (time.process_time() - rest_cpu) / REST  # the feed and the main screen
            gc.collect()
            rest = rss_mb()
            start, cpu = time.perf_counter(), time.process_time()
            self.action_history()
            while True:
                await asyncio.sleep(0.001)
                screen = self.screen
                pane = screen.panes.get("fills") if isinstance(screen, HistoryScreen) else None
                table = getattr(pane, "table", None)
                if table is not None and table.row_count and not table.reading:
                    break
            shown = await painted(self)
            cpu = time.process_time() - cpu
            await asyncio.sleep(0.5)  # open: the feed ticking under it
            gc.collect()
            with_history = rss_mb()
            self.pop_screen()
            await asyncio.sleep(0.5)
            gc.collect()
            closed = rss_mb()
            figures = {
                "first_page": shown - start,
                "cpu": cpu,
                "cpu_own": cpu - rate * (shown - start),
                "longest_beat_gap": longest_gap(self.beats, start - 0.2, shown + 0.2),
                "longest_stall": longest_gap(self.ticks, start - 0.05, shown + 0.2),
                "rest_beat_gap": longest_gap(self.beats, start - REST, start),
                "rest_stall": longest_gap(self.ticks, start - REST, start),
                "rest": rest,
                "history": with_history,
                "closed": closed,
                "rows": table.row_count,
            }
            print(json.dumps(figures))
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
            screens: list[dict[str, float]] = []
            bare_screens: list[dict[str, float]] = []
            for _ in range(args.screens):  # interleaved: both see the same load
                screens.append(run_child("screen", str(copy)))
                bare_screens.append(run_child("screen"))
            results[n] = {
                "records": record_count(copy),
                **launch,
                **memory,
                "frame": statistics.median(frames) if frames else None,
                "bare_frame": statistics.median(bare_frames) if bare_frames else None,
                "screen": screens,
                "bare_screen": bare_screens,
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
            print(screen_report(r["screen"], r["bare_screen"]), flush=True)

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
        if r["screen"] and base["screen"]:
            page, cpu = median(r["screen"], "first_page"), median(r["screen"], "cpu")
            line += (
                f"; h {page / median(base['screen'], 'first_page'):4.2f}x"
                f" (CPU {cpu / median(base['screen'], 'cpu'):4.2f}x),"
                f" +{median(r['screen'], 'history') - median(r['screen'], 'rest'):.1f} MB open"
            )
        print(line)
    print(
        "Targets: 100k launch <= 1.3x of 1k, 1M <= 1.5x; first page <= 300 ms at 100k;"
        " longest refresh gap while history opens < 250 ms; history within 30 MB of rest."
    )


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def screen_report(runs: list[dict[str, float]], bare: list[dict[str, float]]) -> str:
    """The history screen's figures against the bare table pushed in the same run, and its
    gaps against those at rest in the same process just before."""
    page, cpu, own = median(runs, "first_page"), median(runs, "cpu"), median(runs, "cpu_own")
    bare_page, bare_cpu = median(bare, "first_page"), median(bare, "cpu")
    ms = ", ".join(f"{x['first_page'] * 1000:.0f}" for x in runs)
    gap, rest_gap = max(x["longest_beat_gap"] for x in runs), max(x["rest_beat_gap"] for x in runs)
    stall, rest_stall = max(x["longest_stall"] for x in runs), max(x["rest_stall"] for x in runs)
    bare_stall = max(x["longest_stall"] for x in bare)
    bare_rest = max(x["rest_stall"] for x in bare)
    rest, shown, closed = median(runs, "rest"), median(runs, "history"), median(runs, "closed")
    return (
        f"  h until the first page is painted:     {page * 1000:8.0f} ms, CPU {cpu * 1000:.0f} ms"
        f" ({own * 1000:.0f} ms beyond the feed and main screen's own)  (runs: {ms} ms)\n"
        f"    a bare app pushing a 100-row table:  {bare_page * 1000:8.0f} ms, CPU"
        f" {bare_cpu * 1000:.0f} ms  -> {page / bare_page:.2f}x wall, {cpu / bare_cpu:.2f}x CPU"
        f" ({own / bare_cpu:.2f}x beyond)\n"
        f"  longest gap between refreshes while it opens: {gap * 1000:5.0f} ms"
        f"  (at rest just before: {rest_gap * 1000:.0f} ms, {gap / rest_gap:.2f}x;"
        f" heartbeat every 100 ms)\n"
        f"  longest event-loop stall while it opens:      {stall * 1000:5.0f} ms"
        f"  (at rest: {rest_stall * 1000:.0f} ms; the bare push: {bare_stall * 1000:.0f} ms,"
        f" at rest {bare_rest * 1000:.0f} ms)\n"
        f"  app memory at rest / history open / closed: {rest:6.1f} / {shown:6.1f} /"
        f" {closed:6.1f} MB  (+{shown - rest:.1f} MB open, +{closed - rest:.1f} MB after closing)"
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
