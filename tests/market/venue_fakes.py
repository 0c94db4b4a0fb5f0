"""A fake Hyperliquid on 127.0.0.1 that lists a whole venue's markets: it answers the ``meta``
info request (a websocket ``post``) with the shipped 22 markets plus as many made-up ones as
asked, then streams an ``activeAssetCtx`` (mark, funding, price 24 hours ago) for every market
it is subscribed to. Tests read what it was sent."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from tui.engine.markets import venue_data
from tui.market import MARKETS


def extra_name(i: int) -> str:
    """The made-up markets: ``M001``, ``M002``, ..."""
    return f"M{i:03d}"


def venue_meta(
    total: int = 200, changes: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A ``meta`` answer with ``total`` markets: the shipped 22 (each changed by ``changes``,
    e.g. ``{"BTC": {"maxLeverage": 25, "marginTableId": 25}}``), then made-up ones at 5x with
    one size decimal (table id 5: one tier at 5x, as Hyperliquid reads a small id)."""
    meta = copy.deepcopy(dict(venue_data("hyperliquid")["meta"]))
    for asset in meta["universe"]:
        asset.update((changes or {}).get(asset["name"], {}))
    shipped = len(meta["universe"])
    meta["universe"] += [
        {"name": extra_name(i), "szDecimals": 1, "maxLeverage": 5, "marginTableId": 5}
        for i in range(1, total - shipped + 1)
    ]
    return meta


def price_of(coin: str) -> float:
    """A mark per coin: the simulation's reference price for the shipped markets, and distinct
    made-up ones for the rest (so sorts are checkable): M001 -> 1.01, M002 -> 1.02."""
    if coin in MARKETS:
        return MARKETS[coin].ref_price
    return 1.0 + int(coin[1:]) / 100


@dataclass
class FakeHyperliquid:
    """Serves one connection at a time. ``meta`` is what it answers (``None``: it never
    answers; a string: it refuses with that error); ``sent`` every frame it received."""

    meta: dict[str, Any] | str | None = field(default_factory=venue_meta)
    prev_day: Callable[[str], float] = lambda coin: price_of(coin) / 1.1
    interval: float = 0.2
    """Seconds between two rounds of contexts (one per subscribed coin)."""
    sent: list[dict[str, Any]] = field(default_factory=list)
    subscribed: set[str] = field(default_factory=set)

    async def handler(self, ws: Any) -> None:
        streamer = asyncio.ensure_future(self._stream(ws))
        try:
            async for raw in ws:
                msg = json.loads(raw)
                self.sent.append(msg)
                if msg.get("method") == "post":
                    await self._answer(ws, msg)
                elif msg.get("method") in ("subscribe", "unsubscribe"):
                    sub = msg["subscription"]
                    if sub["type"] == "activeAssetCtx":
                        if msg["method"] == "subscribe":
                            self.subscribed.add(sub["coin"])
                        else:
                            self.subscribed.discard(sub["coin"])
        finally:
            streamer.cancel()

    async def _answer(self, ws: Any, msg: dict[str, Any]) -> None:
        if self.meta is None:
            return
        if isinstance(self.meta, str):
            response: dict[str, Any] = {"type": "error", "payload": self.meta}
        else:
            response = {"type": "info", "payload": {"type": "meta", "data": self.meta}}
        await ws.send(
            json.dumps({"channel": "post", "data": {"id": msg["id"], "response": response}})
        )

    async def _stream(self, ws: Any) -> None:
        """Every ``interval``, a fresh context for every subscribed coin (the mark creeps up)."""
        step = 0
        while True:
            step += 1
            for coin in sorted(self.subscribed):
                ctx = {
                    "markPx": str(round(price_of(coin) * (1 + step * 1e-6), 8)),
                    "funding": "0.0000125",
                    "prevDayPx": str(round(self.prev_day(coin), 8)),
                }
                await ws.send(
                    json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}})
                )
            await asyncio.sleep(self.interval)

    def posts(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("method") == "post"]


@contextlib.asynccontextmanager
async def fake_hyperliquid(venue: FakeHyperliquid) -> AsyncIterator[str]:
    """``venue`` served on 127.0.0.1 (a random port); yields its URL."""
    from websockets.asyncio.server import serve

    async with serve(venue.handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def _serve_forever(port: int, total: int, interval: float) -> None:
    from websockets.asyncio.server import serve

    def prev_day(coin: str) -> float:  # changes from -10 % to +11 %, so sorts show something
        return price_of(coin) / (0.9 + sum(map(ord, coin)) % 22 / 100)

    venue = FakeHyperliquid(meta=venue_meta(total), prev_day=prev_day, interval=interval)
    async with serve(venue.handler, "127.0.0.1", port, max_size=None) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(
            f"A fake Hyperliquid listing {total} markets on ws://127.0.0.1:{bound}\n"
            f"Try: perpdesk --source hyperliquid --feed-url ws://127.0.0.1:{bound}",
            flush=True,
        )
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.market.venue_fakes``: serve the fake venue until Ctrl+C, to try a
    whole venue's markets by hand (127.0.0.1 only)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.market.venue_fakes")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--markets", type=int, default=200, help="how many it lists")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between rounds")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.markets, args.interval))


if __name__ == "__main__":
    main()
