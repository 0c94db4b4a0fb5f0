"""Drill files: the format read field by field, and hostile files skipped with a message that
names the file and the field (control characters escaped); nothing raises."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tui.drills import DrillError, load_drills, parse_drill
from tui.drills.catalogue import MAX_FILE_BYTES, user_drills_dir
from tui.drills.model import parse_duration
from tui.drills.scoring import Drawdown, Hold, StopLoss
from tui.engine import MarginMode, Side, Venue
from tui.engine.models import OrderType

GOOD = """
title = "Mine"
brief = "A short brief."
goal = "Keep the drawdown under 10 %."
lesson = "Leverage is what you feel."
time_limit = "10m"

[scenario]
base = "calm"
markets = ["btc", "ETH"]

[book]
balance = 5000
venue = "binance"

[[book.positions]]
market = "BTC"
side = "long"
notional = 10000
leverage = 5
mode = "cross"

[[book.orders]]
market = "BTC"
side = "short"
type = "stop"
at = -0.05
size = 0.1
leverage = 5
mode = "cross"
reduce_only = true

[score]
rule = "drawdown"
max_drawdown = 0.1

[[score.hold]]
market = "BTC"
side = "long"
min_notional = 4000
after = "30s"
"""


def good() -> dict[str, Any]:
    return tomllib.loads(GOOD)


def test_a_drill_file_reads_into_a_drill() -> None:
    drill = parse_drill(good(), "mine", "/x/mine.toml")
    assert drill.name == "mine" and drill.origin == "/x/mine.toml" and not drill.shipped
    assert drill.time_limit == 600
    assert drill.markets == ("BTC", "ETH") and drill.market == "BTC"
    assert drill.speeds == (1, 10, 60) and drill.speed == 1
    assert drill.venue is Venue.BINANCE and drill.balance == 5000
    assert drill.scenario.name == "mine" and drill.scenario.keyframes[0].phase == "quiet market"
    (pos,) = drill.positions
    assert (pos.market, pos.side, pos.mode, pos.notional) == (
        "BTC",
        Side.LONG,
        MarginMode.CROSS,
        1e4,
    )
    (order,) = drill.orders
    assert order.kind is OrderType.STOP_MARKET and order.reduce_only and order.size == 0.1
    assert drill.rule == Drawdown(max_drawdown=0.1, hold=(Hold(4000, "BTC", Side.LONG, 30),))
    assert drill.rule_kind == "drawdown"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90),
        (1.5, 1.5),
        ("90s", 90),
        ("40m", 2400),
        ("1h30m", 5400),
        ("24h", 86400),
        (" 2h 5s ", 7205),
        ("0.5m", 30),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "10 minutes", "-5m", True, None, [1], "1e9h", 1e12])
def test_durations_that_are_not(text: object) -> None:
    with pytest.raises(ValueError, match=r"length of time|from 0 to 7 days"):
        parse_duration(text)


def _with(change: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    data = good()
    for key in drop:
        section, _, leaf = key.rpartition(".")
        (data[section] if section else data).pop(leaf)
    for key, value in change.items():
        section, _, leaf = key.rpartition(".")
        (data[section] if section else data)[leaf] = value
    return data


@pytest.mark.parametrize(
    ("change", "drop", "field", "says"),
    [
        ({}, ("title",), "title", "is missing"),
        ({"title": 5}, (), "title", "must be some text"),
        ({"title": "x" * 61}, (), "title", "longer than 60"),
        ({"time_limit": "soon"}, (), "time_limit", "length of time"),
        ({"time_limit": 0}, (), "time_limit", "longer than no time"),
        ({"speeds": [1, 7]}, (), "speeds", "list of speeds from 1, 10, 60"),
        ({"speed": 60, "speeds": [1, 10]}, (), "speed", "must be one of speeds"),
        ({"colour": "red"}, (), "colour", "not a field perpdesk knows"),
        ({"scenario.base": "moon"}, (), "scenario.base", "must be one of the scenarios"),
        ({"scenario.keyframes": [[5, 0.1]]}, (), "scenario.keyframes", "start at minute 0"),
        ({"scenario.keyframes": [[0, -2]]}, (), "scenario.keyframes[1]", "move must be"),
        ({"scenario.keyframes": "up"}, (), "scenario.keyframes", "list of 1 to 200"),
        ({"scenario.funding": [[0, 0.5]]}, (), "scenario.funding[1]", "rate must be"),
        ({"scenario.wave": [2, 20]}, (), "scenario.wave", "amplitude"),
        ({"scenario.markets": ["BTC", "MOON"]}, (), "scenario.markets", "simulated markets"),
        ({"scenario.seed": 1.5}, (), "scenario.seed", "whole number"),
        ({"market": "SOL"}, (), "market", "not one of the drill's markets"),
        ({"book.balance": float("nan")}, (), "book.balance", "an amount in USD"),
        ({"book.balance": 1e12}, (), "book.balance", "at most"),
        ({"book.venue": "ftx"}, (), "book.venue", "hyperliquid or binance"),
        ({"book.positions": {"market": "BTC"}}, (), "book.positions", "list of tables"),
        ({"score.rule": "vibes"}, (), "score.rule", "must be one of drawdown"),
        ({"score.max_drawdown": "8%"}, (), "score.max_drawdown", "a fraction"),
        ({"score.max_drawdown": 1.5}, (), "score.max_drawdown", "at most 1"),
        ({"score.hold": [{"min_notional": 1, "typo": 2}]}, (), "score.hold[1].typo", "a typo"),
        ({}, ("score",), "score", "is missing"),
    ],
)
def test_each_bad_field_is_named(
    change: dict[str, Any], drop: tuple[str, ...], field: str, says: str
) -> None:
    with pytest.raises(DrillError) as caught:
        parse_drill(_with(change, drop), "mine")
    assert caught.value.field == field
    assert says in caught.value.problem
    assert str(caught.value).startswith(f"{field}: ")


def test_book_entries_are_checked() -> None:
    data = good()
    data["book"]["positions"][0]["mode"] = "sideways"
    with pytest.raises(DrillError, match=r"^book\.positions\[1\]\.mode: "):
        parse_drill(data, "mine")
    data = good()
    data["book"]["positions"][0]["size"] = 1
    with pytest.raises(DrillError, match="give one of notional"):
        parse_drill(data, "mine")
    data = good()
    data["book"]["positions"].append(dict(data["book"]["positions"][0]))
    with pytest.raises(DrillError, match="lists a market twice"):
        parse_drill(data, "mine")
    data = good()
    data["book"]["orders"][0]["type"] = "iceberg"
    with pytest.raises(DrillError, match=r"^book\.orders\[1\]\.type: must be limit, stop or take"):
        parse_drill(data, "mine")


def test_rule_parameters_are_checked_by_kind() -> None:
    data = good()
    data["score"] = {"rule": "stop_loss", "market": "BTC", "budget": 500, "not_before": "2m"}
    assert parse_drill(data, "mine").rule == StopLoss(market="BTC", budget=500, not_before=120)
    data["score"] = {"rule": "stop_loss", "market": "BTC"}
    with pytest.raises(DrillError, match=r"^score\.budget: is missing"):
        parse_drill(data, "mine")
    data["score"] = {"rule": "final_equity", "target": 9000, "excellent": 8000}
    with pytest.raises(DrillError, match=r"^score\.excellent: must be more than target"):
        parse_drill(data, "mine")
    data["score"] = {"rule": "least_margin", "market": "SOL", "par": 1, "max_added": 2}
    with pytest.raises(DrillError, match="SOL is not one of the drill's markets"):
        parse_drill(data, "mine")


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(DrillError, match="lower-case letters"):
        parse_drill(good(), "My Drill")


def test_text_is_kept_on_one_line_with_control_characters_escaped() -> None:
    data = good()
    data["title"] = "Mine\x1b[31m"
    data["brief"] = "line one\nline\ttwo \u202e"
    drill = parse_drill(data, "mine")
    assert drill.title == "Mine\\x1b[31m"
    assert drill.brief == "line one line two \\u202e"


# ------------------------------------------------------------------ the catalogue


def test_the_shipped_drills_all_load_in_order() -> None:
    catalogue = load_drills()
    assert catalogue.problems == ()
    drills = list(catalogue.drills.values())
    assert len(drills) >= 8
    assert [d.order for d in drills] == sorted(d.order for d in drills)
    assert len({d.rule_kind for d in drills}) == 8  # every rule kind has a shipped example
    assert all(d.shipped and d.lesson and d.goal and d.brief for d in drills)


def test_user_drills_load_beside_the_shipped_ones(tmp_path: Path) -> None:
    folder = user_drills_dir(tmp_path / "config.toml")
    assert folder == tmp_path / "drills"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD)
    catalogue = load_drills(folder)
    assert catalogue.problems == ()
    assert list(catalogue.drills)[-1] == "mine"
    assert catalogue.drills["mine"].origin == str(folder / "mine.toml")


def test_hostile_user_files_are_skipped_with_a_message(tmp_path: Path) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    (folder / "ok.toml").write_text(GOOD)
    (folder / "broken.toml").write_text("title = [unclosed")
    (folder / "binary.toml").write_bytes(b"\xff\xfe\x00title")
    (folder / "huge.toml").write_text("# " + "x" * MAX_FILE_BYTES)
    evil = GOOD.replace("max_drawdown = 0.1", 'max_drawdown = "\\u001b]0;pwn\\u0007"')
    (folder / "evil.toml").write_text(evil.replace('title = "Mine"', 'title = "\\u001b[2J"'))
    (folder / "raw.toml").write_text('title = "\x1b[2J"')
    (folder / "Bad Name.toml").write_text(GOOD)
    (folder / "flash-crash.toml").write_text(GOOD)  # a shipped drill's name
    (folder / "poor.toml").write_text(GOOD.replace("balance = 5000", "balance = 100"))
    (folder / "notes.txt").write_text("not a drill")
    (folder / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000)
    catalogue = load_drills(folder)
    assert "ok" in catalogue.drills
    problems = "\n".join(catalogue.problems)
    assert len(catalogue.problems) == 9, problems
    assert all(p.endswith(("skipped.",)) for p in catalogue.problems)
    assert f"{folder / 'broken.toml'}: is not valid TOML" in problems
    assert f"{folder / 'binary.toml'}: is not UTF-8 text" in problems
    assert f"{folder / 'huge.toml'}: is larger than 64 KB" in problems
    assert f"{folder / 'evil.toml'}: score.max_drawdown: must be a fraction" in problems
    assert "\\x1b]0;pwn\\x07" in problems and "\x1b" not in problems and "\x07" not in problems
    assert "Bad Name.toml: the file name must be lower-case" in problems
    assert "a drill named flash-crash already exists" in problems
    assert f"{folder / 'poor.toml'}: book.positions[1]: Not enough margin" in problems
    assert f"{folder / 'deep.toml'}:" in problems
    assert f"{folder / 'raw.toml'}: is not valid TOML (Illegal character '\\x1b'" in problems
    assert catalogue.drills["flash-crash"].shipped


def test_a_missing_or_unreadable_folder_is_no_trouble(tmp_path: Path) -> None:
    assert load_drills(tmp_path / "nowhere").problems == ()
    (tmp_path / "afile").write_text("")
    catalogue = load_drills(tmp_path / "afile")
    assert len(catalogue.drills) >= 8
    assert "cannot be read" in catalogue.problems[0]
