"""A drill's mark path, with the trader's actions marked on it.

:func:`path_layout` is pure (rows of ``(text, role)`` runs) and tested without Textual;
:class:`PathChart` draws it in the theme's colours. The path is one column per slice of the
run's time: each column shows the mark at the end of its slice as a dot, joined to the
column before by a vertical stroke when it moved more than a row. Actions sit on the path at
their time: ``▲`` bought, ``▼`` sold, ``+`` / ``−`` margin added / removed, ``✕`` liquidated,
``◆`` a stop or take-profit fired. The price axis is at the left, the feed clock below.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from tui.drills.scoring import clock
from tui.format import fmt_price

__all__ = ["MARKERS", "Marker", "PathChart", "Point", "path_layout"]

Point = tuple[float, float]
"""``(feed seconds, mark)``."""
Marker = tuple[float, str]
"""``(feed seconds, kind)``, a kind of :data:`MARKERS`."""
Run = tuple[str, str]

MARKERS: dict[str, tuple[str, str, str]] = {
    "buy": ("▲", "up", "bought"),
    "sell": ("▼", "down", "sold"),
    "add": ("+", "warning", "margin added"),
    "remove": ("−", "warning", "margin removed"),
    "trigger": ("◆", "warning", "stop / take-profit"),
    "liquidation": ("✕", "error", "liquidated"),
}
"""Each action's glyph, role and legend word."""
_PRIORITY = {"liquidation": 0, "trigger": 1, "sell": 2, "buy": 3, "add": 4, "remove": 5}


def _column(t: float, end: float, width: int) -> int:
    if end <= 0:
        return 0
    return max(0, min(width - 1, int(t / end * width)))


def path_layout(
    points: Sequence[Point],
    markers: Sequence[Marker],
    end: float,
    width: int,
    height: int,
) -> list[list[Run]]:
    """The chart as ``height`` rows of runs, ``width`` cells each: a price axis, the path,
    then a row with the clock and a legend of the markers present. ``end`` is the run's
    length in feed seconds (the right edge)."""
    if width < 20 or height < 4:
        return [[("(too small for the chart)"[:width], "axis")]][:height]
    prices = [p for _, p in points]
    if not prices:
        return [[("No prices were recorded.", "axis")]]
    lo, hi = min(prices), max(prices)
    if hi <= lo:
        lo, hi = lo * 0.995, hi * 1.005
    label = max(len(fmt_price(hi)), len(fmt_price(lo))) + 1
    plot_w = width - label
    plot_h = height - 2  # the clock row and the legend row
    end = max(end, points[-1][0], 1e-9)

    last: dict[int, float] = {}
    for t, price in points:
        last[_column(t, end, plot_w)] = price
    grid = [[" "] * plot_w for _ in range(plot_h)]
    roles = [[""] * plot_w for _ in range(plot_h)]

    def row_of(price: float) -> int:
        return plot_h - 1 - round((price - lo) / (hi - lo) * (plot_h - 1))

    previous: int | None = None
    rows: dict[int, int] = {}
    price = prices[0]
    for col in range(plot_w):
        if col > max(last):
            break
        price = last.get(col, price)
        row = row_of(price)
        rows[col] = row
        if previous is not None and abs(row - previous) > 1:
            step = 1 if row > previous else -1
            for r in range(previous + step, row, step):
                grid[r][col] = "│"
                roles[r][col] = "path"
        grid[row][col] = "•"
        roles[row][col] = "path"
        previous = row

    for t, kind in sorted(markers, key=lambda m: -_PRIORITY.get(m[1], 9)):
        if kind not in MARKERS:
            continue
        col = _column(t, end, plot_w)
        row = rows.get(col, rows[max(rows)] if rows else plot_h - 1)
        grid[row][col] = MARKERS[kind][0]
        roles[row][col] = kind  # the more important one, drawn last, stays
    shown = {role for row_roles in roles for role in row_roles}

    out: list[list[Run]] = []
    for r in range(plot_h):
        axis = fmt_price(hi) if r == 0 else fmt_price(lo) if r == plot_h - 1 else ""
        runs: list[Run] = [(axis.rjust(label - 1) + ("┤" if axis else "│"), "axis")]
        for col in range(plot_w):
            runs.append((grid[r][col], roles[r][col]))
        out.append(_merge(runs))
    left, right = clock(0), clock(end)
    gap = max(1, plot_w - len(left) - len(right))
    out.append([(" " * label + left + " " * gap + right, "axis")])
    legend: list[Run] = [(" " * label, "")]
    for kind in MARKERS:
        if kind in shown:
            glyph, _, word = MARKERS[kind]
            legend += [(glyph, kind), (f" {word}   ", "axis")]
    out.append(_merge(legend))
    return out


def _merge(runs: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for text, role in runs:
        if merged and merged[-1][1] == role:
            merged[-1] = (merged[-1][0] + text, role)
        else:
            merged.append((text, role))
    return merged


class PathChart(Static):
    """The run's mark path and the trader's actions (see the module doc)."""

    DEFAULT_CSS = """
    PathChart { height: 12; }
    """

    def __init__(
        self,
        points: Sequence[Point],
        markers: Sequence[Marker],
        end: float,
        colours: dict[str, str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__("", id=id)
        self.points = list(points)
        self.markers = list(markers)
        self.end = end
        self.colours = colours

    def on_resize(self) -> None:
        self._draw()

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.content_size.width, self.content_size.height
        if width <= 0 or height <= 0:
            return
        role_style: dict[str, str] = {"axis": "dim", "path": ""}
        for kind, (_, role, _) in MARKERS.items():
            role_style[kind] = self.colours.get(role, "")
        text = Text(no_wrap=True, overflow="crop")
        for i, row in enumerate(path_layout(self.points, self.markers, self.end, width, height)):
            if i:
                text.append("\n")
            for piece, role in row:
                style = role_style.get(role, "")
                text.append(piece, style=f"bold {style}" if role in MARKERS else style)
        self.update(text, layout=False)
