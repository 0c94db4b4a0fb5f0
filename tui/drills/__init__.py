"""Drills: practice with a goal, a clock and a score (no Textual).

A drill is data, one TOML file each (docs/drills.md): a scenario's price path, a starting
book, a goal, a time limit in feed time and a scoring rule from a fixed set of named kinds.

- :mod:`~tui.drills.model`: :class:`Drill` and :func:`parse_drill` (every field checked).
- :mod:`~tui.drills.catalogue`: the shipped drills (``data/*.toml``) and the trader's own
  (``drills/`` beside the settings file); a bad file is skipped with a message.
- :mod:`~tui.drills.scoring`: the rule kinds and :func:`judge`, a pure function of the run's
  journal records and samples.
- :mod:`~tui.drills.runner`: a drill being played (its source, engine, samples, verdict).
- :mod:`~tui.drills.attempts`: an attempt's own season in the drills' account, saving it,
  and scoring it again from the journal.
"""

from __future__ import annotations

from tui.drills.catalogue import Catalogue, load_drills, user_drills_dir
from tui.drills.model import Drill, DrillError, parse_drill
from tui.drills.scoring import Verdict, judge

__all__ = [
    "Catalogue",
    "Drill",
    "DrillError",
    "Verdict",
    "judge",
    "load_drills",
    "parse_drill",
    "user_drills_dir",
]
