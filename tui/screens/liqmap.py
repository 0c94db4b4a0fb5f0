"""The liquidation map (`m`): where every position dies, on one axis per market.

Each position's mark sits in the middle of its market's axis and its liquidation price is
marked ``✕`` at its distance, on one scale for every market so the nearest stands out; ``┊``
marks one and two daily standard deviations of that market's recent moves, and the line says
how far that is in % and in sigmas ("1.3 sigma away"). Then, for cross positions, how each
one's liquidation price moves when another cross market rises 1 %; then each position's
funding (the next payment, 24 h at today's rate, the liquidation price after it). Every figure
is the engine's (:func:`tui.risk.liquidation_map`, :func:`tui.risk.funding_outlook`, through
the session); the screen follows the heartbeat at most once a second.
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header

from tui.engine import MarginMode, Side
from tui.format import fmt_pct, fmt_price
from tui.risk import MapEntry
from tui.screens.base import DeskScreen
from tui.session import Beat
from tui.widgets.market_pane import funding_line
from tui.widgets.plain import Plain
from tui.widgets.safe_rich import safe_rich
from tui.widgets.styles import NumberStyles

RECOMPUTE_EVERY = 1.0
"""Seconds between two maps while prices move (each cross link bumps a copy of the engine)."""

Run = tuple[str, str]


FAR = 0.5
"""A liquidation further than this (50 %) does not widen the axes: it is shown at the edge."""


def axis_scale(entries: list[MapEntry]) -> float:
    """The half-width of every axis, as a fraction of the mark: a quarter beyond the farthest
    liquidation within :data:`FAR`, at least 2 %."""
    near = [
        e.distance
        for e in entries
        if e.distance is not None and math.isfinite(e.distance) and e.distance <= FAR
    ]
    return max(0.02, max(near, default=0.0) * 1.25)


def axis(entry: MapEntry, width: int, scale: float) -> list[Run]:
    """One market's axis, ``width`` cells: the mark ``●`` in the middle, prices rising to the
    right; the liquidation price ``✕`` and the stretch between it and the mark (``━``, role
    ``danger``); one and two daily sigmas ``┊`` each side."""
    width = max(width, 11)
    half = (width - 1) // 2
    cells = ["─"] * width
    roles = ["axis"] * width

    def at(move: float) -> int | None:
        if not math.isfinite(move) or abs(move) > scale * (1 + 1e-9):
            return None
        return half + round(move / scale * half)

    sigma = entry.daily_sigma
    if sigma is not None and sigma > 0:
        for k in (-2, -1, 1, 2):
            spot = at(k * sigma)
            if spot is not None:
                cells[spot], roles[spot] = "┊", "sigma"
    liq = entry.liquidation_price
    if liq is not None and entry.mark > 0:
        move = liq / entry.mark - 1
        spot = at(move)
        end = spot if spot is not None else (0 if move < 0 else width - 1)
        lo, hi = sorted((end, half))
        for x in range(lo, hi + 1):
            if cells[x] == "─":
                cells[x], roles[x] = "━", "danger"
        if spot is not None:
            cells[spot], roles[spot] = "✕", "liq"
        else:
            cells[end], roles[end] = ("◂" if move < 0 else "▸"), "liq"
    cells[half], roles[half] = "●", "mark"
    runs: list[Run] = []
    start = 0
    for x in range(1, width + 1):
        if x == width or roles[x] != roles[start]:
            runs.append(("".join(cells[start:x]), roles[start]))
            start = x
    return runs


def distance_words(entry: MapEntry) -> str:
    """``8.86 % away · 1.3 sigma (daily sigma 6.8 %)``; what is known of it otherwise."""
    if entry.liquidation_price is None or entry.distance is None:
        return "no liquidation price (the margin covers any move)"
    words = f"{fmt_pct(entry.distance)} away"
    if entry.sigmas is not None and entry.daily_sigma is not None:
        words += (
            f" · {entry.sigmas:.1f} sigma (daily sigma {fmt_pct(entry.daily_sigma, decimals=1)})"
        )
    else:
        words += " · sigma after 10 minutes of prices"
    return words


def _label(market: str, mode: MarginMode, side: Side) -> str:
    return f"{market} {'iso' if mode is MarginMode.ISOLATED else 'cross'} {side.value}"


class LiquidationMapScreen(DeskScreen[None]):
    """Every position's liquidation price, how far, how cross ones move together, funding."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,m", "close", "Back", id="liqmap.close"),
    ]

    DEFAULT_CSS = """
    LiquidationMapScreen #map { height: 1fr; padding: 0 1; }
    LiquidationMapScreen .map-part { height: auto; margin: 0 0 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._computed_at: float | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with VerticalScroll(id="map"):
            yield Plain("", id="map-axes", classes="map-part")
            yield Plain("", id="map-links", classes="map-part")
            yield Plain("", id="map-funding", classes="map-part")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Liquidation map"
        self.recompute()
        self.follow_heartbeat(self.show_beat)

    def show_beat(self, beat: Beat) -> None:
        now = self.session.monotonic()
        due = self._computed_at is None or not 0 <= now - self._computed_at < RECOMPUTE_EVERY
        if beat.dirty and due:
            self.recompute()

    def on_resize(self) -> None:
        self.recompute()

    def recompute(self) -> None:
        self._computed_at = self.session.monotonic()
        entries = self.session.liquidation_map()
        styles = self.number_styles()
        width = max(20, self.size.width - 4)
        self.query_one("#map-axes", Plain).update(safe_rich(self._axes(entries, width, styles)))
        self.query_one("#map-links", Plain).update(safe_rich(self._links(entries)))
        self.query_one("#map-funding", Plain).update(safe_rich(self._funding(entries)))

    def _axes(self, entries: list[MapEntry], width: int, styles: NumberStyles) -> Text:
        text = Text()
        if not entries:
            text.append("No open positions: nothing can be liquidated.", style="bold")
            return text
        scale = axis_scale(entries)
        text.append("Where each position is liquidated", style="bold")
        text.append(
            f"  ● mark  ✕ liquidation  ┊ 1 and 2 daily sigmas; axes ±{fmt_pct(scale, decimals=1)}",
            style="dim",
        )
        role_style = {
            "axis": "dim",
            "sigma": "bold",
            "mark": "bold",
            "danger": styles["warning"],
            "liq": "bold " + styles["error"],
        }
        for e in entries:
            near = e.distance is not None and e.distance < 0.05
            text.append("\n\n")
            text.append(_label(e.market, e.mode, e.side), style="bold")
            text.append(
                f"  mark {fmt_price(e.mark)}  liq {fmt_price(e.liquidation_price, e.mark)}  "
            )
            text.append(distance_words(e), style=styles["error"] if near else "")
            text.append("\n")
            for chunk, role in axis(e, width, scale):
                text.append(chunk, style=role_style.get(role, ""))
            text.append("\n")
            left = fmt_price(e.mark * (1 - scale), e.mark)
            right = fmt_price(e.mark * (1 + scale), e.mark)
            text.append(left + " " * max(1, width - len(left) - len(right)) + right, style="dim")
        return text

    def _links(self, entries: list[MapEntry]) -> Text:
        text = Text()
        linked = [e for e in entries if e.links]
        if not linked:
            cross = [e for e in entries if e.mode is MarginMode.CROSS]
            if len(cross) == 1:
                text.append(
                    "One cross position: its liquidation price moves only with its own market "
                    "(and funding).",
                    style="dim",
                )
            return text
        text.append("Cross positions move each other's liquidation prices", style="bold")
        text.append("  (when one market rises 1 %)", style="dim")
        for e in linked:
            for link in e.links:
                text.append("\n")
                text.append(f"{link.market} +1 %: ", style="bold")
                text.append(_label(e.market, e.mode, e.side) + " liquidation ")
                if e.liquidation_price is None:
                    text.append("none before or after (the margin covers any move)")
                elif link.change is None or link.change_pct is None:
                    text.append("gone: that move would set off a liquidation")
                else:
                    sign = "+" if link.change >= 0 else "-"
                    text.append(
                        f"{sign}{fmt_price(abs(link.change), e.mark)} "
                        f"({fmt_pct(link.change_pct, signed=True, decimals=2)} of its mark)"
                    )
        return text

    def _funding(self, entries: list[MapEntry]) -> Text:
        text = Text()
        if not entries:
            return text
        text.append("Funding", style="bold")
        text.append(
            "  (next payment, and holding 24 h at today's rates, every position paying)",
            style="dim",
        )
        outlooks = self.session.funding_outlooks()
        for e in entries:
            text.append("\n")
            text.append(_label(e.market, e.mode, e.side) + ": ", style="bold")
            text.append(funding_line(outlooks.get(e.market), e.market) or "no funding figures")
        return text

    def action_close(self) -> None:
        self.dismiss(None)
