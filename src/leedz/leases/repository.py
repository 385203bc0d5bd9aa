"""The SQL of leases. A lease is (job, agent, lease_id) on a RUNNING job; every statement that
acts under a lease matches all three, so a stale or foreign lease changes nothing (fencing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from leedz.jobs.models import JobStatus, JobType
from leedz.jobs.repository import JOB_COLUMNS, JobRow
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

LEASE_COLUMNS = f"{JOB_COLUMNS}, lease_id, lease_expires_at, delivery_started_at, max_attempts"
# The same, qualified for the claim's UPDATE … FROM (built once, not per claim).
CLAIMED_COLUMNS = ", ".join(f"j.{column.strip()}" for column in LEASE_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class LeaseJobRow(JobRow):
    """A job with its lease columns (`LEASE_COLUMNS`)."""

    lease_id: UUID | None  # kept on a completed job: the lease that completed it
    lease_expires_at: datetime | None
    delivery_started_at: datetime | None  # set once a message may have gone out
    max_attempts: int


@dataclass(frozen=True, slots=True)
class HeldJobRow(LeaseJobRow):
    """A RUNNING job under a lease: claimed just now, or held by the agent that asks."""

    lease_id: UUID
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class ExtendedLeaseRow:
    id: UUID
    lease_id: UUID
    lease_expires_at: datetime
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class ProgressRow:
    id: UUID
    status: JobStatus
    progress: int
    lease_expires_at: datetime
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class ReleasedJobRow:
    """A job whose lease was let go (`RELEASED_COLUMNS`): PENDING again, FAILED or CANCELLED."""

    tenant_id: UUID
    id: UUID
    type: JobType
    status: JobStatus
    progress: int


def _released(row: asyncpg.Record) -> ReleasedJobRow:
    return ReleasedJobRow(
        **{**row, "type": JobType(row["type"]), "status": JobStatus(row["status"])}
    )


# What happens to a job whose lease is let go without an answer (expired, or abandoned by a
# reconnecting agent; a server-run job's worker died): cancelled if a user asked; failed after
# its last attempt, or when its agent reported an irreversible action (a message sent);
# otherwise back to PENDING.
_CANCELLED = "cancel_requested_at IS NOT NULL"
_GIVE_UP = "(delivery_started_at IS NOT NULL OR attempts >= max_attempts)"
_REQUEUED = f"(NOT ({_CANCELLED}) AND NOT {_GIVE_UP})"


def release_assignments(reason: str) -> str:
    """The SET list that lets go of a lease, `reason` naming why in the job's error."""
    if not reason.isidentifier():
        raise ValueError("a release reason is a plain code")
    return (
        f"status = (CASE WHEN {_CANCELLED} THEN 'CANCELLED' WHEN {_GIVE_UP} THEN 'FAILED'"
        " ELSE 'PENDING' END)::job_status,"
        f" error = CASE WHEN {_CANCELLED} THEN error ELSE jsonb_build_object('code', '{reason}',"
        " 'message', CASE WHEN worker_id IS NULL THEN 'The agent holding the job stopped"
        " answering' ELSE 'The worker holding the job stopped answering' END,"
        " 'attempts', attempts) END,"
        f" agent_id = CASE WHEN {_REQUEUED} THEN NULL ELSE agent_id END,"
        f" worker_id = CASE WHEN {_REQUEUED} THEN NULL ELSE worker_id END,"
        f" started_at = CASE WHEN {_REQUEUED} THEN NULL ELSE started_at END,"
        # A server-run job keeps its checkpoint, and so its progress: the next worker resumes.
        f" progress = CASE WHEN {_REQUEUED} AND checkpoint IS NULL THEN 0 ELSE progress END,"
        f" completed_at = CASE WHEN {_REQUEUED} THEN NULL ELSE now() END,"
        " lease_id = NULL, lease_expires_at = NULL, updated_at = now()"
    )


RELEASED_COLUMNS = "tenant_id, id, type, status, progress"

# The claim: the next PENDING job of the types ($3), priority then age, unless the agent ($2)
# already runs $5 jobs; a new lease of $4 seconds. SKIP LOCKED: concurrent claims never wait on
# each other and never get the same job. Module constants, so that the claim_throughput
# benchmark's raw loop runs exactly these statements.
CLAIM_SQL = (
    "WITH next AS ("
    " SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'PENDING'"
    " AND type = ANY($3::text[]::job_type[])"
    " AND (SELECT count(*) FROM jobs r WHERE r.tenant_id = $1 AND r.agent_id = $2"
    " AND r.status = 'RUNNING') < $5"
    " ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET status = 'RUNNING', agent_id = $2, lease_id = gen_random_uuid(),"
    " lease_expires_at = now() + make_interval(secs => $4), attempts = j.attempts + 1,"
    " started_at = now(), progress = 0, updated_at = now()"
    f" FROM next WHERE j.tenant_id = $1 AND j.id = next.id RETURNING {CLAIMED_COLUMNS}"
)

# COMPLETED under the lease ($2 job, $3 agent, $4 lease) with the output ($5, JSON text). The
# lease id stays on the finished job: it records which lease completed it. A SEARCH or SURVEY
# job's output keeps the lead counters its uploads accumulated (resolution/), whatever the
# agent sends.
COMPLETE_SQL = (
    "UPDATE jobs SET status = 'COMPLETED', progress = 100, output = CASE"
    " WHEN type IN ('SEARCH', 'SURVEY') THEN coalesce($5::jsonb, '{}'::jsonb)"
    " || jsonb_build_object('leadsCreated', coalesce((output->>'leadsCreated')::int, 0),"
    " 'leadsJoined', coalesce((output->>'leadsJoined')::int, 0)) ELSE $5::jsonb END,"
    " completed_at = now(), lease_expires_at = NULL, updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2 AND agent_id = $3 AND lease_id = $4"
    f" AND status = 'RUNNING' RETURNING {LEASE_COLUMNS}"
)


def _extended(seconds: str) -> str:
    """The new lease expiry: `seconds` from now, except for a job a user cancelled, whose lease
    is never extended, so it ends CANCELLED at the latest when that lease runs out."""
    return (
        f"CASE WHEN {_CANCELLED} THEN lease_expires_at"
        f" ELSE now() + make_interval(secs => {seconds}) END"
    )


class Leases(TenantRepository):
    async def lock_agent(self, agent_id: UUID) -> None:
        """Serialize the claims of one agent, so that `max_concurrency` holds under races."""
        await self.execute(
            "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE", agent_id
        )

    async def claim(
        self, *, agent_id: UUID, types: list[str], lease_seconds: int, max_running: int
    ) -> HeldJobRow | None:
        """The next PENDING job of `types` (priority, then age) under a new lease, or None."""
        row = await self.fetchrow(
            CLAIM_SQL,
            agent_id,
            types,
            lease_seconds,
            max_running,
        )
        return HeldJobRow.of(row) if row is not None else None

    async def held(self, *, job_id: UUID, agent_id: UUID, lease_id: UUID) -> HeldJobRow | None:
        """The job if this agent holds it under this lease (locked for the transaction)."""
        row = await self.fetchrow(
            f"SELECT {LEASE_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"
            " AND agent_id = $3 AND lease_id = $4 AND status = 'RUNNING' FOR NO KEY UPDATE",
            job_id,
            agent_id,
            lease_id,
        )
        return HeldJobRow.of(row) if row is not None else None

    async def extend(
        self, *, agent_id: UUID, job_ids: list[UUID] | None, lease_seconds: int
    ) -> list[ExtendedLeaseRow]:
        """Extend the agent's leases (all of them, or those of `job_ids`)."""
        rows = await self.fetch(
            f"UPDATE jobs SET lease_expires_at = {_extended('$4')},"
            " updated_at = now() WHERE tenant_id = $1 AND agent_id = $2 AND status = 'RUNNING'"
            " AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))"
            " RETURNING id, lease_id, lease_expires_at,"
            " cancel_requested_at IS NOT NULL AS cancel_requested",
            agent_id,
            job_ids,
            lease_seconds,
        )
        return [ExtendedLeaseRow(**row) for row in rows]

    async def progress(
        self,
        *,
        job_id: UUID,
        agent_id: UUID,
        lease_id: UUID,
        progress: int,
        delivery_started: bool,
        lease_seconds: int,
    ) -> ProgressRow | None:
        row = await self.fetchrow(
            f"UPDATE jobs SET progress = $5, lease_expires_at = {_extended('$7')},"
            # A cancelled job's agent is to stop, not to start sending.
            " delivery_started_at = CASE WHEN $6 AND cancel_requested_at IS NULL"
            " THEN coalesce(delivery_started_at, now())"
            " ELSE delivery_started_at END, updated_at = now()"
            " WHERE tenant_id = $1 AND id = $2 AND agent_id = $3 AND lease_id = $4"
            " AND status = 'RUNNING'"
            " RETURNING id, status, progress, lease_expires_at,"
            " cancel_requested_at IS NOT NULL AS cancel_requested",
            job_id,
            agent_id,
            lease_id,
            progress,
            delivery_started,
            lease_seconds,
        )
        if row is None:
            return None
        return ProgressRow(**{**row, "status": JobStatus(row["status"])})

    async def complete(
        self, *, job_id: UUID, agent_id: UUID, lease_id: UUID, output: dict[str, Any] | None
    ) -> LeaseJobRow | None:
        row = await self.fetchrow(
            COMPLETE_SQL,
            job_id,
            agent_id,
            lease_id,
            json.dumps(output) if output is not None else None,
        )
        return LeaseJobRow.of(row) if row is not None else None

    async def finish(self, *, job_id: UUID, status: str, error: dict[str, Any]) -> LeaseJobRow:
        """End a held job as FAILED or CANCELLED with `error`."""
        row = await self.fetchrow_one(
            "UPDATE jobs SET status = $3::job_status, error = $4::jsonb, completed_at = now(),"
            " lease_expires_at = NULL, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {LEASE_COLUMNS}",
            job_id,
            status,
            json.dumps(error),
        )
        return LeaseJobRow.of(row)

    async def requeue(self, *, job_id: UUID, error: dict[str, Any]) -> LeaseJobRow:
        """Back to PENDING for another attempt, keeping the last error visible."""
        row = await self.fetchrow_one(
            "UPDATE jobs SET status = 'PENDING', error = $3::jsonb, agent_id = NULL,"
            " lease_id = NULL, lease_expires_at = NULL, started_at = NULL, progress = 0,"
            f" updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {LEASE_COLUMNS}",
            job_id,
            json.dumps(error),
        )
        return LeaseJobRow.of(row)

    async def release_unlisted(self, *, agent_id: UUID, keep: list[UUID]) -> list[ReleasedJobRow]:
        """Let go of the agent's leases on jobs it no longer reports (a reconnect after a crash)."""
        rows = await self.fetch(
            f"UPDATE jobs SET {release_assignments('abandoned')}"
            " WHERE tenant_id = $1 AND agent_id = $2 AND status = 'RUNNING'"
            f" AND NOT (id = ANY($3::uuid[])) RETURNING {RELEASED_COLUMNS}",
            agent_id,
            keep,
        )
        return [_released(row) for row in rows]

    async def release_expired(self, limit: int) -> list[ReleasedJobRow]:
        """Let go of this tenant's expired leases (SKIP LOCKED: an agent completing right now
        keeps its row and its completion; another reaper takes other rows)."""
        rows = await self.fetch(
            f"UPDATE jobs SET {release_assignments('lease_expired')}"
            " WHERE tenant_id = $1 AND id IN (SELECT id FROM jobs WHERE tenant_id = $1"
            " AND status = 'RUNNING' AND lease_expires_at < now()"
            " ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {RELEASED_COLUMNS}",
            limit,
        )
        return [_released(row) for row in rows]

    async def state(self, job_id: UUID) -> LeaseJobRow | None:
        row = await self.fetchrow(
            f"SELECT {LEASE_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2", job_id
        )
        return LeaseJobRow.of(row) if row is not None else None


async def tenants_with_expired_leases(tx: Tx, limit: int) -> list[UUID]:
    """Up to `limit` tenants holding a lease that expired (as the reaper role, which sees only
    those jobs: migration 20261125_1200)."""
    rows = await tx.raw.fetch(
        "SELECT DISTINCT tenant_id FROM jobs WHERE status = 'RUNNING' AND lease_expires_at < now()"
        " LIMIT $1",
        limit,
    )
    return [row["tenant_id"] for row in rows]
