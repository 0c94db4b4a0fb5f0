"""perpdesk --list-drills and --drill NAME from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills.play import drill, play, trader_session
from tests.drills.test_loading import GOOD
from tests.drills.test_play import add_margin
from tui.cli import build_app, build_parser, main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PERPDESK_CONFIG", raising=False)
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text("")
    return path


def test_list_drills_prints_names_briefs_and_best_scores(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "account"
    play(trader_session(data), drill("margin-rescue"), {0: add_margin(600)})  # scores 95
    assert main(["--list-drills", "--config", str(config), "--data-dir", str(data)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("flash-crash          Survive the flash crash  (not tried yet)")
    assert lines[1].strip().startswith("You are long $30,000 of BTC in Cross")
    assert any(
        line.startswith("margin-rescue        Rescue with least margin  (best 95, 1 attempt)")
        for line in lines
    )
    assert lines[-1] == "Start one with: perpdesk --drill NAME (or /drill inside perpdesk)."


def test_list_drills_names_a_bad_drill_file_and_lists_the_rest(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = config.parent / "drills"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD)
    (folder / "bad.toml").write_text(GOOD.replace('time_limit = "10m"', 'time_limit = "\\u001b"'))
    code = main(["--list-drills", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"perpdesk: {folder / 'bad.toml'}: time_limit: must be a length of time" in err
    assert "\x1b" not in err and "\\x1b" in err
    assert "mine                 Mine  (not tried yet) [" in out


def test_an_unknown_drill_is_refused_with_the_names(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--drill", "moon\x1b[2J", "--config", str(config)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("perpdesk: there is no drill named moon\\x1b[2J. Drills: flash-crash,")
    assert "margin-rescue" in err


def test_drill_name_reaches_the_app(tmp_path: Path, config: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["--drill", "two-sigma", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    )
    app = build_app(args, parser)
    try:
        assert app._launch_drill == "two-sigma"
    finally:
        assert app.session.journal is not None
        app.session.journal.close()
