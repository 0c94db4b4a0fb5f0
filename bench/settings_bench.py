"""What saving a very large settings file costs, and what the event loop feels of it (prints
figures; asserts nothing).

Run from the repository root: ``python bench/settings_bench.py [--mb 10]``.

A config of ``--mb`` megabytes (perpdesk's keys, then an unknown table of commented keys, the
shape of a file someone pasted a lot into) is saved with one changed value. Figures:

1. baseline: reading the file and writing it back atomically, bare (``read_bytes``, temp file,
   ``fsync``, ``os.replace``): what any save of it must at least cost;
2. ``load_settings`` (``tomllib``), as at launch;
3. ``save_changes`` with nothing to change (returns after one parse, writes nothing);
4. ``save_changes`` with one change (``tomllib`` reads it; only the edited table goes through
   ``tomlkit``; ``tomllib`` checks the result), and the same through the whole-document
   ``tomlkit`` edit perpdesk used before (and still uses for small files);
5. the longest stall of a 10 ms asyncio ticker while (4) runs on the event loop (how the
   settings screen saved before) and while it runs in a thread (how the screen saves a file
   over ``LARGE_CONFIG_BYTES`` now): what the price feed and the screen feel.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui import settings as settings_module
from tui.settings import LARGE_CONFIG_BYTES, load_settings, save_changes

HEAD = """\
# My perpdesk settings.
[trading]
default_margin_mode = "cross"  # I like cross
default_leverage = 3

[ui]
theme = "nord"

[pasted]  # everything below is an unknown table perpdesk must keep
"""


def make_config(path: Path, megabytes: float) -> None:
    lines = [HEAD]
    size, n = len(HEAD), 0
    while size < megabytes * 1e6:
        line = f'key_{n} = "value number {n}"  # comment {n}\n'
        lines.append(line)
        size += len(line)
        n += 1
    path.write_text("".join(lines), encoding="utf-8")


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bare_copy(path: Path) -> None:
    data = path.read_bytes()
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


async def worst_stall(work: Callable[[], object], in_thread: bool) -> tuple[float, float]:
    """(longest gap between 10 ms ticks, wall time of ``work``) while ``work`` runs."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = loop.time()
        while not done:
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    if in_thread:
        await asyncio.to_thread(work)
    else:
        work()
    elapsed = time.perf_counter() - start
    await asyncio.sleep(0.05)
    done = True
    await task
    return max(gaps), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="config size in megabytes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        make_config(path, args.mb)
        size = path.stat().st_size
        print(f"config: {size / 1e6:.1f} MB (threaded save above {LARGE_CONFIG_BYTES:,} bytes)")
        base = min(timed(lambda: bare_copy(path)) for _ in range(3))
        print(f"  baseline read + atomic write      {base * 1000:9.1f} ms   1.0x")

        def row(label: str, seconds: float) -> None:
            print(f"  {label:<34}{seconds * 1000:9.1f} ms {seconds / base:6.0f}x baseline")

        row("load_settings", timed(lambda: load_settings(path)))
        row("save_changes, nothing changed", timed(lambda: save_changes({}, path)))
        leverage = iter(range(2, 100))

        def save_one() -> None:
            save_changes({"trading.default_leverage": next(leverage)}, path)

        row("save_changes, one value", timed(save_one))
        real = settings_module._edit_by_section
        settings_module._edit_by_section = lambda *args: None  # the whole-document edit
        row("  the same, editing the whole document", timed(save_one))
        settings_module._edit_by_section = real
        tick = asyncio.run(worst_stall(lambda: None, in_thread=False))[0]
        print(f"  idle event loop: longest gap between 10 ms ticks {tick * 1000:.1f} ms")
        for in_thread in (False, True):
            stall, wall = asyncio.run(worst_stall(save_one, in_thread))
            where = "in a thread (now)   " if in_thread else "on the event loop   "
            print(
                f"  save {where} longest tick gap {stall * 1000:8.1f} ms "
                f"({stall / tick:5.1f}x idle); save took {wall:.2f} s"
            )
        text = path.read_text(encoding="utf-8")
        assert "# comment 0\n" in text and "default_leverage = " in text  # kept, changed


if __name__ == "__main__":
    main()
