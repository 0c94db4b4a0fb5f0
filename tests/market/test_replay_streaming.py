"""The replay streams its file: bounded memory, quick start, and no stray row can stall it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tui.market import EventKind, ReplaySource
from tui.market.replay import MAX_LINE_CHARS, REORDER_ROWS, read_replay

DAY = 86_400.0
T0 = datetime(2025, 11, 20, 14, tzinfo=UTC).timestamp()


def write(tmp_path: Path, rows: list[str], name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text("timestamp,symbol,price\n" + "".join(f"{r}\n" for r in rows), "utf-8")
    return path


def ticks(n: int, start: float = T0, step: float = 1.0, symbol: str = "BTC") -> list[str]:
    return [f"{start + i * step:.3f},{symbol},{100 + i % 7}" for i in range(n)]


def play_all(src: ReplaySource, dt: float = 1.0, limit: int = 100_000) -> list[tuple[str, float]]:
    marks = src.snapshot().marks
    for _ in range(limit):
        if src.finished:
            return marks
        marks += src.step(dt).marks
    raise AssertionError("the replay did not finish")


# ---------------------------------------------------------------- streaming


def test_opening_reads_a_bounded_first_pass_not_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, ticks(50_000))
    src = ReplaySource(path, speed=100)
    assert src._timeline._read == REORDER_ROWS + 1  # of 50,000: the window and the next row
    assert src.symbols == ("BTC",) and src.start_time == T0
    assert src.duration == 49_999.0  # from the file's tail
    assert src.snapshot().marks == [("BTC", 100.0)]
    largest = 0
    while not src.finished:
        src.step(1.0)
        largest = max(largest, len(src._timeline._heap))
    assert largest <= REORDER_ROWS and src.marks_emitted == 50_000


def test_rows_a_little_out_of_order_are_put_right(tmp_path: Path) -> None:
    rows = ticks(3000)
    rows[1500], rows[1400] = rows[1400], rows[1500]  # 100 rows apart: inside the window
    src = ReplaySource(write(tmp_path, rows), speed=100)
    played = [p for _, p in play_all(src, 10.0)]
    assert len(played) == 3000 and src.error_count == 0


def test_a_row_far_out_of_order_is_reported_and_skipped(tmp_path: Path) -> None:
    rows = ticks(3000)
    late = rows.pop(10)
    rows.insert(2500, late)  # 2,490 rows late: played long before it is read
    path = write(tmp_path, rows)
    src = ReplaySource(path, speed=100)
    assert len(play_all(src, 10.0)) == 2999
    (error,) = src.errors
    assert error == (
        "line 2502: timestamp 2025-11-20T14:00:10Z is 24 min before rows already played "
        "(rows must be in time order); skipped"
    )


@pytest.mark.parametrize(
    "stray",
    [
        "0",  # 1970 in a 2025 recording
        f"{T0 + 900 * DAY:.0f}",  # ~2.5 years ahead
        f"{T0 - 60 * DAY:.0f}",  # two months back
        "1e308",
        "1.7976931348623157e308",
        "9999-12-31T23:59:59Z",
    ],
)
@pytest.mark.parametrize("where", [0, 500, 2999])
def test_a_stray_timestamp_is_skipped_and_never_stalls_the_replay(
    tmp_path: Path, stray: str, where: int
) -> None:
    rows = ticks(3000)
    rows.insert(where, f"{stray},BTC,123456")
    src = ReplaySource(write(tmp_path, rows), speed=100)
    assert src.start_time == T0
    marks = play_all(src, 1.0, limit=100)  # 100 s of wall time at 100x: 10,000 s of recording
    assert ("BTC", 123456.0) not in marks and len(marks) == 3000
    assert src.error_count == 1
    reasons = ("away from every other row", "before rows already played", "after the year 9999")
    assert src.errors[0].startswith(f"line {where + 2}: ")
    assert any(reason in src.errors[0] for reason in reasons), src.errors[0]
    assert src.sim_time < 3100
    assert src.duration == 2999.0


def test_a_long_gap_between_two_runs_is_jumped_and_said(tmp_path: Path) -> None:
    rows = ticks(100) + ticks(100, start=T0 + 30 * DAY)
    src = ReplaySource(write(tmp_path, rows), speed=10)
    marks = play_all(src, 1.0, limit=100)
    assert len(marks) == 200 and src.error_count == 0
    assert src.gaps_skipped == 1
    assert src.sim_time < 250  # not 30 days
    last = datetime.fromtimestamp(T0 + 30 * DAY + 99, UTC)
    assert 0 <= (src.replay_time - last).total_seconds() < 10  # the clock jumped the gap
    assert src._ended_detail() == (
        "Replay finished: 200 marks from rec.csv (1 long gap jumped (longest 30 d))"
    )


def test_hourly_data_keeps_its_pace(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path, ticks(50, step=3600.0)), speed=100)
    assert src._timeline.gap_limit == 86_400.0  # 1,000 typical gaps, at most a day
    assert len(play_all(src, 36.0)) == 50
    assert src.gaps_skipped == 0 and src.error_count == 0
    assert src.sim_time == pytest.approx(49 * 3600, abs=3600)


def test_an_endless_line_is_skipped_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("timestamp,symbol,price\n" + "\n".join(ticks(3)) + "\n")
        handle.write("1" * (MAX_LINE_CHARS * 5) + ",BTC,1\n")
        handle.write("\n".join(ticks(3, start=T0 + 3)) + "\n")
    src = ReplaySource(path, speed=100)
    assert len(play_all(src)) == 6
    assert src.errors == ["line 5: longer than 65,536 characters"]


def test_bytes_that_are_not_utf8_spoil_only_their_row(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    head = "timestamp,symbol,price,note\n" + "".join(f"{r},\n" for r in ticks(2000))
    tail = "".join(f"{r},\n" for r in ticks(5, start=T0 + 2000))
    bad = b"\xff\xfe,BTC,1,\n" + f"{T0 + 1999.5},BTC,1,caf\xe9\n".encode("latin-1")
    path.write_bytes(head.encode() + bad + tail.encode())
    src = ReplaySource(path, speed=100)
    assert len(play_all(src, 10.0)) == 2006  # a bad byte in an ignored column is harmless
    assert src.errors == ["line 2002: the row is not UTF-8 text"]


def test_a_symbol_first_seen_late_joins_when_it_plays(tmp_path: Path) -> None:
    rows = ticks(3000) + ticks(10, start=T0 + 3000, symbol="ETH")
    src = ReplaySource(write(tmp_path, rows), speed=100)
    assert src.symbols == ("BTC",)
    play_all(src, 10.0)
    assert list(src.symbols) == ["BTC", "ETH"]  # a fresh read: it grew as the file played


def test_no_valid_row_for_the_wanted_markets_is_found_by_reading_on(tmp_path: Path) -> None:
    path = write(tmp_path, [*ticks(5000), *ticks(1, start=T0 + 6000, symbol="ETH")])
    src = ReplaySource(path, ["ETH"])
    assert src.snapshot().marks == [("ETH", 100.0)]
    with pytest.raises(ValueError, match=r"no rows for the configured markets \(DOGE\)"):
        ReplaySource(path, ["DOGE"])


# ---------------------------------------------------------------- fuzzing the timeline

_TIMES = st.one_of(
    st.floats(0, 2e9),
    st.sampled_from([0.0, 1e308, 1.7976931348623157e308, 253402300799.0, T0, T0 + 1]),
    st.integers(0, 10**15).map(float),
)
_ROWS = st.lists(st.tuples(_TIMES, st.sampled_from(["BTC", "ETH"])), min_size=1, max_size=300)


@fuzz(150)
@given(
    rows=_ROWS, noise=st.lists(st.sampled_from(["x,BTC,1", "1,BTC,-1", ",,", "a,b"]), max_size=5)
)
def test_fuzz_any_timestamps_play_in_order_finish_soon_and_account_for_every_row(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[float, str]], noise: list[str]
) -> None:
    lines = [f"{t!r},{s},{i + 1}" for i, (t, s) in enumerate(rows)] + noise
    path = write(tmp_path_factory.mktemp("fuzz"), lines)
    try:
        data = read_replay(path)
    except ValueError as refused:
        assert "has no valid rows" in str(refused)  # every row unreadable: refused, said why
        with pytest.raises(ValueError, match="has no valid rows"):
            ReplaySource(path)
        return
    src = ReplaySource(path, speed=100)
    marks = play_all(src, 100.0, limit=5000)  # each gap waited out is at most a day
    assert len(marks) == len(data.rows) >= 1
    played = [r.time for r in data.rows]
    assert played == sorted(played)
    assert len(data.rows) + data.error_count == len(lines)  # every row played or reported
    assert math.isfinite(src.sim_time)
    last_step = 100.0 * 100  # the step that found the end overshoots it by up to dt * speed
    assert src.sim_time <= len(data.rows) * src._timeline.gap_limit + last_step
    assert src.replay_time.year <= 9999  # always a date that can be shown


def test_feed_time_and_clock_events_follow_the_recording_across_a_jumped_gap(
    tmp_path: Path,
) -> None:
    rows = ticks(3) + ticks(2, start=T0 + 30 * DAY)
    src = ReplaySource(write(tmp_path, rows), speed=100)
    events = src.snapshot().events
    while not src.finished:
        events += src.step(1.0).events
    clocks = [value for kind, _, value in events if kind is EventKind.CLOCK]
    assert clocks == [T0, T0 + 1, T0 + 2, T0 + 30 * DAY, T0 + 30 * DAY + 1]
    assert T0 + 30 * DAY + 1 <= src.feed_time < T0 + 30 * DAY + 101
