"""History: round trips, practice stats, liquidation post-mortems and CSV export.

The numbers are worked by hand from ../shared/MARGIN.md (fees 0 unless said, BTC 40x so
mmr 1.25 %, balance 10,000).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tui.engine import (
    Fill,
    Liquidation,
    MarginMode,
    MarginTier,
    Market,
    PaperEngine,
    Side,
    Venue,
)
from tui.history import (
    AccountAt,
    ExportError,
    closed_positions,
    export_csv,
    format_duration,
    post_mortems,
    practice_stats,
)

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def engine(
    fees: float = 0.0,
    balance: float = 10_000,
    clock: Clock | None = None,
    venue: Venue = Venue.HYPERLIQUID,
) -> PaperEngine:
    markets = [
        Market("BTC", max_leverage=40, taker_fee=fees, maker_fee=0),
        Market("ETH", max_leverage=25, taker_fee=fees, maker_fee=0),
        Market("SOL", max_leverage=20, taker_fee=fees, maker_fee=0),
    ]
    eng = PaperEngine(balance=balance, markets=markets, clock=clock or Clock(), venue=venue)
    eng.set_marks({"BTC": 100_000, "ETH": 4_000, "SOL": 200})
    return eng


def account_log(eng: PaperEngine) -> dict[int, AccountAt]:
    """What the journal records with each event: the account just after it."""
    seen: dict[int, AccountAt] = {}

    def listen(event: object) -> None:
        a = eng.account
        seen[event.seq] = AccountAt(  # type: ignore[attr-defined]
            a.wallet_balance, a.cross_account_value - a.cross_maintenance_margin
        )

    eng.listeners.append(listen)
    return seen


# --------------------------------------------------------------------------- round trips


def test_round_trip_with_add_reduce_funding_and_fees() -> None:
    clock = Clock()
    eng = engine(fees=0.00045, clock=clock)
    eng.open("ETH", LONG, 1, 5, ISO)  # fee 1.80
    clock.now += 60
    eng.set_mark("ETH", 4_200)
    eng.open("ETH", LONG, 1, 5, ISO)  # add at 4,200: fee 1.89, average entry 4,100
    eng.set_mark("ETH", 4_400)
    eng.close("ETH", 1)  # realized 300, fee 1.98
    eng.apply_funding("ETH", 0.0001)  # 1 ETH long at 4,400 pays 0.44
    clock.now += 3_540
    eng.set_mark("ETH", 4_500)
    eng.close("ETH")  # realized 400, fee 2.025

    [trip] = closed_positions(eng.events)
    assert (trip.market, trip.side, trip.mode, trip.leverage) == ("ETH", LONG, ISO, 5)
    assert trip.size == pytest.approx(2)
    assert trip.entry_price == pytest.approx(4_100)
    assert trip.exit_price == pytest.approx(4_450)
    assert trip.realized_pnl == pytest.approx(700)
    assert trip.fees == pytest.approx(1.8 + 1.89 + 1.98 + 2.025)
    assert trip.funding == pytest.approx(0.44)
    assert trip.net_pnl == pytest.approx(700 - 7.695 - 0.44)
    assert trip.duration == pytest.approx(3_600)
    assert trip.fills == 4
    assert trip.won and not trip.liquidated


def test_a_flip_ends_one_round_trip_and_starts_the_next() -> None:
    eng = engine()
    eng.open("SOL", SHORT, 10, 5, ISO)
    eng.set_mark("SOL", 180)
    eng.open("SOL", LONG, 30, 4, CROSS)  # closes the short (+200), opens 20 long in Cross
    [trip] = closed_positions(eng.events)
    assert (trip.side, trip.mode, trip.realized_pnl, trip.exit_price) == (SHORT, ISO, 200, 180)
    eng.set_mark("SOL", 170)
    eng.close("SOL")
    second = closed_positions(eng.events)[1]
    assert (second.side, second.mode, second.leverage) == (LONG, CROSS, 4)
    assert second.size == pytest.approx(20)
    assert second.realized_pnl == pytest.approx(-200)


def test_a_history_that_starts_with_a_close_still_gives_the_round_trip() -> None:
    close = Fill(7, 50.0, "BTC", SHORT, 0.5, 110_000, 0.0, ISO, 10, "close", 5_000.0)
    [trip] = closed_positions([close])
    assert trip.side is LONG
    assert trip.entry_price == pytest.approx(100_000)


# --------------------------------------------------------------------------- post-mortems


def test_isolated_liquidation_post_mortem_worked_example() -> None:
    # MARGIN.md example 3: long 0.5 BTC at 100,000, 10x. Isolated: M = 5,000, liquidation at
    # 91,139.24; the same trade in Cross (A = 10,000) would hold until 81,012.66 and then take
    # the whole 10,000.
    clock = Clock()
    eng = engine(clock=clock, venue=Venue.BINANCE)  # Binance: the liquidation forfeits
    log = account_log(eng)
    eng.open("BTC", LONG, 0.5, 10, ISO)
    clock.now += 2 * 3_600 + 5 * 60
    eng.set_mark("BTC", 91_100)
    [pm] = post_mortems(eng.events, eng.markets, log)
    assert pm.liquidation_price == pytest.approx(90_000 / 0.9875)  # 91,139.24
    assert pm.mark_price == 91_100
    assert pm.margin_lost == pytest.approx(5_000)
    assert pm.duration == 7_500
    assert pm.isolated_loss == pytest.approx(5_000)
    assert pm.cross_liquidation_price == pytest.approx(80_000 / 0.9875)  # 81,012.66
    assert pm.cross_loss == pytest.approx(10_000)
    assert pm.cross_liquidated is False
    assert pm.line == (
        "BTC long 0.5 at 10x Isolated: entry 100,000.0, liquidation price 91,139.2, "
        "mark 91,100.0; lost 5,000.00 after 2h 05m. Binance rules: closed at the mark; its "
        "whole margin 5,000.00 is forfeited. Cross would have held until 81,012.7, then lost "
        "the whole cross balance 10,000.00."
    )
    # Without the journal's account snapshot the Cross side is unknown, not guessed.
    [bare] = post_mortems(eng.events, eng.markets)
    assert bare.cross_loss is None and bare.cross_liquidation_price is None
    assert "Cross" not in bare.line


def test_isolated_liquidation_whose_cross_version_has_no_liquidation_price() -> None:
    # Long 0.1 BTC 10x Isolated (MARGIN.md example 1): in Cross, A = 10,000 = q * E, so the
    # cross liquidation price would be 0: none.
    eng = engine(venue=Venue.BINANCE)  # Binance: the liquidation forfeits
    log = account_log(eng)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 91_100)
    [pm] = post_mortems(eng.events, eng.markets, log)
    assert pm.margin_lost == pytest.approx(1_000)
    assert pm.cross_liquidation_price is None
    assert pm.cross_loss == pytest.approx(10_000)
    assert "Cross would have had no liquidation price" in pm.line


def test_cross_liquidation_post_mortem_worked_example() -> None:
    # Long 0.5 BTC 10x Cross: liquidation at 81,012.66 takes the 10,000; Isolated at 10x would
    # have posted only 5,000 and been liquidated at 91,139.24.
    clock = Clock()
    eng = engine(clock=clock, venue=Venue.BINANCE)  # Binance: the liquidation forfeits
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    clock.now += 45
    eng.set_mark("BTC", 81_000)
    [pm] = post_mortems(eng.events, eng.markets)
    assert pm.mode is CROSS
    assert pm.liquidation_price == pytest.approx(80_000 / 0.9875)
    assert pm.margin_lost == pytest.approx(10_000)
    assert pm.cross_loss == pytest.approx(10_000)
    assert pm.isolated_loss == pytest.approx(5_000)
    assert pm.isolated_liquidation_price == pytest.approx(90_000 / 0.9875)
    assert pm.isolated_liquidated is True
    assert pm.line.endswith(
        "lost 10,000.00 after 45s. Binance rules: every cross position closed at its mark and "
        "the whole cross balance went with them (10,000.00 of it on this position). Isolated "
        "at 10x would have been liquidated at 91,139.2, losing only 5,000.00."
    )


def test_hyperliquid_post_mortem_says_what_the_book_filled_and_what_went_back() -> None:
    # docs/rules.md example 7: long 0.1 at 100,000, 10x Isolated (margin 1,000); at 91,100 the
    # book takes 0.05 at 91,090 and 0.05 at 91,080 (91,085): PnL -891.50, 108.50 goes back.
    # In Cross the 10,000 balance would back it: C = 10,000 = q * E, no liquidation price.
    eng = engine()
    log = account_log(eng)
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_book("BTC", bids=[(91_090, 0.05), (91_080, 0.05)], asks=[])
    eng.set_mark("BTC", 91_100)
    [pm] = post_mortems(eng.events, eng.markets, log)
    assert pm.liquidation_price == pytest.approx(90_000 / 0.9875)
    assert pm.isolated_loss == pytest.approx(891.5) and pm.cross_loss == pytest.approx(10_000)
    assert pm.line == (
        "BTC long 0.1 at 10x Isolated: entry 100,000.0, liquidation price 91,139.2, mark "
        "91,100.0; lost 891.50 after 0s. Hyperliquid closed it at market, through the book at "
        "91,085.0 (1.50 worse than the mark): PnL -891.50; 108.50 of its 1,000.00 margin went "
        "back to your wallet. Cross would have had no liquidation price, with the whole cross "
        "balance 10,000.00 at stake."
    )


def test_hyperliquid_isolated_post_mortem_counts_the_cross_balance_before_the_return() -> None:
    # Long 0.5 at 100,000, 10x Isolated (margin 5,000): at 91,100, equity 550 <= maintenance
    # 569.38 (two thirds 379.58): closed at the mark, 550 back, W = 5,550 after. Before the
    # return the wallet was 5,000: in Cross, C = 5,000 + 5,000 = 10,000, liquidation at
    # 80,000 / 0.9875 = 81,012.66, and the whole 10,000 at stake.
    eng = engine()
    log = account_log(eng)
    eng.open("BTC", LONG, 0.5, 10, ISO)
    eng.set_mark("BTC", 91_100)
    [pm] = post_mortems(eng.events, eng.markets, log)
    assert pm.cross_liquidation_price == pytest.approx(80_000 / 0.9875)
    assert pm.cross_loss == pytest.approx(10_000) and pm.cross_liquidated is False
    assert pm.line.endswith(
        "lost 4,450.00 after 0s. Hyperliquid closed it at market, at the mark: PnL -4,450.00; "
        "550.00 of its 5,000.00 margin went back to your wallet. Cross would have held until "
        "81,012.7, with the whole cross balance 10,000.00 at stake."
    )


def test_hyperliquid_cross_post_mortem_and_its_isolated_counterpart() -> None:
    # Long 0.5 at 100,000, 10x Cross: at 81,000, V = 500 <= R = 506.25 (two thirds 337.50):
    # closed at the mark, W = 500. In Isolated (margin 5,000) it would have been liquidated at
    # 91,139.24 first, with only the 5,000 at stake.
    clock = Clock()
    eng = engine(clock=clock)
    eng.open("BTC", LONG, 0.5, 10, CROSS)
    clock.now += 45
    eng.set_mark("BTC", 81_000)
    [pm] = post_mortems(eng.events, eng.markets)
    assert pm.liquidation_price == pytest.approx(80_000 / 0.9875)
    assert pm.isolated_liquidated is True and pm.isolated_loss == pytest.approx(5_000)
    assert pm.line == (
        "BTC long 0.5 at 10x Cross: entry 100,000.0, liquidation price 81,012.7, mark 81,000.0; "
        "lost 9,500.00 after 45s. Hyperliquid closed it at market, at the mark: PnL -9,500.00; "
        "the cross account keeps what is left, 500.00 of it for this position. Isolated at 10x "
        "would have been liquidated at 91,139.2 first, with only its 5,000.00 margin at stake."
    )


def test_hyperliquid_slice_and_backstop_post_mortems() -> None:
    # Long 2 at 100,000, 10x Isolated (margin 20,000, balance 30,000): at 91,100 a 20 % slice
    # of 0.4 closes at the mark (PnL -3,560, margin 16,440). In the cooldown the mark gaps to
    # 90,000: equity 16,440 - 16,000 = 440, below two thirds of maintenance 1,800 (1,200):
    # the backstop takes the 1.6 and the 16,440.
    clock = Clock()
    eng = engine(balance=30_000, clock=clock)
    eng.open("BTC", LONG, 2, 10, ISO)
    eng.set_mark("BTC", 91_100)
    clock.now += 10
    eng.set_mark("BTC", 90_000)
    first, second = post_mortems(eng.events, eng.markets)
    assert first.liquidation_price == pytest.approx(90_000 / 0.9875)
    assert "BTC long 0.4 of 2 at 10x Isolated" in first.line
    assert (
        "lost 3,560.00 after 0s. Hyperliquid closed a 20% slice at market, at the mark: PnL "
        "-3,560.00; 1.6 BTC stays open with its margin (for 30 s any further liquidation takes "
        "the whole position)."
    ) in first.line
    assert "BTC long 1.6 at 10x Isolated" in second.line
    assert (
        "lost 16,440.00 after 10s. Equity was below two thirds of maintenance: Hyperliquid's "
        "backstop took the position and all 16,440.00 of its margin."
    ) in second.line


def test_an_older_record_is_worked_out_with_the_tier_at_its_liquidation_price() -> None:
    # A record from before venues carries no stake or liquidation price. Example 4: BTC tiers
    # 0 at 40x, 10,000 at 25x, 50,000 at 10x (deductions 0, 75, 1,575); long 0.6 at 100,000,
    # 10x Isolated, margin 6,000: liquidation (100,000 - 7,575 / 0.6) / 0.95 = 91,973.68 (the
    # 10x tier), not the first tier's (100,000 - 10,000) / 0.9875 = 91,139.24.
    tiers = (MarginTier(0, 40), MarginTier(10_000, 25), MarginTier(50_000, 10))
    btc = Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0, tiers=tiers)
    old = Liquidation(
        3, 1_000.0, "BTC", LONG, 0.6, 100_000, 91_900, ISO, 10, 6_000, -4_860, 1_140, 1, 0.0
    )
    [pm] = post_mortems([old], {"BTC": btc})
    assert pm.liquidation_price == pytest.approx((100_000 - 7_575 / 0.6) / 0.95)
    assert pm.line.endswith(
        "lost 6,000.00 after 16m 40s. Closed at the mark; its whole margin 6,000.00 is forfeited."
    )


def test_cross_liquidation_of_two_positions_holds_the_other_at_its_mark() -> None:
    eng = engine(balance=10_000)
    eng.open("BTC", LONG, 0.5, 20, CROSS)
    eng.open("ETH", SHORT, 5, 20, CROSS)
    eng.set_mark("ETH", 4_100)  # ETH short: u = -500
    eng.set_mark("BTC", 82_000)
    group = [e for e in eng.events if isinstance(e, Liquidation)]
    assert len(group) == 2 and len({e.group for e in group}) == 1
    pms = {pm.market: pm for pm in post_mortems(eng.events, eng.markets)}
    wallet = sum(e.margin_lost for e in group)
    assert wallet == pytest.approx(10_000)
    eth = next(e for e in group if e.market == "ETH")
    eth_buffer = -5 * (eth.mark_price - 4_000) - 5 * eth.mark_price * (1 / 50)
    expected = (100_000 - (wallet + eth_buffer) / 0.5) / (1 - 1 / 80)
    assert pms["BTC"].liquidation_price == pytest.approx(expected)
    assert pms["BTC"].margin_lost + pms["ETH"].margin_lost == pytest.approx(10_000)
    stats = practice_stats(eng.events)
    assert (stats.overall.liquidations, stats.overall.positions_liquidated) == (1, 2)


# --------------------------------------------------------------------------- stats


def test_practice_stats_by_mode_with_hand_worked_numbers() -> None:
    eng = engine(balance=10_000, venue=Venue.BINANCE)  # Binance: the liquidation forfeits
    log = account_log(eng)
    # Isolated win: long 1 ETH at 4,000 -> 4,300: +300.
    eng.open("ETH", LONG, 1, 5, ISO)
    eng.set_mark("ETH", 4_300)
    eng.close("ETH")
    # Cross loss with funding both ways: short 10 SOL at 200 -> 210: -100.
    eng.open("SOL", SHORT, 10, 5, CROSS)
    # Binance pays a whole 8-hour interval: 0.001 / 8 an hour is 0.1 % for the interval.
    eng.apply_funding("SOL", 0.001 / 8)  # short receives 10 * 200 * 0.001 = 2
    eng.apply_funding("SOL", -0.0005 / 8)  # short pays 1
    eng.set_mark("SOL", 210)
    eng.close("SOL")
    # Isolated liquidation: long 0.1 BTC 10x loses its 1,000 margin.
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 91_000)

    stats = practice_stats(eng.events)
    overall, iso, cross = stats.overall, stats.isolated, stats.cross
    assert overall.realized_pnl == pytest.approx(eng.account.realized_pnl)
    assert overall.fees_paid == pytest.approx(eng.account.fees_paid)
    assert overall.net_funding == pytest.approx(eng.account.funding_paid)
    assert overall.forfeited == pytest.approx(eng.account.forfeited)
    assert overall.net_pnl == pytest.approx(eng.account.equity - 10_000)
    assert (overall.funding_paid, overall.funding_received) == pytest.approx((1, 2))
    assert overall.closed_positions == 3 and overall.wins == 1
    assert overall.win_rate == pytest.approx(1 / 3)
    assert overall.largest_loss == pytest.approx(1_000)
    assert (overall.liquidations, overall.margin_lost) == pytest.approx((1, 1_000))

    assert iso.realized_pnl == pytest.approx(300 - 900)  # the liquidation realized -900 of u
    assert iso.forfeited == pytest.approx(100)  # the rest of the 1,000 margin
    assert iso.net_pnl == pytest.approx(300 - 1_000)
    assert (iso.closed_positions, iso.wins, iso.liquidations) == (2, 1, 1)
    assert iso.win_rate == pytest.approx(0.5)

    assert cross.realized_pnl == pytest.approx(-100)
    assert cross.net_pnl == pytest.approx(-100 + 2 - 1)
    assert (cross.closed_positions, cross.wins, cross.liquidations) == (1, 0, 0)
    assert cross.largest_loss == pytest.approx(99)
    assert stats.by_mode[CROSS] is cross

    assert post_mortems(eng.events, eng.markets, log)[0].margin_lost == pytest.approx(1_000)


def test_stats_of_nothing() -> None:
    stats = practice_stats([])
    assert stats.overall.win_rate is None
    assert stats.overall.largest_loss == 0 and stats.overall.net_pnl == 0


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 12.9, 250, 7_500, 3 * 86_400 + 4 * 3_600)] == [
        "0s",
        "12s",
        "4m 10s",
        "2h 05m",
        "3d 04h",
    ]
    assert format_duration(math.nan) == "—"


# --------------------------------------------------------------------------- CSV


def _trades() -> PaperEngine:
    eng = engine(fees=0.00045)
    eng.open("ETH", LONG, 1.5, 5, ISO)
    eng.apply_funding("ETH", 0.0001)
    eng.add_margin("ETH", 100)
    eng.set_mark("ETH", 4_100)
    eng.close("ETH")
    eng.open("BTC", LONG, 0.1, 10, ISO)
    eng.set_mark("BTC", 90_000)
    return eng


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_each_table(tmp_path: Path) -> None:
    eng = _trades()
    fills = _read(export_csv(eng.events, tmp_path / "fills.csv", "fills"))
    assert [r["kind"] for r in fills] == ["open", "close", "open"]
    assert float(fills[1]["realized_pnl"]) == pytest.approx(150)
    assert float(fills[0]["fee"]) == eng.fills[0].fee  # full precision
    assert fills[0]["time"].startswith("2023-11-1")
    [liq] = _read(export_csv(eng.events, tmp_path / "liq.csv", "liquidations"))
    assert (liq["market"], liq["mode"], float(liq["margin_lost"])) == ("BTC", "isolated", 1_000)
    [fund] = _read(export_csv(eng.events, tmp_path / "funding.csv", "funding"))
    assert float(fund["payment"]) == pytest.approx(1.5 * 4_000 * 0.0001)
    [move] = _read(export_csv(eng.events, tmp_path / "transfers.csv", "transfers"))
    assert float(move["amount"]) == 100
    closed = _read(export_csv(eng.events, tmp_path / "closed.csv", "closed"))
    assert [r["liquidated"] for r in closed] == ["no", "yes"]
    trips = closed_positions(eng.events)
    assert float(closed[0]["net_pnl"]) == trips[0].net_pnl


def test_export_into_a_folder_names_the_file(tmp_path: Path) -> None:
    written = export_csv(_trades().events, tmp_path, "closed")
    assert written.parent == tmp_path and written.name.startswith("perpdesk-closed-")
    assert written.suffix == ".csv"
    assert [p.name for p in tmp_path.iterdir()] == [written.name]  # no temporary file left


def test_export_to_an_unwritable_place_says_where_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ExportError) as info:
        export_csv(_trades().events, blocker / "fills.csv", "fills")
    assert isinstance(info.value, OSError)
    assert str(info.value).startswith(f"Could not write {blocker / 'fills.csv'}: ")
    assert info.value.errno is not None
    with pytest.raises(ValueError, match="Unknown export"):
        export_csv([], tmp_path / "x.csv", "trades")
