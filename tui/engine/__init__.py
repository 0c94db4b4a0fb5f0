"""perpdesk's paper-trading engine: pure Python, no UI imports (rules: docs/rules.md)."""

from tui.engine.engine import PaperEngine
from tui.engine.markets import DEFAULT_MARKETS, default_markets
from tui.engine.models import (
    AccountView,
    Event,
    Fill,
    FundingPayment,
    InvalidInput,
    Liquidation,
    MarginMode,
    MarginTransfer,
    Market,
    Order,
    OrderEvent,
    OrderRejected,
    OrderType,
    PositionView,
    Preview,
    Side,
)

__all__ = [
    "DEFAULT_MARKETS",
    "AccountView",
    "Event",
    "Fill",
    "FundingPayment",
    "InvalidInput",
    "Liquidation",
    "MarginMode",
    "MarginTransfer",
    "Market",
    "Order",
    "OrderEvent",
    "OrderRejected",
    "OrderType",
    "PaperEngine",
    "PositionView",
    "Preview",
    "Side",
    "default_markets",
]
