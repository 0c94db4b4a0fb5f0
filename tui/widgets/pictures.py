"""Pictures of a season (issue 15, item 5): the equity curve with its drawdown, and a
liquidation's post-mortem.

:func:`equity_layout` and :func:`postmortem_layout` are pure (text runs and roles per row, like
:func:`tui.widgets.chart.layout`) and tested without Textual; :class:`EquityPicture` and
:class:`PostMortemPicture` map the roles to styles from their component classes (themes apply)
and build a frame only when painted after new data. They compute nothing: the figures come
from :mod:`tui.pictures` (the equity curve folded from the records; the path a
:class:`~tui.pictures.TraceBook` sampled up to a liquidation).

Time runs left to right over the width: each column is an equal slice of time between the
first and the last point; a column with no point carries the last value before it (the
realized equity and drawdown only change at a record; a path sampled on the heartbeat is
drawn flat between two samples).

- **Equity**: the realized equity as an area from the bottom (eighth-block resolution), the
  starting balance a dotted line where the area does not cover it; under it the drawdown from the
  running peak hanging from the top of its strip (half-block resolution), scaled to the
  largest; the header says the equity, the change from the start, the peak and the largest
  drawdown in money and as a share of that peak.
- **Post-mortem**: the mark's range in each slice of time, the liquidation price as it moved
  (a cross one moves with the other markets and funding), the entry price, and the
  liquidation marked ``✕`` at the mark it happened at; under it the margin ratio as bars
  (full at 100 %: liquidation), warning colour from 50 % and error colour from 80 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.format import fmt_money, fmt_pct, fmt_price, fmt_size
from tui.history import format_duration
from tui.market.candles import Candle
from tui.pictures import EquityCurve, LiquidationPicture
from tui.safe import safe_text
from tui.widgets.chart import Run, _fit, _message_rows, clock_label

__all__ = [
    "EquityPicture",
    "PostMortemPicture",
    "bar_cells",
    "equity_layout",
    "postmortem_layout",
    "slices",
]

EIGHTHS = " ▁▂▃▄▅▆▇█"
"""A cell filled from the bottom in eighths."""


def slices(candles: Sequence[Candle], t_from: float, t_to: float, n: int) -> list[Candle | None]:
    """``candles`` gathered into ``n`` equal slices of ``[t_from, t_to]`` by their start:
    first value, highest, lowest and last of each slice (``None``: nothing started in it)."""
    out: list[Candle | None] = [None] * n
    if n <= 0:
        return out
    span = t_to - t_from
    for c in candles:
        i = 0 if span <= 0 else int((c.start - t_from) / span * n)
        i = min(n - 1, max(0, i))
        had = out[i]
        if had is None:
            out[i] = c
        else:
            out[i] = Candle(
                had.start,
                had.open,
                max(had.high, c.high),
                min(had.low, c.low),
                c.close,
                max(had.last, c.last),
            )
    return out


def _carried(columns: list[Candle | None]) -> list[Candle | None]:
    """Empty slices take the last value before them (flat at it)."""
    out: list[Candle | None] = []
    last: Candle | None = None
    for c in columns:
        if c is None and last is not None:
            c = Candle(last.start, last.close, last.close, last.close, last.close, last.last)
        out.append(c)
        if c is not None:
            last = c
    return out


def bar_cells(fraction: float, rows: int, *, from_top: bool = False) -> list[str]:
    """A bar of ``fraction`` (0..1) of ``rows`` cells, as the cells top to bottom: eighths
    growing from the bottom, or (``from_top``) halves hanging from the top."""
    f = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
    if from_top:
        halves = round(f * rows * 2)
        cells = []
        for r in range(rows):
            filled = halves - 2 * r
            cells.append("█" if filled >= 2 else "▀" if filled == 1 else " ")
        return cells
    eighths = round(f * rows * 8)
    cells = []
    for r in range(rows):
        filled = eighths - 8 * (rows - 1 - r)
        cells.append(EIGHTHS[min(8, max(0, filled))])
    return cells


def _place(axis: dict[int, tuple[str, str]], want: int, text: str, role: str, n: int) -> None:
    """Put a label on its row or the nearest free one."""
    for step in range(n):
        for r in (want - step, want + step):
            if 0 <= r < n and r not in axis:
                axis[r] = (text, role)
                return


def _grid_rows(
    chars: list[list[str]], roles: list[list[str]], axis: dict[int, tuple[str, str]], aw: int
) -> list[list[Run]]:
    """Rows of a plot grid with its axis labels at the right (``aw`` cells for them)."""
    rows = []
    for r, (line, line_roles) in enumerate(zip(chars, roles, strict=True)):
        runs: list[Run] = []
        start = 0
        for x in range(1, len(line) + 1):
            if x == len(line) or line_roles[x] != line_roles[start]:
                runs.append(("".join(line[start:x]), line_roles[start]))
                start = x
        text, role = axis.get(r, ("", "axis"))
        runs.append(("┤ " if r in axis else "│ ", "axis"))
        text = text[: aw - 2]
        runs.append((text, role))
        runs.append((" " * (aw - 2 - len(text)), ""))
        rows.append(runs)
    return rows


def _time_row(first: float, last: float, plot_w: int, time_label: Callable[[float], str]) -> Run:
    a, b = time_label(first), time_label(last)
    return (a + " " * max(1, plot_w - len(a) - len(b)) + b, "axis")


# --------------------------------------------------------------------------- equity


def equity_layout(
    width: int,
    height: int,
    curve: EquityCurve,
    *,
    title: str = "Equity",
    time_label: Callable[[float], str] = clock_label,
) -> list[list[Run]]:
    """The equity picture as ``height`` rows of runs exactly ``width`` cells wide."""
    if width <= 0 or height <= 0:
        return []
    start = curve.start_balance
    change = curve.equity - start
    header: list[Run] = [
        (safe_text(title), "title"),
        (f" {fmt_money(curve.equity)} ", "title"),
        (
            f"{fmt_money(change, signed=True)} ({fmt_pct(change / start if start else 0, True)})",
            "up" if change >= 0 else "down",
        ),
        (f" · peak {fmt_money(curve.peak)} · ", "axis"),
        (
            f"largest drawdown {fmt_money(curve.max_drawdown)}"
            f" ({fmt_pct(curve.max_drawdown_share)})",
            "dd" if curve.max_drawdown > 0 else "axis",
        ),
    ]
    series = curve.series.candles()
    if curve.records == 0:
        return _message_rows(width, height, header, "No trades yet: nothing has moved the equity")
    if width < 24 or height < 6:
        return _message_rows(width, height, header, "Too small for a picture")
    drawdowns = curve.drawdowns.candles()
    lo = min(c.low for c in series)
    hi = max(c.high for c in series)
    aw = max(len(fmt_money(v)) for v in (lo, hi, -curve.max_drawdown)) + 3
    plot_w = width - aw
    body = height - 2
    nd = max(1, body // 3)
    ne = body - nd - 1  # a row between them
    t_from, t_to = series[0].start, max(series[-1].last, series[-1].start)
    eq = _carried(slices(series, t_from, t_to, plot_w))
    dd = _carried(slices(drawdowns, t_from, t_to, plot_w))
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.002, 0.01)
    bottom, top = lo - pad, hi + pad

    chars = [[" "] * plot_w for _ in range(ne)]
    roles = [[""] * plot_w for _ in range(ne)]
    base_row = min(ne - 1, max(0, int((top - start) / (top - bottom) * ne)))
    for x, c in enumerate(eq):
        if c is None:
            continue
        cells = bar_cells((c.close - bottom) / (top - bottom), ne)
        for r, cell in enumerate(cells):
            if cell != " ":
                chars[r][x], roles[r][x] = cell, "area"
            elif r == base_row:
                chars[r][x], roles[r][x] = "┄", "base"
    axis: dict[int, tuple[str, str]] = {}
    axis[0] = (fmt_money(hi), "axis")
    axis[ne - 1] = (fmt_money(lo), "axis")
    if base_row not in axis:  # on the top or bottom row, the line says where it is
        axis[base_row] = (fmt_money(start), "base")
    rows = [_fit(header, width)]
    rows += [_fit(r, width) for r in _grid_rows(chars, roles, axis, aw)]
    label = "Drawdown"
    rows.append(_fit([("─" * (plot_w - len(label) - 1), "axis"), (" " + label, "dd")], width))

    dchars = [[" "] * plot_w for _ in range(nd)]
    droles = [[""] * plot_w for _ in range(nd)]
    worst = curve.max_drawdown
    for x, c in enumerate(dd):
        if c is None or worst <= 0:
            continue
        for r, cell in enumerate(bar_cells(c.high / worst, nd, from_top=True)):
            if cell != " ":
                dchars[r][x], droles[r][x] = cell, "dd"
    daxis: dict[int, tuple[str, str]] = {}
    _place(daxis, 0, fmt_money(0), "axis", nd)
    if nd > 1 or worst > 0:
        _place(daxis, nd - 1, fmt_money(-worst), "dd", nd)
    rows += [_fit(r, width) for r in _grid_rows(dchars, droles, daxis, aw)]
    rows.append(_fit([_time_row(t_from, t_to, plot_w, time_label)], width))
    return rows[:height]


# --------------------------------------------------------------------------- post-mortem


def postmortem_title(picture: LiquidationPicture) -> str:
    """The picture's header: the position, where it went in, where it was liquidated."""
    liq = picture.liquidation
    ref = liq.entry_price
    held = max(0.0, liq.time - liq.opened_at)
    return (
        f"{liq.market} {liq.mode.label.lower()} {liq.side.value} {fmt_size(liq.size, ref)}"
        f" at {liq.leverage:g}x · entry {fmt_price(liq.entry_price, ref)} · liquidated at"
        f" {fmt_price(liq.mark_price, ref)} after {format_duration(held)}"
    )


def postmortem_layout(
    width: int,
    height: int,
    picture: LiquidationPicture,
    *,
    time_label: Callable[[float], str] = clock_label,
) -> list[list[Run]]:
    """The post-mortem picture as ``height`` rows of runs exactly ``width`` cells wide."""
    if width <= 0 or height <= 0:
        return []
    liq = picture.liquidation
    header: list[Run] = [(safe_text(postmortem_title(picture)), "title")]
    marks = picture.marks
    if not marks:
        return _message_rows(width, height, header, "No prices were seen for this position")
    if width < 24 or height < 7:
        return _message_rows(width, height, header, "Too small for a picture")
    ref = liq.entry_price
    liqs = picture.liquidation_prices
    values = [c.high for c in marks] + [c.low for c in marks]
    values += [c.high for c in liqs] + [c.low for c in liqs]
    lo, hi = min(values), max(values)
    span = hi - lo
    entry = liq.entry_price
    entry_in = math.isfinite(entry) and lo - 3 * span <= entry <= hi + 3 * span
    if entry_in:
        lo, hi = min(lo, entry), max(hi, entry)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.002, 1e-9)
    bottom, top = lo - pad, hi + pad
    labels = [fmt_price(v, ref) for v in (lo, hi)]
    labels.append(("" if entry_in else "↑ ") + "Entry " + fmt_price(entry, ref))
    if liqs:
        labels.append("Liq " + fmt_price(liqs[-1].close, ref))
    aw = max(len(t) for t in labels) + 5
    plot_w = width - aw
    body = height - 2
    nr = 3 if body >= 10 else 2
    npr = body - nr - 1

    def row(price: float) -> int:
        return min(npr - 1, max(0, int((top - price) / (top - bottom) * npr)))

    t_from = marks[0].start
    t_to = max(liq.time, marks[-1].last)
    mark_cols = _carried(slices(marks, t_from, t_to, plot_w))
    liq_cols = _carried(slices(liqs, t_from, t_to, plot_w)) if liqs else [None] * plot_w
    ratio_cols = _carried(slices(picture.ratios, t_from, t_to, plot_w))

    chars = [[" "] * plot_w for _ in range(npr)]
    roles = [[""] * plot_w for _ in range(npr)]
    if entry_in:
        r = row(entry)
        for x in range(plot_w):
            chars[r][x], roles[r][x] = "─", "entry"
    for x, c in enumerate(liq_cols):
        if c is not None:
            r = row(c.close)
            chars[r][x], roles[r][x] = "═", "liq"
    for x, c in enumerate(mark_cols):
        if c is None:
            continue
        for r in range(row(c.high), row(c.low) + 1):
            chars[r][x], roles[r][x] = "┃", "mark"
    last_x = max((x for x, c in enumerate(mark_cols) if c is not None), default=plot_w - 1)
    chars[row(liq.mark_price)][last_x], roles[row(liq.mark_price)][last_x] = "✕", "liq"

    axis: dict[int, tuple[str, str]] = {}
    named = {fmt_price(liq.mark_price, ref), fmt_price(entry, ref)}
    if liqs:
        named.add(fmt_price(liqs[-1].close, ref))
        _place(axis, row(liqs[-1].close), "Liq " + fmt_price(liqs[-1].close, ref), "liq", npr)
    if entry_in:
        _place(axis, row(entry), "Entry " + fmt_price(entry, ref), "entry", npr)
    else:
        arrow = "↑" if entry > top else "↓"
        _place(
            axis,
            0 if entry > top else npr - 1,
            f"{arrow} Entry {fmt_price(entry, ref)}",
            "entry",
            npr,
        )
    _place(axis, row(liq.mark_price), fmt_price(liq.mark_price, ref), "mark", npr)
    for value, want in ((hi, 0), (lo, npr - 1)):  # the range, unless a level says it
        if fmt_price(value, ref) not in named:
            _place(axis, want, fmt_price(value, ref), "axis", npr)
    rows = [_fit(header, width)]
    rows += [_fit(r, width) for r in _grid_rows(chars, roles, axis, aw)]
    peak = fmt_pct(picture.peak_ratio, decimals=0)
    label = f"{picture.ratio_name.capitalize()} margin ratio, up to {peak}"
    rule = "─" * max(0, width - len(label) - 1)  # the label ends under the axis
    rows.append(_fit([(rule, "axis"), (" " + label, "axis")], width))

    rchars = [[" "] * plot_w for _ in range(nr)]
    rroles = [[""] * plot_w for _ in range(nr)]
    for x, c in enumerate(ratio_cols):
        if c is None:
            continue
        role = "danger" if c.high >= 0.8 else "warn" if c.high >= 0.5 else "ratio"
        for r, cell in enumerate(bar_cells(c.high, nr)):
            if cell != " ":
                rchars[r][x], rroles[r][x] = cell, role
    raxis: dict[int, tuple[str, str]] = {}
    _place(raxis, 0, "100%", "danger", nr)
    _place(raxis, nr - 1, "0%", "axis", nr)
    rows += [_fit(r, width) for r in _grid_rows(rchars, rroles, raxis, aw)]
    rows.append(_fit([_time_row(t_from, t_to, plot_w, time_label)], width))
    return rows[:height]


# --------------------------------------------------------------------------- widgets


class _Picture(Widget):
    """Rows of runs drawn with the roles' styles; a frame built once per data and size."""

    ROLES: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        time_label: Callable[[float], str] = clock_label,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._time_label = time_label
        self._frame: list[Strip] | None = None
        self._frame_size = (0, 0)

    def _rows(self, width: int, height: int) -> list[list[Run]]:
        raise NotImplementedError

    def _redraw(self) -> None:
        self._frame = None
        self.refresh()

    _styles: dict[str, Style] | None = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._frame = None
        self._styles = None

    def _styles_by_role(self) -> dict[str, Style]:
        """Each role's style, worked out once per style change."""
        if self._styles is None:
            base = self.rich_style
            styles: dict[str, Style] = {"": base}
            prefix = f"{self.ROLES[0].split('--')[0]}--" if self.ROLES else ""
            for cls in self.ROLES:
                styles[cls.removeprefix(prefix)] = base + self.get_component_rich_style(
                    cls, partial=True
                )
            self._styles = styles
        return self._styles

    def _build(self) -> list[Strip]:
        width, height = self.size
        styles = self._styles_by_role()
        base = styles[""]
        return [
            Strip([Segment(text, styles.get(role, base)) for text, role in runs], width)
            for runs in self._rows(width, height)
        ]

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._frame is None or self._frame_size != size:
            self._frame = self._build()
            self._frame_size = size
        if 0 <= y < len(self._frame):
            return self._frame[y]
        return Strip.blank(self.size.width, self.rich_style)


class EquityPicture(_Picture):
    """The season's equity curve and drawdown (see the module doc)."""

    DEFAULT_CSS = """
    EquityPicture { height: 1fr; min-height: 8; }
    EquityPicture > .equity--title { color: $foreground; text-style: bold; }
    EquityPicture > .equity--axis { color: $foreground 55%; }
    EquityPicture > .equity--up { color: $success; }
    EquityPicture > .equity--down { color: $error; }
    EquityPicture > .equity--area { color: $primary; }
    EquityPicture > .equity--base { color: $foreground 55%; }
    EquityPicture > .equity--dd { color: $text-error; }
    """

    ROLES: ClassVar[tuple[str, ...]] = (
        "equity--title",
        "equity--axis",
        "equity--up",
        "equity--down",
        "equity--area",
        "equity--base",
        "equity--dd",
    )
    COMPONENT_CLASSES: ClassVar[set[str]] = set(ROLES)

    _curve: EquityCurve | None = None
    _title = "Equity"

    def show(self, curve: EquityCurve, title: str = "Equity") -> None:
        """Draw ``curve`` (fold more records into it, then call again to redraw)."""
        self._curve, self._title = curve, title
        self._redraw()

    def _rows(self, width: int, height: int) -> list[list[Run]]:
        if self._curve is None:
            return _message_rows(width, height, [(safe_text(self._title), "title")], "…")
        return equity_layout(
            width, height, self._curve, title=self._title, time_label=self._time_label
        )


class PostMortemPicture(_Picture):
    """One liquidation's path (see the module doc)."""

    DEFAULT_CSS = """
    PostMortemPicture { height: 1fr; min-height: 9; }
    PostMortemPicture > .postmortem--title { color: $foreground; text-style: bold; }
    PostMortemPicture > .postmortem--axis { color: $foreground 55%; }
    PostMortemPicture > .postmortem--mark { color: $foreground; }
    PostMortemPicture > .postmortem--liq { color: $text-error; text-style: bold; }
    PostMortemPicture > .postmortem--entry { color: $text-primary; }
    PostMortemPicture > .postmortem--ratio { color: $text-primary; }
    PostMortemPicture > .postmortem--warn { color: $text-warning; }
    PostMortemPicture > .postmortem--danger { color: $text-error; }
    """

    ROLES: ClassVar[tuple[str, ...]] = (
        "postmortem--title",
        "postmortem--axis",
        "postmortem--mark",
        "postmortem--liq",
        "postmortem--entry",
        "postmortem--ratio",
        "postmortem--warn",
        "postmortem--danger",
    )
    COMPONENT_CLASSES: ClassVar[set[str]] = set(ROLES)

    _picture: LiquidationPicture | None = None

    @property
    def picture(self) -> LiquidationPicture | None:
        return self._picture

    def show(self, picture: LiquidationPicture | None) -> None:
        """Draw ``picture`` (``None``: say there is none for this liquidation)."""
        self._picture = picture
        self._redraw()

    def _rows(self, width: int, height: int) -> list[list[Run]]:
        if self._picture is None:
            return _message_rows(
                width,
                height,
                [("Liquidation", "title")],
                "No picture: its prices were not seen in this session",
            )
        return postmortem_layout(width, height, self._picture, time_label=self._time_label)
