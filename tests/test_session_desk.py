"""The session's trading-desk flows without Textual: resting orders (cancel, modify), a
position's take-profit / stop-loss, the close preview, the venue of a season, the header's
words, speed, and prices for markets perpdesk does not have. Every figure is worked by hand
beside its assertion (docs/rules.md gives the rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.engine import MarginMode, OrderType, Side, Venue
from tui.journal import Journal
from tui.market import FeedState, FeedStatus, ReplaySource, SimSource
from tui.session import SIMULATION, Question, Session, engine_for
from tui.settings import Settings

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
NOON = 1_795_521_600.0  # 2026-11-24 12:00:00 UTC
LIMIT, STOP = OrderType.LIMIT, OrderType.STOP_MARKET


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


def buy_limit(session: Session, price: float = 95_000, size: float = 0.01) -> int:
    """A resting BTC buy: 0.01 x 95,000 / 10x holds 95.00 of margin."""
    return session.engine.place_order(
        "BTC", LONG, size, LIMIT, price=price, leverage=10, mode=ISO
    ).id


# ------------------------------------------------------------------ cancelling


def test_cancel_one_a_market_or_all_and_say_why_not() -> None:
    session = make_session()
    assert session.cannot_cancel() == "There are no open orders to cancel."
    assert session.cannot_cancel(market="BTC") == "There are no open BTC orders to cancel."
    assert session.cannot_cancel(order_id=7) == "There is no open order #7; /orders lists them."
    first, second = buy_limit(session), buy_limit(session, 94_000)
    session.engine.place_order("ETH", SHORT, 1, LIMIT, price=4_400, leverage=5, mode=ISO)
    assert session.engine.account.order_margin == pytest.approx(95 + 94 + 880)  # 4,400 / 5
    assert session.cancel_orders(order_id=first) == 1
    assert session.engine.order(first) is None and session.engine.order(second) is not None
    assert session.cancel_orders(market="BTC") == 1
    assert [o.market for o in session.engine.open_orders()] == ["ETH"]
    assert session.cancel_orders() == 1
    assert session.engine.account.order_margin == 0
    assert session.cancel_orders() == 0  # nothing left: refused in words, nothing changes
    assert texts(session)[-1] == "Rejected: There are no open orders to cancel."


def test_the_cancel_question_counts_the_margin_and_the_stops_it_removes() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    buy_limit(session)
    session.engine.set_tp_sl("BTC", stop_loss=92_000)
    assert session.cancel_question("BTC") == Question(
        "Cancel BTC orders",
        "Cancel 2 open BTC orders? The 95.00 of margin they hold comes back to Available.\n"
        "Of these, one is a stop protecting a position: it is left unprotected.",
    )
    assert session.cancel_question(None).title == "Cancel all orders"


# ------------------------------------------------------------------ modifying


def test_modify_is_cancel_and_replace_with_a_new_number() -> None:
    session = make_session()
    old = buy_limit(session)
    new = session.modify_order(old, price=96_000, size=0.02)
    assert new is not None and new.id != old
    assert session.engine.order(old) is None
    assert (new.price, new.size, new.leverage, new.mode) == (96_000, 0.02, 10, ISO)
    assert new.reserved_margin == pytest.approx(192)  # 0.02 x 96,000 / 10
    session.drain()
    assert texts(session)[-1] == f"Order #{old} modified: cancelled and replaced by #{new.id}."


def test_a_refused_modification_puts_the_order_back_and_says_why() -> None:
    session = make_session()
    old = buy_limit(session)
    assert session.modify_order(old, size=1_000) is None  # 95,000,000 of notional: no margin
    back = session.engine.open_orders("BTC")
    assert [(o.price, o.size) for o in back] == [(95_000, 0.01)]  # as it was, a new number
    session.drain()
    assert texts(session)[-1].startswith(f"Rejected: Order #{old} not modified: ")
    assert texts(session)[-1].endswith(f"It is open again as #{back[0].id}.")


def test_modifying_a_stop_loss_moves_its_trigger_only() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    (sl,) = session.engine.set_tp_sl("BTC", stop_loss=92_000)
    moved = session.modify_order(sl.id, price=93_000, size=5)  # the size follows the position
    assert moved is not None and moved.tpsl == "sl" and moved.trigger_price == 93_000
    assert moved.size == pytest.approx(0.01)
    assert session.cannot_modify(sl.id) == f"Order #{sl.id} is not open any more."
    assert session.cannot_modify(None) == "Select an open order first (o shows the open orders)."


# ------------------------------------------------------------------ take-profit / stop-loss


def test_tp_and_sl_set_clear_and_refuse_in_words() -> None:
    session = make_session()
    assert session.cannot_set_tp_sl("BTC") == (
        "There is no open BTC position to give a take-profit or stop-loss; open one first, "
        "or give the order tp / sl prices."
    )
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.set_tp_sl("BTC", take_profit=110_000, stop_loss=95_000)
    tp, sl = session.engine.tp_sl("BTC")
    assert tp is not None and tp.trigger_price == 110_000
    assert sl is not None and sl.trigger_price == 95_000
    assert session.set_tp_sl("BTC", take_profit=None)  # cleared; the stop-loss is kept
    assert session.engine.tp_sl("BTC")[0] is None and session.engine.tp_sl("BTC")[1] is not None
    # A take-profit under the mark of a long would fire at once: refused, nothing changes.
    assert session.tp_sl_problem("BTC", "tp", 99_000) is not None
    assert session.tp_sl_problem("BTC", "tp", 99_000).startswith("Take-profit: ")  # type: ignore[union-attr]
    assert session.tp_sl_problem("BTC", "sl", 99_000) is None
    assert not session.set_tp_sl("BTC", take_profit=99_000)
    assert session.engine.tp_sl("BTC")[0] is None


def test_a_stop_the_liquidation_beats_is_set_and_warned_after_its_records() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    # Isolated 10x long at 100,000 (Hyperliquid, BTC 40x max: maintenance rate 1/80):
    # M = 100; liquidation where 100 + 0.01 (P - 100,000) = 0.01 P / 80 -> P = 91,139.24.
    liq = session.engine.position("BTC").liquidation_price  # type: ignore[union-attr]
    assert liq == pytest.approx(91_139.24, abs=0.01)
    session.drain()
    assert session.set_tp_sl("BTC", stop_loss=90_000)
    session.drain()
    lines = texts(session)
    assert lines[-2].startswith("Placed Stop loss #1 for the whole BTC position at 90,000.0")
    assert lines[-1] == (
        "Your stop at 90,000 is at or beyond this long's liquidation price 91,139.2: you would "
        "be liquidated before your stop fires. Put the stop above 91,139.2, or use less "
        "leverage."
    )
    assert any(t.title == "Stop-loss" for t in session.take_toasts())


def test_stops_the_liquidation_beats_are_kept_on_screen_while_they_hold() -> None:
    session = make_session()
    assert session.beaten_stops() == [] and session.standing_tip() is None
    session.engine.open("BTC", LONG, 0.01, 10, ISO)  # liquidation 91,139.24 (above)
    # Isolated 5x short 2 ETH at 4,000 (ETH 25x max: maintenance rate 1/50): margin 1,600;
    # liquidation where 1,600 + 2 (4,000 - P) = 2 P / 50 -> 9,600 = 2.04 P -> P = 4,705.88.
    session.engine.open("ETH", SHORT, 2, 5, ISO)
    session.engine.set_tp_sl("BTC", take_profit=110_000, stop_loss=91_140)  # above: it fires
    session.engine.set_tp_sl("ETH", stop_loss=4_700)  # below a short's liquidation: it fires
    session.engine.place_order(
        "BTC", LONG, 0.01, STOP, trigger_price=120_000, leverage=10, mode=ISO
    )  # fmt: skip  (a buy stop on a long adds: no protection)
    assert session.beaten_stops() == []
    session.engine.set_tp_sl("BTC", stop_loss=91_139)  # at or below a long's liquidation
    sl = session.engine.tp_sl("BTC")[1]
    assert sl is not None
    [btc] = session.beaten_stops()
    assert (btc.market, btc.side, btc.order_id, btc.stop) == ("BTC", LONG, sl.id, 91_139)
    assert btc.liquidation == pytest.approx(91_139.24, abs=0.01)
    # a plain reduce-only stop that closes the short, at or above its liquidation
    eth = session.engine.place_order("ETH", LONG, 2, STOP, trigger_price=4_706, reduce_only=True)
    assert [b.order_id for b in session.beaten_stops()] == [sl.id, eth.id]
    tip = session.standing_tip()
    assert tip is not None and tip.warning
    assert tip.text == (
        "⚠ BTC stop 91,139.0 is past its Liq. price 91,139.2; ETH stop 4,706.00 is past its "
        "Liq. price 4,705.88: the liquidation comes first, the stop never fires (t moves it)."
    )
    session.engine.cancel_order(eth.id)
    session.engine.close("BTC")  # closing cancels its stop
    assert session.beaten_stops() == [] and session.standing_tip() is None


def test_pnl_at_a_price_is_the_whole_position_before_fees() -> None:
    session = make_session()
    assert session.pnl_at("BTC", 110_000) is None
    session.engine.open("ETH", SHORT, 2, 5, ISO)  # short 2 at 4,000
    assert session.pnl_at("ETH", 3_600) == pytest.approx(800)  # -1 x (3,600 - 4,000) x 2
    assert session.pnl_at("ETH", 4_100) == pytest.approx(-200)


# ------------------------------------------------------------------ closing


def test_the_close_preview_for_each_share() -> None:
    session = make_session()
    assert session.close_preview("BTC") is None
    session.engine.open("BTC", LONG, 0.04, 10, ISO)  # margin 0.04 x 100,000 / 10 = 400
    session.on_mark("BTC", 101_000)
    quarter = session.close_preview("BTC", fraction=0.25)
    assert quarter is not None and quarter.rejection is None
    assert quarter.size == pytest.approx(0.01) and quarter.size_left == pytest.approx(0.03)
    assert quarter.fill_price == 101_000  # frictionless: at the mark
    assert quarter.realized_pnl == pytest.approx(10)  # (101,000 - 100,000) x 0.01
    assert quarter.fee == pytest.approx(0.01 * 101_000 * 0.00045)  # taker 0.045 % = 0.4545
    assert quarter.margin_released == pytest.approx(100)  # a quarter of 400
    whole = session.close_preview("BTC")
    assert whole is not None and whole.size_left == 0 and whole.realized_pnl == pytest.approx(40)
    assert session.close_preview("BTC", size=5) is not None  # more than open: all of it
    assert session.close_preview("BTC", size=5).size == pytest.approx(0.04)  # type: ignore[union-attr]
    # Cross: a quarter frees what it uses at the mark, q P / L (docs/rules.md):
    # 0.01 x 103,000 / 10 = 103, not a quarter of the margin at entry (100).
    session = make_session()
    session.engine.open("BTC", LONG, 0.04, 10, CROSS)
    session.on_mark("BTC", 103_000)
    cross = session.close_preview("BTC", fraction=0.25)
    assert cross is not None and cross.margin_released == pytest.approx(103)
    assert cross.realized_pnl == pytest.approx(30)  # (103,000 - 100,000) x 0.01


def test_the_close_preview_says_what_becomes_of_the_positions_orders() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.04, 10, ISO)
    assert session.close_preview("BTC").orders_note is None  # type: ignore[union-attr]
    session.engine.set_tp_sl("BTC", stop_loss=95_000)
    half = session.close_preview("BTC", fraction=0.5)
    assert half is not None and half.orders_note == "Its stop-loss stays, for what is left."
    whole = session.close_preview("BTC")
    assert whole is not None and whole.orders_note == "Its stop-loss is cancelled with it."
    session.engine.set_tp_sl("BTC", take_profit=110_000)
    session.engine.place_order("BTC", SHORT, 0.01, LIMIT, price=105_000, reduce_only=True)
    assert session.close_preview("BTC").orders_note == (  # type: ignore[union-attr]
        "Its take-profit and stop-loss and 1 reduce-only order are cancelled with it."
    )


def test_the_position_state_changes_with_an_add_not_with_the_mark() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    before = session.position_state(session.engine.position("BTC"))  # type: ignore[arg-type]
    session.on_mark("BTC", 100_500)
    assert session.position_state(session.engine.position("BTC")) == before  # type: ignore[arg-type]
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.position_state(session.engine.position("BTC")) != before  # type: ignore[arg-type]


# ------------------------------------------------------------------ the venue of a season


def binance() -> Settings:
    return Settings().with_value("account.venue", "binance")


def test_a_new_account_follows_the_settings_venue() -> None:
    assert engine_for(binance()).venue is Venue.BINANCE
    assert engine_for(Settings()).venue is Venue.HYPERLIQUID


def test_a_fresh_season_on_a_venue_without_some_market_keeps_the_others_priced() -> None:
    session = make_session()
    session.on_mark("HYPE", 40)  # Hyperliquid lists HYPE; Binance's tables here do not
    session.use_settings(session.settings.with_value("account.venue", "binance"))
    session.reset()  # no traceback: the new engine is only given the marks it has markets for
    assert session.engine.venue is Venue.BINANCE
    assert "HYPE" not in session.engine.markets
    assert session.engine.mark("BTC") == 100_000


def test_changing_the_venue_offers_a_fresh_season_and_never_rewrites_this_one(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path, lock=False, clock=lambda: NOON)
    session = make_session(journal=journal)
    session.engine.open("BTC", LONG, 0.01, 10, ISO)
    assert session.venue_question() is None  # Hyperliquid both
    session.use_settings(binance())
    question = session.venue_question()
    assert question is not None and question.title == "Trade on Binance rules?"
    assert "Its 1 open position and 0 open orders are archived with it." in question.body
    session.answer_venue(False)
    assert session.engine.venue.value == "hyperliquid"
    assert texts(session)[-1] == (
        "This account keeps Hyperliquid rules; /reset starts a fresh season on Binance rules."
    )
    session.answer_venue(True)
    assert session.engine.venue is Venue.BINANCE and journal.season == 2
    assert session.engine.positions() == []
    assert texts(session)[-1] == (
        "Season 2 started with 10,000.00 on Binance rules; the last one is archived."
    )
    journal.close()


def test_a_launch_on_another_venue_than_the_settings_says_so() -> None:
    session = make_session(settings=binance(), engine=engine_for(Settings()))
    session.start()
    assert any(
        line.startswith("This account follows Hyperliquid rules (a venue belongs to a season)")
        for line in texts(session)
    )


def test_fresh_says_so_at_launch(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, lock=False, clock=lambda: NOON)
    journal.engine.set_mark("BTC", 100_000)
    journal.engine.open("BTC", LONG, 0.01, 10, ISO)
    journal.close()
    journal = Journal.open(tmp_path, lock=False, clock=lambda: NOON, fresh=True)
    session = make_session(journal=journal, fresh=True)
    session.start()
    assert texts(session)[-1] == (
        "Fresh account (--fresh): season 2 started with 10,000.00 on Hyperliquid rules; the "
        "previous season is kept (perpdesk --accounts lists them)."
    )
    journal.close()


# ------------------------------------------------------------------ the header, the speed


def test_the_title_names_the_venue_and_the_fills() -> None:
    sim = SimSource(None, seed=1, execution="realistic")
    assert make_session(feed=sim).desk_title() == "Hyperliquid · realistic fills"
    session = make_session(feed=SimSource(None, seed=1), settings=binance())
    session.swap_engine(engine_for(binance()))
    assert session.desk_title() == "Binance · fills at the mark"


def test_the_feed_title_says_each_thing_once() -> None:
    session = make_session(feed=SimSource(None, seed=1))
    session.on_status(FeedStatus(FeedState.PAUSED, "Paused at 00:12:30", "Simulation"))
    assert session.feed_title() == "Simulation · Paused at 00:12:30"
    session.on_status(
        FeedStatus(FeedState.ENDED, "Replay finished: 1,200 marks from day.csv", "Replay")
    )
    assert session.feed_title() == "Replay finished: 1,200 marks from day.csv"


def test_switching_scenario_keeps_the_speed_and_the_fills() -> None:
    session = make_session(feed=SimSource(None, seed=1, speed=10, execution="thin"))
    source = session.switch_feed("flash-crash")
    assert source.speed == 10 and getattr(source, "execution", None) == "thin"
    back = session.switch_feed(SIMULATION)
    assert back.speed == 10


def test_the_top_and_bottom_speeds_say_so() -> None:
    session = make_session(feed=SimSource(None, seed=1))
    assert session.change_speed(-1) == "Already at the slowest speed, 1x (] speeds up)."
    while session.change_speed(1) is None:
        pass
    top = max(SimSource.speed_options)
    assert session.feed is not None and session.feed.speed == top
    assert session.change_speed(1) == f"Already at the top speed, {top:g}x ([ slows down)."


# ------------------------------------------------------------------ unknown symbols


def test_prices_for_markets_perpdesk_lacks_are_named_once(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("timestamp,symbol,price\n0,FOO,1.5\n0,BAR,2\n1,FOO,1.6\n")
    feed = ReplaySource(path)
    session = make_session(feed=feed)
    session.on_mark("FOO", 1.5)
    session.on_mark("BAR", 2.0)
    session.on_mark("FOO", 1.6)
    session.drain()
    warned = [line for line in texts(session) if "does not list" in line]
    assert warned == [
        f"{feed.name} prices 2 markets perpdesk does not list: FOO, BAR. Without a "
        "Hyperliquid margin table there is nothing to trade them on, so Markets leaves them "
        "out (prices counted, not applied)."
    ]
    (toast,) = session.take_toasts()
    assert (toast.title, toast.severity) == ("Unknown markets", "warning")
    session.drain()
    assert len([line for line in texts(session) if "does not list" in line]) == 1
    assert session.unknown_marks == {"FOO": 2, "BAR": 1}
