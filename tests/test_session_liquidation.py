"""Liquidations as the session sees them, without Pilot: books and marks arrive through the
session's feed sink (``on_book``, ``on_mark``), the session's settings set how far a liquidation
may walk the book, and each venue's outcome reaches the event log with its figures: what closed
and how, what went back to the trader, what stayed open, what the backstop or a forfeit took.

Hand-worked, fees 0, BTC one tier at 40x (maintenance 1.25 %), no size step (docs/rules.md,
"What a liquidation takes", examples 1, 3 and 7)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.engine import Liquidation, MarginMode, Market, PaperEngine, Side, Venue
from tui.market import ScenarioSource
from tui.session import Session
from tui.settings import Settings

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
NOON = 1_795_521_600.0  # 2026-11-24 12:00:00 UTC


def desk(
    venue: Venue = Venue.HYPERLIQUID, balance: float = 10_000, settings: Settings | None = None
) -> Session:
    """A session on one fee-free BTC market (40x, one tier) under ``venue``, BTC at 100,000."""
    engine = PaperEngine(
        balance=balance,
        markets=[Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0)],
        venue=venue,
        clock=lambda: NOON,
    )
    session = Session(settings, engine=engine, wall_clock=lambda: NOON)
    session.on_mark("BTC", 100_000)
    return session


def bids(session: Session, *levels: tuple[float, float]) -> None:
    """A book from the feed with these bids and no asks (a long's liquidation sells)."""
    session.on_book("BTC", list(levels), [], NOON)


def lines(session: Session) -> list[str]:
    """The event-log lines of the liquidations since the last call."""
    session.drain()
    said = [line.text for line in session.log if line.text.startswith("LIQUIDATED")]
    session.log.clear()
    return said


def toasts(session: Session) -> list[str]:
    """The liquidations told in toasts since the last call (the short form of each line; the
    liquidations of one heartbeat share one toast, "2 liquidations", a line each)."""
    return [
        line
        for t in session.take_toasts()
        if t.title == "Liquidation" or t.title.endswith(" liquidations")
        for line in t.message.split("\n")
    ]


def liquidations(session: Session) -> list[Liquidation]:
    return list(session.engine.liquidations)


def test_hyperliquid_closes_through_the_feeds_book_and_says_what_went_back() -> None:
    # Example 7: long 0.1 at 100,000, 10x Isolated (margin 1,000); the mark falls to 91,100:
    # equity 110, so sell 0.1 no lower than 90,000: 0.05 at 91,090 and 0.05 at 91,080, 91,085
    # on average. Realized -891.50; 108.50 goes back (110 less the 1.50 the book cost).
    session = desk()
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    lines(session)
    bids(session, (91_090, 0.05), (91_080, 0.05))
    session.on_mark("BTC", 91_100)
    assert lines(session) == [
        "LIQUIDATED LONG 0.1 BTC (Isolated) at 91,100.0 · lost 891.50 · Hyperliquid closed it "
        "at market, through the book at 91,085.0 (1.50 worse than the mark): PnL -891.50; "
        "108.50 of its 1,000.00 margin went back to your wallet"
    ]
    assert session.engine.account.wallet_balance == pytest.approx(9_108.5)
    [toast] = session.take_toasts()
    assert (toast.title, toast.message) == (
        "Liquidation",
        "LIQUIDATED BTC long 0.1 (Isolated) at 91,100.0, closed at market: lost 891.50, 108.50 "
        "back to your wallet.",
    )


def test_the_sessions_slippage_limit_bounds_the_liquidation_order() -> None:
    # [market] slippage_limit = 0.0002: the order may sell no lower than 91,100 * 0.9998 =
    # 91,081.78, so only the 0.05 at 91,090 fills: realized 0.05 * -8,910 = -445.50, margin
    # 554.50. The 0.05 left: equity 554.50 - 445 = 109.50 above maintenance 56.94: it stays.
    settings = Settings()
    settings = replace(settings, market=replace(settings.market, slippage_limit=0.0002))
    session = desk(settings=settings)
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    lines(session)
    bids(session, (91_090, 0.05), (91_080, 0.05))
    session.on_mark("BTC", 91_100)
    assert lines(session) == [
        "LIQUIDATED LONG 0.05 of 0.1 BTC (Isolated) at 91,100.0 · lost 445.50 · Hyperliquid "
        "sent a market order for the whole position; the book took 0.05 at 91,090.0 (0.50 "
        "worse than the mark): PnL -445.50; 0.05 BTC stays open with its margin, tried again "
        "on the next mark or book while below maintenance"
    ]
    pos = session.engine.position("BTC")
    assert pos is not None and pos.size == pytest.approx(0.05)
    assert pos.margin == pytest.approx(554.5)


def test_what_the_book_cannot_take_waits_for_the_feeds_next_book() -> None:
    # Long 1 at 100,000, 10x Isolated (margin 10,000); only 0.05 bid at 90,990 with the mark at
    # 91,000: 0.05 closes (realized -450.50); the 0.95 wait (equity 999.50, above two thirds of
    # maintenance 720.42). The feed's next book, 2 bid at 90,980, closes them: realized -8,569,
    # and 980.50 goes back.
    session = desk(balance=20_000)
    session.engine.open("BTC", LONG, 1, 10, ISO)
    lines(session)
    bids(session, (90_990, 0.05))
    session.on_mark("BTC", 91_000)
    session.on_mark("BTC", 91_000)  # the same book: nothing more to take from it
    assert lines(session) == [
        "LIQUIDATED LONG 0.05 of 1 BTC (Isolated) at 91,000.0 · lost 450.50 · Hyperliquid "
        "sent a market order for the whole position; the book took 0.05 at 90,990.0 (0.50 "
        "worse than the mark): PnL -450.50; 0.95 BTC stays open with its margin, tried again "
        "on the next mark or book while below maintenance"
    ]
    assert toasts(session) == [
        "LIQUIDATED BTC long 0.05 of 1 (Isolated) at 91,000.0, all the book took: lost 450.50; "
        "0.95 stays open, waiting."
    ]
    bids(session, (90_980, 2.0))
    assert lines(session) == [
        "LIQUIDATED LONG 0.95 BTC (Isolated) at 91,000.0 · lost 8,569.00 · Hyperliquid closed "
        "it at market, through the book at 90,980.0 (19.00 worse than the mark): PnL "
        "-8,569.00; 980.50 of its 9,549.50 margin went back to your wallet"
    ]
    assert session.engine.account.wallet_balance == pytest.approx(10_980.5)


def test_the_backstop_takes_what_the_book_leaves_and_the_log_says_so() -> None:
    # At 90,700 with only 0.01 bid at 90,690: 0.01 closes (realized -93.10, margin 9,906.90);
    # equity 699.90 is below two thirds of maintenance 1,122.41 (748.28): the backstop takes
    # the 0.99 and its 9,906.90 of margin.
    session = desk(balance=20_000)
    session.engine.open("BTC", LONG, 1, 10, ISO)
    lines(session)
    bids(session, (90_690, 0.01))
    session.on_mark("BTC", 90_700)
    first, second = lines(session)
    assert first.startswith("LIQUIDATED LONG 0.01 of 1 BTC (Isolated) at 90,700.0 · lost 93.10")
    assert second == (
        "LIQUIDATED LONG 0.99 BTC (Isolated) at 90,700.0 · lost 9,906.90 · equity was below two "
        "thirds of maintenance: Hyperliquid's backstop took the position and all 9,906.90 of "
        "its margin"
    )
    assert toasts(session)[1] == (
        "LIQUIDATED BTC long 0.99 (Isolated) at 90,700.0, taken by the backstop: lost 9,906.90."
    )
    assert [e.outcome for e in liquidations(session)] == ["market", "backstop"]
    assert session.engine.account.wallet_balance == pytest.approx(10_000)


def test_a_large_position_is_sliced_at_the_mark_without_a_book() -> None:
    # Long 2 at 100,000, 10x Isolated (margin 20,000): at 91,100, equity 2,200 <= maintenance
    # 2,277.50 and above two thirds (1,518.33). 182,200 of notional is above 100,000: a 20 %
    # slice of 0.4 closes at the mark, realized -3,560, margin 16,440; the 1.6 left have equity
    # 2,200 against maintenance 1,822: back above it.
    session = desk(balance=30_000)
    session.engine.open("BTC", LONG, 2, 10, ISO)
    lines(session)
    session.on_mark("BTC", 91_100)
    assert lines(session) == [
        "LIQUIDATED LONG 0.4 of 2 BTC (Isolated) at 91,100.0 · lost 3,560.00 · Hyperliquid "
        "closed a 20% slice at market, at the mark: PnL -3,560.00; 1.6 BTC stays open with its "
        "margin (for 30 s any further liquidation takes the whole position)"
    ]
    assert toasts(session) == [
        "LIQUIDATED BTC long 0.4 of 2 (Isolated) at 91,100.0, a 20% slice: lost 3,560.00; 1.6 "
        "stays open."
    ]


def test_hyperliquid_cross_through_the_book_keeps_what_is_left() -> None:
    # Long 0.5 at 100,000, 10x Cross (liquidation 81,012.66). At 81,000, V = 500 <= R = 506.25:
    # sell 0.5 no lower than 80,000: 0.3 at 80,990 and 0.2 at 80,980 (80,986): realized
    # -9,507, W = 493.
    session = desk()
    session.engine.open("BTC", LONG, 0.5, 10, CROSS)
    lines(session)
    bids(session, (80_990, 0.3), (80_980, 0.3))
    session.on_mark("BTC", 81_000)
    assert lines(session) == [
        "LIQUIDATED LONG 0.5 BTC (Cross) at 81,000.0 · lost 9,507.00 · Hyperliquid closed it "
        "at market, through the book at 80,986.0 (7.00 worse than the mark): PnL -9,507.00; "
        "the cross account keeps what is left, 493.00 of it for this position"
    ]
    assert toasts(session) == [
        "LIQUIDATED BTC long 0.5 (Cross) at 81,000.0, closed at market: lost 9,507.00, the cross "
        "account keeps 493.00."
    ]


def test_bids_above_the_mark_fill_better_than_it_and_the_log_says_so() -> None:
    # Long 0.1 at 100,000, 10x Isolated; bids 0.1 at 91,120 while the mark is 91,100: the sale
    # fills at 91,120, 2.00 better than the mark: PnL -888, 112 back.
    session = desk()
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    lines(session)
    bids(session, (91_120, 0.1))
    session.on_mark("BTC", 91_100)
    assert lines(session) == [
        "LIQUIDATED LONG 0.1 BTC (Isolated) at 91,100.0 · lost 888.00 · Hyperliquid closed it "
        "at market, through the book at 91,120.0 (2.00 better than the mark): PnL -888.00; "
        "112.00 of its 1,000.00 margin went back to your wallet"
    ]


@pytest.mark.parametrize(
    ("mode", "mark", "line", "toast"),
    [
        # Example 1: the 1,000 of margin is forfeited; the book is not used.
        (
            ISO,
            91_100,
            "LIQUIDATED LONG 0.1 BTC (Isolated) at 91,100.0 · lost 1,000.00 · Binance rules: "
            "closed at the mark; its whole margin 1,000.00 is forfeited",
            "LIQUIDATED BTC long 0.1 (Isolated) at 91,100.0: lost 1,000.00, forfeited.",
        ),
        # Example 3 at 0.1: C = 10,000 = q * E, no liquidation price; at 0.5 it is 81,012.66.
        (
            CROSS,
            81_000,
            "LIQUIDATED LONG 0.5 BTC (Cross) at 81,000.0 · lost 10,000.00 · Binance rules: every "
            "cross position closed at its mark and the whole cross balance went with them "
            "(10,000.00 of it on this position)",
            "LIQUIDATED BTC long 0.5 (Cross) at 81,000.0: lost 10,000.00, forfeited.",
        ),
    ],
)
def test_binance_forfeits_and_the_log_names_its_rules(
    mode: MarginMode, mark: float, line: str, toast: str
) -> None:
    session = desk(Venue.BINANCE)
    session.engine.open("BTC", LONG, 0.1 if mode is ISO else 0.5, 10, mode)
    lines(session)
    bids(session, (mark - 10, 5.0))
    session.on_mark("BTC", mark)
    assert lines(session) == [line]
    assert toasts(session) == [toast]
    [liq] = liquidations(session)
    assert (liq.pricing, liq.fill_price) == ("mark", mark)


def test_a_flash_crash_liquidates_through_the_scenarios_books() -> None:
    """The flash-crash scenario with realistic books, through the session: a 20x long of
    about 2,000,000 of BTC is liquidated in 20 % slices sold into the thinning books, every
    slice no lower than the slippage limit allows, and each says so in the log."""
    feed = ScenarioSource("flash-crash", ["BTC"], execution="realistic")
    engine = PaperEngine(balance=1_000_000, clock=lambda: NOON)
    session = Session(engine=engine, feed=feed, wall_clock=lambda: NOON)
    feed.snapshot().deliver(session)
    mark = engine.mark("BTC")
    assert mark is not None
    engine.open("BTC", LONG, round(2_000_000 / mark, 3), 20, ISO)
    lines(session)
    while feed.sim_time < 16 * 60 and engine.position("BTC") is not None:
        feed.step(0.25).deliver(session)
    records = liquidations(session)
    assert records and {r.pricing for r in records} == {"book"}
    assert records[0].outcome == "partial"
    for r in records:  # a sell into the bids: at or below the mark, within the 8 % limit
        assert r.mark_price * (1 - 0.08) <= r.fill_price <= r.mark_price
    said = lines(session)
    assert len(said) == len(records)
    assert all("through the book at" in s or "the book took" in s for s in said)
