"""Every mark reaches a sink with its feed time (``on_clock``), so candles are built in feed
time: a replay at 100x or a simulation at 60x draws the same candles as at 1x."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.market.conftest import RecordingSink, asset_ctx, running, wait_until, ws_server
from tui.market import EventKind, HyperliquidSource, ReplaySource, SimSource, StepResult

FAST = {"backoff_base": 0.02, "backoff_cap": 0.05, "jitter_seed": 1}


class ClockSink(RecordingSink):
    """Records ``on_clock`` calls in the same stream as the marks."""

    def on_clock(self, feed_time: float) -> None:
        self.events.append(("clock", "", feed_time))

    def timed_marks(self) -> list[tuple[float, str, float]]:
        """Each mark with the feed time last announced before it."""
        now = float("nan")
        out: list[tuple[float, str, float]] = []
        for kind, symbol, value in self.events:
            if kind == "clock":
                now = value
            elif kind == "mark":
                out.append((now, symbol, value))
        return out


def test_a_fast_replay_step_gives_every_mark_its_own_row_time(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(
        "timestamp,symbol,price\n"
        "1700000000,BTC,100\n1700000000,ETH,10\n1700000030,BTC,101\n1700000059,BTC,102\n"
        "1700000061,BTC,103\n1700000100,ETH,11\n",
        encoding="utf-8",
    )
    src = ReplaySource(path, speed=100)
    sink = ClockSink()
    src.snapshot().deliver(sink)
    src.step(1.0).deliver(sink)  # 100 s of recording in one step
    assert sink.timed_marks() == [
        (1700000000.0, "BTC", 100.0),
        (1700000000.0, "ETH", 10.0),
        (1700000030.0, "BTC", 101.0),
        (1700000059.0, "BTC", 102.0),
        (1700000061.0, "BTC", 103.0),
        (1700000100.0, "ETH", 11.0),
    ]
    # one clock event per distinct instant, not per row
    assert [v for k, _, v in sink.events if k == "clock"] == [
        1700000000.0,
        1700000030.0,
        1700000059.0,
        1700000061.0,
        1700000100.0,
    ]
    assert src.feed_time == 1700000100.0


def test_the_simulation_stamps_marks_with_sim_time_and_funding_with_the_hour() -> None:
    src = SimSource(["BTC", "ETH"], seed=3, speed=60)
    sink = ClockSink()
    src.snapshot().deliver(sink)
    src.step(59.0).deliver(sink)  # 3,540 s of sim time
    src.step(2.0).deliver(sink)  # crosses the hour: split there, then 60 s more
    times = [t for t, _, _ in sink.timed_marks()]
    assert times == [0.0, 0.0, 3540.0, 3540.0, 3600.0, 3600.0, 3660.0, 3660.0]
    now = float("nan")
    paid_at: list[float] = []
    for kind, _, value in sink.events:
        if kind == "clock":
            now = value
        elif kind == "funding":
            paid_at.append(now)
    assert paid_at == [3600.0, 3600.0]
    assert src.feed_time == 3660.0


def test_a_sink_without_on_clock_still_gets_every_mark() -> None:
    result = StepResult([(EventKind.CLOCK, "", 5.0), (EventKind.MARK, "BTC", 1.0)])
    plain = RecordingSink()
    assert result.deliver(plain) == 1
    assert plain.events == [("mark", "BTC", 1.0)]


async def test_live_marks_are_stamped_with_the_wall_clock() -> None:
    async def handler(ws: Any) -> None:
        await ws.recv()
        await ws.send(asset_ctx("BTC", mark="100000.5"))  # Hyperliquid's markPx
        async for _ in ws:  # hold the connection open until the client leaves
            pass

    sink = ClockSink()
    async with ws_server(handler) as url:
        src = HyperliquidSource(
            ["BTC"], url=url, funding=False, wall_clock=lambda: 1_700_000_123.25, **FAST
        )
        assert src.feed_time == 1_700_000_123.25
        async with running(src, sink):
            await wait_until(lambda: bool(sink.marks), what="BTC mark")
    assert sink.timed_marks() == [(1_700_000_123.25, "BTC", 100000.5)]
