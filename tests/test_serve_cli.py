"""``perpdesk serve`` up to the point of serving (the server is replaced by a recorder), the
served perpdesk's account lock, and the helpers in :mod:`tui.serve`. The real server in a real
browser is tested in tests/serve/."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui import cli, serve
from tui.engine import MarginMode, Side
from tui.journal import Journal, list_seasons


@pytest.fixture(autouse=True)
def isolated_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the developer's own config or data."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PERPDESK_CONFIG", raising=False)
    yield tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls that would have started the server, recorded instead."""
    calls: list[dict[str, Any]] = []

    def record(command: str, **kwargs: Any) -> None:
        calls.append({"command": command, **kwargs})

    monkeypatch.setattr(serve, "run_server", record)
    return calls


def run_serve(*args: str) -> int:
    return cli.main(["serve", *args])


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("desk.example", False),
        ("localhost.example", False),
        ("", False),
    ],
)
def test_which_hosts_count_as_this_computer_only(host: str, local: bool) -> None:
    assert serve.is_loopback(host) is local


LOCAL = {"bound_to": "127.0.0.1", "public_url": None}


@pytest.mark.parametrize(
    ("host_header", "origin", "options", "refused"),
    [
        ("127.0.0.1:8000", None, LOCAL, False),
        ("localhost:8000", "http://localhost:8000", LOCAL, False),
        ("[::1]:8000", "http://[::1]:8000", LOCAL, False),
        # DNS rebinding: another site's name pointed at 127.0.0.1.
        ("desk.example:8000", None, LOCAL, True),
        ("", None, LOCAL, True),
        # Another site's page opening the websocket through the trader's browser.
        ("127.0.0.1:8000", "http://evil.example", LOCAL, True),
        ("127.0.0.1:8000", "http://127.0.0.1:9999", LOCAL, True),
        ("127.0.0.1:8000", "null", LOCAL, True),
        # Behind a proxy: the public address is this desk's too.
        (
            "desk.example",
            "https://desk.example",
            {"bound_to": "127.0.0.1", "public_url": "https://desk.example"},
            False,
        ),
        (
            "127.0.0.1:8000",
            "https://desk.example",
            {"bound_to": "127.0.0.1", "public_url": "https://desk.example"},
            False,
        ),
        # Served to others: any name reaches it, but other sites' pages still may not.
        (
            "192.168.1.20:8000",
            "http://192.168.1.20:8000",
            {"bound_to": "0.0.0.0", "public_url": None},
            False,
        ),
        (
            "192.168.1.20:8000",
            "http://evil.example",
            {"bound_to": "0.0.0.0", "public_url": None},
            True,
        ),
    ],
)
def test_which_requests_are_refused(
    host_header: str, origin: str | None, options: dict[str, Any], refused: bool
) -> None:
    assert (serve.refusal(host_header, origin, **options) is not None) is refused


def test_printable_escapes_control_characters_only() -> None:
    assert serve.printable("a b\tc\x1b[31m\x07é") == "a b\\tc\\x1b[31m\\x07é"


def test_the_served_command_is_this_perpdesk_with_the_same_options(tmp_path: Path) -> None:
    args = cli.build_serve_parser().parse_args(
        ["--seed", "-3", "--data-dir", "acct", "--config", "~/p.toml", "--speed", "10", "--fresh"]
    )
    command = cli.served_command(args, 4242)
    assert command[:3] == [sys.executable, "-m", "tui"]
    assert command[-1] == "--served=4242"
    assert "--seed=-3" in command and "--speed=10.0" in command
    assert f"--data-dir={Path('acct').resolve()}" in command
    assert f"--config={Path('~/p.toml').expanduser()}" in command
    assert not any(part.startswith("--fresh") for part in command)  # done once by serve
    assert not any(part.startswith(("--source", "--replay", "--scenario")) for part in command)
    # The shell textual-serve runs it through gets the same words back, and execs perpdesk.
    line = serve.shell_command([*command, "--data-dir=/tmp/it's here; rm -rf /"])
    assert shlex.split(line) == ["exec", *command, "--data-dir=/tmp/it's here; rm -rf /"]


# --------------------------------------------------------------------------- perpdesk serve


def test_serve_listens_on_this_computer_by_default_and_says_so(
    served: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_serve("--data-dir", str(tmp_path / "acct"), "--seed", "1") == 0
    (call,) = served
    assert (call["host"], call["port"], call["public_url"]) == ("127.0.0.1", 8000, None)
    words = shlex.split(call["command"])
    assert words[:4] == ["exec", sys.executable, "-m", "tui"]
    assert words[-1] == f"--served={os.getpid()}"  # the server is this process
    banner = "\n".join(call["banner"])
    assert "http://127.0.0.1:8000" in banner
    assert "only: other computers cannot connect" in banner
    assert "WARNING" not in banner
    assert capsys.readouterr().err == ""


def test_a_host_others_can_reach_needs_allow_remote(
    served: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run_serve("--host", "0.0.0.0", "--data-dir", str(tmp_path / "acct"))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and "anyone who can reach the port can trade" in err
    assert "Traceback" not in err
    assert served == []
    assert not (tmp_path / "acct").exists()  # nothing was touched


def test_allow_remote_serves_with_a_warning(served: list[dict[str, Any]], tmp_path: Path) -> None:
    acct = tmp_path / "acct"
    assert (
        run_serve("--host", "0.0.0.0", "--allow-remote", "--port", "8123", "--data-dir", str(acct))
        == 0
    )
    (call,) = served
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    banner = "\n".join(call["banner"])
    assert "WARNING: listening on 0.0.0.0:8123" in banner
    assert "Anyone who can reach this port can trade the paper account" in banner
    assert "http://<this computer's address>:8123" in banner


def test_a_public_url_is_passed_on_and_shown(served: list[dict[str, Any]], tmp_path: Path) -> None:
    run_serve("--public-url", "https://desk.example", "--data-dir", str(tmp_path / "a"))
    (call,) = served
    assert call["public_url"] == "https://desk.example"
    assert "open https://desk.example in a browser" in call["banner"][0]


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_a_port_out_of_range_is_refused(
    port: str, served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        run_serve("--port", port)
    assert info.value.code == 2
    assert "--port must be 1 to 65535" in capsys.readouterr().err
    assert served == []


def test_without_the_extra_serve_says_what_to_install(
    served: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    with pytest.raises(SystemExit) as info:
        run_serve()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "pip install 'perpdesk[serve]'" in err and 'pip install -e ".[serve]"' in err
    assert "Traceback" not in err
    assert served == []


def test_a_source_that_cannot_start_stops_serve_before_it_serves(
    served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as info:
        run_serve("--replay", str(tmp_path / "missing.csv"))
    assert info.value.code == 2
    assert "missing.csv" in capsys.readouterr().err
    assert served == []


def test_an_account_open_elsewhere_stops_serve_before_it_serves(
    served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    holder = Journal.open(tmp_path / "acct")
    try:
        with pytest.raises(SystemExit) as info:
            run_serve("--data-dir", str(tmp_path / "acct"))
    finally:
        holder.close()
    assert info.value.code == 1
    assert "Another perpdesk" in capsys.readouterr().err
    assert served == []


def test_fresh_starts_one_new_season_not_one_per_tab(
    served: list[dict[str, Any]], tmp_path: Path
) -> None:
    acct = tmp_path / "acct"
    first = Journal.open(acct)
    first.engine.set_mark("BTC", 100_000.0)
    first.engine.open("BTC", Side.LONG, 0.01, 5, MarginMode.ISOLATED)  # a season worth keeping
    first.close()
    assert len(list_seasons(acct)) == 1
    run_serve("--fresh", "--data-dir", str(acct))
    assert len(list_seasons(acct)) == 2
    assert "--fresh" not in served[0]["command"]


def test_a_port_in_use_is_a_clear_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Choose another --port" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# --------------------------------------------------------------------------- a served perpdesk


def test_a_served_perpdesk_waits_briefly_for_the_tab_it_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reloaded tab starts its perpdesk while the old one is still quitting."""
    monkeypatch.setattr(cli, "SERVED_LOCK_WAIT", 10.0)
    acct = tmp_path / "acct"
    old = Journal.open(acct)
    threading.Timer(0.5, old.close).start()
    parser = cli.build_parser()
    args = parser.parse_args([f"--served={os.getpid()}", "--data-dir", str(acct), "--seed", "1"])
    started = time.monotonic()
    app = cli.build_app(args, parser)
    assert app.session.journal is not None
    assert time.monotonic() - started >= 0.4  # it did wait for the lock
    app.session.journal.close()


def test_a_served_perpdesk_on_a_busy_account_shows_why_instead_of_exiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "SERVED_LOCK_WAIT", 0.3)
    acct = tmp_path / "acct"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "perpdesk.toml").write_text('[ui]\ntheme = "nord"\n')
    holder = Journal.open(acct)
    try:
        parser = cli.build_parser()
        args = parser.parse_args(
            [
                f"--served={os.getpid()}",
                "--data-dir",
                str(acct),
                "--config",
                str(tmp_path / "config" / "perpdesk.toml"),
            ]
        )
        with pytest.raises(cli.AccountInUse) as info:
            cli.build_app(args, parser)
    finally:
        holder.close()
    assert "Another perpdesk" in str(info.value)
    assert info.value.theme == "nord"


def test_in_a_terminal_a_busy_account_still_exits_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acct = tmp_path / "acct"
    holder = Journal.open(acct)
    try:
        parser = cli.build_parser()
        args = parser.parse_args(["--data-dir", str(acct)])
        started = time.monotonic()
        with pytest.raises(SystemExit) as info:
            cli.build_app(args, parser)
    finally:
        holder.close()
    assert info.value.code == 1
    assert time.monotonic() - started < cli.SERVED_LOCK_WAIT  # no waiting outside serve
    assert "Another perpdesk" in capsys.readouterr().err


def test_a_served_perpdesk_ends_when_the_server_goes_away(tmp_path: Path) -> None:
    """The server's child notices it was orphaned and ends itself (SIGTERM), rather than
    holding the account's lock with nobody to see it."""
    child = "from tui.serve import watch_parent; import time; watch_parent(0.05); time.sleep(60)"
    parent = (
        "import subprocess, sys; "
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}]); print(p.pid, flush=True)"
    )
    result = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(result.stdout)
    deadline = time.monotonic() + 20
    while _alive(pid):
        assert time.monotonic() < deadline, f"process {pid} outlived its parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
