"""The account strip: wallet, equity, available, cross value and ratio, isolated margin."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.engine import AccountView
from tui.format import fmt_money, fmt_pct


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
        parts = (
            ("Wallet", fmt_money(account.wallet_balance), ""),
            ("Equity", fmt_money(account.equity), ""),
            ("Available", fmt_money(account.available), ""),
            ("Cross value", fmt_money(account.cross_account_value), ""),
            ("Margin ratio", fmt_pct(ratio, decimals=1), ratio_style),
            ("Isolated", fmt_money(account.isolated_margin), ""),
        )
        if (parts, narrow) == self._last:
            return
        self._last = (parts, narrow)
        self.set_class(narrow, "-narrow")
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, value, style) in enumerate(parts):
            if i:
                text.append("\n" if narrow and i == 3 else "  ")
            text.append(f"{label} ", style="dim")
            text.append(value, style=style or "bold")
        self.update(text, layout=False)  # the height is fixed by CSS: no layout pass per tick
