"""Snapshots of the trading desk's screens and dialogs at 120x36 and 80x24 (and the wide layout
at 200x50), on the seeded feed with a frozen clock.

Update after a deliberate change with ``--snapshot-update`` and look at every changed image
before committing it.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.pilot_helpers import make_app
from tests.ui.test_snapshots import some_positions
from tui.app import PerpDeskApp
from tui.engine import MarginMode, OrderType, Side

ISO = MarginMode.ISOLATED


async def no_blink(pilot: Pilot[None]) -> None:
    """The dialog's fields keep their cursor still: a snapshot never catches it mid-blink."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def desk(pilot: Pilot[None]) -> PerpDeskApp:
    app = pilot.app
    assert isinstance(app, PerpDeskApp)
    return app


async def with_orders(pilot: Pilot[None]) -> None:
    """The three positions of the main snapshot, a TP and SL on BTC, a stop on SOL that its
    liquidation beats (flagged), and resting orders."""
    await some_positions(pilot)
    app = desk(pilot)
    eng = app.session.engine
    btc = eng.mark("BTC")
    eth = eng.mark("ETH")
    assert btc is not None and eth is not None
    eng.set_tp_sl("BTC", take_profit=round(btc * 1.1), stop_loss=round(btc * 0.95))
    sol = eng.position("SOL")
    assert sol is not None and sol.liquidation_price is not None
    eng.set_tp_sl("SOL", stop_loss=round(sol.liquidation_price - 1))  # past it: flagged
    eng.place_order(
        "BTC", Side.LONG, 0.02, OrderType.LIMIT, price=round(btc * 0.97), leverage=10, mode=ISO
    )
    eng.place_order(
        "ETH",
        Side.LONG,
        1,
        OrderType.STOP_MARKET,
        trigger_price=round(eth * 1.1),
        reduce_only=True,
    )
    eng.place_order(
        "DOGE", Side.LONG, 5_000, OrderType.LIMIT, price=0.18, leverage=5, mode=ISO, post_only=True
    )
    app.refresh_now()
    await pilot.pause()


async def orders_tab(pilot: Pilot[None]) -> None:
    await with_orders(pilot)
    await pilot.press("o")
    await pilot.pause()


async def close_dialog(pilot: Pilot[None]) -> None:
    await some_positions(pilot)
    await pilot.press("tab", "x", "2")  # BTC, half
    await pilot.pause()


async def tp_sl_dialog(pilot: Pilot[None]) -> None:
    await some_positions(pilot)
    app = desk(pilot)
    await pilot.press("tab", "t")
    await pilot.pause()
    mark = app.session.engine.mark("BTC")
    assert mark is not None
    app.screen.query_one("#tp").value = f"{round(mark * 1.1)}"  # type: ignore[attr-defined]
    app.screen.query_one("#sl").value = "90000"  # type: ignore[attr-defined]
    await no_blink(pilot)


async def modify_dialog(pilot: Pilot[None]) -> None:
    await orders_tab(pilot)
    await pilot.press("down", "down")  # the BTC limit
    await pilot.press("e")
    await pilot.pause()
    await no_blink(pilot)


async def modes_explainer(pilot: Pilot[None]) -> None:
    desk(pilot).start_order("BTC", Side.LONG, size=0.01, leverage=10)
    await pilot.pause()
    await pilot.press("question_mark")
    await pilot.pause()


def test_positions_with_tp_sl(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=with_orders)


def test_positions_with_tp_sl_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=with_orders)


def test_orders_tab(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=orders_tab)


def test_orders_tab_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=orders_tab)


def test_wide_layout(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(200, 50), run_before=with_orders)


def test_close_dialog(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=close_dialog)


def test_close_dialog_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=close_dialog)


def test_tp_sl_dialog(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=tp_sl_dialog)


def test_tp_sl_dialog_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=tp_sl_dialog)


def test_modify_dialog(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=modify_dialog)


def test_modify_dialog_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=modify_dialog)


def test_help_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["question_mark"])


def test_modes_explainer_small_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=modes_explainer)
