"""The worker against a real database: claim, batches, fencing, cancel, failures, RLS."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from leedz.access.context import Actor, RequestMeta
from leedz.access.roles import Role
from leedz.errors import ValidationFailed
from leedz.jobs import service as jobs_service
from leedz.jobs.events import JobUpdated
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.work import Cancelled, LeaseLost, WorkUnit, creator_actor
from leedz.kit.db import Database
from leedz.leases.reaper import LeaseReaper
from leedz.worker.unit import LeasedUnit
from tests.support.databases import APP_ROLE
from tests.worker.conftest import MakeWorker
from tests.worker.support import (
    LeadWriter,
    Member,
    add_job,
    add_user,
    create_tenant,
    expected_names,
    job_row,
    lead_names,
)

BULK = JobType.BULK_STATUS_UPDATE


async def expire_and_reap(owner: asyncpg.Connection, db: Database) -> int:
    """The lease runs out (shortened) and the reaper releases it."""
    await owner.execute(
        "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE status = 'RUNNING'"
    )
    return await LeaseReaper(db, role=f"{APP_ROLE}_reaper", interval=1).reap_once()


async def cancel_as(db: Database, member: Member, job_id: uuid.UUID) -> None:
    """The creator cancels the job through the service, as POST /v1/jobs/{id}/cancel does."""
    actor = Actor(
        user_id=member.user_id,
        tenant_id=member.tenant_id,
        role=Role.OWNER,
        token_id=uuid.uuid4(),
        meta=RequestMeta(ip=None, user_agent=None, request_id=None),
    )
    async with db.transaction(tenant_id=member.tenant_id, user_id=member.user_id) as tx:
        await jobs_service.cancel(tx, actor, job_id)


class TestRun:
    async def test_claims_runs_in_batches_and_completes(
        self, owner: asyncpg.Connection, db: Database, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        seen: list[JobUpdated] = []

        async def record(event: JobUpdated) -> None:
            seen.append(event)

        db.bus.subscribe(JobUpdated, record)
        writer = LeadWriter(rows=10, per_batch=4)
        worker = make_worker({BULK: writer})
        await worker.run_until_idle()
        row = await job_row(owner, job_id)
        assert row["status"] == "COMPLETED"
        assert row["output"] == {"written": 10, "resumedAt": 0}
        assert (row["progress"], row["attempts"], row["agent_id"]) == (100, 1, None)
        assert row["worker_id"] == worker.worker_id
        assert row["checkpoint"] == {"next": 10}
        assert row["error"] is None
        assert await lead_names(owner, boss.tenant_id) == expected_names(job_id, 10)
        # The web app hears it as it hears agent jobs: RUNNING, each batch's progress, the end.
        assert [(e.status, e.progress) for e in seen if e.job_id == job_id] == [
            (JobStatus.RUNNING, 0),
            (JobStatus.RUNNING, 40),
            (JobStatus.RUNNING, 80),
            (JobStatus.RUNNING, 100),
            (JobStatus.COMPLETED, 100),
        ]

    async def test_types_without_a_handler_and_agent_jobs_are_left_alone(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        export = await add_job(owner, boss, job_type="EXPORT", job_input={"format": "CSV"})
        search = await add_job(owner, boss, job_type="SEARCH", job_input={"query": "q"})
        await make_worker({BULK: LeadWriter(rows=1, per_batch=1)}).run_until_idle()
        for job_id in (export, search):
            assert (await job_row(owner, job_id))["status"] == "PENDING"
        assert await make_worker({}).claim() is None

    async def test_tenants_by_age_priority_within_a_tenant(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        """A job's priority is its creator's to set, so it orders that tenant's jobs only:
        across tenants the oldest waiting job goes first (one tenant's urgent jobs never
        starve another's)."""
        a, b = await create_tenant(owner, "a"), await create_tenant(owner, "b")
        first = await add_job(owner, a)
        urgent = await add_job(owner, b, priority=10)
        a_urgent = await add_job(owner, a, priority=5)
        worker = make_worker({BULK: LeadWriter(rows=1, per_batch=1)})
        claimed = [await worker.claim() for _ in range(4)]
        assert [c[0].id if c else None for c in claimed] == [a_urgent, first, urgent, None]


class TestFencing:
    async def test_a_stale_units_batch_changes_nothing(
        self, owner: asyncpg.Connection, db: Database, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        writer = LeadWriter(rows=10, per_batch=5)
        worker = make_worker({BULK: writer})
        claimed = await worker.claim()
        assert claimed is not None
        job, row, role = claimed
        stale = LeasedUnit(
            db,
            job=job,
            lease_id=row.lease_id,
            actor=creator_actor(job, role, worker.worker_id),
            worker_id=worker.worker_id,
            checkpoint=None,
            cancel_requested=False,
            lease_seconds=3,
        )
        async with stale.batch() as tx:  # one batch while it holds the lease
            await tx.raw.execute(
                "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'kept', 'IMPORT')",
                job.tenant_id,
            )
            stale.save(tx, checkpoint={"next": 5}, progress=50)
        assert await expire_and_reap(owner, db) == 1
        released = await job_row(owner, job_id)
        # Back to PENDING for another worker, its checkpoint and progress kept.
        assert (released["status"], released["checkpoint"], released["progress"]) == (
            "PENDING",
            {"next": 5},
            50,
        )
        assert released["worker_id"] is None
        assert released["error"]["code"] == "lease_expired"
        with pytest.raises(LeaseLost):
            await _write_one(stale, "stale")
        assert stale.checkpoint == {"next": 5}
        # The next worker resumes where the committed batch left off.
        again = make_worker({BULK: writer})
        await again.run_until_idle()
        done = await job_row(owner, job_id)
        assert (done["status"], done["attempts"], done["output"]) == (
            "COMPLETED",
            2,
            {"written": 10, "resumedAt": 5},
        )
        assert done["worker_id"] == again.worker_id
        names = await lead_names(owner, boss.tenant_id)
        assert names == sorted(["kept", *expected_names(job_id, 10)[5:]])
        # The stale unit cannot end the job either.
        await worker._end(stale, status=JobStatus.FAILED, output=None, error={"code": "x"})
        assert (await job_row(owner, job_id))["status"] == "COMPLETED"

    async def test_a_lost_lease_cancels_the_handler(
        self, owner: asyncpg.Connection, db: Database, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        started, stopped = asyncio.Event(), asyncio.Event()

        async def slow(unit: WorkUnit) -> dict[str, Any]:
            started.set()
            try:
                await asyncio.sleep(60)
            finally:
                stopped.set()
            return {}

        worker = make_worker({BULK: slow})
        assert await worker.fill() == 1
        await started.wait()
        await expire_and_reap(owner, db)
        # The next extension (every lease/3 = 1 s) finds the lease gone.
        await asyncio.wait_for(stopped.wait(), timeout=5)
        tasks = [job.task for job in worker.running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        assert worker.running == {}
        row = await job_row(owner, job_id)
        assert (row["status"], row["output"], row["error"]["code"]) == (
            "PENDING",
            None,
            "lease_expired",
        )

    async def test_the_lease_is_extended_while_the_handler_works(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)

        async def slow(unit: WorkUnit) -> dict[str, Any]:
            await asyncio.sleep(4)  # longer than the 3 s lease
            return {"ok": True}

        worker = make_worker({BULK: slow})
        await worker.fill()
        first = (await job_row(owner, job_id))["lease_expires_at"]
        await asyncio.sleep(1.5)
        assert (await job_row(owner, job_id))["lease_expires_at"] > first
        await worker.run_until_idle()
        assert (await job_row(owner, job_id))["status"] == "COMPLETED"


class TestCancel:
    async def test_cancel_between_batches_keeps_what_was_done(
        self, owner: asyncpg.Connection, db: Database, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        writer = LeadWriter(rows=10, per_batch=2)

        async def cancelled_after_two(unit: WorkUnit) -> dict[str, Any] | Cancelled:
            inner = _StopAfter(unit, batches=2, then=lambda: cancel_as(db, boss, job_id))
            return await writer(inner)

        await make_worker({BULK: cancelled_after_two}).run_until_idle()
        row = await job_row(owner, job_id)
        assert (row["status"], row["output"], row["progress"]) == (
            "CANCELLED",
            {"written": 4},
            40,
        )
        assert row["error"] is None
        assert row["completed_at"] is not None
        assert await lead_names(owner, boss.tenant_id) == expected_names(job_id, 4)

    async def test_a_job_cancelled_while_pending_is_never_claimed(
        self, owner: asyncpg.Connection, db: Database, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        await cancel_as(db, boss, job_id)
        assert await make_worker({BULK: LeadWriter(rows=1, per_batch=1)}).claim() is None


class _StopAfter:
    """A unit that runs `then` (a user's cancel) once `batches` batches have committed."""

    def __init__(self, unit: WorkUnit, *, batches: int, then: Any) -> None:
        self._unit, self._left, self._then = unit, batches, then

    def __getattr__(self, name: str) -> Any:
        return getattr(self._unit, name)

    @property
    def cancel_requested(self) -> bool:
        return self._unit.cancel_requested

    def batch(self) -> Any:
        outer = self

        class Batch:
            async def __aenter__(self) -> Any:
                self.inner = outer._unit.batch()
                return await self.inner.__aenter__()

            async def __aexit__(self, *exc: Any) -> Any:
                result = await self.inner.__aexit__(*exc)
                outer._left -= 1
                if outer._left == 0:
                    await outer._then()
                return result

        return Batch()


class TestFailures:
    async def test_a_leedz_error_fails_the_job_with_its_code(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)

        async def refuses(unit: WorkUnit) -> dict[str, Any]:
            async with unit.batch() as tx:
                await tx.raw.execute(
                    "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'one', 'IMPORT')",
                    unit.job.tenant_id,
                )
                unit.save(tx, checkpoint={"next": 1}, progress=10)
            async with unit.batch() as tx:  # rolled back with the error
                await tx.raw.execute(
                    "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'two', 'IMPORT')",
                    unit.job.tenant_id,
                )
                raise ValidationFailed("The file has no header row", field="fileId")

        await make_worker({BULK: refuses}).run_until_idle()
        row = await job_row(owner, job_id)
        assert row["status"] == "FAILED"
        assert row["error"] == {
            "code": "validation_error",
            "message": "The file has no header row",
            "attempts": 1,
            "field": "fileId",
        }
        assert (row["attempts"], row["progress"], row["checkpoint"]) == (1, 10, {"next": 1})
        assert await lead_names(owner, boss.tenant_id) == ["one"]

    async def test_an_unexpected_error_is_retried_then_fails(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss, max_attempts=3)
        calls: list[int] = []

        async def broken(unit: WorkUnit) -> dict[str, Any]:
            calls.append(unit.job.attempts)
            raise RuntimeError("a bug")

        await make_worker({BULK: broken}).run_until_idle()
        row = await job_row(owner, job_id)
        assert calls == [1, 2, 3]
        assert (row["status"], row["attempts"]) == ("FAILED", 3)
        assert row["error"]["code"] == "worker_error"
        assert "a bug" not in row["error"]["message"]  # internals stay in the logs

    async def test_a_retry_resumes_from_the_checkpoint(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        writer = LeadWriter(rows=9, per_batch=3)

        async def flaky(unit: WorkUnit) -> dict[str, Any] | Cancelled:
            if unit.job.attempts == 1:
                await writer(_StopAfter(unit, batches=2, then=_crash))
            return await writer(unit)

        await make_worker({BULK: flaky}).run_until_idle()
        row = await job_row(owner, job_id)
        assert (row["status"], row["attempts"], row["output"]) == (
            "COMPLETED",
            2,
            {"written": 9, "resumedAt": 6},
        )
        assert await lead_names(owner, boss.tenant_id) == expected_names(job_id, 9)

    async def test_a_creator_no_longer_member_fails_the_job(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        leaver = await add_user(owner, boss.tenant_id, "leaver", role="MANAGER")
        before = await add_job(owner, leaver)
        await owner.execute("DELETE FROM memberships WHERE user_id = $1", leaver.user_id)
        writer = LeadWriter(rows=4, per_batch=1)
        await make_worker({BULK: writer}).run_until_idle()
        row = await job_row(owner, before)
        assert (row["status"], row["error"]["code"]) == ("FAILED", "creator_not_member")
        assert writer.calls == 0

    async def test_a_creator_removed_mid_job_fails_it_at_the_next_batch(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        leaver = await add_user(owner, boss.tenant_id, "leaver", role="MANAGER")
        job_id = await add_job(owner, leaver)

        async def remove() -> None:
            await owner.execute("DELETE FROM memberships WHERE user_id = $1", leaver.user_id)

        writer = LeadWriter(rows=4, per_batch=1)

        async def handler(unit: WorkUnit) -> dict[str, Any] | Cancelled:
            return await writer(_StopAfter(unit, batches=2, then=remove))

        await make_worker({BULK: handler}).run_until_idle()
        row = await job_row(owner, job_id)
        assert (row["status"], row["error"]["code"]) == ("FAILED", "creator_not_member")
        assert len(await lead_names(owner, boss.tenant_id)) == 2

    async def test_an_output_that_cannot_be_stored_fails_the_job(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)

        async def huge(unit: WorkUnit) -> dict[str, Any]:
            return {"x": "y" * 60_000}

        await make_worker({BULK: huge}).run_until_idle()
        row = await job_row(owner, job_id)
        assert (row["status"], row["error"]["code"], row["output"]) == (
            "FAILED",
            "validation_error",
            None,
        )


async def _write_one(unit: LeasedUnit, name: str) -> None:
    async with unit.batch() as tx:
        await tx.raw.execute(
            "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, $2, 'IMPORT')",
            unit.job.tenant_id,
            name,
        )
        unit.save(tx, checkpoint={"next": 99}, progress=99)


async def _crash() -> None:
    raise RuntimeError("killed after two batches")


class TestActsAsTheCreator:
    async def test_a_sales_creator_sees_only_their_leads(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        sales = await add_user(owner, boss.tenant_id, "sales", role="SALES")
        await owner.execute(
            "UPDATE tenants SET sales_see_all_leads = false WHERE id = $1", boss.tenant_id
        )
        for name, owner_id in (("mine", sales.user_id), ("boss's", boss.user_id), ("free", None)):
            await owner.execute(
                "INSERT INTO leads (tenant_id, name, source_type, owner_id)"
                " VALUES ($1, $2, 'MANUAL', $3)",
                boss.tenant_id,
                name,
                owner_id,
            )
        job_id = await add_job(owner, sales)

        async def count(unit: WorkUnit) -> dict[str, Any]:
            assert unit.actor.role is Role.SALES
            assert unit.actor.user_id == sales.user_id
            async with unit.batch() as tx:
                seen = await tx.raw.fetch("SELECT name FROM leads ORDER BY name")
                changed = await tx.raw.execute("UPDATE leads SET status = 'WON'")
            async with unit.read() as tx:
                read = await tx.raw.fetchval("SELECT count(*) FROM leads")
            return {"seen": [r["name"] for r in seen], "changed": changed, "read": read}

        await make_worker({BULK: count}).run_until_idle()
        row = await job_row(owner, job_id)
        assert row["output"] == {"seen": ["free", "mine"], "changed": "UPDATE 2", "read": 2}
        won = await owner.fetch("SELECT name FROM leads WHERE status = 'WON' ORDER BY name")
        assert [r["name"] for r in won] == ["free", "mine"]

    async def test_a_worker_acting_for_one_tenant_never_touches_another(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        a, b = await create_tenant(owner, "a"), await create_tenant(owner, "b")
        victim: uuid.UUID = await owner.fetchval(
            "INSERT INTO leads (tenant_id, name, source_type) VALUES ($1, 'b', 'MANUAL')"
            " RETURNING id",
            b.tenant_id,
        )
        b_job = await add_job(owner, b, job_type="EXPORT", job_input={"format": "CSV"})
        job_id = await add_job(owner, a)

        async def greedy(unit: WorkUnit) -> dict[str, Any]:
            async with unit.batch() as tx:
                by_id = await tx.raw.fetchval("SELECT count(*) FROM leads WHERE id = $1", victim)
                updated = await tx.raw.execute("UPDATE leads SET name = 'taken'")
                jobs = await tx.raw.fetchval("SELECT count(*) FROM jobs")
                with pytest.raises(asyncpg.PostgresError):
                    async with tx.raw.transaction():  # a savepoint
                        await tx.raw.execute(
                            "INSERT INTO leads (tenant_id, name, source_type)"
                            " VALUES ($1, 'planted', 'MANUAL')",
                            b.tenant_id,
                        )
            return {"byId": by_id, "updated": updated, "jobs": jobs}

        await make_worker({BULK: greedy}).run_until_idle()
        assert (await job_row(owner, job_id))["output"] == {
            "byId": 0,
            "updated": "UPDATE 0",
            "jobs": 1,
        }
        assert await lead_names(owner, b.tenant_id) == ["b"]
        assert (await job_row(owner, b_job))["status"] == "PENDING"


class TestShutdown:
    async def test_stopping_ends_the_current_batch_and_gives_the_job_back(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        writer = LeadWriter(rows=20, per_batch=2, pause=0.2)
        worker = make_worker({BULK: writer})
        running = asyncio.create_task(worker.run())
        for _ in range(100):
            if (await job_row(owner, job_id))["checkpoint"]:
                break
            await asyncio.sleep(0.05)
        worker.request_stop()
        await asyncio.wait_for(running, timeout=10)
        row = await job_row(owner, job_id)
        # Not counted as an attempt: a deploy is not the job's fault.
        assert (row["status"], row["attempts"], row["worker_id"]) == ("PENDING", 0, None)
        written = row["checkpoint"]["next"]
        assert 2 <= written < 20
        assert await lead_names(owner, boss.tenant_id) == expected_names(job_id, written)

    async def test_past_the_grace_the_open_batch_rolls_back(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        boss = await create_tenant(owner, "a")
        job_id = await add_job(owner, boss)
        writer = LeadWriter(rows=4, per_batch=2, pause=30)
        worker = make_worker({BULK: writer}, worker_shutdown_grace_seconds=0.2)
        running = asyncio.create_task(worker.run())
        for _ in range(100):
            if (await job_row(owner, job_id))["status"] == "RUNNING":
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # inside its first batch, sleeping
        worker.request_stop()
        await asyncio.wait_for(running, timeout=10)
        row = await job_row(owner, job_id)
        assert (row["status"], row["attempts"], row["checkpoint"]) == ("PENDING", 0, None)
        assert await lead_names(owner, boss.tenant_id) == []


class TestTwoWorkers:
    async def test_two_workers_never_hold_one_job(
        self, owner: asyncpg.Connection, make_worker: MakeWorker
    ) -> None:
        tenants = [await create_tenant(owner, f"t{i}") for i in range(3)]
        jobs = [await add_job(owner, tenants[i % 3]) for i in range(30)]
        holding: set[uuid.UUID] = set()
        runs: list[tuple[uuid.UUID, str]] = []
        overlaps: list[uuid.UUID] = []

        async def once(unit: WorkUnit) -> dict[str, Any]:
            if unit.job.id in holding:
                overlaps.append(unit.job.id)
            holding.add(unit.job.id)
            try:
                async with unit.batch() as tx:
                    await tx.raw.execute(
                        "INSERT INTO leads (tenant_id, name, source_type)"
                        " VALUES ($1, $2, 'IMPORT')",
                        unit.job.tenant_id,
                        str(unit.job.id),
                    )
                    await asyncio.sleep(0.01)
                runs.append((unit.job.id, unit.actor.meta.user_agent or ""))
            finally:
                holding.discard(unit.job.id)
            return {}

        first = make_worker({BULK: once}, worker_concurrency=3)
        second = make_worker({BULK: once}, worker_concurrency=3)
        await asyncio.gather(first.run_until_idle(), second.run_until_idle())
        assert overlaps == []
        assert sorted(job_id for job_id, _ in runs) == sorted(jobs)
        statuses = await owner.fetch("SELECT status, attempts FROM jobs")
        assert {(r["status"], r["attempts"]) for r in statuses} == {("COMPLETED", 1)}
        names = await owner.fetch("SELECT name FROM leads")
        assert sorted(r["name"] for r in names) == sorted(str(j) for j in jobs)
        done_by = await owner.fetch("SELECT DISTINCT worker_id FROM jobs")
        assert {r["worker_id"] for r in done_by} <= {first.worker_id, second.worker_id}


class TestEndingWrites:
    async def test_a_lost_connection_is_tried_again_a_statement_error_is_not(
        self, make_worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(asyncio, "sleep", _no_sleep)
        worker = make_worker({})
        unit: Any = type("U", (), {"job": type("J", (), {"id": uuid.uuid4()})()})()
        tries: list[int] = []

        async def flaky() -> None:
            tries.append(1)
            if len(tries) < 3:
                raise ConnectionResetError("gone")

        assert await worker._persist(unit, flaky) is None
        assert len(tries) == 3
        tries.clear()

        async def always() -> None:
            tries.append(1)
            raise ConnectionResetError("gone")

        with pytest.raises(ConnectionResetError):
            await worker._persist(unit, always)
        assert len(tries) == 3
        tries.clear()

        async def wrong() -> None:
            tries.append(1)
            raise asyncpg.CheckViolationError("no")

        with pytest.raises(asyncpg.CheckViolationError):
            await worker._persist(unit, wrong)
        assert len(tries) == 1


async def _no_sleep(_: float) -> None:
    return None
