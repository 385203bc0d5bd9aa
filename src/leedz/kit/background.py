"""Work started off the caller's path (a detached event, a mail) and waited for, bounded, at
shutdown: the tasks are kept referenced until they end, so none is collected half-way."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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
