"""What screens ask for: typed messages that bubble up to the app, which handles each in one
place (``PerpDeskApp``, the "requests from the screens" section).

A screen says what the trader wants (``OrderRequested("BTC", Side.LONG)``); the app runs the
flow (order form, confirmation, the session's call) and the next heartbeat shows the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tui.commands import Command
from tui.engine import MarginMode, Side

if TYPE_CHECKING:
    from tui.widgets.command_line import CommandLine


@dataclass
class OrderRequested(Message):
    """Open, add to, reduce or flip a position in ``market``. Without a size the order form
    asks for one; with one (``size`` coins or ``usd`` notional) the confirmation comes next."""

    market: str
    side: Side
    size: float | None = None
    usd: float | None = None
    leverage: float | None = None
    mode: MarginMode | None = None


@dataclass
class CloseRequested(Message):
    """Close ``fraction`` of the position in ``market`` (or ``size`` coins), asking first."""

    market: str
    fraction: float = 1.0
    size: float | None = None


@dataclass
class MarginRequested(Message):
    """Move isolated margin on ``market``: ask how much to add (``sign`` 1) or remove (-1)."""

    market: str
    sign: int


@dataclass
class LeverageRequested(Message):
    """Change the leverage of the position in ``market``: show what ``leverage`` (or one the
    trader types) would do, then change it once confirmed."""

    market: str
    leverage: float | None = None


@dataclass
class CommandEntered(Message):
    """A command line that parsed. The handler runs it and answers the line with
    :meth:`CommandLine.finish` (an error to show, or ``None`` to close it)."""

    command: Command
    line: CommandLine


@dataclass
class ExportRequested(Message):
    """Write one history table (``fills``, ``liquidations``, ``funding``, ``closed``) to CSV."""

    kind: str


@dataclass
class TpSlRequested(Message):
    """Set or clear the take-profit and stop-loss of the position in ``market`` (a dialog asks
    for the prices)."""

    market: str


@dataclass
class CancelRequested(Message):
    """Cancel order ``order_id``, or every open order in ``market`` (asking first)."""

    order_id: int | None = None
    market: str | None = None


@dataclass
class ModifyRequested(Message):
    """Change the price or size of order ``order_id`` (a dialog asks; cancel + replace)."""

    order_id: int


@dataclass
class StarRequested(Message):
    """Star ``market`` in Markets, or take its star away (kept in the settings)."""

    market: str
