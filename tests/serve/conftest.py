"""Fixtures for the browser tests: ``perpdesk serve`` on a free local port, and a headless
Chromium. Both are ended in teardown, with every process they started."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serve.browser import Browser, Tab, find_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class Served:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def perpdesks(self) -> list[int]:
        """The perpdesk processes the server is running (one per open tab)."""
        return children(self.process.pid)

    def wait_for_perpdesks(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.perpdesks()) != count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} perpdesk processes, found {self.perpdesks()}; "
                    f"server log:\n{self.log.read_text(errors='replace')}"
                )
            time.sleep(0.1)


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, parent = fields[0], int(fields[1])
        if parent == pid and state != "Z":
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def end_group(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM to the process group ``process`` leads, SIGKILL to what is left after
    ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if importlib.util.find_spec("textual_serve") is None:
        pytest.fail(
            "textual-serve is not installed, so perpdesk serve cannot be tested: "
            'pip install -e ".[test]" (or ".[serve]")'
        )
    home = tmp_path_factory.mktemp("serve")
    env = dict(os.environ)
    env |= {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "TZ": "UTC",
    }
    env.pop("PERPDESK_CONFIG", None)
    data_dir = home / "account"
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui",
                "serve",
                "--port",
                str(port),
                "--seed",
                "1",
                "--data-dir",
                str(data_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # the server and the perpdesks it starts end as one group
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"perpdesk serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Served(f"http://127.0.0.1:{port}/", port, data_dir, process, log)
    finally:
        end_group(process)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(
            "Chromium is not installed, and the perpdesk serve tests need a real browser: "
            "apt-get install -y chromium (Debian), or set PERPDESK_CHROMIUM to its path."
        )
    home = tmp_path_factory.mktemp("chromium")
    chromium = Browser(executable, home / "profile", home / "chromium.log")
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def open_tab(served: Served, browser: Browser) -> Iterator[Callable[[], Tab]]:
    """Opens tabs on the server; whatever a test leaves open is closed after it, and its
    perpdesk processes must end, so one failing test does not spill into the next."""
    tabs: list[Tab] = []

    def new_tab() -> Tab:
        tab = browser.open(served.url)
        tabs.append(tab)
        return tab

    yield new_tab
    for tab in tabs:
        tab.close()
    served.wait_for_perpdesks(0)
