"""A Static that never reads its text as markup: it shows prices, paths and what people typed."""

from __future__ import annotations

from typing import Any

from textual.visual import VisualType
from textual.widgets import Static

from tui.safe import safe_text


class Plain(Static):
    """``Static`` with ``markup=False`` by default ("[iso|cross]" or "[/x]" stay literal), whose
    plain-string content has its control characters shown escaped (:func:`tui.safe.safe_text`;
    newlines kept)."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(_safe(content), **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(_safe(content), layout=layout)


def _safe(content: VisualType) -> VisualType:
    return safe_text(content, multiline=True) if isinstance(content, str) else content
