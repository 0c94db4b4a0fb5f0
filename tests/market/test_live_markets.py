"""Live sources take every market the venue lists: Hyperliquid's ``meta`` answered by a local
server listing 200 markets, Binance's shipped tables, and what reaches a session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from tests.market.conftest import RecordingSink, running, wait_until, ws_server
from tests.market.venue_fakes import FakeHyperliquid, extra_name, fake_hyperliquid, venue_meta
from tui.engine import MarginMode, Market, Side
from tui.market import DEFAULT_SYMBOLS, BinanceSource, HyperliquidSource
from tui.market.live import MAX_LISTED, hyperliquid_markets
from tui.session import Session

FAST: dict[str, Any] = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}
META_REQUEST = {"method": "post", "id": 1, "request": {"type": "info", "payload": {"type": "meta"}}}


class MarketSink(RecordingSink):
    """A recording sink that also takes market lists and prices 24 hours ago."""

    def __init__(self) -> None:
        super().__init__()
        self.listings: list[tuple[str, list[Market]]] = []
        self.left_out: list[list[str]] = []
        self.prev_day: dict[str, float] = {}

    def on_markets(
        self, venue: str, markets: Sequence[Market], left_out: Sequence[str] = ()
    ) -> None:
        self.listings.append((venue, list(markets)))
        self.left_out.append(list(left_out))

    def on_prev_day(self, symbol: str, price: float) -> None:
        self.prev_day[symbol] = price


def priced(sink: RecordingSink) -> set[str]:
    return {symbol for symbol, _ in sink.marks}


async def test_every_market_hyperliquid_lists_is_subscribed_and_passed_on() -> None:
    venue = FakeHyperliquid()
    sink = MarketSink()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(priced(sink)) == 200, timeout=10, what="200 markets")
    # The default markets first (prices at once), then the market list is asked for.
    first = venue.sent[: len(DEFAULT_SYMBOLS) + 1]
    assert [m["subscription"]["coin"] for m in first[:-1]] == list(DEFAULT_SYMBOLS)
    assert first[-1] == META_REQUEST
    ((kind, markets),) = sink.listings
    assert kind == "hyperliquid" and len(markets) == 200
    by_name = {m.name: m for m in markets}
    assert by_name["M001"].max_leverage == 5 and by_name["M001"].size_step == 0.1
    assert by_name["BTC"].max_leverage == 40 and len(by_name["BTC"].tiers) == 2
    assert set(src.symbols) == set(by_name) == venue.subscribed
    assert sink.prev_day["M010"] == pytest.approx(1.10 / 1.1)
    assert src.bad_frames == 0


async def test_named_markets_stay_the_only_ones_and_get_their_tables() -> None:
    venue = FakeHyperliquid()
    sink = MarketSink()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(["BTC", "M007"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: bool(sink.listings), what="the market list")
            await wait_until(lambda: priced(sink) == {"BTC", "M007"}, what="both marks")
    ((_, markets),) = sink.listings
    assert [m.name for m in markets] == ["BTC", "M007"]
    assert src.symbols == ("BTC", "M007") and venue.subscribed == {"BTC", "M007"}


async def test_a_sink_without_markets_is_never_sent_a_request() -> None:
    venue = FakeHyperliquid()
    sink = RecordingSink()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(priced(sink)) == len(DEFAULT_SYMBOLS), what="marks")
            await asyncio.sleep(0.05)
    assert venue.posts() == []
    assert len(src.symbols) == len(DEFAULT_SYMBOLS)


@pytest.mark.parametrize("answer", ["429 Too many requests", None])
async def test_no_market_list_keeps_the_default_markets_priced(answer: str | None) -> None:
    venue = FakeHyperliquid(meta=answer)
    sink = MarketSink()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(priced(sink)) == len(DEFAULT_SYMBOLS), what="marks")
            await asyncio.sleep(0.05)
    assert sink.listings == []
    if answer is not None:  # a refusal is a bad frame, named; silence is just no list
        assert src.bad_frames == 1
        assert src.last_problem == "Hyperliquid did not send its market list: Too many requests"
    else:
        assert src.bad_frames == 0


def test_a_bad_asset_is_left_out_and_named_the_rest_are_kept() -> None:
    meta = venue_meta(25)
    meta["universe"][1]["maxLeverage"] = "lots"  # ETH
    meta["universe"].append({"name": "\x1b[2J", "szDecimals": 0, "maxLeverage": 3})
    markets, problems = hyperliquid_markets(meta)
    names = [m.name for m in markets]
    assert "ETH" not in names and len(names) == 24 and names[-1] == extra_name(3)
    assert problems == [
        "ETH maxLeverage must be a number, not 'lots'.",
        "a market named '\\x1b[2J' (a name is letters and digits, at most 20)",
    ]
    assert hyperliquid_markets({"universe": "no"}) == (
        [],
        ["expected an object with a universe list"],
    )
    assert hyperliquid_markets([1, 2]) == ([], ["expected an object with a universe list"])


async def test_binance_passes_on_its_shipped_tables_and_the_markets_it_has_none_for() -> None:
    frame = [
        {"e": "markPriceUpdate", "s": "BTCUSDT", "p": "100000", "r": "0.0001"},
        {"e": "markPriceUpdate", "s": "PEPEUSDT", "p": "0.00001", "r": "0.0001"},
        {"e": "markPriceUpdate", "s": "BTCUSDT_260327", "p": "101000", "r": ""},
    ]

    async def handler(ws: Any) -> None:
        await ws.send(json.dumps(frame))
        async for _ in ws:
            pass

    sink = MarketSink()
    async with ws_server(handler) as url:
        src = BinanceSource(None, url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: ("PEPE", 0.00001) in sink.marks, what="PEPE")
    ((kind, markets),) = sink.listings
    assert kind == "binance"
    assert len(markets) == 21 and "HYPE" not in {m.name for m in markets}
    assert next(m for m in markets if m.name == "BTC").max_leverage == 125
    assert sink.marks == [("BTC", 100000.0), ("PEPE", 0.00001)]  # no dated contract
    assert sink.rates == pytest.approx([("BTC", 0.0001 / 8)])  # none for a market it lacks


# ---------------------------------------------------------------- into a session


async def test_a_session_takes_200_markets_and_the_venues_new_btc_table() -> None:
    # BTC now one tier at 25x (table id 25): its max leverage falls from 40x. An isolated long
    # 0.1 BTC at 100,000, 10x (margin 1,000) is re-tiered: its liquidation price moves from
    # 9,000 / (0.1 * (1 - 1/80)) = 91,139.24 to 9,000 / (0.1 * (1 - 1/50)) = 91,836.73.
    venue = FakeHyperliquid(meta=venue_meta(200, {"BTC": {"maxLeverage": 25, "marginTableId": 25}}))
    session = Session()
    session.engine.set_mark("BTC", 100_000)
    session.engine.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)
    pos = session.engine.position("BTC")
    assert pos is not None and pos.liquidation_price == pytest.approx(91_139.24, abs=0.01)
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, **FAST)
        session.feed = src
        async with running(src, session):  # type: ignore[arg-type]
            await wait_until(lambda: len(session.engine.marks) == 200, timeout=10, what="200 marks")
    session.drain()
    engine = session.engine
    assert len(engine.markets) == 200 and engine.market("M150").max_leverage == 5
    assert engine.market("BTC").max_leverage == 25
    pos = engine.position("BTC")
    assert pos is not None and pos.liquidation_price == pytest.approx(91_836.73, abs=0.01)
    lines = [line.text for line in session.log]
    assert (
        lines.count(
            "Hyperliquid lists 200 markets; 178 added to Markets; tables updated from the venue: "
            "BTC 40x → 25x, margin tiers 2 → 1."
        )
        == 1
    )
    assert session.unknown_marks == {} and session.bad_marks == 0
    assert session.day_change and session.change_basis("M010") == pytest.approx(1.0)


async def test_the_list_is_asked_again_and_what_changed_is_logged() -> None:
    # Connected, the source asks again every relist_every seconds. The venue meanwhile lists a
    # new market (M200) and gives BTC one tier at 25x: the log says so in one line, the new
    # market is subscribed and priced; a list that changed nothing says nothing.
    venue = FakeHyperliquid(interval=0.05)
    session = Session()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, relist_every=0.2, **FAST)
        session.feed = src
        async with running(src, session):  # type: ignore[arg-type]
            await wait_until(lambda: len(session.engine.marks) == 200, timeout=10, what="200")
            assert venue.meta is not None and not isinstance(venue.meta, str)
            venue.meta = venue_meta(201, {"BTC": {"maxLeverage": 25, "marginTableId": 25}})
            await wait_until(lambda: "M179" in session.engine.marks, timeout=10, what="M179")
            asked = len(venue.posts())
            await wait_until(lambda: len(venue.posts()) >= asked + 2, timeout=5, what="asked")
    assert src.connections == 1  # asked again on the same connection
    lines = [line.text for line in session.log if "Hyperliquid lists" in line.text]
    assert lines == [
        "Hyperliquid lists 200 markets; 178 added to Markets; the tables perpdesk ships still "
        "match the venue's.",
        "Hyperliquid lists 201 markets; 1 added to Markets; tables updated from the venue: "
        "BTC 40x → 25x, margin tiers 2 → 1.",
    ]
    assert session.engine.market("BTC").max_leverage == 25
    assert "M179" in venue.subscribed and session.engine.market("M179").max_leverage == 5


def test_a_list_of_absurd_length_is_cut_and_said() -> None:
    markets, problems = hyperliquid_markets(venue_meta(1500))
    assert len(markets) == MAX_LISTED == 1000
    assert problems == ["the list holds 1,500 markets: perpdesk takes the first 1,000"]


HOSTILE_ASSETS: list[Any] = [
    {"name": "EVIL\x1b]0;pwned\x07", "szDecimals": 1, "maxLeverage": 5},  # a terminal title
    {"name": "HUGE", "szDecimals": 1, "maxLeverage": 1e9},
    {"name": "NAN", "szDecimals": 1, "maxLeverage": "NaN"},
    {"name": "NEG", "szDecimals": 1, "maxLeverage": -3},
    {"name": "WIDE", "szDecimals": 10**300, "maxLeverage": 5},
    {"name": "TBL", "szDecimals": 1, "maxLeverage": 5, "marginTableId": 10**40},
    "not an asset",
    {"szDecimals": 1, "maxLeverage": 5},
    {"name": "A" * 5000, "szDecimals": 1, "maxLeverage": 5},
]


async def test_absurd_entries_of_the_list_are_left_out_and_named_escaped() -> None:
    meta = venue_meta(30)
    meta["universe"] += HOSTILE_ASSETS
    venue = FakeHyperliquid(meta=meta, interval=0.05)
    session = Session()
    async with fake_hyperliquid(venue) as url:
        src = HyperliquidSource(None, url=url, **FAST)
        session.feed = src
        async with running(src, session):  # type: ignore[arg-type]
            await wait_until(lambda: len(session.engine.marks) == 30, timeout=10, what="30")
    assert set(session.engine.markets) == {m.name for m in hyperliquid_markets(venue_meta(30))[0]}
    (line,) = [line for line in session.log if "Hyperliquid lists" in line.text]
    assert line.level == "warning"
    assert line.text.startswith(
        "Hyperliquid lists 39 markets; 8 added to Markets; the tables perpdesk ships still "
        "match the venue's; not added: HUGE max leverage must be at least 1 and at most 1000, "
        "not 1e+09; NAN maxLeverage must be a finite number, not 'NaN'; NEG: Tier max "
        "leverage must be more than zero, not -3 and 6 more."
    )
    assert src.last_problem is not None and src.bad_frames == 1
    _, problems = hyperliquid_markets(meta)
    assert len(problems) == 9 and all(len(p) <= 130 for p in problems)
    assert "a market named 'EVIL\\x1b]0;pwned\\x07' (a name is letters and digits" in problems[-2]
    assert not any("\x1b" in p or "\x07" in p for p in problems)
