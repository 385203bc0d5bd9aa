"""bulk_update: a BULK_STATUS_UPDATE of 100,000 leads by filter, against one raw UPDATE.

Subject: the job's handler (leedz.bulk.service.update_status) with the default batch of 1,000
leads, on a unit that does per batch what the worker's does besides the handler's work: a
transaction in the tenant as the job's creator (the request role under row-level security), the
job's row locked first (the lease check) and updated last (checkpoint and progress). Each batch
re-reads the selection (filter `status: [NEW]`), takes its next 1,000 leads in id order, sets
their status, version, `updated_at` and `edited_fields`, writes 1,000 timeline entries, and
publishes one socket event; the last writes the audit row.

Ceiling: one `UPDATE leads SET status, version, updated_at, last_activity_at WHERE status = NEW`
of the same rows, in one transaction with the same first statement (request role, tenant):
the row writes alone, no batches, no timeline.

Data: a tenant of its own (120,000 leads, 100,000 of them NEW) in the run's large data set, so
the table and its indexes hold the other tenants' leads as well and the other benchmarks' data
stays as loaded. Before each round, untimed, the same 100,000 leads are set back to NEW and
`leads` and `lead_activities` are vacuumed. 3 rounds a side, interleaved.
Target: subject rows/s >= 0.3 x ceiling rows/s.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr
from tests.support.scratch import asyncpg_dsn

from bench.harness import Result, Sample
from bench.leads_data import Datasets, Owner, TenantLoad, bench_size, load, signup
from leedz.access.roles import Role
from leedz.bulk import service as bulk
from leedz.config import Environment, Settings
from leedz.jobs.models import JobType
from leedz.jobs.work import ServerJob, UnitBase, creator_actor
from leedz.kit.db import Database, Tx

LEADS = 120_000
SELECTED = 100_000
ROUNDS = 3
BATCH = Settings.model_fields["bulk_batch_size"].default
JOB_INPUT = {"status": "CONTACTED", "filter": {"status": ["NEW"]}}


class BenchUnit(UnitBase):
    """A WorkUnit with the worker's per-batch statements around the handler's: the job's row
    locked first, its checkpoint and progress stored last, both in the batch's transaction."""

    def __init__(self, database: Database, owner: Owner, job_id: uuid.UUID) -> None:
        job = ServerJob(
            id=job_id,
            tenant_id=owner.tenant_id,
            type=JobType.BULK_STATUS_UPDATE,
            input=JOB_INPUT,
            created_by_id=owner.user_id,
            attempts=1,
            created_at=datetime.now(UTC),
        )
        super().__init__(database, job=job, actor=creator_actor(job, Role.OWNER), checkpoint=None)
        self._pending: tuple[dict[str, Any], int] | None = None
        self.batch_seconds: list[float] = []

    @property
    def cancel_requested(self) -> bool:
        return False

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Tx]:
        started = time.perf_counter()
        self._pending = None
        async with self._tx() as tx:
            await tx.raw.execute(
                "SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                self._job.tenant_id,
                self._job.id,
            )
            yield tx
            pending = self._saved()
            if pending is not None:
                checkpoint, progress = pending
                await tx.raw.execute(
                    "UPDATE jobs SET progress = $3, output = $4::jsonb"
                    " WHERE tenant_id = $1 AND id = $2",
                    self._job.tenant_id,
                    self._job.id,
                    progress,
                    json.dumps(checkpoint),
                )
        if pending is not None:
            self._checkpoint = pending[0]
        self.batch_seconds.append(time.perf_counter() - started)

    def _saved(self) -> tuple[dict[str, Any], int] | None:
        """What `save` was given in this batch (read after the handler's block)."""
        return self._pending

    def save(self, tx: Tx, *, checkpoint: dict[str, Any], progress: int) -> None:
        self._pending = (checkpoint, progress)


async def _tenant(url: str, result: Result) -> tuple[Owner, list[uuid.UUID]]:
    """A tenant of LEADS leads; the SELECTED first live ones by id are the ones every round
    selects (the loader puts some leads in the trash)."""
    (owner,) = await signup(url, [f"owner-{uuid.uuid4().hex[:6]}@bulk.example"])
    stats = await load(
        url, [TenantLoad(owner.tenant_id, owner.user_id, LEADS, seed=11)], rebuild_indexes=False
    )
    result.notes.append(f"the bulk tenant's load: {stats.summary()}")
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM leads WHERE tenant_id = $1"
            " AND deleted_at IS NULL AND merged_into_id IS NULL ORDER BY id LIMIT $2",
            owner.tenant_id,
            SELECTED,
        )
        selected = [r["id"] for r in rows]
        await conn.execute(
            "UPDATE leads SET status = 'WON' WHERE tenant_id = $1 AND status = 'NEW'",
            owner.tenant_id,
        )
    finally:
        await conn.close()
    return owner, selected


async def _reset(url: str, owner: Owner, selected: list[uuid.UUID]) -> uuid.UUID:
    """The selection NEW again, the tables vacuumed; a fresh job row for the next round."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE leads SET status = 'NEW' WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            owner.tenant_id,
            selected,
        )
        await conn.execute("VACUUM (ANALYZE) leads, lead_activities, jobs")
        job_id: uuid.UUID = await conn.fetchval(
            "INSERT INTO jobs (tenant_id, type, input, created_by_id)"
            " VALUES ($1, 'BULK_STATUS_UPDATE', $2::jsonb, $3) RETURNING id",
            owner.tenant_id,
            json.dumps(JOB_INPUT),
            owner.user_id,
        )
        return job_id
    finally:
        await conn.close()


async def _subject(database: Database, owner: Owner, job_id: uuid.UUID) -> Sample:
    unit = BenchUnit(database, owner, job_id)
    started = time.perf_counter()
    output = await bulk.update_status(unit, batch_size=BATCH)
    elapsed = time.perf_counter() - started
    if output != {"matched": SELECTED, "changed": SELECTED}:
        raise AssertionError(f"the job did {output}, not all {SELECTED:,} leads")
    batches = sorted(unit.batch_seconds)
    return Sample(
        ops_per_second=SELECTED / elapsed,
        p50_ms=batches[len(batches) // 2] * 1000,
        p99_ms=batches[int(len(batches) * 0.99)] * 1000,
    )


async def _ceiling(database: Database, owner: Owner) -> Sample:
    started = time.perf_counter()
    async with database.transaction(tenant_id=owner.tenant_id, user_id=owner.user_id) as tx:
        status = await tx.raw.execute(
            "UPDATE leads SET status = 'CONTACTED', version = version + 1,"
            " updated_at = now(), last_activity_at = now()"
            " WHERE tenant_id = $1 AND status = 'NEW'"
            " AND deleted_at IS NULL AND merged_into_id IS NULL",
            owner.tenant_id,
        )
    elapsed = time.perf_counter() - started
    if status != f"UPDATE {SELECTED}":
        raise AssertionError(f"the ceiling's UPDATE answered {status}")
    return Sample(ops_per_second=SELECTED / elapsed, p50_ms=elapsed * 1000, p99_ms=elapsed * 1000)


async def _measure(url: str, result: Result) -> None:
    owner, selected = await _tenant(url, result)
    settings = Settings(
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="leedz-bench-")),
        jwt_secret=SecretStr("bench-bulk-" + "s" * 40),
        log_level="WARNING",
        # One batch of the ceiling's size must not hit the request timeout.
        db_statement_timeout_ms=120_000,
    )
    database = Database(settings, url)
    await database.start()
    try:
        # Warm-up: one run of each, not counted.
        await _subject(database, owner, await _reset(url, owner, selected))
        await _reset(url, owner, selected)
        await _ceiling(database, owner)
        for _ in range(ROUNDS):
            job_id = await _reset(url, owner, selected)
            result.subject_samples.append(await _subject(database, owner, job_id))
            await _reset(url, owner, selected)
            result.ceiling_samples.append(await _ceiling(database, owner))
    finally:
        await database.dispose()
    batch_p50 = sorted(s.p50_ms for s in result.subject_samples)[len(result.subject_samples) // 2]
    result.notes.append(
        f"{SELECTED:,} of a tenant's {LEADS:,} leads, batches of {BATCH:,}"
        f" (p50 {batch_p50:.0f} ms a batch, timeline entries included); the ops/s are rows/s"
    )


def main(datasets: Datasets) -> Result:
    dataset = datasets.get(bench_size())
    result = Result(
        name="bulk_update",
        subject=f"BULK_STATUS_UPDATE handler, {SELECTED:,} leads by filter",
        ceiling="one raw UPDATE of the same rows (request role, RLS)",
        target_ratio=0.3,
    )
    asyncio.run(_measure(asyncpg_dsn(dataset.url), result))
    result.notes.append(
        f"data set: {dataset.leads:,} leads in each of the other two tenants of the database"
    )
    return result
