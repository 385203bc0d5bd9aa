"""Rate limits share their counters through Redis when REDIS_URL is set (several instances)."""

from __future__ import annotations

import uuid

import pytest

from leedz.kit.ratelimit import RateLimited, RateLimits


async def test_two_instances_share_one_budget(redis_url: str) -> None:
    first, second = RateLimits(redis_url), RateLimits(redis_url)
    key = uuid.uuid4().hex
    await first.hit("3/minute", "shared", key)
    await second.hit("3/minute", "shared", key)
    await first.hit("3/minute", "shared", key)
    with pytest.raises(RateLimited) as caught:
        await second.hit("3/minute", "shared", key)
    assert int(caught.value.headers["Retry-After"]) >= 1


async def test_memory_storage_is_per_instance() -> None:
    first, second = RateLimits(None), RateLimits(None)
    key = uuid.uuid4().hex
    for _ in range(3):
        await first.hit("3/minute", "local", key)
    await second.hit("3/minute", "local", key)  # its own budget
    with pytest.raises(RateLimited):
        await first.hit("3/minute", "local", key)
