"""A replay of millions of rows: time to the first mark and peak memory, against bare CSV
reading of the same file (prints figures; asserts nothing).

Run from the repository root: ``python bench/replay_bench.py [--rows 5000000] [--whole]``.

The file: ``--rows`` rows (5 million by default, about 130 MB) of ISO timestamps, 20 symbols
in turn, one row per symbol per second. Each measurement runs in a fresh child process, so its
peak resident memory (``ru_maxrss``) is its own:

* baseline, first row: open the file, ``csv.reader``, read the header and one row;
* baseline, every row: iterate ``csv.reader`` over the whole file, keeping nothing;
* replay, first mark: ``ReplaySource(path)`` then ``snapshot()`` (what happens before the
  first frame);
* replay, every mark: then play the whole file at full speed (``step`` until finished);
* ``--whole``: every row parsed into a list and sorted, which is what the replay did before it
  streamed (the issue measured 1.17 GB and 33 s for 5 million rows).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import csv, json, resource, sys, time
sys.path.insert(0, sys.argv[3])
what, path = sys.argv[1], sys.argv[2]
from tui.market import ReplaySource  # imports are not the replay's work: outside the timing
from tui.market.replay import ReplayRow, parse_timestamp
start = time.perf_counter()
out = {}
if what in ("csv-first", "csv-all"):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader), next(reader)
        out["first"] = time.perf_counter() - start
        if what == "csv-all":
            out["rows"] = 1 + sum(1 for _ in reader)
elif what in ("replay-first", "replay-all"):
    src = ReplaySource(path, speed=100)
    marks = len(src.snapshot().marks)
    out["first"] = time.perf_counter() - start
    if what == "replay-all":
        while not src.finished:
            marks += len(src.step(1.0).marks)
        out["rows"] = marks
        out["errors"] = src.error_count
elif what == "whole":
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for n, (stamp, symbol, price) in enumerate(reader, 2):
            rows.append(ReplayRow(parse_timestamp(stamp), symbol, float(price), n))
    rows.sort(key=lambda r: r.time)
    out["first"] = time.perf_counter() - start
    out["rows"] = len(rows)
out["total"] = time.perf_counter() - start
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_csv(path: Path, rows: int) -> None:
    symbols = [
        "BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT",
        "LTC", "TRX", "BCH", "NEAR", "APT", "ARB", "OP", "TON", "AAVE", "UNI",
    ]  # fmt: skip
    start = datetime(2025, 11, 20, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("timestamp,symbol,price\n")
        block: list[str] = []
        for i in range(rows):
            second, k = divmod(i, len(symbols))
            if k == 0:
                stamp = (start + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
            block.append(f"{stamp},{symbols[k]},{100 + (i * 7919) % 1000 / 10:.1f}\n")
            if len(block) >= 100_000:
                handle.write("".join(block))
                block.clear()
        handle.write("".join(block))


def measure(what: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--whole", action="store_true", help="also the read-it-all design")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "replay.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        size = path.stat().st_size
        print(
            f"replay bench: {args.rows:,} rows, {size / 1e6:,.0f} MB "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        base_first = measure("csv-first", path)
        base_all = measure("csv-all", path)
        first = measure("replay-first", path)
        whole = measure("replay-all", path)

        def line(label: str, seconds: float, base: float, mb: float, base_mb: float) -> None:
            print(
                f"  {label:<28}{seconds:9.3f} s {seconds / base:8.1f}x   "
                f"peak {mb:7.0f} MB {mb / base_mb:5.1f}x"
            )

        print("  (ratios: to bare csv.reader on the same file, in a process of its own)")
        line("csv.reader, first row", base_first["first"], base_first["first"],
             base_first["peak_mb"], base_first["peak_mb"])  # fmt: skip
        line("replay, first mark", first["first"], base_first["first"],
             first["peak_mb"], base_first["peak_mb"])  # fmt: skip
        line("csv.reader, every row", base_all["total"], base_all["total"],
             base_all["peak_mb"], base_all["peak_mb"])  # fmt: skip
        line("replay, every mark", whole["total"], base_all["total"],
             whole["peak_mb"], base_all["peak_mb"])  # fmt: skip
        rate = whole["rows"] / whole["total"]
        print(f"  replay played {whole['rows']:,.0f} marks ({rate:,.0f}/s), {whole['errors']:.0f} "
              "rows skipped")  # fmt: skip
        if args.whole:
            old = measure("whole", path)
            line("read-it-all (before), first", old["first"], base_first["first"],
                 old["peak_mb"], base_first["peak_mb"])  # fmt: skip


if __name__ == "__main__":
    main()
