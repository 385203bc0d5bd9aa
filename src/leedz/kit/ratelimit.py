"""Rate limits with the `limits` library: in memory for one instance, Redis when REDIS_URL is set.

Moving windows: a client that keeps hammering stays limited; one that stops is released when its
oldest hits age out. A limited call answers 429 `rate_limited` with `Retry-After`.

In memory, the library's synchronous storage and limiters are used, called straight from the
event loop: a hit is a few list operations under a lock, with nothing to wait for. Its asyncio
storage sends every key through `asyncio.to_thread` each time it expires old hits — on every
hit, under a flood: a thread hop per key per request, about a third of the event loop's own
work on a sign-in (bench/login_flood.py). Redis is reached through the asyncio storage.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

import limits.aio.strategies as aio_strategies
import limits.strategies as sync_strategies
from limits import RateLimitItem, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.storage import MemoryStorage, storage_from_string

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
        self.namespace = namespace
        self._shared: aio_strategies.RateLimiter | None = None
        self._local: sync_strategies.RateLimiter | None = None
        if redis_url:
            scheme_url = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            storage = storage_from_string(scheme_url, implementation="redispy")
            if not isinstance(storage, AsyncStorage):
                raise TypeError("expected an async rate-limit storage")
            self._shared = (
                aio_strategies.FixedWindowRateLimiter(storage)
                if fixed_window
                else aio_strategies.MovingWindowRateLimiter(storage)
            )
        else:
            memory = MemoryStorage()
            self._local = (
                sync_strategies.FixedWindowRateLimiter(memory)
                if fixed_window
                else sync_strategies.MovingWindowRateLimiter(memory)
            )

    async def hit(self, rule: str | RateLimitItem, *key: str) -> None:
        """Count one call under `rule` (e.g. "10/minute") for `key`; raise 429 over the limit."""
        item = _rule(rule) if isinstance(rule, str) else rule
        reset_time = await self._refused_until(item, key)
        if reset_time is None:
            return
        retry_after = max(1, math.ceil(reset_time - time.time()))
        error = RateLimited(f"Too many attempts; retry in {retry_after} s", retryAfter=retry_after)
        error.headers["Retry-After"] = str(retry_after)
        raise error

    async def _refused_until(self, item: RateLimitItem, key: tuple[str, ...]) -> float | None:
        """None when the hit is allowed (and counted), else when the window lets one in again."""
        if self._local is not None:
            if self._local.hit(item, self.namespace, *key):
                return None
            return self._local.get_window_stats(item, self.namespace, *key).reset_time
        if self._shared is None:  # pragma: no cover - one of the two is always set
            raise RuntimeError("no rate-limit storage")
        if await self._shared.hit(item, self.namespace, *key):
            return None
        return (await self._shared.get_window_stats(item, self.namespace, *key)).reset_time
