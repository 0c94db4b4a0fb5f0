"""A Static that never reads its text as markup: it shows prices, paths and what people typed."""

from __future__ import annotations

from typing import Any

from textual.visual import VisualType
from textual.widgets import Static


class Plain(Static):
    """``Static`` with ``markup=False`` by default ("[iso|cross]" or "[/x]" stay literal)."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(content, **kwargs)
