"""A small depth view: the selected market's best levels each side, sizes as bars.

:func:`depth_rows` is pure (rows of ``(text, role)`` runs, tested without Textual): the asks
above, the best ask nearest the middle; one line with the spread; the bids below, the best bid
nearest the middle. Each level shows its price, its size and a bar as long as its share of the
largest size shown (eighths of a cell). As many levels as the height allows, at most
:data:`MAX_LEVELS` a side. :class:`DepthView` maps the roles to theme colours and repaints only
when the book it is given changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.engine.book import OrderBook
from tui.format import DASH, fmt_price
from tui.safe import safe_text

__all__ = ["MAX_LEVELS", "DepthView", "bar", "depth_rows", "short_size"]

MAX_LEVELS = 10
"""Levels shown each side at most."""

Run = tuple[str, str]

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(share: float, width: int) -> str:
    """A bar ``share`` (0..1) of ``width`` cells long, in eighths of a cell, padded to
    ``width``; a level with any size shows at least a sliver."""
    if width <= 0:
        return ""
    if not math.isfinite(share) or share <= 0:
        return " " * width
    eighths = max(1, round(min(share, 1.0) * width * 8))
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)[:width]


def short_size(size: float) -> str:
    """A level's size in at most 6 cells, about three significant digits: ``6.14``,
    ``0.105``, ``812``, ``12.3k``, ``4.5M``."""
    if not math.isfinite(size) or size < 0:
        return DASH
    if size >= 1e9:
        return f"{size / 1e9:.1f}G" if size < 1e11 else f"{size:.0e}"
    if size >= 1e6:
        return f"{size / 1e6:.{1 if size < 1e8 else 0}f}M"
    if size >= 1e3:
        return f"{size / 1e3:.{1 if size < 1e5 else 0}f}k"
    if size == 0:
        return "0"
    decimals = min(6, max(0, 2 - math.floor(math.log10(size))))
    return f"{size:.{decimals}f}"


def _fit(runs: list[Run], width: int) -> list[Run]:
    out: list[Run] = []
    left = width
    for text, role in runs:
        if left <= 0:
            break
        out.append((text[:left], role))
        left -= len(text[:left])
    if left > 0:
        out.append((" " * left, ""))
    return out


def _centre(text: str, width: int, role: str) -> list[Run]:
    text = text[:width]
    pad = (width - len(text)) // 2
    return _fit([(" " * pad, ""), (text, role)], width)


def depth_rows(
    width: int,
    height: int,
    book: OrderBook | None,
    *,
    title: str = "",
    message: str | None = None,
) -> list[list[Run]]:
    """The view as ``height`` rows of runs exactly ``width`` cells wide (see the module doc).
    Row 0 is ``title`` when the height leaves room for it beside every level; without a book
    (or with ``message``) the rest says why."""
    if width <= 0 or height <= 0:
        return []
    rows: list[list[Run]] = []
    if height >= 2 * MAX_LEVELS + 2:
        rows.append(_fit([(safe_text(title), "title")], width))
    body = height - len(rows)
    if message is None and book is None:
        message = "No order book"
    if message is None and book is not None and not (book.bid_prices or book.ask_prices):
        message = "The book is empty"
    n = min(MAX_LEVELS, (body - 1) // 2)
    if message is None and n < 1:
        message = "Too small"
    if message is not None or book is None:
        for i in range(body):
            rows.append(
                _centre(safe_text(message or ""), width, "muted")
                if i == (body - 1) // 2
                else [(" " * width, "")]
            )
        return rows
    asks = list(zip(book.ask_prices[:n], book.ask_sizes[:n], strict=True))
    bids = list(zip(book.bid_prices[:n], book.bid_sizes[:n], strict=True))
    ref = (book.ask_prices or book.bid_prices)[0]
    prices = [fmt_price(p, ref) for p, _ in asks + bids]
    sizes = [short_size(s) for _, s in asks + bids]
    price_w = max(len(t) for t in prices)
    size_w = max(len(t) for t in sizes)
    bar_w = max(0, width - price_w - size_w - 2)
    largest = max((s for _, s in asks + bids), default=0.0)

    def level(i: int, size: float, side: str) -> list[Run]:
        share = size / largest if largest > 0 else 0.0
        return _fit(
            [
                (prices[i].rjust(price_w), side),
                (" " + sizes[i].rjust(size_w) + " ", ""),
                (bar(share, bar_w), f"{side}-bar"),
            ],
            width,
        )

    above = (body - 1) // 2  # rows for asks; the rest below the spread line for bids
    below = body - 1 - above
    ask_rows = [level(i, s, "ask") for i, (_, s) in enumerate(asks)]
    ask_rows.reverse()  # worst at the top, best next to the spread
    rows += [[(" " * width, "")]] * (above - len(ask_rows)) + ask_rows[-above:]
    if asks and bids:
        spread = asks[0][0] - bids[0][0]
        mid = (asks[0][0] + bids[0][0]) / 2
        bps = spread / mid * 10_000 if mid > 0 else math.nan
        line = f"spread {fmt_price(spread, ref)} · {bps:.1f} bp"
    else:
        line = "no asks" if not asks else "no bids"
    rows.append(_centre(line, width, "muted"))
    bid_rows = [level(len(asks) + i, s, "bid") for i, (_, s) in enumerate(bids)][:below]
    rows += bid_rows + [[(" " * width, "")]] * (below - len(bid_rows))
    return rows


class DepthView(Widget):
    """The best levels of one market's book (see the module doc). Call :meth:`show` from the
    heartbeat; an unchanged book costs nothing."""

    DEFAULT_CSS = """
    DepthView { width: 24; height: 1fr; }
    DepthView > .depth--title { text-style: bold; }
    DepthView > .depth--muted { color: $foreground 55%; }
    DepthView > .depth--ask { color: $text-error; }
    DepthView > .depth--bid { color: $text-success; }
    DepthView > .depth--ask-bar { color: $error 60%; }
    DepthView > .depth--bid-bar { color: $success 60%; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "depth--title",
        "depth--muted",
        "depth--ask",
        "depth--bid",
        "depth--ask-bar",
        "depth--bid-bar",
    }

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._data: tuple[str, OrderBook | None, str | None] = ("", None, "")
        self._frame: list[Strip] | None = None
        self._frame_size = (0, 0)

    def show(self, title: str, book: OrderBook | None, message: str | None = None) -> None:
        """Show ``book`` under ``title`` (``message`` instead of levels, e.g. no market)."""
        data = (title, book, message)
        if data == self._data:
            return
        self._data = data
        self._frame = None
        self.refresh()

    @property
    def showing(self) -> tuple[str, OrderBook | None, str | None]:
        """What the view was last given: ``(title, book, message)``."""
        return self._data

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._frame = None

    def _build(self) -> list[Strip]:
        width, height = self.size
        title, book, message = self._data
        rows = depth_rows(width, height, book, title=title, message=message)
        base = self.rich_style
        styles: dict[str, Style] = {"": base}
        for cls in self.COMPONENT_CLASSES:
            styles[cls.removeprefix("depth--")] = base + self.get_component_rich_style(
                cls, partial=True
            )
        return [Strip(_segments(runs, styles, base), width) for runs in rows]

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._frame is None or self._frame_size != size:
            self._frame = self._build()
            self._frame_size = size
        if 0 <= y < len(self._frame):
            return self._frame[y]
        return Strip.blank(self.size.width, self.rich_style)


def _segments(runs: Sequence[Run], styles: dict[str, Style], plain: Style) -> list[Segment]:
    return [Segment(text, styles.get(role, plain)) for text, role in runs]
