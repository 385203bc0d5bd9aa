"""The worker: claims server-run jobs under leases and runs their handlers (docs/worker.md).

A worker finds the tenants with waiting jobs of the types it has handlers for (as the worker
role, which sees nothing else: migration 20261201_1800), then claims the most urgent job in one
of them, in that tenant's transaction, with FOR UPDATE SKIP LOCKED: any number of workers, in
any number of processes, never hold one job together. Each job runs in a task of its own, at
most `LEEDZ_WORKER_CONCURRENCY` at once, with its lease extended every third of its length;
losing the lease (the reaper released it: the worker froze, the database was away) cancels the
handler, and a batch it had open rolls back.

How a run ends: the handler's output → COMPLETED; `Cancelled(output)` → CANCELLED with it; a
`LeedzError` → FAILED with its code and message; anything else is a bug: logged, and the job is
requeued (keeping its checkpoint) while attempts remain, else FAILED. On shutdown no new batch
starts; what still runs after the grace period is cancelled (its open batch rolls back) and its
job requeued without counting the attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from leedz.access.roles import Role
from leedz.config import ConfigurationError, Settings
from leedz.errors import LeedzError, ValidationFailed
from leedz.jobs.events import JobsAvailable, JobUpdated
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.repository import wake_workers
from leedz.jobs.work import Cancelled, Handler, LeaseLost, ServerJob, creator_actor
from leedz.kit.db import Database, Tx
from leedz.worker.repository import ClaimedJobRow, Discovery, EndedRow, WorkerLeases
from leedz.worker.unit import LeasedUnit, WorkerStopping, json_within

log = structlog.get_logger("leedz.worker")

OUTPUT_MAX_BYTES = 51_200  # as an agent's (leases/service.py)
ENDING_TRIES = 3
# What a write may meet that another try can get past: the connection, not the statement.
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
TENANTS_PER_LOOK = 50
CONNECTIONS_PER_JOB = 2
"""Pooled connections a running job may hold at once: an export's long read, and a batch beside
it storing its progress."""


def default_worker_id() -> str:
    """`host:pid:random`, unique per worker (two in one process differ too)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Running:
    """A job this worker runs: its unit, the handler's task, why it was cancelled if it was."""

    unit: LeasedUnit
    task: asyncio.Task[None]
    handler: asyncio.Task[dict[str, Any] | Cancelled] | None = None
    lost: bool = False
    abandoned: bool = False


async def _call(handler: Handler, unit: LeasedUnit) -> dict[str, Any] | Cancelled:
    return await handler(unit)


def _problem(error: LeedzError, attempts: int) -> dict[str, Any]:
    return {"code": error.code, "message": error.detail, "attempts": attempts, **error.extra}


def _checked_output(output: object) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise ValidationFailed("A job's output is a JSON object")
    json_within(output, OUTPUT_MAX_BYTES, "job's output")
    return output


class Worker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        handlers: Mapping[JobType, Handler],
        worker_id: str | None = None,
    ) -> None:
        self.database = database
        self.handlers = dict(handlers)
        self.worker_id = worker_id or default_worker_id()
        self.role = settings.db_worker_role
        self.concurrency = _slots(settings.worker_concurrency, database.max_size, self.worker_id)
        self.lease_seconds = settings.worker_lease_seconds
        self.poll_seconds = settings.worker_poll_seconds
        self.grace_seconds = settings.worker_shutdown_grace_seconds
        self.types = sorted(t.value for t in self.handlers)
        self.running: dict[UUID, Running] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self.discovery = Discovery(database, role=self.role, on_notify=self.wake)
        database.bus.subscribe(JobsAvailable, self._jobs_available)

    # -- waking and stopping -----------------------------------------------------------------

    async def _jobs_available(self, event: JobsAvailable) -> None:
        if any(t in self.handlers for t in event.job_types):
            self.wake()

    def wake(self) -> None:
        """Look for jobs now rather than at the next poll."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def request_stop(self) -> None:
        """Claim nothing more and start no new batch; `run` then winds down and returns."""
        self._stopping = True
        for job in self.running.values():
            job.unit.stopping = True
        self._wake.set()

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim and run jobs until `request_stop`, then wind down (see the module docstring)."""
        log.info("worker_started", worker=self.worker_id, types=self.types)
        try:
            while not self._stopping:
                self._wake.clear()
                await self.fill()
                # Jitter: workers started together do not look in lockstep.
                timeout = self.poll_seconds * random.uniform(0.8, 1.2)  # noqa: S311
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            await self._wind_down()
        finally:
            await self.close()
        log.info("worker_stopped", worker=self.worker_id)

    async def close(self) -> None:
        """Close the worker's own connection (`run` does at its end)."""
        await self.discovery.close()

    async def fill(self) -> int:
        """Claim jobs while there are free slots and waiting jobs; how many were started."""
        started = 0
        while len(self.running) < self.concurrency and not self._stopping:
            try:
                claimed = await self.claim()
            except Exception as exc:  # the database may be away; the next look retries
                log.warning("worker_claim_failed", worker=self.worker_id, error=repr(exc))
                break
            if claimed is None:
                break
            self._start(*claimed)
            started += 1
        return started

    async def run_until_idle(self) -> None:
        """Run jobs until none is waiting and none runs (tests, one-off passes)."""
        while True:
            await self.fill()
            if not self.running:
                return
            await asyncio.wait(
                [job.task for job in self.running.values()], return_when=asyncio.FIRST_COMPLETED
            )

    async def _wind_down(self) -> None:
        self.request_stop()
        tasks = [job.task for job in self.running.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
            for job in list(self.running.values()):
                if job.task in pending and job.handler is not None:
                    job.abandoned = True
                    job.handler.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- claiming ------------------------------------------------------------------------------

    async def claim(self) -> tuple[ServerJob, ClaimedJobRow, Role] | None:
        """The next job this worker can run, under a new lease (None: nothing waiting)."""
        if not self.types:
            return None
        tenants = await self.discovery.tenants_with_waiting_jobs(self.types, TENANTS_PER_LOOK)
        for tenant_id in tenants:
            async with self.database.transaction(tenant_id=tenant_id) as tx:
                leases = WorkerLeases(tx)
                row = await leases.claim(
                    types=self.types, worker_id=self.worker_id, lease_seconds=self.lease_seconds
                )
                if row is None:
                    continue  # taken by another worker meanwhile
                job = ServerJob(
                    id=row.id,
                    tenant_id=tenant_id,
                    type=row.type,
                    input=row.input,
                    created_by_id=row.created_by_id,
                    attempts=row.attempts,
                    created_at=row.created_at,
                )
                role = await leases.member_role(row.created_by_id)
                if role is None:
                    ended = await leases.end(
                        job_id=row.id,
                        lease_id=row.lease_id,
                        status=JobStatus.FAILED,
                        output=None,
                        error=_creator_gone(row.attempts),
                    )
                    self._announce(tx, tenant_id, ended)
                    log.info("worker_job_failed", job=str(row.id), code="creator_not_member")
                    continue
                tx.publish(
                    JobUpdated(
                        tenant_id=tenant_id,
                        job_id=row.id,
                        status=JobStatus.RUNNING,
                        progress=row.progress,
                    )
                )
            return job, row, role
        return None

    # -- running one job ---------------------------------------------------------------------

    def _start(self, job: ServerJob, row: ClaimedJobRow, role: Role) -> None:
        unit = LeasedUnit(
            self.database,
            job=job,
            lease_id=row.lease_id,
            actor=creator_actor(job, role, self.worker_id),
            worker_id=self.worker_id,
            checkpoint=row.checkpoint,
            cancel_requested=row.cancel_requested,
            lease_seconds=self.lease_seconds,
        )
        unit.stopping = self._stopping
        task = asyncio.create_task(self._execute(unit), name=f"job-{job.id}")
        self.running[job.id] = Running(unit=unit, task=task)
        log.info(
            "worker_job_claimed",
            worker=self.worker_id,
            job=str(job.id),
            type=job.type.value,
            attempt=job.attempts,
            resumed=row.checkpoint is not None,
        )

    async def _execute(self, unit: LeasedUnit) -> None:
        job_id = unit.job.id
        running = self.running[job_id]
        handler = self.handlers[unit.job.type]
        running.handler = asyncio.create_task(_call(handler, unit), name=f"handler-{job_id}")
        keeper = asyncio.create_task(self._keep_lease(running), name=f"lease-{job_id}")
        try:
            await self._finish(running, running.handler, keeper)
        except Exception:  # ending it failed (database away): the lease runs out, the reaper acts
            log.exception("worker_job_end_failed", worker=self.worker_id, job=str(job_id))
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            del self.running[job_id]
            self._wake.set()  # a slot is free

    async def _finish(
        self,
        running: Running,
        handler: asyncio.Task[dict[str, Any] | Cancelled],
        keeper: asyncio.Task[None],
    ) -> None:
        unit = running.unit
        try:
            await asyncio.wait([handler])
        except asyncio.CancelledError:  # this task itself is cancelled: so is the handler
            handler.cancel()
            raise
        keeper.cancel()  # the lease is ended or let go from here on, never extended
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        job = str(unit.job.id)
        if handler.cancelled():
            if running.lost:
                log.warning("worker_lease_lost", worker=self.worker_id, job=job)
            else:  # abandoned past the shutdown grace: its open batch rolled back
                await self._release(unit, error=None, count_attempt=False)
            return
        failure = handler.exception()
        if failure is None:
            status, output, error = _outcome(handler.result(), unit.job.attempts)
            await self._end(unit, status=status, output=output, error=error)
        elif isinstance(failure, WorkerStopping):
            await self._release(unit, error=None, count_attempt=False)
        elif isinstance(failure, LeaseLost):
            log.warning("worker_lease_lost", worker=self.worker_id, job=job)
        elif isinstance(failure, LeedzError):
            await self._end(
                unit,
                status=JobStatus.FAILED,
                output=None,
                error=_problem(failure, unit.job.attempts),
            )
        else:
            log.error(
                "worker_handler_crashed",
                worker=self.worker_id,
                job=job,
                attempt=unit.job.attempts,
                exc_info=failure,
            )
            await self._release(
                unit,
                error={
                    "code": "worker_error",
                    "message": "The job failed unexpectedly; it is retried while attempts remain",
                    "attempts": unit.job.attempts,
                },
                count_attempt=True,
            )

    async def _keep_lease(self, running: Running) -> None:
        """Extend the lease every third of it and read cancel requests; a lost lease cancels
        the handler."""
        unit = running.unit
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                async with self.database.transaction(tenant_id=unit.job.tenant_id) as tx:
                    cancel = await WorkerLeases(tx).extend(
                        job_id=unit.job.id, lease_id=unit.lease_id, lease_seconds=self.lease_seconds
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away: try again, the lease may hold
                log.warning("worker_lease_extension_failed", job=str(unit.job.id), error=repr(exc))
                continue
            if cancel is None:
                running.lost = True
                if running.handler is not None:
                    running.handler.cancel()
                return
            unit.cancel_seen(cancel)

    async def _end(
        self,
        unit: LeasedUnit,
        *,
        status: JobStatus,
        output: dict[str, Any] | None,
        error: dict[str, Any] | None,
    ) -> None:

        async def write() -> EndedRow | None:
            async with self.database.transaction(tenant_id=unit.job.tenant_id) as tx:
                ended = await WorkerLeases(tx).end(
                    job_id=unit.job.id,
                    lease_id=unit.lease_id,
                    status=status,
                    output=output,
                    error=error,
                )
                self._announce(tx, unit.job.tenant_id, ended)
            return ended

        ended = await self._persist(unit, write)
        if ended is None:
            log.warning("worker_lease_lost", worker=self.worker_id, job=str(unit.job.id))
            return
        log.info(
            "worker_job_ended",
            worker=self.worker_id,
            job=str(unit.job.id),
            status=ended.status.value,
            code=error["code"] if error else None,
        )

    async def _release(
        self, unit: LeasedUnit, *, error: dict[str, Any] | None, count_attempt: bool
    ) -> None:

        async def write() -> EndedRow | None:
            async with self.database.transaction(tenant_id=unit.job.tenant_id) as tx:
                ended = await WorkerLeases(tx).release(
                    job_id=unit.job.id,
                    lease_id=unit.lease_id,
                    error=error,
                    count_attempt=count_attempt,
                )
                self._announce(tx, unit.job.tenant_id, ended)
                if ended is not None and ended.status is JobStatus.PENDING:
                    await wake_workers(tx)
            return ended

        ended = await self._persist(unit, write)
        log.info(
            "worker_job_released",
            worker=self.worker_id,
            job=str(unit.job.id),
            status=ended.status.value if ended else None,
        )

    async def _persist(
        self, unit: LeasedUnit, write: Callable[[], Awaitable[EndedRow | None]]
    ) -> EndedRow | None:
        """A job's ending write, tried again after a lost connection: given up, the lease runs
        out and the job resumes elsewhere from its checkpoint (its last batch done again)."""
        for attempt in range(1, ENDING_TRIES + 1):
            try:
                return await write()
            except TRANSIENT as exc:
                if attempt == ENDING_TRIES:
                    raise
                log.warning("worker_end_retried", job=str(unit.job.id), error=repr(exc))
                await asyncio.sleep(0.5 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _announce(tx: Tx, tenant_id: UUID, ended: EndedRow | None) -> None:
        if ended is None:
            return
        tx.publish(
            JobUpdated(
                tenant_id=tenant_id, job_id=ended.id, status=ended.status, progress=ended.progress
            )
        )
        if ended.status is JobStatus.PENDING:
            tx.publish(JobsAvailable(tenant_id=tenant_id, job_types=(ended.type,)))


def _slots(concurrency: int, pool: int, worker_id: str) -> int:
    """How many jobs the worker runs at once: the concurrency asked for, but never more than
    the pool holds `CONNECTIONS_PER_JOB` for. With fewer, every job could take its long read and
    then wait for its batch's connection, each behind the others, until the pool's acquire
    timeout failed them all; a pool too small for one job refuses the worker."""
    fits = pool // CONNECTIONS_PER_JOB
    if fits < 1:
        raise ConfigurationError(
            f"A worker needs two pooled database connections per job, and the pool holds {pool}"
            " (LEEDZ_DB_POOL_SIZE + LEEDZ_DB_MAX_OVERFLOW): raise them"
        )
    if fits < concurrency:
        log.warning(
            "worker_concurrency_capped",
            worker=worker_id,
            concurrency=concurrency,
            running=fits,
            pool=pool,
        )
    return min(concurrency, fits)


def _outcome(
    result: dict[str, Any] | Cancelled, attempts: int
) -> tuple[JobStatus, dict[str, Any] | None, dict[str, Any] | None]:
    """What a handler's result makes of the job: (status, output, error)."""
    try:
        if isinstance(result, Cancelled):
            return JobStatus.CANCELLED, _checked_output(result.output), None
        return JobStatus.COMPLETED, _checked_output(result), None
    except LeedzError as exc:
        return JobStatus.FAILED, None, _problem(exc, attempts)


def _creator_gone(attempts: int) -> dict[str, Any]:
    return {
        "code": "creator_not_member",
        "message": "The member who created this job is no longer in the workspace",
        "attempts": attempts,
    }
