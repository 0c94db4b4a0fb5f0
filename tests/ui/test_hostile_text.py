"""Terminal escape injection through the app: every place text from outside reaches the screen
(event log, notifications, the header, modal bodies, the exit message) shows it escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.worker import Worker, WorkerState

from tests.ui.pilot_helpers import make_app
from tui.market import FeedState, FeedStatus, ReplaySource
from tui.safe import safe_text
from tui.screens.dialogs.confirm import ConfirmScreen
from tui.session import Tip
from tui.widgets.plain import Plain

OSC_TITLE = "\x1b]0;pwned\x1b\\"
ATTACK = f"{OSC_TITLE}\x1bc\x1b[2J\x9b2J\u202e"


def assert_safe(text: str, multiline: bool = False) -> None:
    assert safe_text(text, multiline=multiline) == text, f"raw control characters in {text!r}"


async def test_a_hostile_replay_header_reaches_the_log_escaped(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(
        f"timestamp,symbol,price,{OSC_TITLE}\n"
        "2025-11-20T14:00:00Z,BTC,100000,x\n"
        "2025-11-20T14:00:01Z,BTC,100001\n",
        encoding="utf-8",
    )
    app = make_app(source=ReplaySource(path, ["BTC"]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        lines = app.main.log_widget.lines
        assert any("\\x1b]0;pwned\\x1b\\" in line for line in lines)
        for line in lines:
            assert_safe(line, multiline=True)


async def test_settings_messages_and_feed_failures_are_shown_escaped() -> None:
    app = make_app(messages=[f"ui.theme must be a theme (got {ATTACK})"])
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.session.on_status(
            FeedStatus(FeedState.RECONNECTING, f"invalid Upgrade header: {ATTACK}")
        )
        app.refresh_now()  # the heartbeat shows the feed's state in the header
        assert "\\x9b2J" in app.sub_title
        assert_safe(app.sub_title)
        worker: Worker[None] = Worker(app, lambda: None, group="feed")
        worker._error = ValueError(f"server said {ATTACK}")
        app.on_worker_state_changed(Worker.StateChanged(worker, WorkerState.ERROR))
        await pilot.pause()
        shown = [n.message for n in app._notifications] + [n.title for n in app._notifications]
        assert any("\\x1b]0;pwned" in text for text in shown)
        assert any("server said \\x1b" in line for line in app.main.log_widget.lines)
        for text in [*shown, *app.main.log_widget.lines]:
            assert_safe(text, multiline=True)


async def test_a_modal_body_and_the_tip_show_hostile_text_escaped() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.tip = Tip(f"Not saving: {ATTACK}", warning=True)  # what the session says
        app.refresh_now()
        app.push_screen(ConfirmScreen("Trouble", f"The file {ATTACK}\nis kept."))
        await pilot.pause()
        body = str(app.screen.query(Plain).first().render())
        assert body == f"The file {safe_text(ATTACK)}\nis kept."  # the newline is kept
        tip = str(app.main.query_one("#tip", Plain).render())
        assert tip == f"Not saving: {safe_text(ATTACK)}"


async def test_the_exit_message_is_printed_as_plain_escaped_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.exit_with_error(f"[bold]cannot open[/] {ATTACK}")
        await pilot.pause()
    assert app.return_code == 1
    printed = capsys.readouterr().err
    assert f"[bold]cannot open[/] {safe_text(ATTACK)}" in printed  # not read as markup
    assert "\x1b" not in printed and "\x9b" not in printed
