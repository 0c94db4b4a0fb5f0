"""A tiny app holding only the season pictures (equity curve over a liquidation's post-mortem),
on a deterministic season played on the engine with a fixed clock: for the pictures' Pilot and
snapshot tests."""

from __future__ import annotations

import random
from typing import ClassVar

from textual.app import App, ComposeResult

from tests.engine.conftest import FakeClock, make_engine
from tui.engine import Event, Liquidation, MarginMode, Side
from tui.pictures import EquityCurve, LiquidationPicture, TraceBook, equity_curve
from tui.widgets.pictures import EquityPicture, PostMortemPicture


def seeded_season(seed: int = 3) -> tuple[EquityCurve, LiquidationPicture]:
    """Forty round trips of 0.1 BTC at 10x isolated on a random walk (fees on), sampled every
    30 s of the engine's clock, then 100 SOL long at 20x isolated walked down to its
    liquidation."""
    clock = FakeClock(0.0)
    eng = make_engine(fees=True, clock=clock)
    rng = random.Random(seed)
    book = TraceBook()

    def heard(event: Event) -> None:
        if isinstance(event, Liquidation):
            book.liquidated(event)

    eng.listeners.append(heard)
    price = 100_000.0
    for _ in range(40):
        clock.now += 300
        side = Side.LONG if rng.random() < 0.5 else Side.SHORT
        eng.open("BTC", side, 0.1, 10, MarginMode.ISOLATED)
        for _ in range(10):
            clock.now += 30
            price *= 1 + rng.gauss(0, 0.004)
            eng.set_mark("BTC", price)
            book.sample(clock.now, eng.account, eng.positions())
        if eng.position("BTC") is not None:
            eng.close("BTC")
    clock.now += 100
    eng.open("SOL", Side.LONG, 100, 20, MarginMode.ISOLATED)
    sol = 200.0
    while eng.position("SOL") is not None:
        clock.now += 20
        sol *= 1 + rng.gauss(-0.0004, 0.002)
        eng.set_mark("SOL", sol)
        book.sample(clock.now, eng.account, eng.positions())
    return equity_curve(eng.events, 10_000, 0.0), book.pictures[-1]


class PicturesApp(App[None]):
    """The equity picture over the post-mortem picture, fed once on mount."""

    CSS: ClassVar[str] = "EquityPicture { height: 1fr; } PostMortemPicture { height: 1fr; }"

    def __init__(self, curve: EquityCurve, picture: LiquidationPicture | None) -> None:
        super().__init__()
        self.curve = curve
        self.picture = picture

    def compose(self) -> ComposeResult:
        yield EquityPicture()
        yield PostMortemPicture()

    def on_mount(self) -> None:
        self.query_one(EquityPicture).show(self.curve, "Season 1 equity")
        self.query_one(PostMortemPicture).show(self.picture)
