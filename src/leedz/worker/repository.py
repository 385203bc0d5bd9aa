"""The worker's SQL. A worker's lease is (job, lease_id) on a RUNNING server-run job, with
`worker_id` naming the process and `agent_id` NULL; every statement under a lease matches the
lease id and RUNNING, so a stale unit (its lease released by the reaper, the job finished)
changes nothing: fencing, as for agents (leases/repository.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from leedz.access.roles import Role
from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.repository import WAKE_CHANNEL
from leedz.kit.db import Database
from leedz.kit.repository import TenantRepository


@dataclass(frozen=True, slots=True)
class ClaimedJobRow:
    """A server-run job just claimed under a new lease."""

    id: UUID
    type: JobType
    input: dict[str, Any]
    created_by_id: UUID
    attempts: int
    max_attempts: int
    lease_id: UUID
    lease_expires_at: datetime
    checkpoint: dict[str, Any] | None
    progress: int
    cancel_requested: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HeldRow:
    """The job's state seen under the lease: whether a user asked to cancel, and its creator's
    role now (None: no longer a member of the tenant)."""

    cancel_requested: bool
    creator_role: Role | None


@dataclass(frozen=True, slots=True)
class SavedRow:
    progress: int
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class EndedRow:
    """A job the worker let go of, or ended: its status and progress now."""

    id: UUID
    type: JobType
    status: JobStatus
    progress: int


def _ended(row: asyncpg.Record) -> EndedRow:
    return EndedRow(
        id=row["id"],
        type=JobType(row["type"]),
        status=JobStatus(row["status"]),
        progress=row["progress"],
    )


# The next PENDING job of the types ($2), priority then age, under a new lease of $4 seconds for
# worker $3. SKIP LOCKED: concurrent claims (other workers) never wait on each other and never
# get the same job. A job that has a checkpoint keeps its progress: the worker resumes it.
CLAIM_SQL = (
    "WITH next AS ("
    " SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'PENDING'"
    " AND type = ANY($2::text[]::job_type[])"
    " ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET status = 'RUNNING', worker_id = $3, lease_id = gen_random_uuid(),"
    " lease_expires_at = now() + make_interval(secs => $4), attempts = j.attempts + 1,"
    " started_at = now(), progress = CASE WHEN j.checkpoint IS NULL THEN 0 ELSE j.progress END,"
    " updated_at = now()"
    " FROM next WHERE j.tenant_id = $1 AND j.id = next.id"
    " RETURNING j.id, j.type, j.input, j.created_by_id, j.attempts, j.max_attempts, j.lease_id,"
    " j.lease_expires_at, j.checkpoint, j.progress,"
    " j.cancel_requested_at IS NOT NULL AS cancel_requested, j.created_at"
)

# A user's cancel stops extending the lease (as for agents): the job ends CANCELLED at the
# latest when the lease runs out, should the handler not stop by itself.
_EXTENDED = (
    "CASE WHEN cancel_requested_at IS NOT NULL THEN lease_expires_at"
    " ELSE now() + make_interval(secs => $3) END"
)
_HELD = "tenant_id = $1 AND id = $2 AND lease_id = $4 AND status = 'RUNNING'"


class WorkerLeases(TenantRepository):
    async def claim(
        self, *, types: list[str], worker_id: str, lease_seconds: int
    ) -> ClaimedJobRow | None:
        row = await self.fetchrow(CLAIM_SQL, types, worker_id, lease_seconds)
        if row is None:
            return None
        return ClaimedJobRow(**{**row, "type": JobType(row["type"]), "input": row["input"] or {}})

    async def member_role(self, user_id: UUID) -> Role | None:
        role = await self.fetchval(
            "SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2", user_id
        )
        return Role(role) if role is not None else None

    async def hold(self, *, job_id: UUID, lease_id: UUID) -> HeldRow | None:
        """Lock the job for this transaction if the lease is still held (else None): a batch's
        first statement, so that its work and the lease commit together."""
        row = await self.fetchrow(
            "SELECT j.cancel_requested_at IS NOT NULL AS cancel_requested, m.role"
            " FROM jobs j LEFT JOIN memberships m"
            " ON m.tenant_id = j.tenant_id AND m.user_id = j.created_by_id"
            " WHERE j.tenant_id = $1 AND j.id = $2 AND j.lease_id = $3 AND j.status = 'RUNNING'"
            " FOR UPDATE OF j",
            job_id,
            lease_id,
        )
        if row is None:
            return None
        role = row["role"]
        return HeldRow(
            cancel_requested=row["cancel_requested"],
            creator_role=Role(role) if role is not None else None,
        )

    async def save(
        self,
        *,
        job_id: UUID,
        lease_id: UUID,
        lease_seconds: int,
        checkpoint: dict[str, Any] | None,
        progress: int | None,
    ) -> SavedRow | None:
        """Store a batch's checkpoint and progress (each None: unchanged) and extend the lease;
        None if the lease is not held."""
        row = await self.fetchrow(
            f"UPDATE jobs SET lease_expires_at = {_EXTENDED},"
            " checkpoint = coalesce($5::jsonb, checkpoint), progress = coalesce($6, progress),"
            f" updated_at = now() WHERE {_HELD}"
            " RETURNING progress, cancel_requested_at IS NOT NULL AS cancel_requested",
            job_id,
            lease_seconds,
            lease_id,
            json.dumps(checkpoint) if checkpoint is not None else None,
            progress,
        )
        return SavedRow(**row) if row is not None else None

    async def extend(self, *, job_id: UUID, lease_id: UUID, lease_seconds: int) -> bool | None:
        """Extend the lease; whether a user asked to cancel, None if the lease is not held."""
        cancel: bool | None = await self.fetchval(
            f"UPDATE jobs SET lease_expires_at = {_EXTENDED}, updated_at = now()"
            f" WHERE {_HELD} RETURNING cancel_requested_at IS NOT NULL",
            job_id,
            lease_seconds,
            lease_id,
        )
        return cancel

    async def end(
        self,
        *,
        job_id: UUID,
        lease_id: UUID,
        status: JobStatus,
        output: dict[str, Any] | None,
        error: dict[str, Any] | None,
    ) -> EndedRow | None:
        """COMPLETED (progress 100), CANCELLED or FAILED under the lease; None if not held. The
        lease id stays on the job: it records which lease ended it."""
        row = await self.fetchrow(
            "UPDATE jobs SET status = $3::text::job_status,"
            " progress = CASE WHEN $3 = 'COMPLETED' THEN 100 ELSE progress END,"
            " output = coalesce($5::jsonb, output), error = coalesce($6::jsonb, error),"
            " completed_at = now(), lease_expires_at = NULL, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND lease_id = $4 AND status = 'RUNNING'"
            " RETURNING id, type, status, progress",
            job_id,
            status.value,
            lease_id,
            json.dumps(output) if output is not None else None,
            json.dumps(error) if error is not None else None,
        )
        return _ended(row) if row is not None else None

    async def release(
        self, *, job_id: UUID, lease_id: UUID, error: dict[str, Any] | None, count_attempt: bool
    ) -> EndedRow | None:
        """Let go of the lease: CANCELLED if a user asked, FAILED after the last attempt, else
        PENDING again for another worker, keeping the checkpoint (and the progress with it).
        Without `count_attempt` (a worker shutting down) the attempt is given back."""
        row = await self.fetchrow(
            "UPDATE jobs SET attempts = CASE WHEN $4 THEN attempts ELSE attempts - 1 END,"
            " status = (CASE WHEN cancel_requested_at IS NOT NULL THEN 'CANCELLED'"
            " WHEN $4 AND attempts >= max_attempts THEN 'FAILED' ELSE 'PENDING' END)::job_status,"
            " error = coalesce($5::jsonb, error),"
            " worker_id = CASE WHEN cancel_requested_at IS NULL"
            " AND NOT ($4 AND attempts >= max_attempts) THEN NULL ELSE worker_id END,"
            " lease_id = NULL, lease_expires_at = NULL,"
            " completed_at = CASE WHEN cancel_requested_at IS NOT NULL"
            " OR ($4 AND attempts >= max_attempts) THEN now() END,"
            " progress = CASE WHEN checkpoint IS NULL AND cancel_requested_at IS NULL"
            " AND NOT ($4 AND attempts >= max_attempts) THEN 0 ELSE progress END,"
            " started_at = CASE WHEN cancel_requested_at IS NULL"
            " AND NOT ($4 AND attempts >= max_attempts) THEN NULL ELSE started_at END,"
            " updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND lease_id = $3 AND status = 'RUNNING'"
            " RETURNING id, type, status, progress",
            job_id,
            lease_id,
            count_attempt,
            json.dumps(error) if error is not None else None,
        )
        return _ended(row) if row is not None else None


DISCOVERY_SQL = (
    "SELECT tenant_id FROM jobs WHERE status = 'PENDING' AND type = ANY($1::text[]::job_type[])"
    " GROUP BY tenant_id ORDER BY min(created_at) LIMIT $2"
)
_SCOPE_SQL = "SELECT set_config('role', $1, true), set_config('statement_timeout', $2, true)"
_BROKEN = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


class Discovery:
    """The worker's own connection, outside the request pool: it LISTENs for new jobs and asks,
    as the worker role, which tenants have some waiting (an idle worker takes no pooled
    connection). Opened on first use, opened again after it broke (a database restart)."""

    def __init__(self, database: Database, *, role: str, on_notify: Callable[[], None]) -> None:
        self.database = database
        self.role = role
        self.on_notify = on_notify
        self._conn: asyncpg.Connection | None = None

    def _notified(self, *_: object) -> None:
        self.on_notify()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await self.database.connect("leedz-worker")
            try:
                await conn.add_listener(WAKE_CHANNEL, self._notified)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def tenants_with_waiting_jobs(self, types: list[str], limit: int) -> list[UUID]:
        """Up to `limit` tenants with PENDING jobs of `types`, the most urgent job's first (the
        worker role sees only such jobs' tenant, type and order columns)."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                await conn.execute(_SCOPE_SQL, self.role, self.database.statement_timeout)
                rows = await conn.fetch(DISCOVERY_SQL, types, limit)
        except _BROKEN:
            await self.close()
            raise
        return [row["tenant_id"] for row in rows]

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()
