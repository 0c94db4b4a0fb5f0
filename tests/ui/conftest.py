"""UI test helpers: an app on a seeded, stopped feed, a fixed clock and a temp config dir."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.app import PerpDeskApp
from tui.market import SimSource
from tui.settings import Settings

FIXED_NOW = 1_795_500_000.0  # 2026-11-24 05:20 UTC


@pytest.fixture(autouse=True)
def isolated_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the developer's own config, data or time zone."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PERPDESK_CONFIG", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield tmp_path
    os.environ.pop("TZ", None)
    time.tzset()


def make_app(settings: Settings | None = None, **kwargs: Any) -> PerpDeskApp:
    """The app on a simulated feed seeded with 1 that does not tick by itself.

    Tests move prices with ``app.session.on_mark`` or ``step(app, seconds)``.
    """
    kwargs.setdefault("source", SimSource(None, seed=1))
    kwargs.setdefault("autostart_feed", False)
    kwargs.setdefault("wall_clock", lambda: FIXED_NOW)
    kwargs.setdefault("monotonic", lambda: 0.0)
    return PerpDeskApp(settings, **kwargs)


def step(app: PerpDeskApp, seconds: float) -> None:
    """Advance the seeded simulation by ``seconds`` and feed the app (deterministic)."""
    assert isinstance(app.session.feed, SimSource)
    app.session.feed.step(seconds).deliver(app.session)
    app.refresh_now()
