from __future__ import annotations

import asyncio
import json
import math
import random
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.market.conftest import (
    RecordingSink,
    asset_ctx,
    free_port,
    marks,
    mids,
    running,
    wait_until,
    ws_server,
)
from tui.market import (
    LIVE_EXTRA_MESSAGE,
    BinanceSource,
    FeedState,
    HyperliquidSource,
    LiveExtraMissingError,
    make_source,
)
from tui.market.live import backoff_delay

FAST: dict[str, Any] = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}


async def hold_open(ws: Any) -> None:
    """Keep a server connection open (reading, so pings are seen) until the client leaves."""
    async for _ in ws:
        pass


# ---------------------------------------------------------------- normal operation


async def test_marks_are_hyperliquids_mark_price_for_configured_symbols_only() -> None:
    received: list[str] = []

    async def handler(ws: Any) -> None:
        for _ in range(3):  # one activeAssetCtx per symbol
            received.append(await ws.recv())
        await ws.send(json.dumps({"channel": "subscriptionResponse", "data": {"method": "x"}}))
        for frame in marks(BTC="100000.5", ETH="3500.25"):
            await ws.send(frame)
        await ws.send(asset_ctx("DOGE", "0.0001", mark="0.2"))  # not configured: ignored
        for frame in marks(BTC="100001", ETH="3500.25", SOL="180.125"):
            await ws.send(frame)
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "ETH", "SOL"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: ("SOL", 180.125) in sink.marks, what="SOL mark")
    assert [json.loads(m) for m in received] == [
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "ETH"}},
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "SOL"}},
    ]  # no allMids: a mid is not the venue's mark; no l2Book without books=True
    # ETH repeated unchanged: not sent again
    assert sink.marks == [("BTC", 100000.5), ("ETH", 3500.25), ("BTC", 100001.0), ("SOL", 180.125)]
    assert sink.rates == [("BTC", 0.0000125), ("ETH", 0.0000125), ("SOL", 0.0000125)]
    assert src.bad_frames == 0
    assert sink.states[:2] == [FeedState.CONNECTING, FeedState.CONNECTED]
    assert src.prices == {"BTC": 100001.0, "ETH": 3500.25, "SOL": 180.125}


GARBAGE: list[str | bytes] = [
    b"\xff\xfe\x00",
    "not json",
    "[1, 2, 3]",
    '"just a string"',
    mids(BTC="100000"),  # a mid is never taken for the mark
    json.dumps({"channel": "allMids"}),
    asset_ctx("BTC", mark="abc"),
    asset_ctx("BTC", mark="-5"),
    asset_ctx("BTC", mark="0"),
    asset_ctx("BTC", mark="NaN"),
    asset_ctx("BTC", mark="inf"),
    asset_ctx("BTC", mark="1e400"),
    asset_ctx("BTC").replace('"midPx"', '"markPx": NaN, "x"'),
    asset_ctx("BTC").replace('"midPx"', '"markPx": Infinity, "x"'),
    asset_ctx("BTC", mark=None),
    asset_ctx("BTC", mark=True),
    asset_ctx("BTC", mark={"px": "1"}),
    asset_ctx("BTC", mark="1,000"),
    asset_ctx("BTC", mark=" 100"),
    asset_ctx("BTC"),  # no markPx at all
    json.dumps({"channel": "somethingElse", "data": {}}),
    json.dumps({"channel": "error", "data": "Invalid subscription"}),
    json.dumps({"data": {"mids": {"BTC": "1"}}}),
    asset_ctx("BTC", "lots", mark="100"),
    asset_ctx("BTC", "5", mark="100"),
    json.dumps({"channel": "activeAssetCtx", "data": {"coin": "BTC"}}),
]


async def test_garbage_frames_are_counted_and_skipped_without_inventing_marks() -> None:
    async def handler(ws: Any) -> None:
        for frame in GARBAGE:
            await ws.send(frame)
        await ws.send(json.dumps({"channel": "pong"}))
        await ws.send(asset_ctx("BTC", mark="100001.5"))
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: ("BTC", 100001.5) in sink.marks, what="the valid mark")
            await asyncio.sleep(0.02)
            assert src.bad_frames == len(GARBAGE)
            assert src.last_problem is not None
            assert src.connections == 1  # garbage never dropped the connection
    # A frame is read field by field: the two with a bad rate carried a good mark (taken),
    # those with a bad mark a good rate (taken once: it never changes).
    assert sink.marks == [("BTC", 100.0), ("BTC", 100001.5)]
    assert sink.rates == [("BTC", 0.0000125)]
    assert FeedState.RECONNECTING not in sink.states


async def test_a_bad_price_skips_only_that_symbol() -> None:
    async def handler(ws: Any) -> None:
        for frame in marks(BTC="abc", ETH="3500"):
            await ws.send(frame)
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "ETH"], url=url, funding=False, **FAST)
        async with running(src, sink):
            await wait_until(lambda: bool(sink.marks), what="ETH")
    assert sink.marks == [("ETH", 3500.0)]
    assert src.bad_frames == 1
    assert src.last_problem == "BTC: mark price 'abc' is not a number"


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_dropped_connection_reconnects(how: str) -> None:
    connections = 0

    async def handler(ws: Any) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()  # the subscription
        if connections == 1:
            await ws.send(asset_ctx("BTC", mark="100"))
            await asyncio.sleep(0.02)
            if how == "abort":
                ws.transport.abort()
            return  # returning closes the connection (1000)
        await ws.send(asset_ctx("BTC", mark="101"))
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, funding=False, **FAST)
        async with running(src, sink):
            await wait_until(lambda: ("BTC", 101.0) in sink.marks, what="mark after reconnect")
    assert sink.marks == [("BTC", 100.0), ("BTC", 101.0)]
    states = sink.states
    first_connected = states.index(FeedState.CONNECTED)
    reconnecting = states.index(FeedState.RECONNECTING, first_connected)
    assert FeedState.CONNECTED in states[reconnecting:]
    status = sink.statuses[reconnecting]
    assert status.attempt == 1
    assert status.retry_in is not None and 0.01 <= status.retry_in <= 0.05
    assert f"retry 1 in {status.retry_in:.1f} s" in status.detail
    if how == "close":
        assert status.detail.startswith("Server closed the connection (1000)")
    assert src.connections == 2 and connections == 2


async def test_server_down_backs_off_with_growing_attempts() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    sink = RecordingSink()
    src = HyperliquidSource(["BTC"], url=url, backoff_base=0.01, backoff_cap=0.04, jitter_seed=3)
    async with running(src, sink):
        await wait_until(
            lambda: sink.states.count(FeedState.RECONNECTING) >= 4, what="four reconnect attempts"
        )
    tries = [s for s in sink.statuses if s.state is FeedState.RECONNECTING]
    assert [s.attempt for s in tries[:4]] == [1, 2, 3, 4]
    for s in tries:
        assert s.retry_in is not None and 0.005 <= s.retry_in <= 0.04
        assert "refused" in s.detail.lower()
    assert sink.marks == [] and sink.funding == []
    assert sink.states[0] is FeedState.CONNECTING


async def test_silent_server_goes_stale_without_inventing_marks_then_recovers() -> None:
    speak = asyncio.Event()

    async def handler(ws: Any) -> None:
        await ws.recv()
        await ws.send(asset_ctx("BTC", mark="100000"))
        await speak.wait()
        for frame in marks(BTC="100050", ETH="3500"):
            await ws.send(frame)
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "ETH"], url=url, funding=False, stale_after=0.2, **FAST)
        async with running(src, sink):
            await wait_until(lambda: FeedState.STALE in sink.states, what="stale status")
            stale = next(s for s in sink.statuses if s.state is FeedState.STALE)
            assert stale.stale_symbols == frozenset({"BTC", "ETH"})
            assert stale.last_update_age is not None and stale.last_update_age >= 0.2
            assert stale.detail.startswith("No price update from Hyperliquid for")
            assert not stale.healthy
            await asyncio.sleep(0.15)
            assert sink.marks == [("BTC", 100000.0)]  # nothing invented while silent
            assert sink.statuses[-1].state is FeedState.STALE
            speak.set()
            await wait_until(
                lambda: sink.statuses[-1].state is FeedState.CONNECTED, what="fresh again"
            )
            assert sink.statuses[-1].stale_symbols == frozenset()
            assert sink.statuses[-1].healthy
    assert sink.marks == [("BTC", 100000.0), ("BTC", 100050.0), ("ETH", 3500.0)]


async def test_one_quiet_symbol_is_listed_as_stale() -> None:
    async def handler(ws: Any) -> None:
        await ws.recv()
        for i in range(100):
            await ws.send(asset_ctx("BTC", mark=str(100000 + i)))
            await asyncio.sleep(0.02)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC", "XYZ"], url=url, funding=False, stale_after=0.15, **FAST)
        async with running(src, sink):
            await wait_until(
                lambda: bool(sink.statuses) and sink.statuses[-1].stale_symbols == {"XYZ"},
                what="XYZ stale",
            )
    status = sink.statuses[-1]
    assert status.state is FeedState.CONNECTED
    assert "no recent price for XYZ" in status.detail
    assert not status.healthy


async def test_pings_are_sent_and_pongs_ignored() -> None:
    pings = 0

    async def handler(ws: Any) -> None:
        nonlocal pings
        async for message in ws:
            if json.loads(message) == {"method": "ping"}:
                pings += 1
                await ws.send(json.dumps({"channel": "pong"}))

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, funding=False, ping_interval=0.03, **FAST)
        async with running(src, sink):
            await wait_until(lambda: pings >= 3, what="three pings")
    assert src.bad_frames == 0


async def test_funding_payment_is_due_at_each_utc_hour() -> None:
    clock = [3599.0]

    async def handler(ws: Any) -> None:
        await ws.recv()
        await ws.send(asset_ctx("BTC", "0.0001", mark="100000"))
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(
            ["BTC"], url=url, wall_clock=lambda: clock[0], stale_after=0.2, **FAST
        )
        async with running(src, sink):
            await wait_until(lambda: bool(sink.rates), what="funding rate")
            await asyncio.sleep(0.06)
            assert sink.funding == []
            clock[0] = 3600.5
            await wait_until(lambda: bool(sink.funding), what="funding payment")
            clock[0] = 3700.0
            await asyncio.sleep(0.1)
    assert sink.funding == [("BTC", 0.0001)]


# ---------------------------------------------------------------- Binance


async def test_binance_mark_price_stream() -> None:
    frame: list[dict[str, Any]] = [
        {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "100000.10", "r": "0.00008"},
        {"e": "markPriceUpdate", "E": 1, "s": "ETHUSDT", "p": "3500.5", "r": ""},
        {"e": "markPriceUpdate", "E": 1, "s": "XYZUSDT", "p": "1.0", "r": "0.0001"},
        {"e": "markPriceUpdate", "E": 1, "s": "SOLUSDT", "p": "nan", "r": "0.0001"},
        {"e": "somethingElse", "s": "BTCUSDT"},
    ]

    async def handler(ws: Any) -> None:
        await ws.send(json.dumps(frame))
        await ws.send(json.dumps({"stream": "!markPrice@arr", "data": [frame[0] | {"p": "1"}]}))
        await hold_open(ws)

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = BinanceSource(["BTC", "ETH", "SOL"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: ("BTC", 1.0) in sink.marks, what="second frame")
    assert sink.marks == [("BTC", 100000.1), ("ETH", 3500.5), ("BTC", 1.0)]
    assert sink.rates == pytest.approx([("BTC", 0.00001)])
    assert src.bad_frames == 1
    assert src.last_problem == "expected markPriceUpdate objects"


def test_binance_symbol_map() -> None:
    src = BinanceSource(["BTC", "PEPE"], symbol_map={"PEPE": "1000PEPEUSDT"})
    frame = src.parse(json.dumps([{"e": "markPriceUpdate", "s": "1000PEPEUSDT", "p": "0.01"}]))
    assert frame.marks == [("PEPE", 0.01)]
    with pytest.raises(ValueError, match="not configured"):
        BinanceSource(["BTC"], symbol_map={"ETH": "ETHUSDT"})


# ---------------------------------------------------------------- construction and helpers


def test_missing_websockets_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "websockets", None)
    with pytest.raises(LiveExtraMissingError) as info:
        HyperliquidSource(["BTC"])
    assert str(info.value) == LIVE_EXTRA_MESSAGE
    assert LIVE_EXTRA_MESSAGE == "Live prices need the optional extra: pip install 'perpdesk[live]'"
    with pytest.raises(LiveExtraMissingError):
        make_source("binance")
    assert make_source("sim", seed=1).kind == "sim"  # the rest keeps working


def test_the_feed_layer_imports_and_simulates_without_websockets() -> None:
    # (That it imports no UI is an import-linter contract in pyproject.toml.)
    code = (
        "import sys; sys.modules['websockets'] = None\n"
        "import tui.market as m\n"
        "s = m.make_source('sim', seed=1); s.step(1.0)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://example.com/ws"}, "not a websocket address"),
        ({"url": "ws://"}, "not a websocket address"),
        ({"url": 5}, "url must be a string"),
        ({"stale_after": 0}, "stale_after must be greater than 0"),
        ({"backoff_base": -1}, "backoff_base must be greater than 0"),
        ({"ping_interval": float("nan")}, "ping_interval must be a finite number"),
        ({"backoff_base": 2.0, "backoff_cap": 1.0}, "must not be below backoff_base"),
    ],
)
def test_bad_live_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HyperliquidSource(["BTC"], **options)


def test_live_controls_are_no_ops() -> None:
    src = HyperliquidSource(["BTC"])
    src.speed = 60
    src.paused = True
    assert (src.speed, src.paused, src.sim_time, src.can_pause) == (1.0, False, None, False)
    assert src.url == "wss://api.hyperliquid.xyz/ws"
    assert BinanceSource(["BTC"]).url == "wss://fstream.binance.com/ws/!markPrice@arr@1s"


def test_backoff_doubles_with_jitter_and_respects_the_cap() -> None:
    rng = random.Random(0)
    for attempt in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(20):
            delay = backoff_delay(attempt, 0.5, 30.0, rng)
            assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(10_000, 0.5, 30.0, rng) <= 30.0
    delays = {backoff_delay(3, 1.0, 30.0, rng) for _ in range(10)}
    assert len(delays) == 10  # jittered


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@given(st.one_of(st.text(), st.binary(), _JSON.map(json.dumps)))
def test_parsers_never_raise_and_never_yield_an_impossible_price(raw: str | bytes) -> None:
    hl = HyperliquidSource(["BTC", "ETH"])
    bn = BinanceSource(["BTC", "ETH"])
    for src in (hl, bn):
        frame = src.parse(raw)
        for symbol, price in frame.marks:
            assert symbol in ("BTC", "ETH") and math.isfinite(price) and price > 0


@given(
    st.sampled_from(["BTC", "ETH", "SOL", "x"]),
    st.one_of(_JSON, st.floats().map(repr), st.decimals().map(str)),
)
def test_each_mark_price_is_validated(coin: str, value: Any) -> None:
    frame = HyperliquidSource(["BTC", "ETH"], funding=False).parse(asset_ctx(coin, mark=value))
    for symbol, price in frame.marks:
        assert symbol == coin and math.isfinite(price) and price > 0
    if coin in ("BTC", "ETH"):
        assert (frame.problem is None) == bool(frame.marks)
    else:
        assert frame.marks == [] and frame.problem is None  # not configured: ignored
