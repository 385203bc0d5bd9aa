"""Rate limits share their counters through Redis when REDIS_URL is set (several instances)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from leedz.kit.ratelimit import RateLimited, RateLimits

REDIS_URL = os.environ.get("LEEDZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_url() -> str:
    if not redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI machines run Redis on 127.0.0.1:6379; it does not answer")
        pytest.skip("no Redis on 127.0.0.1:6379 on this machine")
    return REDIS_URL


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
