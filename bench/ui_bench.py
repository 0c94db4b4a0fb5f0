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

Every app runs headless in its own process. Run: python bench/ui_bench.py [--runs N] [--seconds T]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time

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


# --------------------------------------------------------------------------- parent


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
    args = parser.parse_args()

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
    else:
        main()
