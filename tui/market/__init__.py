"""Price sources: where perpdesk's marks come from (pure asyncio + stdlib, no UI imports).

Every source implements one interface. The app builds one with :func:`make_source` and runs
``await source.run(sink)`` in a worker on its event loop; ``run()`` feeds the sink until the
task is cancelled (or, for a replay, the file ends)::

    source = make_source("sim", symbols=["BTC", "ETH"], seed=42)
    await source.run(sink)        # sink implements MarkSink

The sink (:class:`MarkSink`) receives, in order:

* ``on_mark(symbol, price)`` - every mark (finite, > 0);
* ``on_funding_rate(symbol, rate_per_hour)`` - the current hourly rate, for display
  (0.0000125 = 0.00125 %/h);
* ``on_funding(symbol, rate_per_hour)`` - an hourly funding payment is due now, in source time;
  it always follows the marks of that instant (the session takes it as the rate then, and pays
  funding on the venue's schedule from ``on_clock``);
* ``on_status(FeedStatus)`` - the feed's health changed;
* ``on_clock(feed_time)`` - optional (called only when the sink defines it): the feed time of
  the marks that follow, in seconds (live: the wall clock; replay: the recording's clock, UTC
  epoch seconds; simulation and scenarios: seconds since the start). One step of a fast replay
  delivers many instants; each gets its own ``on_clock``, so candles land in feed time;
* ``on_oracle_price(symbol, price)`` - optional: Hyperliquid's oracle price (live
  ``activeAssetCtx.oraclePx``), which Hyperliquid funding is paid on.

:class:`FeedStatus` fields: ``state`` (:class:`FeedState`: ``connecting``, ``connected``,
``reconnecting``, ``stale``, ``paused``, ``ended``), ``detail`` (one line of text for the status
bar), ``source`` (the source's ``name``), ``last_update_age`` (seconds since the newest price
when the status was made; ``None`` before any), ``stale_symbols`` (frozenset of configured
symbols without a recent price), ``attempt`` and ``retry_in`` (reconnect attempt number and
seconds until it, while reconnecting), ``errors`` (bad frames or bad replay rows skipped so
far), ``speed``; and the property ``healthy``.

Controls on every :class:`PriceSource` (safe to change while ``run()`` is going):
``speed`` (simulation and scenarios: 1, 10 or 60; replay: 1 to 100; live: ignored, stays 1;
a bad value raises ``ValueError`` and changes nothing), ``paused`` (stops marks and source
time; live sources ignore it), read-only ``feed_time`` (the feed's clock now, as above),
read-only ``sim_time`` (seconds of source time since the start;
``None`` for live), ``speed_options`` and ``can_pause`` for the UI, and ``status`` (the last
status sent).

Sources:

* :class:`SimSource` (``"sim"``, the default, offline): a seeded random walk. Its core is the
  synchronous ``step(dt_seconds) -> StepResult`` (``.marks``, ``.funding_rates``,
  ``.funding``, ``.deliver(sink)``), deterministic for a seed, so tests can drive it without
  real time; ``snapshot()`` gives the current state without moving time.
* :class:`ScenarioSource` (``"scenario"``): a named path from :data:`SCENARIOS` (each a
  :class:`Scenario` with ``.name`` and ``.teaches``), same interface as the simulation.
* :class:`HyperliquidSource` / :class:`BinanceSource` (``"hyperliquid"``, ``"binance"``): live
  public prices; need the ``live`` extra (``websockets``), else :class:`LiveExtraMissingError`.
  ``bad_frames`` counts skipped frames.
* :class:`ReplaySource` (``"replay"``): a CSV recording (timestamp,symbol,price); bad rows are
  listed in ``errors``. Also a stepped source.

Between a source and the engine the app puts a :class:`MarkGuard`: a price that jumps more than
a configured band in one tick is held back until the next ticks confirm it (``guard.py``).

Market parameters live in :data:`MARKETS` (:class:`MarketParams`); the default market list is
:data:`DEFAULT_SYMBOLS`. A sample recording ships as :data:`SAMPLE_REPLAY`.
:mod:`tui.market.fetch` downloads a venue's candles into a replay CSV (``perpdesk fetch``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tui.market.base import (
    EventKind,
    FeedState,
    FeedStatus,
    MarkSink,
    PriceSource,
    SteppedSource,
    StepResult,
)
from tui.market.books import EXECUTIONS, book_style
from tui.market.guard import GuardNote, MarkGuard
from tui.market.live import (
    LIVE_EXTRA_MESSAGE,
    BinanceSource,
    HyperliquidSource,
    LiveExtraMissingError,
    LiveSource,
)
from tui.market.markets import DEFAULT_SYMBOLS, MARKETS, MarketParams
from tui.market.replay import ReplaySource
from tui.market.scenarios import SCENARIOS, Scenario, ScenarioSource
from tui.market.sim import SIM_SPEEDS, SimSource

__all__ = [
    "DEFAULT_SYMBOLS",
    "EXECUTIONS",
    "LIVE_EXTRA_MESSAGE",
    "MARKETS",
    "SAMPLE_REPLAY",
    "SCENARIOS",
    "SIM_SPEEDS",
    "SOURCE_KINDS",
    "BinanceSource",
    "EventKind",
    "FeedState",
    "FeedStatus",
    "GuardNote",
    "HyperliquidSource",
    "LiveExtraMissingError",
    "LiveSource",
    "MarkGuard",
    "MarkSink",
    "MarketParams",
    "PriceSource",
    "ReplaySource",
    "Scenario",
    "ScenarioSource",
    "SimSource",
    "StepResult",
    "SteppedSource",
    "make_source",
]

SAMPLE_REPLAY: Path = Path(__file__).with_name("data") / "sample_replay.csv"
"""A short BTC/ETH/SOL recording with a dip, for demos and tests."""

SOURCE_KINDS: tuple[str, ...] = ("sim", "scenario", "hyperliquid", "binance", "replay")
_ALIASES = {"live": "hyperliquid", "simulation": "sim"}


def make_source(
    kind: str,
    *,
    symbols: Iterable[str] | None = None,
    seed: int | None = None,
    scenario: str | None = None,
    url: str | None = None,
    replay_file: str | os.PathLike[str] | None = None,
    speed: float = 1,
    execution: str = "frictionless",
) -> PriceSource:
    """Build a price source from settings.

    ``kind`` is one of :data:`SOURCE_KINDS` (or ``"live"`` = ``"hyperliquid"``), any case.
    ``symbols=None`` means the default markets (a replay: every symbol in its file). Options
    that do not apply to ``kind`` are ignored (``seed`` for live, ``url`` for the simulation,
    ``speed`` for live, ...), so settings can be passed through unconditionally; those that do
    apply are validated. ``execution`` (``"frictionless"``, ``"realistic"``, ``"thin"``)
    chooses the order books: none, or simulated ones around each mark (simulation, scenarios,
    a replay's synthetic spread), or for live sources the venue's own (any preset but
    frictionless). Raises ``ValueError`` with a message fit for the user, and
    :class:`LiveExtraMissingError` for a live kind without ``websockets`` installed.
    """
    if not isinstance(kind, str):
        raise ValueError(f"price source kind must be a string, not {kind!r}")
    key = kind.strip().lower()
    key = _ALIASES.get(key, key)
    books = book_style(execution) is not None  # ValueError for an unknown preset
    if key == "sim":
        return SimSource(symbols, seed=seed, speed=speed, execution=execution)
    if key == "scenario":
        if scenario is None or (isinstance(scenario, str) and not scenario.strip()):
            raise ValueError(
                f"the scenario source needs a scenario name; choose one of: {', '.join(SCENARIOS)}"
            )
        return ScenarioSource(scenario, symbols, seed=seed, speed=speed, execution=execution)
    if key == "hyperliquid":
        return HyperliquidSource(symbols, url=url, books=books)
    if key == "binance":
        return BinanceSource(symbols, url=url, books=books)
    if key == "replay":
        if replay_file is None or (isinstance(replay_file, str) and not replay_file.strip()):
            raise ValueError("the replay source needs a file: set replay_file to a CSV path")
        if not isinstance(replay_file, str | os.PathLike):
            raise ValueError(f"replay_file must be a path, not {replay_file!r}")
        return ReplaySource(replay_file, symbols, speed=speed, execution=execution)
    raise ValueError(
        f"unknown price source {kind!r}; choose one of: {', '.join(SOURCE_KINDS)} "
        "('live' means hyperliquid)"
    )
