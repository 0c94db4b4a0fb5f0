"""perpdesk served to a real browser: headless Chromium, driven from the keyboard."""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.serve.browser import Tab
from tests.serve.conftest import ARTIFACTS, Served
from tui.engine import MarginMode, Side
from tui.journal import read_account

# A row of the positions table: market, side, size.
BTC_LONG = r"BTC\s+LONG\s+0\.01\s"
ETH_SHORT = r"ETH\s+SHORT\s+0\.5\s"


def keep(shot: Path, name: str) -> Path:
    """Copy a screenshot to tests/artifacts/ (gitignored), where it is easy to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / name
    shutil.copyfile(shot, kept)
    print(f"screenshot: {shot} (copied to {kept})")
    return kept


def test_a_tab_trades_the_paper_account_from_the_keyboard(
    served: Served, open_tab: Callable[[], Tab], tmp_path: Path
) -> None:
    tab = open_tab()
    tab.wait_for(r"perpdesk · Hyperliquid · realistic fills — Simulated prices · seed 1")
    tab.wait_for(r"Positions")
    tab.focus()

    # b, a size, Enter through the form and the confirmation (Isolated is the default).
    tab.press("b")
    tab.wait_for(r"LONG BTC")
    tab.type("0.01")
    tab.wait_for(r"≈ 0\.01 BTC")
    tab.press("enter")
    tab.wait_for(r"Confirm order")
    tab.wait_for(r"Enter/y confirm")
    tab.settle()
    tab.press("enter")
    tab.wait_for(BTC_LONG + r".*Iso 5x")

    # The command line, and the confirmation's mode switch.
    tab.press("/")
    tab.wait_for(r"Enter to run, Esc to close")  # keys typed sooner go elsewhere (as in a terminal)
    tab.type("short eth 0.5 5x cross")
    tab.press("enter")
    tab.wait_for(r"SHORT ETH\s+0\.5 ETH")
    tab.wait_for(r"\[ Cross \]")
    tab.settle()
    tab.press("enter")
    tab.wait_for(ETH_SHORT + r".*Cross 5x")
    shot = tab.screenshot(tmp_path / "serve.png")
    keep(shot, "serve.png")
    assert shot.stat().st_size > 10_000  # a real picture, not an empty page

    # Closing the tab ends its perpdesk, which saves the account as on q.
    served.wait_for_perpdesks(1)
    tab.close()
    served.wait_for_perpdesks(0)
    engine = read_account(served.data_dir)
    assert engine is not None
    btc, eth = engine.position("BTC"), engine.position("ETH")
    assert btc is not None and eth is not None
    assert (btc.side, btc.size, btc.mode) == (Side.LONG, 0.01, MarginMode.ISOLATED)
    assert (eth.side, eth.size, eth.mode) == (Side.SHORT, 0.5, MarginMode.CROSS)


def test_a_second_tab_is_told_the_account_is_open_elsewhere(
    served: Served, open_tab: Callable[[], Tab], tmp_path: Path
) -> None:
    first = open_tab()
    first.wait_for(r"Positions")
    second = open_tab()
    second.wait_for(r"This paper account is already open")
    second.wait_for(r"Another perpdesk \(process \d+\) has the paper account")
    second.wait_for(r"Enter: close this session")
    served.wait_for_perpdesks(2)
    keep(second.screenshot(tmp_path / "serve-busy.png"), "serve-busy.png")

    # Enter ends the second tab's perpdesk; the page says the session ended.
    second.focus()
    second.press("enter")
    second.wait_until("document.body.classList.contains('-closed')")
    served.wait_for_perpdesks(1)

    # The first tab still trades; reloading it gets the account back, not the busy screen
    # (the new perpdesk waits for the one it replaces to let go of the account).
    first.focus()
    first.press("?")
    first.wait_for(r"every key and command|Keys")
    first.press("escape")
    first.reload()
    first.wait_for(r"Positions")
    assert "already open" not in first.text()
    served.wait_for_perpdesks(1)
    first.close()
    second.close()
    served.wait_for_perpdesks(0)


def _status(port: int, headers: dict[str, str], path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_requests_a_browser_was_tricked_into_are_refused(served: Served) -> None:
    here = f"127.0.0.1:{served.port}"
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert _status(served.port, {"Host": here}) == 200
    # Another name for 127.0.0.1 (DNS rebinding): refused.
    assert _status(served.port, {"Host": f"desk.example:{served.port}"}) == 403
    # A page on another site opening the websocket: refused before a perpdesk starts.
    assert (
        _status(served.port, {"Host": here, "Origin": "http://evil.example"} | upgrade, "/ws")
        == 403
    )
    served.wait_for_perpdesks(0)
