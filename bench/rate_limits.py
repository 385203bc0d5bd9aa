"""Rate limits in memory: what hits cost while many keys are in the window.

Hits arrive at 100/s on one key for 3 s while 1,000 other keys (say, client IPs) hold hits in
the window. Measured: process CPU time (all threads) per hit, and the share of a core used.
- Subject: `RateLimits` without Redis (`InProcessStorage`, kit/ratelimit.py).
- Ceiling: the same paced loop with no limiter at all.
- Also run, as a note: the `limits` library's own asyncio memory storage, which the subject
  replaced (it expires old hits in a pass over every key, each through `asyncio.to_thread`).
"ops/s" below is hits per CPU-second. Target: >= 0.5 x the ceiling (the limiter at most doubles
what a paced hit costs), and under 5 % of a core with the 1,000 keys.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bench.harness import Check, Result, Sample
from leedz.kit.ratelimit import RateLimits

ROUNDS = 3
SECONDS = 3.0
RATE = 100
KEYS = 1_000
RULE = "1000/minute"

Hit = Callable[[str], Awaitable[object]]


def _ours() -> Hit:
    limits = RateLimits(None)
    return lambda key: limits.hit(RULE, "ip", key)


def _library() -> Hit:
    limiter, item = MovingWindowRateLimiter(MemoryStorage()), parse(RULE)
    return lambda key: limiter.hit(item, "ip", key)


async def _paced(hit: Hit | None) -> tuple[Sample, float]:
    """Hits per CPU-second (latencies: CPU ms per hit), and the share of a core used (%)."""
    if hit is not None:
        for i in range(KEYS):
            await hit(f"10.0.{i // 256}.{i % 256}")
    await asyncio.sleep(0.2)
    cpu, started, hits = time.process_time(), time.perf_counter(), 0
    while (now := time.perf_counter()) - started < SECONDS:
        if hit is not None:
            await hit("busy")
        hits += 1
        await asyncio.sleep(max(0.0, started + hits / RATE - now))
    cpu = time.process_time() - cpu
    per_hit_ms = cpu / hits * 1000
    return Sample(hits / cpu, per_hit_ms, per_hit_ms), cpu / SECONDS * 100


def main(url: str) -> Result:  # the database is not used
    result = Result(
        name="rate_limits",
        subject=f"in-memory limits, {RATE} hits/s, {KEYS:,} keys in the window",
        ceiling="the same paced loop, no limiter",
        target_ratio=0.5,
    )
    shares: list[float] = []
    library: list[tuple[Sample, float]] = []
    for _ in range(ROUNDS):
        result.ceiling_samples.append(asyncio.run(_paced(None))[0])
        sample, share = asyncio.run(_paced(_ours()))
        result.subject_samples.append(sample)
        shares.append(share)
        library.append(asyncio.run(_paced(_library())))
    result.checks.append(Check("share of a core used", max(shares), 5.0, "%"))
    cost, share = max(library, key=lambda pair: pair[1])
    result.notes.append(
        f"the library's asyncio memory storage: {cost.p50_ms:.2f} ms of CPU per hit,"
        f" {share:.0f} % of a core"
    )
    result.notes.append("ops/s = hits per CPU-second; p50 and p99 = ms of CPU per hit")
    return result
