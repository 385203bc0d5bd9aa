"""Background work: not waited for by its caller, waited for (bounded) at shutdown."""

from __future__ import annotations

import asyncio

from leedz.kit.background import Background


async def test_spawned_work_runs_without_the_caller_waiting() -> None:
    done = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.05)
        done.set()

    background = Background("test")
    background.spawn(work(), name="work")
    assert not done.is_set()  # spawn returned before the work ran
    await background.drain(within_seconds=5)
    assert done.is_set()


async def test_drain_cancels_what_outlives_its_bound() -> None:
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background = Background("test")
    background.spawn(stuck(), name="stuck")
    await asyncio.sleep(0)  # let it start
    await background.drain(within_seconds=0.05)
    await asyncio.sleep(0)
    assert cancelled.is_set()


async def test_drain_with_nothing_running_returns_at_once() -> None:
    await asyncio.wait_for(Background("test").drain(within_seconds=60), timeout=1)
