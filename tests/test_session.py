"""The trading session without Textual: feed sink, trading and its wording, reset, feed
switching, the journal, and the heartbeat's drain. No Pilot here: the session is plain Python."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from tui.engine import FundingPayment, Liquidation, MarginMode, Market, PaperEngine, Side, Venue
from tui.journal import Journal, JournalError
from tui.market import FeedState, FeedStatus, ReplaySource, ScenarioSource, SimSource
from tui.session import (
    LOG_LINES,
    SIMULATION,
    TIP,
    OrderTicket,
    Question,
    Session,
    Tip,
    Toast,
    engine_for,
    markets_for,
)
from tui.settings import Settings

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
NOON = 1_795_521_600.0  # 2026-11-24 12:00:00 UTC


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def make_session(**kw: object) -> Session:
    kw.setdefault("wall_clock", lambda: NOON)
    session = Session(**kw)  # type: ignore[arg-type]
    session.on_mark("BTC", 100_000)
    session.on_mark("ETH", 4_000)
    return session


def texts(session: Session) -> list[str]:
    return [line.text for line in session.log]


# ------------------------------------------------------------------ building


def test_markets_and_engine_follow_the_settings() -> None:
    settings = Settings()
    settings = replace(settings, market=replace(settings.market, markets=("ETH", "BTC", "NOPE")))
    settings = replace(settings, fees=replace(settings.fees, taker=0.001, maker=0.0))
    assert [m.name for m in markets_for(settings)] == ["ETH", "BTC"]  # unknown names skipped
    engine = engine_for(settings)
    assert list(engine.markets) == ["ETH", "BTC"]
    assert engine.market("BTC").taker_fee == 0.001
    assert engine.account.wallet_balance == settings.account.starting_balance


def venue_settings(venue: str, taker: float | None = None) -> Settings:
    settings = Settings()
    settings = replace(settings, account=replace(settings.account, venue=venue))
    return replace(settings, fees=replace(settings.fees, taker=taker))


def test_the_settings_venue_brings_its_own_tables_steps_minimums_and_fees() -> None:
    # Hyperliquid: BTC 40x (1.25 % to 150M), size step 0.00001, minimum 10, fees 0.045 % /
    # 0.015 %. Binance: BTC 125x (0.4 %, then 100x at 0.5 % and 50 from 50,000), step 0.001,
    # minimum 100, fees 0.05 % / 0.02 %, and no HYPE.
    hl = {m.name: m for m in markets_for(venue_settings("hyperliquid"))}
    bn = {m.name: m for m in markets_for(venue_settings("binance"))}
    assert "HYPE" in hl and "HYPE" not in bn
    assert (hl["BTC"].max_leverage, hl["BTC"].size_step, hl["BTC"].min_notional) == (
        40,
        0.00001,
        10,
    )
    assert (hl["BTC"].taker_fee, hl["BTC"].maker_fee) == (0.00045, 0.00015)
    btc = bn["BTC"]
    assert (btc.max_leverage, btc.size_step, btc.min_notional) == (125, 0.001, 100)
    rows = [(t.notional_floor, t.maintenance_rate, t.maintenance_amount) for t in btc.tiers]
    assert rows[:2] == [(0, 0.004, 0), (50_000, 0.005, 50)]
    assert (btc.taker_fee, btc.maker_fee) == (0.0005, 0.0002)
    # A fee set in the settings applies on either venue; the other stays the venue's.
    mine = {m.name: m for m in markets_for(venue_settings("binance", taker=0.0003))}["BTC"]
    assert (mine.taker_fee, mine.maker_fee) == (0.0003, 0.0002)
    # The venue can be named (a season on another venue than the settings').
    assert {m.name: m for m in markets_for(Settings(), "binance")}["BTC"].max_leverage == 125
    engine = engine_for(venue_settings("binance"))
    assert engine.venue is Venue.BINANCE and engine.market("BTC").max_leverage == 125


def test_a_season_keeps_its_venues_tables_and_a_new_venue_brings_its_own(tmp_path: Path) -> None:
    """The journal picks each season's markets by its venue: a Hyperliquid season reopened
    while the settings name Binance keeps Hyperliquid's tables; a new season on Binance (the
    question after the venue changed, or --fresh) trades on Binance's."""
    hl, bn = venue_settings("hyperliquid"), venue_settings("binance")

    def open_with(settings: Settings, *, fresh: bool = False) -> Journal:
        return Journal.open(
            tmp_path,
            markets_for=lambda venue: markets_for(settings, venue),
            venue=settings.account.venue,
            fresh=fresh,
            lock=False,
        )

    journal = open_with(hl)
    journal.engine.set_mark("BTC", 100_000)
    journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    journal.close()
    journal = open_with(bn)  # the settings changed; the season did not
    assert journal.engine.venue is Venue.HYPERLIQUID
    assert journal.engine.market("BTC").max_leverage == 40 and "HYPE" in journal.engine.markets
    engine = journal.new_season(10_000, venue=Venue.BINANCE)
    assert engine.venue is Venue.BINANCE and engine.market("BTC").max_leverage == 125
    assert "HYPE" not in engine.markets and engine.market("BTC").taker_fee == 0.0005
    journal.close()
    journal = open_with(bn)  # reopened: still Binance's tables
    assert journal.engine.market("BTC").max_leverage == 125
    journal.close()
    journal = open_with(hl, fresh=True)  # --fresh starts the new season on the settings' venue
    assert journal.engine.venue is Venue.HYPERLIQUID
    assert journal.engine.market("BTC").max_leverage == 40
    journal.close()


# ------------------------------------------------------------------ the feed sink


def test_marks_reach_the_engine_and_bad_ones_are_counted_not_raised() -> None:
    session = make_session()
    assert session.drain().dirty  # the first beat always paints
    assert not session.drain().dirty
    session.on_mark("BTC", 101_000)
    assert session.engine.mark("BTC") == 101_000
    assert session.drain().dirty
    for bad in (float("nan"), -1.0, float("inf")):
        session.on_mark("BTC", bad)
    session.on_funding_rate("BTC", float("nan"))
    session.on_funding("BTC", float("inf"))
    assert session.bad_marks == 5
    assert session.engine.mark("BTC") == 101_000
    assert not session.drain().dirty  # nothing changed


def test_funding_from_the_feed_is_paid_and_logged() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.1, 10, ISO)  # notional 10,000
    session.drain()
    session.on_funding_rate("BTC", 0.0001)
    assert session.engine.funding_rate("BTC") == 0.0001
    session.on_clock(NOON - 60)  # the feed's first reading: where its clock starts
    session.on_funding("BTC", 0.0002)  # a source's "due now": the rate then, no payment
    assert session.engine.funding_rate("BTC") == 0.0002 and session.engine.funding_payments == []
    session.on_clock(NOON)  # 12:00 UTC on the feed's clock: a long pays 10,000 x 0.0002 = 2.00
    session.drain()
    assert texts(session)[-1] == "Funding BTC: paid 2.00 (rate +0.0200%/h)"
    assert session.log[-1].level == "error"
    session.on_clock(NOON + 60)
    session.on_clock(float("nan"))  # counted, and the clock stays where it was
    assert len(session.engine.funding_payments) == 1 and session.bad_marks == 1


def day_session(venue: Venue) -> Session:
    """A session on one fee-free BTC market under ``venue``, long 0.1 BTC at 100,000 (10x
    Isolated), the feed's funding rate 0.01 % an hour."""
    engine = PaperEngine(
        balance=10_000,
        markets=[Market("BTC", max_leverage=40, taker_fee=0, maker_fee=0)],
        venue=venue,
        clock=lambda: NOON,
    )
    session = Session(engine=engine, wall_clock=lambda: NOON)
    session.on_mark("BTC", 100_000)
    engine.open("BTC", LONG, 0.1, 10, ISO)
    session.on_funding_rate("BTC", 0.0001)
    return session


@pytest.mark.parametrize(
    ("venue", "hours", "payment"),
    [
        # Hyperliquid: every hour, 10,000 x 0.01 % = 1.00.
        (Venue.HYPERLIQUID, list(range(1, 25)), 1.00),
        # Binance: 08:00, 16:00 and 24:00 of the feed's day, each for 8 hours: 8.00.
        (Venue.BINANCE, [8, 16, 24], 8.00),
    ],
)
def test_a_simulated_day_pays_the_venues_number_of_payments(
    venue: Venue, hours: list[int], payment: float
) -> None:
    """The simulation's clock counts seconds from 0 (00:00), a step of a minute at a time,
    reporting "due now" every hour as the simulation does. Either way the day costs 24.00."""
    session = day_session(venue)
    paid_at: list[int] = []  # the feed's hour at each payment

    def note(e: object) -> None:
        if isinstance(e, FundingPayment):
            paid_at.append(int(minute // 60))

    session.engine.listeners.append(note)
    for minute in range(24 * 60 + 1):
        t = minute * 60.0
        session.on_clock(t)
        session.on_mark("BTC", 100_000)
        if minute % 60 == 0:
            session.on_funding("BTC", 0.0001)
    pays = session.engine.funding_payments
    assert paid_at == hours
    assert [p.payment for p in pays] == [pytest.approx(payment)] * len(hours)
    assert session.engine.account.funding_paid == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("venue", "price", "payment"),
    [(Venue.HYPERLIQUID, 99_000.0, 0.99), (Venue.BINANCE, None, 8.00)],
)
def test_hyperliquid_pays_on_the_oracle_price_binance_on_the_mark(
    venue: Venue, price: float | None, payment: float
) -> None:
    session = day_session(venue)
    session.on_oracle_price("BTC", 99_000)
    for bad in (float("nan"), -1.0):
        session.on_oracle_price("BTC", bad)  # counted, never used
    assert session.bad_marks == 2
    session.on_clock(7 * 3_600)
    session.on_clock(8 * 3_600)  # an instant of both venues
    [pay] = session.engine.funding_payments
    assert pay.funding_price == price and pay.payment == pytest.approx(payment)


def test_binance_pays_only_positions_open_at_the_instant() -> None:
    session = day_session(Venue.BINANCE)
    session.on_clock(0)
    session.on_clock(8 * 3_600 - 60)
    session.engine.close("BTC")  # closed at 07:59: nothing at 08:00
    session.on_clock(8 * 3_600 + 60)
    assert session.engine.funding_payments == []
    session.engine.open("BTC", SHORT, 0.1, 10, ISO)  # opened at 08:01: first pays at 16:00
    session.on_clock(16 * 3_600)
    [pay] = session.engine.funding_payments
    assert pay.payment == pytest.approx(-8.0)  # a short receives 10,000 x 0.08 %


@pytest.mark.parametrize(
    ("venue", "count", "interval"), [(Venue.HYPERLIQUID, 24, 1), (Venue.BINANCE, 3, 8)]
)
def test_the_simulation_pays_funding_on_the_venues_schedule(
    venue: Venue, count: int, interval: int
) -> None:
    """The real simulation at 60x for a simulated day: each payment is at the hourly rate
    the feed gave last, times the venue's interval, on the mark."""
    engine = PaperEngine(balance=100_000, venue=venue, clock=lambda: NOON)
    feed = SimSource(["BTC", "ETH"], seed=3)
    session = Session(engine=engine, feed=feed, wall_clock=lambda: NOON)
    feed.snapshot().deliver(session)
    engine.open("BTC", LONG, 0.1, 10, ISO)
    engine.open("ETH", SHORT, 1, 10, CROSS)
    checked: list[FundingPayment] = []

    def check(e: object) -> None:
        if isinstance(e, FundingPayment):
            hourly = engine.funding_rate(e.market)
            assert hourly is not None
            assert e.rate == pytest.approx(hourly * interval)
            assert e.payment == pytest.approx(e.side.sign * e.size * e.mark_price * e.rate)
            checked.append(e)

    engine.listeners.append(check)
    feed.speed = 60
    while feed.sim_time < 24 * 3_600:
        feed.step(1.0).deliver(session)
    by_market = {m: [p for p in checked if p.market == m] for m in ("BTC", "ETH")}
    assert [len(v) for v in by_market.values()] == [count, count]


def test_a_leverage_change_is_logged() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.1, 10, ISO)  # margin 1,000
    session.engine.set_leverage("BTC", 20)  # raising keeps the margin
    session.engine.set_leverage("BTC", 5)  # 2,000 needed: 1,000 posted
    session.drain()
    # Liquidation with margin M: (100,000 - 10 * M) / 0.9875, BTC's first tier at 1.25 %.
    assert texts(session)[-3:] == [
        "BTC leverage 10x → 20x (Isolated): margin 1,000.00, liquidation 91,139.2.",
        "Added 1,000.00 margin to BTC",
        "BTC leverage 20x → 5x (Isolated): margin 2,000.00 (1,000.00 posted from your wallet), "
        "liquidation 81,012.7.",
    ]


def test_feed_status_and_title() -> None:
    feed = SimSource(["BTC"], seed=1)
    session = make_session(feed=feed)
    assert session.feed_title() == feed.name
    session.on_status(FeedStatus(FeedState.CONNECTED, "sim 10x", feed.name))
    assert session.feed_title() == "sim 10x"
    stale = frozenset({"BTC"})
    session.on_status(
        FeedStatus(FeedState.STALE, "no price for 30 s", feed.name, stale_symbols=stale)
    )
    assert session.feed_title() == f"{feed.name} stale: no price for 30 s"
    assert session.stale_markets == {"BTC"}
    session.on_status(FeedStatus(FeedState.ENDED, "The replay has ended.", feed.name))
    assert texts(session)[-1] == "The replay has ended." and session.log[-1].level == "warning"
    assert Session().feed_title() == "no price feed"


# ------------------------------------------------------------------ orders


def test_an_order_fills_and_the_heartbeat_says_so_once() -> None:
    session = make_session(first_run=True)
    session.start()
    assert session.tip == Tip(TIP)
    ticket = session.ticket("btc", LONG, size=0.01)
    assert ticket == OrderTicket("BTC", LONG, size=0.01, leverage=5.0)  # settings' leverage
    assert not session.place(ticket)  # no mode yet: nothing is sent
    assert session.place(replace(ticket, mode=ISO))
    assert session.tip is None  # the first trade is placed: the tip has done its job
    pos = session.engine.position("BTC")
    assert pos is not None and pos.size == 0.01 and pos.margin == pytest.approx(200)
    assert "Opened" not in " ".join(texts(session))  # said on the heartbeat, not before
    session.drain()
    assert texts(session)[-1] == "Opened LONG 0.01 BTC @ 100,000.0 · Isolated 5x · fee 0.45"
    assert session.log[-1].stamp == "12:00:00"
    session.drain()
    assert sum(t.startswith("Opened") for t in texts(session)) == 1


def test_default_leverage_is_capped_by_the_market_and_the_mode_follows_the_position() -> None:
    settings = Settings()
    settings = replace(
        settings,
        trading=replace(settings.trading, default_leverage=50, default_margin_mode="cross"),
    )
    session = make_session(settings=settings)
    assert session.default_leverage("BTC") == 40 and session.default_leverage("ETH") == 25
    assert session.settings_mode() is CROSS and session.default_mode("BTC") is CROSS
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.default_mode("BTC") is ISO


def test_a_rejected_order_is_said_in_the_log_and_a_toast_and_changes_nothing() -> None:
    session = make_session()
    assert not session.place(OrderTicket("BTC", LONG, size=5, leverage=10, mode=ISO))
    assert session.engine.positions() == [] and session.engine.events == []
    line = session.log[-1]
    assert line.level == "error" and line.text.startswith("Rejected: ")
    toasts = session.take_toasts()
    assert len(toasts) == 1 and toasts[0].title == "Rejected" and toasts[0].severity == "error"
    assert line.text == f"Rejected: {toasts[0].message}"
    assert session.take_toasts() == []


def test_a_usd_ticket_is_sized_at_the_mark() -> None:
    ticket = OrderTicket("BTC", LONG, usd=1_000)
    assert ticket.resolved_size(100_000) == 0.01
    assert ticket.resolved_size(None) is None and ticket.resolved_size(0) is None
    assert OrderTicket("BTC", LONG, size=0.3).resolved_size(None) == 0.3


# ------------------------------------------------------------------ closing


def test_the_close_question_gives_the_figures_and_closing_realizes_them() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)  # margin 100
    session.on_mark("BTC", 101_000)  # uPnL +10.00 = +10.0 % of the margin
    plan = session.close_plan("BTC")
    assert plan is not None and plan.size is None  # the whole position
    assert plan.question == Question(
        "Close BTC",
        "Close all of your LONG 0.01 BTC (Isolated 10x) at about 101,000.0?\n"
        "Realized PnL about +10.00 (+10.0% ROE), before the fee.",
    )
    half = session.close_plan("BTC", fraction=0.5)
    assert half is not None and half.size == pytest.approx(0.005)
    assert half.question.body.startswith("Close 0.005 of your LONG 0.01 BTC")
    assert "about +5.00 (" in half.question.body
    session.close(half)
    assert session.engine.position("BTC").size == pytest.approx(0.005)  # type: ignore[union-attr]
    more = session.close_plan("BTC", size=1)  # more than is open: the whole position
    assert more is not None and more.size is None


def test_closing_what_is_not_open_is_refused_in_words() -> None:
    session = make_session()
    assert session.cannot_close("BTC") == "There is no open BTC position to close."
    assert session.cannot_close_all() == "There are no open positions to close."
    assert session.close_plan("BTC") is None
    assert texts(session)[-1] == "Rejected: There is no open BTC position to close."
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.cannot_close("BTC") is None and session.cannot_close_all() is None


def test_close_all_asks_with_the_total_and_closes_everything() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    session.engine.open("ETH", SHORT, 1, 5, CROSS)
    session.on_mark("BTC", 101_000)  # +10
    session.on_mark("ETH", 4_030)  # -30
    assert session.close_all_question() == Question(
        "Close all positions",
        "Close all 2 open positions (BTC, ETH) at their marks?\n"
        "Realized PnL about -20.00, before fees.",
    )
    session.close_all()
    assert session.engine.positions() == []


# ------------------------------------------------------------------ margin


def test_margin_moves_on_isolated_positions_only() -> None:
    session = make_session()
    assert session.cannot_move_margin("BTC") == "There is no open BTC position to move margin on."
    assert session.margin_limit("BTC", 1) is None
    session.engine.open("ETH", SHORT, 1, 5, CROSS)
    assert session.cannot_move_margin("ETH") == (
        "ETH is a Cross position: it has no margin of its own."
    )
    session.engine.open("BTC", LONG, 0.01, 10, ISO)  # margin 100
    assert session.cannot_move_margin("BTC") is None
    session.transfer_margin("BTC", 50)
    assert session.engine.position("BTC").margin == pytest.approx(150)  # type: ignore[union-attr]
    removable = session.margin_limit("BTC", -1)
    assert removable is not None and 0 < removable < 150
    session.transfer_margin("BTC", -1_000)
    assert session.engine.position("BTC").margin == pytest.approx(150)  # type: ignore[union-attr]
    assert texts(session)[-1].startswith("Rejected: You can remove at most")
    session.transfer_margin("BTC", -30)
    assert session.engine.position("BTC").margin == pytest.approx(120)  # type: ignore[union-attr]


# ------------------------------------------------------------------ launch


def test_start_says_settings_trouble_and_what_the_scenario_teaches() -> None:
    feed = ScenarioSource("flash-crash", ["BTC", "ETH"])
    session = make_session(feed=feed, messages=["ui.theme: bad value; using the default."])
    assert session.start() is None
    assert texts(session) == [
        "ui.theme: bad value; using the default.",
        f"Scenario flash-crash: {feed.scenario.teaches}",
    ]
    assert session.log[0].level == "warning"
    assert session.take_toasts() == [
        Toast("ui.theme: bad value; using the default.", "Settings", "warning", 10)
    ]
    assert session.launch_marks["BTC"] == session.engine.mark("BTC")  # the first frame's marks


def test_start_names_positions_the_feed_does_not_price_and_skipped_replay_rows(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "rec.csv"
    csv.write_text("timestamp,symbol,price\n2026-01-01T00:00:00Z,BTC,100000\nbad,row\n")
    session = make_session(feed=ReplaySource(csv))
    session.engine.open("ETH", LONG, 1, 5, ISO)
    session.start()
    lines = texts(session)
    assert lines[0].startswith("ETH: open position that Replay: rec.csv does not price.")
    assert lines[1].startswith("Replay skipped 1 row it could not read: line 3")


def test_a_restored_account_is_welcomed_back(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    journal.engine.set_mark("BTC", 100_000)
    journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    session = Session(journal=journal, data_dir=tmp_path)
    assert session.engine is journal.engine
    session.start()
    assert texts(session) == [
        f"Welcome back: season 1 restored from {journal.path} with 1 open position."
    ]
    journal.close()


def test_an_account_in_use_elsewhere_trades_unsaved_with_a_standing_warning(
    tmp_path: Path,
) -> None:
    problem = JournalError("in_use", "Another perpdesk has this account open.", tmp_path)
    session = make_session(journal_problem=problem, data_dir=tmp_path)
    assert session.start() is None
    assert texts(session) == ["Another perpdesk has this account open."]
    assert session.tip == Tip(
        "Not saving this session: Another perpdesk has this account open.", warning=True
    )
    assert session.take_toasts()[0].title == "Account not saved"


def test_a_corrupt_account_asks_and_a_fresh_one_keeps_the_old_file(tmp_path: Path) -> None:
    (tmp_path / "account.db").write_bytes(b"not a database" * 100)
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = make_session(journal_problem=err.value, data_dir=tmp_path)
    question = session.start()
    assert question is not None and question.title == "Your paper account cannot be opened"
    assert question.body.startswith(str(err.value))
    assert session.start_fresh_account() is None
    assert session.journal is not None and session.journal_problem is None
    assert session.engine is session.journal.engine
    assert session.engine.mark("BTC") == 100_000  # the marks carry over
    assert texts(session)[-1].startswith("Started a fresh account; the unreadable one is kept")
    assert any(p.name.startswith("account.db.unreadable-") for p in tmp_path.iterdir())
    session.journal.close()


def test_without_a_folder_a_fresh_account_cannot_be_started() -> None:
    problem = JournalError("corrupt", "The paper account cannot be read.", Path("x"))
    session = make_session(journal_problem=problem)
    assert session.start_fresh_account() == "The paper account cannot be read."


# ------------------------------------------------------------------ reset


def test_reset_without_a_journal_starts_an_unsaved_fresh_account() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    old = session.engine
    assert session.reset_question().body.startswith("Start a fresh paper account with 10,000.00?")
    session.reset()
    assert session.engine is not old and session.engine.positions() == []
    assert session.engine.mark("BTC") == 100_000
    assert texts(session)[-1] == "Fresh account with 10,000.00 (not saved)."
    old.open("ETH", LONG, 1, 5, ISO)  # the old engine no longer reports to the session
    session.drain()
    assert not any("ETH" in t for t in texts(session))


def test_reset_with_a_journal_archives_a_season(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = make_session(journal=journal, data_dir=tmp_path)
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    session.reset()
    assert journal.season == 2 and session.engine is journal.engine
    assert texts(session)[-1] == (
        "Season 2 started with 10,000.00 on Hyperliquid rules; the last one is archived."
    )
    journal.close()


# ------------------------------------------------------------------ feed switching and speed


def test_switching_to_a_scenario_continues_from_the_marks() -> None:
    session = make_session(feed=SimSource(None, seed=1))
    session.on_mark("BTC", 87_654.3)
    source = session.switch_feed("flash-crash")
    assert isinstance(source, ScenarioSource) and session.feed is source
    assert source.prices["BTC"] == pytest.approx(87_654.3)
    assert texts(session)[-1].startswith("Scenario flash-crash:")
    back = session.switch_feed(SIMULATION)
    assert isinstance(back, SimSource)
    assert texts(session)[-1] == "Back to the simulated market."
    names = [name for name, _ in session.scenario_choices()]
    assert names[0] == SIMULATION and "flash-crash" in names


def test_speed_and_pause_say_why_when_the_source_cannot() -> None:
    session = make_session()  # no feed at all
    assert session.speed_problem() == "This price source runs in real time only."
    assert session.pause_problem() == "This price source cannot be paused."
    session.change_speed(1)
    session.toggle_pause()  # both do nothing
    feed = SimSource(None, seed=1)
    session = make_session(feed=feed)
    assert session.speed_problem() is None and session.pause_problem() is None
    session.change_speed(1)
    session.change_speed(1)
    session.change_speed(1)
    assert feed.speed == 60  # stays at the fastest
    session.change_speed(-1)
    assert feed.speed == 10
    session.toggle_pause()
    assert feed.paused


# ------------------------------------------------------------------ the heartbeat


def test_a_liquidation_is_logged_and_toasted_with_its_account_context() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 40, ISO)
    liq = session.engine.position("BTC").liquidation_price  # type: ignore[union-attr]
    assert liq is not None
    session.on_mark("BTC", liq * 0.999)
    session.drain()
    event = session.engine.events[-1]
    assert isinstance(event, Liquidation) and event.seq in session.accounts
    assert texts(session)[-1].startswith("LIQUIDATED LONG 0.01 BTC (Isolated)")
    toasts = session.take_toasts()
    assert [t.title for t in toasts] == ["Liquidation"]


def test_the_log_keeps_the_newest_lines_and_counts_them_all() -> None:
    session = make_session()
    for i in range(LOG_LINES + 5):
        session.say(f"line {i}")
    assert len(session.log) == LOG_LINES and session.log_count == LOG_LINES + 5
    assert session.log[0].text == "line 5" and session.log[-1].text == f"line {LOG_LINES + 4}"


def test_a_journal_that_stops_saving_is_said_once_and_its_recovery_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = make_session(journal=journal, data_dir=tmp_path)
    real = journal._conn

    class Full:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def execute(self, *args: object) -> object:
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal, "_conn", Full())
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    session.drain()
    assert "disk is full" in texts(session)[-1] and session.log[-1].level == "error"
    assert session.tip is not None and session.tip.warning
    session.drain()
    assert sum("disk is full" in t for t in texts(session)) == 1
    monkeypatch.setattr(journal, "_conn", real)
    session.retry_journal()
    session.drain()
    assert texts(session)[-1] == "Saved again: every trade is in the journal."
    assert session.tip is None
    journal.close()


def test_a_swapped_engine_starts_with_a_clean_queue() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    fresh = PaperEngine(10_000, list(session.engine.markets.values()))
    session.swap_engine(fresh)
    session.drain()
    assert not any(t.startswith("Opened") for t in texts(session))  # the old record is gone
    assert fresh.mark("ETH") == 4_000


def test_a_market_without_a_price_and_a_dust_close_are_refused_in_words() -> None:
    session = make_session()
    assert session.no_price("BTC") is None
    assert session.no_price("SOL") == (
        "SOL has no price yet; wait for the feed, or pick a market the feed prices."
    )
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.cannot_close("BTC", fraction=0.5) is None
    assert session.cannot_close("BTC", fraction=1e-300) == (
        "That share of your position is less than the smallest BTC size the engine takes "
        "(0.000000001); close a larger share."
    )
    assert (session.cannot_close("BTC", size=1e-12) or "").startswith("That size is less than")


def test_the_mark_guard_holds_back_a_jump_and_says_so_on_the_heartbeat() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    session.drain()
    session.on_mark("BTC", 1.0)  # a glitch: would liquidate the long
    assert session.engine.mark("BTC") == 100_000 and session.engine.position("BTC") is not None
    assert session.drain().dirty
    assert texts(session)[-1].startswith("Held back a BTC price of 1.0000")
    session.use_settings(Settings().with_value("market.max_tick_move", 0))  # band off
    session.on_mark("BTC", 99_000.0)
    session.on_mark("BTC", 10.0)
    assert session.engine.mark("BTC") == 10.0


def test_an_export_says_where_it_went_and_a_failure_says_why(tmp_path: Path) -> None:
    session = make_session(data_dir=tmp_path / "acct")
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    path = session.export_history("fills")
    assert path is not None and path.parent == tmp_path / "acct" / "exports"
    assert path.read_text().count("\n") == 2  # the header and one fill
    assert texts(session)[-1] == f"Exported fills to {path}"
    toasts = session.take_toasts()
    # The toast puts the file name whole on a line of its own, then its folder: a narrow toast
    # never breaks the name in the middle.
    assert [(t.title, t.message.splitlines()[0]) for t in toasts] == [("Exported fills", path.name)]
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    session = make_session(data_dir=blocked)
    assert session.export_history("fills") is None
    assert texts(session) == []  # only a toast
    toasts = session.take_toasts()
    assert [(t.title, t.severity) for t in toasts] == [("Export failed", "error")]


# ------------------------------------------------------------------ history from the journal


def test_the_session_reads_history_from_the_journal_and_builds_an_older_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_journal_history import downgrade_to_schema_1
    from tui.journal import store

    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    journal.engine.set_mark("BTC", 100_000)
    for _ in range(5):
        journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    journal.engine.set_mark("BTC", 80_000)  # liquidated: record 6
    journal.close()
    downgrade_to_schema_1(tmp_path)
    monkeypatch.setattr(store, "SYNC_HISTORY", 0)
    monkeypatch.setattr(store, "HISTORY_CHUNK", 2)
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    session = Session(journal=journal, data_dir=tmp_path)
    assert session.engine.events == []  # launch read the state, not the records
    assert [e.seq for e in session.history_events()] == [1, 2, 3, 4, 5, 6]
    [liquidation] = [e for e in session.history_events() if isinstance(e, Liquidation)]
    assert session.accounts[liquidation.seq] == journal.accounts[liquidation.seq]
    assert session.history_to_build
    slices = 0
    while session.build_history(0.0):
        slices += 1
    assert slices == 2 and journal.history_ready and not session.history_to_build  # 2+2+2
    assert journal.counts().fills == 5
    path = session.export_history("fills")
    assert path is not None and len(path.read_text().splitlines()) == 1 + 5
    journal.close()


def test_without_a_journal_the_session_keeps_liquidation_accounts_itself() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.5, 10, ISO)
    session.on_mark("BTC", 91_000)
    [liquidation] = [e for e in session.history_events() if isinstance(e, Liquidation)]
    account = session.engine.account  # the account just after the liquidation (nothing since)
    assert session.accounts[liquidation.seq].wallet == account.wallet_balance
    assert not session.history_to_build and not session.build_history()


# ------------------------------------------------------------------ history for the screen


def test_exports_run_one_at_a_time_and_a_stopped_one_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.session import ExportCancelled

    monkeypatch.setattr("tui.history.EXPORT_CHUNK", 2)
    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    journal.engine.set_mark("BTC", 100_000)
    for _ in range(5):
        journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    session = Session(journal=journal, data_dir=tmp_path)
    job = session.start_export("fills")
    assert not isinstance(job, str) and session.export_job is job
    assert session.start_export("fills") == (
        "An export of fills is still running; wait for it to finish."
    )
    assert "no 'positions' table" in str(session.start_export("positions"))
    job.cancel()
    with pytest.raises(ExportCancelled):
        session.run_export(job)
    assert (job.written, job.total) == (2, 5)  # stopped at the first chunk
    session.finish_export(job, ExportCancelled())
    assert session.export_job is None
    assert texts(session)[-1] == "The export of fills was stopped; no file was written."
    assert list((tmp_path / "exports").iterdir()) == []  # no file, no temp file
    job = session.start_export("fills")
    assert not isinstance(job, str)
    path = session.run_export(job)
    assert (job.written, job.total, job.share) == (5, 5, 1.0)
    session.finish_export(job, path)
    assert texts(session)[-1] == f"Exported fills to {path}"
    job = session.start_export("fills")
    assert not isinstance(job, str)
    session.finish_export(job, RuntimeError("boom"))  # a bug in an export: said, not raised
    [toast] = [t for t in session.take_toasts() if t.severity == "error"]
    assert toast.message == "The export of fills failed: RuntimeError: boom"
    journal.close()


def test_history_is_read_from_the_journal_or_from_memory(tmp_path: Path) -> None:
    from tui.journal import JournalView, MemoryView

    journal = Journal.open(tmp_path, lock=False, synchronous="OFF")
    journal.engine.set_mark("BTC", 100_000)
    session = Session(journal=journal, data_dir=tmp_path)
    before = session.history_mark
    journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.history_mark == (before[0], before[1] + 1)
    view = session.history()
    assert isinstance(view, JournalView)
    assert view.fills_page().rows == journal.fills_page().rows
    view.close()
    session.reset()
    assert session.history_mark[0] != before[0]  # a new season: a new engine
    journal.close()

    memory = make_session()
    memory.engine.open("BTC", LONG, 0.01, 10, ISO)
    memory.engine.close("BTC")
    view = memory.history()
    assert isinstance(view, MemoryView)
    page = view.fills_page(limit=1)
    assert [f.kind for f in page.rows] == ["close"] and page.next is not None
    assert [f.kind for f in view.fills_page(before=page.next).rows] == ["open"]
    assert view.counts().fills == 2 and view.counts().closed == 1
    assert view.stats().overall.closed_positions == 1
