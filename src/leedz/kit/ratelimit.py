"""Rate limits with the `limits` library: in memory for one instance, Redis when REDIS_URL is set.

Moving windows: a client that keeps hammering stays limited; one that stops is released when its
oldest hits age out. A limited call answers 429 `rate_limited` with `Retry-After`.

The library supplies the rules, the strategies and the Redis storage. In memory, the storage is
`InProcessStorage` below, through the library's storage interface, and not the library's own:
- its asyncio storage (limits 5.8) expires old hits in a background pass started on every hit,
  that sends *every* key through `asyncio.to_thread`, one after the other: a cost that grows
  with the keys in the window (`python -m bench rate_limits` compares the two);
- its synchronous storage never forgets a key whose hits have expired (an entry per IP and
  email ever seen) and wakes a timer thread after every hit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import MovingWindowSupport, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.storage import storage_from_string

from leedz.errors import LeedzError


class RateLimited(LeedzError):
    status, code, title = 429, "rate_limited", "Too many requests"


@dataclass(slots=True)
class _Entry:
    expires_at: float  # when the key holds nothing any more
    hits: deque[float] = field(default_factory=deque)  # moving window: hit times, oldest first
    count: int = 0  # fixed window: hits in the window that ends at `expires_at`


class InProcessStorage(Storage, MovingWindowSupport):
    """Moving and fixed windows in this process's memory, for one event loop; no background work.

    Each moving-window key keeps at most `limit` hit times (refused hits are not recorded), and
    drops the expired ones when it is hit or read. Keys are kept in the order they were last
    touched; every call looks at the two least recently touched and forgets them if they hold
    nothing any more (else sends them to the back), so memory follows the keys active within
    the longest window, at O(1) per call — no pass over all keys, no thread, no timer.
    """

    STORAGE_SCHEME = None  # not registered under a URL scheme: built directly
    SWEEP_PER_CALL = 2

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def __len__(self) -> int:
        return len(self._entries)

    def _sweep(self, now: float) -> None:
        entries = self._entries
        for _ in range(min(self.SWEEP_PER_CALL, len(entries))):
            key, entry = next(iter(entries.items()))
            if entry.expires_at <= now:
                del entries[key]
            else:
                entries.move_to_end(key)

    def _live(self, key: str, now: float) -> _Entry | None:
        self._sweep(now)
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= now:
            del self._entries[key]
            return None
        return entry

    def _window(self, key: str, expiry: float, now: float) -> _Entry | None:
        """The key's entry, its hits older than the window dropped (None: nothing held)."""
        entry = self._live(key, now)
        if entry is not None:
            hits, cutoff = entry.hits, now - expiry
            while hits and hits[0] < cutoff:
                hits.popleft()
        return entry

    # Moving window (MovingWindowRateLimiter).
    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        entry = self._window(key, expiry, now)
        if entry is None:
            entry = self._entries[key] = _Entry(expires_at=now + expiry)
        elif len(entry.hits) + amount > limit:
            return False
        entry.hits.extend([now] * amount)
        entry.expires_at = now + expiry
        self._entries.move_to_end(key)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        entry = self._window(key, expiry, now)
        if entry is None or not entry.hits:
            return now, 0
        return entry.hits[0], len(entry.hits)

    # Fixed window (FixedWindowRateLimiter).
    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = self.clock()
        entry = self._live(key, now)
        if entry is None:
            entry = self._entries[key] = _Entry(expires_at=now + expiry)
        entry.count += amount
        return entry.count

    async def get(self, key: str) -> int:
        entry = self._live(key, self.clock())
        return entry.count if entry is not None else 0

    async def get_expiry(self, key: str) -> float:
        now = self.clock()
        entry = self._live(key, now)
        return entry.expires_at if entry is not None else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._entries)
        self._entries.clear()
        return count

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)


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
            storage = InProcessStorage()
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
