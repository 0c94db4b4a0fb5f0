"""Order entry: the order form (`b` / `s`) and the trade confirmation screen."""

from tui.screens.order.confirm import LOCKED_MESSAGE, TradeConfirmScreen
from tui.screens.order.form import OrderFormScreen

__all__ = ["LOCKED_MESSAGE", "OrderFormScreen", "TradeConfirmScreen"]
