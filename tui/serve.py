"""``perpdesk serve``: perpdesk in a browser tab, through textual-serve (the ``serve`` extra).

textual-serve is a small web server. Each browser connection to its websocket starts the
command it was given as a new process with Textual's web driver, and relays keys, mouse and
screen between the tab and that process; closing the tab tells the process to quit. So each tab
runs an ordinary perpdesk on the same command line (plus ``--served``), and the account's lock
decides who may trade it: one tab per paper account. A second tab gets :class:`AccountBusyApp`,
a screen that says the account is open elsewhere, and its process ends when that screen is
closed or the tab is.

textual-serve is imported only when serving, so perpdesk itself never needs it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "SERVE_EXTRA_MESSAGE",
    "AccountBusyApp",
    "ServeExtraMissingError",
    "is_loopback",
    "printable",
    "refusal",
    "require_textual_serve",
    "run_server",
    "shell_command",
    "watch_parent",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SERVE_EXTRA_MESSAGE = (
    "perpdesk serve needs the optional extra: pip install 'perpdesk[serve]' "
    '(from a checkout: pip install -e ".[serve]")'
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


class ServeExtraMissingError(ImportError):
    """textual-serve (the ``serve`` extra) is not installed."""


def is_loopback(host: str) -> bool:
    """True for the names and addresses that only this computer can reach: ``localhost``,
    127.0.0.0/8 and ``::1`` (with or without brackets). Any other name may resolve to an
    address others can reach, so it counts as remote."""
    name = host.strip().lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), everything else as is."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def shell_command(argv: Sequence[str]) -> str:
    """One command line for textual-serve, which runs its command through the shell.

    On POSIX the shell ``exec``s perpdesk, so perpdesk is the server's own child: it can
    notice the server going away (see :func:`watch_parent`) and a signal reaches it directly.
    """
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return subprocess.list2cmdline(list(argv))
    return "exec " + shlex.join(argv)


def watch_parent(server: int, interval: float = 1.0) -> None:
    """End this process cleanly if ``server`` (the pid that started it) goes away.

    A served perpdesk quits when its tab closes, but a server killed outright cannot tell it
    to; it would then hold the account's lock with nobody to see it. Once this process's
    parent is no longer ``server`` (it was orphaned, maybe before this was called) it sends
    itself SIGTERM, which Textual's web driver turns into an orderly exit, so the journal is
    flushed and closed as on ``q``.
    """
    if sys.platform == "win32":  # pragma: no cover - no getppid semantics to rely on
        return

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="perpdesk-watch-server", daemon=True).start()


def refusal(
    host_header: str, origin: str | None, *, bound_to: str, public_url: str | None
) -> str | None:
    """Why the server must refuse a request (403), or None: requests a browser was tricked
    into making on someone else's behalf.

    - Served to this computer only, the ``Host`` a browser sends must name this computer (or
      the ``public_url``): a page elsewhere that gets the browser to resolve its own name to
      127.0.0.1 (DNS rebinding) still sends its own name.
    - A page may open the websocket only from the desk's own address (``Origin``): any site
      the trader visits could otherwise trade the account through their browser. Browsers
      always send ``Origin`` there; programs that do not are not being tricked.
    """
    public = urlsplit(public_url) if public_url else None
    try:
        name = urlsplit("//" + host_header).hostname or ""
    except ValueError:
        name = ""
    if is_loopback(bound_to) and not (
        is_loopback(name) or (public is not None and name == public.hostname)
    ):
        return "perpdesk serve only answers to this computer's addresses"
    if origin is not None:
        allowed = {host_header.lower()} | ({public.netloc.lower()} if public else set())
        if urlsplit(origin).netloc.lower() not in allowed:
            return "perpdesk serve: a page from another site cannot open this desk"
    return None


def require_textual_serve() -> None:
    try:
        import textual_serve.server  # noqa: F401
    except ImportError as exc:
        raise ServeExtraMissingError(SERVE_EXTRA_MESSAGE) from exc


def run_server(
    command: str,
    *,
    host: str,
    port: int,
    public_url: str | None,
    banner: Sequence[str],
    say: Callable[[str], None] = print,
) -> None:
    """Serve ``command`` on ``host:port`` until Ctrl+C (or SIGTERM).

    Raises :class:`ServeExtraMissingError` without the extra and ``OSError`` when the address
    cannot be bound (port in use, no such address).
    """
    require_textual_serve()
    server = _make_server(
        command, host=host, port=port, public_url=public_url, banner=banner, say=say
    )
    server.serve()


def _make_server(
    command: str,
    *,
    host: str,
    port: int,
    public_url: str | None,
    banner: Sequence[str],
    say: Callable[[str], None],
) -> Any:
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server, to_int

    class PerpdeskServer(Server):
        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title="perpdesk", public_url=public_url)
            self._fixed_url = public_url

        def _check(self, request: web.Request) -> None:
            why = refusal(
                request.headers.get("Host", ""),
                request.headers.get("Origin"),
                bound_to=host,
                public_url=public_url,
            )
            if why is not None:
                raise web.HTTPForbidden(text=why)

        def _base_url(self, request: web.Request) -> str:
            """The address the browser used, so the page's websocket goes back the same way
            (behind a proxy that changes it, ``--public-url`` says what to use)."""
            if self._fixed_url is not None:
                return str(self._fixed_url).rstrip("/")
            return f"{request.scheme}://{request.host}"

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            self._check(request)
            base = self._base_url(request)
            router = request.app.router
            ws_url = f"{base}{router['websocket'].url_for()}"
            ws_url = ("wss:" if ws_url.startswith("https:") else "ws:") + ws_url.split(":", 1)[1]
            static = f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": ws_url,
                "config": {"static": {"url": static}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            self._check(request)
            return await super().handle_websocket(request)

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # not every request

        async def on_startup(self, app: web.Application) -> None:
            for line in banner:
                say(line)

    return PerpdeskServer()


# --------------------------------------------------------------------------- the busy tab


class AccountBusyApp(App[None]):
    """What a second tab gets: the account is open elsewhere. Nothing else runs; Enter (or
    closing the tab) ends the process, and the browser offers to start a new session."""

    TITLE = "perpdesk"
    CSS = """
    Screen { align: center middle; }
    #busy {
        width: 76; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    #busy-title { text-style: bold; color: $warning; margin-bottom: 1; }
    #busy-why { margin-top: 1; }
    #busy-keys { margin-top: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,q,escape", "close", "Close", show=False),
    ]

    def __init__(self, message: str, theme: str | None = None) -> None:
        super().__init__()
        self._message = message
        self._wanted_theme = theme

    def compose(self) -> ComposeResult:
        with Vertical(id="busy"):
            yield Static(Text("This paper account is already open"), id="busy-title")
            yield Static(Text(printable(self._message)), id="busy-message")
            yield Static(
                Text(
                    "One account is traded from one place at a time, so two tabs never act "
                    "on different views of the same money. Close the other tab (or quit the "
                    "other perpdesk), then reload this page."
                ),
                id="busy-why",
            )
            yield Static(Text("Enter: close this session"), id="busy-keys")

    def on_mount(self) -> None:
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme

    def action_close(self) -> None:
        self.exit()
