"""Feeds and files quote what servers and files send: never raw control characters."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tests.market.conftest import RecordingSink, running, wait_until, ws_server
from tui.market import BinanceSource, FeedState, HyperliquidSource, ReplaySource
from tui.market.replay import read_replay
from tui.safe import safe_text

FAST: dict[str, Any] = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}
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


# ---------------------------------------------------------------- fuzzers

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_HOSTILE = st.sampled_from(
    ["\x1b]0;pwned\x1b\\", "\x1bc", "\x1b[2J", "\x9b2J", "\x9d0;x\x9c", "\u202e", "\x07", "\r"]
)
_CELL = st.one_of(
    _HOSTILE,
    st.text(alphabet=st.characters(exclude_categories=_SURROGATES), max_size=12),
    st.sampled_from(["2025-11-20T14:00:00Z", "1763647200", "0", "1e308", "BTC", "97000.5", ""]),
)
_VALID_ROW = st.tuples(
    st.sampled_from(["2025-11-20T14:00:00Z", "1763647201", "1763647202000"]),
    st.sampled_from(["BTC", "eth", " SOL "]),
    st.sampled_from(["97000.5", "1e3", "0.0001"]),
).map(list)
_CSV_ROWS = st.lists(st.lists(_CELL, min_size=1, max_size=5) | _VALID_ROW, max_size=12)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@fuzz(200)
@given(
    extra=st.lists(_CELL, max_size=3),
    order=st.permutations(["timestamp", "symbol", "price"]),
    rows=_CSV_ROWS,
    raw=st.binary(max_size=200),
    use_raw=st.booleans(),
)
def test_fuzz_replay_files_yield_only_safe_messages(
    tmp_path_factory: pytest.TempPathFactory,
    extra: list[str],
    order: list[str],
    rows: list[list[str]],
    raw: bytes,
    use_raw: bool,
) -> None:
    """Any file: a replay, or a refusal (ValueError); every message shown escaped."""
    path = tmp_path_factory.mktemp("csv") / "rec\x1b]0;x\x07.csv"
    if use_raw:
        path.write_bytes(raw)
    else:
        columns = ["timestamp", "symbol", "price"]
        ordered = [[row[columns.index(c)] for c in order] + row[3:] if len(row) == 3 else row
                   for row in rows]  # fmt: skip
        path.write_text(_csv_text([*order, *extra], ordered), encoding="utf-8")
    try:
        src = ReplaySource(path, speed=100)
    except ValueError as refused:
        assert_safe(str(refused))
        return
    assert_safe(src.name)
    while not src.finished:
        src.step(100.0)
        for message in (*src.errors, src._detail(), src._ended_detail()):
            assert_safe(message)


_JSON_LEAF = st.one_of(
    _HOSTILE, st.text(max_size=8), st.floats(allow_nan=False), st.integers(), st.none()
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_CELL, inner, max_size=3),
    max_leaves=8,
)
_FRAMES = st.one_of(
    _JSON.map(json.dumps),
    st.builds(
        lambda channel, data: json.dumps({"channel": channel, "data": data}),
        st.one_of(_HOSTILE, st.sampled_from(["allMids", "activeAssetCtx", "error"])),
        _JSON,
    ),
    st.builds(
        lambda mids: json.dumps({"channel": "allMids", "data": {"mids": mids}}),
        st.dictionaries(st.sampled_from(["BTC", "ETH", "\x1bc"]), _JSON, max_size=3),
    ),
    st.binary(max_size=40),
)


@fuzz(400)
@given(frames=st.lists(_FRAMES, min_size=1, max_size=8))
def test_fuzz_feed_frames_never_reach_the_screen_raw(frames: list[str | bytes]) -> None:
    for source in (HyperliquidSource(["BTC", "ETH"]), BinanceSource(["BTC"])):
        sink = RecordingSink()
        for frame in frames:
            source._handle(frame, sink, 0.0)
            if source.last_problem is not None:
                assert_safe(source.last_problem)
        source._refresh(sink, 1.0, force=True)
        for status in sink.statuses:
            assert_safe(status.detail)
        assert all(math.isfinite(p) and p > 0 for _, p in sink.marks)
