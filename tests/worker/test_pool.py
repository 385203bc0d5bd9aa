"""A worker whose pool is smaller than its jobs need (docs/worker.md, Settings).

A running job may hold two pooled connections at once: an export's long read, and a batch
beside it that stores its progress. A pool of fewer than twice the concurrency would let every
job take its read and then wait for its batch's connection, all of them at once, until the
pool's acquire timeout failed them all. These tests try exactly that: more exports at once
than the pool holds pairs of connections, each storing progress inside its read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog

from leedz.config import ConfigurationError, Settings
from leedz.exports import job as export_job
from leedz.files.storage import LocalStorage, use_storage
from leedz.jobs.models import JobType
from leedz.jobs.work import Cancelled, WorkUnit
from leedz.kit.db import Database
from leedz.worker.worker import CONNECTIONS_PER_JOB, Worker
from tests.worker.support import Member, add_job, create_tenant, job_row

LEADS = 12


class ReadersAllAtOnce:
    """A handler doing what an export does, at the worst moment: it opens its long read, waits
    until every job the worker runs at once holds one too, then stores progress in a batch
    beside it. A pool with fewer than two connections a job starves every batch."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.reading = 0
        self.all_reading = asyncio.Event()

    async def __call__(self, unit: WorkUnit) -> dict[str, Any] | Cancelled:
        assert self.worker is not None
        async with unit.read():
            self.reading += 1
            if self.reading >= self.worker.concurrency:
                self.all_reading.set()
            async with asyncio.timeout(10):
                await self.all_reading.wait()
            async with unit.batch() as tx:
                unit.save(tx, checkpoint={"read": True}, progress=50)
        return {"rows": LEADS}


async def small_batches(unit: WorkUnit) -> dict[str, Any] | Cancelled:
    """The EXPORT handler, storing progress every 2 leads from inside its long read."""
    return await export_job.export(unit, fetch_rows=2, progress_rows=2)


async def tenant_with_leads(owner: asyncpg.Connection, label: str) -> Member:
    member = await create_tenant(owner, label)  # PRO: bulk_export
    await owner.execute(
        "INSERT INTO leads (tenant_id, name, source_type)"
        " SELECT $1, 'Lead ' || n, 'MANUAL' FROM generate_series(1, $2) AS n",
        member.tenant_id,
        LEADS,
    )
    return member


async def export_jobs(
    owner: asyncpg.Connection, label: str, *, leads: bool = False, max_attempts: int = 3
) -> list[uuid.UUID]:
    """Four EXPORT jobs, each of a tenant of its own (with `LEADS` leads, or none)."""
    jobs = []
    for i in range(4):
        member = await (tenant_with_leads if leads else create_tenant)(owner, f"{label}{i}")
        jobs.append(
            await add_job(owner, member, job_type="EXPORT", job_input={}, max_attempts=max_attempts)
        )
    return jobs


@pytest.fixture(autouse=True)
def storage(tmp_path: Path) -> None:
    use_storage(LocalStorage(tmp_path / "files"))


def pool_of(settings: Settings, size: int, **more: Any) -> Settings:
    return settings.model_copy(
        update={
            "db_pool_size": size,
            "db_max_overflow": 0,
            "db_connect_timeout": 2.0,  # a starved acquire fails fast, the test sees it
            **more,
        }
    )


async def run_all(
    settings: Settings, database_url: str, handler: Any, *, force_concurrency: int | None = None
) -> list[MutableMapping[str, Any]]:
    """Run the jobs with a worker over a pool of its own; what it warned of while running.
    `force_concurrency` overrides the worker's own choice (to show what its cap prevents)."""
    database = Database(settings, database_url)
    await database.start()
    try:
        worker = Worker(database, settings, {JobType.EXPORT: handler})
        if force_concurrency is not None:
            worker.concurrency = force_concurrency
        if isinstance(handler, ReadersAllAtOnce):
            handler.worker = worker
        with structlog.testing.capture_logs() as logs:
            try:
                async with asyncio.timeout(60):
                    await worker.run_until_idle()
            finally:
                await worker.close()
    finally:
        await database.dispose()
    return [e for e in logs if e["log_level"] in ("warning", "error")]


class TestAPoolShortOfTwiceTheConcurrency:
    """LEEDZ_DB_POOL_SIZE + LEEDZ_DB_MAX_OVERFLOW of 4 for a concurrency of 4."""

    async def test_the_worker_runs_as_many_jobs_as_the_pool_holds_and_says_so(
        self, worker_settings: Settings, database_url: str
    ) -> None:
        settings = pool_of(worker_settings, 4, worker_concurrency=4)
        with structlog.testing.capture_logs() as logs:
            worker = Worker(Database(settings, database_url), settings, {})
        assert worker.concurrency == 4 // CONNECTIONS_PER_JOB == 2
        assert logs == [
            {
                "event": "worker_concurrency_capped",
                "log_level": "warning",
                "worker": worker.worker_id,
                "concurrency": 4,
                "running": 2,
                "pool": 4,
            }
        ]

    async def test_jobs_holding_a_long_read_and_a_batch_never_starve_each_other(
        self, owner: asyncpg.Connection, worker_settings: Settings, database_url: str
    ) -> None:
        settings = pool_of(worker_settings, 4, worker_concurrency=4)
        jobs = await export_jobs(owner, "p")
        handler = ReadersAllAtOnce()
        warnings = await run_all(settings, database_url, handler)
        assert handler.reading == 4
        for job_id in jobs:
            row = await job_row(owner, job_id)
            # Never a starved batch's acquire timeout, retried (worker_error) or failed.
            assert (row["status"], row["attempts"], row["error"]) == ("COMPLETED", 1, None)
        assert [e["event"] for e in warnings] == []

    async def test_real_exports_complete_at_their_first_attempt(
        self, owner: asyncpg.Connection, worker_settings: Settings, database_url: str
    ) -> None:
        settings = pool_of(worker_settings, 4, worker_concurrency=4)
        jobs = await export_jobs(owner, "e", leads=True)
        assert await run_all(settings, database_url, small_batches) == []
        for job_id in jobs:
            row = await job_row(owner, job_id)
            assert (row["status"], row["attempts"], row["error"]) == ("COMPLETED", 1, None)
            assert row["output"]["rows"] == LEADS


async def test_the_breaking_case_itself_without_the_cap(
    owner: asyncpg.Connection, worker_settings: Settings, database_url: str
) -> None:
    """What the cap prevents, shown: four jobs at once over four connections (the worker's
    concurrency forced past its cap), each holding its read, starve each other's batches."""
    settings = pool_of(worker_settings, 4, worker_concurrency=4)
    jobs = await export_jobs(owner, "s", max_attempts=1)
    handler = ReadersAllAtOnce()
    warnings = await run_all(settings, database_url, handler, force_concurrency=4)
    assert "worker_handler_crashed" in [e["event"] for e in warnings]
    rows = [await job_row(owner, job_id) for job_id in jobs]
    # The first batches to give up free their reads' connections for the others' batches.
    failed = [r for r in rows if r["status"] == "FAILED"]
    assert failed, [r["status"] for r in rows]
    assert {r["error"]["code"] for r in failed} == {"worker_error"}


async def test_the_same_jobs_with_the_pool_they_need_run_all_at_once(
    owner: asyncpg.Connection, worker_settings: Settings, database_url: str
) -> None:
    settings = pool_of(worker_settings, 8, worker_concurrency=4)
    jobs = await export_jobs(owner, "q")
    handler = ReadersAllAtOnce()
    assert await run_all(settings, database_url, handler) == []
    assert handler.worker is not None
    assert handler.worker.concurrency == 4
    for job_id in jobs:
        row = await job_row(owner, job_id)
        assert (row["status"], row["attempts"]) == ("COMPLETED", 1)


async def test_a_pool_that_cannot_hold_one_job_refuses_to_start(
    worker_settings: Settings, database_url: str
) -> None:
    settings = pool_of(worker_settings, 1)
    database = Database(settings, database_url)
    with pytest.raises(ConfigurationError, match="LEEDZ_DB_POOL_SIZE") as refused:
        Worker(database, settings, {JobType.EXPORT: small_batches})
    assert "two pooled database connections" in str(refused.value)
