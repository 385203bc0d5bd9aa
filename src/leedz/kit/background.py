"""Work started off the caller's path (a detached event, a mail) and waited for, bounded, at
shutdown: the tasks are kept referenced until they end, so none is collected half-way. And
`every`: the loop of the periodic tasks every instance runs (reaper, purges, indexes)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("leedz.background")


class Background:
    def __init__(self, what: str) -> None:
        self.what = what  # named in the shutdown warning
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run `work` in a task of its own; the caller does not wait for it."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, within_seconds: float) -> None:
        """Wait up to `within_seconds` for the tasks still running; cancel what is left."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=within_seconds)
        for task in late:
            task.cancel()
        if late:
            log.warning("background_work_cancelled", what=self.what, count=len(late))


# The periodic passes' first one comes within this many seconds of the start (`every`).
FIRST_PASS_WITHIN = 60.0


async def every(
    interval: float,
    pass_once: Callable[[], Awaitable[object]],
    *,
    failed: str,
    logger: Any = log,
    first_within: float | None = None,
) -> None:
    """Run `pass_once` until cancelled, every `interval` seconds give or take a fifth (so that
    instances started together do not pass in lockstep). A failed pass (the database away) is
    logged as the event `failed` and retried the next time. With `first_within`, the first
    pass waits half to all of min(interval, first_within): not at once, a start is busy
    enough; not a whole interval, or instances restarted more often would never pass."""
    if first_within is not None:
        await asyncio.sleep(min(interval, first_within) * random.uniform(0.5, 1))  # noqa: S311
    while True:
        try:
            await pass_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next pass retries
            logger.warning(failed, error=repr(exc))
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))  # noqa: S311
