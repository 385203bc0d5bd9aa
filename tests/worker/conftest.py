from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from leedz.config import Settings
from leedz.jobs.models import JobType
from leedz.jobs.work import Handler
from leedz.kit.db import Database
from leedz.worker.worker import Worker


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app of these tests (`client`) runs no worker of its own: each test runs its own."""
    return settings.model_copy(update={"worker": False})


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"worker_lease_seconds": 3, "worker_poll_seconds": 0.05, "db_pool_size": 8}
    )


@pytest.fixture
async def db(worker_settings: Settings, database_url: str) -> AsyncIterator[Database]:
    database = Database(worker_settings, database_url)
    await database.start()
    try:
        yield database
    finally:
        await database.dispose()


MakeWorker = Callable[..., Worker]


@pytest.fixture
async def make_worker(db: Database, worker_settings: Settings) -> AsyncIterator[MakeWorker]:
    made: list[Worker] = []

    def make(handlers: Mapping[JobType, Handler], **settings: Any) -> Worker:
        made.append(Worker(db, worker_settings.model_copy(update=settings), handlers))
        return made[-1]

    yield make
    for worker in made:  # their own connections (`run` closes its own)
        await worker.close()
