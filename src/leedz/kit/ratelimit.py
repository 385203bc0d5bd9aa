"""Rate limits with the `limits` library: in memory for one instance, Redis when REDIS_URL is set.

Moving windows: a client that keeps hammering stays limited; one that stops is released when its
oldest hits age out. A limited call answers 429 `rate_limited` with `Retry-After`.

In memory this is the library's asyncio storage (a hit costs ~0.03 ms of CPU, measured with 10
and with 5,000 keys in the window). Not its synchronous storage: as of limits 5.8 that one never
forgets a key whose hits have expired, so memory would grow with every IP and email ever seen.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.storage import storage_from_string

from leedz.errors import LeedzError


class RateLimited(LeedzError):
    status, code, title = 429, "rate_limited", "Too many requests"


@lru_cache(maxsize=256)
def _rule(rule: str) -> RateLimitItem:
    return parse(rule)


class RateLimits:
    def __init__(
        self, redis_url: str | None, *, namespace: str = "leedz", fixed_window: bool = False
    ) -> None:
        """Counters in Redis when `redis_url` is given (shared by instances), else in memory.

        `fixed_window`: a counter per window instead of a log of hits — O(1) per hit, for
        high limits where a moving window's log would grow with the limit (an instance's
        handshakes per second).
        """
        storage: Storage
        if redis_url:
            scheme_url = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            redis_storage = storage_from_string(scheme_url, implementation="redispy")
            if not isinstance(redis_storage, Storage):
                raise TypeError("expected an async rate-limit storage")
            storage = redis_storage
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter: RateLimiter = (
            FixedWindowRateLimiter(storage) if fixed_window else MovingWindowRateLimiter(storage)
        )
        self.namespace = namespace

    async def hit(self, rule: str | RateLimitItem, *key: str) -> None:
        """Count one call under `rule` (e.g. "10/minute") for `key`; raise 429 over the limit."""
        item = _rule(rule) if isinstance(rule, str) else rule
        if await self.limiter.hit(item, self.namespace, *key):
            return
        stats = await self.limiter.get_window_stats(item, self.namespace, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        error = RateLimited(f"Too many attempts; retry in {retry_after} s", retryAfter=retry_after)
        error.headers["Retry-After"] = str(retry_after)
        raise error

    async def reset(self) -> None:
        await self.storage.reset()
