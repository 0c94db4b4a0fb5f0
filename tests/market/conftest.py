from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from tui.market import FeedState, FeedStatus, PriceSource


class RecordingSink:
    """A MarkSink that records everything, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.statuses: list[FeedStatus] = []
        self.books: list[tuple[str, list[tuple[float, float]], list[tuple[float, float]], float]]
        self.books = []  # kept apart from ``events``, so mark-only tests stay as they are

    def on_mark(self, symbol: str, price: float) -> None:
        self.events.append(("mark", symbol, price))

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        self.events.append(("rate", symbol, rate_per_hour))

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        self.events.append(("funding", symbol, rate_per_hour))

    def on_status(self, status: FeedStatus) -> None:
        self.statuses.append(status)

    def on_book(
        self,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        time: float,
    ) -> None:
        self.books.append((symbol, list(bids), list(asks), time))

    @property
    def marks(self) -> list[tuple[str, float]]:
        return [(s, v) for k, s, v in self.events if k == "mark"]

    @property
    def rates(self) -> list[tuple[str, float]]:
        return [(s, v) for k, s, v in self.events if k == "rate"]

    @property
    def funding(self) -> list[tuple[str, float]]:
        return [(s, v) for k, s, v in self.events if k == "funding"]

    @property
    def states(self) -> list[FeedState]:
        return [s.state for s in self.statuses]


async def wait_until(cond: Callable[[], bool], timeout: float = 1.5, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(source: PriceSource, sink: RecordingSink) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``source.run(sink)`` as a task for the duration of the block, then cancel it."""
    task = asyncio.create_task(source.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


Handler = Callable[[Any], Awaitable[None]]


@contextlib.asynccontextmanager
async def ws_server(handler: Handler) -> AsyncIterator[str]:
    """A real websockets server on 127.0.0.1 (random port) running ``handler``; yields its URL."""
    from websockets.asyncio.server import serve

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mids(**prices: object) -> str:
    return json.dumps({"channel": "allMids", "data": {"mids": prices}})


_NO = object()


def asset_ctx(coin: str, funding: object = "0.0000125", mark: object = _NO) -> str:
    """Hyperliquid's ``activeAssetCtx`` frame (``mark``: its ``markPx``, left out by default;
    ``funding=None`` leaves the rate out)."""
    ctx: dict[str, object] = {"oraclePx": "1", "openInterest": "1", "midPx": "1"}
    if funding is not None:
        ctx["funding"] = funding
    if mark is not _NO:
        ctx["markPx"] = mark
    return json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}})


def marks(**prices: object) -> list[str]:
    """One ``activeAssetCtx`` frame per coin carrying its mark (and the resting funding rate)."""
    return [asset_ctx(coin, mark=price) for coin, price in prices.items()]


def l2book(coin: str, bids: Sequence[tuple[object, object]], asks: Sequence[tuple[object, object]],
           time: object = 1_763_647_200_000) -> str:  # fmt: skip
    """Hyperliquid's ``l2Book`` frame: levels as ``{"px", "sz", "n"}`` objects, best first."""
    levels = [[{"px": px, "sz": sz, "n": 1} for px, sz in side] for side in (bids, asks)]
    return json.dumps({"channel": "l2Book", "data": {"coin": coin, "time": time, "levels": levels}})
