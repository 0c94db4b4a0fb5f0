"""A price chart: one market's candles with the trader's levels drawn across it.

:class:`PriceChart` shows candles (:class:`tui.market.candles.Candle`, oldest first) one column
each, newest at the right, with horizontal lines for entry, liquidation, take-profit,
stop-loss and resting-order prices, each labelled on the price axis at the right edge::

    chart.show("BTC · 1m", store.candles("BTC", "1m"), [("Liq", 91_234.0, "liq")])

Levels come in as plain data, ``(label, price, kind)`` with ``kind`` one of :data:`LEVEL_KINDS`;
the chart computes nothing about margin. A level outside the candles' range is drawn in the
range when that keeps the candles at least a third of the height; otherwise its label is
pinned to the top or bottom edge with an arrow (``↑ Liq 80,000.0``) and no line is drawn. On a
narrow axis a label keeps its first letter (``E 100,023.5``), then only its price.

Drawing: our own renderer on Textual's line API (Rich segments), half-row resolution with box
drawing glyphs (``┃`` body, ``│`` wick, ``╻ ╹ ╷ ╵ ╽ ╿`` for the halves). :func:`layout` is pure
(text runs and roles per row) and tested without Textual; the widget maps roles to styles from
its component classes, so themes apply. A frame is built only when painted after new data,
and :meth:`PriceChart.show` repaints at most twice a second by its clock (extra calls in between
coalesce: the newest data is drawn by the first call, from the heartbeat, once half a second has
passed; no timer of its own, so a frozen test clock gives the same frames every run); a frame at
120x36 costs about a millisecond (``bench/chart_bench.py``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.format import fmt_price
from tui.market.candles import Candle

__all__ = ["LEVEL_KINDS", "Level", "PriceChart", "Run", "layout"]

Level = tuple[str, float, str]
"""``(label, price, kind)``: a horizontal line to draw, e.g. ``("Liq", 91234.0, "liq")``."""

Run = tuple[str, str]
"""``(text, role)``: a stretch of one row drawn in one style."""

LEVEL_KINDS: dict[str, str] = {"entry": "─", "liq": "═", "tp": "╌", "sl": "╌", "order": "┄"}
"""Level kinds and the glyph of their line."""

_LABEL_ORDER = {"mark": 0, "liq": 1, "entry": 2, "sl": 3, "tp": 4, "order": 5}
"""Who keeps a row when labels collide (the current price first, then liquidation)."""

_MAX_SQUEEZE = 3.0
"""A level is drawn in range while the range stays within this multiple of the candles'."""

# (top half, bottom half) of a cell -> glyph; 0 empty, 1 wick, 2 body.
_GLYPH = {
    (0, 0): " ",
    (1, 1): "│",
    (2, 2): "┃",
    (0, 1): "╷",
    (1, 0): "╵",
    (0, 2): "╻",
    (2, 0): "╹",
    (1, 2): "╽",
    (2, 1): "╿",
}

REDRAW_INTERVAL = 0.5
"""Seconds between repaints at most (twice a second)."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _safe(text: str) -> str:
    """Control characters shown escaped (``\\x1b``): titles and labels may quote a file."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clock_label(seconds: float) -> str:
    """Feed time as a time of day, ``HH:MM`` (UTC for live feeds and replays; time since the
    start for the simulation, whose clock starts at 0)."""
    s = int(seconds) % 86_400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _fit(runs: list[Run], width: int) -> list[Run]:
    """Cut runs to ``width`` cells and pad with a blank run."""
    out: list[Run] = []
    left = width
    for text, role in runs:
        if left <= 0:
            break
        piece = text[:left]
        out.append((piece, role))
        left -= len(piece)
    if left > 0:
        out.append((" " * left, ""))
    return out


def _tick_step(raw: float) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) at or above ``raw``."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10.0 * power


def _message_rows(width: int, height: int, header: list[Run], message: str) -> list[list[Run]]:
    rows = [_fit(header, width)] if height > 1 else []
    body = height - len(rows)
    for i in range(body):
        if i == body // 2:
            text = message[:width]
            pad = (width - len(text)) // 2
            rows.append(_fit([(" " * pad, ""), (text, "axis")], width))
        else:
            rows.append([(" " * width, "")])
    return rows


def layout(
    width: int,
    height: int,
    candles: Sequence[Candle],
    levels: Sequence[Level] = (),
    *,
    title: str = "",
    message: str | None = None,
    time_label: Callable[[float], str] = clock_label,
) -> list[list[Run]]:
    """The chart as ``height`` rows of runs exactly ``width`` cells wide (see module doc).

    Row 0 is the title with the last candle's open, high, low and close; the last row shows the
    times of the first and last candle drawn; between them the candles (one per column, the
    newest at the right) and, right of them, the price axis with level labels.
    """
    if width <= 0 or height <= 0:
        return []
    title = _safe(title)
    good = [c for c in candles if all(math.isfinite(v) and v > 0 for v in c[1:5])]
    header: list[Run] = [(title, "title")]
    if good:
        last = good[-1]
        ref = last.close
        header.append(
            (
                f"  O {fmt_price(last.open, ref)}  H {fmt_price(last.high, ref)}"
                f"  L {fmt_price(last.low, ref)}  C {fmt_price(last.close, ref)}",
                "axis",
            )
        )
    if message is not None or not good:
        return _message_rows(width, height, header, _safe(message or "Waiting for prices…"))
    if width < 16 or height < 5:
        return _message_rows(width, height, header, "Too small for a chart")

    n = height - 2  # plot rows
    ref = good[-1].close
    shown_levels = [
        (_safe(label), float(price), kind)
        for label, price, kind in levels
        if isinstance(price, int | float) and math.isfinite(price) and price > 0
    ]

    # -- the price axis: wide enough for any price (with an arrow), and for whole level labels
    # while that takes no more than a third of the width
    widest_price = max(
        len(fmt_price(v, ref))
        for v in (ref, *(c.high for c in good[-width:]), *(p for _, p, _ in shown_levels))
    )
    widest_label = max((len(f"{lb} ") for lb, _, _ in shown_levels), default=0)
    axis_w = max(widest_price + 4, min(widest_price + widest_label + 4, width // 3))
    plot_w = width - axis_w - 1  # one blank column between the newest candle and the axis
    if plot_w < 4:
        return _message_rows(width, height, header, "Too narrow for a chart")
    visible = good[-plot_w:]

    # -- the vertical range: every visible candle, and the levels that keep candles readable
    lo = min(c.low for c in visible)
    hi = max(c.high for c in visible)
    span = hi - lo
    if span <= 0:
        span = max(abs(hi) * 0.002, 1e-9)
        lo, hi = lo - span / 2, hi + span / 2
    candle_span = span
    for _, price, _ in sorted(shown_levels, key=lambda lv: min(abs(lv[1] - lo), abs(lv[1] - hi))):
        new_lo, new_hi = min(lo, price), max(hi, price)
        if new_hi - new_lo <= _MAX_SQUEEZE * candle_span:
            lo, hi = new_lo, new_hi
    pad = (hi - lo) * 0.04
    bottom, top = lo - pad, hi + pad
    scale = 2 * n / (top - bottom)  # half-rows per unit of price

    def half(price: float) -> int:
        return min(2 * n - 1, max(0, int((top - price) * scale)))

    # -- the plot grid: level lines first, candles over them
    chars = [[" "] * (plot_w + 1) for _ in range(n)]
    roles = [[""] * (plot_w + 1) for _ in range(n)]
    label_w = axis_w - 2
    # (pinned, priority, row, text, role); a label that does not fit keeps its price whole
    labels: list[tuple[bool, int, int, str, str]] = []
    for label, price, kind in shown_levels:
        role = kind if kind in LEVEL_KINDS else "order"
        order = _LABEL_ORDER.get(role, 9)
        arrow = "↑ " if price > top else "↓ " if price < bottom else ""
        price_text = fmt_price(price, ref)
        text = next(
            (
                t
                for t in (
                    f"{arrow}{label} {price_text}",
                    f"{arrow}{label[:1]} {price_text}",  # a narrow axis: "E 100,023.5"
                    f"{arrow}{price_text}",
                    price_text,
                )
                if len(t) <= label_w
            ),
            price_text,
        )
        if arrow:  # out of the range: the label is pinned to that edge, and no line is drawn
            labels.append((True, order, 0 if price > top else n - 1, text, role))
            continue
        row = half(price) // 2
        glyph = LEVEL_KINDS.get(role, "┄")
        chars[row] = [glyph] * (plot_w + 1)
        roles[row] = [role] * (plot_w + 1)
        labels.append((False, order, row, text, role))
    x0 = plot_w - len(visible)
    for x, c in enumerate(visible, start=x0):
        h_top, h_bottom = half(c.high), half(c.low)
        b_top, b_bottom = half(max(c.open, c.close)), half(min(c.open, c.close))
        role = "up" if c.close >= c.open else "down"
        for row in range(h_top // 2, h_bottom // 2 + 1):
            cell = []
            for h in (2 * row, 2 * row + 1):
                if b_top <= h <= b_bottom:
                    cell.append(2)
                elif h_top <= h <= h_bottom:
                    cell.append(1)
                else:
                    cell.append(0)
            glyph = _GLYPH[(cell[0], cell[1])]
            if glyph != " ":
                chars[row][x] = glyph
                roles[row][x] = role
    mark_role = "up" if visible[-1].close >= visible[-1].open else "down"
    labels.append(
        (False, _LABEL_ORDER["mark"], half(ref) // 2, fmt_price(ref, ref), f"mark-{mark_role}")
    )

    # -- labels on the axis: the current price, then levels drawn in range (by priority), then
    # pinned ones, each on its row or the nearest free one; round-number ticks where room is left
    axis: dict[int, tuple[str, str]] = {}
    for _, _, want, text, role in sorted(labels, key=lambda lb: lb[:2]):
        for step in range(n):
            spot = next(
                (r for r in (want - step, want + step) if 0 <= r < n and r not in axis), None
            )
            if spot is not None:
                axis[spot] = (text, role)
                break
    tick = _tick_step((top - bottom) / max(1, n // 4))
    value = math.ceil(bottom / tick) * tick
    while value <= top:
        row = half(value) // 2
        if all(r not in axis for r in (row - 1, row, row + 1)):
            axis[row] = (fmt_price(value, ref), "axis")
        value += tick

    rows: list[list[Run]] = [_fit(header, width)]
    for row in range(n):
        runs: list[Run] = []
        line_chars, line_roles = chars[row], roles[row]
        start = 0
        for x in range(1, plot_w + 2):
            if x == plot_w + 1 or line_roles[x] != line_roles[start]:
                runs.append(("".join(line_chars[start:x]), line_roles[start]))
                start = x
        text, role = axis.get(row, ("", "axis"))
        mark = "┤" if row in axis else "│"
        runs.append((mark + " ", "axis" if role.startswith("mark") else role))
        text = text[:label_w]
        if role.startswith("mark") and len(text) + 2 <= label_w:
            text = f" {text} "  # a price tag: padded inside its colour
        runs.append((text, role))
        runs.append((" " * (label_w - len(text)), ""))
        rows.append(_fit(runs, width))
    first, last_t = time_label(visible[0].start), time_label(visible[-1].start)
    gap = max(1, plot_w - len(first) - len(last_t))
    rows.append(_fit([(first, "axis"), (" " * gap, ""), (last_t, "axis")], width))
    return rows


class PriceChart(Widget):
    """Candles and levels for one market (see the module doc). Call :meth:`show` from the
    heartbeat (on every beat: a change held back is drawn by a later call once it is due); it
    repaints at most twice a second."""

    DEFAULT_CSS = """
    PriceChart { height: 1fr; min-height: 6; }
    PriceChart > .chart--up { color: $success; }
    PriceChart > .chart--down { color: $error; }
    PriceChart > .chart--mark-up { color: $background; background: $success; text-style: bold; }
    PriceChart > .chart--mark-down { color: $background; background: $error; text-style: bold; }
    PriceChart > .chart--axis { color: $foreground 55%; }
    PriceChart > .chart--title { color: $foreground; text-style: bold; }
    PriceChart > .chart--entry { color: $foreground; text-style: bold; }
    PriceChart > .chart--liq { color: $text-error; text-style: bold; }
    PriceChart > .chart--tp { color: $text-success; }
    PriceChart > .chart--sl { color: $text-warning; }
    PriceChart > .chart--order { color: $text-primary; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart--up",
        "chart--down",
        "chart--mark-up",
        "chart--mark-down",
        "chart--axis",
        "chart--title",
        "chart--entry",
        "chart--liq",
        "chart--tp",
        "chart--sl",
        "chart--order",
    }

    def __init__(
        self,
        *,
        time_label: Callable[[float], str] = clock_label,
        monotonic: Callable[[], float] = time.monotonic,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._time_label = time_label
        self._monotonic = monotonic
        self._data: tuple[str, tuple[Candle, ...], tuple[Level, ...], str | None] = (
            "",
            (),
            (),
            None,
        )
        self._last_draw = -math.inf
        self._pending = False
        self._frame: list[Strip] | None = None
        self._frame_size = (0, 0)
        self.frames_built = 0
        """How many frames were laid out (tests and the bench read it)."""

    def show(
        self,
        title: str,
        candles: Sequence[Candle],
        levels: Sequence[Level] = (),
        *,
        message: str | None = None,
    ) -> None:
        """Chart ``candles`` (oldest first) with ``levels``; ``message`` replaces the plot with
        a line of text (e.g. why there is nothing to draw). Unchanged data costs nothing; new
        data is drawn now if the last repaint was half a second ago or more, else by the first
        call after that."""
        data = (title, tuple(candles), tuple(levels), message)
        if data != self._data:
            self._data = data
            self._pending = True
        if self._pending and self._monotonic() - self._last_draw >= REDRAW_INTERVAL:
            self._draw()

    def catch_up(self) -> None:
        """Draw a change the pacing held back, once it is due (call on the beats that bring
        nothing new, so the last change of a burst is never left undrawn)."""
        if self._pending and self._monotonic() - self._last_draw >= REDRAW_INTERVAL:
            self._draw()

    @property
    def showing(self) -> tuple[str, tuple[Candle, ...], tuple[Level, ...], str | None]:
        """What the chart was last given: ``(title, candles, levels, message)``."""
        return self._data

    def flush(self) -> None:
        """Draw the data last shown now, without waiting for the pacing (a key changed what
        the chart shows: the trader is looking at it)."""
        if self._pending:
            self._draw()

    def _draw(self) -> None:
        self._pending = False
        self._last_draw = self._monotonic()
        self._frame = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._frame = None  # the theme changed: the roles' styles did too
        self._styles = None

    _styles: dict[str, Style] | None = None

    def _styles_by_role(self) -> dict[str, Style]:
        """Each role's style, worked out once per style change (resolving the component
        classes was most of a frame's cost)."""
        if self._styles is None:
            self._styles = self._resolve_styles()
        return self._styles

    def _resolve_styles(self) -> dict[str, Style]:
        base = self.rich_style
        styles = {"": base}
        for cls in self.COMPONENT_CLASSES:
            styles[cls.removeprefix("chart--")] = base + self.get_component_rich_style(
                cls, partial=True
            )
        return styles

    def _build(self) -> list[Strip]:
        width, height = self.size
        title, candles, levels, message = self._data
        rows = layout(
            width,
            height,
            candles,
            levels,
            title=title,
            message=message,
            time_label=self._time_label,
        )
        styles = self._styles_by_role()
        plain = styles[""]
        self.frames_built += 1
        return [
            Strip([Segment(text, styles.get(role, plain)) for text, role in runs], width)
            for runs in rows
        ]

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._frame is None or self._frame_size != size:
            self._frame = self._build()
            self._frame_size = size
        if 0 <= y < len(self._frame):
            return self._frame[y]
        return Strip.blank(self.size.width, self.rich_style)
