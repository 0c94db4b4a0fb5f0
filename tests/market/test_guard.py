"""The mark guard: implausible one-tick jumps are held back, real moves accepted once confirmed."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzz
from tui.market import MarkGuard


def test_the_first_price_sets_the_level_and_moves_within_the_band_pass() -> None:
    guard = MarkGuard(max_move=0.5)
    assert guard.allows("BTC", 100_000.0)
    assert guard.allows("BTC", 150_000.0)  # exactly +50 %: inside
    assert guard.allows("BTC", 75_000.0)  # exactly -50 % of 150,000: inside
    assert guard.notes == []


@pytest.mark.parametrize("price", [150_000.01, 49_999.99, 1e8, 1.0])
def test_a_jump_past_the_band_is_held_back_and_noted_once(price: float) -> None:
    guard = MarkGuard(max_move=0.5)
    guard.allows("BTC", 100_000.0)
    assert not guard.allows("BTC", price)
    [note] = guard.drain()
    assert note.kind == "held" and note.symbol == "BTC"
    assert note.price == price and note.level == 100_000.0
    assert "more than 50 % from 100,000.0 in one tick" in note.message
    assert guard.held("BTC")


def test_a_glitching_feed_costs_one_note_per_episode_not_one_per_tick() -> None:
    guard = MarkGuard(max_move=0.5)
    guard.allows("BTC", 100_000.0)
    glitches = [1e8, 3.0, 1e8, 7e6, 2.5, 9e8] * 10  # never 3 in a row near one level
    assert not any(guard.allows("BTC", p) for p in glitches)
    assert [n.kind for n in guard.drain()] == ["held"]
    assert guard.allows("BTC", 100_100.0)  # back near the level: the episode ends
    assert not guard.held("BTC")
    assert not guard.allows("BTC", 1e8)  # a new episode: one new note
    assert [n.kind for n in guard.drain()] == ["held"]


def test_a_real_move_is_accepted_on_the_third_tick_at_the_new_level() -> None:
    guard = MarkGuard(max_move=0.5, confirm=3)
    guard.allows("ETH", 4_000.0)
    assert not guard.allows("ETH", 8_000.0)  # +100 %: held (1)
    assert not guard.allows("ETH", 8_100.0)  # agrees with 8,000 (2)
    assert guard.allows("ETH", 8_050.0)  # agrees (3): applied
    assert guard.allows("ETH", 8_000.0)  # the new level holds from now on
    held, accepted = guard.drain()
    assert held.kind == "held" and accepted.kind == "accepted"
    assert accepted.price == 8_050.0 and accepted.level == 4_000.0 and accepted.ticks == 3
    assert accepted.message == (
        "ETH really moved: 3 ticks in a row confirmed 8,050.00 (from 4,000.00); applied."
    )


def test_confirmation_restarts_when_the_held_ticks_disagree() -> None:
    guard = MarkGuard(max_move=0.5, confirm=3)
    guard.allows("SOL", 100.0)
    assert not guard.allows("SOL", 400.0)
    assert not guard.allows("SOL", 410.0)
    assert not guard.allows("SOL", 2_000.0)  # far from 400: counting starts again here
    assert not guard.allows("SOL", 2_010.0)
    assert guard.allows("SOL", 1_990.0)
    assert [n.kind for n in guard.drain()] == ["held", "accepted"]


def test_markets_are_guarded_separately() -> None:
    guard = MarkGuard()
    guard.allows("BTC", 100_000.0)
    guard.allows("ETH", 4_000.0)
    assert not guard.allows("BTC", 4_000.0)  # a symbol mix-up in the feed
    assert guard.allows("ETH", 4_010.0)


def test_zero_turns_the_guard_off() -> None:
    guard = MarkGuard(max_move=0)
    guard.allows("BTC", 100_000.0)
    assert guard.allows("BTC", 1e8) and guard.allows("BTC", 0.01)
    assert guard.notes == []


@pytest.mark.parametrize("bad", [math.nan, -1.0, 0.0, 1e300, "100000", None, math.inf])
def test_what_is_not_a_price_goes_to_the_engine_and_never_becomes_the_level(bad: object) -> None:
    guard = MarkGuard()
    guard.allows("BTC", 100_000.0)
    assert guard.allows("BTC", bad)  # type: ignore[arg-type]
    assert guard.allows("BTC", 100_500.0)  # the level is still 100,000
    assert not guard.allows("BTC", 1e7)
    fresh = MarkGuard()
    assert fresh.allows("ETH", bad)  # type: ignore[arg-type]
    assert fresh.allows("ETH", 4_000.0) and not fresh.allows("ETH", 40_000.0)


def test_other_real_numbers_are_judged_like_floats() -> None:
    guard = MarkGuard()
    guard.allows("BTC", 100_000)  # an int sets the level
    assert guard.allows("BTC", Decimal("100100"))  # type: ignore[arg-type]
    assert not guard.allows("BTC", Decimal("1e8"))  # type: ignore[arg-type]


def test_reset_forgets_levels_and_episodes() -> None:
    guard = MarkGuard()
    guard.allows("BTC", 100_000.0)
    guard.allows("BTC", 1e8)
    guard.reset()
    assert not guard.held("BTC")
    assert guard.allows("BTC", 1e8)  # a new source: its first price sets the level


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_move": -0.1}, "from 0"),
        ({"max_move": math.nan}, "from 0"),
        ({"max_move": "0.5"}, "number"),
        ({"max_move": True}, "number"),
        ({"confirm": 1}, "whole number"),
        ({"confirm": 2.5}, "whole number"),
    ],
)
def test_a_bad_band_or_count_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MarkGuard(**kwargs)  # type: ignore[arg-type]


ticks = st.lists(
    st.tuples(
        st.sampled_from(["BTC", "ETH"]),
        st.one_of(
            st.floats(min_value=-0.9, max_value=3.0).map(lambda m: ("rel", m)),
            st.floats(allow_nan=True, allow_infinity=True).map(lambda p: ("abs", p)),
        ),
    ),
    max_size=60,
)


@fuzz(400)
@given(ticks, st.sampled_from([0.1, 0.5, 2.0]), st.integers(2, 4))
def test_fuzz_nothing_jumps_past_the_band_unconfirmed(
    feed: list[tuple[str, tuple[str, float]]], band: float, confirm: int
) -> None:
    """Every price let through is within the band of the last one let through, or the last of
    `confirm` held ticks in a row that agree; one "held" note per episode at most."""
    guard = MarkGuard(max_move=band, confirm=confirm)
    level: dict[str, float] = {}
    held_run: dict[str, list[float]] = {}
    episodes = 0
    for symbol, (how, x) in feed:
        price = level.get(symbol, 100.0) * (1 + x) if how == "rel" else x
        allowed = guard.allows(symbol, price)
        is_price = 1e-10 <= price <= 1e9  # NaN fails this too
        if not is_price:
            assert allowed  # the engine's to refuse
            continue
        last = level.get(symbol)
        # Inside / outside the band, with float noise at its very edge left to the guard.
        inside = last is None or abs(price - last) <= band * last * (1 - 1e-9)
        outside = last is not None and abs(price - last) > band * last * (1 + 1e-9)
        run = held_run.get(symbol, [])
        if allowed:
            if outside:
                assert len(run) == confirm - 1, (price, last, run)
                assert all(abs(p - run[0]) <= band * run[0] for p in run)
            level[symbol] = price
            held_run[symbol] = []
        else:
            assert not inside
            if not run:
                episodes += 1
            elif not abs(price - run[0]) <= band * run[0]:
                run = []
            held_run[symbol] = [*run, price]
    assert sum(n.kind == "held" for n in guard.notes) <= episodes
