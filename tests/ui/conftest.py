"""Every UI test runs on a temp config and data dir in UTC (helpers: pilot_helpers.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


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
