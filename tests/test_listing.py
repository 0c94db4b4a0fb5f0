"""A venue's market list applied to the account (tui/listing.py, Session.on_markets), marks for
markets perpdesk does not list (explained once), and a listed market surviving a relaunch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.engine import MarginMode, MarginTier, Market, PaperEngine, Side, Venue, default_markets
from tui.journal import Journal
from tui.listing import apply_listing, listing_line, market_change, names_line
from tui.market import ReplaySource
from tui.session import MAX_UNKNOWN, Session

ISO = MarginMode.ISOLATED
NOON = 1_795_521_600.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def texts(session: Session) -> list[str]:
    return [line.text for line in session.log]


def wif(max_leverage: float = 5) -> Market:
    return Market("WIF", max_leverage=max_leverage, size_step=1.0)


def btc(max_leverage: float, *tiers: MarginTier) -> Market:
    return Market("BTC", max_leverage=max_leverage, tiers=tiers)


# ------------------------------------------------------------------ what changed, in words


def test_a_tables_change_is_named_briefly() -> None:
    assert market_change(btc(40), btc(40)) is None
    assert market_change(btc(40), btc(25)) == "BTC 40x → 25x"
    assert market_change(btc(40), btc(40, MarginTier(0, 40), MarginTier(1e6, 20))) == (
        "BTC margin tiers 1 → 2"
    )
    old = Market("SOL", max_leverage=20, size_step=0.01)
    assert market_change(old, Market("SOL", max_leverage=20, size_step=0.1)) == (
        "SOL size step 0.01 → 0.1"
    )
    assert names_line(["A", "B", "C"], 2) == "A, B and 1 more"


def test_new_markets_take_the_accounts_fees_and_listed_ones_keep_theirs() -> None:
    engine = PaperEngine(markets=[Market("BTC", max_leverage=40, taker_fee=0.001, slippage=0.01)])
    listing = apply_listing(
        engine, "hyperliquid", [btc(25), wif()], taker_fee=0.0002, maker_fee=0.0001
    )
    assert listing.added == ["WIF"] and listing.updated == ["BTC 40x → 25x"]
    assert (engine.market("WIF").taker_fee, engine.market("WIF").maker_fee) == (0.0002, 0.0001)
    btc_now = engine.market("BTC")
    assert (btc_now.max_leverage, btc_now.taker_fee, btc_now.slippage) == (25, 0.001, 0.01)
    assert listing_line(listing, first=False) == (
        "Hyperliquid lists 2 markets; 1 added to Markets; tables updated from the venue: "
        "BTC 40x → 25x."
    )


def test_the_first_list_is_always_reported_later_ones_only_when_something_changed() -> None:
    engine = PaperEngine(markets=[btc(40)])
    same = apply_listing(engine, "hyperliquid", [btc(40)], taker_fee=0, maker_fee=0)
    assert listing_line(same, first=True) == (
        "Hyperliquid lists 1 market; the tables perpdesk ships still match the venue's."
    )
    assert listing_line(same, first=False) is None


def test_an_account_on_other_rules_takes_nothing_from_the_list() -> None:
    engine = PaperEngine(markets=default_markets(venue=Venue.BINANCE), venue=Venue.BINANCE)
    before = engine.markets
    listing = apply_listing(engine, "hyperliquid", [btc(25), wif()], taker_fee=0, maker_fee=0)
    assert engine.markets == before
    assert listing_line(listing, first=True) == (
        "Hyperliquid lists 2 markets, but this account follows Binance's rules: markets "
        "without Binance tables are not added."
    )
    assert listing_line(listing, first=False) is None


def test_a_table_the_engine_refuses_leaves_that_market_as_it_was() -> None:
    engine = PaperEngine(markets=[btc(40)])
    bad = btc(40)
    object.__setattr__(bad, "tiers", (MarginTier(5, 40),))  # a table that starts above 0
    listing = apply_listing(engine, "hyperliquid", [bad, wif()], taker_fee=0, maker_fee=0)
    assert engine.market("BTC").tiers == btc(40).tiers and listing.added == ["WIF"]
    line = listing_line(listing, first=True)
    assert line is not None and "left as they were: BTC (BTC's first margin tier" in line


def test_a_new_market_the_engine_refuses_is_not_added_and_said_with_what_the_source_left_out() -> (
    None
):
    engine = PaperEngine(markets=[btc(40)])
    bad = wif()
    object.__setattr__(bad, "tiers", (MarginTier(5, 5),))
    listing = apply_listing(
        engine,
        "hyperliquid",
        [bad],
        taker_fee=0,
        maker_fee=0,
        left_out=["a market named 'X\\x1b' (a name is letters and digits, at most 20)"],
    )
    assert "WIF" not in engine.markets and listing.listed == 2
    assert listing_line(listing, first=False) == (
        "Hyperliquid lists 2 markets; not added: a market named 'X\\x1b' (a name is letters "
        "and digits, at most 20); WIF (WIF's first margin tier must start at a notional of 0)."
    )


# ------------------------------------------------------------------ the session


def test_a_mark_for_a_market_not_listed_is_explained_once_and_counted() -> None:
    session = Session(wall_clock=lambda: NOON)
    for i in range(50):
        session.on_mark("NOPE", 1.0 + i)
    session.on_funding_rate("NOPE", 0.0001)
    session.on_mark("BTC", 100_000)
    assert session.drain().dirty
    lines = [t for t in texts(session) if "NOPE" in t]
    assert lines == [
        "The feed prices 1 market perpdesk does not list: NOPE. Without a Hyperliquid margin "
        "table there is nothing to trade it on, so Markets leaves it out (prices counted, not "
        "applied)."
    ]
    assert session.unknown_marks == {"NOPE": 50} and session.bad_marks == 0
    for _ in range(10):
        session.on_mark("NOPE", 2.0)
    session.on_mark("ZZZ", 3.0)
    session.on_mark("QQQ", 3.0)
    session.drain()
    assert [t for t in texts(session) if "NOPE" in t] == lines  # not said again
    assert texts(session)[-1].startswith(
        "The feed prices 2 markets perpdesk does not list: ZZZ, QQQ."
    )
    assert session.unknown_marks["NOPE"] == 60


def test_a_source_pricing_hundreds_of_unknown_markets_is_remembered_up_to_a_bound() -> None:
    session = Session(wall_clock=lambda: NOON)
    for i in range(MAX_UNKNOWN + 50):
        session.on_mark(f"X{i}", 1.0)
    session.on_mark("X0", 2.0)
    session.drain()
    assert len(session.unknown_marks) == MAX_UNKNOWN == 100 and session.unknown_marks["X0"] == 2
    assert session.bad_marks == 50  # the rest counted, not kept
    (line,) = [t for t in texts(session) if "does not list" in t]
    assert line.startswith("The feed prices 100 markets perpdesk does not list: X0, X1, ")
    assert "X7 and 92 more." in line


def test_a_market_the_venue_lists_later_takes_its_marks_from_then_on() -> None:
    session = Session(wall_clock=lambda: NOON)
    session.on_mark("WIF", 2.0)
    session.drain()
    session.on_markets("hyperliquid", [wif()])
    session.on_mark("WIF", 2.5)
    assert session.engine.mark("WIF") == 2.5
    assert "WIF" not in session.unknown_marks
    assert texts(session)[-1] == (
        "Hyperliquid lists 1 market; 1 added to Markets; the tables perpdesk ships still "
        "match the venue's."
    )


def test_markets_the_venue_listed_survive_a_fresh_account() -> None:
    session = Session(wall_clock=lambda: NOON)
    session.on_markets("hyperliquid", [wif()])
    session.reset()
    assert session.engine.market("WIF").max_leverage == 5


def test_a_position_in_a_listed_market_survives_a_relaunch(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = Session(journal=journal, data_dir=tmp_path, wall_clock=lambda: NOON)
    session.on_markets("hyperliquid", [wif(5)])
    session.on_mark("WIF", 2.0)
    session.engine.open("WIF", Side.LONG, 100, 5, ISO)
    assert journal.close()
    again = Journal.open(tmp_path, lock=False, synchronous="OFF")  # the default markets only
    pos = again.engine.position("WIF")
    assert pos is not None and pos.size == 100 and pos.leverage == 5
    assert again.engine.market("WIF").max_leverage == 5
    again.close()


def test_a_replay_of_a_market_not_listed_says_so_once(tmp_path: Path) -> None:
    csv = tmp_path / "rec.csv"
    csv.write_text("timestamp,symbol,price\n1,PEPE,0.00001\n2,PEPE,0.00002\n3,BTC,100000\n")
    feed = ReplaySource(csv, None)
    session = Session(feed=feed, wall_clock=lambda: NOON)
    session.start()
    feed.step(10).deliver(session)
    session.drain()
    assert [t for t in texts(session) if "PEPE" in t] == [
        "Replay: rec.csv prices 1 market perpdesk does not list: PEPE. Without a Hyperliquid "
        "margin table there is nothing to trade it on, so Markets leaves it out (prices "
        "counted, not applied)."
    ]
