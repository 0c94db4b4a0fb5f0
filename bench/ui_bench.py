"""UI speed: start-up time and CPU while 20 positions tick, each against a bare Textual app.

1. Start to first frame: a fresh Python process, from interpreter start to the app's Ready
   event (its first screen composed and painted), for perpdesk started as the CLI starts it
   (settings, seeded feed, journal in a temp data dir) and for a bare App with Header,
   DataTable and Footer. Median of N runs each, interleaved. Required: perpdesk <= 2x bare,
   with Python's bytecode cache in use, as on every launch after the first (a cache of this
   run's own, after one warm-up launch each). Also shown, for information: both without any
   bytecode (``PYTHONDONTWRITEBYTECODE`` set and no cache), where every launch compiles
   perpdesk's source again while Textual's came compiled from its wheel.
2. CPU: 20 open positions whose marks all move 10 times a second, the screen refreshing at
   10 Hz, for T seconds, against a bare DataTable of 20 rows x 12 columns whose every cell is
   updated 10 times a second. Process CPU seconds (user + system). Required: <= 1.5x bare.
   Also shown: perpdesk with its own simulated feed running (the everyday case).
3. Feed flood: 5,000 marks a second pushed into the running app, and the refresh rate the
   screen still achieves (it must keep its 10 Hz).
4. The chart on screen (issue 15): case 2 with the feed's clock running at 60x (a new 1 m
   candle every second), once with the selected market's chart, book and funding line hidden
   (its key, g) and once shown. Required: shown <= 1.3x hidden. Also: chart frames per second.
5. 200 positions (issue 18): 200 open positions in 200 markets whose marks all move 10 times a
   second, against a bare DataTable of 200 rows x 12 columns whose every cell is updated 10
   times a second. Required: <= 1.1x bare. Also shown: the cost of each extra position (200
   positions minus none, over 200), against a bare table's (200 rows minus 20, over 180).
6. Idle (issue 18): perpdesk as `perpdesk --seed 1` starts it (simulated feed at 1x, no
   positions), left alone for --idle seconds (default 60), in a real terminal (a pseudo-
   terminal whose output the parent reads and drops), against a bare Textual app in the same
   kind of terminal showing a 22-row table (Header, DataTable, Footer) whose cells change at
   the rate perpdesk's markets table visibly changes (measured in the same run). Process CPU
   time, repeated --idle-runs times (the machine is shared: ranges are printed). Aim: <= 3 %
   of a core.

Run: python bench/ui_bench.py [--runs N] [--seconds T] [--idle S] [--idle-runs N] [--only NAME]
Apps run headless in their own process, except the idle case (a pseudo-terminal).
"""

from __future__ import annotations

import argparse
import itertools
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = "--child"


# --------------------------------------------------------------------------- child processes


def _bare_app() -> type:
    """The baseline: Header, a 20x12 DataTable, Footer (textual imported by the caller's timer)."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            self.cols = table.add_columns(*(f"c{i}" for i in range(12)))
            self.rows = [table.add_row(*(f"{r}.{c}" for c in range(12))) for r in range(20)]

    return Bare


def child_bare_start() -> None:
    class Bare(_bare_app()):  # type: ignore[misc]
        def on_ready(self) -> None:
            print(time.time())  # the parent subtracts the moment it started this process
            self.exit()

    Bare().run(headless=True, size=(120, 36))


def child_perpdesk_start() -> None:
    """perpdesk as `perpdesk --seed 1` starts it: settings, feed, journal, app."""
    from tui.app import PerpDeskApp
    from tui.cli import build_app, build_parser

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            print(time.time())  # the parent subtracts the moment it started this process
            self.exit()

    parser = build_parser()
    app = build_app(parser.parse_args(["--seed", "1"]), parser, app_class=Bench)
    app.run(headless=True, size=(120, 36))
    if app.session.journal is not None:
        app.session.journal.close()


def child_bare_cpu(seconds: float) -> None:
    import random

    from textual.widgets import DataTable

    rng = random.Random(1)

    class Bare(_bare_app()):  # type: ignore[misc]
        def on_mount(self) -> None:  # Textual runs the base class's on_mount too
            self.set_interval(0.1, self.tick)

        def tick(self) -> None:
            table = self.query_one(DataTable)
            with self.batch_update():
                for row in self.rows:
                    for col in self.cols:
                        table.update_cell(row, col, f"{rng.uniform(0, 1e5):,.2f}")

        def on_ready(self) -> None:
            self.set_timer(1.0, self.start)

        def start(self) -> None:
            self.cpu0 = time.process_time()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            print(time.process_time() - self.cpu0)
            self.exit()

    Bare().run(headless=True, size=(120, 36))


def child_perpdesk_cpu(seconds: float, own_feed: bool) -> None:
    import random

    from tui.app import PerpDeskApp
    from tui.engine import MarginMode, Side
    from tui.market import SimSource

    rng = random.Random(1)

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            names = list(self.session.engine.markets)[:20]
            for i, name in enumerate(names):
                mark = self.session.engine.mark(name)
                assert mark is not None
                mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
                side = Side.LONG if i % 3 else Side.SHORT
                self.session.engine.open(name, side, 100 / mark, 3, mode)
            self.names = names
            if not own_feed:
                self.set_interval(0.1, self.tick)
            self.set_timer(1.0, self.start)

        def tick(self) -> None:  # every positioned market moves, 10 times a second
            for name in self.names:
                mark = self.session.engine.mark(name)
                assert mark is not None
                self.session.on_mark(name, mark * (1 + rng.uniform(-0.001, 0.001)))

        def start(self) -> None:
            assert len(self.session.engine.positions()) == 20
            self.cpu0 = time.process_time()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            assert not self.session.engine.liquidations
            print(time.process_time() - self.cpu0)
            self.exit()

    Bench(source=SimSource(None, seed=1), autostart_feed=own_feed).run(
        headless=True, size=(120, 36)
    )


def child_perpdesk_cpu_chart(seconds: float, chart: bool) -> None:
    """Case 2 (20 positions, every mark moving 10 times a second) with feed time at 60x, the
    chart shown or hidden; prints CPU seconds and chart frames built per second."""
    import random

    from tui.app import PerpDeskApp
    from tui.engine import MarginMode, Side
    from tui.market import SimSource

    rng = random.Random(1)

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            names = list(self.session.engine.markets)[:20]
            for i, name in enumerate(names):
                mark = self.session.engine.mark(name)
                assert mark is not None
                mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
                side = Side.LONG if i % 3 else Side.SHORT
                self.session.engine.open(name, side, 100 / mark, 3, mode)
            self.names = names
            self.feed_time = 0.0
            if not chart:
                self.main.action_toggle_chart()
            assert self.main.chart_shown() is chart
            self.set_interval(0.1, self.tick)
            self.set_timer(1.0, self.start)

        def tick(self) -> None:
            self.feed_time += 6.0  # 60x: a minute of feed time every second
            self.session.on_clock(self.feed_time)
            for name in self.names:
                mark = self.session.engine.mark(name)
                assert mark is not None
                self.session.on_mark(name, mark * (1 + rng.uniform(-0.001, 0.001)))

        def start(self) -> None:
            self.frames0 = self.main.market_pane.chart.frames_built
            self.cpu0 = time.process_time()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            cpu = time.process_time() - self.cpu0
            frames = self.main.market_pane.chart.frames_built - self.frames0
            print(f"{cpu} {frames / seconds}")
            self.exit()

    Bench(source=SimSource(None, seed=1), autostart_feed=False).run(headless=True, size=(120, 36))


def child_perpdesk_flood(seconds: float, rate: int) -> None:
    """``rate`` marks a second pushed into the running app (in 100 batches a second) with 20
    positions open; prints the refreshes achieved per second and the longest gap between two."""
    import random

    from tui.app import PerpDeskApp
    from tui.engine import MarginMode, Side
    from tui.market import SimSource

    rng = random.Random(1)
    batch = max(1, rate // 100)

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            self.names = list(self.session.engine.markets)
            for i, name in enumerate(self.names[:20]):
                mark = self.session.engine.mark(name)
                assert mark is not None
                mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
                self.session.engine.open(name, Side.LONG, 100 / mark, 3, mode)
            self.set_interval(0.01, self.flood)
            self.set_timer(1.0, self.start)
            self.refreshes: list[float] = []
            self.pushed = 0

        def flood(self) -> None:  # catch up to `rate` marks per second of wall time
            names = self.names
            due = batch
            if hasattr(self, "t0"):
                due = max(0, int(rate * (time.perf_counter() - self.t0)) - self.pushed)
            for _ in range(due):
                name = names[rng.randrange(len(names))]
                mark = self.session.engine.mark(name)
                assert mark is not None
                self.session.on_mark(name, mark * (1 + rng.uniform(-0.0005, 0.0005)))
            self.pushed += due

        def refresh_now(self) -> None:
            super().refresh_now()
            if hasattr(self, "t0"):
                self.refreshes.append(time.perf_counter())

        def start(self) -> None:
            self.t0 = time.perf_counter()
            self.pushed = 0
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            elapsed = time.perf_counter() - self.t0
            stamps = [self.t0, *self.refreshes]
            gap = max(b - a for a, b in itertools.pairwise(stamps))
            print(f"{self.pushed / elapsed} {len(self.refreshes) / elapsed} {gap}")
            self.exit()

    Bench(source=SimSource(None, seed=1), autostart_feed=False).run(headless=True, size=(120, 36))


def _many_markets(n: int) -> list:  # type: ignore[type-arg]
    """The 22 default markets and made-up ones (M001, ...) up to ``n`` in all."""
    from tui.engine import Market, default_markets

    markets = default_markets()
    return markets + [Market(f"M{i:03d}", max_leverage=10) for i in range(1, n - len(markets) + 1)]


def child_bare_table(seconds: float, rows: int) -> None:
    """A bare DataTable of ``rows`` x 12 whose every cell is updated 10 times a second."""
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
            self.cols = table.add_columns(*(f"c{i}" for i in range(12)))
            self.rows = [table.add_row(*(f"{r}.{c}" for c in range(12))) for r in range(rows)]
            self.set_interval(0.1, self.tick)

        def tick(self) -> None:
            table = self.query_one(DataTable)
            with self.batch_update():
                for row in self.rows:
                    for col in self.cols:
                        table.update_cell(row, col, f"{rng.uniform(0, 1e5):,.2f}")

        def on_ready(self) -> None:
            self.set_timer(1.0, self.start)

        def start(self) -> None:
            self.cpu0 = time.process_time()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            print(time.process_time() - self.cpu0)
            self.exit()

    Bare().run(headless=True, size=(120, 36))


def child_perpdesk_positions(seconds: float, count: int) -> None:
    """perpdesk with ``count`` open positions in as many markets (of 200 listed), every mark
    moving 10 times a second."""
    import random

    from tui.app import PerpDeskApp
    from tui.engine import MarginMode, PaperEngine, Side

    rng = random.Random(1)
    markets = _many_markets(200)
    engine = PaperEngine(balance=10_000_000, markets=markets)
    for i, market in enumerate(markets):
        engine.set_mark(market.name, 100.0 + i)

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            names = list(self.session.engine.markets)[:count]
            for i, name in enumerate(names):
                mark = self.session.engine.mark(name)
                assert mark is not None
                mode = MarginMode.CROSS if i % 2 else MarginMode.ISOLATED
                side = Side.LONG if i % 3 else Side.SHORT
                self.session.engine.open(name, side, round(1000 / mark, 4), 3, mode)
            self.names = list(self.session.engine.markets)
            self.set_interval(0.1, self.tick)
            self.set_timer(1.0, self.start)

        def tick(self) -> None:  # every market moves, 10 times a second
            for name in self.names:
                mark = self.session.engine.mark(name)
                assert mark is not None
                self.session.on_mark(name, mark * (1 + rng.uniform(-0.001, 0.001)))

        def start(self) -> None:
            assert len(self.session.engine.positions()) == count
            self.cpu0 = time.process_time()
            self.set_timer(seconds, self.stop)

        def stop(self) -> None:
            assert not self.session.engine.liquidations
            print(time.process_time() - self.cpu0)
            self.exit()

    Bench(engine=engine, source=None).run(headless=True, size=(120, 36))


def _idle_window(app: object, seconds: float, out: str, extra: object = None) -> None:
    """Measure ``app``'s process CPU over ``seconds`` after a 3 s settle; write the figures to
    the file ``out`` (stdout is the terminal under test) and quit."""
    from textual.app import App

    assert isinstance(app, App)

    def start() -> None:
        app.cpu0 = time.process_time()  # type: ignore[attr-defined]
        app.wall0 = time.perf_counter()  # type: ignore[attr-defined]
        if callable(extra):
            extra("start")
        app.set_timer(seconds, stop)

    def stop() -> None:
        cpu = time.process_time() - app.cpu0  # type: ignore[attr-defined]
        wall = time.perf_counter() - app.wall0  # type: ignore[attr-defined]
        figures = [cpu, wall, *(extra("stop") if callable(extra) else [])]
        Path(out).write_text(" ".join(str(f) for f in figures))
        app.exit()

    app.set_timer(3.0, start)


def child_perpdesk_idle(seconds: float, out: str) -> None:
    """perpdesk as `perpdesk --seed 1` starts it, untouched: prints (to ``out``) CPU seconds,
    wall seconds, and how often its markets table changed on screen (updates a second, cells
    an update)."""
    from tui.app import PerpDeskApp
    from tui.cli import build_app, build_parser
    from tui.widgets.live_table import LiveTable

    counts = {"updates": 0, "cells": 0}
    sync = LiveTable.sync

    def counting_sync(self: LiveTable, *args: object, **kw: object) -> None:
        if self.id != "watchlist":
            sync(self, *args, **kw)  # type: ignore[arg-type]
            return
        before = {key: self.cells_of(key) for key in self.row_ids}
        sync(self, *args, **kw)  # type: ignore[arg-type]
        cells = sum(
            a != b
            for key in self.row_ids
            for a, b in zip(self.cells_of(key), before.get(key, []), strict=False)
        )
        if cells:
            counts["updates"] += 1
            counts["cells"] += cells

    LiveTable.sync = counting_sync  # type: ignore[method-assign]

    def extra(moment: str) -> list[float]:
        if moment == "start":
            counts.update(updates=0, cells=0)
            return []
        per_update = counts["cells"] / max(1, counts["updates"])
        return [counts["updates"] / seconds, per_update]

    class Bench(PerpDeskApp):
        def on_ready(self) -> None:
            _idle_window(self, seconds, out, extra)

    parser = build_parser()
    app = build_app(parser.parse_args(["--seed", "1"]), parser, app_class=Bench)
    app.run()
    if app.session.journal is not None:
        app.session.journal.close()


def child_bare_idle(seconds: float, out: str, rate: float, cells: int) -> None:
    """A bare app in a terminal: Header, a 22 x 5 DataTable, Footer; ``cells`` cells of it
    change ``rate`` times a second (the rate perpdesk's markets table changes on screen)."""
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
            self.cols = table.add_columns(*(f"c{i}" for i in range(5)))
            self.rows = [table.add_row(*(f"{r}.{c}" for c in range(5))) for r in range(22)]
            self.cells = [(r, c) for r in self.rows for c in self.cols[1:3]]
            if rate > 0:
                self.set_interval(1 / rate, self.tick)

        def tick(self) -> None:
            table = self.query_one(DataTable)
            with self.batch_update():
                for row, col in rng.sample(self.cells, min(cells, len(self.cells))):
                    table.update_cell(row, col, f"{rng.uniform(0, 1e5):,.2f}")

        def on_ready(self) -> None:
            _idle_window(self, seconds, out)

    Bare().run()


# --------------------------------------------------------------------------- parent


def _controlling_tty() -> None:
    """In the child: a session of its own, with the pseudo-terminal (its stdin) as its
    controlling terminal, as a shell would give it."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_terminal(*args: str, timeout: float) -> list[float]:
    """Run a child in a 120x36 pseudo-terminal, reading (and dropping) what it draws; its
    figures come back through a file."""
    import fcntl
    import pty
    import struct
    import termios

    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    home = tempfile.mkdtemp(prefix="perpdesk-bench-")
    env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
    out = Path(home) / "figures"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, __file__, CHILD, *args, str(out)],
        stdin=slave,
        stdout=slave,
        stderr=slave,  # Textual draws on stderr
        env=env,
        preexec_fn=_controlling_tty,
    )
    os.close(slave)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    os.read(master, 1 << 16)
                except OSError:
                    break
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SystemExit(f"child {args} did not finish in {timeout:.0f} s") from None
    finally:
        os.close(master)
        proc.wait()
    if not out.exists():
        raise SystemExit(f"child {args} failed (exit code {proc.returncode})")
    return [float(x) for x in out.read_text().split()]


def _range(values: list[float], scale: float = 100.0, unit: str = " %") -> str:
    lo, hi, mid = min(values) * scale, max(values) * scale, statistics.median(values) * scale
    return f"{mid:5.2f}{unit} (range {lo:.2f}-{hi:.2f})"


def bench_positions(seconds: float) -> None:
    t = seconds
    bare200 = run_child("bare-table", str(t), "200")
    bare20 = run_child("bare-table", str(t), "20")
    perp200 = run_child("perpdesk-positions", str(t), "200")
    perp0 = run_child("perpdesk-positions", str(t), "0")
    print(f"200 positions, every mark moving, 10 Hz, over {t:g} s (CPU seconds per second):")
    print(f"  bare DataTable, 200x12 cells updated:       {bare200 / t:6.3f}")
    print(f"  perpdesk, 200 positions in 200 markets:     {perp200 / t:6.3f}")
    ratio = perp200 / bare200
    print(f"  ratio {ratio:.2f}x  (required <= 1.1x)  {'OK' if ratio <= 1.1 else 'FAIL'}")
    per_bare = (bare200 - bare20) / 180 / t
    per_perp = (perp200 - perp0) / 200 / t
    print(
        f"  each extra position: perpdesk {per_perp * 1000:.2f} ms/s, a bare row "
        f"{per_bare * 1000:.2f} ms/s ({per_perp / per_bare:.2f}x)"
    )


def bench_idle(seconds: float, runs: int) -> None:
    perp: list[float] = []
    bare: list[float] = []
    rates: list[float] = []
    cells: list[float] = []
    for _ in range(runs):
        cpu, wall, rate, per = run_in_terminal("perpdesk-idle", str(seconds), timeout=seconds + 60)
        perp.append(cpu / wall)
        rates.append(rate)
        cells.append(per)
        rate_arg, cells_arg = f"{rate:.3f}", str(max(1, round(per)))
        cpu, wall = run_in_terminal(
            "bare-idle", str(seconds), rate_arg, cells_arg, timeout=seconds + 60
        )
        bare.append(cpu / wall)
    print(f"Idle, no positions, simulated feed at 1x, {seconds:g} s in a terminal, {runs} runs:")
    print(
        f"  perpdesk's markets table changed {statistics.median(rates):.1f} times a second, "
        f"{statistics.median(cells):.0f} cells each time"
    )
    print(f"  bare Header+DataTable(22 rows)+Footer, same changes: {_range(bare)} of a core")
    print(f"  perpdesk:                                           {_range(perp)} of a core")
    mid = statistics.median(perp)
    print(
        f"  ratio {mid / statistics.median(bare):.2f}x bare;  aim <= 3 % of a core  "
        f"{'OK' if mid <= 0.03 else 'ABOVE'}"
    )


def run_child_line(*args: str) -> list[float]:
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="perpdesk-bench-")
    env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
    out = subprocess.run(
        [sys.executable, __file__, CHILD, *args], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


PYCACHE = tempfile.mkdtemp(prefix="perpdesk-bench-pyc-")
"""This run's bytecode cache (the start-up figure with compiled modules, as users have them)."""


def run_child(*args: str, since_spawn: bool = False, bytecode: bool = True) -> float:
    """Run a child; its last line is a number (with ``since_spawn``: a wall-clock time, made
    relative to when the process was started). ``bytecode``: with this run's bytecode cache;
    else none at all."""
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="perpdesk-bench-")
    env.update(XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYCACHE
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, __file__, CHILD, *args], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    value = float(out.stdout.strip().splitlines()[-1])
    return value - spawned if since_spawn else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle case")
    parser.add_argument("--idle-runs", type=int, default=3)
    parser.add_argument("--only", choices=("start", "cpu", "flood", "positions", "idle"))
    args = parser.parse_args()
    if args.only == "positions":
        bench_positions(args.seconds)
        return
    if args.only == "idle":
        bench_idle(args.idle, args.idle_runs)
        return

    run_child("bare-start")  # warm-ups: each writes its bytecode to this run's cache
    run_child("perpdesk-start")
    starts: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.runs):
        for kind, bytecode in itertools.product(("bare-start", "perpdesk-start"), (True, False)):
            starts.setdefault((kind, bytecode), []).append(
                run_child(kind, since_spawn=True, bytecode=bytecode)
            )
    med = {key: statistics.median(values) for key, values in starts.items()}
    b, p = med["bare-start", True], med["perpdesk-start", True]
    cold_b, cold_p = med["bare-start", False], med["perpdesk-start", False]
    print(f"Start to first frame (median of {args.runs}, from interpreter start):")
    cold = "   no bytecode:"
    print(f"  bare Header+DataTable+Footer app: {b * 1000:7.0f} ms{cold} {cold_b * 1000:5.0f} ms")
    print(f"  perpdesk:                         {p * 1000:7.0f} ms{cold} {cold_p * 1000:5.0f} ms")
    print(
        f"  ratio {p / b:.2f}x  (required <= 2x)  {'OK' if p / b <= 2 else 'FAIL'}"
        f"   no bytecode: {cold_p / cold_b:.2f}x"
    )

    bare_cpu = run_child("bare-cpu", str(args.seconds))
    perp_cpu = run_child("perpdesk-cpu", str(args.seconds))
    feed_cpu = run_child("perpdesk-cpu-feed", str(args.seconds))
    t = args.seconds
    print(f"CPU over {t:g} s at 10 Hz (CPU seconds per wall second):")
    print(f"  bare DataTable, 20x12 cells updated:        {bare_cpu / t:6.3f}")
    print(f"  perpdesk, 20 positions, all marks moving:   {perp_cpu / t:6.3f}")
    print(f"  perpdesk, 20 positions, its own sim feed:   {feed_cpu / t:6.3f}")
    ratio = perp_cpu / bare_cpu
    print(f"  ratio {ratio:.2f}x  (required <= 1.5x)  {'OK' if ratio <= 1.5 else 'FAIL'}")

    hidden, _ = run_child_line("perpdesk-cpu-chart", str(t), "hidden")
    shown, frames = run_child_line("perpdesk-cpu-chart", str(t), "shown")
    print(f"Chart on screen (CPU s per wall s, feed time at 60x, {frames:.1f} chart frames/s):")
    print(f"  perpdesk, chart hidden (g):                 {hidden / t:6.3f}")
    print(f"  perpdesk, chart, book and funding shown:    {shown / t:6.3f}")
    ratio = shown / hidden
    print(f"  ratio {ratio:.2f}x  (required <= 1.3x)  {'OK' if ratio <= 1.3 else 'FAIL'}")

    pushed, per_second, gap = run_child_line("perpdesk-flood", str(t), "5000")
    print(f"Feed flood: {pushed:,.0f} marks/s pushed into the running app (20 positions open):")
    ok = per_second >= 9 and gap < 0.25
    print(
        f"  screen refreshes {per_second:.1f}/s (target 10), longest gap {gap * 1000:.0f} ms"
        f"  {'OK' if ok else 'FALLING BEHIND'}"
    )
    bench_positions(args.seconds)
    bench_idle(args.idle, args.idle_runs)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == CHILD:
        kind = sys.argv[2]
        if kind == "bare-start":
            child_bare_start()
        elif kind == "perpdesk-start":
            child_perpdesk_start()
        elif kind == "bare-cpu":
            child_bare_cpu(float(sys.argv[3]))
        elif kind == "perpdesk-cpu":
            child_perpdesk_cpu(float(sys.argv[3]), own_feed=False)
        elif kind == "perpdesk-cpu-feed":
            child_perpdesk_cpu(float(sys.argv[3]), own_feed=True)
        elif kind == "perpdesk-cpu-chart":
            child_perpdesk_cpu_chart(float(sys.argv[3]), chart=sys.argv[4] == "shown")
        elif kind == "perpdesk-flood":
            child_perpdesk_flood(float(sys.argv[3]), int(sys.argv[4]))
        elif kind == "bare-table":
            child_bare_table(float(sys.argv[3]), int(sys.argv[4]))
        elif kind == "perpdesk-positions":
            child_perpdesk_positions(float(sys.argv[3]), int(sys.argv[4]))
        elif kind == "perpdesk-idle":
            child_perpdesk_idle(float(sys.argv[3]), sys.argv[4])
        elif kind == "bare-idle":
            child_bare_idle(float(sys.argv[3]), sys.argv[6], float(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
