"""What the markets list (the watchlist) shows: which markets, in what order, with which
figures. No UI: the main screen formats and draws what :func:`arrange` returns.

A venue lists 200 markets and more, so the list can be filtered by typing (a market whose
name contains the text, any case), sorted (:data:`SORTS`) and starred: starred markets come
first whatever the order, and are kept in the settings (``ui.favourites``).

The change column compares the mark with the price 24 hours ago when the source reports one
(Hyperliquid's ``prevDayPx``), else with the first mark of this launch; its heading says
which (:func:`change_label`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.session import Session

__all__ = [
    "CHANGE_LABEL_24H",
    "CHANGE_LABEL_SESSION",
    "MOVING_SORTS",
    "SORTS",
    "WatchItem",
    "arrange",
    "change_label",
    "hold_order",
    "next_sort",
    "sort_label",
    "watch_items",
]

CHANGE_LABEL_24H = "24h"
"""The change column's heading when it is a 24 h change."""
CHANGE_LABEL_SESSION = "Session"
"""The change column's heading when it is the change since perpdesk was launched (the source
reports no price from 24 hours ago: the simulation, scenarios, replays, Binance)."""

SORTS: tuple[str, ...] = ("list", "change", "funding", "name")
"""The orders the sort key cycles through: the venue's own list (most traded first), the
biggest gain first, the highest funding rate first (what longs pay most), by name."""

MOVING_SORTS = frozenset({"change", "funding"})
"""The orders that move as prices move (the screen re-sorts them every few seconds)."""

_SORT_LABELS = {
    "list": "most traded first",
    "change": "by change",
    "funding": "by funding",
    "name": "by name",
}


@dataclass(frozen=True, slots=True)
class WatchItem:
    """One market as the list shows it. ``change`` is a fraction (0.012 = +1.2 %)."""

    name: str
    mark: float | None
    change: float | None
    funding: float | None
    max_leverage: float
    starred: bool = False
    stale: bool = False


def change_label(day_change: bool) -> str:
    """The change column's heading (see the module doc)."""
    return CHANGE_LABEL_24H if day_change else CHANGE_LABEL_SESSION


def sort_label(sort: str) -> str:
    return _SORT_LABELS[sort]


def next_sort(sort: str) -> str:
    """The order after ``sort`` in :data:`SORTS` (round and round)."""
    return SORTS[(SORTS.index(sort) + 1) % len(SORTS)]


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def watch_items(
    session: Session, favourites: Collection[str] = (), held: Collection[str] | None = None
) -> list[WatchItem]:
    """Every market the list may show, in the catalogue's order: those the feed prices, and
    those with a position (``held``, when the caller has them; a market the feed does not
    price is stale)."""
    engine = session.engine
    marks = engine.marks
    feed = session.feed
    fed = frozenset(feed.symbols) if feed is not None else None
    if held is None:
        held = {p.market for p in engine.positions()}
    bases = session.change_bases
    stale_markets = session.stale_markets
    starred = set(favourites)
    items: list[WatchItem] = []
    for name, market in engine.markets.items():
        unfed = fed is not None and name not in fed
        if unfed and name not in held:
            continue  # the feed never prices it (a replay of two markets): leave it out
        mark = marks.get(name)
        basis = bases.get(name)
        change = None
        if _finite(mark) and _finite(basis) and basis:
            assert mark is not None and basis is not None
            change = mark / basis - 1.0
        items.append(
            WatchItem(
                name,
                mark,
                change,
                engine.funding_rate(name),
                float(market.max_leverage),
                name in starred,
                unfed or name in stale_markets,
            )
        )
    return items


def _matches(name: str, query: str) -> bool:
    return query.casefold() in name.casefold()


def arrange(items: Sequence[WatchItem], *, query: str = "", sort: str = "list") -> list[WatchItem]:
    """The items whose name contains ``query`` (any case), starred first, each group in the
    ``sort`` order; a market without the figure a sort needs goes last in its group."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    query = query.strip()
    shown = [item for item in items if not query or _matches(item.name, query)]
    if sort == "name":
        shown.sort(key=lambda item: (item.name.casefold(), item.name))
    elif sort in ("change", "funding"):
        field = "change" if sort == "change" else "funding"

        def highest_first(item: WatchItem) -> tuple[bool, float]:
            value: float | None = getattr(item, field)
            return (not _finite(value), -(value or 0.0) if _finite(value) else 0.0)

        shown.sort(key=highest_first)
    shown.sort(key=lambda item: not item.starred)  # stable: starred first, order kept
    return shown


def hold_order(items: Sequence[WatchItem], order: Sequence[str]) -> list[WatchItem]:
    """``items`` in the order of the names in ``order`` (what is on screen); items not in it
    come after, as given. Between two sorts by a moving figure, rows keep their places."""
    place = {name: i for i, name in enumerate(order)}
    last = len(place)
    return sorted(items, key=lambda item: place.get(item.name, last))
