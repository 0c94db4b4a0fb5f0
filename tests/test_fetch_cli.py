"""``perpdesk fetch`` from the command line: messages, exit codes, progress, no tracebacks."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.market.conftest import ws_server
from tests.market.fetch_fakes import T0, FakeBinance, FakeHyperliquid, binance_server, steady
from tui.cli import main
from tui.market.fetch_cli import PlainReporter, RichReporter

BASE = ["fetch", "--market", "BTC", "--from", "2025-10-10T18:00", "--to", "2025-10-10T18:05"]


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--interval", "2m", "-o", "x.csv"], "interval '2m' is not one Hyperliquid offers"),
        (["--interval", "1M", "-o", "x.csv"], "interval 1M (a calendar month) is not offered"),
        (["--source", "kraken", "-o", "x.csv"], "cannot fetch candles from 'kraken'"),
        (["--market", "BTC-PERP", "-o", "x.csv"], "symbol 'BTC-PERP' is not valid"),
        (["--market", "btc", "-o", "x.csv"], "symbol BTC is listed twice"),
        (["--from", "2025-13-01", "-o", "x.csv"], "--from '2025-13-01' is not a date and time"),
        (["--to", "soon", "-o", "x.csv"], "--to 'soon' is not a date and time"),
        (["--to", "2025-10-10T17:00", "-o", "x.csv"], "--to (2025-10-10 17:00 UTC) must be after"),
        (["--feed-url", "http://127.0.0.1:1", "-o", "x.csv"], "is not a websocket address"),
        (["--source", "binance", "--feed-url", "ws://h", "-o", "x.csv"], "is not a web address"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, BASE + extra)
    assert code == 2
    assert err.startswith("perpdesk fetch: ") and message in err, err
    assert "Traceback" not in err + out
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_missing_arguments_are_named_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(BASE)
    assert exited.value.code == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err


def test_help_shows_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fetch", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: perpdesk fetch" in out and "--interval 1m -o btc-crash.csv" in out


def test_the_fetch_command_does_not_load_the_ui_toolkit() -> None:
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        "try:\n"
        "    main(['fetch', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "print('textual:', ','.join(loaded), 'tui.market.fetch_cli' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "textual:  True"


def test_a_binance_download_reports_progress_and_how_to_replay_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake = FakeBinance({"BTCUSDT": steady(T0, 5, 100.0), "ETHUSDT": steady(T0, 5, 10.0)})
    out_file = tmp_path / "day.csv"
    with binance_server(fake) as url:
        code, out, err = run(
            capsys,
            [
                *BASE,
                "--market",
                "ETH",
                "--source",
                "binance",
                "--feed-url",
                url,
                "-o",
                str(out_file),
            ],
        )
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "BTC, ETH 1m: 0/10 candles (0 %)",
        "BTC, ETH 1m: 5/10 candles (50 %)",
        "BTC, ETH 1m: 10/10 candles (100 %)",
        f"Wrote {out_file}: 40 rows from Binance 1m candles (BTC 5, ETH 5), "
        "2025-10-10 18:00 UTC to 2025-10-10 18:05 UTC.",
        f"Replay it: perpdesk --replay {out_file}",
    ]


def test_a_failed_download_says_what_is_kept_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "day.csv"
    out_file.write_text("already here\n")
    fake = FakeBinance({"BTCUSDT": steady(T0, 5, 100.0)})
    with binance_server(fake) as url:
        code, _out, err = run(
            capsys, [*BASE, "--source", "binance", "--feed-url", url, "-o", str(out_file)]
        )
    assert code == 1
    assert err == f"perpdesk fetch: {out_file} already exists; choose another -o, or add --force\n"


async def test_the_readme_example_against_a_local_hyperliquid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake = FakeHyperliquid({"BTC": steady(T0, 720, 121_000.0, -5.0)})
    out_file = tmp_path / "btc-crash.csv"
    args = [
        "fetch", "--source", "hyperliquid", "--market", "BTC", "--from", "2025-10-10T18:00",
        "--to", "2025-10-11T06:00", "--interval", "1m", "-o", str(out_file),
    ]  # fmt: skip
    async with ws_server(fake.handler) as url:
        code = await asyncio.to_thread(main, [*args, "--feed-url", url])
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    assert f"Wrote {out_file}: 2,880 rows from Hyperliquid 1m candles (BTC 720)" in out
    assert fake.snapshots() == [
        {"coin": "BTC", "interval": "1m", "startTime": T0, "endTime": T0 + 720 * 60_000}
    ]


def test_without_the_live_extra_hyperliquid_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "websockets.sync.client", None)
    code, _out, err = run(capsys, [*BASE, "-o", str(tmp_path / "x.csv")])
    assert code == 1
    assert (
        err == "perpdesk fetch: Live prices need the optional extra: pip install 'perpdesk[live]'\n"
    )


def test_plain_progress_prints_a_line_per_tenth() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.start(40, 8, "BTC 1m")
    for _ in range(8):
        reporter.advance(4)
    reporter.note("a note")
    assert stream.getvalue().splitlines() == [
        "BTC 1m: 8/40 candles (20 %)",
        "BTC 1m: 12/40 candles (30 %)",
        "BTC 1m: 16/40 candles (40 %)",
        "BTC 1m: 20/40 candles (50 %)",
        "BTC 1m: 24/40 candles (60 %)",
        "BTC 1m: 28/40 candles (70 %)",
        "BTC 1m: 32/40 candles (80 %)",
        "BTC 1m: 36/40 candles (90 %)",
        "BTC 1m: 40/40 candles (100 %)",
        "a note",
    ]


def test_the_rich_bar_counts_candles_and_prints_notes_as_text() -> None:
    from rich.console import Console

    stream = io.StringIO()
    reporter = RichReporter(Console(file=stream, force_terminal=True, width=100))
    reporter.start(10, 2, "BTC 1m")
    reporter.advance(5)
    reporter.note("[red]not markup[/red]")
    reporter.finish()
    text = stream.getvalue()
    assert "7/10" in text and "[red]not markup[/red]" in text
