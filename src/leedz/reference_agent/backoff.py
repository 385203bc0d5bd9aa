"""Reconnect delays: exponential backoff with full jitter.

`delay(attempt) = uniform(0, min(cap, base * 2**attempt))`. The ceiling doubles from `base` up
to `cap`; the delay is drawn anywhere below it, so a thousand agents cut off by the same server
restart come back spread over the whole window instead of in waves.
"""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_SECONDS = 0.5
CAP_SECONDS = 30.0


def ceiling(attempt: int, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> float:
    """The longest delay before reconnect attempt `attempt` (0 for the first retry)."""
    if attempt < 0:
        raise ValueError("attempt counts from 0")
    # 2**attempt overflows a float near 1024; the cap is reached long before.
    return min(cap, base * 2.0 ** min(attempt, 64))


def reconnect_delay(
    attempt: int,
    *,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
    draw: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before reconnect attempt `attempt`: full jitter under `ceiling`."""
    return draw() * ceiling(attempt, base=base, cap=cap)
