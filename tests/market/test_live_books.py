"""Live order books and the subscription set, against local servers on 127.0.0.1:
Hyperliquid ``l2Book`` and ``activeAssetCtx.markPx``, Binance ``depth20``; books reach the
engine, go stale when they stop while marks go on, and recover."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.market.conftest import (
    RecordingSink,
    asset_ctx,
    l2book,
    running,
    wait_until,
    ws_server,
)
from tui.engine import PaperEngine, Side
from tui.market import BinanceSource, FeedStatus, HyperliquidSource, make_source

FAST: dict[str, Any] = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}
BIDS = [("99990", "1.5"), ("99980.5", "2")]
ASKS = [("100010", "0.5"), ("100020", "3")]


async def drain(ws: Any, into: list[dict[str, Any]]) -> None:
    """Read what the client sends (its subscriptions) until it leaves."""
    async for message in ws:
        into.append(json.loads(message))


# ---------------------------------------------------------------- Hyperliquid


async def test_hyperliquid_books_arrive_for_the_subscribed_markets() -> None:
    received: list[dict[str, Any]] = []

    async def handler(ws: Any) -> None:
        await ws.send(l2book("BTC", BIDS, ASKS, time=1_763_647_200_500))
        await ws.send(l2book("ETH", [("3499", "0"), ("3498", "1")], [("3501", "2")]))
        await ws.send(l2book("DOGE", [("0.1", "1")], [("0.2", "1")]))  # not configured
        await drain(ws, received)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "ETH"], url=url, books=True, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(sink.books) == 2, what="two books")
            await asyncio.sleep(0.02)
    assert received == [
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "ETH"}},
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "ETH"}},
    ]
    btc, eth = sink.books
    assert btc == ("BTC", [(99_990.0, 1.5), (99_980.5, 2.0)], [(100_010.0, 0.5), (100_020.0, 3.0)],
                   1_763_647_200.5)  # fmt: skip
    assert eth[:3] == ("ETH", [(3_498.0, 1.0)], [(3_501.0, 2.0)])  # an empty level is skipped
    assert src.books_received == 2 and src.bad_frames == 0


BAD_BOOKS = [
    (json.dumps({"channel": "l2Book", "data": {"coin": "BTC"}}), "without data.coin"),
    (json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "levels": [[]]}}), "two data"),
    (json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "levels": "x"}}), "two data"),
    (l2book("BTC", [("abc", "1")], ASKS), "BTC: book price 'abc' is not a number"),
    (l2book("BTC", [("NaN", "1")], ASKS), "price 'NaN' is not a number"),
    (l2book("BTC", [("1e400", "1")], ASKS), "price '1e400' is not a finite number"),
    (l2book("BTC", [("-1", "1")], ASKS), "not positive"),
    (l2book("BTC", BIDS, [("100010", "-2")]), "size '-2' is negative"),
    (l2book("BTC", BIDS, [("100010", "inf")]), "size 'inf' is not a number"),
    (l2book("BTC", BIDS, [("100010", 1e308 * 10)]), "size inf is not a finite number"),
    (l2book("BTC", [("99980", "1"), ("99990", "1")], ASKS), "bids are not best first"),
    (l2book("BTC", BIDS, [("100020", "1"), ("100010", "1")]), "asks are not best first"),
    (l2book("BTC", BIDS, [("100010", "1"), ("100010", "1")]), "asks are not best first"),
    (l2book("BTC", [("100015", "1")], ASKS), "crossed book"),
    (l2book("BTC", [("1", "1")] * 1_001, ASKS), "more than a book holds"),
    (json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "levels": [[5], []]}}),
     "not a price and a size"),
]  # fmt: skip


@pytest.mark.parametrize(("frame", "problem"), BAD_BOOKS)
def test_a_malformed_l2book_frame_is_refused_with_a_reason(frame: str, problem: str) -> None:
    parsed = HyperliquidSource(["BTC"], books=True).parse(frame)
    assert parsed.books == []
    assert parsed.problem is not None and problem in parsed.problem


async def test_malformed_books_are_counted_and_never_reach_the_sink() -> None:
    async def handler(ws: Any) -> None:
        for frame, _ in BAD_BOOKS:
            await ws.send(frame)
        await ws.send(l2book("BTC", BIDS, ASKS))
        async for _ in ws:
            pass

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, books=True, **FAST)
        async with running(src, sink):
            await wait_until(lambda: bool(sink.books), what="the good book")
    assert src.bad_frames == len(BAD_BOOKS) and len(sink.books) == 1


def test_an_l2book_without_a_time_takes_the_wall_clock() -> None:
    src = HyperliquidSource(["BTC"], books=True, wall_clock=lambda: 123.0)
    for when in (None, "soon", -5, True):
        [book] = src.parse(l2book("BTC", BIDS, ASKS, time=when)).books
        assert book[3] == 123.0


async def test_focus_moves_the_subscriptions_on_the_open_connection() -> None:
    received: list[dict[str, Any]] = []
    go = asyncio.Event()

    async def handler(ws: Any) -> None:
        reader = asyncio.ensure_future(drain(ws, received))
        await go.wait()
        for coin, price in (("BTC", "100000"), ("ETH", "3500"), ("SOL", "180")):
            await ws.send(asset_ctx(coin, mark=price))
            await ws.send(l2book(coin, [(str(float(price) - 1), "1")], [(price + "1", "1")]))
        await reader

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "ETH", "SOL"], url=url, books=True, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(received) == 6, what="the first subscriptions")
            src.focus(marks=["BTC", "SOL", "NOPE"], books=["ETH"])
            assert src.mark_focus == {"BTC", "SOL"} and src.book_focus == {"ETH"}
            await wait_until(lambda: len(received) == 9, what="the changes")
            go.set()
            await wait_until(lambda: ("SOL", 180.0) in sink.marks, what="SOL")
            await wait_until(lambda: bool(sink.books), what="ETH's book")
            await asyncio.sleep(0.05)
            src.focus()  # back to everything
            await wait_until(lambda: len(received) == 12, what="everything again")
    assert received[6:9] == [
        {"method": "unsubscribe", "subscription": {"type": "activeAssetCtx", "coin": "ETH"}},
        {"method": "unsubscribe", "subscription": {"type": "l2Book", "coin": "BTC"}},
        {"method": "unsubscribe", "subscription": {"type": "l2Book", "coin": "SOL"}},
    ]
    assert received[9:] == [
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "ETH"}},
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "SOL"}},
    ]
    assert sink.marks == [("BTC", 100_000.0), ("SOL", 180.0)]  # ETH was out of focus
    assert [b[0] for b in sink.books] == ["ETH"]


def test_without_books_no_book_is_subscribed_whatever_the_focus() -> None:
    src = HyperliquidSource(["BTC", "ETH"])
    src.focus(books=["BTC"])
    assert src.book_focus == frozenset()
    assert all("l2Book" not in m for m in src.subscribe_messages())
    assert src.stale_symbols(1e9) == {"BTC", "ETH"}
    src.focus(marks=["ETH"])
    assert src.stale_symbols(1e9) == {"ETH"}  # a market out of focus is not stale


# ---------------------------------------------------------------- Binance


def depth(symbol: str, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> str:
    return json.dumps(
        {"e": "depthUpdate", "E": 1_763_647_200_250, "T": 1, "s": symbol, "U": 1, "u": 2,
         "pu": 0, "b": [list(b) for b in bids], "a": [list(a) for a in asks]}
    )  # fmt: skip


async def test_binance_depth20_books_arrive_and_follow_the_focus() -> None:
    received: list[dict[str, Any]] = []

    async def handler(ws: Any) -> None:
        reader = asyncio.ensure_future(drain(ws, received))
        await ws.send(depth("BTCUSDT", BIDS, ASKS))
        await ws.send(
            json.dumps(
                {
                    "stream": "ethusdt@depth20@500ms",
                    "data": json.loads(depth("ETHUSDT", [("3499", "1")], [])),
                }
            )
        )
        await ws.send(depth("BTCUSDT", [("1", "1")], [("0.5", "1")]))  # crossed
        await ws.send(json.dumps({"result": None, "id": 1}))
        await reader

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = BinanceSource(["BTC", "ETH"], url=url, books=True, **FAST)
        async with running(src, sink):
            await wait_until(lambda: len(sink.books) == 2 and bool(src.bad_frames), what="books")
            src.focus(books=["BTC"])
            await wait_until(lambda: len(received) == 2, what="the unsubscription")
    assert received == [
        {"method": "SUBSCRIBE", "params": ["btcusdt@depth20@500ms", "ethusdt@depth20@500ms"],
         "id": 1},
        {"method": "UNSUBSCRIBE", "params": ["ethusdt@depth20@500ms"], "id": 2},
    ]  # fmt: skip
    assert sink.books == [
        ("BTC", [(99_990.0, 1.5), (99_980.5, 2.0)], [(100_010.0, 0.5), (100_020.0, 3.0)],
         1_763_647_200.25),
        ("ETH", [(3_499.0, 1.0)], [], 1_763_647_200.25),
    ]  # fmt: skip
    assert src.last_problem == "BTC: book crossed book: best bid 1 >= best ask 0.5"


def test_binance_without_books_subscribes_nothing() -> None:
    assert BinanceSource(["BTC"]).subscribe_messages() == []


# ---------------------------------------------------------------- parsers


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=16,
)
_LEVEL = st.one_of(
    st.fixed_dictionaries({"px": _JSON, "sz": _JSON}),
    st.lists(_JSON, min_size=2, max_size=3),
    st.tuples(st.floats().map(repr), st.floats().map(repr)).map(list),
    _JSON,
)


@given(st.lists(_LEVEL, max_size=5), st.lists(_LEVEL, max_size=5), _JSON)
def test_book_parsers_never_raise_and_never_yield_an_impossible_book(
    bids: list[Any], asks: list[Any], when: Any
) -> None:
    hl = HyperliquidSource(["BTC"], books=True, wall_clock=lambda: 5.0)
    bn = BinanceSource(["BTC"], books=True, wall_clock=lambda: 5.0)
    frames = [
        hl.parse(json.dumps({"channel": "l2Book",
                             "data": {"coin": "BTC", "time": when, "levels": [bids, asks]}})),
        bn.parse(json.dumps({"e": "depthUpdate", "s": "BTCUSDT", "E": when, "b": bids, "a": asks})),
    ]  # fmt: skip
    for frame in frames:
        for _, b, a, t in frame.books:
            for side in (b, a):
                assert all(math.isfinite(p) and p > 0 and math.isfinite(s) and s > 0
                           for p, s in side)  # fmt: skip
            assert [p for p, _ in b] == sorted({p for p, _ in b}, reverse=True)
            assert [p for p, _ in a] == sorted({p for p, _ in a})
            assert not (b and a) or b[0][0] < a[0][0]
            assert math.isfinite(t)


# ---------------------------------------------------------------- oracle prices


def ctx_frame(coin: str, **ctx: object) -> str:
    return json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}})


def test_hyperliquid_oracle_prices_are_read_with_the_mark() -> None:
    src = HyperliquidSource(["BTC"])
    frame = src.parse(ctx_frame("BTC", markPx="100010", oraclePx="99990.5", funding="0.0001"))
    assert (frame.marks, frame.oracles, frame.problem) == (
        [("BTC", 100_010.0)],
        [("BTC", 99_990.5)],
        None,
    )
    bad = src.parse(ctx_frame("BTC", markPx="100010", oraclePx="-3", funding="0.0001"))
    assert bad.marks == [("BTC", 100_010.0)] and bad.oracles == []
    assert bad.problem == "BTC: oracle price '-3' is not positive"
    none = src.parse(ctx_frame("BTC", markPx="100010", funding="0.0001"))  # optional
    assert none.oracles == [] and none.problem is None


async def test_hyperliquid_funding_is_paid_on_the_oracle_price_the_feed_gives() -> None:
    """A live Hyperliquid feed into the session: the hour passes on the wall clock between two
    frames, and the long pays on the oracle price of the frame before it."""
    from tui.engine import MarginMode, Market
    from tui.session import Session

    noon = 1_795_521_600.0  # 12:00 UTC
    wall = [noon - 30]
    send = asyncio.Queue[str]()

    async def handler(ws: Any) -> None:
        async def pump() -> None:
            while True:
                await ws.send(await send.get())

        pumping = asyncio.create_task(pump())
        try:
            async for _ in ws:  # until the client leaves
                pass
        finally:
            pumping.cancel()

    engine = PaperEngine(
        balance=10_000, markets=[Market("BTC", max_leverage=40, taker_fee=0)], clock=lambda: noon
    )
    session = Session(engine=engine, wall_clock=lambda: noon)
    session.on_mark("BTC", 100_000)
    engine.open("BTC", Side.LONG, 0.1, 10, MarginMode.ISOLATED)
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, wall_clock=lambda: wall[0], **FAST)
        async with running(src, session):  # type: ignore[arg-type]
            send.put_nowait(ctx_frame("BTC", markPx="100000", oraclePx="99000", funding="0.0001"))
            await wait_until(lambda: engine.funding_rate("BTC") == 0.0001, what="the rate")
            wall[0] = noon + 1  # 12:00 has passed
            send.put_nowait(ctx_frame("BTC", markPx="100000", oraclePx="98000", funding="0.0001"))
            await wait_until(lambda: bool(engine.funding_payments), what="a payment")
    [pay] = engine.funding_payments
    assert pay.funding_price == 99_000 and pay.payment == pytest.approx(0.1 * 99_000 * 0.0001)


# ---------------------------------------------------------------- into the engine


class EngineSink:
    """What the app does with a feed: marks and books into a paper engine."""

    def __init__(self, engine: PaperEngine) -> None:
        self.engine = engine

    def on_mark(self, symbol: str, price: float) -> None:
        self.engine.set_mark(symbol, price)

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        pass

    def on_status(self, status: FeedStatus) -> None:
        pass

    def on_book(self, symbol: str, bids: Any, asks: Any, time: float) -> None:
        self.engine.set_book(symbol, bids, asks)


async def test_books_are_applied_go_stale_and_recover() -> None:
    phase = asyncio.Queue[str]()

    async def handler(ws: Any) -> None:
        price = 100_000
        books = True
        while True:
            if not phase.empty():
                books = phase.get_nowait() == "go"
            price += 1
            await ws.send(asset_ctx("BTC", mark=str(price)))
            if books:
                await ws.send(l2book("BTC", [(str(price - 10), "1")], [(str(price + 10), "1")]))
            await asyncio.sleep(0.02)

    eng = PaperEngine(balance=100_000, book_max_age=0.25)

    def pricing() -> str:
        return eng.preview("BTC", Side.LONG, 0.1, 10).pricing

    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, books=True, **FAST)
        async with running(src, EngineSink(eng)):  # type: ignore[arg-type]
            await wait_until(lambda: eng.book("BTC") is not None, what="a book applied")
            assert pricing() == "book"
            preview = eng.preview("BTC", Side.LONG, 0.1, 10)
            book = eng.book("BTC")
            assert book is not None and preview.fill_price == book.best_ask
            phase.put_nowait("stop")  # the books stop, the marks go on
            await wait_until(lambda: pricing() == "stale", timeout=3, what="a stale book")
            assert (
                "priced at the mark instead" in eng.preview("BTC", Side.LONG, 0.1, 10).warnings[0]
            )
            phase.put_nowait("go")
            await wait_until(lambda: pricing() == "book", timeout=3, what="recovered")


def test_make_source_streams_live_books_unless_frictionless() -> None:
    assert make_source("hyperliquid", execution="realistic").books  # type: ignore[attr-defined]
    assert not make_source("binance", execution="frictionless").books  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="execution must be one of"):
        make_source("hyperliquid", execution="smooth")
