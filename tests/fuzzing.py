"""Bounded fuzzing: how many inputs each hypothesis fuzzer runs.

In CI every fuzzer runs its own small number of examples (a few seconds each). For a longer
hunt by hand, multiply them all with ``PERPDESK_FUZZ``::

    PERPDESK_FUZZ=100 python -m pytest tests -k fuzz --hypothesis-show-statistics

``--hypothesis-show-statistics`` prints how many inputs each fuzzer ran.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("PERPDESK_FUZZ", "1") or "1"))


def fuzz(examples: int) -> settings:
    """Hypothesis settings for a fuzzer that runs ``examples`` inputs in CI."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )
