"""The market catalogue: the most traded perpetuals, with each venue's own tables.

Each venue's tables ship as package data in ``tui/engine/data/venues/`` (dated, with their
sources): ``hyperliquid.json`` holds a Hyperliquid ``meta`` response (universe and margin
tables), read by :func:`markets_from_hyperliquid_meta`, the same function that reads a live
one; ``binance.json`` holds Binance's leverage brackets, step sizes, minimum notionals and
funding intervals. :func:`venue_markets` builds the markets of a venue;
:func:`default_markets` keeps its old signature (Hyperliquid unless told otherwise).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from tui.engine.models import InvalidInput, MarginTier, Market
from tui.engine.venues import Venue

TAKER_FEE = Venue.HYPERLIQUID.taker_fee
MAKER_FEE = Venue.HYPERLIQUID.maker_fee

DEFAULT_SYMBOLS: tuple[str, ...] = (
    "BTC",
    "ETH",
    "SOL",
    "XRP",
    "DOGE",
    "BNB",
    "HYPE",
    "SUI",
    "ADA",
    "AVAX",
    "LINK",
    "LTC",
    "DOT",
    "TRX",
    "BCH",
    "NEAR",
    "APT",
    "ARB",
    "OP",
    "TON",
    "AAVE",
    "UNI",
)
"""The default markets, most traded first."""


@cache
def venue_data(venue: Venue | str) -> Mapping[str, Any]:
    """The shipped data file of ``venue`` (its ``as_of`` date and ``sources`` included)."""
    name = Venue.parse(venue).value
    text = (
        resources.files("tui.engine")
        .joinpath("data", "venues", f"{name}.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    if not isinstance(data, dict):  # pragma: no cover - the shipped file is a JSON object
        raise ValueError(f"{name}.json is not a JSON object")
    return data


def _number(value: object, what: str) -> float:
    """A finite number from a venue response (numbers often come as strings there)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number, not {value!r}.")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} must be a number, not {value!r}.") from exc
    if not math.isfinite(number):
        raise InvalidInput(f"{what} must be a finite number, not {value!r}.")
    return number


def _hl_tables(meta: Mapping[str, Any]) -> dict[int, list[MarginTier]]:
    raw = meta.get("marginTables", [])
    if not isinstance(raw, list):
        raise InvalidInput("Hyperliquid meta: marginTables must be a list.")
    tables: dict[int, list[MarginTier]] = {}
    for entry in raw:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise InvalidInput(
                f"Hyperliquid meta: a margin table is not an [id, table] pair: {entry!r}."
            )
        table_id = int(_number(entry[0], "Margin table id"))
        body = entry[1]
        tiers = body.get("marginTiers") if isinstance(body, Mapping) else None
        if not isinstance(tiers, list) or not tiers:
            raise InvalidInput(f"Hyperliquid meta: margin table {table_id} has no tiers.")
        tables[table_id] = [
            MarginTier(
                _number(t.get("lowerBound"), f"Table {table_id} lower bound"),
                _number(t.get("maxLeverage"), f"Table {table_id} max leverage"),
            )
            if isinstance(t, Mapping)
            else _bad_tier(table_id, t)
            for t in tiers
        ]
    return tables


def _bad_tier(table_id: int, tier: object) -> MarginTier:
    raise InvalidInput(f"Hyperliquid meta: margin table {table_id} has a bad tier: {tier!r}.")


def markets_from_hyperliquid_meta(
    meta: Mapping[str, Any],
    *,
    symbols: Sequence[str] | None = None,
    taker_fee: float = Venue.HYPERLIQUID.taker_fee,
    maker_fee: float = Venue.HYPERLIQUID.maker_fee,
) -> list[Market]:
    """Markets (with margin tiers and size steps) from a Hyperliquid ``meta`` info response.

    ``meta`` is ``{"universe": [{"name", "szDecimals", "maxLeverage", "marginTableId"}, ...],
    "marginTables": [[id, {"marginTiers": [{"lowerBound", "maxLeverage"}, ...]}], ...]}``.
    A table id below 50 with no table listed is one tier at that leverage (the venue's rule);
    an asset without a table id has one tier at its ``maxLeverage``. Delisted assets are
    skipped; ``symbols`` keeps those names only, in that order (unknown ones are left out).
    The size step is ``10 ** -szDecimals``; maintenance rates and deductions are derived the
    Hyperliquid way. Raises :class:`InvalidInput` naming what is wrong with the response.
    """
    if not isinstance(meta, Mapping) or not isinstance(meta.get("universe"), list):
        raise InvalidInput("Hyperliquid meta: expected an object with a universe list.")
    tables = _hl_tables(meta)
    found: dict[str, Market] = {}
    for asset in meta["universe"]:
        if not isinstance(asset, Mapping) or not isinstance(asset.get("name"), str):
            raise InvalidInput(f"Hyperliquid meta: an asset has no name: {asset!r}.")
        if asset.get("isDelisted"):
            continue
        name = asset["name"]
        lev = _number(asset.get("maxLeverage"), f"{name} maxLeverage")
        decimals = int(_number(asset.get("szDecimals"), f"{name} szDecimals"))
        if not 0 <= decimals <= 10:
            raise InvalidInput(f"Hyperliquid meta: {name} szDecimals {decimals} is out of range.")
        table_id = asset.get("marginTableId")
        tiers: list[MarginTier]
        if table_id is None:
            tiers = [MarginTier(0.0, lev)]
        else:
            number = int(_number(table_id, f"{name} marginTableId"))
            if number in tables:
                tiers = tables[number]
            elif number < 50:
                tiers = [MarginTier(0.0, float(number))]
            else:
                raise InvalidInput(
                    f"Hyperliquid meta: {name} uses margin table {number}, not listed."
                )
        if float(tiers[0].max_leverage) != lev:
            # The asset caps leverage below its table: keep the table's maintenance rates,
            # cap each tier's leverage at the asset's.
            lev = min(lev, float(tiers[0].max_leverage))
            tiers = [
                MarginTier(
                    t.notional_floor, min(float(t.max_leverage), lev), maintenance_rate=t.rate
                )
                for t in tiers
            ]
        found[name] = Market(
            name,
            max_leverage=lev,
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            tiers=tuple(tiers),
            size_step=float(f"1e-{decimals}"),
            min_notional=Venue.HYPERLIQUID.min_notional,
        )
    if symbols is None:
        return list(found.values())
    return [found[s] for s in symbols if s in found]


def markets_from_binance_brackets(
    data: Sequence[Mapping[str, Any]],
    *,
    symbols: Sequence[str] | None = None,
    taker_fee: float = Venue.BINANCE.taker_fee,
    maker_fee: float = Venue.BINANCE.maker_fee,
) -> list[Market]:
    """Markets from perpdesk's Binance data: per market its ``brackets`` (Binance's
    ``leverageBracket`` fields ``notionalFloor``, ``initialLeverage``, ``maintMarginRatio``,
    ``cum``), ``stepSize``, ``minNotional`` and ``fundingIntervalHours``."""
    found: dict[str, Market] = {}
    for entry in data:
        name = str(entry["name"])
        brackets = sorted(entry["brackets"], key=lambda b: _number(b["notionalFloor"], "floor"))
        tiers = tuple(
            MarginTier(
                _number(b["notionalFloor"], f"{name} notionalFloor"),
                _number(b["initialLeverage"], f"{name} initialLeverage"),
                maintenance_rate=_number(b["maintMarginRatio"], f"{name} maintMarginRatio"),
                maintenance_amount=_number(b["cum"], f"{name} cum"),
            )
            for b in brackets
        )
        found[name] = Market(
            name,
            max_leverage=float(tiers[0].max_leverage),
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            tiers=tiers,
            size_step=_number(entry["stepSize"], f"{name} stepSize"),
            min_notional=_number(entry["minNotional"], f"{name} minNotional"),
            funding_interval_hours=_number(
                entry.get("fundingIntervalHours", 8), f"{name} fundingIntervalHours"
            ),
        )
    if symbols is None:
        return list(found.values())
    return [found[s] for s in symbols if s in found]


def venue_markets(
    venue: Venue | str = Venue.HYPERLIQUID,
    taker_fee: float | None = None,
    maker_fee: float | None = None,
    *,
    symbols: Sequence[str] = DEFAULT_SYMBOLS,
) -> list[Market]:
    """The default markets with ``venue``'s shipped tables (fees default to the venue's base
    tier). A market the venue's data does not list is left out (Binance has no HYPE)."""
    venue = Venue.parse(venue)
    data = venue_data(venue)
    taker = venue.taker_fee if taker_fee is None else taker_fee
    maker = venue.maker_fee if maker_fee is None else maker_fee
    if venue is Venue.HYPERLIQUID:
        return markets_from_hyperliquid_meta(
            data["meta"], symbols=symbols, taker_fee=taker, maker_fee=maker
        )
    return markets_from_binance_brackets(
        data["markets"], symbols=symbols, taker_fee=taker, maker_fee=maker
    )


def default_markets(
    taker_fee: float | None = None,
    maker_fee: float | None = None,
    *,
    venue: Venue | str = Venue.HYPERLIQUID,
) -> list[Market]:
    """The default market list with ``venue``'s tables, and the given fees (None: the venue's
    base tier; settings may override it)."""
    return venue_markets(venue, taker_fee, maker_fee)


DEFAULT_MARKETS: tuple[Market, ...] = tuple(default_markets())
