"""A worker as a process of its own (`leedz worker`): its database pool, its relay of job updates
to the web app, and SIGTERM/SIGINT handled as a clean stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from leedz.config import Settings
from leedz.files.storage import storage_for, use_storage
from leedz.jobs.models import JobType
from leedz.jobs.work import Handler
from leedz.kit.db import Database
from leedz.worker import relay
from leedz.worker.worker import Worker


async def run_worker_process(
    settings: Settings,
    url: str,
    handlers: Mapping[JobType, Handler],
    *,
    worker_id: str | None = None,
) -> None:
    """Run a worker until SIGTERM or SIGINT: the current batches end (within the shutdown
    grace), the leases of unfinished jobs are let go for another worker, the pool closes."""
    use_storage(storage_for(settings))  # the settings given, not the environment's
    database = Database(settings, url)
    await database.start()
    if settings.redis_url:
        relay.subscribe(database.bus, settings.redis_url)
    worker = Worker(database, settings, handlers, worker_id)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.request_stop)
    try:
        await worker.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await database.bus.drain(within_seconds=5.0)
        await database.dispose()
