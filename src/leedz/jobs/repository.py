from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from leedz.evidence.models import Confidence, EvidenceType
from leedz.jobs.models import JobStatus, JobType
from leedz.kit.db import Tx
from leedz.kit.repository import TenantRepository

WAKE_CHANNEL = "leedz_server_jobs"
"""The NOTIFY channel that wakes workers (worker/, in any process) when a server-run job is
created; the payload is the tenant id."""

JOB_COLUMNS = (
    "id, type, status, progress, input, output, error, priority, attempts, agent_id,"
    " created_at, started_at, completed_at, quota_period, cancel_requested_at"
)


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job, as `JOB_COLUMNS` reads it."""

    id: UUID
    type: JobType
    status: JobStatus
    progress: int
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    priority: int
    attempts: int
    agent_id: UUID | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    quota_period: date | None  # the month whose quota the job reserved, if it reserved any
    cancel_requested_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        """A record with exactly the columns of `cls`, its type and status made enums."""
        return cls(**{**row, "type": JobType(row["type"]), "status": JobStatus(row["status"])})


@dataclass(frozen=True, slots=True)
class JobEvidenceRow:
    """An evidence item stored for a job."""

    id: UUID
    type: EvidenceType
    title: str
    source: str
    url: str | None
    snippet: str
    confidence: Confidence
    raw_data: dict[str, Any] | None
    hash: str
    collected_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """A period's counters after a change."""

    searches: int
    messages: int


class Jobs(TenantRepository):
    async def insert(
        self,
        *,
        job_type: str,
        job_input: dict[str, Any],
        priority: int,
        created_by: UUID,
        quota_period: date | None,
    ) -> JobRow:
        row = await self.fetchrow_one(
            "INSERT INTO jobs (tenant_id, type, input, priority, created_by_id, quota_period)"
            f" VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING {JOB_COLUMNS}",
            job_type,
            json.dumps(job_input),
            priority,
            created_by,
            quota_period,
        )
        return JobRow.of(row)

    async def get(self, job_id: UUID, *, for_update: bool = False) -> JobRow | None:
        row = await self.fetchrow(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"
            + (" FOR UPDATE" if for_update else ""),
            job_id,
        )
        return JobRow.of(row) if row is not None else None

    async def page(
        self,
        *,
        limit: int,
        before: tuple[datetime, UUID] | None,
        status: str | None,
        job_type: str | None,
    ) -> list[JobRow]:
        """Newest first; `before` is the (created_at, id) of the last row already seen."""
        rows = await self.fetch(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1"
            " AND ($2::job_status IS NULL OR status = $2)"
            " AND ($3::job_type IS NULL OR type = $3)"
            " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT $6",
            status,
            job_type,
            before[0] if before else None,
            before[1] if before else None,
            limit + 1,
        )
        return [JobRow.of(row) for row in rows]

    async def cancel_pending(self, job_id: UUID) -> JobRow:
        row = await self.fetchrow_one(
            "UPDATE jobs SET status = 'CANCELLED', completed_at = now(), updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}",
            job_id,
        )
        return JobRow.of(row)

    async def request_cancel(self, job_id: UUID) -> JobRow:
        row = await self.fetchrow_one(
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),"
            f" updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}",
            job_id,
        )
        return JobRow.of(row)

    async def evidence(self, job_id: UUID) -> list[JobEvidenceRow]:
        rows = await self.fetch(
            "SELECT id, type, title, source, url, snippet, confidence, raw_data, hash,"
            " collected_at, created_at FROM evidence WHERE tenant_id = $1 AND job_id = $2"
            " ORDER BY collected_at, id",
            job_id,
        )
        return [
            JobEvidenceRow(
                **{
                    **row,
                    "type": EvidenceType(row["type"]),
                    "confidence": Confidence(row["confidence"]),
                }
            )
            for row in rows
        ]


async def wake_workers(tx: Tx) -> None:
    """Tell the workers listening anywhere that the tenant has a job waiting, once `tx` commits
    (NOTIFY is transactional)."""
    await tx.raw.execute("SELECT pg_notify($1, $2)", WAKE_CHANNEL, str(tx.current_tenant))


class UsageCounters(TenantRepository):
    async def add(self, period: date, *, searches: int = 0, messages: int = 0) -> UsageTotals:
        """Add to this period's counters (negative to release); returns the new totals."""
        row = await self.fetchrow_one(
            "INSERT INTO usage_counters (tenant_id, period, searches, messages)"
            " VALUES ($1, $2, greatest($3, 0), greatest($4, 0))"
            " ON CONFLICT (tenant_id, period) DO UPDATE SET"
            " searches = greatest(usage_counters.searches + $3, 0),"
            " messages = greatest(usage_counters.messages + $4, 0), updated_at = now()"
            " RETURNING searches, messages",
            period,
            searches,
            messages,
        )
        return UsageTotals(**row)
