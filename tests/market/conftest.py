from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tui.market import FeedState, FeedStatus, PriceSource


class RecordingSink:
    """A MarkSink that records everything, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.statuses: list[FeedStatus] = []

    def on_mark(self, symbol: str, price: float) -> None:
        self.events.append(("mark", symbol, price))

    def on_funding_rate(self, symbol: str, rate_per_hour: float) -> None:
        self.events.append(("rate", symbol, rate_per_hour))

    def on_funding(self, symbol: str, rate_per_hour: float) -> None:
        self.events.append(("funding", symbol, rate_per_hour))

    def on_status(self, status: FeedStatus) -> None:
        self.statuses.append(status)

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


def asset_ctx(coin: str, funding: object) -> str:
    ctx = {"funding": funding, "markPx": "1", "oraclePx": "1", "openInterest": "1"}
    return json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}})
