"""The engine is a pure library: importing it must not pull in the UI toolkit."""

from __future__ import annotations

import subprocess
import sys


def test_engine_imports_neither_textual_nor_rich() -> None:
    code = (
        "import sys, tui.engine\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
