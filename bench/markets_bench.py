"""A whole venue's markets on screen: frame cost, per-tick cost and memory with 200 markets
against 22, each beside a bare baseline measured in the same run (prints figures and ratios;
asserts nothing).

Run from the repository root: ``python bench/markets_bench.py [--seconds 5] [--runs 3]``

1. Frame cost. The app headless at 120x36 with ``N`` markets listed (the 22 built-in ones and
   made-up ones up to ``N``), one position open (so the heartbeat runs at the 10 Hz refresh
   rate), every market's mark moving twice a second (as Hyperliquid's contexts come), for
   ``--seconds``: the process's CPU per second, and the mean and worst time of one
   ``MainScreen.refresh_view`` (what a heartbeat does to the screen: the markets list built,
   filtered and sorted, the tables synced; Textual paints afterwards, in the CPU figure). Also
   with Markets sorted by change (rows move every beat). Baseline: a bare Textual app (Header,
   a DataTable of ``N`` rows x 5 columns, Footer) whose mark and change cells are updated with
   ``update_cell`` at the same rate, in batches at 10 Hz.
2. Per-tick cost. One Hyperliquid ``activeAssetCtx`` frame (mark, funding, price 24 h ago)
   through ``HyperliquidSource`` into the session (parsed, checked, applied to the engine),
   with ``N`` markets listed, in microseconds; baseline: ``json.loads`` of the same frame.
3. Memory. The resident memory of the process of (1) at its end, against the bare app's.

Targets (issue 18): a frame with 200 markets costs about what it costs with 22 (only the rows
on screen are drawn; a refresh formats only the cells that changed), per-tick cost does not
grow with the markets listed, memory grows by a few MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = "--child"
MOVES_PER_SECOND = 2.0
"""How often each market's mark moves (Hyperliquid sends a context about as often)."""


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _market_names(total: int) -> list[str]:
    from tui.market import DEFAULT_SYMBOLS

    names = list(DEFAULT_SYMBOLS)
    return names + [f"M{i:03d}" for i in range(1, total - len(names) + 1)]


def _engine(total: int):  # type: ignore[no-untyped-def]
    from tui.engine import Market, PaperEngine, default_markets

    markets = default_markets()
    markets += [Market(name, max_leverage=5) for name in _market_names(total)[len(markets) :]]
    engine = PaperEngine(balance=100_000, markets=markets)
    for i, market in enumerate(markets):
        engine.set_mark(market.name, 100.0 + i)
    return engine


# --------------------------------------------------------------------------- child processes


def child_perpdesk(seconds: float, total: int, sort: str) -> None:
    import random

    from tui.app import PerpDeskApp
    from tui.engine import MarginMode, Side
    from tui.screens.main import MainScreen

    rng = random.Random(1)
    timings: list[float] = []
    refresh_view = MainScreen.refresh_view

    def timed(self: MainScreen) -> None:
        t0 = time.perf_counter()
        refresh_view(self)
        timings.append(time.perf_counter() - t0)

    MainScreen.refresh_view = timed  # type: ignore[method-assign]

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            session = self.session
            session.engine.open("BTC", Side.LONG, 1, 5, MarginMode.ISOLATED)
            self.names = list(session.engine.markets)
            assert len(self.names) == total
            while self.main._sort != sort:
                self.main.action_sort_markets()
            self.batch = 0
            self.set_interval(0.1, self.tick)
            self.set_timer(1.0, self.start)

        def tick(self) -> None:  # each market moves MOVES_PER_SECOND times a second
            per_tick = MOVES_PER_SECOND / 10
            share = self.names[self.batch :: round(1 / per_tick)]
            self.batch = (self.batch + 1) % round(1 / per_tick)
            for name in share:
                mark = self.session.engine.mark(name)
                assert mark is not None
                self.session.on_mark(name, mark * (1 + rng.uniform(-0.001, 0.001)))

        def start(self) -> None:
            timings.clear()
            self.cpu0 = time.process_time()
            self.wall0 = time.perf_counter()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            cpu = time.process_time() - self.cpu0
            wall = time.perf_counter() - self.wall0
            rows = len(self.main.watchlist.row_ids)
            assert rows == total, rows
            print(
                json.dumps(
                    {
                        "cpu": cpu / wall,
                        "frame_ms": statistics.mean(timings) * 1000,
                        "worst_ms": max(timings) * 1000,
                        "frames": len(timings) / wall,
                        "rss": rss_mb(),
                    }
                )
            )
            self.exit()

    Bench(engine=_engine(total), source=None).run(headless=True, size=(120, 36))


def child_bare(seconds: float, total: int) -> None:
    import random

    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    rng = random.Random(1)

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            self.cols = table.add_columns("Market", "Mark", "24h", "Fund/h", "Max")
            self.rows = [
                table.add_row(name, f"{100 + i:,.2f}", "+0.00%", "+0.0013%", "5x")
                for i, name in enumerate(_market_names(total))
            ]
            self.marks = [100.0 + i for i in range(total)]
            self.pending: dict[int, float] = {}
            self.batch = 0
            self.set_interval(0.1, self.tick)
            self.set_timer(1.0, self.start)

        def tick(self) -> None:  # the same moves as perpdesk's, drawn at 10 Hz
            step = round(10 / MOVES_PER_SECOND)
            for i in range(self.batch, total, step):
                self.marks[i] *= 1 + rng.uniform(-0.001, 0.001)
                self.pending[i] = self.marks[i]
            self.batch = (self.batch + 1) % step
            table = self.query_one(DataTable)
            with self.batch_update():
                for i, mark in self.pending.items():
                    table.update_cell(self.rows[i], self.cols[1], f"{mark:,.2f}")
                    table.update_cell(self.rows[i], self.cols[2], f"{mark / (100 + i) - 1:+.2%}")
            self.pending.clear()

        def start(self) -> None:
            self.cpu0 = time.process_time()
            self.wall0 = time.perf_counter()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            cpu = time.process_time() - self.cpu0
            wall = time.perf_counter() - self.wall0
            print(json.dumps({"cpu": cpu / wall, "rss": rss_mb()}))
            self.exit()

    Bare().run(headless=True, size=(120, 36))


def child_ticks(total: int, count: int) -> None:
    """Per-tick cost, in this process: ``count`` frames through the source into a session."""
    from tui.market import HyperliquidSource
    from tui.session import Session

    session = Session(engine=_engine(total))
    source = HyperliquidSource(None, url="ws://127.0.0.1:9")
    session.feed = source
    source._listed(list(session.engine.markets.values()))  # the venue's list, as on connect
    names = list(session.engine.markets)
    frames = [
        json.dumps(
            {
                "channel": "activeAssetCtx",
                "data": {
                    "coin": names[i % total],
                    "ctx": {
                        "markPx": f"{(100 + i % total) * (1 + (i % 7) / 1000):.6f}",
                        "funding": "0.0000125",
                        "prevDayPx": f"{100 + i % total:.6f}",
                        "oraclePx": f"{100 + i % total:.6f}",
                    },
                },
            }
        )
        for i in range(count)
    ]
    best_tick = best_json = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for raw in frames:
            json.loads(raw)
        best_json = min(best_json, (time.perf_counter() - t0) / count)
        t0 = time.perf_counter()
        for raw in frames:
            source._handle(raw, session, 0.0)
        best_tick = min(best_tick, (time.perf_counter() - t0) / count)
        session.drain()
    assert source.bad_frames == 0 and not session.unknown_marks and session.bad_marks == 0
    print(json.dumps({"tick_us": best_tick * 1e6, "json_us": best_json * 1e6}))


# --------------------------------------------------------------------------- parent


def run_child(*args: str) -> dict[str, float]:
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="perpdesk-bench-")
    env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
    out = subprocess.run(
        [sys.executable, __file__, CHILD, *args], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3, help="of each app (medians printed)")
    parser.add_argument("--few", type=int, default=22)
    parser.add_argument("--many", type=int, default=200)
    args = parser.parse_args()
    t = str(args.seconds)
    sizes = (args.few, args.many)

    perp: dict[tuple[int, str], list[dict[str, float]]] = {}
    bare: dict[int, list[dict[str, float]]] = {}
    for _ in range(args.runs):  # interleaved: the machine's load falls on every case alike
        for n in sizes:
            bare.setdefault(n, []).append(run_child("bare", t, str(n)))
            for sort in ("list", "change"):
                perp.setdefault((n, sort), []).append(run_child("perpdesk", t, str(n), sort))
    few, many = sizes

    print(
        f"1. Frame cost: N markets, each mark moving {MOVES_PER_SECOND:g}x a second, one "
        f"position, 10 Hz, {args.seconds:g} s x {args.runs} runs (medians)"
    )
    print("                                    CPU share of a core   refresh_view mean / worst")
    for n in sizes:
        print(f"  bare DataTable, {n:3d} rows:           {median_of(bare[n], 'cpu'):6.1%}")
        for sort in ("list", "change"):
            runs = perp[(n, sort)]
            label = "venue order" if sort == "list" else "by change  "
            print(
                f"  perpdesk, {n:3d} markets, {label}: {median_of(runs, 'cpu'):6.1%}"
                f"          {median_of(runs, 'frame_ms'):5.2f} / {median_of(runs, 'worst_ms'):5.1f}"
                f" ms  ({median_of(runs, 'frames'):.1f} frames/s)"
            )
    for sort in ("list", "change"):
        cpu_ratio = median_of(perp[(many, sort)], "cpu") / median_of(perp[(few, sort)], "cpu")
        frame_ratio = median_of(perp[(many, sort)], "frame_ms") / median_of(
            perp[(few, sort)], "frame_ms"
        )
        print(
            f"  {many} vs {few} markets ({'venue order' if sort == 'list' else 'by change'}): "
            f"CPU {cpu_ratio:.2f}x, refresh_view {frame_ratio:.2f}x"
        )
    bare_ratio = median_of(bare[many], "cpu") / median_of(bare[few], "cpu")
    print(f"  bare DataTable {many} vs {few} rows: CPU {bare_ratio:.2f}x")
    for n in sizes:
        ratio = median_of(perp[(n, "list")], "cpu") / median_of(bare[n], "cpu")
        print(f"  perpdesk / bare at {n}: {ratio:.2f}x")

    tick_sizes = (*sizes, 1000)  # 1,000: the most perpdesk takes from a venue's list
    ticks = {n: run_child("ticks", str(n), "20000") for n in tick_sizes}
    print("2. Per-tick cost: one Hyperliquid activeAssetCtx frame into the session (best of 5)")
    for n in tick_sizes:
        tick, base = ticks[n]["tick_us"], ticks[n]["json_us"]
        print(
            f"  {n:4d} markets listed: {tick:6.1f} us a frame; json.loads alone {base:5.1f} us "
            f"({tick / base:.1f}x)"
        )
    print(
        f"  {many} vs {few}: {ticks[many]['tick_us'] / ticks[few]['tick_us']:.2f}x; "
        f"1000 vs {many}: {ticks[1000]['tick_us'] / ticks[many]['tick_us']:.2f}x"
    )

    print("3. Memory: resident, at the end of (1), venue order (medians)")
    for n in sizes:
        p, b = median_of(perp[(n, "list")], "rss"), median_of(bare[n], "rss")
        print(f"  {n:3d}: perpdesk {p:6.1f} MB, bare {b:6.1f} MB ({p - b:+.1f} MB)")
    grow_p = median_of(perp[(many, "list")], "rss") - median_of(perp[(few, "list")], "rss")
    grow_b = median_of(bare[many], "rss") - median_of(bare[few], "rss")
    print(f"  {few} -> {many}: perpdesk {grow_p:+.1f} MB, bare {grow_b:+.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        kind = sys.argv[2]
        if kind == "perpdesk":
            child_perpdesk(float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        elif kind == "bare":
            child_bare(float(sys.argv[3]), int(sys.argv[4]))
        elif kind == "ticks":
            child_ticks(int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
