"""Test-wide settings.

Hypothesis's default 200 ms deadline and its too-slow health check are timings: on a loaded
two-core CI machine they fail a correct test at random (a book-parser fuzzer did). The suite
asserts behaviour, never speed (speed lives in bench/), so every property test runs without
them unless it sets its own.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("perpdesk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("perpdesk")
