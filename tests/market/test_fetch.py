"""``perpdesk fetch``: candles from a venue into a replay CSV. The venues are fakes on 127.0.0.1
(tests/market/fetch_fakes.py); no test waits for real: sleeps are recorded, not slept."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from tests.market.conftest import ws_server
from tests.market.fetch_fakes import (
    MINUTE,
    T0,
    FakeBinance,
    FakeHyperliquid,
    FakeTime,
    Notes,
    binance_server,
    ms,
    ohlc,
    steady,
)
from tui.market import ReplaySource
from tui.market.fetch import (
    GAPS_KEPT,
    BinanceKlines,
    Candle,
    FetchError,
    FetchJob,
    FetchSummary,
    HyperliquidCandles,
    Interval,
    Pacer,
    candle_marks,
    clean_text,
    format_price,
    format_timestamp,
    parse_interval,
    parse_markets,
    parse_when,
    partial_hint,
    run_fetch,
)
from tui.market.replay import read_replay

ONE_MINUTE = Interval("1m", MINUTE)


def job(source: str, markets: tuple[str, ...], start: int, end: int) -> FetchJob:
    return FetchJob(source, markets, ONE_MINUTE, start, end, str(end))


def quiet(t: FakeTime) -> Pacer:
    """A pacer that never waits, so recorded sleeps are the retries' alone."""
    return Pacer(1e12, clock=t.clock, sleep=t.sleep)


def fetch(client: object, the_job: FetchJob, out: Path, t: FakeTime, **kw: object) -> FetchSummary:
    options: dict[str, object] = {
        "sleep": t.sleep,
        "clock": t.clock,
        "pacer": quiet(t),
        "rng": random.Random(7),
    }
    options.update(kw)
    return run_fetch(the_job, client, out, **options)  # type: ignore[arg-type]


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------- candles become marks


def test_a_rising_candle_goes_open_low_high_close_at_quarters() -> None:
    candle = Candle(T0, 100.0, 110.0, 95.0, 105.0)
    assert candle_marks(candle, MINUTE) == [
        (T0, 100.0),
        (T0 + 15_000, 95.0),
        (T0 + 30_000, 110.0),
        (T0 + 45_000, 105.0),
    ]


def test_a_falling_candle_goes_open_high_low_close_so_the_wick_is_in_the_replay() -> None:
    crash = Candle(T0, 121_000.0, 121_500.0, 102_000.0, 113_000.0)
    hour = 3_600_000
    assert candle_marks(crash, hour) == [
        (T0, 121_000.0),
        (T0 + 900_000, 121_500.0),  # +15 min
        (T0 + 1_800_000, 102_000.0),  # +30 min: the wick
        (T0 + 2_700_000, 113_000.0),  # +45 min
    ]


def test_a_price_equal_to_the_one_before_is_not_repeated() -> None:
    # open == low on a rising candle; close == high
    assert candle_marks(Candle(T0, 100.0, 104.0, 100.0, 104.0), MINUTE) == [
        (T0, 100.0),
        (T0 + 30_000, 104.0),
    ]
    # a flat candle is its open alone
    assert candle_marks(Candle(T0, 7.5, 7.5, 7.5, 7.5), MINUTE) == [(T0, 7.5)]


def test_timestamps_and_prices_are_written_as_the_replay_reads_them() -> None:
    assert format_timestamp(T0) == "2025-10-10T18:00:00Z"
    assert format_timestamp(T0 + 15_250) == "2025-10-10T18:00:15.250Z"
    assert format_price(100_000.0) == "100000.0"
    assert format_price(0.00001234) == "0.00001234"  # never 1.234e-05
    assert format_price(1e22) == "10000000000000000000000"
    assert float(format_price(0.1 + 0.2)) == 0.1 + 0.2


def test_text_from_a_venue_is_shown_with_control_characters_escaped() -> None:
    assert clean_text("bad \x1b[31mred\x1b[0m\n") == "bad \\x1b[31mred\\x1b[0m\\n"
    assert clean_text("x" * 300, 10) == "x" * 10 + "…"


# ---------------------------------------------------------------- arguments


def test_dates_are_utc_unless_they_name_a_zone() -> None:
    assert parse_when("2025-10-10T18:00", "--from") == T0
    assert parse_when("2025-10-10 18:00", "--from") == T0
    assert parse_when("2025-10-10T18:00Z", "--from") == T0
    assert parse_when("2025-10-10T20:00+02:00", "--from") == T0
    assert parse_when("2025-10-10", "--from") == T0 - 18 * 3_600_000
    for bad in ("yesterday", "2025-13-01", "", "10/10/2025"):
        with pytest.raises(ValueError, match=r"--from .* is not a date and time such as"):
            parse_when(bad, "--from")
    with pytest.raises(ValueError, match="before 1970"):
        parse_when("1969-12-31T23:59", "--to")


def test_intervals_are_the_venues_own() -> None:
    assert parse_interval("1m", "hyperliquid") == Interval("1m", 60_000)
    assert parse_interval("4H", "binance") == Interval("4h", 4 * 3_600_000)
    assert parse_interval("1w", "binance").ms == 7 * 86_400_000
    assert parse_interval("6h", "binance").ms == 6 * 3_600_000
    with pytest.raises(ValueError, match="not one Hyperliquid offers; choose one of: 1m, 3m"):
        parse_interval("6h", "hyperliquid")
    with pytest.raises(ValueError, match="not one Binance offers"):
        parse_interval("2m", "binance")
    with pytest.raises(ValueError, match="calendar month"):
        parse_interval("1M", "binance")


def test_markets_may_be_comma_separated_or_repeated() -> None:
    assert parse_markets(["btc,ETH", " sol "]) == ("BTC", "ETH", "SOL")
    with pytest.raises(ValueError, match="listed twice"):
        parse_markets(["BTC", "btc"])
    with pytest.raises(ValueError, match="is not valid"):
        parse_markets(["BTC-PERP"])
    with pytest.raises(ValueError, match="at least one market"):
        parse_markets([" , "])


def test_a_job_starts_on_a_candle_boundary_and_ends_at_the_last_complete_candle() -> None:
    now = ms("2025-10-11T06:30") + 20_000  # 06:30:20
    made, notes = FetchJob.from_args(
        source="Hyperliquid",
        markets=["BTC"],
        interval="1m",
        start="2025-10-10T18:00:30",
        end="2025-10-11T06:00",
        now_ms=now,
    )
    assert (made.source, made.markets, made.start_ms) == ("hyperliquid", ("BTC",), T0)
    assert made.end_ms == ms("2025-10-11T06:00") and notes == []
    future, notes = FetchJob.from_args(
        source="binance", markets=["BTC"], interval="5m", start="2025-10-11T06:00",
        end="2030-01-01", now_ms=now,
    )  # fmt: skip
    assert future.end_ms == ms("2025-10-11T06:30")  # the 06:30 candle is still open
    assert notes == [
        "--to 2030-01-01 00:00 UTC is later than the last complete 5m candle; "
        "fetching up to 2025-10-11 06:30 UTC"
    ]
    to_now, notes = FetchJob.from_args(
        source="binance", markets=["BTC"], interval="1h", start="2025-10-11", end="now", now_ms=now
    )
    assert to_now.end_ms == ms("2025-10-11T06:00") and to_now.to_text == "now" and notes == []
    weekly, _ = FetchJob.from_args(
        source="binance", markets=["BTC"], interval="1w", start="2025-10-01", end="now", now_ms=now
    )
    assert weekly.start_ms == ms("2025-09-29T00:00")  # the Monday of that week
    assert weekly.end_ms == ms("2025-10-06T00:00")  # the week of 10 October is not over


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-10-11T06:00", "2025-10-10T18:00", r"--to \(2025-10-10 18:00 UTC\) must be after"),
        ("2025-10-10T18:00", "2025-10-10T18:00", "must be after --from"),
        ("2025-10-11T06:30", "now", "no complete 1m candle between"),
    ],
)
def test_a_range_that_holds_no_candle_is_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FetchJob.from_args(
            source="hyperliquid", markets=["BTC"], interval="1m", start=start, end=end,
            now_ms=ms("2025-10-11T06:30") + 5_000,
        )  # fmt: skip


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of: hyperliquid, binance"):
        FetchJob.from_args(
            source="kraken", markets=["BTC"], interval="1m", start="2025-10-10", end="now"
        )


# ---------------------------------------------------------------- pacing


def test_the_pacer_keeps_to_the_weight_budget() -> None:
    t = FakeTime()
    pacer = Pacer(600, clock=t.clock, sleep=t.sleep)  # 10 weight/s, a bucket of 100
    pacer.spend(60)  # 100 -> 40, no wait
    pacer.spend(60)  # needs 20 more: 2 s; 60 - 60 -> 0
    pacer.spend(150)  # heavier than the bucket: waits until it is full (10 s), goes to -50
    pacer.spend(10)  # needs 60: 6 s
    assert t.sleeps == [2.0, 10.0, 6.0]
    t.now += 100  # a quiet spell refills to the full bucket, no further
    pacer.spend(100)
    assert t.sleeps == [2.0, 10.0, 6.0]


def test_request_weights_are_the_venues() -> None:
    hl = HyperliquidCandles("ws://127.0.0.1:9")
    assert (hl.weight(720), hl.weight(5000), hl.weight(1)) == (32.0, 104.0, 21.0)
    bn = BinanceKlines("http://127.0.0.1:9")
    assert [bn.weight(n) for n in (99, 100, 499, 500, 1000, 1001, 1500)] == [1, 2, 2, 5, 5, 10, 10]


# ---------------------------------------------------------------- Hyperliquid


async def test_hyperliquid_candles_for_two_markets_make_one_time_sorted_file(
    tmp_path: Path,
) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 3, 100_000.0), "ETH": steady(T0, 3, 4_000.0, 1.0)})
    out = tmp_path / "crash.csv"
    t = FakeTime()
    pacer = Pacer(600, clock=t.clock, sleep=t.sleep)
    async with ws_server(fake.handler) as url:
        client = HyperliquidCandles(url)
        the_job = job("hyperliquid", ("BTC", "ETH"), T0, T0 + 3 * MINUTE)
        summary = await asyncio.to_thread(fetch, client, the_job, out, t, pacer=pacer)
    text = lines(out)
    assert text[:9] == [
        "timestamp,symbol,price",
        "2025-10-10T18:00:00Z,BTC,100000.0",
        "2025-10-10T18:00:00Z,ETH,4000.0",
        "2025-10-10T18:00:15Z,BTC,99999.0",
        "2025-10-10T18:00:15Z,ETH,3999.0",
        "2025-10-10T18:00:30Z,BTC,100011.0",
        "2025-10-10T18:00:30Z,ETH,4002.0",
        "2025-10-10T18:00:45Z,BTC,100010.0",
        "2025-10-10T18:00:45Z,ETH,4001.0",
    ]
    assert len(text) == 1 + 2 * 3 * 4 and text[-1] == "2025-10-10T18:02:45Z,ETH,4003.0"
    # one meta request, then one candleSnapshot per market, as websocket post requests
    posts = [r for r in fake.requests if r.get("method") == "post"]
    assert [p["id"] for p in posts] == [1, 2, 3]
    assert posts[0]["request"] == {"type": "info", "payload": {"type": "meta"}}
    assert fake.snapshots() == [
        {"coin": c, "interval": "1m", "startTime": T0, "endTime": T0 + 3 * MINUTE}
        for c in ("BTC", "ETH")
    ]
    assert summary.rows == 24 and summary.gaps == [] and summary.candles == {"BTC": 3, "ETH": 3}
    # weights charged: meta 20, each 3-candle snapshot 20 + 1; within the bucket: no wait
    assert t.sleeps == [] and pacer.rate == 10.0
    assert not (tmp_path / "crash.csv.part").exists()
    assert not (tmp_path / "crash.csv.part.json").exists()


async def test_the_replay_plays_a_fetched_file_wick_and_all(tmp_path: Path) -> None:
    candles = [
        ohlc(T0, 121_000.0, 121_200.0, 120_900.0, 121_100.0),
        ohlc(T0 + MINUTE, 121_100.0, 121_150.0, 104_000.0, 110_000.0),  # the crash
        ohlc(T0 + 2 * MINUTE, 110_000.0, 114_000.0, 109_500.0, 113_000.0),
    ]
    fake = FakeHyperliquid({"BTC": candles})
    out = tmp_path / "crash.csv"
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC",), T0, T0 + 3 * MINUTE)
        await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, out, FakeTime())
    assert read_replay(out).error_count == 0
    src = ReplaySource(out, speed=100)
    played = src.snapshot().marks
    while not src.finished:
        played += src.step(1.0).marks
    assert [p for _, p in played] == [
        121_000.0, 120_900.0, 121_200.0, 121_100.0,
        121_100.0, 121_150.0, 104_000.0, 110_000.0,
        110_000.0, 109_500.0, 114_000.0, 113_000.0,
    ]  # fmt: skip
    assert src.duration == 2 * 60 + 45


async def test_a_window_larger_than_one_answer_takes_several_requests(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 10, 100.0)})
    fake.cap = 3  # the server answers at most 3 candles, fewer than a window asks for
    out = tmp_path / "w.csv"
    async with ws_server(fake.handler) as url:
        client = HyperliquidCandles(url)
        client.max_candles = 4  # windows of 4 candles
        the_job = job("hyperliquid", ("BTC",), T0, T0 + 10 * MINUTE)
        summary = await asyncio.to_thread(fetch, client, the_job, out, FakeTime())
    starts = [(s["startTime"] - T0) // MINUTE for s in fake.snapshots()]
    ends = [(s["endTime"] - T0) // MINUTE for s in fake.snapshots()]
    # window [0,4): 0-2, then 3; window [4,8): 4-6, then 7; window [8,10): 8-9
    assert list(zip(starts, ends, strict=True)) == [(0, 4), (3, 4), (4, 8), (7, 8), (8, 10)]
    assert summary.candles == {"BTC": 10} and summary.gaps == []
    assert len(lines(out)) == 1 + 10 * 4


async def test_gaps_are_written_around_and_reported(tmp_path: Path) -> None:
    btc = [c for c in steady(T0, 10, 100.0) if (c[0] - T0) // MINUTE not in (3, 4, 9)]
    fake = FakeHyperliquid({"BTC": btc, "ETH": steady(T0, 10, 50.0)})
    out = tmp_path / "gaps.csv"
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC", "ETH"), T0, T0 + 10 * MINUTE)
        summary = await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, out, FakeTime())
    assert [(g.market, g.start_ms, g.end_ms, g.count) for g in summary.gaps] == [
        ("BTC", T0 + 3 * MINUTE, T0 + 5 * MINUTE, 2),
        ("BTC", T0 + 9 * MINUTE, T0 + 10 * MINUTE, 1),
    ]
    report = summary.lines()
    assert report[0].startswith(f"Wrote {out}: 68 rows from Hyperliquid 1m candles (BTC 7, ETH 10)")
    assert report[1:] == [
        "BTC: 3 candles missing in 2 gaps (the replay holds the last price across a gap):",
        "  2025-10-10 18:03 UTC to 2025-10-10 18:04 UTC (2 candles)",
        "  2025-10-10 18:09 UTC (1 candle)",
    ]
    btc_rows = [row for row in lines(out) if ",BTC," in row]
    assert len(btc_rows) == 7 * 4 and not any("T18:03" in r or "T18:04" in r for r in btc_rows)


async def test_a_market_with_no_candles_and_old_days_are_explained(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0 + 5 * MINUTE, 5, 100.0)})
    out = tmp_path / "old.csv"
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC", "ETH"), T0, T0 + 10 * MINUTE)
        summary = await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, out, FakeTime())
        report = summary.lines()
        assert "ETH: no candles at all in this range." in report
        assert any("keeps only its most recent 5,000 candles per interval" in r for r in report)
        with pytest.raises(FetchError, match="has no candles for ETH 1m candles from Hyperliquid"):
            eth = job("hyperliquid", ("ETH",), T0, T0 + 10 * MINUTE)
            await asyncio.to_thread(
                fetch, HyperliquidCandles(url), eth, tmp_path / "e.csv", FakeTime()
            )
    assert not list(tmp_path.glob("e.csv*"))  # nothing written


async def test_malformed_candles_are_skipped_counted_and_become_a_gap(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 2, 100.0)})
    fake.extra_items = [
        {"t": T0 + 2 * MINUTE, "o": "abc", "h": "1", "l": "1", "c": "1"},
        {"t": T0 + 3 * MINUTE, "o": "10", "h": "9", "l": "8", "c": "10"},  # high below open
        {"t": True, "o": "1", "h": "1", "l": "1", "c": "1"},
        {"t": T0 + 4 * MINUTE, "o": "NaN", "h": "1", "l": "1", "c": "1"},
        "not a candle",
    ]
    out = tmp_path / "bad.csv"
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC",), T0, T0 + 5 * MINUTE)
        summary = await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, out, FakeTime())
    # items without an open time cannot be placed: they are noise, not candles
    assert summary.bad == {"BTC": 3} and summary.missing("BTC") == 3
    assert "BTC: 3 malformed candles skipped." in summary.lines()
    assert read_replay(out).error_count == 0


async def test_an_unknown_market_is_named_before_anything_is_fetched(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 2, 100.0)})
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC", "BTCC"), T0, T0 + 2 * MINUTE)
        with pytest.raises(
            FetchError, match=r"Hyperliquid has no market named BTCC \(did you mean"
        ):
            await asyncio.to_thread(
                fetch, HyperliquidCandles(url), the_job, tmp_path / "x.csv", FakeTime()
            )
        # the venue's own spelling is used on the wire: KPEPE asks for kPEPE
        fake.candles["kPEPE"] = steady(T0, 2, 0.01, 0.001, 0.0001)
        pepe = job("hyperliquid", ("KPEPE",), T0, T0 + 2 * MINUTE)
        out = tmp_path / "pepe.csv"
        await asyncio.to_thread(fetch, HyperliquidCandles(url), pepe, out, FakeTime())
    assert fake.snapshots()[-1]["coin"] == "kPEPE"
    assert lines(out)[1] == "2025-10-10T18:00:00Z,KPEPE,0.01"
    assert not (tmp_path / "x.csv.part").exists()


async def test_rate_limit_replies_back_off_and_retry(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 2, 100.0)})
    fake.script = ["429", "too-many", "slow-down"]
    out = tmp_path / "rl.csv"
    t = FakeTime()
    notes = Notes()
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC",), T0, T0 + 2 * MINUTE)
        summary = await asyncio.to_thread(
            fetch, HyperliquidCandles(url), the_job, out, t, reporter=notes
        )
    assert summary.candles == {"BTC": 2} and len(fake.snapshots()) == 4
    # exponential backoff with jitter: attempt n waits between half and all of 2**(n-1) s
    assert len(t.sleeps) == 3
    assert 0.5 <= t.sleeps[0] <= 1.0 and 1.0 <= t.sleeps[1] <= 2.0 and 2.0 <= t.sleeps[2] <= 4.0
    assert notes.notes[0].startswith(
        "BTC from 2025-10-10 18:00 UTC: rate limited (Hyperliquid answered HTTP 429: "
        "Too Many Requests); retrying in"
    )
    assert notes.notes[0].endswith("(attempt 2 of 6)")
    assert "too many pending post requests" in notes.notes[1]
    assert "rate limited (Hyperliquid says: Rate limited: slow down)" in notes.notes[2]


async def test_a_dropped_connection_and_noise_are_survived(tmp_path: Path) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 2, 100.0), "ETH": steady(T0, 2, 10.0)})
    fake.script = ["close", "garbage"]
    out = tmp_path / "drop.csv"
    t = FakeTime()
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC", "ETH"), T0, T0 + 2 * MINUTE)
        summary = await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, out, t)
    assert summary.candles == {"BTC": 2, "ETH": 2} and fake.connections == 2
    assert len(t.sleeps) == 1  # one retry, after the dropped connection


async def test_a_refused_request_stops_at_once_with_the_venues_words_escaped(
    tmp_path: Path,
) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 2, 100.0)})
    fake.script = ["422"]
    t = FakeTime()
    async with ws_server(fake.handler) as url:
        the_job = job("hyperliquid", ("BTC",), T0, T0 + 2 * MINUTE)
        with pytest.raises(FetchError) as caught:
            await asyncio.to_thread(fetch, HyperliquidCandles(url), the_job, tmp_path / "r.csv", t)
    assert str(caught.value) == (
        "Hyperliquid answered HTTP 422: Failed to deserialize the JSON body \\x1b[31m"
    )
    assert t.sleeps == [] and len(fake.snapshots()) == 1


async def test_a_download_that_keeps_failing_stops_and_the_next_run_continues_it(
    tmp_path: Path,
) -> None:
    candles = {"BTC": steady(T0, 10, 100.0), "ETH": steady(T0, 10, 20.0, 0.5)}
    out = tmp_path / "resume.csv"
    reference = tmp_path / "reference.csv"
    fake = FakeHyperliquid(candles)
    async with ws_server(fake.handler) as url:

        def client() -> HyperliquidCandles:
            made = HyperliquidCandles(url)
            made.max_candles = 4
            return made

        the_job = job("hyperliquid", ("BTC", "ETH"), T0, T0 + 10 * MINUTE)
        await asyncio.to_thread(fetch, client(), the_job, reference, FakeTime())
        fake.requests.clear()
        # first run: window [0,4) for both markets, then ETH's [4,8) keeps failing
        fake.script = [None, None, None] + ["500"] * 6
        t = FakeTime()
        with pytest.raises(FetchError, match="gave up on ETH from 2025-10-10 18:04 UTC after 6"):
            await asyncio.to_thread(fetch, client(), the_job, out, t)
        assert len(t.sleeps) == 5
        assert not out.exists()
        part = tmp_path / "resume.csv.part"
        assert lines(part) == lines(reference)[: 1 + 2 * 4 * 4]
        assert partial_hint(out) == (
            f"8 candles (up to 2025-10-10 18:04 UTC) are kept in {part}: "
            "run the same command again to continue"
        )
        with part.open("a", encoding="utf-8") as handle:
            handle.write("2025-10-10T18:04:00Z,BT")  # a write cut off mid-row
        fake.requests.clear()
        summary = await asyncio.to_thread(fetch, client(), the_job, out, FakeTime())
    assert summary.resumed_from == T0 + 4 * MINUTE
    assert "Continued an interrupted download from 2025-10-10 18:04 UTC." in summary.lines()
    assert fake.snapshots()[0]["startTime"] == T0 + 4 * MINUTE
    assert out.read_text(encoding="utf-8") == reference.read_text(encoding="utf-8")
    assert summary.candles == {"BTC": 10, "ETH": 10} and summary.rows == 80
    assert not part.exists() and not (tmp_path / "resume.csv.part.json").exists()


# ---------------------------------------------------------------- Binance


def test_binance_klines_for_two_markets(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 3, 100_000.0), "ETHUSDT": steady(T0, 3, 4000.0)})
    out = tmp_path / "b.csv"
    t = FakeTime()
    pacer = Pacer(1200, clock=t.clock, sleep=t.sleep)
    with binance_server(fake) as url:
        the_job = job("binance", ("BTC", "ETH"), T0, T0 + 3 * MINUTE)
        summary = fetch(BinanceKlines(url), the_job, out, t, pacer=pacer)
    assert fake.paths == ["/fapi/v1/klines"] * 2
    assert fake.queries == [
        {
            "symbol": s,
            "interval": "1m",
            "startTime": str(T0),
            "endTime": str(T0 + 3 * MINUTE - 1),  # inclusive on Binance
            "limit": "3",
        }
        for s in ("BTCUSDT", "ETHUSDT")
    ]
    assert lines(out)[:3] == [
        "timestamp,symbol,price",
        "2025-10-10T18:00:00Z,BTC,100000.0",
        "2025-10-10T18:00:00Z,ETH,4000.0",
    ]
    assert summary.rows == 24 and t.sleeps == []


def test_every_gap_is_counted_but_only_the_first_are_listed(tmp_path: Path) -> None:
    every_other = steady(T0, 120, 100.0)[::2]  # 60 candles, 60 one-candle gaps
    fake = FakeBinance({"BTCUSDT": every_other})
    out = tmp_path / "holes.csv"
    t = FakeTime()
    with binance_server(fake) as url:
        client = BinanceKlines(url + "/fapi/v1/klines/")  # a full klines address works too
        client.max_candles = 30
        the_job = job("binance", ("BTC",), T0, T0 + 120 * MINUTE)
        with pytest.raises(KeyboardInterrupt):  # stop half way: the record stays small
            fetch(client, the_job, out, t, reporter=Notes(stop_after=3))
        record = json.loads((tmp_path / "holes.csv.part.json").read_text())
        # 18:00-18:59 fetched: 29 gaps so far (18:59's shows once 19:00 is in); 20 listed
        assert len(record["gaps"]) == GAPS_KEPT and record["gap_totals"] == {"BTC": [29, 29]}
        summary = fetch(client, the_job, out, t)
    assert summary.gap_totals == {"BTC": (60, 60)} and summary.missing("BTC") == 60
    assert len(summary.gaps) == GAPS_KEPT
    report = summary.lines()
    assert report[2] == (
        "BTC: 60 candles missing in 60 gaps (the replay holds the last price across a gap):"
    )
    assert report[3:9] == [
        "  2025-10-10 18:01 UTC (1 candle)",
        "  2025-10-10 18:03 UTC (1 candle)",
        "  2025-10-10 18:05 UTC (1 candle)",
        "  2025-10-10 18:07 UTC (1 candle)",
        "  2025-10-10 18:09 UTC (1 candle)",
        "  ... and 55 more",
    ]


def test_binance_windows_follow_its_1500_kline_limit(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 3100, 100.0, 0.01)})
    out = tmp_path / "long.csv"
    t = FakeTime()
    with binance_server(fake) as url:
        the_job = job("binance", ("BTC",), T0, T0 + 3100 * MINUTE)
        summary = fetch(BinanceKlines(url), the_job, out, t)
    assert [(int(q["startTime"]) - T0) // MINUTE for q in fake.queries] == [0, 1500, 3000]
    assert [q["limit"] for q in fake.queries] == ["1500", "1500", "100"]
    assert summary.candles == {"BTC": 3100} and summary.gaps == []


def test_binance_429_waits_as_long_as_it_asks(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    fake.script = [(429, {"Retry-After": "7"}, '{"code":-1003,"msg":"Too many requests."}')]
    t = FakeTime()
    notes = Notes()
    with binance_server(fake) as url:
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        summary = fetch(BinanceKlines(url), the_job, tmp_path / "b.csv", t, reporter=notes)
    assert t.sleeps == [7.0] and summary.candles == {"BTC": 2}
    assert notes.notes == [
        "BTC from 2025-10-10 18:00 UTC: rate limited (Binance answered HTTP 429: Too many "
        "requests.); retrying in 7.0 s (attempt 2 of 6)"
    ]


def test_a_binance_ban_stops_the_download_with_how_long_it_lasts(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    fake.script = [(418, {"Retry-After": "3600"}, '{"code":-1003,"msg":"Way too many."}')]
    t = FakeTime()
    with binance_server(fake) as url, pytest.raises(FetchError) as caught:
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        fetch(BinanceKlines(url), the_job, tmp_path / "b.csv", t)
    assert str(caught.value) == (
        "Binance answered HTTP 418: Way too many.; it asks to wait 60 min before the next request"
    )
    assert t.sleeps == [] and len(fake.queries) == 1


def test_binance_server_errors_are_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    fake.script = [(502, {}, "<html>Bad Gateway</html>")] * 6
    t = FakeTime()
    with binance_server(fake) as url, pytest.raises(FetchError) as caught:
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        fetch(BinanceKlines(url), the_job, tmp_path / "b.csv", t)
    assert str(caught.value) == (
        "gave up on BTC from 2025-10-10 18:00 UTC after 6 attempts: "
        "Binance answered HTTP 502: <html>Bad Gateway</html>"
    )
    assert len(t.sleeps) == 5 and len(fake.queries) == 6
    # exponential backoff, jittered to half-to-all of 1, 2, 4, 8, 16 s
    for sleep, ceiling in zip(t.sleeps, (1, 2, 4, 8, 16), strict=True):
        assert ceiling / 2 <= sleep <= ceiling


def test_an_unknown_binance_market_is_named(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    with binance_server(fake) as url, pytest.raises(FetchError) as caught:
        the_job = job("binance", ("BTC", "NOPE"), T0, T0 + 2 * MINUTE)
        fetch(BinanceKlines(url), the_job, tmp_path / "b.csv", FakeTime())
    assert str(caught.value) == "Binance has no USDⓈ-M perpetual NOPEUSDT (for --market NOPE)"
    assert not list(tmp_path.iterdir())  # nothing was written


def test_binance_weight_near_its_limit_pauses_until_the_next_minute(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    fake.headers = {"X-MBX-USED-WEIGHT-1M": "2300"}
    t = FakeTime()
    notes = Notes()
    with binance_server(fake) as url:
        client = BinanceKlines(url, wall_clock=lambda: 1_699_999_995.0)  # 15 s into a minute
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        fetch(client, the_job, tmp_path / "b.csv", t, reporter=notes)
    assert t.sleeps == [45.5]
    assert notes.notes == [
        "Binance reports 2,300 of 2,400 request weight used this minute: pausing 46 s"
    ]


def test_an_interrupted_download_continues_where_it_stopped(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 9, 100.0), "ETHUSDT": steady(T0, 9, 10.0)})
    out = tmp_path / "i.csv"
    with binance_server(fake) as url:

        def client() -> BinanceKlines:
            made = BinanceKlines(url)
            made.max_candles = 3
            return made

        the_job = job("binance", ("BTC", "ETH"), T0, T0 + 9 * MINUTE)
        fetch(client(), the_job, tmp_path / "ref.csv", FakeTime())
        fake.queries.clear()
        # Ctrl-C while the third market-window is being fetched (ETH's is done, BTC's next)
        with pytest.raises(KeyboardInterrupt):
            fetch(client(), the_job, out, FakeTime(), reporter=Notes(stop_after=3))
        assert len(lines(tmp_path / "i.csv.part")) == 1 + 2 * 3 * 4
        fake.queries.clear()
        notes = Notes()
        summary = fetch(client(), the_job, out, FakeTime(), reporter=notes)
    assert int(fake.queries[0]["startTime"]) == T0 + 3 * MINUTE
    assert notes.started == [(18, 6)]  # the progress bar picks up at 6 of 18 candles
    assert out.read_text() == (tmp_path / "ref.csv").read_text()
    assert summary.resumed_from == T0 + 3 * MINUTE


# ---------------------------------------------------------------- the output file


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("mine\n")
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    with binance_server(fake) as url:
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        with pytest.raises(FetchError, match=r"keep\.csv already exists; choose another -o, or"):
            fetch(BinanceKlines(url), the_job, out, FakeTime())
        assert out.read_text() == "mine\n" and fake.queries == []
        fetch(BinanceKlines(url), the_job, out, FakeTime(), force=True)
    assert lines(out)[0] == "timestamp,symbol,price" and len(lines(out)) == 9


def test_a_partial_download_of_other_settings_is_not_mixed_in(tmp_path: Path) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 9, 100.0), "ETHUSDT": steady(T0, 9, 10.0)})
    out = tmp_path / "p.csv"
    with binance_server(fake) as url:

        def client() -> BinanceKlines:
            made = BinanceKlines(url)
            made.max_candles = 3
            return made

        btc = job("binance", ("BTC",), T0, T0 + 9 * MINUTE)
        with pytest.raises(KeyboardInterrupt):
            fetch(client(), btc, out, FakeTime(), reporter=Notes(stop_after=2))
        eth = job("binance", ("ETH",), T0, T0 + 9 * MINUTE)
        with pytest.raises(FetchError, match=r"p.csv.part is a partial download with other"):
            fetch(client(), eth, out, FakeTime())
        summary = fetch(client(), eth, out, FakeTime(), force=True)
    assert summary.candles == {"ETH": 9} and summary.resumed_from is None
    assert not any(",BTC," in row for row in lines(out))


def test_a_damaged_progress_record_starts_the_download_again(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    (tmp_path / "d.csv.part").write_text("timestamp,symbol,price\ngarbage\n")
    (tmp_path / "d.csv.part.json").write_text("{not json")
    fake = FakeBinance({"BTCUSDT": steady(T0, 2, 100.0)})
    with binance_server(fake) as url:
        the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
        summary = fetch(BinanceKlines(url), the_job, out, FakeTime())
    assert any("had no usable progress record" in n for n in summary.lines())
    assert "garbage" not in out.read_text() and len(lines(out)) == 9


def test_an_output_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    the_job = job("binance", ("BTC",), T0, T0 + 2 * MINUTE)
    with pytest.raises(FetchError, match=r"folder .*nowhere does not exist"):
        fetch(
            BinanceKlines("http://127.0.0.1:9"), the_job, tmp_path / "nowhere" / "x.csv", FakeTime()
        )
