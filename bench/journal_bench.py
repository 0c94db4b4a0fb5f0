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
5. with ``--migrate`` (and a schema-1 account of that size in the cache, built by a perpdesk
   before the ledger): its first open by this perpdesk (which adds the index by kind), then
   the ledger built the way the app builds it (``build_history(0.02)`` slices), with the
   longest slice: the longest the event loop waits for it.

Targets (issue 18): 100k launch within 1.3x of 1k, 1M within 1.5x of 1k; first page of
history within 0.3 s at 100k; history within 30 MB of rest.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def cached_account(cache: Path, n: int, version: int) -> Path:
    folder = cache / f"v{version}" / str(n)
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
            results[n] = {
                "records": record_count(copy),
                **launch,
                **memory,
                "frame": statistics.median(frames) if frames else None,
                "bare_frame": statistics.median(bare_frames) if bare_frames else None,
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
        print(line)
    print(
        "Targets: 100k launch <= 1.3x of 1k, 1M <= 1.5x; first page <= 300 ms at 100k;"
        " history within 30 MB of rest."
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
    else:
        main()
