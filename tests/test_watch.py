"""What Markets shows (tui/watch.py, no UI): filtered by name, sorted, starred first, and the
order held between two sorts by a moving figure. Hand-worked lists."""

from __future__ import annotations

import math

import pytest

from tui.watch import SORTS, WatchItem, arrange, change_label, hold_order, next_sort


def item(name: str, change: float | None = None, funding: float | None = None) -> WatchItem:
    return WatchItem(name, 1.0, change, funding, 10.0)


ITEMS = [
    item("BTC", 0.010, 0.00002),
    item("ETH", -0.020, 0.00005),
    item("kPEPE", 0.050, None),
    item("SOL", None, -0.00001),
    item("AVAX", math.nan, 0.00001),
    item("ARB", 0.030, 0.00003),
]


def names(items: list[WatchItem]) -> list[str]:
    return [i.name for i in items]


def test_a_filter_keeps_the_names_containing_it_in_any_case() -> None:
    assert names(arrange(ITEMS, query="a")) == ["AVAX", "ARB"]
    assert names(arrange(ITEMS, query=" PePe ")) == ["kPEPE"]  # spaces around do not count
    assert names(arrange(ITEMS, query="zz")) == []
    assert names(arrange(ITEMS)) == names(ITEMS)  # the venue's own order


def test_sorts_put_the_highest_first_and_a_missing_figure_last() -> None:
    # change: kPEPE +5 %, ARB +3 %, BTC +1 %, ETH -2 %, then SOL (none) and AVAX (NaN) as given
    assert names(arrange(ITEMS, sort="change")) == ["kPEPE", "ARB", "BTC", "ETH", "SOL", "AVAX"]
    # funding: ETH 0.005 %/h, ARB, BTC, AVAX, SOL (negative), kPEPE (none)
    assert names(arrange(ITEMS, sort="funding")) == ["ETH", "ARB", "BTC", "AVAX", "SOL", "kPEPE"]
    assert names(arrange(ITEMS, sort="name")) == ["ARB", "AVAX", "BTC", "ETH", "kPEPE", "SOL"]


def test_starred_markets_come_first_in_every_order() -> None:
    starred = [WatchItem(i.name, i.mark, i.change, i.funding, 10.0, i.name in ("SOL", "ETH"))
               for i in ITEMS]  # fmt: skip
    assert names(arrange(starred, sort="change")) == ["ETH", "SOL", "kPEPE", "ARB", "BTC", "AVAX"]
    assert names(arrange(starred, sort="name")) == ["ETH", "SOL", "ARB", "AVAX", "BTC", "kPEPE"]
    assert names(arrange(starred, query="s")) == ["SOL"]  # a filter applies to them too


def test_an_unknown_sort_is_refused() -> None:
    with pytest.raises(ValueError, match="sort must be one of list, change, funding, name"):
        arrange(ITEMS, sort="volume")


def test_the_sort_key_goes_round_and_the_change_heading_says_what_it_measures() -> None:
    seen = ["list"]
    for _ in SORTS:
        seen.append(next_sort(seen[-1]))
    assert seen == ["list", "change", "funding", "name", "list"]
    assert (change_label(True), change_label(False)) == ("24h", "Session")


def test_held_rows_keep_their_places_and_new_ones_come_after() -> None:
    fresh = arrange(ITEMS, sort="change")  # kPEPE, ARB, BTC, ETH, SOL, AVAX
    on_screen = ["BTC", "kPEPE", "ETH", "GONE", "ARB"]
    assert names(hold_order(fresh, on_screen)) == ["BTC", "kPEPE", "ETH", "ARB", "SOL", "AVAX"]
    assert hold_order(fresh, []) == fresh
