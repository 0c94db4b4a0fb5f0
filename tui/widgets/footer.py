"""The Footer, cut by importance: the keys that fit the width, in the order the action table
gives (its ``footer`` places are importance order), never a key cut in half.

Textual's own Footer lays every key out and lets the narrow terminal clip the row, leaving a
stray letter under the command-palette key ("h His▏^p palettei"). Here the keys that do not fit
are left out whole, and the command-palette key only shows when every key fits beside it
(ctrl+p still opens the palette; help lists it). A screen may relabel a key by its action
with a ``footer_description(action) -> str | None`` method.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WIDTH = 12
"""Cells the command-palette key takes, with its separator ("▏^p palette")."""


def key_width(key: FooterKey) -> int:
    """Cells one compact Footer key takes: "b Long" and the space after it."""
    return len(key.key_display) + (1 + len(key.description) if key.description else 0) + 1


class DeskFooter(Footer):
    """A compact Footer that shows the most important keys that fit."""

    def __init__(self, *, compact: bool = True, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._fitted_width = 0
        self.shown_keys: list[str] = []
        """The key displays shown, in order (for tests)."""

    def compose(self) -> ComposeResult:
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        items = list(super().compose())
        found = [w for w in items if isinstance(w, FooterKey)]
        relabel = getattr(self.screen, "footer_description", None)
        for key in found:  # a key whose meaning follows the screen ("o Orders" / "o Positions")
            label = relabel(key.action) if callable(relabel) else None
            if isinstance(label, str):
                key.description = label
        keys = [w for w in found if "-command-palette" not in w.classes]
        palette = [w for w in found if "-command-palette" in w.classes]
        used = 0
        shown: list[FooterKey] = []
        for key in keys:
            need = key_width(key)
            if used + need > width:
                break  # importance order: what follows matters less
            shown.append(key)
            used += need
        if palette and len(shown) == len(keys) and used + PALETTE_WIDTH <= width:
            shown += palette
        self.shown_keys = [k.key_display for k in shown if k not in palette]
        yield from shown

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)
