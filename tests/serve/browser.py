"""A headless Chromium driven over the Chrome DevTools protocol, just enough to use perpdesk
in a tab: open a page, press keys, read the terminal, take a screenshot.

The tab's terminal is drawn on a canvas (xterm.js with its WebGL or canvas renderer), so there
is no text in the page to read. :class:`Screen` rebuilds it instead from what the server sends
the tab over its websocket: Textual writes each line at an absolute cursor position, so
following cursor moves and text is enough to know what the tab shows.

Only the ``websockets`` client (already a test dependency) is used: no Playwright, no node.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,860",
)


def find_chromium() -> str | None:
    """The Chromium to drive: $PERPDESK_CHROMIUM, ``chromium`` on PATH, or Debian's path."""
    for candidate in (
        os.environ.get("PERPDESK_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# --------------------------------------------------------------------------- the screen

_TOKEN = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])"  # CSI: parameters, final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1bP[^\x1b]*\x1b\\"  # DCS
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x1b[ -/][0-~]"  # charset selection
    r"|[\x00-\x1f\x7f]"  # controls
    r"|[^\x00-\x1f\x7f]+"  # text
)
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|P[^\x1b]*|[ -/])?$")


class Screen:
    """A grid of characters following cursor moves, erases and text; styles are ignored."""

    def __init__(self, cols: int = 400, rows: int = 150) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decode(data)
        cut = _INCOMPLETE.search(text)
        self._pending = cut.group() if cut else ""
        if self._pending:
            text = text[: -len(self._pending)]
        for match in _TOKEN.finditer(text):
            token = match.group()
            if match.group(2) is not None:
                self._csi(match.group(1), match.group(2))
            elif token == "\r":
                self.col = 0
            elif token == "\n":
                self.row = min(self.row + 1, self.rows - 1)
            elif token == "\b":
                self.col = max(self.col - 1, 0)
            elif not token.startswith("\x1b") and token.isprintable():
                self._text(token)

    def _csi(self, params: str, final: str) -> None:
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        if params.startswith("?"):
            return  # private modes (alt screen, mouse, sync output)
        if final in "Hf":
            row = numbers[0] if numbers and numbers[0] else 1
            col = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.row, self.col = min(row - 1, self.rows - 1), min(col - 1, self.cols - 1)
        elif final == "J" and numbers[:1] in ([2], [3]):
            self.grid = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "K":
            mode = numbers[0] if numbers else 0
            start, end = {0: (self.col, self.cols), 1: (0, self.col + 1)}.get(mode, (0, self.cols))
            line = self.grid[self.row]
            for c in range(start, min(end, self.cols)):
                line[c] = " "
        elif final in "ABCD":
            n = numbers[0] if numbers and numbers[0] else 1
            if final == "A":
                self.row = max(self.row - n, 0)
            elif final == "B":
                self.row = min(self.row + n, self.rows - 1)
            elif final == "C":
                self.col = min(self.col + n, self.cols - 1)
            else:
                self.col = max(self.col - n, 0)

    def _text(self, text: str) -> None:
        line = self.grid[self.row]
        for ch in text:
            if unicodedata.combining(ch):
                continue
            if self.col < self.cols:
                line[self.col] = ch
            self.col += 2 if unicodedata.east_asian_width(ch) in "WF" else 1

    def text(self) -> str:
        lines = ["".join(line).rstrip() for line in self.grid]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)


# --------------------------------------------------------------------------- the browser

_KEYS: dict[str, tuple[str, str, int, str]] = {  # name: key, code, key code, text
    "enter": ("Enter", "Enter", 13, "\r"),
    "escape": ("Escape", "Escape", 27, ""),
    "tab": ("Tab", "Tab", 9, "\t"),
    "backspace": ("Backspace", "Backspace", 8, ""),
}
_PUNCTUATION: dict[str, tuple[str, int]] = {
    ".": ("Period", 190),
    "/": ("Slash", 191),
    "?": ("Slash", 191),
    "$": ("Digit4", 52),
    "%": ("Digit5", 53),
    " ": ("Space", 32),
    "+": ("Equal", 187),
    "-": ("Minus", 189),
    ",": ("Comma", 188),
}


def _key_event(name: str) -> dict[str, Any]:
    if name in _KEYS:
        key, code, vk, text = _KEYS[name]
    elif len(name) == 1:
        key = text = name
        if name.isalpha():
            code, vk = f"Key{name.upper()}", ord(name.upper())
        elif name.isdigit():
            code, vk = f"Digit{name}", ord(name)
        else:
            code, vk = _PUNCTUATION[name]
    else:
        raise ValueError(f"no key called {name!r}")
    event: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk}
    if text:
        event |= {"text": text, "unmodifiedText": text}
    return event


class Browser:
    """One Chromium process and one DevTools connection to it."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its helpers share a process group we can end as one
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Chromium did not start; its output is in {log}")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self._exit = contextlib.ExitStack()
        self._ws: ClientConnection = self._exit.enter_context(
            connect(
                f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30, ping_interval=None
            )
        )
        self._ids = itertools.count(1)
        self._listeners: dict[str, Callable[[str, dict[str, Any]], None]] = {}

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Call ``method`` and wait for its answer, handing events out meanwhile."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + 30
        while True:
            reply = self._receive(deadline - time.monotonic())
            if reply is not None and reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def pump(self, seconds: float) -> None:
        """Hand out events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        if timeout <= 0:
            raise TimeoutError("no answer from Chromium")
        try:
            message: dict[str, Any] = json.loads(self._ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        if "method" in message:
            listener = self._listeners.get(message.get("sessionId", ""))
            if listener is not None:
                listener(message["method"], message.get("params", {}))
            return None
        return message

    def open(self, url: str) -> Tab:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        tab = Tab(self, target, session)
        self._listeners[session] = tab.on_event
        tab.start(url)
        return tab

    def forget(self, session: str) -> None:
        self._listeners.pop(session, None)

    def close(self) -> None:
        """Ask Chromium to quit, then make sure: SIGKILL to its whole process group."""
        if hasattr(self, "_ws"):
            with contextlib.suppress(Exception):  # it may be gone already
                self.send("Browser.close")
            self._exit.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()


class Tab:
    """One page: the perpdesk it shows, read from the websocket frames sent to it."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session
        self.screen = Screen()
        self._socket: str | None = None
        self.sessions = 0  # websockets the page has opened: one per load
        self.closed = False

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def start(self, url: str) -> None:
        self.send("Network.enable")
        self.send("Page.enable")
        self.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.webSocketCreated":
            self._socket = params["requestId"]  # a new session (first load or reload)
            self.sessions += 1
            self.screen = Screen()
        elif method == "Network.webSocketFrameReceived":
            if params.get("requestId") != self._socket:
                return
            frame = params["response"]
            if frame.get("opcode") == 2:  # binary: the terminal's output
                self.screen.feed(base64.b64decode(frame["payloadData"]))

    def text(self) -> str:
        return self.screen.text()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Wait until the screen matches the regular expression ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text())
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the tab never showed /{pattern}/ in {timeout:.0f} s; it shows:\n"
                    + self.text()
                )
            self.browser.pump(0.1)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> None:
        """Wait until the JavaScript ``expression`` is true in the page."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"{expression} was never true; the tab shows:\n{self.text()}")
            self.browser.pump(0.1)

    def focus(self) -> None:
        """Put keyboard focus in the terminal, as a click on it would."""
        self.wait_until("!!document.querySelector('.xterm-helper-textarea')")
        self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")

    def press(self, *keys: str) -> None:
        """Press each key: a character, or enter / escape / tab / backspace."""
        for name in keys:
            event = _key_event(name)
            kind = "keyDown" if "text" in event else "rawKeyDown"
            self.send("Input.dispatchKeyEvent", {"type": kind, **event})
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", **event})
            self.browser.pump(0.05)

    def type(self, text: str) -> None:
        self.press(*text)

    def settle(self, seconds: float = 0.5) -> None:
        """Give a screen that just appeared time to take keys, as a person's eyes would: a
        confirmation ignores keys read before it was first painted (a double Enter)."""
        self.browser.pump(seconds)

    def reload(self, timeout: float = 30) -> None:
        """Reload the page and wait until it has opened its new session (whose screen starts
        out empty, so what is waited for next comes from the new perpdesk)."""
        before = self.sessions
        self.send("Page.reload")
        deadline = time.monotonic() + timeout
        while self.sessions == before:
            if time.monotonic() > deadline:
                raise AssertionError("the reloaded page never connected")
            self.browser.pump(0.1)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.browser.forget(self.session)
        self.browser.send("Target.closeTarget", {"targetId": self.target})
