"""The session's side of the risk views: candles in feed time from the marks the guard let
through, alerts on the heartbeat (log line, toast, bell, once per crossing), the funding
outlook's pacing, and the risk figures it hands the screens. No Pilot: plain Python."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.describe import liquidation_toast
from tui.engine import Liquidation, MarginMode, OrderType, Side
from tui.market import SimSource
from tui.market.candles import Candle
from tui.risk import BetaEstimate, PendingComparison, ShockLadder
from tui.session import ALERT_QUIET, SIMULATION, OrderTicket, Session
from tui.settings import Settings

ISO, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = Side.LONG, Side.SHORT
NOON = 1_795_521_600.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_session(
    settings: Settings | None = None,
    monotonic: Clock | None = None,
    wall_clock: Clock | None = None,
) -> Session:
    session = Session(
        settings,
        feed=SimSource(None, seed=1),
        wall_clock=wall_clock or (lambda: NOON),
        monotonic=monotonic or Clock(),
    )
    session.on_clock(0.0)
    session.on_mark("BTC", 100_000)
    session.on_mark("ETH", 4_000)
    session.drain()
    return session


def alerts_said(session: Session) -> list[str]:
    return [line.text for line in session.log if line.text.startswith("Risk alert")]


# ------------------------------------------------------------------ candles


def test_marks_become_candles_in_feed_time() -> None:
    session = make_session()
    session.on_clock(30.0)
    session.on_mark("BTC", 100_500)
    session.on_clock(59.0)
    session.on_mark("BTC", 99_800)
    session.on_clock(61.0)  # the next minute
    session.on_mark("BTC", 100_100)
    assert session.candles.candles("BTC", "1m") == [
        Candle(0.0, 100_000, 100_500, 99_800, 99_800, 59.0),
        Candle(60.0, 100_100, 100_100, 100_100, 100_100, 61.0),
    ]
    assert session.candles.candles("BTC", "5m") == [
        Candle(0.0, 100_000, 100_500, 99_800, 100_100, 61.0)
    ]


def test_a_mark_the_guard_holds_back_or_the_engine_refuses_draws_nothing() -> None:
    session = make_session()
    before = session.candles.candles("BTC", "1m")
    session.on_clock(10.0)
    session.on_mark("BTC", 400_000)  # 4x in one tick: held back by the guard
    session.on_mark("BTC", float("nan"))  # refused by the engine
    session.on_clock(float("nan"))  # a clock that is not a number is ignored
    assert session.feed_time == 10.0
    assert session.candles.candles("BTC", "1m") == before


def test_switching_the_feed_starts_the_candles_afresh_on_its_clock() -> None:
    session = make_session()
    session.on_clock(5_000.0)
    session.on_mark("BTC", 100_100)
    session.switch_feed("flash-crash")
    assert session.candles.symbols == []
    assert session.feed_time == session.feed_now() == 0.0  # the scenario's clock starts at 0
    session.switch_feed(SIMULATION)
    assert session.candles.symbols == []


# ------------------------------------------------------------------ alerts


def test_a_position_near_liquidation_alerts_once_per_crossing_with_the_bell() -> None:
    clock = Clock()
    session = make_session(monotonic=clock)
    session.engine.open("BTC", LONG, 1, 20, ISO)
    session.drain()
    pos = session.engine.position("BTC")
    assert pos is not None and pos.liquidation_price is not None
    liq = pos.liquidation_price

    session.on_mark("BTC", liq * 1.025)  # 2.44 % away: above the 2 % threshold
    session.drain()
    assert alerts_said(session) == [] and not session.take_bell()

    session.on_mark("BTC", liq * 1.019)  # 1.86 % away
    session.drain()
    assert alerts_said(session) == [
        "Risk alert: BTC isolated long is 1.86% from liquidation (alert at 2.0%)."
    ]
    assert [t.title for t in session.take_toasts()] == ["Risk alert"]
    assert session.take_bell() and not session.take_bell()  # rung once
    assert [a.market for a in session.alerts.active] == ["BTC"]  # the standing banner

    session.on_mark("BTC", liq * 1.018)  # still inside: no second alert
    session.drain()
    session.on_mark("BTC", liq * 1.024)  # 2.34 %: not yet re-armed (2.5 %)
    session.drain()
    assert len(alerts_said(session)) == 1 and not session.take_bell()

    session.on_mark("BTC", liq * 1.03)  # 2.91 %: re-armed, the banner goes
    session.drain()
    assert session.alerts.active == []
    clock.now = ALERT_QUIET  # long enough after the first toast to ring again
    session.on_mark("BTC", liq * 1.015)  # a new crossing
    session.drain()
    assert len(alerts_said(session)) == 2 and session.take_bell()


def test_alerts_never_flood_one_toast_and_one_bell_then_quiet() -> None:
    """A crash takes four positions inside 2 % of liquidation in one beat: four log lines,
    one toast naming three and counting the fourth, one bell. A new crossing 5 s later is
    logged and bannered only; 10 s after the toast the next one rings again."""
    clock = Clock()
    session = make_session(monotonic=clock)
    session.on_mark("SOL", 180)
    session.on_mark("XRP", 2.5)
    for market, size in (("BTC", 0.1), ("ETH", 1), ("SOL", 10), ("XRP", 1_000)):
        session.engine.open(market, LONG, size, 20, ISO)
    session.drain()
    session.take_toasts()
    liq = {p.market: p.liquidation_price for p in session.engine.positions()}
    for market, price in liq.items():
        assert price is not None
        session.on_mark(market, price * 1.019)  # 1.86 % away, every one in the same beat
    session.drain()
    assert len(alerts_said(session)) == 4
    (toast,) = session.take_toasts()
    assert toast.title == "4 risk alerts"
    lines = toast.message.split("\n")
    assert lines[0] == "BTC isolated long is 1.86% from liquidation (alert at 2.0%)."
    assert len(lines) == 4 and lines[3] == "… and 1 more (the log has them all)."
    assert session.take_bell() and len(session.alerts.active) == 4

    btc = liq["BTC"]
    assert btc is not None
    session.on_mark("BTC", btc * 1.03)  # re-armed ...
    session.drain()
    clock.now = 5.0
    session.on_mark("BTC", btc * 1.015)  # ... and crossed again 5 s after the toast
    session.drain()
    assert len(alerts_said(session)) == 5  # logged
    assert session.take_toasts() == [] and not session.take_bell()  # but quiet
    assert [a.market for a in session.alerts.active] == ["BTC", "ETH", "SOL", "XRP"]

    session.on_mark("BTC", btc * 1.03)
    session.drain()
    clock.now = 10.0  # ALERT_QUIET after the toast
    session.on_mark("BTC", btc * 1.015)
    session.drain()
    (toast,) = session.take_toasts()
    # 0.015 / 1.015 = 1.48 % away
    assert toast.title == "Risk alert" and toast.message.startswith("BTC isolated long is 1.48%")
    assert session.take_bell()


def test_a_cross_liquidation_of_several_positions_is_one_toast() -> None:
    """Both cross longs go in one liquidation as the marks fall: a log line each, one toast
    for the two."""
    session = make_session()
    session.engine.open("BTC", LONG, 0.15, 10, CROSS)  # losing 7,500 at half the mark
    session.engine.open("ETH", LONG, 3, 10, CROSS)  # and 6,000: more than the 10,000
    session.drain()
    session.take_toasts()
    for step in range(1, 26):  # 2 % a tick (the mark guard lets that through), one beat
        session.on_mark("BTC", 100_000 * (1 - 0.02 * step))
        session.on_mark("ETH", 4_000 * (1 - 0.02 * step))
    assert session.engine.positions() == []
    session.drain()
    said = [line.text for line in session.log if line.text.startswith("LIQUIDATED")]
    assert len(said) == 2  # each its own log line, with the whole story
    liqs = [e for e in session.engine.events if isinstance(e, Liquidation)]
    toasts = [t for t in session.take_toasts() if t.severity == "error"]
    shorts = [liquidation_toast(e) for e in liqs]  # the toast's short forms, one toast
    assert [(t.title, t.message.split("\n")) for t in toasts] == [("2 liquidations", shorts)]


def test_a_liquidation_leaves_a_picture_of_the_path_the_heartbeats_saw() -> None:
    """0.1 BTC long at 10x isolated (liquidation 91,139.24): heartbeats at 100,000 and
    95,000, then a beat in which BTC falls to 91,000 and the position is liquidated. Its
    picture: the marks of the beats and the liquidation's own, the ratio of each beat
    (12.5 %, 23.75 %) and 100 % at the end, its liquidation price."""
    wall = Clock()
    session = make_session(wall_clock=wall)
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    session.drain()
    wall.now = 1.0
    session.on_mark("BTC", 95_000)
    session.drain()
    assert session.traces.open_traces == 1
    wall.now = 2.0
    for mark in (93_000, 91_000):  # one beat
        session.on_mark("BTC", mark)
    session.drain()
    (picture,) = session.traces.pictures
    assert [c.close for c in picture.marks] == [100_000, 95_000, 91_000]  # a second apart
    assert [c.close for c in picture.ratios] == pytest.approx([0.125, 0.2375, 1.0])
    assert picture.liquidation_price == pytest.approx(90_000 / 0.9875)
    assert session.traces.picture(picture.liquidation.seq) is picture
    assert session.traces.open_traces == 0


def test_the_bell_setting_silences_the_bell_only() -> None:
    settings = Settings()
    settings = replace(settings, ui=replace(settings.ui, bell=False))
    session = make_session(settings)
    session.engine.open("BTC", LONG, 1, 20, ISO)
    liq = session.engine.position("BTC").liquidation_price  # type: ignore[union-attr]
    assert liq is not None
    session.on_mark("BTC", liq * 1.01)
    session.drain()
    assert len(alerts_said(session)) == 1
    assert not session.take_bell()


def test_the_cross_margin_ratio_alerts_at_the_threshold_in_settings() -> None:
    settings = Settings()
    settings = replace(settings, ui=replace(settings.ui, alert_margin_ratio=0.5))
    session = make_session(settings)
    session.engine.open("ETH", LONG, 5, 10, CROSS)
    session.drain()
    mark = 4_000.0
    while session.engine.account.margin_ratio < 0.5:
        assert alerts_said(session) == []
        mark *= 0.9999
        session.on_mark("ETH", mark)
        session.drain()
    pos = session.engine.position("ETH")
    assert pos is not None and pos.liquidation_distance is not None
    assert pos.liquidation_distance > 0.02  # only the ratio crossed
    said = alerts_said(session)
    assert len(said) == 1 and said[0].startswith("Risk alert: Cross margin ratio 50.0%")
    assert said[0].endswith("(alert at 50%).")


def test_new_thresholds_in_settings_take_effect() -> None:
    session = make_session()
    settings = session.settings
    session.use_settings(replace(settings, ui=replace(settings.ui, bell=False)))
    tracker = session.alerts
    session.use_settings(replace(settings, ui=replace(settings.ui, alert_margin_ratio=0.6)))
    assert session.alerts is not tracker and session.alerts.ratio_threshold == 0.6


# ------------------------------------------------------------------ risk figures


def test_the_funding_outlook_is_worked_out_at_most_once_a_second() -> None:
    clock = Clock()
    session = make_session(monotonic=clock)
    session.on_funding_rate("BTC", 0.0001)
    session.engine.open("BTC", LONG, 0.5, 10, ISO)
    first = session.funding("BTC")
    assert first is not None and first.cost_24h is not None
    # 24 payments of 0.01 % of 50,000 (the rate is per hour, paid hourly on Hyperliquid)
    assert first.cost_24h == pytest.approx(24 * 0.0001 * 50_000)
    assert session.funding("ETH") is None and session.funding(None) is None
    session.on_funding_rate("BTC", 0.0002)
    clock.now = 0.5
    assert session.funding("BTC") is first  # within the second: the same figures
    clock.now = 1.0
    again = session.funding("BTC")
    assert again is not first and again is not None and again.rate == 0.0002


def test_the_selected_positions_funding_is_its_own_and_the_map_has_everyones() -> None:
    session = make_session()
    session.on_funding_rate("BTC", 0.0001)
    session.on_funding_rate("ETH", 0.0002)
    session.engine.open("BTC", LONG, 0.5, 10, CROSS)
    session.engine.open("ETH", LONG, 10.0, 10, CROSS)
    own = session.funding("BTC")
    every = session.funding_outlooks()
    assert own is not None and set(every) == {"BTC", "ETH"}
    # the same 24 payments of 0.01 % of 50,000 either way ...
    assert own.cost_24h == pytest.approx(24 * 0.0001 * 50_000) == every["BTC"].cost_24h
    # ... but with ETH paying from the same cross balance too, BTC's liquidation price
    # after them is higher than after its own payments alone
    assert own.liquidation_after is not None and every["BTC"].liquidation_after is not None
    assert every["BTC"].liquidation_after > own.liquidation_after


def test_the_risk_figures_say_why_when_there_are_none() -> None:
    session = make_session()
    assert session.shock(None) == "There are no open positions or orders to shock."
    assert session.shock("SOL") == "SOL has no price yet: there is nothing to shock"
    ladder = session.shock("BTC")
    assert isinstance(ladder, ShockLadder) and len(ladder.rows) == 61
    ticket = OrderTicket("SOL", LONG, usd=500, leverage=5)
    assert session.pending_ladder(ticket, ISO) == "SOL has no price yet."
    ticket = OrderTicket("SOL", LONG, size=1.0, leverage=5)
    assert session.pending_ladder(ticket, ISO) == "SOL has no price yet: there is nothing to shock"
    compared = session.pending_ladder(OrderTicket("BTC", LONG, size=0.1, leverage=5), CROSS)
    assert isinstance(compared, PendingComparison) and compared.with_order is not None
    assert len(compared.without.rows) == 13
    refused = session.pending_ladder(OrderTicket("BTC", LONG, size=1e6, leverage=5), CROSS)
    assert isinstance(refused, PendingComparison) and refused.rejection


def test_the_compact_ladder_sends_the_ticket_as_the_trader_would() -> None:
    """A limit ticket with a stop-loss rests on the copy: nothing is held at 0 %, it fills
    at its price when BTC falls 5 % (100,000 -> 95,000), and its stop-loss, given to the
    position when it filled, closes it on the way down at 90,000 (-10 %). Nothing reaches
    the live engine."""
    session = make_session()
    ticket = OrderTicket(
        "BTC",
        LONG,
        size=0.1,
        leverage=5,
        order_type=OrderType.LIMIT,
        price=95_000,
        stop_loss=90_000,
    )
    compared = session.pending_ladder(ticket, CROSS)
    assert isinstance(compared, PendingComparison) and compared.with_order is not None
    ladder = compared.with_order
    assert ladder.row(0).positions == () and ladder.row(0.05).fills == ()
    (fill,) = ladder.row(-0.05).fills
    assert (fill.order_type, fill.tpsl, fill.price) == (OrderType.LIMIT, None, 95_000)
    assert [p.market for p in ladder.row(-0.05).positions if p.open] == ["BTC"]
    (stop,) = ladder.row(-0.10).fills
    assert stop.tpsl == "sl"
    (closed,) = ladder.row(-0.10).positions
    assert closed.closed and not closed.open
    assert session.engine.open_orders() == [] and session.engine.positions() == []


def test_chart_levels_and_the_map_come_from_the_engine() -> None:
    session = make_session()
    session.engine.open("BTC", LONG, 0.1, 10, ISO)
    pos = session.engine.position("BTC")
    assert pos is not None
    assert session.chart_levels("BTC") == [
        ("Entry", pos.entry_price, "entry"),
        ("Liq", pos.liquidation_price, "liq"),
    ]
    (entry,) = session.liquidation_map()
    assert entry.market == "BTC" and entry.sigmas is None  # no minutes of prices yet
    assert session.betas() == {"BTC": BetaEstimate(1.0, 0, True)}  # BTC is its own reference
