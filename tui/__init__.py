"""perpdesk: practise perpetual-futures trading with paper money, from the keyboard."""

__version__ = "0.1.0"
