"""What a chart frame costs: perpdesk's PriceChart against the Textual plotting libraries.

Run from the repository root: ``python bench/chart_bench.py [--frames N]``. Prints figures;
asserts nothing. Each candidate draws the same ~120 one-minute candles of a seeded simulation
with five level lines (entry, liquidation, TP, SL, an order), at 120x36 and 80x24, in a
headless app. One frame = new data (the newest candle moves) + a full repaint, timed in CPU
seconds from the update call until the app is idle again (the pause's sleeping costs nothing).
A bare baseline (a Static whose text changes) is timed the same way in the same run; the
extra over it and the ratio to it are printed.

Candidates (each skipped with a note when not installed):

* ``perpdesk``: tui.widgets.chart.PriceChart (our renderer on the line API, no dependency).
* ``textual-plotext``: plotext's candlestick + hline + text, rendered by PlotextPlot.
* ``textual-plot``: no candle type: wicks and bodies as two error-bar sets, levels as lines.
* ``textual-hires-canvas``: a Canvas with a hires line per wick and body, lines and text.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from tests.ui.chart_app import levels_around, seeded_candles
from tui.market.candles import Candle
from tui.widgets.chart import PriceChart

SIZES = ((120, 36), (80, 24))


def moved(candles: list[Candle], i: int) -> list[Candle]:
    """The same candles with the newest one's close nudged (a new mark)."""
    last = candles[-1]
    close = last.close * (1 + ((i % 7) - 3) * 1e-4)
    return [
        *candles[:-1],
        last._replace(close=close, high=max(last.high, close), low=min(last.low, close)),
    ]


# ------------------------------------------------------------------ candidates
# Each returns (widget, update(candles, levels)).

Update = Callable[[list[Candle], list[tuple[str, float, str]]], None]


def bare() -> tuple[Widget, Update]:
    w = Static("")

    def update(candles: list[Candle], levels: list[tuple[str, float, str]]) -> None:
        w.update(f"{candles[-1].close:.1f}")

    return w, update


def perpdesk() -> tuple[Widget, Update]:
    clock = [0.0]

    def tick() -> float:
        clock[0] += 1.0  # every update may draw at once (the bench times frames, not pacing)
        return clock[0]

    w = PriceChart(monotonic=tick)

    def update(candles: list[Candle], levels: list[tuple[str, float, str]]) -> None:
        w.show("BTC · 1m", candles, levels)

    return w, update


def plotext() -> tuple[Widget, Update]:
    from textual_plotext import PlotextPlot

    w = PlotextPlot()

    def update(candles: list[Candle], levels: list[tuple[str, float, str]]) -> None:
        plt = w.plt
        plt.clear_data()
        xs = list(range(len(candles)))
        plt.candlestick(
            xs,
            {
                "Open": [c.open for c in candles],
                "Close": [c.close for c in candles],
                "High": [c.high for c in candles],
                "Low": [c.low for c in candles],
            },
        )
        for label, price, _ in levels:
            plt.hline(price)
            plt.text(label, len(candles) - 1, price)
        w.refresh()

    return w, update


def textual_plot() -> tuple[Widget, Update]:
    import numpy as np
    from textual_plot import PlotWidget

    w = PlotWidget()

    def update(candles: list[Candle], levels: list[tuple[str, float, str]]) -> None:
        x = np.arange(len(candles), dtype=float)
        hi = np.array([c.high for c in candles])
        lo = np.array([c.low for c in candles])
        op = np.array([c.open for c in candles])
        cl = np.array([c.close for c in candles])
        w.clear()
        w.errorbar(x, (hi + lo) / 2, yerr=(hi - lo) / 2, marker_style="white")
        w.errorbar(x, (op + cl) / 2, yerr=np.abs(op - cl) / 2, marker_style="green")
        for _, price, _ in levels:
            w.plot(np.array([0.0, x[-1]]), np.array([price, price]), line_style="red")

    return w, update


def hires_canvas() -> tuple[Widget, Update]:
    from textual_hires_canvas import Canvas

    w = Canvas(120, 36)

    def update(candles: list[Candle], levels: list[tuple[str, float, str]]) -> None:
        width, height = w.size
        if not width:
            return
        prices = [c.high for c in candles] + [c.low for c in candles]
        lo, hi = min(prices), max(prices)
        scale = (height - 1) / (hi - lo or 1)
        shown = candles[-(width - 20) :]
        with w.batch_refresh():
            w.reset()
            for x, c in enumerate(shown):
                style = "green" if c.close >= c.open else "red"
                w.draw_hires_line(x, (hi - c.high) * scale, x, (hi - c.low) * scale, style=style)
                top = (hi - max(c.open, c.close)) * scale
                bottom = (hi - min(c.open, c.close)) * scale
                w.draw_hires_line(x + 0.4, top, x + 0.4, bottom, style=style)
            for label, price, _ in levels:
                if lo <= price <= hi:
                    y = int((hi - price) * scale)
                    w.draw_line(0, y, width - 21, y, style="yellow")
                    w.write_text(width - 20, y, f"{label} {price:,.1f}")

    return w, update


CANDIDATES: dict[str, Callable[[], tuple[Widget, Update]]] = {
    "perpdesk": perpdesk,
    "textual-plotext": plotext,
    "textual-plot": textual_plot,
    "textual-hires-canvas": hires_canvas,
}


class BenchApp(App[None]):
    CSS = "Screen { layout: vertical; } * { height: 1fr; width: 1fr; }"

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def frame_times(
    make: Callable[[], tuple[Widget, Update]], size: tuple[int, int], n: int
) -> list[float]:
    widget, update = make()
    app = BenchApp(widget)
    candles = seeded_candles(120)
    levels = levels_around(candles[-1].close)
    times: list[float] = []
    async with app.run_test(size=size) as pilot:
        update(candles, levels)
        await pilot.pause()
        for i in range(n):
            data = moved(candles, i)
            t0 = time.process_time()
            update(data, levels)
            await pilot.pause()
            times.append(time.process_time() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    print(f"{args.frames} frames each; median CPU ms per frame (update + full repaint)")
    for size in SIZES:
        base = statistics.median(asyncio.run(frame_times(bare, size, args.frames)))
        print(f"\n{size[0]}x{size[1]}: bare baseline {base * 1e3:.2f} ms")
        for name, make in CANDIDATES.items():
            try:
                times = asyncio.run(frame_times(make, size, args.frames))
            except ImportError as exc:
                print(f"  {name:22s} not installed ({exc.name})")
                continue
            med = statistics.median(times)
            extra = max(med - base, 0.0)
            print(
                f"  {name:22s} {med * 1e3:7.2f} ms  (+{extra * 1e3:6.2f} ms over bare, "
                f"{med / base:4.1f}x)"
            )


if __name__ == "__main__":
    main()
