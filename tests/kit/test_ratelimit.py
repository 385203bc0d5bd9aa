"""Rate limits share their counters through Redis when REDIS_URL is set (several instances)."""

from __future__ import annotations

import uuid

import pytest
from limits import parse

from leedz.kit.ratelimit import InProcessStorage, RateLimited, RateLimits


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


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def in_process(clock: Clock) -> RateLimits:
    limits = RateLimits(None)
    assert isinstance(limits.storage, InProcessStorage)
    limits.storage.clock = clock
    return limits


async def test_a_moving_window_releases_hits_as_they_age_out() -> None:
    clock = Clock()
    limits = in_process(clock)
    await limits.hit("2/10 seconds", "k")
    clock.now += 6
    await limits.hit("2/10 seconds", "k")
    with pytest.raises(RateLimited):
        await limits.hit("2/10 seconds", "k")  # refused hits are not counted
    clock.now += 4.5  # the first hit has aged out, the second has not
    await limits.hit("2/10 seconds", "k")
    with pytest.raises(RateLimited):
        await limits.hit("2/10 seconds", "k")
    window = await limits.limiter.get_window_stats(parse("2/10 seconds"), limits.namespace, "k")
    assert window.remaining == 0
    assert window.reset_time == pytest.approx(clock.now - 4.5 + 10)


async def test_retry_after_counts_to_the_oldest_hit_leaving_the_window() -> None:
    limits = RateLimits(None)
    await limits.hit("1/30 seconds", "retry")
    with pytest.raises(RateLimited) as caught:
        await limits.hit("1/30 seconds", "retry")
    assert 29 <= int(caught.value.headers["Retry-After"]) <= 30


async def test_keys_whose_hits_expired_are_forgotten_without_a_pass_over_all_keys() -> None:
    clock = Clock()
    limits = in_process(clock)
    for i in range(1_000):
        await limits.hit("5/minute", "ip", str(i))
    await limits.hit("5/hour", "long-lived")
    storage = limits.storage
    assert isinstance(storage, InProcessStorage)
    assert len(storage) == 1_001
    clock.now += 61
    # Every call looks at the two least recently touched keys: 600 calls on one key clear the
    # thousand idle ones.
    for _ in range(300):
        await limits.hit("1000/minute", "busy")
        await limits.hit("1000/minute", "busy")
    assert len(storage) == 2  # "busy", and "long-lived" whose hour is not over
    assert await limits.limiter.test(parse("5/minute"), limits.namespace, "ip", "1")


async def test_a_fixed_window_counts_until_it_ends() -> None:
    clock = Clock()
    limits = RateLimits(None, fixed_window=True)
    assert isinstance(limits.storage, InProcessStorage)
    limits.storage.clock = clock
    for _ in range(3):
        await limits.hit("3/second", "f")
    with pytest.raises(RateLimited):
        await limits.hit("3/second", "f")
    clock.now += 1.01
    await limits.hit("3/second", "f")
    window = await limits.limiter.get_window_stats(parse("3/second"), limits.namespace, "f")
    assert window.remaining == 2
