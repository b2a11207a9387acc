"""Clocks: where the policy reads the time.

Everything that depends on time (sketch windows, budgets, delay refresh)
takes a clock, a zero-argument callable returning seconds as a float from an
arbitrary origin that never goes backwards. Production uses
:func:`time.monotonic`; tests inject :class:`hedge.testing.FakeClock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "monotonic"]

Clock = Callable[[], float]
"""A monotonic time source in seconds."""

monotonic: Clock = time.monotonic
