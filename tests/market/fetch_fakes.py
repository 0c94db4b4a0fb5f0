"""Fake venues for the candle downloader, on 127.0.0.1: a Hyperliquid websocket that answers
``post`` info requests, and a Binance HTTP server that answers ``/fapi/v1/klines``. Each keeps
its candles, a script of misbehaviour per request, and a log of what it was asked."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MINUTE = 60_000


def ms(text: str) -> int:
    """``'2025-10-10T18:00'`` (UTC) -> epoch milliseconds."""
    return round(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


T0 = ms("2025-10-10T18:00")


def ohlc(t: int, o: float, h: float, low: float, c: float) -> tuple[int, str, str, str, str]:
    return (t, repr(o), repr(h), repr(low), repr(c))


def steady(
    start: int, n: int, price: float, step: float = 10.0, wick: float = 1.0
) -> list[tuple[int, str, str, str, str]]:
    """``n`` 1m candles moving by ``step``: open p, close p+step, the high ``wick`` above the
    higher of the two and the low ``wick`` below the lower; the next opens at the close."""
    out = []
    p = price
    for i in range(n):
        c = p + step
        out.append(ohlc(start + i * MINUTE, p, max(p, c) + wick, min(p, c) - wick, c))
        p += step
    return out


class FakeHyperliquid:
    """``candles``: coin -> list of ``(t, o, h, l, c)``. ``script``: a list consumed one entry
    per candleSnapshot request: ``None`` answers normally; ``'429'``, ``'500'``, ``'422'`` answer
    a post error with that status; ``'too-many'`` sends the error channel's message for this id;
    ``'slow-down'`` answers a post error without a status; ``'close'`` drops the connection;
    ``'garbage'`` sends noise before the real answer."""

    def __init__(self, candles: dict[str, list[tuple[int, str, str, str, str]]]) -> None:
        self.candles = candles
        self.universe = ["BTC", "ETH", "SOL", "kPEPE"]
        self.script: list[str | None] = []
        self.cap = 5000
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.extra_items: list[Any] = []

    def snapshots(self) -> list[dict[str, Any]]:
        return [
            r["request"]["payload"]["req"]
            for r in self.requests
            if r.get("request", {}).get("payload", {}).get("type") == "candleSnapshot"
        ]

    def _candles(self, req: dict[str, Any]) -> list[Any]:
        rows = [
            {"t": t, "T": t + MINUTE - 1, "s": req["coin"], "i": req["interval"],
             "o": o, "c": c, "h": h, "l": low, "v": "1.0", "n": 3}
            for t, o, h, low, c in self.candles.get(req["coin"], [])
            if req["startTime"] <= t <= req["endTime"]
        ]  # fmt: skip
        return (rows + list(self.extra_items))[: self.cap]

    async def handler(self, ws: Any) -> None:
        self.connections += 1
        async for raw in ws:
            msg = json.loads(raw)
            self.requests.append(msg)
            if msg.get("method") != "post":
                continue
            rid = msg["id"]
            payload = msg["request"]["payload"]
            if payload["type"] == "meta":
                universe = [{"name": n, "szDecimals": 5} for n in self.universe]
                await ws.send(self._post(rid, {"type": "meta", "data": {"universe": universe}}))
                continue
            action = self.script.pop(0) if self.script else None
            if action == "close":
                await ws.close()
                return
            if action in ("429", "500", "422"):
                text = {"429": "Too Many Requests", "500": "Internal Server Error"}.get(
                    action, "Failed to deserialize the JSON body \x1b[31m"
                )
                error = {"type": "error", "payload": f"{action} {text}"}
                await ws.send(
                    json.dumps({"channel": "post", "data": {"id": rid, "response": error}})
                )
                continue
            if action == "slow-down":
                error = {"type": "error", "payload": "Rate limited: slow down"}
                await ws.send(
                    json.dumps({"channel": "post", "data": {"id": rid, "response": error}})
                )
                continue
            if action == "too-many":
                text = f"too many pending post requests id={rid}"
                await ws.send(json.dumps({"channel": "error", "data": text}))
                continue
            if action == "garbage":
                await ws.send("not json")
                await ws.send(json.dumps({"channel": "pong"}))
                await ws.send(self._post(rid + 1000, {"type": "candleSnapshot", "data": []}))
                await ws.send(json.dumps({"channel": "error", "data": "oops id=99999"}))
            data = self._candles(payload["req"])
            await ws.send(self._post(rid, {"type": "candleSnapshot", "data": data}))

    @staticmethod
    def _post(rid: int, payload: Any) -> str:
        response = {"type": "info", "payload": payload}
        return json.dumps({"channel": "post", "data": {"id": rid, "response": response}})


class FakeBinance:
    """``klines``: venue symbol -> list of ``(t, o, h, l, c)``. ``script``: consumed one per
    klines request: ``None`` answers normally, else ``(status, headers, body)``. ``headers``
    are added to every normal answer; ``cap`` limits an answer below the asked limit."""

    def __init__(self, klines: dict[str, list[tuple[int, str, str, str, str]]]) -> None:
        self.klines = klines
        self.script: list[tuple[int, dict[str, str], str] | None] = []
        self.headers: dict[str, str] = {}
        self.cap = 1500
        self.queries: list[dict[str, str]] = []
        self.paths: list[str] = []

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        self.paths.append(path)
        self.queries.append(query)
        action = self.script.pop(0) if self.script else None
        if action is not None:
            return action
        if path != "/fapi/v1/klines":
            return 404, {}, "{}"
        symbol = query["symbol"]
        if symbol not in self.klines:
            return 400, {}, json.dumps({"code": -1121, "msg": "Invalid symbol."})
        start, end, limit = int(query["startTime"]), int(query["endTime"]), int(query["limit"])
        rows = [
            [t, o, h, low, c, "1.0", t + MINUTE - 1, "1.0", 3, "0.5", "0.5", "0"]
            for t, o, h, low, c in self.klines[symbol]
            if start <= t <= end
        ][: min(limit, self.cap)]
        return 200, dict(self.headers), json.dumps(rows)


@contextlib.contextmanager
def binance_server(fake: FakeBinance) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (random port) answering from ``fake``; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, headers, body = fake.answer(parts.path, query)
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class FakeTime:
    """A clock that moves only when slept on; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Notes:
    """A Reporter that records; ``stop_after`` raises KeyboardInterrupt on that advance."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.notes: list[str] = []
        self.started: list[tuple[int, int]] = []
        self.advanced = 0
        self.stop_after = stop_after

    def start(self, total: int, done: int, description: str) -> None:
        self.started.append((total, done))

    def advance(self, candles: int) -> None:
        self.advanced += 1
        if self.stop_after is not None and self.advanced >= self.stop_after:
            raise KeyboardInterrupt

    def note(self, message: str) -> None:
        self.notes.append(message)

    def finish(self) -> None:
        pass
