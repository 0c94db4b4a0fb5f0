"""The venues' shipped tables and the Hyperliquid ``meta`` reader (no network)."""

from __future__ import annotations

from importlib import resources

import pytest

from tui.engine import (
    DEFAULT_MARKETS,
    DEFAULT_SYMBOLS,
    InvalidInput,
    Market,
    Venue,
    default_markets,
    markets_from_hyperliquid_meta,
    venue_data,
    venue_markets,
)

# A canned `meta` response, shaped as the venue sends it (numbers in tables are strings).
META = {
    "universe": [
        {"szDecimals": 5, "name": "BTC", "maxLeverage": 40, "marginTableId": 56},
        {
            "szDecimals": 1,
            "name": "MATIC",
            "maxLeverage": 20,
            "marginTableId": 20,
            "isDelisted": True,
        },
        {"szDecimals": 0, "name": "DOGE", "maxLeverage": 10, "marginTableId": 52},
        {"szDecimals": 2, "name": "ATOM", "maxLeverage": 5, "marginTableId": 5},
        {"szDecimals": 3, "name": "BNB", "maxLeverage": 10, "marginTableId": 51},
        {"szDecimals": 0, "name": "LOW", "maxLeverage": 3, "marginTableId": 52},
    ],
    "marginTables": [
        [
            51,
            {
                "description": "tiered 10x",
                "marginTiers": [
                    {"lowerBound": "0.0", "maxLeverage": 10},
                    {"lowerBound": "3000000.0", "maxLeverage": 5},
                ],
            },
        ],
        [
            52,
            {
                "description": "tiered 10x (2)",
                "marginTiers": [
                    {"lowerBound": "0.0", "maxLeverage": 10},
                    {"lowerBound": "20000000.0", "maxLeverage": 5},
                ],
            },
        ],
        [
            56,
            {
                "description": "tiered 40x",
                "marginTiers": [
                    {"lowerBound": "0.0", "maxLeverage": 40},
                    {"lowerBound": "150000000.0", "maxLeverage": 20},
                ],
            },
        ],
    ],
    "collateralToken": 0,
}


def test_meta_gives_markets_with_tiers_steps_and_deductions() -> None:
    markets = {m.name: m for m in markets_from_hyperliquid_meta(META)}
    assert list(markets) == ["BTC", "DOGE", "ATOM", "BNB", "LOW"]  # delisted MATIC skipped
    btc = markets["BTC"]
    assert (btc.max_leverage, btc.size_step, btc.min_notional) == (40, 0.00001, 10)
    # 40x -> 1.25 %; above 150M, 20x -> 2.5 %, deduction 150,000,000 * 1.25 % = 1,875,000.
    assert [(t.notional_floor, t.max_leverage) for t in btc.tiers] == [(0, 40), (150e6, 20)]
    assert [t.maintenance_rate for t in btc.tiers] == [0.0125, 0.025]
    assert btc.tiers[1].maintenance_amount == pytest.approx(1_875_000)
    assert markets["DOGE"].size_step == 1 and markets["BNB"].size_step == 0.001
    # A table id below 50 with no table is one tier at that leverage.
    assert [(t.notional_floor, t.max_leverage) for t in markets["ATOM"].tiers] == [(0, 5)]
    assert markets["ATOM"].mmr == pytest.approx(0.1)


def test_meta_asset_capped_below_its_table_keeps_the_tables_maintenance() -> None:
    low = {m.name: m for m in markets_from_hyperliquid_meta(META)}["LOW"]
    assert low.max_leverage == 3
    assert [t.max_leverage for t in low.tiers] == [3, 3]
    assert [t.maintenance_rate for t in low.tiers] == [0.05, 0.1]  # the 10x / 5x table's
    assert low.tiers[1].maintenance_amount == pytest.approx(20e6 * 0.05)


def test_meta_symbols_and_fees() -> None:
    markets = markets_from_hyperliquid_meta(META, symbols=["BNB", "BTC", "NOPE"], taker_fee=0)
    assert [m.name for m in markets] == ["BNB", "BTC"]
    assert all(m.taker_fee == 0 for m in markets)


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({}, "universe list"),
        ({"universe": [{"maxLeverage": 3}]}, "has no name"),
        ({"universe": [{"name": "X", "szDecimals": 1, "maxLeverage": "lots"}]}, "must be a number"),
        ({"universe": [{"name": "X", "szDecimals": 99, "maxLeverage": 3}]}, "out of range"),
        (
            {"universe": [{"name": "X", "szDecimals": 1, "maxLeverage": 3, "marginTableId": 77}]},
            "77, not listed",
        ),
        ({"universe": [], "marginTables": [[50]]}, "not an \\[id, table\\] pair"),
        ({"universe": [], "marginTables": [[50, {"marginTiers": []}]]}, "has no tiers"),
        ({"universe": [], "marginTables": [[50, {"marginTiers": ["x"]}]]}, "bad tier"),
        (
            {
                "universe": [],
                "marginTables": [[50, {"marginTiers": [{"lowerBound": "nan", "maxLeverage": 5}]}]],
            },
            "finite",
        ),
    ],
)
def test_bad_meta_is_refused_with_what_is_wrong(meta: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        markets_from_hyperliquid_meta(meta)


def test_shipped_tables_are_dated_and_sourced() -> None:
    for venue in Venue:
        data = venue_data(venue)
        assert data["venue"] == venue.value
        assert len(data["as_of"]) == 10 and data["as_of"][4] == "-"
        assert data["sources"] and all(isinstance(v, str) and v for v in data["sources"].values())
        name = f"{venue.value}.json"
        assert resources.files("tui.engine").joinpath("data", "venues", name).is_file()


def test_hyperliquid_catalogue_has_every_default_market() -> None:
    markets = venue_markets(Venue.HYPERLIQUID)
    assert tuple(m.name for m in markets) == DEFAULT_SYMBOLS and len(markets) == 22
    lev = {m.name: m.max_leverage for m in markets}
    assert (lev["BTC"], lev["ETH"], lev["SOL"], lev["XRP"]) == (40, 25, 20, 20)
    assert all(lev[n] == 10 for n in DEFAULT_SYMBOLS[4:])
    floors = {m.name: m.tiers[1].notional_floor for m in markets}
    assert (floors["BTC"], floors["ETH"], floors["BNB"], floors["HYPE"]) == (
        150e6,
        100e6,
        3e6,
        20e6,
    )
    assert all(m.min_notional == 10 and m.size_step for m in markets)


def test_binance_catalogue_lists_what_binance_lists() -> None:
    markets = {m.name: m for m in venue_markets(Venue.BINANCE)}
    assert "HYPE" not in markets and len(markets) == 21
    btc = markets["BTC"]
    assert (btc.max_leverage, btc.size_step, btc.min_notional) == (125, 0.001, 100)
    assert btc.funding_interval_hours == 8 and btc.taker_fee == 0.0005
    # The first brackets as Binance publishes them, maintenance amount included.
    first = [
        (t.notional_floor, t.max_leverage, t.maintenance_rate, t.maintenance_amount)
        for t in btc.tiers[:3]
    ]
    assert first == [(0, 125, 0.004, 0), (50_000, 100, 0.005, 50), (600_000, 75, 0.0065, 950)]
    assert markets["ETH"].min_notional == 20 and markets["DOGE"].min_notional == 5


def test_default_markets_keeps_its_signature() -> None:
    assert default_markets() == list(DEFAULT_MARKETS)
    cheap = default_markets(0.0001, 0.00002)
    assert all(m.taker_fee == 0.0001 and m.maker_fee == 0.00002 for m in cheap)
    assert [m.name for m in default_markets(venue=Venue.BINANCE)] == [
        s for s in DEFAULT_SYMBOLS if s != "HYPE"
    ]


def test_markets_survive_the_journals_dict_round_trip() -> None:
    import dataclasses

    for market in (*venue_markets(Venue.BINANCE)[:2], *DEFAULT_MARKETS[:2], Market("X", 7)):
        data = dataclasses.asdict(market)
        assert isinstance(data["tiers"][0], dict)
        assert Market(**data) == market
