"""The shock ladder (`w`): what moves of -30 % .. +30 % would do to the account.

One market moved (the selected one; ← → pick another), or every market with a position or an
order moved together by its beta to BTC (`a`). Each row: the move, the shocked mark, each
position's PnL (or how it ended on the way: liquidated, in what order, or closed by its own
order), equity and its change, the cross margin ratio, and what happened between the row
before and this one. Under the table, the liquidations in the order they happen, each with its
venue outcome and what it took: an isolated position only its own margin, a cross one the
cross balance it shares (docs/risk.md, "The shock ladder"). Every figure is the engine's, on a
copy (:func:`tui.risk.shock_ladder`); the screen only lays them out, and follows the heartbeat
at most once a second.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header

from tui.engine import MarginMode, Side
from tui.format import DASH, fmt_money, fmt_pct, fmt_price, fmt_size
from tui.risk import LadderFill, LadderLiquidation, LadderPosition, LadderRow, ShockLadder
from tui.safe import safe_text
from tui.screens.base import DeskScreen
from tui.session import Beat
from tui.widgets.live_table import Cell, Column, LiveTable
from tui.widgets.plain import Plain
from tui.widgets.safe_rich import safe_rich
from tui.widgets.styles import NumberStyles

RECOMPUTE_EVERY = 1.0
"""Seconds between two ladders while prices move (each walks the account on two copies)."""

NARROW = 100
"""Below this many columns the table leaves out the shocked mark and the equity change."""

OUTCOMES = {
    "forfeit": "margin forfeited (Binance)",
    "market": "closed at market, the rest returned",
    "partial": "20 % slice closed, the rest stays open",
    "backstop": "backstop: position and margin taken",
}
"""Each venue outcome of a liquidation, in words (docs/risk.md)."""


def _move(move: float, decimals: int = 0) -> str:
    """``-0.05`` -> ``-5 %`` (a ladder step); with ``decimals`` where on the way it happened."""
    if move == 0:
        return "0 %"
    return f"{move * 100:+.{decimals}f} %"


def _short(mode: MarginMode, side: Side) -> str:
    return f"{'iso' if mode is MarginMode.ISOLATED else 'cross'} {side.value[0].upper()}"


def position_cell(p: LadderPosition, order: dict[str, int], styles: NumberStyles) -> Cell:
    """A position at one row: its PnL while open (``*`` once sliced), else how it ended."""
    if p.liquidated:
        return (f"LIQ #{order.get(p.market, 0)}", styles["error"])
    if p.closed:
        return (f"closed {fmt_money(p.pnl, signed=True)}", styles["warning"])
    text = fmt_money(p.pnl, signed=True) + ("*" if p.sliced else "")
    return (text, styles["up"] if p.pnl >= 0 else styles["down"])


def liquidation_line(lq: LadderLiquidation, together: list[str]) -> str:
    """One liquidation of the ladder in words: where, what, the venue's outcome, what it took.
    ``together``: the other markets of the same cross liquidation."""
    head = (
        f"#{lq.order} at {_move(lq.move, 1)}: {lq.market} {lq.mode.label} {lq.side.value} "
        f"{fmt_size(lq.size, lq.mark)} at {fmt_price(lq.mark)}"
    )
    outcome = OUTCOMES.get(lq.outcome, lq.outcome)
    if lq.partial:
        outcome += f" ({fmt_size(lq.remaining_size, lq.mark)} left)"
    took = f"lost {fmt_money(lq.margin_lost)}"
    if lq.returned > 0:
        took += f", {fmt_money(lq.returned)} returned"
    if lq.mode is MarginMode.ISOLATED:
        whose = "only its own margin"
    elif together:
        whose = f"the shared cross balance, with {', '.join(together)}"
    else:
        whose = "the shared cross balance"
    return f"{head} · {outcome} · {took} ({whose})"


def liquidations_text(ladder: ShockLadder) -> str:
    """The liquidations in order, falls then rises, and what isolated and cross mean here."""
    lines: list[str] = []
    for label, sign in (("If prices fall", -1), ("If prices rise", 1)):
        found = [lq for lq in ladder.liquidations if lq.move * sign > 0]
        if not found:
            lines.append(f"{label}: no liquidation within {sign * 30:+d} %.")
            continue
        lines.append(f"{label}, liquidations in order:")
        for lq in found:
            together = [
                o.market
                for o in found
                if o.group == lq.group and o is not lq and o.mode is MarginMode.CROSS
            ]
            lines.append("  " + liquidation_line(lq, together))
    lines.append(
        "Isolated: a liquidation takes only that position's margin. Cross: positions share "
        "the cross balance, so one market's move can take them together."
    )
    return "\n".join(lines)


def row_events(row: LadderRow) -> str:
    """What happened between the row before and this one: liquidations, then order fills."""
    parts = [
        f"#{lq.order} {lq.market} {'slice' if lq.partial else 'liq'}" for lq in row.liquidations
    ]
    parts += [_fill_word(f) for f in row.fills]
    return ", ".join(parts)


def _fill_word(f: LadderFill) -> str:
    kind = {"tp": "TP", "sl": "SL"}.get(f.tpsl or "", "order")
    return f"{f.market} {kind} filled"


class ShockLadderScreen(DeskScreen[None]):
    """The shock ladder of one market, or of every market by its beta (see the module doc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,w", "close", "Back", id="ladder.close"),
        Binding("a", "every_market", "One/every market", id="ladder.every"),
        Binding("left,comma", "market(-1)", "Prev market", id="ladder.prev"),
        Binding("right,full_stop", "market(1)", "Next market", id="ladder.next"),
    ]

    DEFAULT_CSS = """
    ShockLadderScreen #ladder-title { height: auto; padding: 0 1; }
    ShockLadderScreen #ladder-box { height: 1fr; }
    ShockLadderScreen LiveTable { height: 1fr; }
    ShockLadderScreen #ladder-notes { height: auto; max-height: 40%; padding: 0 1;
        border-top: solid $panel-lighten-2; }
    """

    def __init__(self, market: str | None) -> None:
        super().__init__()
        self.market = market
        """The market shocked, or ``None`` for every market by its beta."""
        self._picked = market
        self._ladder: ShockLadder | str | None = None
        self._computed_at: float | None = None
        self._columns: tuple[str, ...] = ()
        self._keys: list[str] = []
        self._live: LiveTable | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Plain("", id="ladder-title")
        yield VerticalScroll(id="ladder-box")
        with VerticalScroll(id="ladder-notes"):
            yield Plain("", id="ladder-text")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Shock ladder"
        engine = self.session.engine
        if (
            self.market is not None
            and engine.position(self.market) is None
            and not engine.open_orders(self.market)
            and (engine.positions() or engine.open_orders())
        ):
            # nothing the trader holds is in the selected market: shocking it alone would
            # move nothing, so every market moves by its beta (`a` goes back to it)
            self.market = None
        self.recompute()
        self.follow_heartbeat(self.show_beat)

    def show_beat(self, beat: Beat) -> None:
        now = self.session.monotonic()
        due = self._computed_at is None or not 0 <= now - self._computed_at < RECOMPUTE_EVERY
        if beat.dirty and due:
            self.recompute()

    # ------------------------------------------------------------------ figures

    def markets(self) -> list[str]:
        """The markets ← → step through: those with a position or an order, and the one the
        screen was opened on."""
        engine = self.session.engine
        names = [p.market for p in engine.positions()]
        names += [o.market for o in engine.open_orders() if o.market not in names]
        if self._picked is not None and self._picked not in names:
            names.insert(0, self._picked)
        return names

    def recompute(self) -> None:
        self._computed_at = self.session.monotonic()
        self._ladder = self.session.shock(self.market)
        self.show_ladder()

    def show_ladder(self) -> None:
        ladder = self._ladder
        title = self.query_one("#ladder-title", Plain)
        notes = self.query_one("#ladder-text", Plain)
        if not isinstance(ladder, ShockLadder):
            title.update(Text(safe_text(str(ladder or "")), style="bold"))
            notes.update("a: every market together by beta · ← →: another market · Esc: back")
            self._sync_table([], {})
            return
        title.update(safe_rich(self._title(ladder)))
        notes.update(safe_text(liquidations_text(ladder), multiline=True))
        columns, rows = self._rows(ladder)
        self._sync_table(columns, rows)

    def _title(self, ladder: ShockLadder) -> Text:
        text = Text()
        if ladder.market is not None:
            text.append(f"{ladder.market} moves -30 % .. +30 %", style="bold")
            text.append(" alone, from its mark now; every other price stays.", style="dim")
        else:
            text.append("Every market moves together", style="bold")
            text.append(", each by its beta to BTC times the move: ", style="dim")
            estimates = self.session.betas()
            text.append(
                ", ".join(
                    f"{m} {b:.2f}"
                    + ("" if m not in estimates or estimates[m].estimated else " (assumed)")
                    for m, b in ladder.betas.items()
                )
            )
        text.append(f"\nEquity now {fmt_money(ladder.equity_now)}. ", style="dim")
        text.append("a: one/every market · ← →: another market · Esc: back", style="dim")
        return text

    def _rows(self, ladder: ShockLadder) -> tuple[list[Column], dict[str, list[Cell]]]:
        styles = self.number_styles()
        zero = ladder.row(0.0)
        names = [p.market for p in zero.positions]
        columns: list[Column] = [("move", "Move", 6, "right")]
        if ladder.market is not None:
            columns.append(("mark", f"{ladder.market} mark", 12, "right"))
        for p in zero.positions:
            label = safe_text(f"{p.market} {_short(p.mode, p.side)}")
            columns.append((f"p-{p.market}", label, 12, "right"))
        columns += [
            ("equity", "Equity", 11, "right"),
            ("change", "Change", 10, "right"),
            ("ratio", "Cross MR", 8, "right"),
            ("events", "On the way", 28, "left"),
        ]
        orders: dict[int, dict[str, int]] = {-1: {}, 1: {}}  # by direction: market -> number
        for lq in ladder.liquidations:
            if lq.remaining_size <= 0:
                orders[1 if lq.move > 0 else -1][lq.market] = lq.order
        rows: dict[str, list[Cell]] = {}
        for row in ladder.rows:
            order = orders[1 if row.move > 0 else -1]
            by_market = {p.market: p for p in row.positions}
            cells: list[Cell] = [(_move(row.move), "bold") if row.move == 0 else _move(row.move)]
            if ladder.market is not None:
                cells.append(fmt_price(row.marks.get(ladder.market)))
            for name in names:
                pos = by_market.get(name)
                cells.append(position_cell(pos, order, styles) if pos is not None else DASH)
            change = row.equity_change
            ratio = row.margin_ratio
            ratio_style = (
                styles["error"] if ratio >= 0.8 else styles["warning"] if ratio >= 0.5 else ""
            )
            cells += [
                fmt_money(row.equity),
                (fmt_money(change, signed=True), styles["up"] if change >= 0 else styles["down"]),
                (fmt_pct(ratio, decimals=1), ratio_style)
                if ratio_style
                else fmt_pct(ratio, decimals=1),
                (safe_text(row_events(row)), styles["error"])
                if row.liquidations
                else safe_text(row_events(row)),
            ]
            rows[f"{row.move:+.4f}"] = cells
        return columns, rows

    def _sync_table(self, columns: list[Column], rows: dict[str, list[Cell]]) -> None:
        keys = tuple(c[0] + c[1] for c in columns)
        if keys != self._columns:  # other positions: a table with other columns
            self._columns = keys
            self._keys = [c[0] for c in columns]
            self._live = None
            self.call_next(self._replace_table, columns, rows)
        elif self._live is not None:
            self._live.sync(rows)

    async def _replace_table(self, columns: list[Column], rows: dict[str, list[Cell]]) -> None:
        box = self.query_one("#ladder-box", VerticalScroll)
        await box.remove_children()
        if not columns:
            return
        table = LiveTable(columns, id="ladder")
        await box.mount(table)
        table.sync(rows)
        self._live = table
        self._fit(table)
        key = f"{0.0:+.4f}"
        table.focus()
        if key in table.row_ids:  # the cursor on today's prices, the middle of the ladder
            index = table.get_row_index(key)
            table.move_cursor(row=index, animate=False, scroll=False)
            self.call_after_refresh(self._centre, table, index)

    def _centre(self, table: LiveTable, index: int) -> None:
        half = table.scrollable_content_region.height // 2
        table.scroll_to(y=max(0, index - half), animate=False)

    def _fit(self, table: LiveTable) -> None:
        wide = self.size.width >= NARROW
        keys = self._keys
        shown = keys if wide else [k for k in keys if k not in ("mark", "change")]
        table.show_columns(shown)

    def on_resize(self) -> None:
        if self._live is not None:
            self._fit(self._live)

    # ------------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss(None)

    def action_every_market(self) -> None:
        self.market = None if self.market is not None else (self._picked or self._first())
        self.recompute()

    def action_market(self, step: int) -> None:
        names = self.markets()
        if not names:
            self.notify("There are no positions or orders: pick a market on the main screen.")
            return
        if self.market is None or self.market not in names:
            self.market = names[0]
        else:
            self.market = names[(names.index(self.market) + step) % len(names)]
        self._picked = self.market
        self.recompute()

    def _first(self) -> str | None:
        names = self.markets()
        return names[0] if names else None
