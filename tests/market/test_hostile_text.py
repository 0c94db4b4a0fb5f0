"""Feeds and files quote what servers and files send: never raw control characters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.market.conftest import RecordingSink, running, wait_until, ws_server
from tui.market import FeedState, HyperliquidSource, ReplaySource
from tui.market.replay import read_replay
from tui.safe import safe_text

FAST = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}
OSC_TITLE = "\x1b]0;pwned\x1b\\"


def assert_safe(text: str) -> None:
    assert safe_text(text) == text, f"raw control characters in {text!r}"


@asynccontextmanager
async def raw_http_server(response: bytes) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 that answers any websocket handshake with ``response``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def test_c1_controls_in_a_handshake_header_are_escaped_in_the_status() -> None:
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: \x9b2J\x9d0;pwned\x9c\r\n"  # 8-bit CSI / OSC: HTTP allows bytes 0x80-0xff
        b"Connection: Upgrade\r\n\r\n"
    )
    sink = RecordingSink()
    async with raw_http_server(response) as url:
        src = HyperliquidSource(["BTC"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: FeedState.RECONNECTING in sink.states, what="a retry")
    failed = next(s for s in sink.statuses if s.state is FeedState.RECONNECTING)
    assert "\\x9b2J\\x9d0;pwned\\x9c" in failed.detail
    for status in sink.statuses:
        assert_safe(status.detail)
        assert_safe(status.source)


async def test_a_server_error_frame_is_quoted_escaped() -> None:
    async def handler(ws: Any) -> None:
        await ws.send(json.dumps({"channel": "error", "data": f"{OSC_TITLE}\x1bc\x1b[2J"}))
        async for _ in ws:
            pass

    sink = RecordingSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(["BTC"], url=url, **FAST)
        async with running(src, sink):
            await wait_until(lambda: src.bad_frames > 0, what="the error frame")
    assert src.last_problem == "server error: \\x1b]0;pwned\\x1b\\\\x1bc\\x1b[2J"


def test_a_hostile_url_is_shown_escaped_in_the_connecting_status() -> None:
    src = HyperliquidSource(["BTC"], url="ws://127.0.0.1:1/\x1b]0;pwned\x07", **FAST)
    sink = RecordingSink()
    src._emit_status(sink, src._make_status(FeedState.CONNECTING, f"Connecting to {src.url}", 0))
    assert sink.statuses[0].detail == "Connecting to ws://127.0.0.1:1/\\x1b]0;pwned\\x07"


# ---------------------------------------------------------------- replay files


@pytest.mark.parametrize("attack", [OSC_TITLE, "\x1bc", "\x1b[2J", "\x9b2J", "\u202eBTC"])
def test_a_hostile_header_is_quoted_escaped_in_row_errors(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(
        f"timestamp,symbol,price,{attack}\n"
        "2025-11-20T14:00:00Z,BTC,100000,x\n"
        f"2025-11-20T14:00:01Z,BTC,100001\n",  # one field short: the error quotes the header
        encoding="utf-8",
    )
    data = read_replay(path)
    assert data.error_count == 1
    assert safe_text(attack).lower() in data.errors[0]  # the header is read lower-cased
    assert_safe(data.errors[0])


def test_hostile_values_and_paths_are_escaped_in_refusals(tmp_path: Path) -> None:
    folder = tmp_path / "rec\x1b]0;pwned\x07"
    folder.mkdir()
    path = folder / "x.csv"
    path.write_text("time,sym\x9b2J,price\n1,BTC,1\n", encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        read_replay(path)
    assert "\\x1b]0;pwned\\x07" in str(refused.value)
    assert_safe(str(refused.value))
    path.write_text("timestamp,symbol,price\n1,BTC,1\n", encoding="utf-8")
    assert_safe(ReplaySource(path).name)
