"""The execution settings: preset, slippage limit and book age (tui/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.session import configure_execution, engine_for
from tui.settings import Settings, load_settings, parse_field


def test_defaults_are_a_realistic_book_an_8_percent_limit_and_ten_seconds() -> None:
    market = Settings().market
    assert (market.execution, market.slippage_limit, market.book_max_age) == ("realistic", 0.08, 10)


def test_a_config_file_sets_them_and_the_engine_follows(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[market]\nexecution = "thin"\nslippage_limit = 0.02\nbook_max_age = 3\n', encoding="utf-8"
    )
    result = load_settings(path)
    assert result.messages == []
    market = result.settings.market
    assert (market.execution, market.slippage_limit, market.book_max_age) == ("thin", 0.02, 3)
    engine = engine_for(result.settings)
    configure_execution(engine, result.settings)
    assert (engine.slippage_limit("BTC"), engine.book_max_age) == (0.02, 3)


@pytest.mark.parametrize(
    ("key", "text", "says"),
    [
        ("market.execution", "smooth", '"frictionless", "realistic" or "thin"'),
        ("market.slippage_limit", "8%", "a number from 0.0001 to 0.5"),
        ("market.slippage_limit", "0", "a number from 0.0001 to 0.5"),
        ("market.book_max_age", "-1", "a number from 0.1 to 3600"),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(key: str, text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_field(key, text)


def test_a_bad_value_in_the_file_falls_back_to_the_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[market]\nexecution = "smooth"\n', encoding="utf-8")
    result = load_settings(path)
    assert result.settings.market.execution == "realistic"
    assert "market.execution" in result.messages[0]
