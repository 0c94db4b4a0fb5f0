"""The account strip: wallet, equity, available, cross value and ratio, isolated margin, and
the margin resting orders hold back."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine import AccountView
from tui.format import fmt_money, fmt_pct

NO_AVAILABLE = "margin in use > equity"
"""Beside "Available 0.00" when the engine's figure is below zero (cross losses have eaten into
the margin the open positions use): venues show 0 there, as nothing can be withdrawn or used
for a new order, and perpdesk says why in as few words as fit an 80-column strip."""


class AccountStrip(Static):
    """One line of account figures; repaints only when the text changes."""

    DEFAULT_CSS = """
    AccountStrip { height: 1; padding: 0 1; background: $boost; }
    AccountStrip.-narrow { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last: object = None

    def show(self, account: AccountView, styles: dict[str, str], narrow: bool = False) -> None:
        """Show the figures; ``narrow`` puts them on two lines instead of one."""
        ratio = account.margin_ratio
        ratio_style = styles["error"] if ratio >= 0.8 else styles["warning"] if ratio >= 0.5 else ""
        # Never a negative "Available": the venues show 0 and the reason.
        short = not account.available >= 0.0
        available = fmt_money(0.0 if short else account.available)
        if short:
            available += f" ({NO_AVAILABLE})"
        parts: list[tuple[str, str, str]] = [
            ("Wallet", fmt_money(account.wallet_balance), ""),
            ("Equity", fmt_money(account.equity), ""),
            ("Available", available, styles["warning"] if short else ""),
            ("Cross value", fmt_money(account.cross_account_value), ""),
            ("Margin ratio", fmt_pct(ratio, decimals=1), ratio_style),
            ("Isolated", fmt_money(account.isolated_margin), ""),
        ]
        if account.order_margin > 0:
            parts.append(("In orders", fmt_money(account.order_margin), ""))
        one_line = sum(len(label) + 1 + len(value) + 2 for label, value, _ in parts) - 2
        width = self.size.width - 2  # less the padding
        narrow = narrow or (width > 0 and one_line > width)  # two lines rather than cut it
        state = (tuple(parts), narrow)
        if state == self._last:
            return
        self._last = state
        self.set_class(narrow, "-narrow")
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, value, style) in enumerate(parts):
            if i:
                text.append("\n" if narrow and i == 3 else "  ")
            text.append(f"{label} ", style="dim")
            text.append(value, style=style or "bold")
        self.update(text, layout=False)  # the height is fixed by CSS: no layout pass per tick
