"""A venue's market list applied to the paper account, and what to say about it (no UI).

A live source passes on the markets its venue lists, with the venue's max leverage and margin
tables (Hyperliquid's ``meta``; Binance's shipped tables). :func:`apply_listing` adds the ones
the engine does not list yet and gives the ones it does the venue's current table (the engine
re-tiers open positions); :func:`listing_line` says in one line what changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from tui.engine import Market, PaperEngine, Venue
from tui.format import fmt_leverage
from tui.safe import safe_text

__all__ = ["Listing", "apply_listing", "listing_line", "market_change", "names_line"]

NAMES_SHOWN = 8
"""A line names at most this many markets, then says how many more."""


@dataclass(slots=True)
class Listing:
    """What one market list did to the account."""

    venue: str
    """The venue's name as a person reads it (``"Hyperliquid"``)."""
    listed: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    """One phrase per market whose table changed, e.g. ``"BTC 40x → 50x"``."""
    refused: list[str] = field(default_factory=list)
    """Listed markets whose new table the engine would not take (they stay as they were),
    with why."""
    left_out: list[str] = field(default_factory=list)
    """Entries of the venue's list not added, with why: unreadable or absurd ones (the source
    says which) and new markets whose table the engine would not take."""
    other_venue: str | None = None
    """Set when the account follows another venue's rules: nothing was applied."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.refused or self.left_out)


def names_line(names: Sequence[str], shown: int = NAMES_SHOWN, sep: str = ", ") -> str:
    """``A, B, C`` or ``A, B, C and 12 more``."""
    head = sep.join(names[:shown])
    return f"{head} and {len(names) - shown} more" if len(names) > shown else head


def _tiers(market: Market) -> int:
    return len(market.tiers)


def market_change(old: Market, new: Market) -> str | None:
    """What differs between two versions of a market's table, as a short phrase (``None``:
    nothing a trader would notice)."""
    parts: list[str] = []
    if float(old.max_leverage) != float(new.max_leverage):
        parts.append(f"{fmt_leverage(old.max_leverage)} → {fmt_leverage(new.max_leverage)}")
    if _tiers(old) != _tiers(new):
        parts.append(f"margin tiers {_tiers(old)} → {_tiers(new)}")
    elif old.tiers != new.tiers and (_tiers(new) > 1 or not parts):
        parts.append("margin tiers")  # (one tier at a new leverage: said already)
    if old.size_step != new.size_step:
        steps = (old.size_step, new.size_step)
        parts.append(f"size step {steps[0]:g} → {steps[1]:g}" if all(steps) else "size step")
    if old.min_notional != new.min_notional:
        parts.append("minimum order")
    if not parts:
        return None
    return f"{new.name} {', '.join(parts)}"


def apply_listing(
    engine: PaperEngine,
    venue: Venue | str,
    markets: Sequence[Market],
    *,
    taker_fee: float,
    maker_fee: float,
    left_out: Sequence[str] = (),
) -> Listing:
    """Give ``engine`` the markets ``venue`` (``"hyperliquid"``, ``"binance"``) lists: new ones
    are added with the account's fees, listed ones take the venue's table and keep their own
    fees and slippage. An account that follows another venue's rules is left alone (its
    margin tables are that venue's). ``left_out``: entries of the list the source could not
    read, with why (they count as listed)."""
    source = Venue.parse(venue)
    listing = Listing(source.label, len(markets) + len(left_out), left_out=list(left_out))
    if engine.venue is not source:
        listing.other_venue = engine.venue.label
        return listing
    known = engine.markets
    for market in markets:
        old = known.get(market.name)
        try:
            if old is None:
                engine.add_market(
                    dataclasses.replace(market, taker_fee=taker_fee, maker_fee=maker_fee)
                )
                listing.added.append(market.name)
                continue
            fresh = dataclasses.replace(
                market,
                taker_fee=old.taker_fee,
                maker_fee=old.maker_fee,
                slippage=old.slippage,
            )
            change = market_change(old, fresh)
            if change is not None:
                engine.update_market(fresh)
                listing.updated.append(change)
        except ValueError as exc:  # a table the engine cannot use: the market stays as it was
            said = f"{market.name} ({safe_text(exc).rstrip('.')})"
            (listing.left_out if old is None else listing.refused).append(said)
    return listing


def listing_line(listing: Listing, first: bool) -> str | None:
    """The log line for ``listing``: always the first time (so the trader knows the tables were
    checked), afterwards only when something changed."""
    if listing.other_venue is not None:
        if not first:
            return None
        return (
            f"{listing.venue} lists {_markets(listing.listed)}, but this account follows "
            f"{listing.other_venue}'s rules: markets without {listing.other_venue} tables are "
            "not added."
        )
    if not first and not listing.changed:
        return None
    parts = [f"{listing.venue} lists {_markets(listing.listed)}"]
    if listing.added:
        parts.append(f"{len(listing.added)} added to Markets")
    if listing.updated:
        parts.append(f"tables updated from the venue: {names_line(listing.updated)}")
    elif first:
        parts.append("the tables perpdesk ships still match the venue's")
    if listing.refused:
        parts.append(f"left as they were: {names_line(listing.refused, 3)}")
    if listing.left_out:
        reasons = [reason.rstrip(".") for reason in listing.left_out]
        parts.append(f"not added: {names_line(reasons, 3, sep='; ')}")
    return "; ".join(parts) + "."


def _markets(count: int) -> str:
    return f"{count:,} market{'' if count == 1 else 's'}"
