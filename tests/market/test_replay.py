from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.market.conftest import RecordingSink, running
from tests.market.make_sample_replay import sample_csv
from tui.market import SAMPLE_REPLAY, FeedState, ReplaySource
from tui.market.replay import parse_timestamp, read_replay


def write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the shipped sample


def test_sample_replay_is_reproducible() -> None:
    assert SAMPLE_REPLAY.read_text(encoding="utf-8") == sample_csv()


def test_sample_replay_plays_every_row_in_order() -> None:
    src = ReplaySource(SAMPLE_REPLAY, speed=100)
    assert src.symbols == ("BTC", "ETH", "SOL")
    assert src.errors == [] and src.error_count == 0
    assert len(read_replay(SAMPLE_REPLAY).rows) == 360 and src.duration == 1190.0
    with SAMPLE_REPLAY.open(newline="") as handle:
        expected = [(r["symbol"], float(r["price"])) for r in csv.DictReader(handle)]
    played = src.snapshot().marks
    assert played == expected[:3]
    while not src.finished:
        played += src.step(0.25).marks
    assert played == expected
    assert src.marks_emitted == 360
    btc = [p for s, p in played if s == "BTC"]
    assert min(btc) / btc[0] - 1 == pytest.approx(-0.04, abs=0.01)  # the dip
    assert src._ended_detail() == "Replay finished: 360 marks from sample_replay.csv"


# ---------------------------------------------------------------- parsing


def test_bad_rows_are_reported_by_line_and_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,symbol,price\n"  # line 1
        "2025-11-20T14:00:00Z,BTC,100000\n"  # 2 ok
        "2025-11-20T14:00:01Z,BTC,abc\n"  # 3
        "yesterday,BTC,100001\n"  # 4
        "2025-11-20T14:00:02Z,BTC\n"  # 5
        "2025-11-20T14:00:03Z,BTC,-5\n"  # 6
        "2025-11-20T14:00:04Z,BTC,nan\n"  # 7
        "2025-11-20T14:00:05Z,,100\n"  # 8
        "\n"  # 9: blank, ignored
        "1763647206,eth,3500.5\n"  # 10 ok: epoch seconds, symbol upper-cased
        "1763647207000,BTC,100002\n"  # 11 ok: epoch milliseconds
        "2025-11-20T14:00:08,BTC,100003\n"  # 12 ok: no zone = UTC
        "2025-11-20T15:00:08+01:00,SOL,0\n",  # 13
    )
    src = ReplaySource(path)
    assert src.errors == [
        "line 3: price 'abc' is not a number",
        "line 4: timestamp 'yesterday' is not ISO-8601 or epoch seconds",
        "line 5: expected 3 fields (timestamp,symbol,price), got 2",
        "line 6: price '-5' is not positive",
        "line 7: price 'nan' is not a number",
        "line 8: symbol '' is not valid: use 1 to 20 letters or digits, e.g. 'BTC'",
        "line 13: price '0' is not positive",
    ]
    assert src.error_count == 7
    assert src.symbols == ("BTC", "ETH")
    rows = read_replay(path).rows
    assert [(r.line, r.symbol, r.price) for r in rows] == [
        (2, "BTC", 100000.0),
        (10, "ETH", 3500.5),
        (11, "BTC", 100002.0),
        (12, "BTC", 100003.0),
    ]
    assert rows[1].time == datetime(2025, 11, 20, 14, 0, 6, tzinfo=UTC).timestamp()


def test_header_in_any_order_with_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffPrice, Symbol ,note,TIMESTAMP\n101.5,btc,hi,100\n102,BTC,,101\n")
    assert [(r.symbol, r.price, r.time) for r in read_replay(path).rows] == [
        ("BTC", 101.5, 100.0),
        ("BTC", 102.0, 101.0),
    ]


def test_rows_play_in_time_order(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,symbol,price\n20,BTC,3\n0,BTC,1\n10,BTC,2\n10,ETH,9\n")
    src = ReplaySource(path, speed=100)
    played = src.snapshot().marks + src.step(1.0).marks
    assert played == [("BTC", 1.0), ("BTC", 2.0), ("ETH", 9.0), ("BTC", 3.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; expected a header: timestamp,symbol,price"),
        ("\n\n", "is empty"),
        ("time,symbol,price\n1,BTC,1\n", "missing: timestamp"),
        ("timestamp,symbol\n1,BTC\n", "missing: price"),
        ("timestamp,symbol,price\n", "has no valid rows"),
        ("timestamp,symbol,price\n1,BTC,x\n", r"no valid rows \(first problem: line 2: price 'x'"),
    ],
)
def test_unusable_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReplaySource(write(tmp_path, text))


def test_missing_directory_and_binary_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Replay file not found: .*nope\.csv"):
        ReplaySource(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="is a directory"):
        ReplaySource(tmp_path)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"timestamp,symbol,price\n\xff\xfe,BTC,1\n")
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        ReplaySource(binary)


def test_symbol_filter(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,symbol,price\n0,BTC,1\n0,ETH,2\n1,ETH,3\n")
    src = ReplaySource(path, ["eth"])
    assert src.symbols == ("ETH",)
    assert [r.price for r in read_replay(path, ["eth"]).rows] == [2.0, 3.0]
    assert read_replay(path, ["ETH"]).other_symbols == 1
    with pytest.raises(ValueError, match=r"no rows for the configured markets \(DOGE\)"):
        ReplaySource(path, ["DOGE"])


def test_timestamps() -> None:
    assert parse_timestamp("1700000000") == 1_700_000_000.0
    assert parse_timestamp("1700000000500") == 1_700_000_000.5
    assert parse_timestamp("2025-01-01T00:00:00Z") == 1_735_689_600.0
    assert parse_timestamp(" 2025-01-01 01:00:00+01:00 ") == 1_735_689_600.0
    for bad, why in [("", "empty"), ("-5", "before 1970"), ("2025-13-01", "not ISO-8601")]:
        with pytest.raises(ValueError, match=why):
            parse_timestamp(bad)


# ---------------------------------------------------------------- pacing and controls


def test_marks_are_paced_by_timestamp_gaps_over_speed(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,symbol,price\n0,BTC,1\n10,BTC,2\n20,BTC,3\n")
    src = ReplaySource(path, speed=10)
    assert src.snapshot().marks == [("BTC", 1.0)]
    assert src.step(0.5).marks == []  # 5 s of recording
    assert src.step(0.5).marks == [("BTC", 2.0)]  # 10 s
    src.paused = True
    assert src.step(5.0).marks == [] and src.sim_time == 10.0
    src.paused = False
    src.speed = 1
    assert src.step(9.9).marks == []
    assert src.step(0.1).marks == [("BTC", 3.0)]
    assert src.finished
    assert src.replay_time == datetime.fromtimestamp(20, UTC)


def test_replay_speed_is_validated(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path, "timestamp,symbol,price\n0,BTC,1\n"), speed=100)
    for bad in (0, 0.5, 101, float("nan"), float("inf"), True, "2"):
        with pytest.raises(ValueError, match="replay speed must be between 1 and 100"):
            src.speed = bad  # type: ignore[assignment]
    assert src.speed == 100
    src.speed = 2.5
    assert src.speed == 2.5


async def test_run_paces_reports_errors_and_ends(tmp_path: Path) -> None:
    rows = "".join(f"{t},BTC,{100 + t}\n" for t in range(5))
    path = write(tmp_path, "timestamp,symbol,price\n" + rows + "5,BTC,oops\n", "five.csv")
    src = ReplaySource(path, speed=100, tick_interval=0.01)
    sink = RecordingSink()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(src.run(sink), timeout=2)
    elapsed = loop.time() - started
    assert sink.marks == [("BTC", 100.0 + t) for t in range(5)]
    assert elapsed >= 0.03  # 4 s of recording at 100x, not all at once
    assert sink.states == [FeedState.CONNECTED, FeedState.ENDED]
    first, last = sink.statuses
    assert first.detail == (
        "Replaying five.csv · 100x · 1 bad row skipped "
        "(first: line 7: price 'oops' is not a number)"
    )
    assert first.errors == 1
    assert last.detail == "Replay finished: 5 marks from five.csv (1 bad row skipped)"


async def test_paused_replay_holds_until_resumed(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,symbol,price\n0,BTC,1\n1,BTC,2\n")
    src = ReplaySource(path, speed=100, tick_interval=0.01)
    src.paused = True
    sink = RecordingSink()
    async with running(src, sink) as task:
        await asyncio.sleep(0.08)
        assert sink.marks == [("BTC", 1.0)]
        assert sink.states == [FeedState.PAUSED]
        src.paused = False
        await asyncio.wait_for(task, timeout=1)
    assert sink.marks == [("BTC", 1.0), ("BTC", 2.0)]
    assert sink.states == [FeedState.PAUSED, FeedState.CONNECTED, FeedState.ENDED]
